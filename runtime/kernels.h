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
#include "spatial.h"

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

/* y[0..n) = x[0..n) (an identity op's data movement, e.g. dropout in
 * eval mode). */
void rt_copy(const float *x, float *y, size_t n);

/* The dot product of n floats: OpenBLAS's sdot (torch.dot's), or a plain
 * loop in code built without a BLAS (NETC_PORTABLE_GEMM). */
float rt_sdot(const float *a, const float *b, size_t n);

/* NETC_NOINLINE keeps a function out of its callers.  Emitted C defines
 * it itself (compiler/emit.c), for the compiler that builds it; when the
 * kernels are turned into text for the emitter (NETC_EMITTED) it must stay
 * a name, so it is defined here for the runtime's own build only. */
#ifndef NETC_EMITTED
#if defined(__GNUC__)
#define NETC_NOINLINE __attribute__((noinline))
#else
#define NETC_NOINLINE
#endif
#endif

/* NETC_SMALL_CORE is 1 on a core without a vector unit, whose kernels
 * take loops written for its registers (runtime/gemm.c); they compute the
 * same sums in the same order, so the results are the same bits either
 * way.  Emitted C decides it from the target it is built for
 * (compiler/emit.c); the runtime runs on hosts with vector units. */
#if !defined(NETC_EMITTED) && !defined(NETC_SMALL_CORE)
#define NETC_SMALL_CORE 0
#endif

/* Portable matrix products (runtime/gemm.c), row-major, overwriting C,
 * with cblas_sgemm's arguments (alpha 1, beta 0): lda, ldb and ldc are
 * the row strides of A, B and C, so a block of columns of a larger
 * matrix can be an operand.
 *   rt_gemm_nt: C (m x n) = A (m x k) B^T, B being n x k;
 *   rt_gemm_tn: C (m x n) = A^T B, A being k x m and B k x n;
 *   rt_gemm_nn: C (m x n) = A (m x k) B, B being k x n.
 * No operand may overlap C.  Used instead of cblas_sgemm where no BLAS is
 * available (emitted C); deterministic, summation order fixed by the
 * code. */
void rt_gemm_nt(int m, int n, int k, const float *A, int lda, const float *B, int ldb, float *C, int ldc);
void rt_gemm_tn(int m, int n, int k, const float *A, int lda, const float *B, int ldb, float *C, int ldc);
void rt_gemm_nn(int m, int n, int k, const float *A, int lda, const float *B, int ldb, float *C, int ldc);

/* Softmax over the middle axis of x viewed as (outer, n, inner), as
 * torch.softmax(x, dim) with that dim.  log_softmax likewise. */
void rt_softmax_forward(const float *x, float *y, size_t outer, size_t n, size_t inner);
void rt_log_softmax_forward(const float *x, float *y, size_t outer, size_t n, size_t inner);

/* Backward of softmax (dx = y * (dy - sum(dy * y))) and of log_softmax
 * (dx = dy - exp(y) * sum(dy)) along the same axis; y is the forward
 * output.  dx may equal dy. */
void rt_softmax_backward(const float *y, const float *dy, float *dx, size_t outer, size_t n, size_t inner);
void rt_log_softmax_backward(const float *y, const float *dy, float *dx, size_t outer, size_t n, size_t inner);

/* torch.nn.Softmin along the same axis: y = softmax(-x), and its backward
 * dx = -(y (dy - sum(dy y))); y is the forward output, dx may equal dy. */
void rt_softmin_forward(const float *x, float *y, size_t outer, size_t n, size_t inner);
void rt_softmin_backward(const float *y, const float *dy, float *dx, size_t outer, size_t n, size_t inner);

/* torch.nn.PReLU over x viewed as (rows, nw, inner): y = x if x > 0 else
 * w[c] x, c the middle index (nw = 1: one shared slope).  The backward
 * writes dx = dy if x > 0 else w[c] dy (skipped when dx is NULL) and
 * overwrites dw[c] with the sum of x dy over the elements of channel c
 * with x <= 0, accumulated in float in element order. */
void rt_prelu_forward(const float *x, const float *w, float *y, size_t rows, size_t nw, size_t inner);
void rt_prelu_backward(const float *x, const float *w, const float *dy, float *dx, float *dw, size_t rows,
                       size_t nw, size_t inner);

