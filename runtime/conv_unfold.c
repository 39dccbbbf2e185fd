/* conv_unfold.c — im2col and col2im (contract in conv_unfold.h).
 *
 * Each kernel row i and column j reads the image along one row of it at
 * stride sw.  The positions whose image column lies inside the image form
 * one range [lo, hi), computed once per (i, j): inside it the loop is a
 * plain (for stride 1 contiguous) copy; only the few positions outside go
 * through the padding mode. */
#include "conv_unfold.h"

#include "../compiler/geom.h"

/* The image index that padded index i (of an extent of n) copies, or -1
 * for zero padding.  General in i although torch limits the padding
 * (reflect: below n, circular: at most n), so any geometry stays in
 * bounds. */
static int conv_unfold_source(int i, int n, int mode)
{
    if (i >= 0 && i < n)
        return i;
    switch (mode) {
    case COMP_PAD_REFLECT: {
        if (n == 1)
            return 0;
        const int period = 2 * (n - 1);
        i %= period;
        if (i < 0)
            i += period;
        return i < n ? i : period - i;
    }
    case COMP_PAD_REPLICATE:
        return i < 0 ? 0 : n - 1;
    case COMP_PAD_CIRCULAR:
        i %= n;
        return i < 0 ? i + n : i;
    default:
        return -1;
    }
}

/* The window positions ow in [*lo, *hi) of kernel column offset off
 * (j*dw - pw) whose image column ow*sw + off lies in [0, w). */
static void conv_unfold_inside(int off, int sw, int w, int wo, int *lo, int *hi)
{
    int l = off >= 0 ? 0 : (-off + sw - 1) / sw;
    int h = w - 1 - off < 0 ? 0 : (w - 1 - off) / sw + 1;
    if (h > wo)
        h = wo;
    if (l > h)
        l = h;
    *lo = l;
    *hi = h;
}

void rt_conv_im2col(const rt_conv_unfold *u, const float *img, float *col, size_t ld)
{
    const size_t plane = (size_t)u->h * (size_t)u->w;
    size_t r = 0;
    for (int ch = 0; ch < u->c; ch++)
        for (int i = 0; i < u->kh; i++)
            for (int j = 0; j < u->kw; j++, r++) {
                const int off = j * u->dw - u->pw;
                int lo, hi;
                conv_unfold_inside(off, u->sw, u->w, u->wo, &lo, &hi);
                for (int oh = 0; oh < u->ho; oh++) {
                    float *dst = col + r * ld + (size_t)oh * (size_t)u->wo;
                    const int ih = conv_unfold_source(oh * u->sh - u->ph + i * u->dh, u->h, u->mode);
                    if (ih < 0) {
                        for (int ow = 0; ow < u->wo; ow++)
                            dst[ow] = 0.0f;
                        continue;
                    }
                    const float *src = img + (size_t)ch * plane + (size_t)ih * (size_t)u->w;
                    for (int ow = 0; ow < lo; ow++) {
                        const int iw = conv_unfold_source(ow * u->sw + off, u->w, u->mode);
                        dst[ow] = iw < 0 ? 0.0f : src[iw];
                    }
                    if (u->sw == 1)
                        for (int ow = lo; ow < hi; ow++)
                            dst[ow] = src[ow + off];
                    else
                        for (int ow = lo; ow < hi; ow++)
                            dst[ow] = src[ow * u->sw + off];
                    for (int ow = hi; ow < u->wo; ow++) {
                        const int iw = conv_unfold_source(ow * u->sw + off, u->w, u->mode);
                        dst[ow] = iw < 0 ? 0.0f : src[iw];
                    }
                }
            }
}

void rt_conv_col2im(const rt_conv_unfold *u, const float *col, size_t ld, float *img)
{
    const size_t plane = (size_t)u->h * (size_t)u->w;
    for (size_t k = 0; k < (size_t)u->c * plane; k++)
        img[k] = 0.0f;
    size_t r = 0;
    for (int ch = 0; ch < u->c; ch++)
        for (int i = 0; i < u->kh; i++)
            for (int j = 0; j < u->kw; j++, r++) {
                const int off = j * u->dw - u->pw;
                int lo, hi;
                conv_unfold_inside(off, u->sw, u->w, u->wo, &lo, &hi);
                for (int oh = 0; oh < u->ho; oh++) {
                    const float *src = col + r * ld + (size_t)oh * (size_t)u->wo;
                    const int ih = conv_unfold_source(oh * u->sh - u->ph + i * u->dh, u->h, u->mode);
                    if (ih < 0)
                        continue;
                    float *dst = img + (size_t)ch * plane + (size_t)ih * (size_t)u->w;
                    for (int ow = 0; ow < lo; ow++) {
                        const int iw = conv_unfold_source(ow * u->sw + off, u->w, u->mode);
                        if (iw >= 0)
                            dst[iw] += src[ow];
                    }
                    if (u->sw == 1)
                        for (int ow = lo; ow < hi; ow++)
                            dst[ow + off] += src[ow];
                    else
                        for (int ow = lo; ow < hi; ow++)
                            dst[ow * u->sw + off] += src[ow];
                    for (int ow = hi; ow < u->wo; ow++) {
                        const int iw = conv_unfold_source(ow * u->sw + off, u->w, u->mode);
                        if (iw >= 0)
                            dst[iw] += src[ow];
                    }
                }
            }
}
