/* torch_sum.h — torch's float32 summation order. */
#ifndef NETC_RUNTIME_TORCH_SUM_H
#define NETC_RUNTIME_TORCH_SUM_H

#include <stddef.h>

/* What is summed: x[i], |x[i]| or (x[i] - y[i])^2 (each rounded to float,
 * as the tensor torch would sum holds it). */
typedef enum { RT_SUM_PLAIN, RT_SUM_ABS, RT_SUM_SQDIFF } rt_sum_mode;

/* The n elements summed as torch.sum does on a contiguous float32 CPU
 * tensor: the same additions in the same order, so the same bits (a plain
 * loop, or a double accumulator, can differ in the last place).  y is
 * used by RT_SUM_SQDIFF only. */
float rt_torch_sum(const float *x, const float *y, size_t n, rt_sum_mode mode);

#endif