/* torch.nn.RReLU over n floats.  Training: every element draws
 * u = rt_rng_uniform(rng) (so an element's slope does not depend on the
 * others' signs); where x <= 0 its slope is r = (float)(lower + u (upper -
 * lower)) as torch's uniform_real_distribution computes it in double, and
 * y = x r, noise = r; elsewhere y = x, noise = 1.  Eval: the slope is
 * (float)((lower + upper) / 2), y = x if x > 0 else slope x, and noise
 * holds the derivative (1 or slope) too.  Backward: dx = dy * noise. */
void rt_rrelu_forward(const float *x, float *y, float *noise, size_t n, double lower, double upper,
                      int training, uint64_t *rng);
void rt_rrelu_backward(const float *dy, const float *noise, float *dx, size_t n);

/* torch.nn.GLU over the middle axis of x viewed as (outer, n, inner), n
 * even: with a the first n/2 entries and b the rest, y = a sigmoid(b), of
 * shape (outer, n/2, inner).  Backward, in torch's order of operations:
 * da = s dy and db = (1 - s) s a dy with s = sigmoid(b). */
void rt_glu_forward(const float *x, float *y, size_t outer, size_t n, size_t inner);
void rt_glu_backward(const float *x, const float *dy, float *dx, size_t outer, size_t n, size_t inner);

/* torch.nn.AlphaDropout while training, over n floats: each element is
 * kept with probability 1 - p (drawn from *rng as dropout does), then
 * rt_alpha_dropout_apply.  p = 0 is the identity (mask 1, no draws), p = 1
 * gives x * 0 (mask 0).  The backward is rt_dropout_backward: dx = dy *
 * mask. */
void rt_alpha_dropout_forward(const float *x, float *y, float *mask, size_t n, double p, uint64_t *rng);

/* The affine part of AlphaDropout for 0 < p < 1, as torch computes it:
 * with alpha = 1.7580993408473766 (SELU's -scale*alpha) and
 * a = 1/sqrt((alpha^2 p + 1)(1 - p)) in double, mask enters as 1 (keep) or
 * 0 (drop) and leaves as (float)a or 0, and y = x * mask + c with
 * c = (mask - 1) (float)(alpha a) + (float)(alpha a p) in float. */
void rt_alpha_dropout_apply(const float *x, float *y, float *mask, size_t n, double p);

/* How a loss reduces its per-element (or per-row) values to one number,
 * as torch's reduction argument. */
typedef enum {
    RT_REDUCE_MEAN,      /* divided by the element count (by the non-ignored rows for class losses) */
    RT_REDUCE_SUM,       /* summed */
    RT_REDUCE_BATCHMEAN  /* summed and divided by the number of rows (KLDiv) */
} rt_reduction;

/* Fused softmax + cross-entropy over logits (rows x classes) with integer
 * class targets stored as floats, as torch.nn.CrossEntropyLoss(
 * ignore_index, reduction, label_smoothing).  Rows whose target equals
 * ignore_index count nowhere: mean divides by the other rows (NaN when all
 * are ignored, as torch); any other target outside [0, classes) is a
 * caller bug.  With label_smoothing ls the loss is (1 - ls) times the
 * cross-entropy plus ls/classes times the sum of -log softmax over all
 * classes, each reduced the same way (torch's formula).  Returns the loss;
 * when dlogits is not NULL also writes d loss / d logits in the same pass
 * (zero on ignored rows). */
float rt_xent(const float *logits, const float *target, float *dlogits, int rows, int classes,
              int sum_reduction, int ignore_index, double label_smoothing);

/* rt_xent with class probabilities as targets (rows x classes, each row
 * summing to 1: MixUp's and CutMix's mixed labels), as torch 1.13's
 * cross_entropy with a floating target: with label_smoothing ls the
 * target becomes t (1 - ls) + ls / classes, the loss is -sum t log
 * softmax(x) summed over the batch and, for the mean, divided by rows;
 * ignore_index does not apply (torch ignores it for such targets).
 * dlogits, when not NULL, gets (softmax(x) sum(t) - t) w, w = 1 or
 * 1/rows, by log_softmax's backward as rt_xent rounds it. */
float rt_xent_probs(const float *logits, const float *target, float *dlogits, int rows, int classes,
                    int sum_reduction, double label_smoothing);

/* torch.nn.NLLLoss(ignore_index, reduction) over log-probabilities
 * (rows x classes): -x[target] per non-ignored row, summed or averaged over
 * those rows (NaN when all are ignored).  dx, when not NULL, gets -1 (or
 * -1/rows used) at each target and 0 elsewhere. */
