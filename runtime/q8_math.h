/* q8_math.h — the integer arithmetic of int8 post-training quantization,
 * as TensorFlow Lite's int8 specification defines it (its reference
 * kernels, tensorflow/lite/kernels/internal/common.h and
 * quantization_util.cc), so that a model quantized by netc computes on the
 * host exactly what TFLite Micro / CMSIS-NN compute on a device.
 *
 * - real = scale * (q - zero_point); activations are int8 asymmetric
 *   (zero point from the calibrated range), weights int8 symmetric per
 *   output channel in [-127, 127] (zero point 0), biases int32 at scale
 *   s_in * s_w[c] (zero point 0).
 * - A real multiplier M > 0 (s_in * s_w / s_out) is a 32-bit fixed-point
 *   number m in [2^30, 2^31) with a power-of-two shift:
 *   M ~= m * 2^(shift - 31); requantizing x is
 *   RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(x << max(shift, 0), m), max(-shift, 0)).
 *
 * Nothing here allocates; everything is integer arithmetic except the
 * choice of parameters (done once, in double, as TFLite does). */
#ifndef NETC_RUNTIME_Q8_MATH_H
#define NETC_RUNTIME_Q8_MATH_H

#include <stddef.h>
#include <stdint.h>

/* TFLite's QuantizeMultiplier: the fixed-point form (*multiplier, *shift)
 * of real_multiplier >= 0.  0 gives (0, 0); a multiplier too small for
 * 31 bits of shift (shift < -31) gives (0, 0) too, as TFLite does. */
void rt_q8_quantize_multiplier(double real_multiplier, int32_t *multiplier, int *shift);

/* gemmlowp's SaturatingRoundingDoublingHighMul: the high 32 bits of
 * 2*a*b, rounded to nearest with ties rounded up (0.5 -> 1, -0.5 -> 0:
 * gemmlowp's nudge, kept for equal bits); INT32_MIN * INT32_MIN,
 * the one overflow, saturates to INT32_MAX. */
int32_t rt_q8_srdhm(int32_t a, int32_t b);

/* gemmlowp's RoundingDivideByPOT: x / 2^exponent rounded to nearest, ties
 * away from zero; exponent in [0, 31]. */
int32_t rt_q8_rounding_divide_by_pot(int32_t x, int exponent);

/* TFLite's MultiplyByQuantizedMultiplier: x * M in the fixed-point form of
 * rt_q8_quantize_multiplier.  TFLite shifts x left in 32 bits for shift
 * > 0, which overflows for large x; here that shift saturates instead (C
 * has no defined wraparound), which only differs where TFLite's result
 * would be meaningless. */
int32_t rt_q8_mul_by_quantized_multiplier(int32_t x, int32_t multiplier, int shift);

/* The asymmetric int8 parameters of a calibrated range [lo, hi], as
 * TFLite's ChooseQuantizationParams chooses them: the range is widened to
 * hold 0 (so that 0 is exact, as padding and ReLU need), scale = (hi - lo)
 * / 255 in double (stored as a float), and the zero point from the end of
 * the range whose terms are smaller, -128 - lo / scale or 127 - hi /
 * scale, rounded (halves away from zero) and clamped to [-128, 127].  An
 * empty range (lo = hi = 0) gets scale 1, zero point 0 rather than a
 * division by zero. */
void rt_q8_choose_params(float lo, float hi, float *scale, int32_t *zero_point);

/* round(x / scale) + zero_point clamped to [-128, 127], round halves away
 * from zero (TFLite's Quantize). */
int8_t rt_q8_quantize(float x, float scale, int32_t zero_point);

/* Per output channel symmetric quantization of a (channels, n) float
 * weight: scale[c] = max|w[c, :]| / 127 (1 for an all-zero row, which then
 * quantizes to zeros), q = round(w / scale[c]) in [-127, 127]. */
void rt_q8_quantize_weights(const float *w, int channels, size_t n, int8_t *q, float *scale);

/* The int32 bias of channel c: round(b / (s_in * s_w)) saturated to the
 * int32 range. */
int32_t rt_q8_quantize_bias(float b, float s_in, float s_w);

/* TFLite's per-channel fully connected reference: for each of `rows`
 * samples x (int8, zero point x_zp) and channel c,
 * acc = bias[c] + sum_k w[c, k] * (x[k] - x_zp), then
 * y = clamp(MultiplyByQuantizedMultiplier(acc, mult[c], shift[c]) + y_zp,
 * lo, hi).  lo/hi carry a fused ReLU/ReLU6/Hardtanh (-128/127 for none).
 * bias may be NULL.  w is (channels, k) row-major. */
void rt_q8_linear(const int8_t *x, int rows, int k, int32_t x_zp, const int8_t *w, const int32_t *bias,
                  int channels, const int32_t *mult, const int *shift, int32_t y_zp, int32_t lo, int32_t hi,
                  int8_t *y);

#endif
