/* mix.c — torchvision.transforms.v2's MixUp and CutMix
 * (torchvision/transforms/v2/_augment.py): lambda from Beta(alpha,
 * alpha), the batch mixed with itself rolled by one, the labels one-hot
 * and mixed with the same weight (CutMix's: the box's actual area). */
#include "mix.h"

#include <math.h>
#include <string.h>

#include "kernels.h"

/* Gamma(a, 1) by Marsaglia and Tsang (2000), for a >= 1. */
static double gamma_draw(uint64_t *rng, double a)
{
    const double d = a - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
    for (;;) {
        double z, v;
        do {
            z = rt_rng_normal(rng);
            v = 1.0 + c * z;
        } while (v <= 0.0);
        v = v * v * v;
        const double u = rt_rng_uniform(rng);
        if (u < 1.0 - 0.0331 * z * z * z * z || log(u) < 0.5 * z * z + d * (1.0 - v + log(v)))
            return d * v;
    }
}

/* Gamma(a) for any a > 0: below 1, Gamma(a + 1) U^(1/a) (the same paper). */
static double gamma_any(uint64_t *rng, double a)
{
    if (a >= 1.0)
        return gamma_draw(rng, a);
    const double g = gamma_draw(rng, a + 1.0);
    return g * pow(1.0 - rt_rng_uniform(rng), 1.0 / a);
}

double rt_beta_draw(uint64_t *rng, double a)
{
    const double x = gamma_any(rng, a), y = gamma_any(rng, a);
    return x + y > 0.0 ? x / (x + y) : 0.5; /* both underflowed (a tiny): either end is as likely */
}

/* Labels of row i: t_i lam + t_partner (1 - lam), in float as torchvision's
 * labels.roll(1, 0).mul_(1.0 - lam).add_(labels.mul(lam)). */
static void mix_rows(float *v, size_t n, size_t width, const uint32_t *partner, double lam, float *copy)
{
    const float a = (float)lam, b = (float)(1.0 - lam);
    memcpy(copy, v, n * width * sizeof *v);
    for (size_t i = 0; i < n; i++) {
        const float *p = copy + (size_t)partner[i] * width, *s = copy + i * width;
        float *o = v + i * width;
        for (size_t k = 0; k < width; k++)
            o[k] = p[k] * b + s[k] * a;
    }
}

void rt_mixup_apply(float *x, float *t, size_t n, size_t dim, int classes, const uint32_t *partner, double lam,
                    float *copy)
{
    mix_rows(x, n, dim, partner, lam, copy);
    mix_rows(t, n, (size_t)classes, partner, lam, copy);
}

void rt_cutmix_apply(float *x, float *t, size_t n, const rt_tf_image *im, int classes, const uint32_t *partner,
                     int x1, int y1, int x2, int y2, float *copy)
{
    const size_t plane = (size_t)im->h * (size_t)im->w, dim = (size_t)im->c * plane;
    memcpy(copy, x, n * dim * sizeof *x);
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < im->c; c++)
            for (int y = y1; y < y2; y++) {
                const size_t off = (size_t)c * plane + (size_t)y * (size_t)im->w;
                memcpy(x + i * dim + off + (size_t)x1, copy + (size_t)partner[i] * dim + off + (size_t)x1,
                       (size_t)(x2 - x1) * sizeof *x);
            }
    const double lam = 1.0 - (double)(x2 - x1) * (double)(y2 - y1) / ((double)im->w * (double)im->h);
    mix_rows(t, n, (size_t)classes, partner, lam, copy);
}

double rt_cutmix_box(uint64_t *rng, double lam, int h, int w, int *x1, int *y1, int *x2, int *y2)
{
    const int rx = (int)(rt_rng_next(rng) % (uint64_t)w), ry = (int)(rt_rng_next(rng) % (uint64_t)h);
    return rt_cutmix_box_at(lam, rx, ry, h, w, x1, y1, x2, y2);
}

double rt_cutmix_box_at(double lam, int rx, int ry, int h, int w, int *x1, int *y1, int *x2, int *y2)
{
    const double r = 0.5 * sqrt(1.0 - lam);
    const int rw = (int)(r * w), rh = (int)(r * h);
    *x1 = rx - rw < 0 ? 0 : rx - rw;
    *y1 = ry - rh < 0 ? 0 : ry - rh;
    *x2 = rx + rw > w ? w : rx + rw;
    *y2 = ry + rh > h ? h : ry + rh;
    return 1.0 - (double)(*x2 - *x1) * (double)(*y2 - *y1) / ((double)w * (double)h);
}

/* The kernels of transforms.def's MIX rows: a batch with its partners
 * and lambda drawn; CutMix draws its box after lambda, as torchvision. */
typedef void mix_kernel(const rt_tf_image *im, float *x, float *t, size_t n, int classes, const uint32_t *partner,
                        double lam, uint64_t *rng, float *copy);

static void rt_mix_mixup(const rt_tf_image *im, float *x, float *t, size_t n, int classes, const uint32_t *partner,
                         double lam, uint64_t *rng, float *copy)
{
    rt_mixup_apply(x, t, n, (size_t)im->c * (size_t)im->h * (size_t)im->w, classes, partner, lam, copy);
}

static void rt_mix_cutmix(const rt_tf_image *im, float *x, float *t, size_t n, int classes, const uint32_t *partner,
                          double lam, uint64_t *rng, float *copy)
{
    int x1, y1, x2, y2;
    rt_cutmix_box(rng, lam, im->h, im->w, &x1, &y1, &x2, &y2);
    rt_cutmix_apply(x, t, n, im, classes, partner, x1, y1, x2, y2, copy);
}

static mix_kernel *const mix_kernels[COMP_MIX_COUNT] = {
#define MIX(id, name, kernel, args) kernel,
#include "../compiler/transforms.def"
#undef MIX
};

void rt_mix_batch(const comp_plan_info *info, float *x, float *t, size_t n, int classes, uint64_t *rng,
                  uint32_t *partner, float *copy)
{
    if (info->mix >= COMP_MIX_COUNT || n == 0)
        return;
    const comp_entry *e = &comp_mixes[info->mix];
    for (size_t i = 0; i < n; i++)
        partner[i] = (uint32_t)(i == 0 ? n - 1 : i - 1);
    const double lam = rt_beta_draw(rng, comp_arg_num(e, &info->mix_args, "alpha"));
    const rt_tf_image im = {info->img_c, info->img_h, info->img_w};
    mix_kernels[info->mix](&im, x, t, n, classes, partner, lam, rng, copy);
}
