/* glu.c — torch.nn.GLU: the first half of an axis gated by the sigmoid of
 * the second half. */
#include <math.h>

#include "kernels.h"

/* torch's glu_kernel: a * (1 / (1 + exp(-b))). */
void rt_glu_forward(const float *x, float *y, size_t outer, size_t n, size_t inner)
{
    const size_t h = n / 2 * inner; /* floats in one half of one outer slice */
    for (size_t o = 0; o < outer; o++) {
        const float *a = x + o * 2 * h, *b = a + h;
        float *yo = y + o * h;
        for (size_t j = 0; j < h; j++)
            yo[j] = a[j] * (1.0f / (1.0f + expf(-b[j])));
    }
}

/* torch's glu_backward: s = sigmoid(b); db = (1 - s) * s * a * dy, left
 * to right; da = s * dy. */
void rt_glu_backward(const float *x, const float *dy, float *dx, size_t outer, size_t n, size_t inner)
{
    const size_t h = n / 2 * inner;
    for (size_t o = 0; o < outer; o++) {
        const float *a = x + o * 2 * h, *b = a + h, *g = dy + o * h;
        float *da = dx + o * 2 * h, *db = da + h;
        for (size_t j = 0; j < h; j++) {
            const float s = 1.0f / (1.0f + expf(-b[j]));
            db[j] = (1.0f - s) * s * a[j] * g[j];
            da[j] = s * g[j];
        }
    }
}
