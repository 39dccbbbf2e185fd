/* linear.c — the fused Linear layer: one sgemm plus one elementwise pass
 * (bias and activation) forward; one pass (activation derivative and bias
 * gradient) plus two sgemms backward. */
#include "act_fused.h"
#include "kernels.h"

/* The products, row-major with cblas_sgemm's arguments (alpha 1, beta 0):
 * C = A B^T (NT), A^T B (TN) or A B (NN).  Built with NETC_PORTABLE_GEMM
 * (emitted C without a BLAS) they are runtime/gemm.c's; in emitted C with
 * --blas (NETC_EMITTED) direct cblas_sgemm calls; in the runtime they go
 * through runtime/blas.c, which loads OpenBLAS with the kernel set chosen
 * for the CPU. */
#if defined NETC_PORTABLE_GEMM
#define GEMM_NT(m, n, k, A, lda, B, ldb, C, ldc) rt_gemm_nt(m, n, k, A, lda, B, ldb, C, ldc)
#define GEMM_TN(m, n, k, A, lda, B, ldb, C, ldc) rt_gemm_tn(m, n, k, A, lda, B, ldb, C, ldc)
#define GEMM_NN(m, n, k, A, lda, B, ldb, C, ldc) rt_gemm_nn(m, n, k, A, lda, B, ldb, C, ldc)
#elif defined NETC_EMITTED
#include <cblas.h>
#define GEMM_NT(m, n, k, A, lda, B, ldb, C, ldc) \
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, A, lda, B, ldb, 0.0f, C, ldc)
#define GEMM_TN(m, n, k, A, lda, B, ldb, C, ldc) \
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, m, n, k, 1.0f, A, lda, B, ldb, 0.0f, C, ldc)
#define GEMM_NN(m, n, k, A, lda, B, ldb, C, ldc) \
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, A, lda, B, ldb, 0.0f, C, ldc)
#else
#include "blas.h"
#include "pool.h"
#define GEMM_NT(m, n, k, A, lda, B, ldb, C, ldc) rt_blas_sgemm(0, 1, m, n, k, A, lda, B, ldb, C, ldc)
#define GEMM_TN(m, n, k, A, lda, B, ldb, C, ldc) rt_blas_sgemm(1, 0, m, n, k, A, lda, B, ldb, C, ldc)
#define GEMM_NN(m, n, k, A, lda, B, ldb, C, ldc) rt_blas_sgemm(0, 0, m, n, k, A, lda, B, ldb, C, ldc)
#define LINEAR_THREADED 1
#endif

/* One layer's operands; the passes below each do a range of its columns. */
typedef struct {
    const float *x, *W, *bias, *dy, *zin, *yin;
    float *z, *y, *dz, *dx, *dW, *db;
    int rows, in, out;
    comp_act act;
    float a, b;
} linear_job;

/* Output columns [lo, hi) forward: their product, then bias and
 * activation in one pass while the block is in cache.  beta 0 then a
 * separate bias pass (not addmm's beta 1 on a broadcast bias), so the
 * activation can be fused into the same pass.  The product lands where
 * the pre-activation is kept (z) or, when it is not, in y and is
 * transformed in place. */
static void linear_forward_cols(const linear_job *j, size_t lo, size_t hi)
{
    float *acc = j->z ? j->z : j->y;
    GEMM_NT(j->rows, (int)(hi - lo), j->in, j->x, j->in, j->W + lo * (size_t)j->in, j->in, acc + lo, j->out);
    if (j->act == COMP_ACT_IDENTITY && !j->bias && acc == j->y)
        return;
    /* z only needs writing back when the bias changed it and it is not y. */
    float *keep = (j->bias && j->z && j->z != j->y) ? j->z + lo : NULL;
    rt_act_rows_forward(j->act, j->a, j->b, acc + lo, j->bias ? j->bias + lo : NULL, keep, j->y + lo,
                        (size_t)j->rows, hi - lo, (size_t)j->out);
}

/* Output columns [lo, hi) backward: dz and db, then the dW rows
 * lo..hi = dz[:, lo..hi]^T x. */
static void linear_backward_dz_cols(const linear_job *j, size_t lo, size_t hi)
{
    rt_act_rows_backward(j->act, j->a, j->b, j->zin ? j->zin + lo : NULL, j->yin ? j->yin + lo : NULL, j->dy + lo,
                         j->dz + lo, j->db ? j->db + lo : NULL, (size_t)j->rows, hi - lo, (size_t)j->out);
    GEMM_TN((int)(hi - lo), j->in, j->rows, j->dz + lo, j->out, j->x, j->in, j->dW + lo * (size_t)j->in, j->in);
}

/* Input columns [lo, hi) of dx = dz W (all of dz is needed: it runs after
 * every dz column is done). */
static void linear_backward_dx_cols(const linear_job *j, size_t lo, size_t hi)
{
    GEMM_NN(j->rows, (int)(hi - lo), j->out, j->dz, j->out, j->W + lo, j->in, j->dx + lo, j->in);
}

