/* conv_unfold.c — im2col and col2im (contract in conv_unfold.h).
 *
 * Window row oh of kernel row i reads one image row, ih = oh*sh - ph +
 * i*dh, for every kernel column j.  So the usual path pads that row once
 * into a small buffer (the columns the windows reach, padding mode
 * applied) and copies each j's elements out of it without any test:
 * the per-element edge handling, which dominated on images of 10 to 30
 * columns, then happens once per image row and kernel row instead of
 * once per kernel column.  col2im is the mirror image: each j's elements
 * are added into a zeroed row buffer, which is then added onto the image
 * row (its padded ends onto the elements they copy).
 *
 * Rows wider than the buffer take the general path: for each kernel row i
 * and column j, the positions whose image column lies inside the image
 * form one range [lo, hi), a plain copy, and only the few positions
 * outside go through the padding mode. */
#include "conv_unfold.h"

#include <string.h>

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

/* The general im2col: per kernel row i and column j, one pass over the
 * window positions, the padding mode at the range's edges. */
static void conv_unfold_im2col_any(const rt_conv_unfold *u, const float *img, float *col, size_t ld)
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

/* The general col2im, adding into img (zeroed by the caller) in row
 * order then position order. */
static void conv_unfold_col2im_any(const rt_conv_unfold *u, const float *col, size_t ld, float *img)
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

/* Padded row buffer: window rows up to this many floats wide take the
 * buffered path (kept on the stack, so modest). */
#define CONV_UNFOLD_ROW 1024

/* d[0..n) = s[0..n), for rows of a few to a few dozen floats: whole
 * vectors of 8 floats (constant-size memcpy, which compilers inline as
 * one vector move), the last one overlapping the one before instead of a
 * scalar tail loop, which cost more than the rest of the copy. */
static void conv_unfold_copy(float *d, const float *s, int n)
{
    if (n < 8) {
        for (int k = 0; k < n; k++)
            d[k] = s[k];
        return;
    }
    int k = 0;
    for (; k + 8 <= n; k += 8)
        memcpy(d + k, s + k, 8 * sizeof *d);
    if (k < n)
        memcpy(d + n - 8, s + n - 8, 8 * sizeof *d);
}

/* The padded extent the windows of a row read: (wo-1)*sw + (kw-1)*dw + 1
 * columns, from image column -pw. */
static int conv_unfold_span(const rt_conv_unfold *u)
{
    return u->wo > 0 ? (u->wo - 1) * u->sw + (u->kw - 1) * u->dw + 1 : 0;
}

void rt_conv_im2col(const rt_conv_unfold *u, const float *img, float *col, size_t ld)
{
    const int span = conv_unfold_span(u);
    if (span > CONV_UNFOLD_ROW) {
        conv_unfold_im2col_any(u, img, col, ld);
        return;
    }
    float row[CONV_UNFOLD_ROW];
    const size_t plane = (size_t)u->h * (size_t)u->w;
    const int wo = u->wo, kw = u->kw, sw = u->sw, dw = u->dw;
    /* The row's columns [lo, hi) that lie inside the image. */
    const int lo = u->pw < span ? u->pw : span;
    const int hi = u->w + u->pw < span ? u->w + u->pw : span;
    for (int ch = 0; ch < u->c; ch++)
        for (int i = 0; i < u->kh; i++) {
            float *dst0 = col + (size_t)(ch * u->kh + i) * (size_t)kw * ld;
            for (int oh = 0; oh < u->ho; oh++) {
                float *dst = dst0 + (size_t)oh * (size_t)wo;
                const int ih = conv_unfold_source(oh * u->sh - u->ph + i * u->dh, u->h, u->mode);
                if (ih < 0) {
                    for (int j = 0; j < kw; j++)
                        for (int ow = 0; ow < wo; ow++)
                            dst[(size_t)j * ld + (size_t)ow] = 0.0f;
                    continue;
                }
                const float *src = img + (size_t)ch * plane + (size_t)ih * (size_t)u->w;
                for (int k = 0; k < lo; k++) {
                    const int iw = conv_unfold_source(k - u->pw, u->w, u->mode);
                    row[k] = iw < 0 ? 0.0f : src[iw];
                }
                conv_unfold_copy(row + lo, src + lo - u->pw, hi - lo);
                for (int k = hi; k < span; k++) {
                    const int iw = conv_unfold_source(k - u->pw, u->w, u->mode);
                    row[k] = iw < 0 ? 0.0f : src[iw];
                }
                for (int j = 0; j < kw; j++) {
                    const float *r = row + j * dw;
                    float *d = dst + (size_t)j * ld;
                    if (sw == 1)
                        conv_unfold_copy(d, r, wo);
                    else
                        for (int ow = 0; ow < wo; ow++)
                            d[ow] = r[ow * sw];
                }
            }
        }
}

