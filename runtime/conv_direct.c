/* conv_direct.c — stride-1 convolution kernels that read the input's
 * windows in place (contract in conv_direct.h).
 *
 * Two register-blocked kernels, written as loops over small fixed-size
 * arrays that the compiler keeps in vector registers (with 512-bit
 * vectors, 24 of the 32; the loops' bounds are constants so that it can
 * unroll them completely):
 *  - the grid (forward, input gradient): a block of CONV_DIRECT_MR output
 *    rows by NV vectors of CONV_DIRECT_VL positions.  Each tap costs NV
 *    contiguous loads of the input and MR broadcasts of a weight for
 *    MR*NV multiply-adds, and the weights of one block of rows, packed
 *    tap-major, are read in order;
 *  - the weight gradient: a block of NT taps by CO output channels, over
 *    the positions of a sample.  Each position costs CO/VL loads of the
 *    output gradient (laid out position-major, channels contiguous) and
 *    NT broadcasts of input elements for NT*CO multiply-adds.
 * With 16 channels gcc unrolled the channel loop first and vectorised
 * across taps, with shuffles and the sums in memory; unrolling the tap
 * loop (a pragma other compilers may ignore) keeps the form above.
 * Every sum is one chain of fmaf in a fixed order (taps, or positions),
 * so the result does not depend on how the caller cuts the work. */
#include "conv_direct.h"

#include <math.h>

#define CONV_DIRECT_VL 16 /* floats per vector lane group (one 512-bit vector) */
#define CONV_DIRECT_MR 8  /* grid: output rows per block */

size_t rt_conv_direct_packed(int m, int k)
{
    const size_t blocks = (size_t)(m + CONV_DIRECT_MR - 1) / CONV_DIRECT_MR;
    return blocks * CONV_DIRECT_MR * (size_t)k;
}

void rt_conv_direct_pack(const float *W, int m, int k, float *wt)
{
    for (int r0 = 0; r0 < m; r0 += CONV_DIRECT_MR)
        for (int t = 0; t < k; t++)
            for (int r = 0; r < CONV_DIRECT_MR; r++)
                *wt++ = r0 + r < m ? W[(size_t)(r0 + r) * (size_t)k + (size_t)t] : 0.0f;
}

void rt_conv_direct_pack_flip(const float *W, int cout, int cin, int kh, int kw, float *wt)
{
    const size_t kk = (size_t)kh * (size_t)kw;
    for (int r0 = 0; r0 < cin; r0 += CONV_DIRECT_MR)
        for (int co = 0; co < cout; co++)
            for (int i = 0; i < kh; i++)
                for (int j = 0; j < kw; j++)
                    for (int r = 0; r < CONV_DIRECT_MR; r++) {
                        const size_t tap = (size_t)(kh - 1 - i) * (size_t)kw + (size_t)(kw - 1 - j);
                        *wt++ = r0 + r < cin ? W[((size_t)co * (size_t)cin + (size_t)(r0 + r)) * kk + tap] : 0.0f;
                    }
}

/* One block of the grid: rows [0, rows) of MR (wt at the block's packed
 * weights), positions [0, cols) of NV vectors from in (at the block's
 * first position). */
#define CONV_DIRECT_GRID(NV)                                                                                     \
    static void conv_direct_grid_##NV(const rt_conv_taps *t, const float *wt, const float *in, float *out,      \
                                      size_t ldo, int rows, int cols)                                            \
    {                                                                                                            \
        float acc[CONV_DIRECT_MR][NV * CONV_DIRECT_VL];                                                          \
        for (int r = 0; r < CONV_DIRECT_MR; r++)                                                                 \
            for (int l = 0; l < NV * CONV_DIRECT_VL; l++)                                                        \
                acc[r][l] = 0.0f;                                                                                \
        for (int c = 0; c < t->nc; c++)                                                                          \
            for (int a = 0; a < t->kh; a++)                                                                      \
                for (int b = 0; b < t->kw; b++) {                                                                \
                    const float *x = in + (size_t)c * t->plane + (size_t)a * (size_t)t->rs + (size_t)b * (size_t)t->cs; \
                    for (int r = 0; r < CONV_DIRECT_MR; r++) {                                                   \
                        const float w = wt[r];                                                                   \
                        for (int l = 0; l < NV * CONV_DIRECT_VL; l++)                                            \
                            acc[r][l] = fmaf(w, x[l], acc[r][l]);                                                \
                    }                                                                                            \
                    wt += CONV_DIRECT_MR;                                                                        \
                }                                                                                                \
        for (int r = 0; r < rows; r++)                                                                           \
            for (int l = 0; l < cols; l++)                                                                       \
                out[(size_t)r * ldo + (size_t)l] = acc[r][l];                                                    \
    }
