/* clip.c — torch.nn.utils.clip_grad_norm_ and clip_grad_value_ (torch
 * 1.13) over float32 gradients. */
#include <math.h>

#include "kernels.h"

/* Norms are summed in double and rounded to float once: torch reduces in
 * float32 with its own blocking, which no serial loop reproduces bit for
 * bit, and the double sum is the closer of the two to the exact norm. */
float rt_norm(const float *x, size_t n, double p)
{
    double acc = 0;
    if (isinf(p)) {
        for (size_t i = 0; i < n; i++) {
            const double a = fabs((double)x[i]);
            if (a > acc || a != a) /* torch's max propagates NaN */
                acc = a;
            if (acc != acc)
                break;
        }
        return (float)acc;
    }
    if (p == 1.0) {
        for (size_t i = 0; i < n; i++)
            acc += fabs((double)x[i]);
        return (float)acc;
    }
    if (p == 2.0) {
        for (size_t i = 0; i < n; i++)
            acc += (double)x[i] * (double)x[i];
        return (float)sqrt(acc);
    }
    for (size_t i = 0; i < n; i++)
        acc += pow(fabs((double)x[i]), p);
    return (float)pow(acc, 1.0 / p);
}

/* clip_coef = max_norm / (total_norm + 1e-6): the sum is a float32 tensor
 * op, and Python's scalar / tensor is tensor.reciprocal() * scalar in
 * torch, so the division is a float reciprocal then a float product.
 * clamp(max=1.0) keeps NaN, as torch.clamp does. */
void rt_clip_scale(float *g, size_t n, float total_norm, double max_norm)
{
    const float denom = total_norm + 1e-6f;
    float coef = (1.0f / denom) * (float)max_norm;
    if (coef > 1.0f)
        coef = 1.0f;
    for (size_t i = 0; i < n; i++)
        g[i] *= coef;
}

/* clamp_(min=-clip_value, max=clip_value), NaN passing through. */
void rt_clip_value(float *g, size_t n, double clip_value)
{
    const float hi = (float)clip_value, lo = -hi;
    for (size_t i = 0; i < n; i++) {
        if (g[i] < lo)
            g[i] = lo;
        else if (g[i] > hi)
            g[i] = hi;
    }
}

void rt_clip_grad_norm(float *g, const int32_t *sizes, int count, float *norms, double norm_type, double max_norm)
{
    size_t off = 0;
    for (int k = 0; k < count; k++) {
        norms[k] = rt_norm(g + off, (size_t)sizes[k], norm_type);
        off += (size_t)sizes[k];
    }
    rt_clip_scale(g, off, rt_norm(norms, (size_t)count, norm_type), max_norm);
}
