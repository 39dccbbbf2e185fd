/* fma_peak.c — the single-core float32 multiply-add peak of this machine,
 * for bench/run.sh: the ceiling any GEMM kernel, OpenBLAS's, PyTorch's or
 * a hand-written one, works under.
 *
 * Twelve independent chains of vector multiply-adds (enough to cover the
 * latency of two FMA pipes) in the widest vectors the compiler targets
 * with -march=native, no memory traffic.  Built with -O2 -march=native
 * -ffp-contract=fast, so a * b + c is one FMA instruction where the CPU
 * has one.  Prints "fma_peak_gflops: G", the best of 7 rounds (2 flops per
 * lane per multiply-add). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <time.h>

#if defined(__AVX512F__)
#define LANES 16
#elif defined(__AVX__)
#define LANES 8
#else
#define LANES 4
#endif
typedef float vec __attribute__((vector_size(LANES * sizeof(float))));

enum { CHAINS = 12, ROUNDS = 7 };
#define ITERS 20000000L

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ITERS multiply-adds on each chain; the sum keeps the work observable. */
static float run(float seed)
{
    vec acc[CHAINS], m, c;
    for (int l = 0; l < LANES; l++) {
        m[l] = 0.999999f;
        c[l] = 1e-7f * seed;
    }
    for (int j = 0; j < CHAINS; j++)
        for (int l = 0; l < LANES; l++)
            acc[j][l] = seed + (float)j;
    /* Unrolled, so the chains live in registers. */
    for (long i = 0; i < ITERS; i++)
#pragma GCC unroll 12
        for (int j = 0; j < CHAINS; j++)
            acc[j] = acc[j] * m + c;
    float s = 0;
    for (int j = 0; j < CHAINS; j++)
        for (int l = 0; l < LANES; l++)
            s += acc[j][l];
    return s;
}

int main(void)
{
    double best = 1e30, sink = 0;
    for (int r = 0; r < ROUNDS; r++) {
        double t = now();
        sink += run((float)r);
        t = now() - t;
        if (t < best)
            best = t;
    }
    printf("fma_peak_gflops: %.1f\n", 2.0 * LANES * CHAINS * (double)ITERS / best / 1e9);
    printf("fma_lanes: %d\n", LANES);
    return sink == 12345.0 ? 2 : 0;
}
