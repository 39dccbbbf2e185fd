/* conv_direct.h — stride-1 convolution read in place from padded planes,
 * with no unfolded columns (runtime-internal, for runtime/conv.c).
 *
 * The input is nc planes `plane` floats apart, each padded so that every
 * window lies inside it, rows `pitch` floats long.  Flattened with that
 * pitch, the window of output position (oh, ow) for tap (c, i, j) starts
 * at c*plane + i*rs + j*cs + oh*pitch + ow (rs = dilation_h * pitch, cs =
 * dilation_w): so the outputs of a plane, computed on the padded grid
 * (oh*pitch + ow, the columns past the output's width thrown away), are
 * each tap's weight times a contiguous run of the input, which vectorises
 * over positions with no gather.  The same grid serves the input gradient
 * of a zero-padded convolution: the convolution of the padded output
 * gradient with the flipped kernel. */
#ifndef NETC_RUNTIME_CONV_DIRECT_H
#define NETC_RUNTIME_CONV_DIRECT_H

#include <stddef.h>

typedef struct {
    int nc, kh, kw;  /* input planes; taps per plane, in row-major order */
    size_t plane;    /* floats from one input plane to the next */
    int rs, cs;      /* floats from one tap row, and column, to the next */
} rt_conv_taps;

/* Floats that rt_conv_direct_pack* write for m outputs of k taps each. */
size_t rt_conv_direct_packed(int m, int k);

/* wt = rows [0, m) of W (m rows of k taps, ld k) packed for
 * rt_conv_direct_grid (blocks of rows, tap-major, zero rows past m). */
void rt_conv_direct_pack(const float *W, int m, int k, float *wt);

/* The same for the input gradient: W is (cout, cin, kh, kw); output row
 * ci, tap (co, i, j) takes W[co][ci][kh-1-i][kw-1-j]. */
void rt_conv_direct_pack_flip(const float *W, int cout, int cin, int kh, int kw, float *wt);

/* out[r*ldo + i] = sum over taps (c, a, b) in order of wt(r, tap) *
 * in[c*plane + a*rs + b*cs + i], for r < m, i < q, each a chain of
 * multiply-adds from zero (fmaf: one rounding each).  Reads in up to the
 * last tap's offset plus q rounded up to 16, minus one. */
void rt_conv_direct_grid(const rt_conv_taps *t, int m, const float *wt, const float *in, size_t q, float *out,
                         size_t ldo);

/* Row multiple rt_conv_direct_wgrad works in (taps) and its padding of
 * the output channels (mpad, a multiple of it). */
int rt_conv_direct_wgrad_taps(int m);
int rt_conv_direct_wgrad_mpad(int m);

/* The weight gradient of one sample, added to acc: acc[k*mpad + co] +=
 * sum over output positions (oh, ow) in order of dzt[(oh*wo + ow)*mpad +
 * co] * in[tap_k + oh*pitch + ow], for taps [k0, k0 + rt_conv_direct_wgrad_taps)
 * and channels [c0, c0 + its block) (zero when `first`).  Taps past the
 * last (t->nc*kh*kw) read the last one's input and go to acc rows past
 * it, which the caller allocates (taps rounded up) and ignores. */
void rt_conv_direct_wgrad(const rt_conv_taps *t, int ho, int wo, int pitch, const float *in, const float *dzt,
                          int mpad, int k0, int c0, float *acc, int first);

#endif
