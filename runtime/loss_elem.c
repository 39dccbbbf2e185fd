/* loss_elem.c — the element-wise losses besides MSE (L1, SmoothL1, Huber,
 * BCE, BCEWithLogits, KLDiv), each value and gradient in one pass.
 *
 * Every element's loss is rounded in float as torch's kernels round it;
 * only the sum over elements is in double (torch's float cascade sum
 * differs from it by a few ulps at most).  The gradient of element i is
 * torch's backward formula, divided by the reduction's divisor (the
 * element count for mean, the row count for batchmean) as torch divides
 * grad_output by it. */
#include <math.h>

#include "kernels.h"
#include "torch_ops.h"

/* What the sum is divided by. */
static size_t divisor(rt_reduction red, size_t n, size_t rows)
{
    return red == RT_REDUCE_MEAN ? n : red == RT_REDUCE_BATCHMEAN ? rows : 1;
}

static float reduced(double total, size_t div)
{
    return (float)(total / (double)div);
}

/* The frame every loss here shares (braced throughout: it is expanded
 * onto one line in emitted C, where an unbraced if would draw
 * -Wmisleading-indentation): nothing to do for no elements, the
 * divisor of the reduction (div) and its reciprocal (norm), the element
 * loop with x = y[i] and tt = t[i], the double sum (total) and the
 * reduced result.  The body adds element i's loss to total and, when dy
 * is not NULL, writes dy[i]. */
#define ELEM_LOSS(...)                                  \
    if (n == 0) {                                       \
        return 0.0f;                                    \
    }                                                   \
    const size_t div = divisor(red, n, rows);           \
    const float norm = 1.0f / (float)div;               \
    double total = 0.0;                                 \
    for (size_t i = 0; i < n; i++) {                    \
        const float x = y[i], tt = t[i];                \
        __VA_ARGS__                                     \
    }                                                   \
    (void)norm;                                         \
    return reduced(total, div);

/* torch's l1_loss: (y - t).abs() reduced; the gradient is sgn(y - t)
 * times the mean's 1/n. */
float rt_l1(const float *y, const float *t, float *dy, size_t n, size_t rows, rt_reduction red)
{
    ELEM_LOSS(const float d = x - tt;
              total += (double)fabsf(d);
              if (dy) {
                  dy[i] = t_sign(d) * norm;
              })
}

/* torch's smooth_l1 kernels: z = |d|, z < beta ? 0.5 z^2 / beta :
 * z - 0.5 beta; backward d <= -beta ? -norm : d >= beta ? norm :
 * norm d / beta.  With beta = 0 the value is L1's, and the gradient too
 * except at d = 0, where torch 1.13's kernel gives -norm (the first
 * branch), not L1's 0; so does this. */
float rt_smooth_l1(const float *y, const float *t, float *dy, size_t n, size_t rows, rt_reduction red,
                   float beta)
{
    ELEM_LOSS(const float d = x - tt, z = fabsf(d);
              total += (double)(z < beta ? 0.5f * z * z / beta : z - 0.5f * beta);
              if (dy) {
                  dy[i] = d <= -beta ? -norm : d >= beta ? norm : norm * d / beta;
              })
}

/* torch's huber kernels: z < delta ? 0.5 z^2 : delta (z - 0.5 delta);
 * backward d < -delta ? -norm delta : d > delta ? norm delta : norm d. */
float rt_huber(const float *y, const float *t, float *dy, size_t n, size_t rows, rt_reduction red, float delta)
{
    ELEM_LOSS(const float d = x - tt, z = fabsf(d);
              total += (double)(z < delta ? 0.5f * z * z : delta * (z - 0.5f * delta));
              if (dy) {
                  dy[i] = d < -delta ? -norm * delta : d > delta ? norm * delta : norm * d;
              })
}

/* torch's binary_cross_entropy CPU kernel: (t - 1) max(log1p(-y), -100)
 * - t max(log y, -100); backward (y - t) / max((1 - y) y, 1e-12), then
 * divided by n for the mean.  The clamps keep y = 0 and y = 1 finite. */
float rt_bce(const float *y, const float *t, float *dy, size_t n, size_t rows, rt_reduction red)
{
    ELEM_LOSS(const float lo = fmaxf(log1pf(-x), -100.0f), lp = fmaxf(logf(x), -100.0f);
              total += (double)((tt - 1.0f) * lo - tt * lp);
              if (dy) {
                  dy[i] = (x - tt) / fmaxf((1.0f - x) * x, 1e-12f) / (float)div;
              })
}

/* torch's binary_cross_entropy_with_logits: with m = max(-x, 0),
 * (1 - t) x + m + log(exp(-m) + exp(-x - m)); with pos_weight p the last
 * two terms are weighted by 1 + (p - 1) t.  Gradient sigmoid(x) - t, or
 * (p t + 1 - t) sigmoid(x) - p t; divided by n for the mean.  pos_weight 1
 * takes torch's unweighted path (the same value, rounded as torch does
 * without a pos_weight tensor). */
float rt_bce_logits(const float *y, const float *t, float *dy, size_t n, size_t rows, rt_reduction red,
                    float pos_weight)
{
    const int weighted = pos_weight != 1.0f;
    ELEM_LOSS(const float m = fmaxf(-x, 0.0f);
              const float lse = logf(expf(-m) + expf(-x - m));
              const float sig = 1.0f / (1.0f + expf(-x));
              if (weighted) {
                  const float lw = (pos_weight - 1.0f) * tt + 1.0f;
                  total += (double)((1.0f - tt) * x + lw * (lse + m));
                  if (dy) {
                      const float pt = pos_weight * tt;
                      dy[i] = ((pt + 1.0f - tt) * sig - pt) / (float)div;
                  }
              } else {
                  total += (double)((1.0f - tt) * x + m + lse);
                  if (dy) {
                      dy[i] = (sig - tt) / (float)div;
                  }
              })
}

/* torch's kl_div: xlogy(t, t) - t x (0 where t = 0), or with log_target
 * exp(t) (t - x); autograd's gradient -t or -exp(t), times 1/n (mean) or
 * 1/rows (batchmean). */
float rt_kl_div(const float *y, const float *t, float *dy, size_t n, size_t rows, rt_reduction red,
                int log_target)
{
    ELEM_LOSS(if (log_target) {
                  const float et = expf(tt);
                  total += (double)(et * (tt - x));
                  if (dy) {
                      dy[i] = -(norm * et);
                  }
              } else {
                  const float xlogy = tt == 0.0f ? 0.0f : tt * logf(tt); /* NaN stays NaN */
                  total += (double)(xlogy - tt * x);
                  if (dy) {
                      dy[i] = -(norm * tt);
                  }
              })
}
