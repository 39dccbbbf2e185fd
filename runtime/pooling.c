/* pooling.c — max, average and adaptive pooling over NCHW planes
 * (runtime/spatial.h), with torch's CPU float32 arithmetic: the same
 * window bounds, comparisons, summation order and divisions as ATen's
 * MaxPoolKernel.cpp, AvgPoolKernel.cpp, AdaptiveAvgPoolKernel.cpp and
 * AdaptiveMaxPoolKernel.cpp (torch 1.13), so forward and backward give
 * torch's bits.
 *
 * Every channel plane of every sample is independent, forward and
 * backward (a window never leaves its plane), so the kernels loop over
 * planes and a range of planes is the unit of work; cut into tasks by the
 * tensor's shape, the bits cannot depend on the thread count.  A 1-d pool
 * is a 2-d pool with h = 1, as torch computes it (unsqueeze to 2-d). */
#include <math.h>
#include <string.h>

#include "spatial.h"
#include "torch_sum.h"

#ifndef NETC_EMITTED
#include "pool.h"
#define POOLING_THREADED 1
#endif

/* One call's operands.  Forward: src is x, dst y, idx written (or NULL);
 * backward: src is dy, dst dx, idx read. */
typedef struct {
    const comp_geom *g;
    const float *src;
    float *dst;
    float *idx;
    const float *idx_in;
} pooling_job;

typedef void pooling_planes_fn(void *ctx, size_t lo, size_t hi);

/* Input rows [*lo, *hi) of output row o of an adaptive pool:
 * floor(o * in / out) .. ceil((o + 1) * in / out), in integers as ATen's
 * start_index/end_index. */
static inline void pooling_adaptive_range(int o, int out, int in, int *lo, int *hi)
{
    *lo = (int)((long)o * in / out);
    *hi = (int)(((long)(o + 1) * in + out - 1) / out);
}

/* The outputs ow of a row whose window element at column offset off
 * (iw = ow*sw + off) lies inside the input: [*lo, *hi). */
static inline void pooling_cols(int off, int sw, int w_in, int w_out, int *lo, int *hi)
{
    int a = off >= 0 ? 0 : (-off + sw - 1) / sw;
    int b = w_in - off > 0 ? (w_in - off + sw - 1) / sw : 0;
    *lo = a;
    *hi = b < w_out ? b : w_out;
}

/* ------------------------------------------------------------ max pools */

/* torch's max pool scans each window in row-major order from maxval =
 * -inf, index = the window's first input element, and an element replaces
 * the maximum when greater or NaN: the first maximum wins, and the last
 * NaN.  The kernels below take the window elements in that order but
 * update a whole output row per element, the test written with | rather
 * than || so that the loop over the row becomes selects and vectorises.  An index still at -1 marks an output that has
 * seen no element yet: its first element is taken unconditionally, which
 * is the same as torch's start (an element is either greater than -inf,
 * NaN, or -inf, which leaves -inf with the first index).  A window holding
 * no input element (impossible with torch's padding <= kernel/2 and its
 * ceil_mode rule) is left at -inf and -1, which the backward skips. */
#define POOLING_MAX_TAKE(v, m, k) (((v) > (m)) | ((v) != (v)) | ((k) < 0))

/* MaxPool2d(2) without padding where every window is whole (floor mode,
 * or ceil mode on even sizes): the four elements in one pass. */
static void pooling_max2_plane(const comp_geom *g, const float *restrict x, float *restrict y, float *restrict idx)
{
    const int w_in = g->w_in, h_out = g->h_out, w_out = g->w_out;
    for (int oh = 0; oh < h_out; oh++) {
        const float *r0 = x + (size_t)(2 * oh) * w_in, *r1 = r0 + w_in;
        float *yr = y + (size_t)oh * w_out;
        if (!idx) {
            for (int ow = 0; ow < w_out; ow++) {
                float m = r0[2 * ow];
                const float b = r0[2 * ow + 1], c = r1[2 * ow], d = r1[2 * ow + 1];
                m = ((b > m) | (b != b)) ? b : m;
                m = ((c > m) | (c != c)) ? c : m;
                m = ((d > m) | (d != d)) ? d : m;
                yr[ow] = m;
            }
            continue;
        }
        float *ir = idx + (size_t)oh * w_out;
        const int base = 2 * oh * w_in;
        for (int ow = 0; ow < w_out; ow++) {
            float m = r0[2 * ow];
            int k = base + 2 * ow;
            const float b = r0[2 * ow + 1], c = r1[2 * ow], d = r1[2 * ow + 1];
            const int ub = (b > m) | (b != b);
            m = ub ? b : m;
            k = ub ? base + 2 * ow + 1 : k;
            const int uc = (c > m) | (c != c);
            m = uc ? c : m;
            k = uc ? base + w_in + 2 * ow : k;
            const int ud = (d > m) | (d != d);
            m = ud ? d : m;
            k = ud ? base + w_in + 2 * ow + 1 : k;
            yr[ow] = m;
            ir[ow] = (float)k;
        }
    }
}

