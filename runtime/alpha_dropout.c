/* alpha_dropout.c — torch.nn.AlphaDropout: dropout for SELU networks.
 * Dropped elements take SELU's negative saturation value and an affine
 * map a x + c restores zero mean and unit variance. */
#include <math.h>

#include "kernels.h"

/* -SELU scale * SELU alpha, the value torch uses. */
#define SELU_SAT 1.7580993408473766

void rt_alpha_dropout_apply(const float *x, float *y, float *mask, size_t n, double p)
{
    /* torch's _dropout_impl: a in double; the scalars meet the float noise
     * tensor as floats (b = noise.add(-1).mul_(alpha a).add_(alpha a p);
     * noise.mul_(a); y = x * noise + b). */
    const double a = 1.0 / sqrt((SELU_SAT * SELU_SAT * p + 1.0) * (1.0 - p));
    const float fa = (float)a, fsa = (float)(SELU_SAT * a), fsap = (float)(SELU_SAT * a * p);
    for (size_t i = 0; i < n; i++) {
        const float keep = mask[i];
        const float c = (keep - 1.0f) * fsa + fsap;
        mask[i] = keep * fa;
        y[i] = x[i] * mask[i] + c;
    }
}

void rt_alpha_dropout_forward(const float *x, float *y, float *mask, size_t n, double p, uint64_t *rng)
{
    if (p <= 0.0) { /* torch returns the input itself */
        for (size_t i = 0; i < n; i++) {
            mask[i] = 1.0f;
            y[i] = x[i];
        }
        return;
    }
    if (p >= 1.0) { /* torch: input * zeros */
        for (size_t i = 0; i < n; i++) {
            mask[i] = 0.0f;
            y[i] = x[i] * 0.0f;
        }
        return;
    }
    const double keep = 1.0 - p;
    for (size_t i = 0; i < n; i++)
        mask[i] = rt_rng_uniform(rng) < keep ? 1.0f : 0.0f;
    rt_alpha_dropout_apply(x, y, mask, n, p);
}
