/* torch_ops.h — one float element of torch's float32 CPU tensor ops, with
 * the roundings of their kernels, for the optimizers (runtime/optim*.c).
 *
 * Each Python-level tensor op of a torch.optim step becomes one of these
 * (or one float operation) per element, in torch's order, with Python
 * scalars rounded to float where a kernel receives them.  Two kernel facts
 * set the roundings:
 *  - add(self, other, alpha) is computed as one fused multiply-add
 *    (ufunc::add's vectorised form is vec::fmadd(other, alpha, self));
 *  - addcmul is self + value * t1 * t2 (fused the same way by the C++
 *    compiler, which contracts in the AVX2/AVX-512 kernels), addcdiv is
 *    self + value * t1 / t2, i.e. (value * t1) / t2, not value * (t1 / t2).
 * fmaf is correctly rounded whether or not the target has an FMA unit. */
#ifndef NETC_RUNTIME_TORCH_OPS_H
#define NETC_RUNTIME_TORCH_OPS_H

#include <math.h>

/* torch.sign of a float: -1, 0 or 1 (0 for 0 and NaN). */
static inline float t_sign(float x)
{
    return (float)((x > 0.0f) - (x < 0.0f));
}

/* torch's self.add(other, alpha=alpha). */
static inline float t_add(float self, float other, float alpha)
{
    return fmaf(other, alpha, self);
}

/* torch's self.addcmul(t1, t2, value=value). */
static inline float t_addcmul(float self, float t1, float t2, float value)
{
    return fmaf(value * t1, t2, self);
}

/* torch's self.addcdiv(t1, t2, value=value). */
static inline float t_addcdiv(float self, float t1, float t2, float value)
{
    return self + value * t1 / t2;
}

/* The gradient a torch.optim step works with: negated when maximize, then
 * grad.add(param, alpha=weight_decay) when use_wd (coupled L2 decay). */
static inline float t_step_grad(float grad, float param, int maximize, int use_wd, float wd)
{
    const float g = maximize ? -grad : grad;
    return use_wd ? t_add(g, param, wd) : g;
}

/* avg.mul_(beta).add_(g, alpha=1 - beta): a running average of g (Adam's
 * exp_avg, RMSprop's grad_avg); one_minus is 1 - beta rounded to float. */
static inline float t_ema(float avg, float g, float beta, float one_minus)
{
    return t_add(avg * beta, g, one_minus);
}

/* avg.mul_(beta).addcmul_(g, g, value=1 - beta): a running average of g²
 * (Adam's exp_avg_sq, RMSprop's and Adadelta's square_avg). */
static inline float t_ema_sq(float avg, float g, float beta, float one_minus)
{
    return t_addcmul(avg * beta, g, g, one_minus);
}

/* torch.maximum(a, b) (and amax over the pair): the larger, NaN if either
 * is NaN. */
static inline float t_maximum(float a, float b)
{
    return (a > b || a != a) ? a : b;
}

#endif