void rt_conv_col2im(const rt_conv_unfold *u, const float *col, size_t ld, float *img)
{
    const size_t plane = (size_t)u->h * (size_t)u->w;
    for (size_t k = 0; k < (size_t)u->c * plane; k++)
        img[k] = 0.0f;
    const int span = conv_unfold_span(u);
    if (span > CONV_UNFOLD_ROW) {
        conv_unfold_col2im_any(u, col, ld, img);
        return;
    }
    float row[CONV_UNFOLD_ROW];
    const int wo = u->wo, kw = u->kw, sw = u->sw, dw = u->dw;
    const int lo = u->pw < span ? u->pw : span;
    const int hi = u->w + u->pw < span ? u->w + u->pw : span;
    for (int ch = 0; ch < u->c; ch++)
        for (int i = 0; i < u->kh; i++) {
            const float *src0 = col + (size_t)(ch * u->kh + i) * (size_t)kw * ld;
            for (int oh = 0; oh < u->ho; oh++) {
                const int ih = conv_unfold_source(oh * u->sh - u->ph + i * u->dh, u->h, u->mode);
                if (ih < 0)
                    continue;
                const float *src = src0 + (size_t)oh * (size_t)wo;
                for (int k = 0; k < span; k++)
                    row[k] = 0.0f;
                for (int j = 0; j < kw; j++) {
                    float *r = row + j * dw;
                    const float *s = src + (size_t)j * ld;
                    if (sw == 1)
                        for (int ow = 0; ow < wo; ow++)
                            r[ow] += s[ow];
                    else
                        for (int ow = 0; ow < wo; ow++)
                            r[ow * sw] += s[ow];
                }
                float *dst = img + (size_t)ch * plane + (size_t)ih * (size_t)u->w;
                for (int k = 0; k < lo; k++) {
                    const int iw = conv_unfold_source(k - u->pw, u->w, u->mode);
                    if (iw >= 0)
                        dst[iw] += row[k];
                }
                for (int k = lo; k < hi; k++)
                    dst[k - u->pw] += row[k];
                for (int k = hi; k < span; k++) {
                    const int iw = conv_unfold_source(k - u->pw, u->w, u->mode);
                    if (iw >= 0)
                        dst[iw] += row[k];
                }
            }
        }
}

void rt_conv_pad(const rt_conv_unfold *u, const float *img, float *dst, int hp, int wp)
{
    const size_t plane = (size_t)u->h * (size_t)u->w;
    /* The padded row's columns [lo, hi) that lie inside the image. */
    int lo = u->pw < 0 ? 0 : u->pw < wp ? u->pw : wp;
    int hi = u->w + u->pw < wp ? u->w + u->pw : wp;
    if (hi < lo)
        hi = lo;
    for (int ch = 0; ch < u->c; ch++)
        for (int r = 0; r < hp; r++) {
            float *d = dst + ((size_t)ch * (size_t)hp + (size_t)r) * (size_t)wp;
            const int ih = conv_unfold_source(r - u->ph, u->h, u->mode);
            if (ih < 0) {
                for (int k = 0; k < wp; k++)
                    d[k] = 0.0f;
                continue;
            }
            const float *src = img + (size_t)ch * plane + (size_t)ih * (size_t)u->w;
            for (int k = 0; k < lo; k++) {
                const int iw = conv_unfold_source(k - u->pw, u->w, u->mode);
                d[k] = iw < 0 ? 0.0f : src[iw];
            }
            conv_unfold_copy(d + lo, src + lo - u->pw, hi - lo);
            for (int k = hi; k < wp; k++) {
                const int iw = conv_unfold_source(k - u->pw, u->w, u->mode);
                d[k] = iw < 0 ? 0.0f : src[iw];
            }
        }
}
