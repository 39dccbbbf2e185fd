/* ckpt_meta.h — private to checkpoint.c: the metadata a checkpoint pair
 * carries, written as strings and read back range-checked, and the model
 * signature that tells whether a checkpoint fits a plan. */
#ifndef NETC_RUNTIME_CKPT_META_H
#define NETC_RUNTIME_CKPT_META_H

#include <stddef.h>
#include <stdint.h>

#include "net.h"
#include "safetensors.h"

/* The training-state scalars that make a resumed run continue exactly. */
typedef struct {
    long step, epoch, last_epoch, bad_epochs, cooldown;
    uint64_t shuffle_rng, dropout_rng;
    double base_lr, lr, best;
    /* A run stopped mid-epoch (a signal): the epoch's samples done and
     * their loss sum, shuffle_rng being the generator's state before that
     * epoch's shuffle; 0 and 0 at an epoch's end (and in checkpoints from
     * before they were written). */
    long epoch_samples;
    double epoch_loss;
} rt_ckpt_scalars;

/* Number of scalar metadata entries. */
#define RT_CKPT_NSCALARS 12

/* Longest value a scalar is written as. */
#define RT_CKPT_VALUE_MAX 48

/* net's scalars. */
void rt_ckpt_scalars_of(const rt_net *net, rt_ckpt_scalars *s);

/* Set net's scalars to s. */
void rt_ckpt_scalars_apply(rt_net *net, const rt_ckpt_scalars *s);

/* s as metadata: keys[i] = vals[i] for i < RT_CKPT_NSCALARS, the values
 * written into vals_buf so that every one reads back as itself. */
void rt_ckpt_scalars_format(const rt_ckpt_scalars *s, const char *keys[RT_CKPT_NSCALARS],
                            char vals_buf[RT_CKPT_NSCALARS][RT_CKPT_VALUE_MAX]);

/* Read and range-check the scalars of f (the file path) into s: every one
 * present, of its type, and in its range (counts 0..their limit, lrs
 * finite and within float32, generator states 16 hex digits).  Returns
 * 0, or -1 with a message naming the key, the value and the range. */
int rt_ckpt_scalars_read(const rt_st_file *f, const char *path, rt_ckpt_scalars *s, char *err, size_t errlen);

/* Whether the metadata value s is a 64-bit id as netc writes it: exactly
 * 16 hex digits.  Stores it in *out when so. */
int rt_ckpt_parse_id(const char *s, uint64_t *out);

/* Whether the checkpoint f (its model signature: netc.input, netc.layers)
 * is of the model of plan p.  A file without a signature (torch's, an
 * older netc's) says nothing and fits.  When not, says what differs in
 * why (whylen bytes), e.g. "layer 1 is Tanh() in it but ReLU() here". */
int rt_ckpt_same_model(const comp_plan *p, const rt_st_file *f, char *why, size_t whylen);

#endif
