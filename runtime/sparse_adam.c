/* sparse_adam.c — torch.optim.SparseAdam (torch 1.13, _functional.
 * sparse_adam) over an Embedding weight: only the rows a batch touched
 * are read or written. */
#include <math.h>

#include "kernels.h"

/* torch coalesces the gradient first (duplicate indices summed; the
 * embedding backward already summed them into one row each) and then, on
 * the touched rows only:
 *   old_m = exp_avg[rows]; um = (g - old_m) * (1 - beta1); exp_avg[rows] += um
 *   old_v = exp_avg_sq[rows]; uv = (g^2 - old_v) * (1 - beta2); exp_avg_sq[rows] += uv
 *   numer = um + old_m; denom = sqrt(uv + old_v) + eps
 *   param[rows] += -step_size * (numer / denom),
 *   step_size = lr * sqrt(1 - beta2^step) / (1 - beta1^step) in double.
 * touched (rows floats, all zero between steps) marks each row once, so a
 * row indexed twice is updated once; the padding row is never marked, so
 * never updated (torch's sparse gradient leaves padding_idx out). */
void rt_sparse_adam_step(float *param, const float *grad, float *m, float *v, const float *idx, float *touched,
                         size_t count, int dim, long padding, long step, double lr, double beta1, double beta2,
                         double eps, int maximize)
{
    const double bias_correction1 = 1.0 - pow(beta1, (double)step);
    const double bias_correction2 = 1.0 - pow(beta2, (double)step);
    const double step_size = lr * sqrt(bias_correction2) / bias_correction1;
    const float c1 = (float)(1.0 - beta1), c2 = (float)(1.0 - beta2), e = (float)eps;
    const float neg_step = (float)-step_size;
    const size_t d = (size_t)dim;

    for (size_t i = 0; i < count; i++)
        if ((long)idx[i] != padding)
            touched[(size_t)idx[i]] = 1.0f;
    for (size_t i = 0; i < count; i++) {
        const size_t r = (size_t)idx[i];
        if (touched[r] == 0.0f)
            continue; /* a duplicate, already updated */
        touched[r] = 0.0f;
        for (size_t j = r * d; j < (r + 1) * d; j++) {
            const float g = maximize ? -grad[j] : grad[j];
            const float old_m = m[j], um = (g - old_m) * c1;
            m[j] = old_m + um;
            const float old_v = v[j], uv = (g * g - old_v) * c2;
            v[j] = old_v + uv;
            const float numer = um + old_m;
            const float denom = sqrtf(uv + old_v) + e;
            param[j] = param[j] + neg_step * (numer / denom);
        }
    }
}
