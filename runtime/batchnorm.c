/* batchnorm.c — torch.nn.BatchNorm1d/2d: the batch statistics, the
 * running statistics' update, the normalisation and its backward.
 *
 * The roundings are those of torch's CPU float32 kernels as built for AVX2
 * (aten/src/ATen/native/cpu/batch_norm_kernel.cpp and batch_norm.cpp), run
 * on one thread:
 *  - x of (batch, C, inner) with inner > 1 (torch's contiguous kernels):
 *    the mean is the sum of the channel's values in double, divided in
 *    double and rounded to float; the variance sum adds the float squares
 *    (x - mean)^2 in double and is rounded to float; the backward sums dy
 *    and (x - mean) dy over each (sample, channel) row in eight float lanes
 *    (vec::reduce_all: lane-wise over blocks of 8, the tail into the first
 *    lanes, then a fixed tree over the lanes), adding the rows' results in
 *    double;
 *  - inner = 1, i.e. (N, C) input (torch runs its channels-last kernels):
 *    every sum is a float sum over the rows, in row order;
 *  - the kernel file is compiled with FMA contraction, so where torch's
 *    source has a*b + c the result is fmaf(a, b, c) here (the output
 *    y = x * alpha + beta, beta = b - mean * alpha, the running dot product
 *    of the backward and its input gradient).  fmaf is correctly rounded
 *    with or without an FMA unit;
 *  - invstd = 1 / sqrt(var + eps) in double from the float var = var_sum /
 *    n; in eval, 1 / sqrtf(running_var + (float)eps) in float;
 *  - the running statistics' update has the momentum as a float f:
 *    running_mean = f * mean + (1 - f) * running_mean in float, and
 *    running_var = f * unbiased + (1 - f) * running_var with the unbiased
 *    variance var_sum / (n - 1) (a float division) held in double, so its
 *    product and the sum are double, rounded to float at the end.
 * With more threads torch's (N, C) statistics depend on its thread count
 * (a partial float sum per thread); netc's never do: the work is cut by
 * channel, and a channel's arithmetic is the same in any cut. */
#include <math.h>

#include "kernels.h"
#include "spatial.h"

#if !defined NETC_EMITTED
#include "dist.h"
#include "pool.h"
#define BN_THREADED 1
#endif

/* The float lanes of torch's AVX2 vec::reduce_all. */
#define BN_LANES 8
/* Channels an (N, C) pass keeps partial sums for on the stack. */
#define BN_CBLOCK 64

typedef struct {
    const float *x, *w, *b, *smean_in, *sinv_in, *act_y, *act_z;
    float *y, *z, *dy, *rmean, *rvar, *smean, *sinv, *dx, *dw, *db;
    int batch, C;
    size_t inner;
    double eps;
    float factor; /* the running statistics' update weight */
    int batch_stats, update;
    comp_act act; /* the activation fused after the normalisation */
    float act_a, act_b;
    /* A step split across processes (dist.h): the statistics are the
     * global batch's, of count samples; sums holds 2 C partial or total
     * sums, weight this process's gradient weight. */
    int count;
    double *sums, weight;
} bn_job;

/* ------------------------------------------------------------ statistics */

/* Saves mean and invstd and updates the running statistics of channel c
 * from the float mean and variance sum of its n values, as torch's
 * batch_norm_cpu_update_stats_template (InvStd: 0 when var and eps are
 * both 0).  Returns invstd. */
static float bn_finish_stats(const bn_job *j, int c, float mean, float var_sum, size_t n)
{
    const float var = var_sum / (float)n;
    const float invstd = (var != 0.0f || j->eps != 0.0) ? (float)(1.0 / sqrt((double)var + j->eps)) : 0.0f;
    if (j->smean)
        j->smean[c] = mean;
    if (j->sinv)
        j->sinv[c] = invstd;
    if (j->update) {
        const float f = j->factor, g = 1.0f - f;
        j->rmean[c] = f * mean + g * j->rmean[c];
        const double unbiased = (double)(var_sum / (float)(n - 1));
        j->rvar[c] = (float)((double)f * unbiased + (double)(g * j->rvar[c]));
    }
    return invstd;
}

/* torch's linear and constant terms: y = x * alpha + beta. */
static void bn_terms(const bn_job *j, int c, float mean, float invstd, float *alpha, float *beta)
{
    const float w = j->w ? j->w[c] : 1.0f;
    const float b = j->b ? j->b[c] : 0.0f;
    *alpha = invstd * w;
    *beta = fmaf(-mean, *alpha, b);
}

