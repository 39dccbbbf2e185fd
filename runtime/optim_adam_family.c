/* optim_adam_family.c — torch.optim.Adamax, NAdam and RAdam steps (torch
 * 1.13, single-tensor path), rounding as torch's float32 CPU kernels do
 * (torch_ops.h).  Python-level scalars (bias corrections, step sizes) are
 * doubles, rounded to float where a tensor op receives them. */
#include <math.h>

#include "kernels.h"
#include "torch_ops.h"

/* _single_tensor_adamax: exp_inf = amax(exp_inf * beta2, |g| + eps);
 * param.addcdiv_(exp_avg, exp_inf, value=-lr / (1 - beta1^t)). */
void rt_adamax_step(float *param, const float *grad, float *exp_avg, float *exp_inf, size_t n, long step,
                    double lr, double beta1, double beta2, double eps, double weight_decay, int maximize)
{
    const double clr = lr / (1.0 - pow(beta1, (double)step));
    const float b1 = (float)beta1, c1 = (float)(1.0 - beta1), b2 = (float)beta2;
    const float wd = (float)weight_decay, e = (float)eps, neg_clr = (float)-clr;
    const int use_wd = weight_decay != 0.0;
    for (size_t i = 0; i < n; i++) {
        const float g = t_step_grad(grad[i], param[i], maximize, use_wd, wd);
        const float m = t_ema(exp_avg[i], g, b1, c1);
        const float u = t_maximum(exp_inf[i] * b2, fabsf(g) + e);
        exp_avg[i] = m;
        exp_inf[i] = u;
        param[i] = t_addcdiv(param[i], m, u, neg_clr);
    }
}

/* _single_tensor_nadam.  mu_product is torch's one-element float32 state
 * tensor: each product with a Python double rounds to float, and the step
 * sizes read it back as a double (.item()). */
void rt_nadam_step(float *param, const float *grad, float *exp_avg, float *exp_avg_sq, float *mu_product,
                   size_t n, long step, double lr, double beta1, double beta2, double eps, double weight_decay,
                   double momentum_decay)
{
    const double t = (double)step;
    const double bias_correction2 = 1.0 - pow(beta2, t);
    const double mu = beta1 * (1.0 - 0.5 * pow(0.96, t * momentum_decay));
    const double mu_next = beta1 * (1.0 - 0.5 * pow(0.96, (t + 1.0) * momentum_decay));
    if (step <= 1)
        *mu_product = 1.0f;
    const float prod = *mu_product * (float)mu;
    const float prod_next = prod * (float)mu * (float)mu_next;
    *mu_product = prod;
    const float c_grad = (float)(-lr * (1.0 - mu) / (1.0 - (double)prod));
    const float c_avg = (float)(-lr * mu_next / (1.0 - (double)prod_next));

    const float b1 = (float)beta1, c1 = (float)(1.0 - beta1);
    const float b2 = (float)beta2, c2 = (float)(1.0 - beta2);
    const float wd = (float)weight_decay, e = (float)eps, bc2 = (float)bias_correction2;
    const int use_wd = weight_decay != 0.0;
    for (size_t i = 0; i < n; i++) {
        const float g = t_step_grad(grad[i], param[i], 0, use_wd, wd);
        const float m = t_ema(exp_avg[i], g, b1, c1);
        const float v = t_ema_sq(exp_avg_sq[i], g, b2, c2);
        exp_avg[i] = m;
        exp_avg_sq[i] = v;
        const float denom = sqrtf(v / bc2) + e;
        const float p = t_addcdiv(param[i], g, denom, c_grad);
        param[i] = t_addcdiv(p, m, denom, c_avg);
    }
}

/* _single_tensor_radam.  The rectification decision and term are Python
 * doubles; math.sqrt(bc2) / tensor is torch's __rtruediv__, i.e.
 * tensor.reciprocal() * scalar; the update is
 * ((exp_avg / bc1) * lr * adaptive_lr) * rect, subtracted from param. */
void rt_radam_step(float *param, const float *grad, float *exp_avg, float *exp_avg_sq, size_t n, long step,
                   double lr, double beta1, double beta2, double eps, double weight_decay)
{
    const double t = (double)step;
    const double bias_correction1 = 1.0 - pow(beta1, t);
    const double bias_correction2 = 1.0 - pow(beta2, t);
    const double rho_inf = 2.0 / (1.0 - beta2) - 1.0;
    const double rho_t = rho_inf - 2.0 * t * pow(beta2, t) / bias_correction2;
    const int rectify = rho_t > 5.0;
    const double rect =
        rectify ? sqrt((rho_t - 4.0) * (rho_t - 2.0) * rho_inf / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t)) : 0.0;

    const float b1 = (float)beta1, c1 = (float)(1.0 - beta1);
    const float b2 = (float)beta2, c2 = (float)(1.0 - beta2);
    const float wd = (float)weight_decay, e = (float)eps, flr = (float)lr;
    const float bc1 = (float)bias_correction1, bc2s = (float)sqrt(bias_correction2), frect = (float)rect;
    const int use_wd = weight_decay != 0.0;
    for (size_t i = 0; i < n; i++) {
        const float g = t_step_grad(grad[i], param[i], 0, use_wd, wd);
        const float m = t_ema(exp_avg[i], g, b1, c1);
        const float v = t_ema_sq(exp_avg_sq[i], g, b2, c2);
        exp_avg[i] = m;
        exp_avg_sq[i] = v;
        const float corrected = m / bc1;
        float update;
        if (rectify) {
            const float adaptive_lr = 1.0f / (sqrtf(v) + e) * bc2s;
            update = corrected * flr * adaptive_lr * frect;
        } else {
            update = corrected * flr;
        }
        param[i] = t_add(param[i], update, -1.0f);
    }
}
