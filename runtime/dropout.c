/* dropout.c — training-mode dropout with a mask drawn from the caller's
 * generator state. */
#include "kernels.h"

/* As torch's CPU dropout: keep with probability 1 - p, kept entries scaled
 * by 1/(1 - p) computed as torch does (a float division by the float
 * 1 - p); p = 0 keeps everything and draws nothing, p = 1 drops all. */
void rt_dropout_forward(const float *x, float *y, float *mask, size_t n, float p,
                        uint64_t *rng_state)
{
    if (p <= 0.0f) {
        for (size_t i = 0; i < n; i++) {
            mask[i] = 1.0f;
            y[i] = x[i];
        }
        return;
    }
    if (p >= 1.0f) {
        for (size_t i = 0; i < n; i++) {
            mask[i] = 0.0f;
            y[i] = x[i] * 0.0f;
        }
        return;
    }
    const double keep = 1.0 - (double)p;
    const float scale = 1.0f / (float)keep;
    for (size_t i = 0; i < n; i++)
        mask[i] = rt_rng_uniform(rng_state) < keep ? scale : 0.0f;
    for (size_t i = 0; i < n; i++)
        y[i] = x[i] * mask[i];
}

/* The gradient flows through the kept entries with the same scale. */
void rt_dropout_backward(const float *dy, const float *mask, float *dx, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dx[i] = dy[i] * mask[i];
}

/* A plain loop rather than memcpy: emitted C depends on libm only. */
void rt_copy(const float *x, float *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = x[i];
}
