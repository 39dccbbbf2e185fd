/* rng.c — splitmix64, the one generator behind init, shuffling and
 * dropout.  The state lives with the caller, so there is no hidden global
 * state and separate states are thread-safe. */
#include <math.h>

#include "kernels.h"

/* The splitmix64 output function (a bijective 64-bit mixer). */
static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Streams are spread by a large odd multiplier and the result mixed, so
 * (seed, stream) pairs land on unrelated points of the 2^64 cycle. */
uint64_t rt_rng_seed(uint64_t seed, uint64_t stream)
{
    return mix64(seed ^ (stream * 0xD1B54A32D192ED03ULL) ^ 0x9E3779B97F4A7C15ULL);
}

/* Weyl step of the state, then the mixer: period 2^64. */
uint64_t rt_rng_next(uint64_t *state)
{
    *state += RT_RNG_WEYL;
    return mix64(*state);
}

/* The top 53 bits scaled by 2^-53: every double in [0, 1) on that grid. */
double rt_rng_uniform(uint64_t *state)
{
    return (double)(rt_rng_next(state) >> 11) * 0x1.0p-53;
}

/* Box-Muller, one value per call (no cached partner: that would be hidden
 * state).  1 - u lies in (0, 1], so the log is finite. */
double rt_rng_normal(uint64_t *state)
{
    const double u1 = 1.0 - rt_rng_uniform(state);
    const double u2 = rt_rng_uniform(state);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586476925286766559 * u2);
}
