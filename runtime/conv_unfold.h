/* conv_unfold.h — unfolding an image into the columns of a convolution
 * (im2col) and folding columns back onto it (col2im), for runtime/conv.c
 * (runtime-internal).
 *
 * The image is c planes of h x w floats.  Column matrix row (ch*kh + i)*kw
 * + j, position oh*wo + ow holds the image element at row oh*sh - ph +
 * i*dh, column ow*sw - pw + j*dw of plane ch, through the padding mode
 * (geom.h's COMP_PAD_*) where that falls outside: zero, the mirrored
 * element (reflect, without repeating the edge), the edge element
 * (replicate) or the element a period away (circular), as torch's F.pad.
 * Rows are ld floats apart, so several samples' columns can sit side by
 * side in one matrix.
 *
 * A convolution unfolds its input (the image) over its output positions;
 * a transposed convolution folds its columns onto its output (the image)
 * from its input positions. */
#ifndef NETC_RUNTIME_CONV_UNFOLD_H
#define NETC_RUNTIME_CONV_UNFOLD_H

#include <stddef.h>

typedef struct {
    int c, h, w;  /* the image */
    int ho, wo;   /* the window positions: the columns are ho*wo wide */
    int kh, kw, sh, sw, ph, pw, dh, dw;
    int mode;     /* COMP_PAD_* */
} rt_conv_unfold;

/* col (c*kh*kw rows of ho*wo, ld apart) = the windows of img. */
void rt_conv_im2col(const rt_conv_unfold *u, const float *img, float *col, size_t ld);

/* img = 0, then every column element added to the image element it was
 * read from (padded positions: to the element they copy, or nowhere for
 * zeros), in an order fixed by the geometry: per image row and kernel
 * row, the kernel columns' elements summed into a padded row first, which
 * is then added onto the image (rows wider than conv_unfold.c's buffer:
 * in column row order then position order). */
void rt_conv_col2im(const rt_conv_unfold *u, const float *col, size_t ld, float *img);

/* dst (c planes of hp x wp, plane after plane) = img padded: dst row r,
 * column k holds image row r - ph, column k - pw, through the padding
 * mode where that falls outside (ph and pw may exceed or, for a crop, be
 * below what the windows need).  For the direct kernels
 * (runtime/conv_direct.c), which read windows in place. */
void rt_conv_pad(const rt_conv_unfold *u, const float *img, float *dst, int hp, int wp);

#endif
