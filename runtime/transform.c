/* transform.c — the kernels of compiler/transforms.def, each the
 * computation of torchvision's transform of the same name on a float
 * image in [0, 1] (after ToTensor), with its random draws in the same
 * order from netc's generator. */
#include "transform.h"

#include <math.h>
#include <string.h>

#include "kernels.h"

/* The random integer torch.randint(0, n) draws, from our stream. */
static int draw_below(uint64_t *rng, int n)
{
    return (int)(rt_rng_next(rng) % (uint64_t)n);
}

static double arg(const comp_transform *t, const char *name)
{
    return comp_arg_num(&comp_transforms[t->kind], &t->args, name);
}

/* Slot k of a size-like argument: an integer stands for both. */
static int arg_item(const comp_transform *t, const char *name, int k)
{
    const int s = comp_arg_index(&comp_transforms[t->kind], name);
    return (int)t->args.num[s][t->args.ntuple[s] == 1 ? 0 : k];
}

/* F.normalize: (x - mean[c]) / std[c] in float32, as tensor.sub_(mean)
 * .div_(std); one value stands for every channel. */
static float *rt_tf_normalize(const comp_transform *t, const rt_tf_image *im, float *x, float *spare, uint64_t *rng)
{
    const comp_entry *e = &comp_transforms[t->kind];
    const int ms = comp_arg_index(e, "mean"), ss = comp_arg_index(e, "std");
    const size_t plane = (size_t)im->h * (size_t)im->w;
    for (int c = 0; c < im->c; c++) {
        const float m = t->args.vec[ms][t->args.ntuple[ms] == 1 ? 0 : c];
        const float s = t->args.vec[ss][t->args.ntuple[ss] == 1 ? 0 : c];
        float *p = x + (size_t)c * plane;
        for (size_t k = 0; k < plane; k++)
            p[k] = (p[k] - m) / s;
    }
    return x;
}

/* Padding modes of F.pad, in padding_mode's order of choices. */
enum { PAD_CONSTANT, PAD_EDGE, PAD_REFLECT, PAD_SYMMETRIC };

/* Where coordinate v (from -pad to n - 1 + pad) of a padded row or column
 * reads in [0, n), or -1 for the constant fill.  The compiler bounds the
 * padding so that one reflection lands inside. */
static int pad_source(int v, int n, int mode)
{
    if (v >= 0 && v < n)
        return v;
    switch (mode) {
    case PAD_EDGE: return v < 0 ? 0 : n - 1;
    case PAD_REFLECT: return v < 0 ? -v : 2 * (n - 1) - v;
    case PAD_SYMMETRIC: return v < 0 ? -v - 1 : 2 * n - 1 - v;
    default: return -1;
    }
}

/* RandomCrop with padding: pad (F.pad with fill and padding_mode), then
 * crop the input's size at top i, left j drawn as get_params does
 * (torch.randint(0, h - th + 1), then the same for j; no draw when the
 * padded image is the crop's size).  The compiler makes the crop the
 * input's size. */
void rt_tf_crop(const rt_tf_image *im, const float *x, float *out, int top, int left, int pad_h, int pad_w, int mode,
                float fill)
{
    const size_t plane = (size_t)im->h * (size_t)im->w;
    for (int c = 0; c < im->c; c++)
        for (int y = 0; y < im->h; y++) {
            const int sy = pad_source(y + top - pad_h, im->h, mode);
            float *o = out + (size_t)c * plane + (size_t)y * (size_t)im->w;
            const float *row = x + (size_t)c * plane + (size_t)(sy < 0 ? 0 : sy) * (size_t)im->w;
            for (int xx = 0; xx < im->w; xx++) {
                const int sx = pad_source(xx + left - pad_w, im->w, mode);
                o[xx] = sy < 0 || sx < 0 ? fill : row[sx];
            }
        }
}

static float *rt_tf_random_crop(const comp_transform *t, const rt_tf_image *im, float *x, float *spare,
                                uint64_t *rng)
{
    /* padding (left and right, top and bottom) */
    const int pw = arg_item(t, "padding", 0), ph = arg_item(t, "padding", 1);
    if (pw == 0 && ph == 0)
        return x;
    const int top = draw_below(rng, 2 * ph + 1);
    const int left = draw_below(rng, 2 * pw + 1);
    rt_tf_crop(im, x, spare, top, left, ph, pw, (int)arg(t, "padding_mode"), (float)arg(t, "fill"));
    return spare;
}

/* F.hflip and F.vflip, in place. */
void rt_tf_hflip(const rt_tf_image *im, float *x)
{
    for (int r = 0; r < im->c * im->h; r++) {
        float *row = x + (size_t)r * (size_t)im->w;
        for (int a = 0, b = im->w - 1; a < b; a++, b--) {
            const float v = row[a];
            row[a] = row[b];
            row[b] = v;
        }
    }
}

void rt_tf_vflip(const rt_tf_image *im, float *x)
{
    const size_t w = (size_t)im->w;
    for (int c = 0; c < im->c; c++) {
        float *p = x + (size_t)c * (size_t)im->h * w;
        for (int a = 0, b = im->h - 1; a < b; a++, b--)
            for (size_t k = 0; k < w; k++) {
                const float v = p[(size_t)a * w + k];
                p[(size_t)a * w + k] = p[(size_t)b * w + k];
                p[(size_t)b * w + k] = v;
            }
    }
}

