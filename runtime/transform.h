/* transform.h — the data transforms of a plan (compiler/transforms.def)
 * applied to one sample at a time while a batch is gathered. */
#ifndef NETC_RUNTIME_TRANSFORM_H
#define NETC_RUNTIME_TRANSFORM_H

#include <stddef.h>
#include <stdint.h>

#include "../compiler/plan.h"

/* A sample as an image: c planes of h rows of w floats (C order). */
typedef struct {
    int c, h, w;
} rt_tf_image;

/* One transform's kernel: apply t to the image at x (its floats) and
 * return where the result is, x itself (in place) or spare (another
 * buffer of as many floats, which the kernel may overwrite).  Random
 * transforms draw from *rng, and only from it; deterministic ones never
 * touch rng or spare. */
typedef float *rt_tf_kernel(const comp_transform *t, const rt_tf_image *im, float *x, float *spare, uint64_t *rng);

/* The kernels of transforms.def, indexed by comp_tf_kind. */
extern rt_tf_kernel *const rt_tf_kernels[COMP_TF_COUNT];

/* The deterministic parts of the kernels, for tests against torchvision
 * with given draws.  rt_tf_crop writes to out the crop at (top, left) of
 * x padded by pad_h rows and pad_w columns each side (mode: 0 constant
 * with fill, 1 edge, 2 reflect, 3 symmetric), of x's own size;
 * rt_tf_hflip and rt_tf_vflip mirror x in place; rt_tf_erase sets rows
 * [i, i + h) and columns [j, j + w) of every channel to value. */
void rt_tf_crop(const rt_tf_image *im, const float *x, float *out, int top, int left, int pad_h, int pad_w, int mode,
                float fill);
void rt_tf_hflip(const rt_tf_image *im, float *x);
void rt_tf_vflip(const rt_tf_image *im, float *x);
void rt_tf_erase(const rt_tf_image *im, float *x, int i, int j, int h, int w, float value);

/* How a gather applies the plan's transforms (NULL where a gather takes
 * one: none). */
typedef struct rt_tf_batch_s {
    const comp_plan_info *info; /* the transforms and the image shape */
    int training;               /* 1: every transform; 0: the deterministic ones */
    uint64_t key;               /* training: sample k of the epoch draws from rt_rng_seed(key, k) */
    size_t first;               /* training: the epoch position of the batch's first sample */
    float *spare;               /* training: count * dim floats the kernels may use */
} rt_tf_batch;

/* Whether tf has anything to do: some transform to apply. */
int rt_tf_active(const rt_tf_batch *tf);

/* Apply tf's transforms, in chain order, to sample i of the batch at x
 * (dim floats, dim = info's c * h * w): with tf->training, every one, the
 * random ones drawing from the sample's own stream (so the result does not
 * depend on which thread runs it or how the batch is cut); else the
 * deterministic ones, which need no spare.  Does not allocate. */
void rt_tf_sample(const rt_tf_batch *tf, size_t i, float *x);

/* The epoch's key for rt_tf_batch, from the shuffle generator's state at
 * the start of the epoch and the epoch's number, both of which a
 * checkpoint restores: a resumed run draws what the uninterrupted one
 * would have. */
uint64_t rt_tf_epoch_key(uint64_t shuffle_state, long epoch);

#endif
