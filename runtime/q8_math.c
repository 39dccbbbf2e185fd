/* q8_math.c — TFLite's int8 fixed-point arithmetic and parameter choice
 * (see q8_math.h for the scheme). */
#include "q8_math.h"

#include <math.h>

void rt_q8_quantize_multiplier(double real_multiplier, int32_t *multiplier, int *shift)
{
    if (real_multiplier == 0.0) {
        *multiplier = 0;
        *shift = 0;
        return;
    }
    int e;
    double q = frexp(real_multiplier, &e); /* q in [0.5, 1) */
    /* round() is TfLiteRound: halves away from zero. */
    int64_t q_fixed = (int64_t)round(q * (double)(1LL << 31));
    if (q_fixed == (1LL << 31)) { /* q rounded up to 1: renormalise */
        q_fixed /= 2;
        ++e;
    }
    if (e < -31) {
        e = 0;
        q_fixed = 0;
    }
    *multiplier = (int32_t)q_fixed;
    *shift = e;
}

int32_t rt_q8_srdhm(int32_t a, int32_t b)
{
    if (a == INT32_MIN && b == INT32_MIN)
        return INT32_MAX;
    int64_t ab = (int64_t)a * (int64_t)b;
    int64_t nudge = ab >= 0 ? (1 << 30) : (1 - (1 << 30));
    /* C's division truncates toward zero, as gemmlowp's does. */
    return (int32_t)((ab + nudge) / (1LL << 31));
}

int32_t rt_q8_rounding_divide_by_pot(int32_t x, int exponent)
{
    int32_t mask = (int32_t)((1LL << exponent) - 1);
    int32_t remainder = x & mask;
    int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    /* >> of a negative int is arithmetic on every compiler netc supports
     * (gcc, clang document it); gemmlowp relies on the same. */
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

int32_t rt_q8_mul_by_quantized_multiplier(int32_t x, int32_t multiplier, int shift)
{
    int left = shift > 0 ? shift : 0;
    int right = shift > 0 ? 0 : -shift;
    int64_t shifted = (int64_t)x * ((int64_t)1 << left);
    if (shifted > INT32_MAX)
        shifted = INT32_MAX;
    else if (shifted < INT32_MIN)
        shifted = INT32_MIN;
    return rt_q8_rounding_divide_by_pot(rt_q8_srdhm((int32_t)shifted, multiplier), right);
}

void rt_q8_choose_params(float lo, float hi, float *scale, int32_t *zero_point)
{
    double l = lo < 0 ? lo : 0, h = hi > 0 ? hi : 0;
    if (h - l == 0) {
        *scale = 1.0f;
        *zero_point = 0;
        return;
    }
    /* TFLite's ChooseQuantizationParams: the scale in double, and the zero
     * point from whichever end of the range, (lo, -128) or (hi, 127), adds
     * the smaller terms (the smaller rounding error), then nudged to an
     * integer inside [-128, 127]. */
    const double s = (h - l) / 255.0;
    const double from_min = -128.0 - l / s, from_max = 127.0 - h / s;
    const double zp = 128.0 + fabs(l / s) < 127.0 + fabs(h / s) ? from_min : from_max;
    *scale = (float)s;
    *zero_point = zp < -128 ? -128 : zp > 127 ? 127 : (int32_t)round(zp);
}

int8_t rt_q8_quantize(float x, float scale, int32_t zero_point)
{
    /* In float, as TFLite's reference Quantize divides. */
    float q = roundf(x / scale) + (float)zero_point;
    return (int8_t)(q < -128 ? -128 : q > 127 ? 127 : q);
}

void rt_q8_quantize_weights(const float *w, int channels, size_t n, int8_t *q, float *scale)
{
    for (int c = 0; c < channels; c++) {
        const float *row = w + (size_t)c * n;
        float m = 0;
        for (size_t i = 0; i < n; i++)
            m = fabsf(row[i]) > m ? fabsf(row[i]) : m;
        float s = m > 0 ? (float)((double)m / 127.0) : 1.0f;
        scale[c] = s;
        for (size_t i = 0; i < n; i++) {
            double v = round((double)row[i] / (double)s);
            q[(size_t)c * n + i] = (int8_t)(v < -127 ? -127 : v > 127 ? 127 : v);
        }
    }
}

int32_t rt_q8_quantize_bias(float b, float s_in, float s_w)
{
    double v = round((double)b / ((double)s_in * (double)s_w));
    return v < INT32_MIN ? INT32_MIN : v > INT32_MAX ? INT32_MAX : (int32_t)v;
}

void rt_q8_linear(const int8_t *x, int rows, int k, int32_t x_zp, const int8_t *w, const int32_t *bias,
                  int channels, const int32_t *mult, const int *shift, int32_t y_zp, int32_t lo, int32_t hi,
                  int8_t *y)
{
    for (int r = 0; r < rows; r++) {
        const int8_t *xr = x + (size_t)r * k;
        for (int c = 0; c < channels; c++) {
            const int8_t *wc = w + (size_t)c * k;
            int32_t acc = bias ? bias[c] : 0;
            for (int i = 0; i < k; i++)
                acc += (int32_t)wc[i] * ((int32_t)xr[i] - x_zp);
            int32_t v = rt_q8_mul_by_quantized_multiplier(acc, mult[c], shift[c]) + y_zp;
            y[(size_t)r * channels + c] = (int8_t)(v < lo ? lo : v > hi ? hi : v);
        }
    }
}
