/* linear.c — the fused Linear layer: one sgemm plus one elementwise pass
 * (bias and activation) forward; one pass (activation derivative and bias
 * gradient) plus two sgemms backward. */
#include "act_fused.h"
#include "kernels.h"

/* Built with NETC_PORTABLE_GEMM (emitted C without a BLAS) the products
 * are runtime/gemm.c's; otherwise OpenBLAS's. */
#ifdef NETC_PORTABLE_GEMM
#define GEMM_NT(m, n, k, A, B, C) rt_gemm_nt(A, B, C, m, n, k)
#define GEMM_TN(m, n, k, A, B, C) rt_gemm_tn(A, B, C, m, n, k)
#define GEMM_NN(m, n, k, A, B, C) rt_gemm_nn(A, B, C, m, n, k)
#else
#include <cblas.h>
#define GEMM_NT(m, n, k, A, B, C) \
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, A, k, B, k, 0.0f, C, n)
#define GEMM_TN(m, n, k, A, B, C) \
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, m, n, k, 1.0f, A, m, B, n, 0.0f, C, n)
#define GEMM_NN(m, n, k, A, B, C) \
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, A, k, B, n, 0.0f, C, n)
#endif

/* beta 0 then a separate bias pass (not addmm's beta 1 on a broadcast
 * bias), so the activation can be fused into the same pass. */
void rt_linear_forward(const float *x, const float *W, const float *bias, float *z, float *y,
                       int rows, int in, int out, comp_act act, float a, float b)
{
    if (rows <= 0 || out <= 0)
        return;
    /* The product lands where the pre-activation is kept (z) or, when it
     * is not, in y and is transformed in place. */
    float *acc = z ? z : y;
    GEMM_NT(rows, out, in, x, W, acc);
    if (act == COMP_ACT_IDENTITY && !bias && acc == y)
        return;
    /* z only needs writing back when the bias changed it and it is not y. */
    float *keep = (bias && z && z != y) ? z : NULL;
    rt_act_rows_forward(act, a, b, acc, bias, keep, y, (size_t)rows, (size_t)out);
}

/* dz is formed once and feeds both products; dW and dx are overwritten
 * (beta 0), accumulation across batches is the caller's business. */
void rt_linear_backward(const float *dy, const float *z, const float *y, float *dz,
                        const float *x, const float *W, float *dx, float *dW, float *db,
                        int rows, int in, int out, comp_act act, float a, float b)
{
    if (rows <= 0 || out <= 0 || in <= 0)
        return;
    rt_act_rows_backward(act, a, b, z, y, dy, dz, db, (size_t)rows, (size_t)out);
    GEMM_TN(out, in, rows, dz, x, dW);
    if (dx)
        GEMM_NN(rows, in, out, dz, W, dx);
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
#else
/* OpenBLAS's sdot is what torch.dot calls on the CPU: the same bits. */
float rt_sdot(const float *a, const float *b, size_t n)
{
    return cblas_sdot((int)n, a, 1, b, 1);
}
#endif
