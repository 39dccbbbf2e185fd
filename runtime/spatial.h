/* spatial.h — the kernels of convolution, pooling and batch norm
 * (runtime/conv.c, runtime/pooling.c, runtime/batchnorm.c), over NCHW
 * float32 tensors described by a comp_geom (compiler/geom.h).
 *
 * As every kernel of kernels.h: caller-provided buffers, no allocation,
 * deterministic (the same bits at every thread count: work is cut into
 * tasks by shape alone), numerics as PyTorch's CPU float32 kernels.
 * Backward kernels overwrite (never accumulate into) every gradient they
 * write; a NULL dx means the input gradient is not needed (the first
 * layer).  `batch` is the number of samples; x holds batch * c_in * h_in *
 * w_in floats, y batch * c_out * h_out * w_out. */
#ifndef NETC_RUNTIME_SPATIAL_H
#define NETC_RUNTIME_SPATIAL_H

#include <stddef.h>
#include <stdint.h>

#include "../compiler/catalog.h"
#include "../compiler/geom.h"

/* torch.nn.Conv1d/Conv2d with the activation after it fused, as
 * rt_linear_forward: z = conv(x, W) + bias, y = act(z).  W is (c_out,
 * c_in/groups, kh, kw), bias (c_out) or NULL.  Padding per g->mode (zeros,
 * reflect, replicate, circular as torch's F.pad before an unpadded conv),
 * before/after sizes ph/ph_end, pw/pw_end.  z may be NULL (not kept) or
 * equal y.  scratch holds batch * comp_geom_conv_scratch(g, 0) floats. */
void rt_conv_forward(const comp_geom *g, const float *x, const float *W, const float *bias, float *z, float *y,
                     float *scratch, int batch, comp_act act, float a, float b);

/* Floats per sample of the scratch that rt_conv_forward (transposed 0)
 * or rt_conv_transpose_forward (1) uses at any batch: a forward that runs
 * alone (inference) needs only batch times this, at most
 * comp_geom_conv_scratch(g, transposed) (a stride-1 convolution reads its
 * windows in place and needs far less than its unfolded columns). */
size_t rt_conv_forward_scratch(const comp_geom *g, int transposed);

/* Backward of rt_conv_forward, as rt_linear_backward: dz = dy * act'(z, y)
 * into dz (may equal dy), then dW (overwritten), db (NULL without bias) and
 * dx (NULL: not needed; for padding modes other than zeros the gradient
 * of a padded position flows back to the input position it copies). */
void rt_conv_backward(const comp_geom *g, const float *dy, const float *z, const float *y, float *dz,
                      const float *x, const float *W, float *dx, float *dW, float *db, float *scratch, int batch,
                      comp_act act, float a, float b);

/* torch.nn.ConvTranspose1d/2d, the same contract: W is (c_in,
 * c_out/groups, kh, kw); h_out = (h_in-1)*sh - ph - ph_end + dh*(kh-1) +
 * oph + 1 (the compiler sized it); zero padding only (torch allows no
 * other); scratch holds batch * comp_geom_conv_scratch(g, 1) floats. */
void rt_conv_transpose_forward(const comp_geom *g, const float *x, const float *W, const float *bias, float *z,
                               float *y, float *scratch, int batch, comp_act act, float a, float b);
void rt_conv_transpose_backward(const comp_geom *g, const float *dy, const float *z, const float *y, float *dz,
                                const float *x, const float *W, float *dx, float *dW, float *db, float *scratch,
                                int batch, comp_act act, float a, float b);

/* torch.nn.MaxPool1d/2d (c_in = c_out): windows of kh x kw at stride sh,
 * sw, dilation dh, dw, over the input padded by ph, pw with -inf; output
 * size from the compiler (ceil_mode included).  As torch, the first
 * maximum in window order wins and NaN propagates.  idx (NULL when not
 * training) receives, per output element, the flat index h*w_in + w of
 * the chosen input element in its channel plane, as a float (exact:
 * planes hold at most 2^24 elements).  The backward scatters dy into dx
 * (zeroed first) at those indices, summing where windows overlap, in
 * output order. */
void rt_maxpool_forward(const comp_geom *g, const float *x, float *y, float *idx, int batch);
void rt_maxpool_backward(const comp_geom *g, const float *dy, const float *idx, float *dx, int batch);

