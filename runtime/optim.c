/* optim.c — torch.optim.SGD, Adam and AdamW steps (torch 1.13,
 * single-tensor path), rounding as torch's float32 CPU kernels do (see
 * torch_ops.h). */
#include <math.h>

#include "kernels.h"
#include "torch_ops.h"

/* _single_tensor_sgd: d_p = grad (negated to maximize), + wd * param;
 * buf = d_p on the first step, else buf * momentum + (1 - dampening) * d_p;
 * d_p = nesterov ? d_p + momentum * buf : buf; param += -lr * d_p. */
void rt_sgd_step(float *param, const float *grad, float *buf, size_t n, long step, double lr,
                 double momentum, double dampening, double weight_decay, int nesterov, int maximize)
{
    const float neg_lr = (float)-lr;
    const float mom = (float)momentum;
    const float damp = (float)(1.0 - dampening);
    const float wd = (float)weight_decay;
    const int use_wd = weight_decay != 0.0, use_mom = momentum != 0.0, first = step <= 1;
    for (size_t i = 0; i < n; i++) {
        float d = t_step_grad(grad[i], param[i], maximize, use_wd, wd);
        if (use_mom) {
            const float bb = first ? d : t_add(buf[i] * mom, d, damp);
            buf[i] = bb;
            d = nesterov ? t_add(d, bb, mom) : bb;
        }
        param[i] = t_add(param[i], d, neg_lr);
    }
}

/* _single_tensor_adam and _single_tensor_adamw: the bias corrections and
 * the step size are Python doubles; the moment updates, denominator and
 * parameter update are float tensor ops with those doubles rounded to
 * float where they enter.  Adam adds weight_decay * param to the gradient;
 * AdamW (decoupled) first scales the parameter by 1 - lr * weight_decay. */
/* One element of the update, VV being the denominator's second moment:
 * vi, or with amsgrad the running maximum, stored as it is formed.  The
 * flags only select values, so the loops below if-convert. */
#define ADAM_ELEMENT(VV)                                                  \
    {                                                                     \
        float p = param[i];                                               \
        if (decoupled)                                                    \
            p *= decay;                                                   \
        const float g = t_step_grad(grad[i], p, maximize, use_wd, wd);    \
        const float mi = t_ema(m[i], g, b1, c1);                          \
        const float vi = t_ema_sq(v[i], g, b2, c2);                       \
        m[i] = mi;                                                        \
        v[i] = vi;                                                        \
        const float vv = (VV);                                            \
        param[i] = t_addcdiv(p, mi, sqrtf(vv) / bc2s + e, neg_step);      \
    }

/* One pass of the update, vmax NULL without amsgrad.  Two loops, not one
 * with `if (amsgrad) vmax[i] = ...`: that conditional store kept the loop
 * scalar wherever the target has no masked stores (AVX2). */
static void adam_pass(float *param, const float *grad, float *m, float *v, float *vmax, size_t n, float b1,
                      float c1, float b2, float c2, float wd, float e, float decay, float bc2s, float neg_step,
                      int decoupled, int use_wd, int maximize)
{
    if (vmax)
        for (size_t i = 0; i < n; i++)
            ADAM_ELEMENT(vmax[i] = t_maximum(vmax[i], vi))
    else
        for (size_t i = 0; i < n; i++)
            ADAM_ELEMENT(vi)
}

typedef struct {
    float *param, *m, *v, *vmax;
    const float *grad;
    size_t n;
    float b1, c1, b2, c2, wd, e, decay, bc2s, neg_step;
    int decoupled, use_wd, amsgrad, maximize;
} adam_job;

/* Elements [lo, hi) of the job. */
static void adam_range(const adam_job *j, size_t lo, size_t hi)
{
    adam_pass(j->param + lo, j->grad + lo, j->m + lo, j->v + lo, j->amsgrad ? j->vmax + lo : NULL, hi - lo, j->b1,
              j->c1, j->b2, j->c2, j->wd, j->e, j->decay, j->bc2s, j->neg_step, j->decoupled, j->use_wd,
              j->maximize);
}

#ifndef NETC_EMITTED
#include "pool.h"
/* The runtime shares the arena among its threads in chunks of ADAM_CHUNK
 * floats: each element's update is independent, so the bits do not depend
 * on which thread runs a chunk. */
#define ADAM_CHUNK 16384
static void adam_chunk(void *ctx, size_t lo, size_t hi)
{
    adam_range(ctx, lo, hi);
}
#endif

static void adam_core(float *param, const float *grad, float *m, float *v, float *vmax, size_t n, long step,
                      double lr, double beta1, double beta2, double eps, double weight_decay, int decoupled,
                      int amsgrad, int maximize)
{
    const double bias_correction1 = 1.0 - pow(beta1, (double)step);
    const double bias_correction2 = 1.0 - pow(beta2, (double)step);
    const double step_size = lr / bias_correction1;
    const double bias_correction2_sqrt = sqrt(bias_correction2);

    const adam_job j = {param, m, v, vmax, grad, n,
                        (float)beta1, (float)(1.0 - beta1), (float)beta2, (float)(1.0 - beta2),
                        (float)weight_decay, (float)eps, (float)(1.0 - lr * weight_decay),
                        (float)bias_correction2_sqrt, (float)-step_size,
                        decoupled, !decoupled && weight_decay != 0.0, amsgrad, maximize};
#ifndef NETC_EMITTED
    rt_pool_chunks(adam_chunk, (void *)&j, n, ADAM_CHUNK);
#else
    adam_range(&j, 0, n);
#endif
}

void rt_adam_step(float *param, const float *grad, float *m, float *v, float *vmax, size_t n,
                  long step, double lr, double beta1, double beta2, double eps, double weight_decay,
                  int amsgrad, int maximize)
{
    adam_core(param, grad, m, v, vmax, n, step, lr, beta1, beta2, eps, weight_decay, 0, amsgrad, maximize);
}

void rt_adamw_step(float *param, const float *grad, float *m, float *v, float *vmax, size_t n,
                   long step, double lr, double beta1, double beta2, double eps, double weight_decay,
                   int amsgrad, int maximize)
{
    adam_core(param, grad, m, v, vmax, n, step, lr, beta1, beta2, eps, weight_decay, 1, amsgrad, maximize);
}