static int pooling_is_max2(const comp_geom *g)
{
    return g->kh == 2 && g->kw == 2 && g->sh == 2 && g->sw == 2 && g->ph == 0 && g->pw == 0 && g->dh == 1 &&
           g->dw == 1 && 2 * g->h_out <= g->h_in && 2 * g->w_out <= g->w_in;
}

/* Outputs per block of a row where a kernel keeps per-output state on
 * the stack (no allocation): the max pool's indices, the average pool
 * backward's quotients.  Blocks split a row without changing the order in
 * which any one output (or input) is computed. */
#define POOLING_BLOCK 128

/* One plane of MaxPool: output row oh takes input rows oh*sh - ph + i*dh
 * and columns ow*sw - pw + j*dw that lie in the input (torch's bounds:
 * the window clipped to the input, ceil_mode's overhang included).  The
 * indices are kept as integers during the scan and converted once at the
 * end: a conversion inside the select would keep the loop scalar (it may
 * raise a floating-point flag, so the compiler will not speculate it). */
static void pooling_max_plane(const comp_geom *g, const float *restrict x, float *restrict y, float *restrict idx)
{
    if (pooling_is_max2(g)) {
        pooling_max2_plane(g, x, y, idx);
        return;
    }
    const int h_in = g->h_in, w_in = g->w_in, w_out = g->w_out, sw = g->sw;
    int32_t kb[POOLING_BLOCK];
    for (int oh = 0; oh < g->h_out; oh++) {
        for (int b0 = 0; b0 < w_out; b0 += POOLING_BLOCK) {
            const int b1 = b0 + POOLING_BLOCK < w_out ? b0 + POOLING_BLOCK : w_out;
            float *yr = y + (size_t)oh * w_out;
            for (int ow = b0; ow < b1; ow++) {
                yr[ow] = -INFINITY;
                kb[ow - b0] = -1;
            }
            for (int i = 0; i < g->kh; i++) {
                const int ih = oh * g->sh - g->ph + i * g->dh;
                if (ih < 0 || ih >= h_in)
                    continue;
                const float *xr = x + (size_t)ih * w_in;
                for (int j = 0; j < g->kw; j++) {
                    const int off = j * g->dw - g->pw;
                    int lo, hi;
                    pooling_cols(off, sw, w_in, w_out, &lo, &hi);
                    lo = lo > b0 ? lo : b0;
                    hi = hi < b1 ? hi : b1;
                    if (!idx) {
                        for (int ow = lo; ow < hi; ow++) {
                            const float v = xr[ow * sw + off];
                            yr[ow] = ((v > yr[ow]) | (v != v)) ? v : yr[ow];
                        }
                        continue;
                    }
                    const int base = ih * w_in + off;
                    for (int ow = lo; ow < hi; ow++) {
                        const float v = xr[ow * sw + off], m = yr[ow];
                        const int32_t k = kb[ow - b0];
                        const int take = POOLING_MAX_TAKE(v, m, k);
                        yr[ow] = take ? v : m;
                        kb[ow - b0] = take ? base + ow * sw : k;
                    }
                }
            }
            if (idx)
                for (int ow = b0; ow < b1; ow++)
                    idx[(size_t)oh * w_out + ow] = (float)kb[ow - b0];
        }
    }
}

/* One plane of AdaptiveMaxPool: the same scan over each output's window
 * (windows differ in size from output to output). */
