/* torch_sum.h — torch's float32 summation order. */
#ifndef NETC_RUNTIME_TORCH_SUM_H
#define NETC_RUNTIME_TORCH_SUM_H

#include <stddef.h>

/* x[0..n) summed (|x[i]| when absval) as torch.sum does on a contiguous
 * float32 CPU tensor: the same additions in the same order, so the same
 * bits (a plain loop, or a double accumulator, can differ in the last
 * place). */
float rt_torch_sum(const float *x, size_t n, int absval);

#endif
