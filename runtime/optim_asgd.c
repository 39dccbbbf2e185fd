/* optim_asgd.c — torch.optim.ASGD steps (torch 1.13, single-tensor path),
 * rounding as torch's float32 CPU kernels do (torch_ops.h). */
#include <math.h>

#include "kernels.h"
#include "torch_ops.h"

/* _single_tensor_asgd.  eta and mu are torch's one-element float32 state
 * tensors (torch.tensor(python float)), read back as doubles by .item():
 * param *= 1 - lambd * eta; param -= eta * g; ax = param while mu == 1,
 * else ax += (param - ax) * mu; then eta = lr / (1 + lambd lr t)^alpha and
 * mu = 1 / max(1, t - t0), computed in double and stored as float.  On
 * step 1 eta starts at lr and mu at 1. */
void rt_asgd_step(float *param, const float *grad, float *ax, float *eta, float *mu, size_t n, long step,
                  double lr, double lambd, double alpha, double t0, double weight_decay, int maximize)
{
    if (step <= 1) {
        *eta = (float)lr;
        *mu = 1.0f;
    }
    const double eta_d = (double)*eta;
    const float decay = (float)(1.0 - lambd * eta_d), neg_eta = (float)-eta_d;
    const float m = *mu, wd = (float)weight_decay;
    const int use_wd = weight_decay != 0.0, average = (double)m != 1.0;
    for (size_t i = 0; i < n; i++) {
        const float g = t_step_grad(grad[i], param[i], maximize, use_wd, wd);
        const float p = t_add(param[i] * decay, g, neg_eta);
        param[i] = p;
        ax[i] = average ? ax[i] + (p - ax[i]) * m : p;
    }
    const double t = (double)step;
    *eta = (float)(lr / pow(1.0 + lambd * lr * t, alpha));
    *mu = (float)(1.0 / fmax(1.0, t - t0));
}
