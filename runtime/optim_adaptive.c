/* optim_adaptive.c — torch.optim.Adagrad, Adadelta and RMSprop steps
 * (torch 1.13, single-tensor path), rounding as torch's float32 CPU
 * kernels do (torch_ops.h). */
#include <math.h>

#include "kernels.h"
#include "torch_ops.h"

/* _single_tensor_adagrad: clr = lr / (1 + (t - 1) * lr_decay) as a Python
 * double; sum.addcmul_(g, g, value=1); param.addcdiv_(g, sqrt(sum) + eps,
 * value=-clr).  On step 1 sum starts at initial_accumulator_value. */
void rt_adagrad_step(float *param, const float *grad, float *sum, size_t n, long step, double lr,
                     double lr_decay, double weight_decay, double initial_accumulator_value, double eps,
                     int maximize)
{
    const double clr = lr / (1.0 + ((double)step - 1.0) * lr_decay);
    const float neg_clr = (float)-clr, wd = (float)weight_decay, e = (float)eps;
    const float init = (float)initial_accumulator_value;
    const int use_wd = weight_decay != 0.0, first = step <= 1;
    for (size_t i = 0; i < n; i++) {
        const float g = t_step_grad(grad[i], param[i], maximize, use_wd, wd);
        const float s = t_addcmul(first ? init : sum[i], g, g, 1.0f);
        sum[i] = s;
        param[i] = t_addcdiv(param[i], g, sqrtf(s) + e, neg_clr);
    }
}

/* _single_tensor_adadelta: square_avg = rho * square_avg + (1 - rho) g²;
 * delta = sqrt(acc_delta + eps) / sqrt(square_avg + eps) * g;
 * acc_delta = rho * acc_delta + (1 - rho) delta²; param -= lr * delta. */
void rt_adadelta_step(float *param, const float *grad, float *square_avg, float *acc_delta, size_t n,
                      double lr, double rho, double eps, double weight_decay, int maximize)
{
    const float r = (float)rho, c = (float)(1.0 - rho), e = (float)eps;
    const float wd = (float)weight_decay, neg_lr = (float)-lr;
    const int use_wd = weight_decay != 0.0;
    for (size_t i = 0; i < n; i++) {
        const float g = t_step_grad(grad[i], param[i], maximize, use_wd, wd);
        const float sq = t_ema_sq(square_avg[i], g, r, c);
        square_avg[i] = sq;
        const float std = sqrtf(sq + e);
        const float delta = sqrtf(acc_delta[i] + e) / std * g;
        acc_delta[i] = t_ema_sq(acc_delta[i], delta, r, c);
        param[i] = t_add(param[i], delta, neg_lr);
    }
}

/* _single_tensor_rmsprop: square_avg = alpha * square_avg + (1 - alpha) g²;
 * centered: grad_avg = alpha * grad_avg + (1 - alpha) g and
 * avg = sqrt(square_avg - grad_avg²), else avg = sqrt(square_avg); then
 * avg += eps; with momentum, buf = momentum * buf + g / avg and
 * param -= lr * buf, else param -= lr * g / avg.  momentum_buffer and
 * grad_avg may be NULL when momentum == 0 / not centered. */
void rt_rmsprop_step(float *param, const float *grad, float *square_avg, float *momentum_buffer,
                     float *grad_avg, size_t n, double lr, double alpha, double eps, double weight_decay,
                     double momentum, int centered, int maximize)
{
    const float a = (float)alpha, c = (float)(1.0 - alpha), e = (float)eps;
    const float wd = (float)weight_decay, mom = (float)momentum, neg_lr = (float)-lr;
    const int use_wd = weight_decay != 0.0, use_mom = momentum > 0.0;
    for (size_t i = 0; i < n; i++) {
        const float g = t_step_grad(grad[i], param[i], maximize, use_wd, wd);
        const float sq = t_ema_sq(square_avg[i], g, a, c);
        square_avg[i] = sq;
        float avg;
        if (centered) {
            const float ga = t_ema(grad_avg[i], g, a, c);
            grad_avg[i] = ga;
            avg = sqrtf(t_addcmul(sq, ga, ga, -1.0f));
        } else {
            avg = sqrtf(sq);
        }
        avg = avg + e;
        if (use_mom) {
            const float b = t_addcdiv(momentum_buffer[i] * mom, g, avg, 1.0f);
            momentum_buffer[i] = b;
            param[i] = t_add(param[i], b, neg_lr);
        } else {
            param[i] = t_addcdiv(param[i], g, avg, neg_lr);
        }
    }
}