static void pooling_adaptive_max_plane(const comp_geom *g, const float *restrict x, float *restrict y,
                                       float *restrict idx)
{
    const int w_in = g->w_in, w_out = g->w_out;
    for (int oh = 0; oh < g->h_out; oh++) {
        int ih0, ih1;
        pooling_adaptive_range(oh, g->h_out, g->h_in, &ih0, &ih1);
        for (int ow = 0; ow < w_out; ow++) {
            int iw0, iw1;
            pooling_adaptive_range(ow, w_out, w_in, &iw0, &iw1);
            float m = -INFINITY;
            int32_t k = -1;
            for (int ih = ih0; ih < ih1; ih++)
                for (int iw = iw0; iw < iw1; iw++) {
                    const float v = x[ih * w_in + iw];
                    const int take = POOLING_MAX_TAKE(v, m, k);
                    m = take ? v : m;
                    k = take ? ih * w_in + iw : k;
                }
            y[(size_t)oh * w_out + ow] = m;
            if (idx)
                idx[(size_t)oh * w_out + ow] = (float)k;
        }
    }
}

/* The backward of both max pools, as ATen's: dx zeroed, then dy added at
 * each output's index in output order (overlapping windows sum in that
 * order). */
static void pooling_max_back_plane(const comp_geom *g, const float *dy, const float *idx, float *dx)
{
    const size_t in = (size_t)g->h_in * g->w_in, out = (size_t)g->h_out * g->w_out;
    memset(dx, 0, in * sizeof *dx);
    for (size_t o = 0; o < out; o++) {
        const long k = (long)idx[o];
        if (k >= 0 && (size_t)k < in)
            dx[k] += dy[o];
    }
}

/* ------------------------------------------------------------ avg pools */

/* Window bounds of torch's avg_pool2d along one axis for output o: start
 * o*s - p, end min(start + k, n + p); *size is end - start (the padded
 * window, ceil_mode's overhang past the padding cut off), then both are
 * clipped to the input. */
static inline void pooling_avg_range(int o, int s, int p, int k, int n, int *lo, int *hi, int *size)
{
    int a = o * s - p, b = a + k < n + p ? a + k : n + p;
    *size = b - a;
    *lo = a > 0 ? a : 0;
    *hi = b < n ? b : n;
}

/* torch's divide_factor: divisor_override, else the padded window's size
 * with count_include_pad, else the count of input elements; 0 for a
 * window without input elements (whose output torch leaves at 0). */
static inline int pooling_avg_divisor(const comp_geom *g, int oh, int ow)
{
    int ih0, ih1, hsize, iw0, iw1, wsize;
    pooling_avg_range(oh, g->sh, g->ph, g->kh, g->h_in, &ih0, &ih1, &hsize);
    pooling_avg_range(ow, g->sw, g->pw, g->kw, g->w_in, &iw0, &iw1, &wsize);
    if (ih0 >= ih1 || iw0 >= iw1)
        return 0;
    if (g->divisor)
        return g->divisor;
    return (g->flags & COMP_GEOM_COUNT_INCLUDE_PAD) ? hsize * wsize : (ih1 - ih0) * (iw1 - iw0);
}

int rt_avgpool_divisor(const comp_geom *g, int oh, int ow)
{
    return pooling_avg_divisor(g, oh, ow);
}

/* One plane of AvgPool.  torch sums each window in float from 0 in
 * row-major order, then writes 0 + sum / divisor (it accumulates into a
 * zeroed output, which turns a -0 quotient into +0).  The sums are kept
 * in the output row, one window element at a time for the whole row,
 * which adds in the same order per output. */
static void pooling_avg_plane(const comp_geom *g, const float *restrict x, float *restrict y)
{
    const int h_in = g->h_in, w_in = g->w_in, w_out = g->w_out, sw = g->sw;
    for (int oh = 0; oh < g->h_out; oh++) {
        float *yr = y + (size_t)oh * w_out;
        for (int ow = 0; ow < w_out; ow++)
            yr[ow] = 0.0f;
        for (int i = 0; i < g->kh; i++) {
            const int ih = oh * g->sh - g->ph + i;
            if (ih < 0 || ih >= h_in)
                continue;
            const float *xr = x + (size_t)ih * w_in;
            for (int j = 0; j < g->kw; j++) {
                const int off = j - g->pw;
                int lo, hi;
                pooling_cols(off, sw, w_in, w_out, &lo, &hi);
                for (int ow = lo; ow < hi; ow++)
                    yr[ow] += xr[ow * sw + off];
            }
        }
        for (int ow = 0; ow < w_out; ow++) {
            const int div = pooling_avg_divisor(g, oh, ow);
            yr[ow] = div ? 0.0f + yr[ow] / (float)div : 0.0f;
        }
    }
}

