/* prelu.c — torch.nn.PReLU: a leaky ReLU whose slope is a parameter, one
 * shared or one per channel (dim 1 of (N, C, ...)). */
#include "kernels.h"

/* As torch's CPU kernel: x > 0 ? x : w * x (so -0 gives w * -0). */
void rt_prelu_forward(const float *x, const float *w, float *y, size_t rows, size_t nw, size_t inner)
{
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < nw; c++) {
            const float wc = w[c];
            const size_t o = (r * nw + c) * inner;
            for (size_t j = 0; j < inner; j++) {
                const float v = x[o + j];
                y[o + j] = v > 0.0f ? v : wc * v;
            }
        }
}

/* The weight gradient sums x * dy where the slope was used; torch sums the
 * shared slope's terms serially in element order, which is the order here
 * for every channel. */
void rt_prelu_backward(const float *x, const float *w, const float *dy, float *dx, float *dw, size_t rows,
                       size_t nw, size_t inner)
{
    for (size_t c = 0; c < nw; c++)
        dw[c] = 0.0f;
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < nw; c++) {
            const float wc = w[c];
            const size_t o = (r * nw + c) * inner;
            float acc = dw[c];
            for (size_t j = 0; j < inner; j++) {
                const float v = x[o + j], g = dy[o + j];
                if (dx)
                    dx[o + j] = v > 0.0f ? g : wc * g;
                acc += v > 0.0f ? 0.0f : v * g;
            }
            dw[c] = acc;
        }
}
