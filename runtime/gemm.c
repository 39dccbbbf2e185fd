/* gemm.c — the three matrix products of a Linear layer in portable C,
 * for code that cannot call a BLAS (emitted C on a device with libm only).
 *
 * The loops are ordered so that the innermost one runs over contiguous
 * memory with independent iterations, which a C compiler vectorises
 * without being allowed to reassociate floating-point sums:
 *  - C = A B^T reduces along rows of both operands; each dot product keeps
 *    RT_GEMM_LANES partial sums, one per vector lane, added pairwise at
 *    the end.  The summation order is fixed by the code, so results do not
 *    depend on the compiler or the target;
 *  - the other two products are sums of scaled rows (axpy), whose inner
 *    loop has no dependence between iterations at all.
 * The results differ from a BLAS in rounding only (a different order of
 * the same additions).
 *
 * The lane count is measured, not guessed: batch-1 predict of the
 * 784-256-256-10 MLP, emitted and built with gcc -O2 -march=native on an
 * AVX-512 machine, took 143 us with one lane (a plain dot product, whose
 * sum the compiler may not reorder, so it stays scalar), 17.2 us with 8
 * and 14.0 us with 16 (one 512-bit vector of partial sums). */
#include <stddef.h>

#include "kernels.h"

#define RT_GEMM_LANES 16

/* Sum of a[i] * b[i] over i < n, in RT_GEMM_LANES interleaved partial sums
 * combined by halving. */
static float dot(const float *restrict a, const float *restrict b, int n)
{
    float acc[RT_GEMM_LANES] = {0};
    int i = 0;
    for (; i + RT_GEMM_LANES <= n; i += RT_GEMM_LANES)
        for (int l = 0; l < RT_GEMM_LANES; l++)
            acc[l] += a[i + l] * b[i + l];
    for (int l = 0; i < n; i++, l++)
        acc[l] += a[i] * b[i];
    for (int half = RT_GEMM_LANES / 2; half > 0; half /= 2)
        for (int l = 0; l < half; l++)
            acc[l] += acc[l + half];
    return acc[0];
}

void rt_gemm_nt(const float *restrict A, const float *restrict B, float *restrict C, int m, int n, int k)
{
    for (int r = 0; r < m; r++)
        for (int j = 0; j < n; j++)
            C[(size_t)r * (size_t)n + (size_t)j] = dot(A + (size_t)r * (size_t)k, B + (size_t)j * (size_t)k, k);
}

/* y[0..n) += s * x[0..n) */
static void axpy(float s, const float *restrict x, float *restrict y, int n)
{
    for (int i = 0; i < n; i++)
        y[i] += s * x[i];
}

void rt_gemm_tn(const float *restrict A, const float *restrict B, float *restrict C, int m, int n, int k)
{
    for (int j = 0; j < m; j++) {
        float *c = C + (size_t)j * (size_t)n;
        for (int i = 0; i < n; i++)
            c[i] = 0.0f;
        for (int r = 0; r < k; r++)
            axpy(A[(size_t)r * (size_t)m + (size_t)j], B + (size_t)r * (size_t)n, c, n);
    }
}

void rt_gemm_nn(const float *restrict A, const float *restrict B, float *restrict C, int m, int n, int k)
{
    for (int r = 0; r < m; r++) {
        float *c = C + (size_t)r * (size_t)n;
        for (int i = 0; i < n; i++)
            c[i] = 0.0f;
        for (int j = 0; j < k; j++)
            axpy(A[(size_t)r * (size_t)k + (size_t)j], B + (size_t)j * (size_t)n, c, n);
    }
}
