/* q8_kernels.c — the int8 kernels (see q8_kernels.h). */
#include "q8_kernels.h"

#include <math.h>

#include "kernels.h"
#include "q8_math.h"
#include "spatial.h"

static int8_t q8_clamp(int32_t v, int32_t lo, int32_t hi)
{
    return (int8_t)(v < lo ? lo : v > hi ? hi : v);
}

void rt_q8_quantize_n(const float *x, size_t n, float scale, int32_t zp, int8_t *q)
{
    for (size_t i = 0; i < n; i++)
        q[i] = rt_q8_quantize(x[i], scale, zp);
}

void rt_q8_dequantize_n(const int8_t *q, size_t n, float scale, int32_t zp, float *x)
{
    for (size_t i = 0; i < n; i++)
        x[i] = scale * (float)((int32_t)q[i] - zp);
}

/* zp + round(f / scale) in int32 before the cut, as TFLite's quantize
 * lambda in CalculateActivationRangeQuantized. */
static int32_t q8_at(float f, float scale, int32_t zp)
{
    const float v = roundf(f / scale);
    return zp + (int32_t)(v < -1e9f ? -1e9f : v > 1e9f ? 1e9f : v);
}

int rt_q8_clamp_range(comp_act act, float a, float b, float scale, int32_t zp, int32_t *lo, int32_t *hi)
{
    int32_t l = -128, h = 127;
    switch (act) {
    case COMP_ACT_IDENTITY: break;
    case COMP_ACT_RELU: l = q8_at(0.0f, scale, zp); break;
    case COMP_ACT_RELU6: l = q8_at(0.0f, scale, zp); h = q8_at(6.0f, scale, zp); break;
    case COMP_ACT_HARDTANH: l = q8_at(a, scale, zp); h = q8_at(b, scale, zp); break;
    default: return -1;
    }
    *lo = l < -128 ? -128 : l;
    *hi = h > 127 ? 127 : h;
    return 0;
}

void rt_q8_lut_build(comp_act act, float a, float b, float s_in, int32_t zp_in, float s_out, int32_t zp_out,
                     int8_t lut[256])
{
    /* The activation's float definition is acts.def's, through the one
     * float kernel. */
    float x[256], y[256];
    for (int q = -128; q < 128; q++)
        x[q + 128] = s_in * (float)(q - zp_in);
    rt_act_forward(act, a, b, x, y, 256);
    const float inverse = 1.0f / s_out;
    for (int i = 0; i < 256; i++) {
        const float r = roundf(y[i] * inverse);
        /* NaN or far outside int8: cut before converting (C leaves an
         * out-of-range conversion undefined). */
        const float v = r != r ? 0.0f : r < -1e9f ? -1e9f : r > 1e9f ? 1e9f : r;
        lut[i] = q8_clamp((int32_t)v + zp_out, -128, 127);
    }
}

void rt_q8_lut(const int8_t lut[256], const int8_t *x, int8_t *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = lut[(int)x[i] + 128];
}

void rt_q8_conv(const comp_geom *g, const int8_t *x, int batch, int32_t x_zp, const int8_t *W, const int32_t *bias,
                const int32_t *mult, const int *shift, int32_t y_zp, int32_t lo, int32_t hi, int8_t *y)
{
    const int cin_g = g->c_in / g->groups, cout_g = g->c_out / g->groups;
    const size_t in_plane = (size_t)g->h_in * g->w_in, out_plane = (size_t)g->h_out * g->w_out;
    for (int n = 0; n < batch; n++) {
        const int8_t *xs = x + (size_t)n * g->c_in * in_plane;
        int8_t *ys = y + (size_t)n * g->c_out * out_plane;
        for (int c = 0; c < g->c_out; c++) {
            const int8_t *wc = W + (size_t)c * cin_g * g->kh * g->kw;
            const int8_t *xg = xs + (size_t)(c / cout_g) * cin_g * in_plane;
            for (int oh = 0; oh < g->h_out; oh++)
                for (int ow = 0; ow < g->w_out; ow++) {
                    int32_t acc = bias ? bias[c] : 0;
                    for (int ci = 0; ci < cin_g; ci++)
                        for (int i = 0; i < g->kh; i++) {
                            const int ih = oh * g->sh - g->ph + i * g->dh;
                            if (ih < 0 || ih >= g->h_in)
                                continue;
                            for (int j = 0; j < g->kw; j++) {
                                const int iw = ow * g->sw - g->pw + j * g->dw;
                                if (iw < 0 || iw >= g->w_in)
                                    continue;
                                acc += (int32_t)wc[((size_t)ci * g->kh + i) * g->kw + j] *
                                       ((int32_t)xg[ci * in_plane + (size_t)ih * g->w_in + iw] - x_zp);
                            }
                        }
                    const int32_t v = rt_q8_mul_by_quantized_multiplier(acc, mult[c], shift[c]) + y_zp;
                    ys[c * out_plane + (size_t)oh * g->w_out + ow] = q8_clamp(v, lo, hi);
                }
        }
    }
}

/* AvgPool's output from its window's in-bounds sum and count: the
 * (divisor - count) padded or overridden elements are real 0 (q = zp),
 * then TFLite's rounding division (halves away from zero); zp for a
 * window with no input. */
static int8_t q8_average(const comp_geom *g, int oh, int ow, int32_t sum, int32_t count, int32_t zp)
{
    const int32_t div = rt_avgpool_divisor(g, oh, ow);
    if (!div)
        return (int8_t)zp;
    sum += (div - count) * zp;
    return q8_clamp(sum > 0 ? (sum + div / 2) / div : (sum - div / 2) / div, -128, 127);
}

/* Max and average pooling share their windows: the in-bounds elements of
 * output (oh, ow)'s window (MaxPool's dilation; AvgPool has none), and
 * what is written from their max or their sum. */
static void q8_pool(const comp_geom *g, const int8_t *x, int32_t zp, int8_t *y, int batch, int avg)
{
    const size_t in_plane = (size_t)g->h_in * g->w_in, out_plane = (size_t)g->h_out * g->w_out;
    const int dh = avg ? 1 : g->dh, dw = avg ? 1 : g->dw;
    for (size_t pl = 0; pl < (size_t)batch * g->c_out; pl++) {
        const int8_t *xp = x + pl * in_plane;
        int8_t *yp = y + pl * out_plane;
        for (int oh = 0; oh < g->h_out; oh++)
            for (int ow = 0; ow < g->w_out; ow++) {
                int32_t m = -128, sum = 0, count = 0;
                for (int i = 0; i < g->kh; i++) {
                    const int ih = oh * g->sh - g->ph + i * dh;
                    for (int j = 0; ih >= 0 && ih < g->h_in && j < g->kw; j++) {
                        const int iw = ow * g->sw - g->pw + j * dw;
                        if (iw < 0 || iw >= g->w_in)
                            continue;
                        const int32_t v = xp[(size_t)ih * g->w_in + iw];
                        m = v > m ? v : m;
                        sum += v;
                        count++;
                    }
                }
                yp[(size_t)oh * g->w_out + ow] = avg ? q8_average(g, oh, ow, sum, count, zp) : (int8_t)m;
            }
    }
}

void rt_q8_maxpool(const comp_geom *g, const int8_t *x, int8_t *y, int batch)
{
    q8_pool(g, x, 0, y, batch, 0);
}

void rt_q8_avgpool(const comp_geom *g, const int8_t *x, int32_t zp, int8_t *y, int batch)
{
    q8_pool(g, x, zp, y, batch, 1);
}