/* torch.nn.AvgPool1d/2d: padding with zeros; the divisor is divisor (when
 * nonzero), else the window's size clipped to the padded input when
 * COMP_GEOM_COUNT_INCLUDE_PAD is set, else the number of input elements
 * in the window (torch's avg_pool2d rules, ceil_mode windows included). */
void rt_avgpool_forward(const comp_geom *g, const float *x, float *y, int batch);
/* The divisor of AvgPool's output (oh, ow), as torch's divide_factor:
 * divisor_override, else the padded window's size with count_include_pad,
 * else the count of input elements in the window; 0 for a window without
 * input elements. */
int rt_avgpool_divisor(const comp_geom *g, int oh, int ow);
void rt_avgpool_backward(const comp_geom *g, const float *dy, float *dx, int batch);

/* torch.nn.AdaptiveAvgPool1d/2d and AdaptiveMaxPool1d/2d: output cell
 * (i, j) covers input rows floor(i*h_in/h_out) .. ceil((i+1)*h_in/h_out)
 * and likewise columns.  The max variants keep idx as rt_maxpool_forward. */
void rt_adaptive_avgpool_forward(const comp_geom *g, const float *x, float *y, int batch);
void rt_adaptive_avgpool_backward(const comp_geom *g, const float *dy, float *dx, int batch);
void rt_adaptive_maxpool_forward(const comp_geom *g, const float *x, float *y, float *idx, int batch);
void rt_adaptive_maxpool_backward(const comp_geom *g, const float *dy, const float *idx, float *dx, int batch);

/* torch.nn.BatchNorm1d/2d over x of (batch, C, inner) (inner = h*w, or 1
 * for (N, C) input).  w, b: the affine weight and bias, NULL when
 * affine=false.  rmean, rvar: the running statistics, and nbt torch's
 * num_batches_tracked (one float), all NULL when track_running_stats=false.
 *
 * With batch statistics (training, or no running statistics): per channel
 * the mean and biased variance over batch*inner values, y = (x - mean) *
 * invstd * w + b with invstd = 1/sqrt(var + eps); save_mean and save_invstd
 * (C floats each) keep mean and invstd for the backward.  While training
 * with running statistics, nbt += 1 and each running statistic r becomes
 * (1 - f) r + f s, f = momentum, or 1/nbt when momentum is NaN (torch's
 * None: the cumulative average), s the batch mean or the unbiased variance
 * (var * n / (n - 1)).  In eval with running statistics they replace the
 * batch's, and nothing is written but y.
 *
 * An activation after the layer is fused as rt_linear_forward fuses one:
 * y = act(z) with z the normalised value, kept in z when the activation's
 * derivative needs it (z NULL or equal to y otherwise); act
 * COMP_ACT_IDENTITY for none, a and b its float arguments.
 *
 * The backward (training mode, batch statistics) first turns dy, in place,
 * into the gradient of z (dy * act'(z, y); nothing without an activation),
 * then writes dx (NULL: not needed), dw and db (NULL when affine=false)
 * from it, x and the saved statistics, as torch's batch_norm_backward. */
void rt_batchnorm_forward(const float *x, float *y, const float *w, const float *b, float *rmean, float *rvar,
                          float *nbt, float *save_mean, float *save_invstd, int batch, int C, size_t inner,
                          double eps, double momentum, int training, comp_act act, float a, float bb, float *z);
void rt_batchnorm_backward(const float *x, float *dy, const float *w, const float *save_mean,
                           const float *save_invstd, float *dx, float *dw, float *db, int batch, int C,
                           size_t inner, comp_act act, float a, float b, const float *y, const float *z);

/* torch.nn.Dropout1d/Dropout2d (training): y = x * mask over rows =
 * batch * C channel rows of `inner` floats each, with one draw per row
 * from rng as rt_dropout_forward draws per element (keep when
 * rt_rng_uniform(rng) < 1 - p, kept rows scaled by 1/(float)(1 - p); p = 0
 * and p = 1 draw nothing).  The mask is written for every element, so
 * rt_dropout_backward serves as the backward. */
void rt_dropout_channels_forward(const float *x, float *y, float *mask, size_t rows, size_t inner, float p,
                                 uint64_t *rng);

#endif
