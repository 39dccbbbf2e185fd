/* loss.c — the losses with their gradients: softmax + cross-entropy fused
 * over the logits, and mean squared error. */
#include <math.h>

#include "kernels.h"
#include "torch_sum.h"

/* Per row, as torch's log_softmax + nll_loss: ls = log(sum exp(x - max))
 * in float, loss = -(x_t - max - ls), gradient exp(x - max - ls) * r minus
 * r at the target (r = 1/rows, or 1 for sum), which is how torch's
 * log_softmax backward rounds (softmax - onehot) / rows.  Only the sum of
 * the row losses is in double. */
float rt_xent(const float *logits, const float *target, float *dlogits, int rows, int classes,
              int sum_reduction)
{
    if (rows <= 0 || classes <= 0)
        return 0.0f;
    const float r = sum_reduction ? 1.0f : 1.0f / (float)rows;
    double total = 0.0;
    for (int i = 0; i < rows; i++) {
        const float *x = logits + (size_t)i * (size_t)classes;
        const int t = (int)target[i];
        float mx = x[0];
        for (int c = 1; c < classes; c++)
            mx = x[c] > mx ? x[c] : mx;
        float s = 0.0f;
        for (int c = 0; c < classes; c++)
            s += expf(x[c] - mx);
        const float ls = logf(s);
        total += (double)(-(x[t] - mx - ls));
        if (dlogits) {
            float *d = dlogits + (size_t)i * (size_t)classes;
            for (int c = 0; c < classes; c++)
                d[c] = expf(x[c] - mx - ls) * r;
            d[t] -= r;
        }
    }
    return (float)(sum_reduction ? total : total / rows);
}

/* The squares are rounded in float as torch's (y - t).pow(2), and summed
 * in torch's order (torch_sum.h): LBFGS's line search compares losses,
 * so their last bits matter.  The gradient is torch's mse_backward: (float)(2/n) * (y - t). */
float rt_mse(const float *y, const float *t, float *dy, size_t n, int sum_reduction)
{
    if (n == 0)
        return 0.0f;
    /* torch: ((y - t) ** 2).sum(), divided by n as a float for the mean. */
    const float total = rt_torch_sum(y, t, n, RT_SUM_SQDIFF);
    if (dy) {
        const float norm = sum_reduction ? 2.0f : (float)(2.0 / (double)n);
        for (size_t i = 0; i < n; i++)
            dy[i] = norm * (y[i] - t[i]);
    }
    return sum_reduction ? total : total / (float)n;
}
