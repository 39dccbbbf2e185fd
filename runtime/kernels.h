/* kernels.h — the numerical kernels the plan executor calls.
 *
 * Every kernel works on caller-provided float32 buffers, allocates nothing
 * and is deterministic (same inputs, same bits).  Matrices are row-major;
 * a batch of `rows` samples of `cols` features is rows*cols floats.
 * Numerics follow PyTorch's CPU float32 implementations; scalar
 * hyperparameters arrive as double (as torch.optim's Python floats do) and
 * are rounded where torch rounds them. */
#ifndef NETC_RUNTIME_KERNELS_H
#define NETC_RUNTIME_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "../compiler/catalog.h"

/* y = act(x) elementwise over n floats; a, b are the activation's float
 * arguments (acts.def).  y may equal x. */
void rt_act_forward(comp_act act, float a, float b, const float *x, float *y, size_t n);

/* dx = dy * act'(x, y) elementwise over n floats.  x may be NULL when the
 * activation does not need it (comp_act_needs_x), y may be NULL when it
 * does.  dx may equal dy. */
void rt_act_backward(comp_act act, float a, float b, const float *x, const float *y,
                     const float *dy, float *dx, size_t n);

/* Fused Linear forward: z = x W^T (+ bias), y = act(z), for x of rows x in,
 * W of out x in (PyTorch layout), bias of out (NULL for bias=false).  One
 * cblas_sgemm, then one pass adding the bias and applying the activation.
 * z may be NULL (then the pre-activation is not kept) or equal y. */
void rt_linear_forward(const float *x, const float *W, const float *bias, float *z, float *y,
                       int rows, int in, int out, comp_act act, float a, float b);

/* Fused Linear backward.  Given dy (rows x out) and the forward's y and/or
 * z (as the activation needs), compute in one pass dz = dy * act'(z, y)
 * into dz (rows x out scratch, may equal dy) and the bias gradient
 * db = sum over rows of dz (NULL: no bias); then dW = dz^T x (out x in,
 * overwritten) and, when dx is not NULL, dx = dz W (rows x in,
 * overwritten). */
void rt_linear_backward(const float *dy, const float *z, const float *y, float *dz,
                        const float *x, const float *W, float *dx, float *dW, float *db,
                        int rows, int in, int out, comp_act act, float a, float b);

/* Softmax over the middle axis of x viewed as (outer, n, inner), as
 * torch.softmax(x, dim) with that dim.  log_softmax likewise. */
void rt_softmax_forward(const float *x, float *y, size_t outer, size_t n, size_t inner);
void rt_log_softmax_forward(const float *x, float *y, size_t outer, size_t n, size_t inner);

/* Backward of softmax (dx = y * (dy - sum(dy * y))) and of log_softmax
 * (dx = dy - exp(y) * sum(dy)) along the same axis; y is the forward
 * output.  dx may equal dy. */
void rt_softmax_backward(const float *y, const float *dy, float *dx, size_t outer, size_t n, size_t inner);
void rt_log_softmax_backward(const float *y, const float *dy, float *dx, size_t outer, size_t n, size_t inner);

/* Fused softmax + cross-entropy over logits (rows x classes) with integer
 * class targets stored as floats.  Returns the loss, the mean over rows
 * (sum_reduction = 0) or the sum (1), as torch.nn.CrossEntropyLoss; a
 * target outside [0, classes) is a caller bug.  When dlogits is not NULL it
 * also writes d loss / d logits = (softmax - onehot) / rows (or without
 * the division for sum) in the same pass. */
float rt_xent(const float *logits, const float *target, float *dlogits, int rows, int classes,
              int sum_reduction);

/* MSE over n floats: mean (or sum) of (y - t)^2 as torch.nn.MSELoss; when
 * dy is not NULL writes 2 (y - t) / n (or 2 (y - t)). */
float rt_mse(const float *y, const float *t, float *dy, size_t n, int sum_reduction);

/* Dropout while training: mask[i] = 0 with probability p, else 1/(1-p);
 * y = x * mask.  The mask is drawn from *rng_state (see rt_rng_*), so the
 * same state gives the same mask.  Backward: dx = dy * mask. */
void rt_dropout_forward(const float *x, float *y, float *mask, size_t n, float p, uint64_t *rng_state);
void rt_dropout_backward(const float *dy, const float *mask, float *dx, size_t n);

/* torch.optim.SGD step over n parameters, exactly as torch 1.13's
 * single-tensor implementation orders the arithmetic.  buf is the momentum
 * buffer (n floats, ignored when momentum == 0); step is the 1-based step
 * number (the first step initialises buf from the gradient, as torch). */
void rt_sgd_step(float *param, const float *grad, float *buf, size_t n, long step, double lr,
                 double momentum, double dampening, double weight_decay, int nesterov, int maximize);

/* torch.norm(x, p) of n floats, as the float32 value torch returns; p is
 * > 0, and infinite for the max norm (NaN propagates). */
float rt_norm(const float *x, size_t n, double p);

/* The scaling of clip_grad_norm_: coef = max_norm / (total_norm + 1e-6)
 * in float32, clamped to at most 1, and every g[i] *= coef. */
void rt_clip_scale(float *g, size_t n, float total_norm, double max_norm);

/* clip_grad_value_: every g[i] clamped to [-clip_value, clip_value]. */
void rt_clip_value(float *g, size_t n, double clip_value);

/* torch.optim.Adam step over n parameters: m, v (and vmax when amsgrad)
 * are the state (n floats each, zero before the first step); step is the
 * 1-based step count after this step. */
void rt_adam_step(float *param, const float *grad, float *m, float *v, float *vmax, size_t n,
                  long step, double lr, double beta1, double beta2, double eps, double weight_decay,
                  int amsgrad, int maximize);

/* The deterministic generator shared by init, shuffling and dropout:
 * splitmix64 over a 64-bit state.  rt_rng_seed derives independent states
 * from one seed and a stream number; rt_rng_next returns 64 random bits; rt_rng_uniform a double in [0, 1); rt_rng_normal a standard
 * normal (Box-Muller in double). */
uint64_t rt_rng_seed(uint64_t seed, uint64_t stream);
uint64_t rt_rng_next(uint64_t *state);
double rt_rng_uniform(uint64_t *state);
double rt_rng_normal(uint64_t *state);

#endif
