/* q8_kernels.h — the int8 kernels of an int8 plan (compiler/q8ops.def),
 * after TFLite's int8 reference kernels (tensorflow/lite/kernels/internal/
 * reference/integer_ops/), on NCHW tensors one sample after the other.
 * Integer arithmetic only (runtime/q8_math.h), so they compute what a
 * device running TFLite Micro computes; nothing allocates. */
#ifndef NETC_RUNTIME_Q8_KERNELS_H
#define NETC_RUNTIME_Q8_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "../compiler/catalog.h"
#include "../compiler/geom.h"

/* q[i] = rt_q8_quantize(x[i], scale, zp) over n elements. */
void rt_q8_quantize_n(const float *x, size_t n, float scale, int32_t zp, int8_t *q);

/* x[i] = scale * (q[i] - zp) in float, as TFLite's Dequantize. */
void rt_q8_dequantize_n(const int8_t *q, size_t n, float scale, int32_t zp, float *x);

/* The int8 range [*lo, *hi] of an output (scale, zp) that a fused act
 * clamps to (TFLite's CalculateActivationRangeQuantized): ReLU [0, inf),
 * ReLU6 [0, 6], Hardtanh [a, b], each end zp + round(end / scale) and cut
 * to [-128, 127]; [-128, 127] for IDENTITY.  Returns 0, or -1 for another
 * activation (which is a LUT, not a clamp). */
int rt_q8_clamp_range(comp_act act, float a, float b, float scale, int32_t zp, int32_t *lo, int32_t *hi);

/* The 256-entry table of an elementwise activation (acts.def, arguments
 * a, b) from input (s_in, zp_in) to output (s_out, zp_out), as TFLite's
 * LUTPopulate: entry q + 128 is zp_out + round(act(s_in * (q - zp_in)) *
 * (1 / s_out)) cut to [-128, 127], all in float. */
void rt_q8_lut_build(comp_act act, float a, float b, float s_in, int32_t zp_in, float s_out, int32_t zp_out,
                     int8_t lut[256]);

/* y[i] = lut[x[i] + 128] over n elements. */
void rt_q8_lut(const int8_t lut[256], const int8_t *x, int8_t *y, size_t n);

/* TFLite's per-channel int8 convolution (reference ConvPerChannel, with
 * groups as its grouped / depthwise forms): for each of batch samples,
 * output channel c and position, acc = bias[c] + sum of W[c, ci, i, j] *
 * (x - x_zp) over the window's in-bounds input elements (zero padding is
 * x_zp, so it adds nothing), then clamp(requantize(acc, mult[c],
 * shift[c]) + y_zp, lo, hi).  W is torch's (c_out, c_in / groups, kh, kw);
 * bias may be NULL. */
void rt_q8_conv(const comp_geom *g, const int8_t *x, int batch, int32_t x_zp, const int8_t *W, const int32_t *bias,
                const int32_t *mult, const int *shift, int32_t y_zp, int32_t lo, int32_t hi, int8_t *y);

/* Max over each window's in-bounds elements (torch's MaxPool bounds:
 * padding is never the max); the output keeps the input's parameters. */
void rt_q8_maxpool(const comp_geom *g, const int8_t *x, int8_t *y, int batch);

/* Average pooling with the input's parameters (scale, zp): each window's
 * in-bounds q summed, the (divisor - in-bounds count) padded or
 * overridden elements counted as real 0 (q = zp), then divided by torch's
 * divisor (rt_avgpool_divisor) rounding halves away from zero, as
 * TFLite's AveragePool divides; zp where the window has no input. */
void rt_q8_avgpool(const comp_geom *g, const int8_t *x, int32_t zp, int8_t *y, int batch);

#endif
