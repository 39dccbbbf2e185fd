/* geom.h — the integer geometry of a spatial op (convolution, pooling,
 * batch norm, channel dropout), as the plan carries it and the kernels
 * read it.  Plain data with no pointers, so an op stays copyable and the
 * C emitter can print it as a compound literal.
 *
 * Tensors are NCHW, row-major, one sample after the other.  A 1-d op
 * (Conv1d, MaxPool1d, BatchNorm1d on (N, C, L)) is a 2-d op with h = 1:
 * the kernel, stride, padding and dilation along H are then 1, 1, 0, 1.
 * BatchNorm1d on (N, C) has h = w = 1. */
#ifndef NETC_COMPILER_GEOM_H
#define NETC_COMPILER_GEOM_H

#include <stdint.h>

/* Convolution padding modes (torch's padding_mode). */
enum { COMP_PAD_ZEROS, COMP_PAD_REFLECT, COMP_PAD_REPLICATE, COMP_PAD_CIRCULAR };

/* Pooling flags (comp_geom.flags). */
enum {
    COMP_GEOM_CEIL = 1,              /* ceil_mode=true (the compiler sized h_out/w_out) */
    COMP_GEOM_COUNT_INCLUDE_PAD = 2  /* AvgPool: padded positions count in the divisor */
};

typedef struct {
    int32_t c_in, h_in, w_in;     /* input channels and extent, per sample */
    int32_t c_out, h_out, w_out;  /* output channels and extent */
    int32_t kh, kw;               /* kernel */
    int32_t sh, sw;               /* stride */
    int32_t ph, pw;               /* padding before: top, left */
    int32_t ph_end, pw_end;       /* padding after: bottom, right (differs from
                                   * ph/pw only for padding="same" with an even
                                   * dilated kernel, where torch puts the extra
                                   * row/column after) */
    int32_t dh, dw;               /* dilation */
    int32_t oph, opw;             /* ConvTranspose output_padding */
    int32_t groups;               /* conv groups (1 elsewhere) */
    int32_t mode;                 /* conv: COMP_PAD_*; 0 elsewhere */
    int32_t flags;                /* pooling: COMP_GEOM_* */
    int32_t divisor;              /* AvgPool divisor_override, 0 for None */
} comp_geom;

/* Floats per sample of the scratch operand of a convolution op ("col" in
 * ops.def), which its forward and backward kernels may use freely, one
 * sample's share after the other (the batch's scratch is batch times
 * this):  the unfolded input of Conv (c_in*kh*kw rows of h_out*w_out), or
 * the unfolded output of ConvTranspose (c_out*kh*kw rows of h_in*w_in),
 * plus room for one output-sized tensor (c_out*h_out*w_out) for a change
 * of layout. */
static inline long comp_geom_conv_scratch(const comp_geom *g, int transposed)
{
    long col = transposed ? (long)g->c_out * g->kh * g->kw * g->h_in * g->w_in
                          : (long)g->c_in * g->kh * g->kw * g->h_out * g->w_out;
    return col + (long)g->c_out * g->h_out * g->w_out;
}

#endif
