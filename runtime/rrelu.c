/* rrelu.c — torch.nn.RReLU: a leaky ReLU with a random slope per element
 * while training and the mean slope in eval. */
#include "kernels.h"

void rt_rrelu_forward(const float *x, float *y, float *noise, size_t n, double lower, double upper,
                      int training, uint64_t *rng)
{
    if (!training) {
        /* torch: leaky_relu with (lower + upper) / 2, computed in double
         * and rounded to the tensor's float. */
        const float slope = (float)((lower + upper) / 2.0);
        for (size_t i = 0; i < n; i++) {
            const float v = x[i];
            y[i] = v > 0.0f ? v : v * slope;
            noise[i] = v > 0.0f ? 1.0f : slope;
        }
        return;
    }
    for (size_t i = 0; i < n; i++) {
        /* Drawn for every element, used where x <= 0 (torch's condition). */
        const double u = rt_rng_uniform(rng);
        const float v = x[i];
        if (v <= 0.0f) {
            const float r = (float)(u * (upper - lower) + lower);
            y[i] = v * r;
            noise[i] = r;
        } else {
            y[i] = v;
            noise[i] = 1.0f;
        }
    }
}

/* torch's grad_output.mul(noise). */
void rt_rrelu_backward(const float *dy, const float *noise, float *dx, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dx[i] = dy[i] * noise[i];
}
