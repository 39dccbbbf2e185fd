/* checkpoint.h — a net's parameters, and its training state, as a pair of
 * safetensors files.
 *
 * The file a user names (--save FILE) holds exactly the state_dict of the
 * equivalent torch nn.Sequential: the parameters and the model state
 * (BatchNorm's running statistics and num_batches_tracked), under their
 * state_dict names, so torch's load_state_dict(strict=True) takes it as
 * is.  Its metadata names the model and its signature (input shape, every
 * layer's call) and the pair's id.  The training state (optimizer state
 * tensors "optim.<buffer>", step count, epochs done, generator states,
 * schedule position) goes to the companion file STEM.train-ID.safetensors
 * beside it (rt_checkpoint_companion), whose name carries the same id.
 *
 * A save writes the companion, then the model file, each atomically and
 * durably (atomic_file.h), then removes the companions an earlier save
 * left: the model file's rename is the moment the new pair replaces the
 * old, so after a crash at any point the model file names a companion
 * that exists and fits it. */
#ifndef NETC_RUNTIME_CHECKPOINT_H
#define NETC_RUNTIME_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "net.h"

/* The companion of checkpoint path for pair id, into buf (size bytes):
 * path with ".safetensors" (if it ends so) replaced by
 * ".train-<id as 16 hex digits>.safetensors".  Returns 0, or -1 when
 * buf is too small. */
int rt_checkpoint_companion(const char *path, uint64_t id, char *buf, size_t size);

/* Save the pair: the parameters (float32, torch layout) and model state
 * to path, the training state to its companion.  Returns 0, or -1 with a
 * message in err, the previous pair (if any) intact.  Two processes must
 * not save to one path at once: the CLI holds rt_af_lock(path) for its
 * whole run. */
int rt_checkpoint_save(const rt_net *net, const char *path, char *err, size_t errlen);

/* As rt_checkpoint_save, but the parameters' values come from values, laid
 * out like the parameter arena (e.g. ASGD's averaged parameters, the
 * state buffer "asgd.ax"), instead of the parameters. */
int rt_checkpoint_save_from(const rt_net *net, const float *values, const char *path, char *err, size_t errlen);

/* Save the parameters and the model state alone (the state_dict), with
 * the model's name and spec hash as metadata: a checkpoint without
 * training state, which --weights loads as weights only.  Returns 0, or -1
 * with a message in err. */
int rt_checkpoint_save_weights(const rt_net *net, const char *path, char *err, size_t errlen);

/* Load parameters and model state from path into net, ignoring any
 * training state.  Every parameter of the plan must be present with the
 * same shape, and nothing else (but an older netc's "optim." tensors).  A
 * file whose signature says it is of another model (another layer, an
 * activation, an argument, the input shape) is refused with what differs,
 * unless force: then the weights are loaded when their names and shapes
 * fit and note (notelen bytes) warns; otherwise note is "".  A file with
 * no netc metadata (a state_dict written by torch) loads by names and
 * shapes.  On failure net is unchanged and -1 is returned with a message
 * in err. */
int rt_checkpoint_load(rt_net *net, const char *path, int force, char *note, size_t notelen, char *err,
                       size_t errlen);

/* Load as rt_checkpoint_load, then the training state from the companion
 * (or, in an older netc's single-file checkpoint, from path itself), so
 * that training continues exactly where the saving run stopped.  The state
 * is restored whole or not at all: when there is none (a torch state_dict,
 * a missing companion), it is for another optimizer, schedule or state
 * layout, or force loaded another model's weights, only the weights are
 * loaded and note says so.  A damaged state or a metadata value out of
 * range is an error (-1, message in err, net unchanged). */
int rt_checkpoint_resume(rt_net *net, const char *path, int force, char *note, size_t notelen, char *err,
                         size_t errlen);

#endif