/* torch's backward zeroes dx, then adds dy / divisor over each output's
 * window in output order.  Here each output row's window elements are
 * taken for a block of outputs at a time, column offsets from the last to
 * the first: an input element then still receives its contributions in
 * increasing output order (within a row, a larger offset means a smaller
 * ow), so every sum has torch's order. */
static void pooling_avg_back_plane(const comp_geom *g, const float *restrict dy, float *restrict dx)
{
    const int h_in = g->h_in, w_in = g->w_in, w_out = g->w_out, sw = g->sw;
    float d[POOLING_BLOCK];
    memset(dx, 0, (size_t)h_in * w_in * sizeof *dx);
    for (int oh = 0; oh < g->h_out; oh++) {
        for (int b0 = 0; b0 < w_out; b0 += POOLING_BLOCK) {
            const int b1 = b0 + POOLING_BLOCK < w_out ? b0 + POOLING_BLOCK : w_out;
            for (int ow = b0; ow < b1; ow++) {
                const int div = pooling_avg_divisor(g, oh, ow);
                d[ow - b0] = div ? dy[(size_t)oh * w_out + ow] / (float)div : 0.0f;
            }
            for (int i = 0; i < g->kh; i++) {
                const int ih = oh * g->sh - g->ph + i;
                if (ih < 0 || ih >= h_in)
                    continue;
                float *dr = dx + (size_t)ih * w_in;
                for (int j = g->kw - 1; j >= 0; j--) {
                    const int off = j - g->pw;
                    int lo, hi;
                    pooling_cols(off, sw, w_in, w_out, &lo, &hi);
                    lo = lo > b0 ? lo : b0;
                    hi = hi < b1 ? hi : b1;
                    for (int ow = lo; ow < hi; ow++)
                        dr[ow * sw + off] += d[ow - b0];
                }
            }
        }
    }
}

/* torch's adaptive_avg_pool2d computes a 1x1 output as mean over H and W
 * (sum with its reduction order, then one division); other sizes sum each
 * window in order and divide by the window's height, then its width. */
static int pooling_is_global(const comp_geom *g)
{
    return g->h_out == 1 && g->w_out == 1;
}

static void pooling_adaptive_avg_plane(const comp_geom *g, const float *restrict x, float *restrict y)
{
    const int w_in = g->w_in, w_out = g->w_out;
    if (pooling_is_global(g)) {
        const size_t n = (size_t)g->h_in * w_in;
        y[0] = rt_torch_sum(x, NULL, n, RT_SUM_PLAIN) / (float)n;
        return;
    }
    for (int oh = 0; oh < g->h_out; oh++) {
        int ih0, ih1;
        pooling_adaptive_range(oh, g->h_out, g->h_in, &ih0, &ih1);
        for (int ow = 0; ow < w_out; ow++) {
            int iw0, iw1;
            pooling_adaptive_range(ow, w_out, w_in, &iw0, &iw1);
            float s = 0.0f;
            for (int ih = ih0; ih < ih1; ih++)
                for (int iw = iw0; iw < iw1; iw++)
                    s += x[ih * w_in + iw];
            y[(size_t)oh * w_out + ow] = s / (float)(ih1 - ih0) / (float)(iw1 - iw0);
        }
    }
}

static void pooling_adaptive_avg_back_plane(const comp_geom *g, const float *restrict dy, float *restrict dx)
{
    const int w_in = g->w_in, w_out = g->w_out;
    const size_t n = (size_t)g->h_in * w_in;
    if (pooling_is_global(g)) {
        const float d = dy[0] / (float)n;
        for (size_t i = 0; i < n; i++)
            dx[i] = d;
        return;
    }
    memset(dx, 0, n * sizeof *dx);
    for (int oh = 0; oh < g->h_out; oh++) {
        int ih0, ih1;
        pooling_adaptive_range(oh, g->h_out, g->h_in, &ih0, &ih1);
        for (int ow = 0; ow < w_out; ow++) {
            int iw0, iw1;
            pooling_adaptive_range(ow, w_out, w_in, &iw0, &iw1);
            const float d = dy[(size_t)oh * w_out + ow] / (float)(ih1 - ih0) / (float)(iw1 - iw0);
            for (int ih = ih0; ih < ih1; ih++)
                for (int iw = iw0; iw < iw1; iw++)
                    dx[ih * w_in + iw] += d;
        }
    }
}

/* ------------------------------------------------------ planes and tasks */

/* Plane ranges [lo, hi) of each pass: forward planes read src per input
 * plane and write dst per output plane, backward the other way round. */
