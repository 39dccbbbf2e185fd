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
        float d = maximize ? -grad[i] : grad[i];
        if (use_wd)
            d = t_add(d, param[i], wd);
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
/* One pass of the update; amsgrad is a constant at each call so that both
 * instantiations are branch-free and vectorise (a conditional store to
 * vmax, which is NULL without amsgrad, would keep the loop scalar). */
static inline void adam_pass(float *param, const float *grad, float *m, float *v, float *vmax, size_t n,
                             float b1, float c1, float b2, float c2, float wd, float e, float decay,
                             float bc2s, float neg_step, int decoupled, int use_wd, int amsgrad,
                             int maximize)
{
    for (size_t i = 0; i < n; i++) {
        float g = maximize ? -grad[i] : grad[i];
        float p = param[i];
        if (decoupled)
            p *= decay;
        if (use_wd)
            g = t_add(g, p, wd);
        const float mi = t_add(m[i] * b1, g, c1);
        const float vi = t_addcmul(v[i] * b2, g, g, c2);
        m[i] = mi;
        v[i] = vi;
        float vv = vi;
        if (amsgrad)
            vmax[i] = vv = t_maximum(vmax[i], vi);
        const float denom = sqrtf(vv) / bc2s + e;
        param[i] = t_addcdiv(p, mi, denom, neg_step);
    }
}

static void adam_core(float *param, const float *grad, float *m, float *v, float *vmax, size_t n, long step,
                      double lr, double beta1, double beta2, double eps, double weight_decay, int decoupled,
                      int amsgrad, int maximize)
{
    const double bias_correction1 = 1.0 - pow(beta1, (double)step);
    const double bias_correction2 = 1.0 - pow(beta2, (double)step);
    const double step_size = lr / bias_correction1;
    const double bias_correction2_sqrt = sqrt(bias_correction2);

    const float b1 = (float)beta1, c1 = (float)(1.0 - beta1);
    const float b2 = (float)beta2, c2 = (float)(1.0 - beta2);
    const float wd = (float)weight_decay, e = (float)eps;
    const float decay = (float)(1.0 - lr * weight_decay);
    const float bc2s = (float)bias_correction2_sqrt, neg_step = (float)-step_size;
    const int use_wd = !decoupled && weight_decay != 0.0;
    if (amsgrad)
        adam_pass(param, grad, m, v, vmax, n, b1, c1, b2, c2, wd, e, decay, bc2s, neg_step, decoupled, use_wd,
                  1, maximize);
    else
        adam_pass(param, grad, m, v, NULL, n, b1, c1, b2, c2, wd, e, decay, bc2s, neg_step, decoupled, use_wd,
                  0, maximize);
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