float rt_nll(const float *logprobs, const float *target, float *dx, int rows, int classes, int sum_reduction,
             int ignore_index);

/* MSE over n floats: mean (or sum) of (y - t)^2 as torch.nn.MSELoss; when
 * dy is not NULL writes 2 (y - t) / n (or 2 (y - t)). */
float rt_mse(const float *y, const float *t, float *dy, size_t n, int sum_reduction);

/* The element-wise losses of torch.nn over n = rows * (outputs per row)
 * floats of input y and target t.  Each returns the reduced loss and,
 * when dy is not NULL, writes d loss / d y (n floats) in the same pass.
 * RT_REDUCE_BATCHMEAN divides by rows; the others ignore rows.
 *   rt_l1         |y - t|; gradient sign(y - t), 0 at y = t
 *   rt_smooth_l1  0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta
 *                 (beta >= 0); beta = 0 is rt_l1 but for the gradient at
 *                 d = 0, -1 (times the mean's 1/n) as in torch 1.13
 *   rt_huber      0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta)
 *                 (delta > 0)
 *   rt_bce        -(t log y + (1 - t) log(1 - y)), each log clamped at
 *                 -100, for y in [0, 1]; the gradient's denominator
 *                 y (1 - y) is clamped at 1e-12, as torch
 *   rt_bce_logits the same on sigmoid(y), in torch's stable form, with the
 *                 positive term weighted by pos_weight (1: unweighted)
 *   rt_kl_div     t (log t - y), 0 where t = 0 (y: log-probabilities);
 *                 with log_target, exp(t) (t - y) */
float rt_l1(const float *y, const float *t, float *dy, size_t n, size_t rows, rt_reduction red);
float rt_smooth_l1(const float *y, const float *t, float *dy, size_t n, size_t rows, rt_reduction red,
                   float beta);
float rt_huber(const float *y, const float *t, float *dy, size_t n, size_t rows, rt_reduction red, float delta);
float rt_bce(const float *y, const float *t, float *dy, size_t n, size_t rows, rt_reduction red);
float rt_bce_logits(const float *y, const float *t, float *dy, size_t n, size_t rows, rt_reduction red,
                    float pos_weight);
float rt_kl_div(const float *y, const float *t, float *dy, size_t n, size_t rows, rt_reduction red,
                int log_target);

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

/* clip_grad_norm_ over a gradient arena g holding count tensors of
 * sizes[k] floats end to end: each tensor's norm (a float32, as torch.norm
 * returns it) into norms[k] (count floats of scratch), the total norm of
 * those, then rt_clip_scale over the whole arena. */
void rt_clip_grad_norm(float *g, const int32_t *sizes, int count, float *norms, double norm_type, double max_norm);

/* torch.optim.Adam step over n parameters: m, v (and vmax when amsgrad)
 * are the state (n floats each, zero before the first step); step is the
 * 1-based step count after this step. */
void rt_adam_step(float *param, const float *grad, float *m, float *v, float *vmax, size_t n,
                  long step, double lr, double beta1, double beta2, double eps, double weight_decay,
                  int amsgrad, int maximize);

/* torch.optim.AdamW step: as rt_adam_step, but the weight decay is
 * decoupled (the parameter is first scaled by 1 - lr * weight_decay). */
void rt_adamw_step(float *param, const float *grad, float *m, float *v, float *vmax, size_t n,
                   long step, double lr, double beta1, double beta2, double eps, double weight_decay,
                   int amsgrad, int maximize);

/* The other torch.optim steps over n parameters, each exactly as torch
 * 1.13's single-tensor implementation orders the arithmetic.  The state
 * arrays are named after torch's state keys and hold n floats each, except
 * the one-float scalars NAdam's mu_product and ASGD's eta and mu.  step is
 * the 1-based step count after this step; on step 1 each kernel sets the
 * state torch does not start at zero (Adagrad's sum, Rprop's step_size and
 * prev, ASGD's eta and mu, NAdam's mu_product), the rest must be zero. */
void rt_adamax_step(float *param, const float *grad, float *exp_avg, float *exp_inf, size_t n, long step,
                    double lr, double beta1, double beta2, double eps, double weight_decay, int maximize);
