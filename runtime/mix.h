/* mix.h — MixUp and CutMix (torchvision.transforms.v2) on a gathered
 * batch, and the Beta draws behind them. */
#ifndef NETC_RUNTIME_MIX_H
#define NETC_RUNTIME_MIX_H

#include <stddef.h>
#include <stdint.h>

#include "../compiler/plan.h"
#include "transform.h"

/* The batch's stream: rt_rng_seed(epoch key, this bit | the batch's first
 * sample), apart from the samples' streams (rt_tf_batch) below it. */
#define RT_MIX_STREAM_BIT (1ULL << 63)

/* One draw of Beta(a, a) from *rng: X / (X + Y) of two Gamma(a) draws
 * (Marsaglia and Tsang's method; for a < 1, Gamma(a + 1) U^(1/a)). */
double rt_beta_draw(uint64_t *rng, double a);

/* The mixing of a batch of n samples at x (n rows of im's floats) and t
 * (n rows of classes probabilities, one-hot as gathered), sample i mixed
 * with sample partner[i]: MixUp x_i lam + x_p (1 - lam), elementwise in
 * float as torchvision's inpt.roll(1, 0).mul_(1 - lam).add_(inpt.mul(lam));
 * CutMix copies box rows [y1, y2), columns [x1, x2) of every channel from
 * the partner and mixes the labels with lam = 1 - box area / image area.
 * copy holds n rows of max(dim, classes) floats of scratch (the partners'
 * originals).  Deterministic given its arguments. */
void rt_mixup_apply(float *x, float *t, size_t n, size_t dim, int classes, const uint32_t *partner, double lam,
                    float *copy);
void rt_cutmix_apply(float *x, float *t, size_t n, const rt_tf_image *im, int classes, const uint32_t *partner,
                     int x1, int y1, int x2, int y2, float *copy);

/* CutMix's box as torchvision's _get_params: centre (r_x, r_y) uniform
 * in [0, W) x [0, H) (drawn x first), half sides int(r W), int(r H) with r
 * = sqrt(1 - lam) / 2, clamped to the image; returns the label weight
 * 1 - box area / (W H). */
double rt_cutmix_box(uint64_t *rng, double lam, int h, int w, int *x1, int *y1, int *x2, int *y2);

/* rt_cutmix_box for a given centre (r_x, r_y). */
double rt_cutmix_box_at(double lam, int rx, int ry, int h, int w, int *x1, int *y1, int *x2, int *y2);

/* The plan's `augment` on a training batch of n samples (the net's input
 * and target buffers), each sample mixed with the one before it (the
 * first with the last: torchvision's roll(1, 0) of a shuffled batch),
 * lambda from Beta(alpha, alpha) on *rng.  partner holds n entries and
 * copy n rows of max(dim, classes) floats, both scratch.  Does not
 * allocate. */
void rt_mix_batch(const comp_plan_info *info, float *x, float *t, size_t n, int classes, uint64_t *rng,
                  uint32_t *partner, float *copy);

#endif
