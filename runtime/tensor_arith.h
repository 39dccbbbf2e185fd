/* tensor_arith.h — single float operations rounded as torch's float32 CPU
 * tensor kernels round them, shared by the optimizer steps.
 *
 * Two kernel facts set the roundings:
 *  - add(self, other, alpha) is computed as one fused multiply-add
 *    (ufunc::add's vectorised form is vec::fmadd(other, alpha, self));
 *  - addcmul is self + value * t1 * t2 (fused the same way by the C++
 *    compiler, which contracts in the AVX2/AVX-512 kernels), addcdiv is
 *    self + value * t1 / t2, i.e. (value * t1) / t2, not value * (t1 / t2).
 * fmaf is correctly rounded whether or not the target has an FMA unit. */
#ifndef NETC_RUNTIME_TENSOR_ARITH_H
#define NETC_RUNTIME_TENSOR_ARITH_H

#include <math.h>

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

#endif
