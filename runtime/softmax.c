/* softmax.c — softmax, log_softmax and softmin over the middle axis of
 * (outer, n, inner), forward and backward, as torch's CPU kernels.
 * Softmin is torch's softmax(-x): the same passes reading x with its sign
 * flipped (sign = -1, exact), and the backward's result negated, as
 * autograd chains the negation. 
 *
 * The reduction runs over k = 0..n-1 in order whatever the layout: with
 * inner == 1 along a contiguous row, otherwise over blocks of up to BLOCK
 * contiguous inner positions (stack accumulators, no allocation), so the
 * same values give the same bits in every layout. */
#include <math.h>

#include "kernels.h"

enum { BLOCK = 64 };

/* One block of w inner positions starting at x (stride inner between the n
 * entries): y = softmax (or log_softmax when lg) of sign * x, sign being
 * 1 or -1. */
static void softmax_block(const float *x, float *y, size_t n, size_t inner, size_t w, int lg, float sign)
{
    float mx[BLOCK], sum[BLOCK];
    for (size_t j = 0; j < w; j++) {
        mx[j] = sign * x[j];
        sum[j] = 0.0f;
    }
    for (size_t k = 1; k < n; k++) {
        const float *xk = x + k * inner;
        for (size_t j = 0; j < w; j++)
            mx[j] = sign * xk[j] > mx[j] ? sign * xk[j] : mx[j];
    }
    /* Subtracting the max keeps exp from overflowing; torch does the same. */
    for (size_t k = 0; k < n; k++) {
        const float *xk = x + k * inner;
        float *yk = y + k * inner;
        for (size_t j = 0; j < w; j++) {
            const float e = expf(sign * xk[j] - mx[j]);
            if (!lg)
                yk[j] = e;
            sum[j] += e;
        }
    }
    if (lg) {
        /* x - max - log(sum) in that order, as torch (the max is subtracted
         * first so large inputs keep their small differences). */
        for (size_t j = 0; j < w; j++)
            sum[j] = logf(sum[j]);
        for (size_t k = 0; k < n; k++) {
            const float *xk = x + k * inner;
            float *yk = y + k * inner;
            for (size_t j = 0; j < w; j++)
                yk[j] = xk[j] - mx[j] - sum[j];
        }
    } else {
        /* torch multiplies by the reciprocal of the sum. */
        for (size_t j = 0; j < w; j++)
            sum[j] = 1.0f / sum[j];
        for (size_t k = 0; k < n; k++) {
            float *yk = y + k * inner;
            for (size_t j = 0; j < w; j++)
                yk[j] *= sum[j];
        }
    }
}

static void softmax_any(const float *x, float *y, size_t outer, size_t n, size_t inner, int lg, float sign)
{
    if (n == 0)
        return;
    for (size_t o = 0; o < outer; o++) {
        const size_t base = o * n * inner;
        for (size_t j0 = 0; j0 < inner; j0 += BLOCK) {
            const size_t w = inner - j0 < BLOCK ? inner - j0 : BLOCK;
            softmax_block(x + base + j0, y + base + j0, n, inner, w, lg, sign);
        }
    }
}

/* y = exp(x - max) * (1 / sum), as torch. */
void rt_softmax_forward(const float *x, float *y, size_t outer, size_t n, size_t inner)
{
    softmax_any(x, y, outer, n, inner, 0, 1.0f);
}

/* y = x - max - log(sum), as torch. */
void rt_log_softmax_forward(const float *x, float *y, size_t outer, size_t n, size_t inner)
{
    softmax_any(x, y, outer, n, inner, 1, 1.0f);
}

/* y = softmax(-x): torch.nn.Softmin. */
void rt_softmin_forward(const float *x, float *y, size_t outer, size_t n, size_t inner)
{
    softmax_any(x, y, outer, n, inner, 0, -1.0f);
}

/* One block of the backward: softmax dx = sign * y (dy - sum(dy y));
 * log_softmax dx = dy - exp(y) sum(dy).  The sums are complete before dx
 * is written, so dx may equal dy. */
static void softmax_back_block(const float *y, const float *dy, float *dx, size_t n,
                               size_t inner, size_t w, int lg, float sign)
{
    float sum[BLOCK];
    for (size_t j = 0; j < w; j++)
        sum[j] = 0.0f;
    for (size_t k = 0; k < n; k++) {
        const float *yk = y + k * inner, *gk = dy + k * inner;
        if (lg)
            for (size_t j = 0; j < w; j++)
                sum[j] += gk[j];
        else
            for (size_t j = 0; j < w; j++)
                sum[j] += gk[j] * yk[j];
    }
    for (size_t k = 0; k < n; k++) {
        const float *yk = y + k * inner, *gk = dy + k * inner;
        float *dk = dx + k * inner;
        if (lg)
            for (size_t j = 0; j < w; j++)
                dk[j] = gk[j] - expf(yk[j]) * sum[j];
        else
            for (size_t j = 0; j < w; j++)
                dk[j] = sign * (yk[j] * (gk[j] - sum[j]));
    }
}

static void softmax_back_any(const float *y, const float *dy, float *dx, size_t outer, size_t n,
                             size_t inner, int lg, float sign)
{
    for (size_t o = 0; o < outer; o++) {
        const size_t base = o * n * inner;
        for (size_t j0 = 0; j0 < inner; j0 += BLOCK) {
            const size_t w = inner - j0 < BLOCK ? inner - j0 : BLOCK;
            softmax_back_block(y + base + j0, dy + base + j0, dx + base + j0, n, inner, w, lg, sign);
        }
    }
}

/* dx = y (dy - sum(dy y)). */
void rt_softmax_backward(const float *y, const float *dy, float *dx, size_t outer, size_t n,
                         size_t inner)
{
    softmax_back_any(y, dy, dx, outer, n, inner, 0, 1.0f);
}

/* dx = -(y (dy - sum(dy y))): softmax's backward, then the negation's. */
void rt_softmin_backward(const float *y, const float *dy, float *dx, size_t outer, size_t n,
                         size_t inner)
{
    softmax_back_any(y, dy, dx, outer, n, inner, 0, -1.0f);
}

/* dx = dy - exp(y) sum(dy). */
void rt_log_softmax_backward(const float *y, const float *dy, float *dx, size_t outer, size_t n,
                             size_t inner)
{
    softmax_back_any(y, dy, dx, outer, n, inner, 1, 1.0f);
}
