/* loss.c — the class-index losses with their gradients (softmax +
 * cross-entropy fused over the logits, NLL over log-probabilities) and
 * mean squared error.  The other element-wise losses are in loss_elem.c. */
#include <math.h>

#include "kernels.h"
#include "torch_sum.h"

/* log sum exp(x - max) over a row of n values, in float, as torch's
 * log_softmax computes it; the max goes to *mx. */
static float log_sum_exp(const float *x, int n, float *mx)
{
    float m = x[0];
    for (int c = 1; c < n; c++)
        m = x[c] > m ? x[c] : m;
    float s = 0.0f;
    for (int c = 0; c < n; c++)
        s += expf(x[c] - m);
    *mx = m;
    return logf(s);
}

/* Per row, as torch's log_softmax + nll_loss: ls = log(sum exp(x - max))
 * in float and log-probability lp = x - max - ls.  The loss is
 * (1 - eps) nll + eps/C smooth (torch's cross_entropy with label
 * smoothing eps; plain nll when eps = 0), nll = -lp[t] and smooth =
 * -sum lp, both summed over the rows not ignored and, for the mean,
 * divided by their count.  The gradient is log_softmax's backward of
 * g = -(eps/C) w everywhere and -(1 - eps) w more at the target (w = 1 or
 * 1/count): g - exp(lp) sum(g); with eps = 0 this is (softmax - onehot) w
 * rounded as torch rounds it.  Only the sums over rows are in double. */
float rt_xent(const float *logits, const float *target, float *dlogits, int rows, int classes,
              int sum_reduction, int ignore_index, double label_smoothing)
{
    if (rows <= 0 || classes <= 0)
        return 0.0f;
    int valid = 0;
    for (int i = 0; i < rows; i++)
        valid += (int)target[i] != ignore_index;
    const float w = sum_reduction ? 1.0f : 1.0f / (float)valid; /* inf when all ignored: never used */
    const float gt = (float)(1.0 - label_smoothing) * w;
    const float gs = (float)(label_smoothing / classes) * w;
    double nll = 0.0, smooth = 0.0;
    for (int i = 0; i < rows; i++) {
        const float *x = logits + (size_t)i * (size_t)classes;
        float *d = dlogits ? dlogits + (size_t)i * (size_t)classes : NULL;
        const int t = (int)target[i];
        if (t == ignore_index) {
            for (int c = 0; d && c < classes; c++)
                d[c] = 0.0f;
            continue;
        }
        float mx;
        const float ls = log_sum_exp(x, classes, &mx);
        nll += (double)(-(x[t] - mx - ls));
        if (label_smoothing > 0.0) {
            float row = 0.0f;
            for (int c = 0; c < classes; c++)
                row += x[c] - mx - ls;
            smooth += (double)-row;
        }
        if (d) {
            float sum_g = 0.0f;
            for (int c = 0; c < classes; c++)
                sum_g += -gs - (c == t ? gt : 0.0f);
            for (int c = 0; c < classes; c++)
                d[c] = (-gs - (c == t ? gt : 0.0f)) - expf(x[c] - mx - ls) * sum_g;
        }
    }
    if (!sum_reduction) {
        if (valid == 0)
            return NAN; /* 0/0, as torch */
        nll /= valid;
        smooth /= valid;
    }
    if (label_smoothing > 0.0)
        return (float)((1.0 - label_smoothing) * nll + smooth * (label_smoothing / classes));
    return (float)nll;
}

/* See kernels.h.  torch: input = log_softmax(x) (ls = log sum exp(x -
 * max) in float, as rt_xent), target smoothed in float, then
 * -(input * target).sum() / rows; here the sum is in double, row by row,
 * so the loss agrees with torch's to float rounding (not bit for bit:
 * torch sums the whole product in its own order).  The gradient is
 * log_softmax's backward of g = -t w: g - exp(lp) sum(g). */
float rt_xent_probs(const float *logits, const float *target, float *dlogits, int rows, int classes,
                    int sum_reduction, double label_smoothing)
{
    if (rows <= 0 || classes <= 0)
        return 0.0f;
    const float w = sum_reduction ? 1.0f : 1.0f / (float)rows;
    const float keep = (float)(1.0 - label_smoothing), spread = (float)(label_smoothing / classes);
    double total = 0.0;
    for (int i = 0; i < rows; i++) {
        const float *x = logits + (size_t)i * (size_t)classes, *t = target + (size_t)i * (size_t)classes;
        float *d = dlogits ? dlogits + (size_t)i * (size_t)classes : NULL;
        float mx;
        const float ls = log_sum_exp(x, classes, &mx);
        float row = 0.0f, sum_g = 0.0f;
        for (int c = 0; c < classes; c++) {
            const float tc = label_smoothing > 0.0 ? t[c] * keep + spread : t[c];
            row += (x[c] - mx - ls) * tc;
            sum_g += -tc * w;
        }
        total += (double)-row;
        for (int c = 0; d && c < classes; c++) {
            const float tc = label_smoothing > 0.0 ? t[c] * keep + spread : t[c];
            d[c] = -tc * w - expf(x[c] - mx - ls) * sum_g;
        }
    }
    return (float)(sum_reduction ? total : total / rows);
}

/* torch's nll_loss: the gradient at the target is -(1 / total_weight),
 * total_weight being the count of rows not ignored (or 1 for sum). */
float rt_nll(const float *logprobs, const float *target, float *dx, int rows, int classes, int sum_reduction,
             int ignore_index)
{
    if (rows <= 0 || classes <= 0)
        return 0.0f;
    int valid = 0;
    for (int i = 0; i < rows; i++)
        valid += (int)target[i] != ignore_index;
    const float g = sum_reduction ? -1.0f : -(1.0f / (float)valid);
    double total = 0.0;
    for (int i = 0; i < rows; i++) {
        const float *x = logprobs + (size_t)i * (size_t)classes;
        const int t = (int)target[i];
        if (dx)
            for (int c = 0; c < classes; c++)
                dx[(size_t)i * (size_t)classes + (size_t)c] = 0.0f;
        if (t == ignore_index)
            continue;
        total += (double)-x[t];
        if (dx)
            dx[(size_t)i * (size_t)classes + (size_t)t] = g;
    }
    if (!sum_reduction)
        return valid == 0 ? NAN : (float)(total / valid);
    return (float)total;
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
