/* checkpoint.h — a net's parameters, and its training state, as a
 * safetensors file whose parameter tensors are named as the state_dict of
 * the equivalent torch nn.Sequential. */
#ifndef NETC_RUNTIME_CHECKPOINT_H
#define NETC_RUNTIME_CHECKPOINT_H

#include <stddef.h>

#include "net.h"

/* Save every parameter (float32, torch layout) with metadata naming the
 * model and the spec hash, and the training state: every STATE-arena
 * buffer as a tensor "optim.<buffer name>", and as metadata the optimizer
 * and schedule names, the step count, the epochs done, the shuffling and
 * dropout generator states and the schedule's position.  Returns 0, or -1
 * with a message in err. */
int rt_checkpoint_save(const rt_net *net, const char *path, char *err, size_t errlen);

/* As rt_checkpoint_save, but the tensors' values come from values, laid
 * out like the parameter arena (e.g. ASGD's averaged parameters, the
 * state buffer "asgd.ax"), instead of the parameters. */
int rt_checkpoint_save_from(const rt_net *net, const float *values, const char *path, char *err, size_t errlen);

/* Save the parameters and the model state alone (the state_dict), with
 * the model's name and spec hash as metadata: a checkpoint without
 * training state, which --weights loads as weights only.  Returns 0, or -1
 * with a message in err. */
int rt_checkpoint_save_weights(const rt_net *net, const char *path, char *err, size_t errlen);

/* Load parameters from path into net, ignoring any training state.  Every
 * parameter of the plan must be present with the same shape; other
 * tensors, "optim." ones aside, are an error too (they mean the checkpoint
 * is for another model).  On failure net's parameters are unchanged and -1
 * is returned with a message in err. */
int rt_checkpoint_load(rt_net *net, const char *path, char *err, size_t errlen);

/* Load parameters as rt_checkpoint_load, then the training state, so that
 * training continues exactly where the saving run stopped.  The state is
 * restored whole or not at all: when the file has none (a checkpoint of an
 * older netc) or it is for another optimizer, schedule or state layout,
 * only the weights are loaded and note (notelen bytes) says so; otherwise
 * note is "".  A damaged state is an error (-1, message in err, net
 * unchanged). */
int rt_checkpoint_resume(rt_net *net, const char *path, char *note, size_t notelen, char *err, size_t errlen);

#endif
