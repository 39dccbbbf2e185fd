/* q8_names.h — what the int8 checkpoint's writer (q8_quantize.c) and
 * reader (q8_net.c) agree on about a weight op: its output channels and
 * its tensors' names. */
#ifndef NETC_RUNTIME_Q8_NAMES_H
#define NETC_RUNTIME_Q8_NAMES_H

#include <stddef.h>

#include "../compiler/q8plan.h"

/* Output channels of weight op op (LINEAR: out_features, CONV: c_out):
 * one weight scale, bias, multiplier and shift each. */
int rt_q8_weight_channels(const comp_plan *p, const comp_q8_op *op);

/* The name of weight op op's tensor suffix ("bias", "weight_scale"): its
 * float weight's name ("3.weight") with "weight" replaced ("3.bias"), so
 * that a folded BatchNorm's bias sits where the convolution's would. */
void rt_q8_tensor_name(const comp_plan *p, const comp_q8_op *op, const char *suffix, char *out, size_t size);

#endif