#ifdef LINEAR_THREADED
/* The runtime's threaded Linear.  A layer large enough to be worth it is
 * cut into fixed blocks of about LINEAR_BLOCK_COLS output columns (forward, and the
 * activation derivative, bias and weight gradients backward) or of input
 * columns (the input gradient), one GEMM call per block, each block a task
 * of runtime/pool.c.  The cut depends on the layer's shape only, never
 * on the thread count, so every element comes from the same OpenBLAS call
 * on the same shape whatever --threads is, and training gives the same
 * bits (OpenBLAS's summation order can change with the shape of a call:
 * halving a call by thread count did change results).  Block edges are
 * multiples of 16 floats, the width the AVX-512 kernels work in. */

/* Blocks cost one thread time: each GEMM call packs its shared operand
 * again.  On the MNIST MLP, one thread trained at 112k samples/s with
 * whole-matrix calls, 107k with blocks of 128 columns (2 per 256-wide
 * layer) and 100k with blocks of 64 (docs/performance.md).  128 keeps the
 * loss small and still gives wider layers more blocks for more threads. */
#define LINEAR_BLOCK_COLS 128
/* Layers below this many multiply-adds per batch stay whole: the hand-over
 * between threads costs more than it saves (the 10-wide output layer). */
#define LINEAR_PAR_MIN_MACS (1L << 18)

/* Blocks of n columns: n / LINEAR_BLOCK_COLS, at least 1. */
static int linear_nblocks(int n)
{
    return n / LINEAR_BLOCK_COLS > 1 ? n / LINEAR_BLOCK_COLS : 1;
}

static int linear_blocked(int rows, int in, int out)
{
    return linear_nblocks(out) > 1 && (long)rows * in * out >= LINEAR_PAR_MIN_MACS;
}

/* Pool task `blk` over n columns: block blk of linear_nblocks(n), its
 * edges at multiples of 16. */
#define LINEAR_BLOCK_TASK(task, pass, n)                                    \
    static void task(void *ctx, int blk)                                    \
    {                                                                       \
        const linear_job *j = ctx;                                          \
        size_t lo, hi;                                                      \
        rt_pool_range((size_t)(n), 16, blk, linear_nblocks(n), &lo, &hi);   \
        pass(j, lo, hi);                                                    \
    }
LINEAR_BLOCK_TASK(linear_forward_block, linear_forward_cols, j->out)
LINEAR_BLOCK_TASK(linear_backward_dz_block, linear_backward_dz_cols, j->out)
LINEAR_BLOCK_TASK(linear_backward_dx_block, linear_backward_dx_cols, j->in)
#endif

void rt_linear_forward(const float *x, const float *W, const float *bias, float *z, float *y,
                       int rows, int in, int out, comp_act act, float a, float b)
{
    if (rows <= 0 || out <= 0)
        return;
    const linear_job j = {.x = x, .W = W, .bias = bias, .z = z, .y = y, .rows = rows, .in = in, .out = out,
                          .act = act, .a = a, .b = b};
#ifdef LINEAR_THREADED
    if (linear_blocked(rows, in, out)) {
        rt_pool_run(linear_forward_block, (void *)&j, linear_nblocks(out));
        return;
    }
#endif
    linear_forward_cols(&j, 0, (size_t)out);
}

/* dz is formed once and feeds both products; dW and dx are overwritten
 * (beta 0), accumulation across batches is the caller's business. */
void rt_linear_backward(const float *dy, const float *z, const float *y, float *dz,
                        const float *x, const float *W, float *dx, float *dW, float *db,
                        int rows, int in, int out, comp_act act, float a, float b)
{
    if (rows <= 0 || out <= 0 || in <= 0)
        return;
    const linear_job j = {.x = x, .W = W, .dy = dy, .zin = z, .yin = y, .dz = dz, .dx = dx, .dW = dW, .db = db,
                          .rows = rows, .in = in, .out = out, .act = act, .a = a, .b = b};
#ifdef LINEAR_THREADED
    if (linear_blocked(rows, in, out)) {
        rt_pool_run(linear_backward_dz_block, (void *)&j, linear_nblocks(out));
        if (dx)
            rt_pool_run(linear_backward_dx_block, (void *)&j, linear_nblocks(in));
        return;
    }
#endif
    linear_backward_dz_cols(&j, 0, (size_t)out);
    if (dx)
        linear_backward_dx_cols(&j, 0, (size_t)in);
}

#ifdef NETC_PORTABLE_GEMM
/* Without a BLAS: in index order (LBFGS then agrees with torch's sdot to
 * rounding, not bit for bit). */
float rt_sdot(const float *a, const float *b, size_t n)
{
    float s = 0.0f;
    for (size_t i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}
#elif defined NETC_EMITTED
/* OpenBLAS's sdot is what torch.dot calls on the CPU: the same bits. */
float rt_sdot(const float *a, const float *b, size_t n)
{
    return cblas_sdot((int)n, a, 1, b, 1);
}
#else
float rt_sdot(const float *a, const float *b, size_t n)
{
    return rt_blas_sdot(n, a, b);
}
#endif