void rt_nadam_step(float *param, const float *grad, float *exp_avg, float *exp_avg_sq, float *mu_product,
                   size_t n, long step, double lr, double beta1, double beta2, double eps, double weight_decay,
                   double momentum_decay);
void rt_radam_step(float *param, const float *grad, float *exp_avg, float *exp_avg_sq, size_t n, long step,
                   double lr, double beta1, double beta2, double eps, double weight_decay);
void rt_adagrad_step(float *param, const float *grad, float *sum, size_t n, long step, double lr,
                     double lr_decay, double weight_decay, double initial_accumulator_value, double eps,
                     int maximize);
void rt_adadelta_step(float *param, const float *grad, float *square_avg, float *acc_delta, size_t n,
                      double lr, double rho, double eps, double weight_decay, int maximize);
/* momentum_buffer is used only when momentum > 0, grad_avg only when
 * centered (either may be NULL otherwise). */
void rt_rmsprop_step(float *param, const float *grad, float *square_avg, float *momentum_buffer,
                     float *grad_avg, size_t n, double lr, double alpha, double eps, double weight_decay,
                     double momentum, int centered, int maximize);
/* ax is the running average of the parameters torch keeps (= param until
 * step t0 + 1 starts the averaging). */
void rt_asgd_step(float *param, const float *grad, float *ax, float *eta, float *mu, size_t n, long step,
                  double lr, double lambd, double alpha, double t0, double weight_decay, int maximize);
void rt_rprop_step(float *param, const float *grad, float *prev, float *step_size, size_t n, long step,
                   double lr, double etaminus, double etaplus, double step_size_min, double step_size_max,
                   int maximize);

/* y (count x dim) = rows idx[0..count) of W (rows x dim), as
 * torch.nn.functional.embedding.  Every idx[i] must be an integer in
 * [0, rows). */
void rt_embedding_forward(const float *idx, const float *W, float *y, size_t count, int dim);

/* The weight gradient: row r of dW is the sum of the rows of dy (count x
 * dim) whose index is r, added in index order.  sparse = 0 writes all rows
 * (zero where no index points: a dense gradient, as torch's sparse=False);
 * sparse = 1 writes only the rows the indices touch, the rest keep stale
 * values (for SparseAdam, which reads only those rows).  An index equal to
 * padding (torch's padding_idx; -1 for none) contributes nothing: that
 * row's dense gradient is zero and the sparse form does not touch it. */
void rt_embedding_backward(const float *dy, const float *idx, float *dW, size_t count, int dim, int rows, long padding,
                           int sparse);

/* torch.optim.SparseAdam step over the rows of an Embedding weight (rows
 * x dim, param/grad/m/v) that idx[0..count) touch: each touched row once,
 * with the gradient row as the embedding backward summed it (torch's
 * coalesce).  The padding row (-1: none) is never touched: torch's sparse
 * gradient has no entry for it.  touched holds one float per row, zero
 * before and after the call.  step is the 1-based step count after this
 * step. */
void rt_sparse_adam_step(float *param, const float *grad, float *m, float *v, const float *idx, float *touched,
                         size_t count, int dim, long padding, long step, double lr, double beta1, double beta2,
                         double eps, int maximize);

/* The deterministic generator shared by init, shuffling and dropout:
 * splitmix64 over a 64-bit state.  rt_rng_seed derives independent states
 * from one seed and a stream number; rt_rng_next returns 64 random bits; rt_rng_uniform a double in [0, 1); rt_rng_normal a standard
 * normal (Box-Muller in double). */
/* The Weyl increment by which rt_rng_next moves the state: k draws from a
 * state s leave it at s + k * RT_RNG_WEYL (mod 2^64). */
#define RT_RNG_WEYL 0x9E3779B97F4A7C15ULL
uint64_t rt_rng_seed(uint64_t seed, uint64_t stream);

/* The streams of a run's seed: parameter init uses streams 1..nparams,
 * shuffling, dropout and the validation split these. */
#define RT_STREAM_SHUFFLE (1ULL << 32)
#define RT_STREAM_DROPOUT (2ULL << 32)
#define RT_STREAM_SPLIT (3ULL << 32)    /* the shuffle before a validation split */
#define RT_STREAM_AUGMENT (4ULL << 32)  /* + epoch: the random transforms' keys */
uint64_t rt_rng_next(uint64_t *state);
double rt_rng_uniform(uint64_t *state);
double rt_rng_normal(uint64_t *state);

#endif