#define POOLING_PLANES(name, body)                                              \
    static void name(void *ctx, size_t lo, size_t hi)                           \
    {                                                                           \
        const pooling_job *j = ctx;                                             \
        const comp_geom *g = j->g;                                              \
        const size_t in = (size_t)g->h_in * g->w_in;                            \
        const size_t out = (size_t)g->h_out * g->w_out;                         \
        for (size_t p = lo; p < hi; p++) {                                      \
            body;                                                               \
        }                                                                       \
    }
POOLING_PLANES(pooling_max_planes,
               pooling_max_plane(g, j->src + p * in, j->dst + p * out, j->idx ? j->idx + p * out : NULL))
POOLING_PLANES(pooling_adaptive_max_planes,
               pooling_adaptive_max_plane(g, j->src + p * in, j->dst + p * out, j->idx ? j->idx + p * out : NULL))
POOLING_PLANES(pooling_max_back_planes, pooling_max_back_plane(g, j->src + p * out, j->idx_in + p * out,
                                                               j->dst + p * in))
POOLING_PLANES(pooling_avg_planes, pooling_avg_plane(g, j->src + p * in, j->dst + p * out))
POOLING_PLANES(pooling_avg_back_planes, pooling_avg_back_plane(g, j->src + p * out, j->dst + p * in))
POOLING_PLANES(pooling_adaptive_avg_planes, pooling_adaptive_avg_plane(g, j->src + p * in, j->dst + p * out))
POOLING_PLANES(pooling_adaptive_avg_back_planes,
               pooling_adaptive_avg_back_plane(g, j->src + p * out, j->dst + p * in))

#ifdef POOLING_THREADED
/* Floats read and written per task, about: a task is a whole number of
 * planes, as many as make this much traffic, so small layers (and small
 * batches) stay on the calling thread and the cut depends only on the
 * plane sizes and the batch. */
#define POOLING_TASK_FLOATS 32768
#endif

/* Runs fn over the batch's planes, in tasks of whole planes. */
static void pooling_run(pooling_planes_fn *fn, const comp_geom *g, const float *src, float *dst, float *idx,
                        const float *idx_in, int batch)
{
    if (batch <= 0 || g->c_in <= 0)
        return;
    const pooling_job j = {g, src, dst, idx, idx_in};
    const size_t planes = (size_t)batch * (size_t)g->c_in;
#ifdef POOLING_THREADED
    const size_t per = (size_t)g->h_in * g->w_in + (size_t)g->h_out * g->w_out;
    const size_t chunk = per > 0 && per < POOLING_TASK_FLOATS ? POOLING_TASK_FLOATS / per : 1;
    rt_pool_chunks(fn, (void *)&j, planes, chunk);
#else
    fn((void *)&j, 0, planes);
#endif
}

void rt_maxpool_forward(const comp_geom *g, const float *x, float *y, float *idx, int batch)
{
    pooling_run(pooling_max_planes, g, x, y, idx, NULL, batch);
}

void rt_maxpool_backward(const comp_geom *g, const float *dy, const float *idx, float *dx, int batch)
{
    if (dx)
        pooling_run(pooling_max_back_planes, g, dy, dx, NULL, idx, batch);
}

void rt_avgpool_forward(const comp_geom *g, const float *x, float *y, int batch)
{
    pooling_run(pooling_avg_planes, g, x, y, NULL, NULL, batch);
}

void rt_avgpool_backward(const comp_geom *g, const float *dy, float *dx, int batch)
{
    if (dx)
        pooling_run(pooling_avg_back_planes, g, dy, dx, NULL, NULL, batch);
}

void rt_adaptive_avgpool_forward(const comp_geom *g, const float *x, float *y, int batch)
{
    pooling_run(pooling_adaptive_avg_planes, g, x, y, NULL, NULL, batch);
}

void rt_adaptive_avgpool_backward(const comp_geom *g, const float *dy, float *dx, int batch)
{
    if (dx)
        pooling_run(pooling_adaptive_avg_back_planes, g, dy, dx, NULL, NULL, batch);
}

void rt_adaptive_maxpool_forward(const comp_geom *g, const float *x, float *y, float *idx, int batch)
{
    pooling_run(pooling_adaptive_max_planes, g, x, y, idx, NULL, batch);
}

void rt_adaptive_maxpool_backward(const comp_geom *g, const float *dy, const float *idx, float *dx, int batch)
{
    if (dx)
        pooling_run(pooling_max_back_planes, g, dy, dx, NULL, idx, batch);
}