/* Eval with running statistics: torch's float invstd of running_var. */
static void bn_running(const bn_job *j, int c, float *mean, float *invstd)
{
    *mean = j->rmean[c];
    *invstd = 1.0f / sqrtf(j->rvar[c] + (float)j->eps);
}

/* The sums of the values of rows of n floats, p[0..n), into double lanes.
 * torch adds them one after another in one double; several independent
 * accumulators give the same float mean and variance sum unless the double
 * sums lie within a few double ulps of a float rounding boundary, and let
 * the loop run at memory speed rather than at the latency of one add. */
static void bn_sum_row(double *acc, const float *p, size_t n)
{
    size_t i = 0;
    for (; i + BN_LANES <= n; i += BN_LANES)
        for (int k = 0; k < BN_LANES; k++)
            acc[k] += (double)p[i + k];
    /* The tail, fewer than BN_LANES (bounded so that a compiler that
     * knows n sees no overrun). */
    for (int k = 0; k < BN_LANES && i < n; i++, k++)
        acc[k] += (double)p[i];
}

static void bn_sq_row(double *acc, const float *p, size_t n, float mean)
{
    size_t i = 0;
    for (; i + BN_LANES <= n; i += BN_LANES)
        for (int k = 0; k < BN_LANES; k++) {
            const float d = p[i + k] - mean;
            acc[k] += (double)(d * d);
        }
    /* The tail, fewer than BN_LANES (bounded so that a compiler that
     * knows n sees no overrun). */
    for (int k = 0; k < BN_LANES && i < n; i++, k++) {
        const float d = p[i] - mean;
        acc[k] += (double)(d * d);
    }
}

