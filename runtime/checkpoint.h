/* checkpoint.h — a net's parameters as a safetensors file whose tensor
 * names are the state_dict names of the equivalent torch nn.Sequential. */
#ifndef NETC_RUNTIME_CHECKPOINT_H
#define NETC_RUNTIME_CHECKPOINT_H

#include <stddef.h>

#include "net.h"

/* Save every parameter (float32, torch layout) with metadata naming the
 * model and the spec hash.  Returns 0, or -1 with a message in err. */
int rt_checkpoint_save(const rt_net *net, const char *path, char *err, size_t errlen);

/* As rt_checkpoint_save, but the tensors' values come from values, laid
 * out like the parameter arena (e.g. ASGD's averaged parameters, the
 * state buffer "asgd.ax"), instead of the parameters. */
int rt_checkpoint_save_from(const rt_net *net, const float *values, const char *path, char *err, size_t errlen);

/* Load parameters from path into net.  Every parameter of the plan must be
 * present with the same shape; tensors the plan does not have are an error
 * too (they mean the checkpoint is for another model).  On failure net's
 * parameters are unchanged and -1 is returned with a message in err. */
int rt_checkpoint_load(rt_net *net, const char *path, char *err, size_t errlen);

#endif
