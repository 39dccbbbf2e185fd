/* torch_sum.c — torch's float32 sum of a contiguous tensor (ATen's
 * SumKernel.cpp cascade_sum, vectorised inner reduction, torch 1.13), so
 * that a sum feeding a decision (LBFGS's first step size) has torch's
 * bits rather than merely the exact value's. */
#include <math.h>
#include <string.h>

#include "torch_sum.h"

/* Vectorized<float> holds 8 floats in ATen's AVX2 kernels (and its
 * AVX-512 kernels give the same sums for the sizes tested). */
#define TSUM_VEC 8
#define TSUM_ILP 4     /* row_sum's ilp_factor */
#define TSUM_LEVELS 4  /* multi_row_sum's num_levels */

typedef struct {
    float v[TSUM_VEC];
} vec;

static void vadd(vec *a, const vec *b)
{
    for (int l = 0; l < TSUM_VEC; l++)
        a->v[l] += b->v[l];
}

/* Element i of the summed tensor. */
static float at(const float *x, const float *y, size_t i, rt_sum_mode mode)
{
    switch (mode) {
    case RT_SUM_ABS: return fabsf(x[i]);
    case RT_SUM_SQDIFF: {
        const float d = x[i] - y[i];
        return d * d;
    }
    default: return x[i];
    }
}

static vec vload(const float *x, const float *y, size_t i, rt_sum_mode mode)
{
    vec r;
    for (int l = 0; l < TSUM_VEC; l++)
        r.v[l] = at(x, y, i + (size_t)l, mode);
    return r;
}

static int ceil_log2(long x)
{
    int r = 0;
    while ((1L << r) < x)
        r++;
    return r;
}

/* multi_row_sum: TSUM_ILP interleaved accumulators of vectors over `size`
 * groups of TSUM_ILP vectors, with TSUM_LEVELS cascade levels. */
static void multi_row_sum(const float *x, const float *y, long size, rt_sum_mode mode, vec out[TSUM_ILP])
{
    int level_power = ceil_log2(size) / TSUM_LEVELS;
    if (level_power < 4)
        level_power = 4;
    const long level_step = 1L << level_power, level_mask = level_step - 1;
    vec acc[TSUM_LEVELS][TSUM_ILP];
    memset(acc, 0, sizeof acc);
    long i = 0;
    while (i + level_step <= size) {
        for (long j = 0; j < level_step; j++, i++)
            for (int k = 0; k < TSUM_ILP; k++) {
                vec t = vload(x, y, (size_t)((i * TSUM_ILP + k) * TSUM_VEC), mode);
                vadd(&acc[0][k], &t);
            }
        for (int j = 1; j < TSUM_LEVELS; j++) {
            for (int k = 0; k < TSUM_ILP; k++) {
                vadd(&acc[j][k], &acc[j - 1][k]);
                memset(&acc[j - 1][k], 0, sizeof(vec));
            }
            if ((i & (level_mask << (j * level_power))) != 0)
                break;
        }
    }
    for (; i < size; i++)
        for (int k = 0; k < TSUM_ILP; k++) {
            vec t = vload(x, y, (size_t)((i * TSUM_ILP + k) * TSUM_VEC), mode);
            vadd(&acc[0][k], &t);
        }
    for (int j = 1; j < TSUM_LEVELS; j++)
        for (int k = 0; k < TSUM_ILP; k++)
            vadd(&acc[0][k], &acc[j][k]);
    memcpy(out, acc[0], sizeof(vec) * TSUM_ILP);
}

float rt_torch_sum(const float *x, const float *y, size_t n, rt_sum_mode mode)
{
    const long nvec = (long)(n / TSUM_VEC), size_ilp = nvec / TSUM_ILP;
    vec part[TSUM_ILP];
    multi_row_sum(x, y, size_ilp, mode, part);
    for (long i = size_ilp * TSUM_ILP; i < nvec; i++) {
        vec t = vload(x, y, (size_t)(i * TSUM_VEC), mode);
        vadd(&part[0], &t);
    }
    for (int k = 1; k < TSUM_ILP; k++)
        vadd(&part[0], &part[k]);
    /* The scalar tail is a row_sum of its own: TSUM_ILP accumulators. */
    const size_t base = (size_t)nvec * TSUM_VEC, ntail = n - base;
    float acc[TSUM_ILP] = {0};
    size_t k = 0;
    for (; k + TSUM_ILP <= ntail; k += TSUM_ILP)
        for (int j = 0; j < TSUM_ILP; j++)
            acc[j] += at(x, y, base + k + (size_t)j, mode);
    for (; k < ntail; k++)
        acc[0] += at(x, y, base + k, mode);
    for (int j = 1; j < TSUM_ILP; j++)
        acc[0] += acc[j];
    for (int l = 0; l < TSUM_VEC; l++)
        acc[0] += part[0].v[l];
    return acc[0];
}