CONV_DIRECT_GRID(1)
CONV_DIRECT_GRID(2)
CONV_DIRECT_GRID(3)

void rt_conv_direct_grid(const rt_conv_taps *t, int m, const float *wt, const float *in, size_t q, float *out,
                         size_t ldo)
{
    const size_t k = (size_t)t->nc * (size_t)t->kh * (size_t)t->kw;
    for (int r0 = 0; r0 < m; r0 += CONV_DIRECT_MR) {
        const int rows = m - r0 < CONV_DIRECT_MR ? m - r0 : CONV_DIRECT_MR;
        const float *w = wt + (size_t)r0 * k;
        float *o = out + (size_t)r0 * ldo;
        size_t i = 0;
        for (; i + 3 * CONV_DIRECT_VL <= q; i += 3 * CONV_DIRECT_VL)
            conv_direct_grid_3(t, w, in + i, o + i, ldo, rows, 3 * CONV_DIRECT_VL);
        const int left = (int)(q - i);
        if (left > 2 * CONV_DIRECT_VL)
            conv_direct_grid_3(t, w, in + i, o + i, ldo, rows, left);
        else if (left > CONV_DIRECT_VL)
            conv_direct_grid_2(t, w, in + i, o + i, ldo, rows, left);
        else if (left > 0)
            conv_direct_grid_1(t, w, in + i, o + i, ldo, rows, left);
    }
}

/* The weight gradient's blocks: NT taps by CO channels. */
#define CONV_DIRECT_WGRAD(NT, CO)                                                                                \
    static void conv_direct_wgrad_##NT##x##CO(const int *toff, int ho, int wo, int pitch, const float *in,      \
                                               const float *dzt, int mpad, float *acc_out, int first)           \
    {                                                                                                            \
        float acc[NT][CO];                                                                                       \
        for (int t = 0; t < NT; t++)                                                                             \
            for (int c = 0; c < CO; c++)                                                                         \
                acc[t][c] = first ? 0.0f : acc_out[(size_t)t * (size_t)mpad + (size_t)c];                        \
        for (int oh = 0; oh < ho; oh++)                                                                          \
            for (int ow = 0; ow < wo; ow++) {                                                                    \
                const float *d = dzt + ((size_t)oh * (size_t)wo + (size_t)ow) * (size_t)mpad;                    \
                const float *x = in + (size_t)oh * (size_t)pitch + (size_t)ow;                                   \
                _Pragma("GCC unroll 24") for (int t = 0; t < NT; t++) {                                          \
                    const float v = x[toff[t]];                                                                  \
                    for (int c = 0; c < CO; c++)                                                                 \
                        acc[t][c] = fmaf(d[c], v, acc[t][c]);                                                    \
                }                                                                                                \
            }                                                                                                    \
        for (int t = 0; t < NT; t++)                                                                             \
            for (int c = 0; c < CO; c++)                                                                         \
                acc_out[(size_t)t * (size_t)mpad + (size_t)c] = acc[t][c];                                       \
    }
CONV_DIRECT_WGRAD(12, 32)
CONV_DIRECT_WGRAD(24, 16)

int rt_conv_direct_wgrad_taps(int m)
{
    return m % 32 == 0 ? 12 : 24;
}

int rt_conv_direct_wgrad_mpad(int m)
{
    return m % 32 == 0 ? m : (m + 15) / 16 * 16;
}

void rt_conv_direct_wgrad(const rt_conv_taps *t, int ho, int wo, int pitch, const float *in, const float *dzt,
                          int mpad, int k0, int c0, float *acc, int first)
{
    int toff[24];
    const int nt = mpad % 32 == 0 ? 12 : 24, k = t->nc * t->kh * t->kw;
    for (int i = 0; i < nt; i++) {
        const int tap = k0 + i < k ? k0 + i : k - 1, kk = t->kh * t->kw;
        const int c = tap / kk, a = tap % kk / t->kw, b = tap % t->kw;
        toff[i] = (int)((size_t)c * t->plane) + a * t->rs + b * t->cs;
    }
    float *o = acc + (size_t)k0 * (size_t)mpad + (size_t)c0;
    if (nt == 12)
        conv_direct_wgrad_12x32(toff, ho, wo, pitch, in, dzt + c0, mpad, o, first);
    else
        conv_direct_wgrad_24x16(toff, ho, wo, pitch, in, dzt + c0, mpad, o, first);
}
