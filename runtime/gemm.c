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

/* The RT_GEMM_LANES lane sums of a dot product combined by halving: lane
 * l takes lane l + 8, then l + 4, l + 2 and l + 1.
 *
 * Written out, sum by sum, into fresh locals.  As a loop over the
 * half-width adding in place, gcc -O2 kept the sums in memory and added
 * them one at a time through the stack (perf: about half the time of
 * predict on x86); as loops with constant bounds into fresh arrays, x86
 * added vector halves but a Cortex-M4F ran them as loops, about 85
 * instructions per dot product.  Same additions in the same order either
 * way: the results are bit for bit those of the loop. */
static inline float lanes_total(const float *acc)
{
    const float h0 = acc[0] + acc[8], h1 = acc[1] + acc[9], h2 = acc[2] + acc[10], h3 = acc[3] + acc[11];
    const float h4 = acc[4] + acc[12], h5 = acc[5] + acc[13], h6 = acc[6] + acc[14], h7 = acc[7] + acc[15];
    const float q0 = h0 + h4, q1 = h1 + h5, q2 = h2 + h6, q3 = h3 + h7;
    return (q0 + q2) + (q1 + q3);
}
/* The last line of lanes_total() finishes the halving for exactly 4 sums
 * left. */
typedef char gemm_dot_lanes_are_16[RT_GEMM_LANES == 16 ? 1 : -1];

/* Sum of a[i] * b[i] over i < n, in RT_GEMM_LANES interleaved partial sums
 * (element i goes to lane i % RT_GEMM_LANES, each lane adds in index
 * order) combined by lanes_total().
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
    return lanes_total(acc);
}

/* Lanes g .. g + 3 of element i's block, for four rows of B at once: the
 * four floats of a are loaded once for the four rows. */
#define DOT4_STEP(i)                                                                  \
    do {                                                                              \
        const float a0 = a[(i)], a1 = a[(i) + 1], a2 = a[(i) + 2], a3 = a[(i) + 3];   \
        s00 += a0 * b0[(i)], s01 += a1 * b0[(i) + 1], s02 += a2 * b0[(i) + 2], s03 += a3 * b0[(i) + 3]; \
        s10 += a0 * b1[(i)], s11 += a1 * b1[(i) + 1], s12 += a2 * b1[(i) + 2], s13 += a3 * b1[(i) + 3]; \
        s20 += a0 * b2[(i)], s21 += a1 * b2[(i) + 1], s22 += a2 * b2[(i) + 2], s23 += a3 * b2[(i) + 3]; \
        s30 += a0 * b3[(i)], s31 += a1 * b3[(i) + 1], s32 += a2 * b3[(i) + 2], s33 += a3 * b3[(i) + 3]; \
    } while (0)

/* out[c] = dot(a, b + c * ldb, n) for c < 4, with dot()'s lanes and order,
 * so the same bits: written for a core with 16 to 32 float registers and
 * no vector unit (Cortex-M4F, M7, M33).  There, dot()'s 16 sums stayed in
 * memory at -O2 and -Os (a load and a store per multiply-add, 8.8
 * instructions per multiply-add of the MLP on a Cortex-M4F under QEMU);
 * here a pass takes four of the sixteen lanes of four rows, 16 sums in
 * registers, and shares the loads of a among the rows: per multiply-add,
 * one load, a multiply and an add, and a quarter of a load.  The loop runs
 * four blocks per iteration so that its 5 pointer increments and branch
 * weigh little. */
static void dot4(const float *restrict a, const float *restrict b, size_t ldb, int n, float *restrict out)
{
    float acc[4][RT_GEMM_LANES];
    const float *restrict b0 = b, *restrict b1 = b + ldb, *restrict b2 = b + 2 * ldb, *restrict b3 = b + 3 * ldb;
    const int tail = n % RT_GEMM_LANES, body = n - tail;
    for (int g = 0; g < RT_GEMM_LANES; g += 4) {
        float s00 = 0.0f, s01 = 0.0f, s02 = 0.0f, s03 = 0.0f, s10 = 0.0f, s11 = 0.0f, s12 = 0.0f, s13 = 0.0f;
        float s20 = 0.0f, s21 = 0.0f, s22 = 0.0f, s23 = 0.0f, s30 = 0.0f, s31 = 0.0f, s32 = 0.0f, s33 = 0.0f;
        int i = g;
        for (; i + 7 * RT_GEMM_LANES < body; i += 8 * RT_GEMM_LANES) {
            DOT4_STEP(i);
            DOT4_STEP(i + RT_GEMM_LANES);
            DOT4_STEP(i + 2 * RT_GEMM_LANES);
            DOT4_STEP(i + 3 * RT_GEMM_LANES);
            DOT4_STEP(i + 4 * RT_GEMM_LANES);
            DOT4_STEP(i + 5 * RT_GEMM_LANES);
            DOT4_STEP(i + 6 * RT_GEMM_LANES);
            DOT4_STEP(i + 7 * RT_GEMM_LANES);
        }
        if (i + 3 * RT_GEMM_LANES < body) {
            DOT4_STEP(i);
            DOT4_STEP(i + RT_GEMM_LANES);
            DOT4_STEP(i + 2 * RT_GEMM_LANES);
            DOT4_STEP(i + 3 * RT_GEMM_LANES);
            i += 4 * RT_GEMM_LANES;
        }
        for (; i < body; i += RT_GEMM_LANES)
            DOT4_STEP(i);
        acc[0][g] = s00, acc[0][g + 1] = s01, acc[0][g + 2] = s02, acc[0][g + 3] = s03;
        acc[1][g] = s10, acc[1][g + 1] = s11, acc[1][g + 2] = s12, acc[1][g + 3] = s13;
        acc[2][g] = s20, acc[2][g + 1] = s21, acc[2][g + 2] = s22, acc[2][g + 3] = s23;
        acc[3][g] = s30, acc[3][g + 1] = s31, acc[3][g + 2] = s32, acc[3][g + 3] = s33;
    }
    for (int c = 0; c < 4; c++) {
        const float *restrict bc = b + (size_t)c * ldb;
        for (int l = 0; l < tail; l++)
            acc[c][l] += a[body + l] * bc[body + l];
        out[c] = lanes_total(acc[c]);
    }
}
#undef DOT4_STEP

/* C (m x n) = A (m x k) B^T, one dot() per element (contract in
 * kernels.h), or on a small core (NETC_SMALL_CORE) dot4() for four
 * columns at a time: the same sums in the same order, so the same bits.
 * Blocking four rows of B per pass on a vector host, sharing the loads of
 * A's row, was measured and left out: it doubled the speed while B fits
 * in L1, but on the MLP above, whose weights come from L2 and L3, batch-1
 * predict got slightly slower and batch-8 predict_batch 20-30% slower;
 * built for AVX2, gcc -O2 kept the four rows' sums in memory and was
 * slower than this loop at every size.
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
    for (int r = 0; r < m; r++) {
        const float *a = A + (size_t)r * (size_t)lda;
        float *c = C + (size_t)r * (size_t)ldc;
        int j = 0;
        if (NETC_SMALL_CORE)
            for (; j + 4 <= n; j += 4)
                dot4(a, B + (size_t)j * (size_t)ldb, (size_t)ldb, k, c + j);
        for (; j < n; j++)
            c[j] = dot(a, B + (size_t)j * (size_t)ldb, k);
    }
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
