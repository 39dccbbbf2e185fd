/* q8_net.h — an int8 plan (compiler/q8plan.h) made runnable: the int8
 * checkpoint of `netc quantize` written from a float net and calibration
 * data, read back into an int8 model, and the model's forward pass run in
 * place of a net's float forward ops, so that eval and predict (and their
 * threads) compute what a device computes. */
#ifndef NETC_RUNTIME_Q8_NET_H
#define NETC_RUNTIME_Q8_NET_H

#include <stddef.h>

#include "../compiler/q8plan.h"
#include "data.h"
#include "net.h"

/* The metadata key and value that mark an int8 checkpoint. */
#define RT_Q8_META_KEY "netc.quantized"
#define RT_Q8_META_VALUE "int8"

/* Quantize net (its float weights loaded; max_batch samples per pass) to
 * the int8 plan q: run the float forward ops on the first nsamples of ds
 * (all when fewer) recording every int8 buffer's range (the
 * pre-activation of a tabulated activation apart), choose each buffer's
 * scale and zero point (rt_q8_choose_params; pooling keeps its input's),
 * fold each BatchNorm into its convolution, quantize the weights per
 * output channel and the biases at s_in * s_w, and write it all to path
 * as a safetensors file: for each weight op "<layer>.weight" (I8, torch's
 * shape), "<layer>.weight_scale" (F32, one per output channel),
 * "<layer>.bias" (I32); for each int8 buffer "<buffer>.scale" (F32) and
 * "<buffer>.zero_point" (I32), scalars; metadata naming the model, its
 * spec hash and RT_Q8_META_KEY = RT_Q8_META_VALUE.  *bytes is the data's
 * size.  Returns 0, or -1 with a message in err (nothing written). */
int rt_q8_quantize_net(rt_net *net, const comp_q8_plan *q, const rt_dataset *ds, size_t nsamples, const char *path,
                       size_t *bytes, char *err, size_t errlen);

/* Whether the safetensors file at path is an int8 checkpoint (its
 * metadata says so); 0 when it cannot be read (the loader then says
 * why). */
int rt_q8_is_checkpoint(const char *path);

typedef struct rt_q8_model rt_q8_model;

/* Read the int8 checkpoint at path for plan p and its int8 plan q (which
 * the model takes over, and frees): every tensor present with its dtype
 * and shape, nothing else, written for this spec (its hash).  Derives
 * each op's fixed-point multipliers, clamps and tables.  NULL with a
 * message in err on any problem. */
rt_q8_model *rt_q8_model_load(const comp_plan *p, comp_q8_plan *q, const char *path, char *err, size_t errlen);

/* Free a model (NULL allowed); no net may use it any more. */
void rt_q8_model_free(rt_q8_model *m);

/* Make net run m's int8 ops for its forward ops (rt_net_forward,
 * rt_net_infer), with int8 buffers of its own for net->max_batch samples;
 * nets made beside it (rt_net_new_sharing) share m.  m must outlive them;
 * rt_net_free frees m with the net that owns it (owns != 0).  Returns 0,
 * -1 when out of memory. */
int rt_q8_attach(rt_net *net, rt_q8_model *m, int owns);

/* The int8 forward pass of net->batch samples: the float input quantized,
 * the int8 ops, the result dequantized into the float buffer that the
 * float ops after them (m's plan tail: softmax at the output) or the loss
 * read.  Returns the first float forward op still to run. */
int rt_q8_forward(rt_net *net);

#endif