/* The flips: `if torch.rand(1) < p`. */
static float *rt_tf_random_hflip(const comp_transform *t, const rt_tf_image *im, float *x, float *spare,
                                 uint64_t *rng)
{
    if (rt_rng_uniform(rng) < arg(t, "p"))
        rt_tf_hflip(im, x);
    return x;
}

static float *rt_tf_random_vflip(const comp_transform *t, const rt_tf_image *im, float *x, float *spare,
                                 uint64_t *rng)
{
    if (rt_rng_uniform(rng) < arg(t, "p"))
        rt_tf_vflip(im, x);
    return x;
}

/* F.erase: the box rows [i, i + h), columns [j, j + w) of every channel
 * set to value. */
void rt_tf_erase(const rt_tf_image *im, float *x, int i, int j, int h, int w, float value)
{
    for (int c = 0; c < im->c; c++)
        for (int y = i; y < i + h; y++) {
            float *row = x + ((size_t)c * (size_t)im->h + (size_t)y) * (size_t)im->w;
            for (int k = j; k < j + w; k++)
                row[k] = value;
        }
}

/* RandomErasing: with probability p, up to 10 tries of get_params for a
 * box of area area * U(scale) and aspect exp(U(log ratio)), h and w
 * rounded as Python's round() (half to even: nearbyint), accepted when
 * strictly inside the image, at i = randint(0, H - h + 1), j likewise;
 * no box found erases nothing. */
static float *rt_tf_random_erasing(const comp_transform *t, const rt_tf_image *im, float *x, float *spare,
                                   uint64_t *rng)
{
    if (!(rt_rng_uniform(rng) < arg(t, "p")))
        return x;
    const comp_entry *e = &comp_transforms[t->kind];
    const double *scale = t->args.num[comp_arg_index(e, "scale")], *ratio = t->args.num[comp_arg_index(e, "ratio")];
    const double area = (double)im->h * (double)im->w, lr0 = log(ratio[0]), lr1 = log(ratio[1]);
    for (int attempt = 0; attempt < 10; attempt++) {
        const double erase_area = area * (scale[0] + (scale[1] - scale[0]) * rt_rng_uniform(rng));
        const double aspect = exp(lr0 + (lr1 - lr0) * rt_rng_uniform(rng));
        const int h = (int)nearbyint(sqrt(erase_area * aspect)), w = (int)nearbyint(sqrt(erase_area / aspect));
        if (!(h < im->h && w < im->w))
            continue;
        const int i = draw_below(rng, im->h - h + 1), j = draw_below(rng, im->w - w + 1);
        rt_tf_erase(im, x, i, j, h, w, (float)arg(t, "value"));
        break;
    }
    return x;
}

/* v2.GaussianNoise: x + (mean + N(0, 1) * sigma), clamped to [0, 1] with
 * clip, one normal draw per value. */
static float *rt_tf_gaussian_noise(const comp_transform *t, const rt_tf_image *im, float *x, float *spare,
                                   uint64_t *rng)
{
    const float mean = (float)arg(t, "mean"), sigma = (float)arg(t, "sigma");
    const int clip = arg(t, "clip") != 0;
    const size_t n = (size_t)im->c * (size_t)im->h * (size_t)im->w;
    for (size_t k = 0; k < n; k++) {
        float v = x[k] + (mean + (float)rt_rng_normal(rng) * sigma);
        if (clip)
            v = v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
        x[k] = v;
    }
    return x;
}

rt_tf_kernel *const rt_tf_kernels[COMP_TF_COUNT] = {
#define TRANSFORM(id, name, kind, kernel, args) kernel,
#include "../compiler/transforms.def"
#undef TRANSFORM
};

int rt_tf_active(const rt_tf_batch *tf)
{
    if (!tf || !tf->info)
        return 0;
    for (int k = 0; k < tf->info->ntransforms; k++)
        if (tf->training || !comp_tf_random[tf->info->transforms[k].kind])
            return 1;
    return 0;
}

void rt_tf_sample(const rt_tf_batch *tf, size_t i, float *x)
{
    const comp_plan_info *in = tf->info;
    const rt_tf_image im = {in->img_c, in->img_h, in->img_w};
    const size_t dim = (size_t)im.c * (size_t)im.h * (size_t)im.w;
    uint64_t rng = tf->training ? rt_rng_seed(tf->key, tf->first + i) : 0;
    float *cur = x, *other = tf->training ? tf->spare + i * dim : NULL;
    for (int k = 0; k < in->ntransforms; k++) {
        const comp_transform *t = &in->transforms[k];
        if (!tf->training && comp_tf_random[t->kind])
            continue;
        float *out = rt_tf_kernels[t->kind](t, &im, cur, other, &rng);
        if (out != cur) {
            other = cur;
            cur = out;
        }
    }
    if (cur != x)
        memcpy(x, cur, dim * sizeof *x);
}

uint64_t rt_tf_epoch_key(uint64_t shuffle_state, long epoch)
{
    return rt_rng_seed(shuffle_state, RT_STREAM_AUGMENT + (uint64_t)epoch);
}