static double bn_lanes_total(const double *acc)
{
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

/* ------------------------------------------------- forward, inner > 1 */

static void bn_normalize_plane(const bn_job *j, int c, float mean, float invstd);

static void bn_forward_plane(const bn_job *j, int c)
{
    const size_t inner = j->inner, stride = (size_t)j->C * inner;
    const float *x0 = j->x + (size_t)c * inner;
    float mean, invstd;
    if (j->batch_stats) {
        const size_t n = (size_t)j->batch * inner;
        double acc[BN_LANES] = {0};
        for (int s = 0; s < j->batch; s++)
            bn_sum_row(acc, x0 + s * stride, inner);
        mean = (float)(bn_lanes_total(acc) / (double)n);
        double sq[BN_LANES] = {0};
        for (int s = 0; s < j->batch; s++)
            bn_sq_row(sq, x0 + s * stride, inner, mean);
        invstd = bn_finish_stats(j, c, mean, (float)bn_lanes_total(sq), n);
    } else {
        bn_running(j, c, &mean, &invstd);
    }
    bn_normalize_plane(j, c, mean, invstd);
}

/* y = act(x * alpha + beta) over channel c's rows. */
static void bn_normalize_plane(const bn_job *j, int c, float mean, float invstd)
{
    const size_t inner = j->inner, stride = (size_t)j->C * inner;
    const float *x0 = j->x + (size_t)c * inner;
    float alpha, beta;
    bn_terms(j, c, mean, invstd, &alpha, &beta);
    for (int s = 0; s < j->batch; s++) {
        const float *xp = x0 + s * stride;
        float *yp = j->y + (size_t)c * inner + s * stride;
        float *zp = j->z ? j->z + (size_t)c * inner + s * stride : yp;
        for (size_t i = 0; i < inner; i++)
            zp[i] = fmaf(xp[i], alpha, beta);
        /* The fused activation while the row is in the cache. */
        if (j->act != COMP_ACT_IDENTITY)
            rt_act_forward(j->act, j->act_a, j->act_b, zp, yp, inner);
    }
}

/* ------------------------------------------------- forward, inner = 1 */

/* Channels [lo, hi) (at most BN_CBLOCK) of (N, C) input: torch's
 * channels-last statistics, a float sum per channel down the rows. */
static void bn_forward_cols(const bn_job *j, int lo, int hi)
{
    const int C = j->C, m = hi - lo;
    float mean[BN_CBLOCK], alpha[BN_CBLOCK], beta[BN_CBLOCK];
    if (j->batch_stats) {
        float sum[BN_CBLOCK] = {0}, sq[BN_CBLOCK] = {0};
        for (int s = 0; s < j->batch; s++) {
            const float *xp = j->x + (size_t)s * C + lo;
            for (int k = 0; k < m; k++)
                sum[k] += xp[k];
        }
        for (int k = 0; k < m; k++)
            mean[k] = (float)((double)sum[k] / (double)j->batch);
        for (int s = 0; s < j->batch; s++) {
            const float *xp = j->x + (size_t)s * C + lo;
            for (int k = 0; k < m; k++) {
                const float d = xp[k] - mean[k];
                sq[k] = fmaf(d, d, sq[k]);
            }
        }
        for (int k = 0; k < m; k++) {
            const float invstd = bn_finish_stats(j, lo + k, mean[k], sq[k], (size_t)j->batch);
            bn_terms(j, lo + k, mean[k], invstd, &alpha[k], &beta[k]);
        }
    } else {
        for (int k = 0; k < m; k++) {
            float invstd;
            bn_running(j, lo + k, &mean[k], &invstd);
            bn_terms(j, lo + k, mean[k], invstd, &alpha[k], &beta[k]);
        }
    }
    for (int s = 0; s < j->batch; s++) {
        const float *xp = j->x + (size_t)s * C + lo;
        float *yp = j->y + (size_t)s * C + lo;
        float *zp = j->z ? j->z + (size_t)s * C + lo : yp;
        for (int k = 0; k < m; k++)
            zp[k] = fmaf(xp[k], alpha[k], beta[k]);
        if (j->act != COMP_ACT_IDENTITY)
            rt_act_forward(j->act, j->act_a, j->act_b, zp, yp, (size_t)m);
    }
}

/* ------------------------------------------------ backward, inner > 1 */

/* The lanes' total in the order of torch's AVX2 reduction: halves, then
 * pairs, then neighbours. */
static float bn_tree(const float *a)
{
    const float h0 = a[0] + a[4], h1 = a[1] + a[5], h2 = a[2] + a[6], h3 = a[3] + a[7];
    return (h0 + h2) + (h1 + h3);
}

/* One (sample, channel) row of n >= BN_LANES elements: the lanes of
 * torch's vec::reduce_all of dy and of vec::map2_reduce_all of (x - mean)
 * dy, in one pass (each lane adds the elements k, k + 8, ...; the last
 * n % 8 go to the first lanes).  After the first block the dot's
 * additions are fused with their products, as torch's compiler fuses
 * them.  Kept out of line (NETC_NOINLINE): inlined into its caller's
 * loops, GCC 12 splits the lane arrays into scalars and the lanes no
 * longer run as one vector. */
NETC_NOINLINE
static void bn_row_lanes(const float *x, const float *dy, float mean, size_t n, float *sum, float *dot)
{
    float s[BN_LANES], d[BN_LANES];
    for (int k = 0; k < BN_LANES; k++) {
        s[k] = dy[k];
        d[k] = (x[k] - mean) * dy[k];
    }
    size_t i = BN_LANES;
    for (; i + BN_LANES <= n; i += BN_LANES)
        for (int k = 0; k < BN_LANES; k++) {
            s[k] += dy[i + k];
            d[k] = fmaf(x[i + k] - mean, dy[i + k], d[k]);
        }
    /* The tail, fewer than BN_LANES (bounded so that a compiler that
     * knows n sees no overrun). */
    for (int k = 0; k < BN_LANES && i < n; i++, k++) {
        s[k] += dy[i];
        d[k] = fmaf(x[i] - mean, dy[i], d[k]);
    }
    for (int k = 0; k < BN_LANES; k++) {
        sum[k] = s[k];
        dot[k] = d[k];
    }
}

/* The sums of a row's dy and (x - mean) dy as torch reduces them. */
static void bn_row_sums(const float *x, const float *dy, float mean, size_t n, float *sum, float *dot)
{
    if (n < BN_LANES) {
        /* Fewer elements than lanes: torch adds them one by one. */
        float s = dy[0], d = (x[0] - mean) * dy[0];
        for (size_t i = 1; i < n; i++) {
            s += dy[i];
            d += (x[i] - mean) * dy[i];
        }
        *sum = s;
        *dot = d;
        return;
    }
    float s[BN_LANES], d[BN_LANES];
    bn_row_lanes(x, dy, mean, n, s, d);
    *sum = bn_tree(s);
    *dot = bn_tree(d);
}

/* dx of channel c from the sums of dy and (x - mean) dy over n values. */
static void bn_input_grad_plane(const bn_job *j, int c, double sum, double dot, size_t n)
{
    const size_t inner = j->inner, stride = (size_t)j->C * inner, off = (size_t)c * inner;
    const float mean = j->smean_in[c], invstd = j->sinv_in[c];
    const float w = j->w ? j->w[c] : 1.0f;
    const float k = (float)dot * invstd * invstd / (float)n;
    const float grad_mean = (float)(sum / (double)n);
    for (int s = 0; s < j->batch; s++) {
        const float *xp = j->x + off + s * stride, *dyp = j->dy + off + s * stride;
        float *dxp = j->dx + off + s * stride;
        for (size_t i = 0; i < inner; i++)
            dxp[i] = fmaf(-(xp[i] - mean), k, dyp[i] - grad_mean) * invstd * w;
    }
}

/* Channel c's sums of dy and (x - mean) dy over this batch's rows, after
 * taking dy through the fused activation in place. */
static void bn_grad_sums_plane(const bn_job *j, int c, double *sum_out, double *dot_out)
{
    const size_t inner = j->inner, stride = (size_t)j->C * inner, off = (size_t)c * inner;
    const float mean = j->smean_in[c];
    double sum = 0.0, dot = 0.0;
    for (int s = 0; s < j->batch; s++) {
        const float *xp = j->x + off + s * stride;
        float *dyp = j->dy + off + s * stride;
        /* Through the fused activation first, in place: dy becomes the
         * gradient of the normalised value. */
        if (j->act != COMP_ACT_IDENTITY)
            rt_act_backward(j->act, j->act_a, j->act_b, j->act_z ? j->act_z + off + s * stride : NULL,
                            j->act_y + off + s * stride, dyp, dyp, inner);
        float rs, rd;
        bn_row_sums(xp, dyp, mean, inner, &rs, &rd);
        sum += (double)rs;
        dot += (double)rd;
    }
    *sum_out = sum;
    *dot_out = dot;
}

static void bn_backward_plane(const bn_job *j, int c)
{
    const size_t n = (size_t)j->batch * j->inner;
    const float invstd = j->sinv_in[c];
    double sum, dot;
    bn_grad_sums_plane(j, c, &sum, &dot);
    if (j->dx)
        bn_input_grad_plane(j, c, sum, dot, n);
    if (j->dw)
        j->dw[c] = (float)(dot * (double)invstd);
    if (j->db)
        j->db[c] = (float)sum;
}

/* ------------------------------------------------ backward, inner = 1 */

static void bn_backward_cols(const bn_job *j, int lo, int hi)
{
    const int C = j->C, m = hi - lo;
    const float *mean = j->smean_in + lo, *invstd = j->sinv_in + lo;
    float sum[BN_CBLOCK] = {0}, dot[BN_CBLOCK] = {0};
    if (j->act != COMP_ACT_IDENTITY)
        for (int s = 0; s < j->batch; s++) {
            const size_t o = (size_t)s * C + lo;
            rt_act_backward(j->act, j->act_a, j->act_b, j->act_z ? j->act_z + o : NULL, j->act_y + o, j->dy + o,
                            j->dy + o, (size_t)m);
        }
    for (int s = 0; s < j->batch; s++) {
        const float *xp = j->x + (size_t)s * C + lo, *dyp = j->dy + (size_t)s * C + lo;
        for (int k = 0; k < m; k++) {
            sum[k] += dyp[k];
            dot[k] = fmaf(xp[k] - mean[k], dyp[k], dot[k]);
        }
    }
    if (j->dx) {
        const float n = (float)j->batch;
        float kk[BN_CBLOCK], gm[BN_CBLOCK], w[BN_CBLOCK];
        for (int k = 0; k < m; k++) {
            kk[k] = dot[k] * invstd[k] * invstd[k] / n;
            gm[k] = sum[k] / n;
            w[k] = j->w ? j->w[lo + k] : 1.0f;
        }
        for (int s = 0; s < j->batch; s++) {
            const float *xp = j->x + (size_t)s * C + lo, *dyp = j->dy + (size_t)s * C + lo;
            float *dxp = j->dx + (size_t)s * C + lo;
            for (int k = 0; k < m; k++)
                dxp[k] = fmaf(-(xp[k] - mean[k]), kk[k], dyp[k] - gm[k]) * invstd[k] * w[k];
        }
    }
    for (int k = 0; k < m; k++) {
        if (j->dw)
            j->dw[lo + k] = dot[k] * invstd[k];
        if (j->db)
            j->db[lo + k] = sum[k];
    }
}

/* ------------------------------------------------------------- the cut */

/* Tasks are channels (inner > 1) or blocks of BN_CBLOCK channels (inner =
 * 1): a function of the shape alone. */
static int bn_ntasks(const bn_job *j)
{
    return j->inner > 1 ? j->C : (j->C + BN_CBLOCK - 1) / BN_CBLOCK;
}

static void bn_forward_task(void *ctx, int t)
{
    const bn_job *j = ctx;
    if (j->inner > 1)
        bn_forward_plane(j, t);
    else
        bn_forward_cols(j, t * BN_CBLOCK, t * BN_CBLOCK + BN_CBLOCK < j->C ? t * BN_CBLOCK + BN_CBLOCK : j->C);
}

static void bn_backward_task(void *ctx, int t)
{
    const bn_job *j = ctx;
    if (j->inner > 1)
        bn_backward_plane(j, t);
    else
        bn_backward_cols(j, t * BN_CBLOCK, t * BN_CBLOCK + BN_CBLOCK < j->C ? t * BN_CBLOCK + BN_CBLOCK : j->C);
}

/* Layers below this many elements run on the calling thread: handing
 * tasks to the workers costs more than the pass. */
#define BN_PAR_MIN ((size_t)1 << 15)

static void bn_run(void (*task)(void *, int), bn_job *j)
{
    const int nt = bn_ntasks(j);
#ifdef BN_THREADED
    if ((size_t)j->batch * (size_t)j->C * j->inner >= BN_PAR_MIN) {
        rt_pool_run(task, j, nt);
        return;
    }
#endif
    for (int t = 0; t < nt; t++)
        task(j, t);
}

/* ------------------------------------ a step split across processes */

#ifdef BN_THREADED
/* As torch's SyncBatchNorm: the statistics of the global batch, from the
 * processes' partial sums (rt_dist_sum_doubles), by channel for any inner
 * (the (N, C) case too, at a slower pace than bn_forward_cols: the sums
 * are not torch's float ones, and processes agree with one process within
 * rounding, not bit for bit).  The gradients' sums are weighted into the
 * global batch's (rt_dist_step's weight) and back into this process's
 * scale, which rt_dist_reduce_grads undoes. */
static void bn_sync_sum_task(void *ctx, int c)
{
    const bn_job *j = ctx;
    const size_t stride = (size_t)j->C * j->inner;
    const float *x0 = j->x + (size_t)c * j->inner;
    double acc[BN_LANES] = {0};
    for (int s = 0; s < j->batch; s++)
        bn_sum_row(acc, x0 + s * stride, j->inner);
    j->sums[c] = bn_lanes_total(acc);
}

static void bn_sync_sq_task(void *ctx, int c)
{
    const bn_job *j = ctx;
    const size_t stride = (size_t)j->C * j->inner;
    const float *x0 = j->x + (size_t)c * j->inner;
    const float mean = (float)(j->sums[c] / ((double)j->count * (double)j->inner));
    double acc[BN_LANES] = {0};
    for (int s = 0; s < j->batch; s++)
        bn_sq_row(acc, x0 + s * stride, j->inner, mean);
    j->sums[j->C + c] = bn_lanes_total(acc);
}

static void bn_sync_normalize_task(void *ctx, int c)
{
    const bn_job *j = ctx;
    const size_t n = (size_t)j->count * j->inner;
    const float mean = (float)(j->sums[c] / (double)n);
    bn_normalize_plane(j, c, mean, bn_finish_stats(j, c, mean, (float)j->sums[j->C + c], n));
}

static void bn_sync_grad_sums_task(void *ctx, int c)
{
    const bn_job *j = ctx;
    double sum, dot;
    bn_grad_sums_plane(j, c, &sum, &dot);
    /* This process's parts of the parameter gradients, in its own scale. */
    if (j->dw)
        j->dw[c] = (float)(dot * (double)j->sinv_in[c]);
    if (j->db)
        j->db[c] = (float)sum;
    j->sums[c] = sum * j->weight;
    j->sums[j->C + c] = dot * j->weight;
}

static void bn_sync_input_grad_task(void *ctx, int c)
{
    const bn_job *j = ctx;
    if (j->weight > 0.0)
        bn_input_grad_plane(j, c, j->sums[c] / j->weight, j->sums[j->C + c] / j->weight,
                            (size_t)j->count * j->inner);
}

/* Runs task on every channel, in the pool when the layer is large. */
static void bn_run_channels(void (*task)(void *, int), bn_job *j)
{
    if ((size_t)j->batch * (size_t)j->C * j->inner >= BN_PAR_MIN) {
        rt_pool_run(task, j, j->C);
        return;
    }
    for (int c = 0; c < j->C; c++)
        task(j, c);
}

/* Whether a training call belongs to a split step (count > 0): a process
 * with no samples of it still takes part in its sums, at batch 0
 * (rt_net_idle_step). */
static int bn_split_step(int *count, double *weight)
{
    int lo, hi;
    return rt_dist_step(&lo, &hi, count, weight);
}

static void bn_sync_forward(bn_job *j)
{
    j->sums = rt_dist_scratch(2 * (size_t)j->C);
    bn_run_channels(bn_sync_sum_task, j);
    rt_dist_sum_doubles(j->sums, (size_t)j->C);
    bn_run_channels(bn_sync_sq_task, j);
    rt_dist_sum_doubles(j->sums + j->C, (size_t)j->C);
    bn_run_channels(bn_sync_normalize_task, j);
}

static void bn_sync_backward(bn_job *j)
{
    j->sums = rt_dist_scratch(2 * (size_t)j->C);
    bn_run_channels(bn_sync_grad_sums_task, j);
    rt_dist_sum_doubles(j->sums, 2 * (size_t)j->C);
    if (j->dx)
        bn_run_channels(bn_sync_input_grad_task, j);
}
#endif

void rt_batchnorm_forward(const float *x, float *y, const float *w, const float *b, float *rmean, float *rvar,
                          float *nbt, float *save_mean, float *save_invstd, int batch, int C, size_t inner,
                          double eps, double momentum, int training, comp_act act, float a, float bb, float *z)
{
    int count = 0;
    double weight = 0.0;
#ifdef BN_THREADED
    const int split = training && bn_split_step(&count, &weight);
#else
    const int split = 0;
#endif
    if (batch < !split || C <= 0 || inner == 0)
        return;
    const int running = rmean != NULL;
    bn_job j = {.count = count, .weight = weight, .x = x, .w = w, .b = b, .y = y, .z = z == y ? NULL : z, .rmean = rmean, .rvar = rvar,
                .batch = batch, .C = C, .inner = inner, .eps = eps, .batch_stats = training || !running,
                .act = act, .act_a = a, .act_b = bb};
    if (j.batch_stats) {
        j.smean = save_mean;
        j.sinv = save_invstd;
    }
    if (training && running) {
        /* torch's Python module: num_batches_tracked += 1, and momentum
         * None averages over every batch so far. */
        *nbt += 1.0f;
        j.factor = (float)(isnan(momentum) ? 1.0 / (double)*nbt : momentum);
        j.update = 1;
    }
#ifdef BN_THREADED
    if (split) {
        bn_sync_forward(&j);
        return;
    }
#endif
    bn_run(bn_forward_task, &j);
}

void rt_batchnorm_backward(const float *x, float *dy, const float *w, const float *save_mean,
                           const float *save_invstd, float *dx, float *dw, float *db, int batch, int C,
                           size_t inner, comp_act act, float a, float b, const float *y, const float *z)
{
    int count = 0;
    double weight = 0.0;
#ifdef BN_THREADED
    const int split = bn_split_step(&count, &weight);
#else
    const int split = 0;
#endif
    if (batch < !split || C <= 0 || inner == 0)
        return;
    bn_job j = {.count = count, .weight = weight, .x = x, .dy = dy, .w = w, .smean_in = save_mean, .sinv_in = save_invstd, .dx = dx, .dw = dw,
                .db = db, .batch = batch, .C = C, .inner = inner, .act = act, .act_a = a, .act_b = b,
                .act_y = y, .act_z = z};
#ifdef BN_THREADED
    if (split) {
        bn_sync_backward(&j);
        return;
    }
#endif
    bn_run(bn_backward_task, &j);
}
