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
 * and 14.0 us with 16 (one 512-bit vector of partial sums), then about
 * 10 us once the 16 sums were combined in registers (see dot()).  At that
 * point predict streams its 1.08 MB of weights at roughly the rate the
 * machine's L2 and L3 caches deliver them, which is what bounds it now. */
#include <stddef.h>

#include "kernels.h"

#define RT_GEMM_LANES 16

/* Sum of a[i] * b[i] over i < n, in RT_GEMM_LANES interleaved partial sums
 * (element i goes to lane i % RT_GEMM_LANES, each lane adds in index
 * order) combined by halving: lane l takes lane l + 8, then l + 4, l + 2
 * and l + 1.
 *
 * The halving is written with constant bounds into fresh locals.  As a
 * loop over the half-width adding in place, gcc -O2 kept the sums in
 * memory and added them one at a time through the stack (perf: about half
 * the time of predict); written so, it adds vector halves.  Same additions
 * in the same order: the results are bit for bit those of the loop.
 *
 * The tail loop is bounded by n % RT_GEMM_LANES rather than by n, so that
 * the compiler can see it never indexes acc out of bounds (gcc -O3 warned,
 * -Waggressive-loop-optimizations, once n was a known constant). */
static float dot(const float *restrict a, const float *restrict b, int n)
{
    float acc[RT_GEMM_LANES] = {0};
    const int tail = n % RT_GEMM_LANES, body = n - tail;
    for (int i = 0; i < body; i += RT_GEMM_LANES)
        for (int l = 0; l < RT_GEMM_LANES; l++)
            acc[l] += a[i + l] * b[i + l];
    for (int l = 0; l < tail; l++)
        acc[l] += a[body + l] * b[body + l];
    float h[RT_GEMM_LANES / 2], q[RT_GEMM_LANES / 4];
    for (int l = 0; l < RT_GEMM_LANES / 2; l++)
        h[l] = acc[l] + acc[l + RT_GEMM_LANES / 2];
    for (int l = 0; l < RT_GEMM_LANES / 4; l++)
        q[l] = h[l] + h[l + RT_GEMM_LANES / 4];
    return (q[0] + q[2]) + (q[1] + q[3]);
}
/* The last line of dot() finishes the halving for exactly 4 sums left. */
typedef char gemm_dot_lanes_are_16[RT_GEMM_LANES == 16 ? 1 : -1];

/* C (m x n) = A (m x k) B^T, one dot() per element (contract in
 * kernels.h).  Blocking four rows of B per pass, sharing the loads of A's
 * row (results unchanged), was measured and left out: it doubled the
 * speed while B fits in L1, but on the MLP above, whose weights come from
 * L2 and L3, batch-1 predict got slightly slower and batch-8
 * predict_batch 20-30% slower; built for AVX2, gcc -O2 kept the four
 * rows' sums in memory and was slower than this loop at every size.
 *
 * Not inlined: inlined into its caller (emitted C has one), clang 14 -O2
 * vectorised dot() with 128-bit pieces and scalar adds, and batch-1
 * predict of the MLP took 42 us; as a function of its own, 12.6 us.  gcc
 * -O2 inlined it too once the caller became the column pass of
 * runtime/linear.c, and lost 9% (docs/performance.md). */
NETC_NOINLINE
void rt_gemm_nt(int m, int n, int k, const float *restrict A, int lda, const float *restrict B, int ldb,
                float *restrict C, int ldc)
{
    for (int r = 0; r < m; r++)
        for (int j = 0; j < n; j++)
            C[(size_t)r * (size_t)ldc + (size_t)j] = dot(A + (size_t)r * (size_t)lda, B + (size_t)j * (size_t)ldb, k);
}

/* y[0..n) += s * x[0..n) */
static void axpy(float s, const float *restrict x, float *restrict y, int n)
{
    for (int i = 0; i < n; i++)
        y[i] += s * x[i];
}

void rt_gemm_tn(int m, int n, int k, const float *restrict A, int lda, const float *restrict B, int ldb,
                float *restrict C, int ldc)
{
    for (int j = 0; j < m; j++) {
        float *c = C + (size_t)j * (size_t)ldc;
        for (int i = 0; i < n; i++)
            c[i] = 0.0f;
        for (int r = 0; r < k; r++)
            axpy(A[(size_t)r * (size_t)lda + (size_t)j], B + (size_t)r * (size_t)ldb, c, n);
    }
}

void rt_gemm_nn(int m, int n, int k, const float *restrict A, int lda, const float *restrict B, int ldb,
                float *restrict C, int ldc)
{
    for (int r = 0; r < m; r++) {
        float *c = C + (size_t)r * (size_t)ldc;
        for (int i = 0; i < n; i++)
            c[i] = 0.0f;
        for (int j = 0; j < k; j++)
            axpy(A[(size_t)r * (size_t)lda + (size_t)j], B + (size_t)j * (size_t)ldb, c, n);
    }
}
