/* conv.c — Conv1d/2d and ConvTranspose1d/2d (contracts in spatial.h):
 * im2col (runtime/conv_unfold.c) into the scratch, then SGEMM, with the
 * bias and activation fused into the pass that puts the product in place.
 *
 * The scratch is a column area (batch times the unfolded columns of one
 * sample: of the input for a convolution, of the output for a transposed
 * one) followed by a rows area (batch times one output's size).  Two
 * layouts of them are used:
 *  - per chunk of samples (forward, input gradient): the chunk's share of
 *    each area holds one matrix whose columns are its samples' positions
 *    side by side, so one GEMM covers several samples where one sample's
 *    product would be too small to run a BLAS efficiently (LeNet's first
 *    layer is 6 x 25 x 784 per sample), and the rows area takes the
 *    product before the bias pass moves it into NCHW order;
 *  - across the batch (weight gradient): the other operand of dW (dz for
 *    a convolution, x for a transposed one) rearranged into the rows area
 *    as every sample's positions side by side (ld = batch * positions).
 *    A transposed convolution also unfolds dz across the batch into the
 *    column area and forms dW as one product over every sample.  A
 *    convolution instead unfolds x chunk by chunk (conv_setup_weight),
 *    each chunk's columns used by its product while they are in cache,
 *    and adds the chunks' products in chunk order: unfolding the whole
 *    batch first wrote columns far larger than the caches and read them
 *    back from memory.
 *
 * Stride-1 convolutions (groups 1) skip the unfolding where their
 * buffers fit (conv_setup_direct): runtime/conv_direct.c's kernels read
 * the windows in place from a padded copy of the image, the forward per
 * sample, the input gradient (zero padding, input channels in blocks of
 * 8) as the convolution of the padded dz with the flipped kernel, the
 * weight gradient (output channels in vectors of 16) from every sample's
 * padded x and position-major dz laid out first.  im2col + SGEMM spent a
 * third of its time outside the product on these shapes.
 *
 * Threads (runtime only): chunks of samples are pool tasks (grouped one
 * group per thread, see conv_run_chunks); the weight gradient is cut into
 * blocks of its rows and columns, each its own GEMM calls.  Every cut of
 * the arithmetic follows the shape alone, so each element comes from the
 * same calls on the same operands, added in the same order, at every
 * thread count. */
#include "act_fused.h"
#include "conv_direct.h"
#include "conv_unfold.h"
#include "kernels.h"
#include "spatial.h"

/* The products, as runtime/linear.c's (alpha 1, beta 0, row-major). */
#if defined NETC_PORTABLE_GEMM
#define CONV_GEMM_NT(m, n, k, A, lda, B, ldb, C, ldc) rt_gemm_nt(m, n, k, A, lda, B, ldb, C, ldc)
#define CONV_GEMM_TN(m, n, k, A, lda, B, ldb, C, ldc) rt_gemm_tn(m, n, k, A, lda, B, ldb, C, ldc)
#define CONV_GEMM_NN(m, n, k, A, lda, B, ldb, C, ldc) rt_gemm_nn(m, n, k, A, lda, B, ldb, C, ldc)
#elif defined NETC_EMITTED
#include <cblas.h>
#define CONV_GEMM_NT(m, n, k, A, lda, B, ldb, C, ldc) \
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, A, lda, B, ldb, 0.0f, C, ldc)
#define CONV_GEMM_TN(m, n, k, A, lda, B, ldb, C, ldc) \
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, m, n, k, 1.0f, A, lda, B, ldb, 0.0f, C, ldc)
#define CONV_GEMM_NN(m, n, k, A, lda, B, ldb, C, ldc) \
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, A, lda, B, ldb, 0.0f, C, ldc)
#else
#include "blas.h"
#include "pool.h"
#define CONV_GEMM_NT(m, n, k, A, lda, B, ldb, C, ldc) rt_blas_sgemm(0, 1, m, n, k, A, lda, B, ldb, C, ldc)
#define CONV_GEMM_TN(m, n, k, A, lda, B, ldb, C, ldc) rt_blas_sgemm(1, 0, m, n, k, A, lda, B, ldb, C, ldc)
#define CONV_GEMM_NN(m, n, k, A, lda, B, ldb, C, ldc) rt_blas_sgemm(0, 0, m, n, k, A, lda, B, ldb, C, ldc)
#define CONV_THREADED 1
#endif

/* Samples per chunk: enough for about this many multiply-adds per GEMM
 * call, below which a call's fixed costs (packing, dispatch) dominate. */
#define CONV_CHUNK_MACS (1L << 20)
/* A weight gradient below this many multiply-adds stays one call. */
#define CONV_PAR_MIN_MACS (1L << 22)

static void conv_range(size_t n, size_t align, int part, int nparts, size_t *lo, size_t *hi);

/* One op's operands and the shape-derived quantities every pass uses. */
typedef struct {
    const float *x, *W, *bias, *dy, *zin, *yin;
    float *z, *y, *dz, *dx, *dW, *db;
    float *col, *rows;       /* the scratch's two areas */
    rt_conv_unfold u;        /* the unfolding, image to columns */
    int transposed, batch, chunk, nchunks;
    int groups, c_in, c_out, cig, cog;
    int kg;                  /* column rows per group */
    size_t p;                /* column positions per sample */
    size_t xsz, ysz, colsz;  /* per sample: input, output, columns */
    int relayout;            /* transposed: x fits the rows area */
    int mb, nb, ndb;         /* weight gradient blocks, bias gradient blocks */
    int wchunk, wnchunks;    /* convolution weight gradient: samples per chunk */
    size_t wreg;             /* ... and scratch floats per weight gradient task */
    /* Stride-1 paths with no unfolding (conv_setup_direct): forward,
     * input gradient, weight gradient; their padded planes and grids. */
    int dfwd, ddx, dwgt;
    size_t fneed, dneed;     /* scratch floats of one sample's forward, input gradient */
    rt_conv_taps tx, tdz;    /* taps over padded x, over padded dz */
    int hp, wp, hd, wd;      /* padded x planes, padded dz planes */
    size_t qf, qd;           /* grid positions: forward, input gradient */
    size_t xps, dzps;        /* floats per padded copy (with the grid's overread) */
    int mpad, wtaps, kpad;   /* weight gradient: channels padded, taps per block, taps padded */
    size_t dzts;             /* ... floats of one sample's dz, position-major */
    comp_act act;
    float a, b;
} conv_job;

static int conv_clamp(long v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : (int)v;
}

/* The largest part of [0, n) that conv_range cuts into nparts. */
static size_t conv_range_max(size_t n, size_t align, int nparts)
{
    size_t m = 0;
    for (int t = 0; t < nparts; t++) {
        size_t lo, hi;
        conv_range(n, align, t, nparts, &lo, &hi);
        m = hi - lo > m ? hi - lo : m;
    }
    return m;
}

/* A convolution's weight gradient runs as tasks of blocks of output
 * channels (mb) by blocks of input channels (nb) per group, each over the
 * batch in chunks of wchunk samples: the chunk's columns of the block's
 * channels, then one product summed over the chunk, added to the block's
 * sum of the chunks before.  Each task has wreg floats of the columns
 * area: the chunk's columns and, after the first chunk, the product
 * before it is added.  Chunks shrink until that fits; at worst one chunk
 * of the whole batch per group, which always fits (and needs no room for
 * a product).  Everything follows the shape alone. */
static void conv_setup_weight(conv_job *j, int kk)
{
    /* Blocks of output channels would each unfold the same columns again. */
    j->mb = 1;
    j->nb = j->nb < j->cig ? j->nb : (j->cig > 0 ? j->cig : 1);
    for (;;) {
        const int ntasks = j->groups * j->mb * j->nb;
        const size_t kmax = conv_range_max((size_t)j->cig, 1, j->nb) * (size_t)kk;
        const size_t mmax = conv_range_max((size_t)j->cog, 4, j->mb);
        j->wreg = (size_t)j->batch * j->colsz / (size_t)ntasks;
        for (j->wchunk = j->chunk; j->wchunk >= 1; j->wchunk--) {
            j->wnchunks = (j->batch + j->wchunk - 1) / j->wchunk;
            const size_t need = kmax * (size_t)j->wchunk * j->p + (j->wnchunks > 1 ? mmax * kmax : 0);
            if (need <= j->wreg)
                return;
        }
        if (j->mb == 1 && j->nb == 1)
            break;
        j->mb = j->nb = 1;
    }
    j->wchunk = j->batch;
    j->wnchunks = 1;
}

/* n rounded up to a multiple of 16 (the grid kernel's overread). */
static size_t conv_round16(size_t n)
{
    return (n + 15) / 16 * 16;
}

/* The stride-1 paths, each taken when its buffers fit what the scratch
 * holds (all from the shape, never from the thread count).  The forward
 * and input gradient run per sample in a chunk's share of the column area
 * (at least one sample's columns): packed weights, the padded planes and
 * the grid of outputs.  The weight gradient lays out every sample's
 * padded x and position-major dz in the column area, then a sum per
 * weight, kept taps by channels. */
static void conv_setup_direct(conv_job *j, const comp_geom *g)
{
    j->dfwd = j->ddx = j->dwgt = 0;
    if (g->sh != 1 || g->sw != 1 || j->groups != 1)
        return;
    const int kk = g->kh * g->kw;
    j->hp = g->h_in + g->ph + g->ph_end;
    j->wp = g->w_in + g->pw + g->pw_end;
    if (j->hp - (g->kh - 1) * g->dh != g->h_out || j->wp - (g->kw - 1) * g->dw != g->w_out || g->h_out <= 0 ||
        g->w_out <= 0)
        return;
    const size_t planep = (size_t)j->hp * (size_t)j->wp;
    j->qf = (size_t)(g->h_out - 1) * (size_t)j->wp + (size_t)g->w_out;
    j->xps = (size_t)g->c_in * planep + conv_round16(j->qf) - j->qf;
    j->tx = (rt_conv_taps){.nc = g->c_in, .kh = g->kh, .kw = g->kw, .plane = planep, .rs = g->dh * j->wp,
                           .cs = g->dw};
    j->fneed = rt_conv_direct_packed(g->c_out, j->kg) + j->xps + (size_t)g->c_out * j->qf;
    j->dfwd = j->fneed <= j->colsz;

    j->hd = g->h_in + (g->kh - 1) * g->dh;
    j->wd = g->w_in + (g->kw - 1) * g->dw;
    const size_t planed = (size_t)j->hd * (size_t)j->wd;
    j->qd = (size_t)(g->h_in - 1) * (size_t)j->wd + (size_t)g->w_in;
    j->dzps = (size_t)g->c_out * planed + conv_round16(j->qd) - j->qd;
    j->tdz = (rt_conv_taps){.nc = g->c_out, .kh = g->kh, .kw = g->kw, .plane = planed, .rs = g->dh * j->wd,
                            .cs = g->dw};
    j->dneed = rt_conv_direct_packed(g->c_in, g->c_out * kk) + j->dzps + (size_t)g->c_in * j->qd;
    /* Rows come in blocks of 8: fewer input channels would waste lanes
     * (LeNet-5's second layer, 6 channels, ran faster as GEMM + col2im). */
    j->ddx = g->mode == COMP_PAD_ZEROS && g->c_in % 8 == 0 && j->dneed <= j->colsz;

    j->mpad = rt_conv_direct_wgrad_mpad(g->c_out);
    j->wtaps = rt_conv_direct_wgrad_taps(g->c_out);
    j->kpad = (j->kg + j->wtaps - 1) / j->wtaps * j->wtaps;
    j->dzts = j->p * (size_t)j->mpad;
    const size_t wneed = (size_t)j->batch * (j->xps + j->dzts) + (size_t)j->kpad * (size_t)j->mpad;
    /* Channels come in vectors of 16: LeNet-5's first layer, 6 of them,
     * ran faster as GEMM. */
    j->dwgt = g->c_out % 16 == 0 && wneed <= (size_t)j->batch * j->colsz;
}

static void conv_setup(conv_job *j, const comp_geom *g, int batch, int transposed, float *scratch)
{
    const int kk = g->kh * g->kw;
    j->transposed = transposed;
    j->batch = batch;
    j->groups = g->groups > 0 ? g->groups : 1;
    j->c_in = g->c_in;
    j->c_out = g->c_out;
    j->cig = g->c_in / j->groups;
    j->cog = g->c_out / j->groups;
    j->xsz = (size_t)g->c_in * (size_t)g->h_in * (size_t)g->w_in;
    j->ysz = (size_t)g->c_out * (size_t)g->h_out * (size_t)g->w_out;
    rt_conv_unfold u = {.kh = g->kh, .kw = g->kw, .sh = g->sh, .sw = g->sw, .ph = g->ph, .pw = g->pw,
                        .dh = g->dh, .dw = g->dw};
    if (transposed) { /* the output is the image, the input positions the windows */
        u.c = g->c_out, u.h = g->h_out, u.w = g->w_out, u.ho = g->h_in, u.wo = g->w_in;
        u.mode = COMP_PAD_ZEROS;
        j->kg = j->cog * kk;
    } else {
        u.c = g->c_in, u.h = g->h_in, u.w = g->w_in, u.ho = g->h_out, u.wo = g->w_out;
        u.mode = g->mode;
        j->kg = j->cig * kk;
    }
    j->u = u;
    j->p = (size_t)u.ho * (size_t)u.wo;
    j->colsz = (size_t)u.c * (size_t)kk * j->p;
    j->col = scratch;
    j->rows = scratch ? scratch + (size_t)batch * j->colsz : NULL; /* NULL: sizes only */
    j->relayout = transposed && j->xsz <= j->ysz;
    /* Multiply-adds of one sample's product (all groups). */
    const long macs = (long)(transposed ? g->c_in : g->c_out) * j->kg * (long)j->p;
    j->chunk = macs > 0 ? conv_clamp(CONV_CHUNK_MACS / macs, 1, batch) : batch;
    j->nchunks = (batch + j->chunk - 1) / j->chunk;
    const int m = transposed ? j->cig : j->cog;
    j->mb = j->nb = 1;
    j->ndb = 1;
#ifdef CONV_THREADED
    if (macs * batch >= CONV_PAR_MIN_MACS) {
        j->mb = conv_clamp(m / 32, 1, 4);
        j->nb = conv_clamp(j->kg / 96, 1, 4);
        j->ndb = conv_clamp(g->c_out / 32, 1, 4);
    }
#else
    (void)m;
#endif
    if (!transposed) {
        conv_setup_weight(j, kk);
        conv_setup_direct(j, g);
    }
}

/* One task of a pass; the same type as pool.h's rt_pool_fn. */
typedef void conv_task_fn(void *ctx, int task);

/* fn for every task, on the pool's threads in the runtime. */
static void conv_run(conv_task_fn *fn, const void *j, int ntasks)
{
#ifdef CONV_THREADED
    if (ntasks > 1) {
        rt_pool_run(fn, (void *)j, ntasks);
        return;
    }
#endif
    for (int t = 0; t < ntasks; t++)
        fn((void *)j, t);
}

/* A pass over the chunks of samples whose work is independent from chunk
 * to chunk and reads nothing of the scratch but its own share of it: fn
 * does chunk c, given the share of the col and rows areas it may use.
 * The chunks are grouped into one task per thread, and every chunk of a
 * task runs in the share of the task's first chunk: so a forward touches
 * threads times one chunk's scratch, which stays in the core's cache,
 * rather than the whole batch's, whose columns went out to L3 and came
 * back for every chunk.  The grouping follows the thread count but the
 * chunks do not: each chunk computes the same thing in any group, so the
 * results are the same at every thread count. */
typedef void conv_chunk_fn(const conv_job *j, int c, float *col, float *rows);

typedef struct {
    const conv_job *j;
    conv_chunk_fn *fn;
    int ntasks;
} conv_chunk_pass;

static void conv_chunk_group(void *ctx, int t)
{
    const conv_chunk_pass *cp = ctx;
    const conv_job *j = cp->j;
    const int c0 = (int)((long)j->nchunks * t / cp->ntasks), c1 = (int)((long)j->nchunks * (t + 1) / cp->ntasks);
    const size_t s0 = (size_t)c0 * (size_t)j->chunk;
    for (int c = c0; c < c1; c++)
        cp->fn(j, c, j->col + s0 * j->colsz, j->rows + s0 * j->ysz);
}

static void conv_run_chunks(conv_chunk_fn *fn, const conv_job *j)
{
    int threads = 1;
#ifdef CONV_THREADED
    threads = rt_pool_threads();
#endif
    conv_chunk_pass cp = {j, fn, threads < j->nchunks ? threads : j->nchunks};
    conv_run(conv_chunk_group, &cp, cp.ntasks);
}

/* Part `part` of [0, n) in nparts, inner edges at multiples of align (as
 * pool.h's rt_pool_range, which emitted code does not have). */
static void conv_range(size_t n, size_t align, int part, int nparts, size_t *lo, size_t *hi)
{
    const size_t blocks = (n + align - 1) / align;
    const size_t b0 = blocks * (size_t)part / (size_t)nparts, b1 = blocks * (size_t)(part + 1) / (size_t)nparts;
    *lo = b0 * align < n ? b0 * align : n;
    *hi = b1 * align < n ? b1 * align : n;
}

/* Samples [*s0, *s1) of chunk c. */
static void conv_chunk(const conv_job *j, int c, int *s0, int *s1)
{
    *s0 = c * j->chunk;
    *s1 = *s0 + j->chunk < j->batch ? *s0 + j->chunk : j->batch;
}

/* One sample's c planes of p floats into rows ld apart (its columns of a
 * side-by-side matrix), and back; the way back adds bias[ch] (when not
 * NULL) to plane ch, which src == dst (ld == p) does in place. */
static void conv_to_rows(const float *src, int c, size_t p, float *dst, size_t ld)
{
    for (int ch = 0; ch < c; ch++)
        for (size_t i = 0; i < p; i++)
            dst[(size_t)ch * ld + i] = src[(size_t)ch * p + i];
}

static void conv_from_rows(const float *src, size_t ld, const float *bias, int c, size_t p, float *dst)
{
    for (int ch = 0; ch < c; ch++) {
        const float *s = src + (size_t)ch * ld;
        float *d = dst + (size_t)ch * p;
        if (bias) {
            const float bc = bias[ch];
            for (size_t i = 0; i < p; i++)
                d[i] = s[i] + bc;
        } else if (s != d) {
            for (size_t i = 0; i < p; i++)
                d[i] = s[i];
        }
    }
}

/* y = act(acc) over n floats from the chunk's first output (acc is z when
 * it is kept apart, else y itself). */
static void conv_act_forward(const conv_job *j, const float *acc, float *y, size_t n)
{
    if (j->act == COMP_ACT_IDENTITY && acc == y)
        return;
    rt_act_rows_forward(j->act, j->a, j->b, acc, NULL, NULL, y, 1, n, n);
}

/* ------------------------------------------------------------ forward */

/* Convolution, samples of chunk c: unfold, one GEMM per group (into the
 * rows area for several samples, straight into the output for one), then
 * the bias and the activation. */
static void conv_forward_chunk(const conv_job *j, int c, float *col, float *rows)
{
    int s0, s1;
    conv_chunk(j, c, &s0, &s1);
    const int ns = s1 - s0;
    const size_t ldc = (size_t)ns * j->p;
    float *acc = (j->z ? j->z : j->y) + (size_t)s0 * j->ysz;
    for (int s = 0; s < ns; s++)
        rt_conv_im2col(&j->u, j->x + (size_t)(s0 + s) * j->xsz, col + (size_t)s * j->p, ldc);
    for (int grp = 0; grp < j->groups; grp++) {
        const float *A = j->W + (size_t)grp * j->cog * j->kg, *B = col + (size_t)grp * j->kg * ldc;
        if (ns > 1)
            CONV_GEMM_NN(j->cog, (int)ldc, j->kg, A, j->kg, B, (int)ldc, rows + (size_t)grp * j->cog * ldc,
                         (int)ldc);
        else
            CONV_GEMM_NN(j->cog, (int)ldc, j->kg, A, j->kg, B, (int)ldc, acc + (size_t)grp * j->cog * j->p,
                         (int)j->p);
    }
    for (int s = 0; s < ns; s++) {
        const float *src = ns > 1 ? rows + (size_t)s * j->p : acc;
        conv_from_rows(src, ns > 1 ? ldc : j->p, j->bias, j->c_out, j->p, acc + (size_t)s * j->ysz);
    }
    conv_act_forward(j, acc, j->y + (size_t)s0 * j->ysz, (size_t)ns * j->ysz);
}

/* The stride-1 passes run per sample, task t of ntasks taking samples
 * [batch*t/ntasks, batch*(t+1)/ntasks) in the share of its first sample,
 * shares of one sample's need (fneed, dneed: no more than its columns),
 * where it packs the weights once.  So a forward needs no more scratch
 * than batch times fneed (rt_conv_forward_scratch).  Each sample's result
 * is the same in any task. */
typedef void conv_direct_fn(const conv_job *j, int s, const float *wt, float *work);

typedef struct {
    const conv_job *j;
    conv_direct_fn *fn;
    int ntasks, transposed_w;
} conv_direct_pass;

static void conv_direct_task(void *ctx, int t)
{
    const conv_direct_pass *dp = ctx;
    const conv_job *j = dp->j;
    const int s0 = (int)((long)j->batch * t / dp->ntasks), s1 = (int)((long)j->batch * (t + 1) / dp->ntasks);
    if (s1 <= s0)
        return;
    float *wt = j->col + (size_t)s0 * (dp->transposed_w ? j->dneed : j->fneed);
    size_t nw;
    if (dp->transposed_w) {
        nw = rt_conv_direct_packed(j->c_in, j->c_out * j->u.kh * j->u.kw);
        rt_conv_direct_pack_flip(j->W, j->c_out, j->c_in, j->u.kh, j->u.kw, wt);
    } else {
        nw = rt_conv_direct_packed(j->c_out, j->kg);
        rt_conv_direct_pack(j->W, j->c_out, j->kg, wt);
    }
    for (int s = s0; s < s1; s++)
        dp->fn(j, s, wt, wt + nw);
}

static void conv_direct_run(conv_direct_fn *fn, const conv_job *j, int transposed_w)
{
    int threads = 1;
#ifdef CONV_THREADED
    threads = rt_pool_threads();
#endif
    conv_direct_pass dp = {j, fn, threads < j->batch ? threads : j->batch, transposed_w};
    conv_run(conv_direct_task, &dp, dp.ntasks);
}

/* Stride-1 convolution, sample s: x padded, the grid of outputs over the
 * padded rows, then each output row out of the grid with the bias added
 * and the activation applied (into z and y when z is kept apart). */
static void conv_direct_forward_sample(const conv_job *j, int s, const float *wt, float *work)
{
    float *xp = work, *grid = xp + j->xps;
    for (size_t i = (size_t)j->c_in * j->tx.plane; i < j->xps; i++)
        xp[i] = 0.0f;
    rt_conv_pad(&j->u, j->x + (size_t)s * j->xsz, xp, j->hp, j->wp);
    rt_conv_direct_grid(&j->tx, j->c_out, wt, xp, j->qf, grid, j->qf);
    const int ho = j->u.ho, wo = j->u.wo;
    float *y = j->y + (size_t)s * j->ysz, *z = j->z && j->z != j->y ? j->z + (size_t)s * j->ysz : NULL;
    for (int co = 0; co < j->c_out; co++) {
        const float bc = j->bias ? j->bias[co] : 0.0f;
        for (int oh = 0; oh < ho; oh++) {
            const float *src = grid + (size_t)co * j->qf + (size_t)oh * (size_t)j->wp;
            const size_t off = ((size_t)co * (size_t)ho + (size_t)oh) * (size_t)wo;
            float *dst = z ? z + off : y + off;
            if (j->bias)
                for (int ow = 0; ow < wo; ow++)
                    dst[ow] = src[ow] + bc;
            else
                for (int ow = 0; ow < wo; ow++)
                    dst[ow] = src[ow];
            if (z && j->act == COMP_ACT_IDENTITY)
                for (int ow = 0; ow < wo; ow++)
                    y[off + (size_t)ow] = dst[ow];
        }
    }
    if (j->act != COMP_ACT_IDENTITY)
        rt_act_rows_forward(j->act, j->a, j->b, z ? z : y, NULL, NULL, y, 1, j->ysz, j->ysz);
}

/* Transposed convolution, chunk c: the columns W_g^T x_g of each group
 * (one GEMM over the chunk when x, rearranged, fits the rows area, else
 * one per sample), folded onto the output, then bias and activation. */
static void conv_transpose_forward_chunk(const conv_job *j, int c, float *col, float *rows)
{
    int s0, s1;
    conv_chunk(j, c, &s0, &s1);
    const int ns = s1 - s0;
    const size_t ldc = (size_t)ns * j->p;
    float *acc = (j->z ? j->z : j->y) + (size_t)s0 * j->ysz;
    const int batched = j->relayout && ns > 1;
    if (batched)
        for (int s = 0; s < ns; s++)
            conv_to_rows(j->x + (size_t)(s0 + s) * j->xsz, j->c_in, j->p, rows + (size_t)s * j->p, ldc);
    for (int grp = 0; grp < j->groups; grp++) {
        const float *A = j->W + (size_t)grp * j->cig * j->kg;
        float *C = col + (size_t)grp * j->kg * ldc;
        if (batched)
            CONV_GEMM_TN(j->kg, (int)ldc, j->cig, A, j->kg, rows + (size_t)grp * j->cig * ldc, (int)ldc, C,
                         (int)ldc);
        else
            for (int s = 0; s < ns; s++)
                CONV_GEMM_TN(j->kg, (int)j->p, j->cig, A, j->kg,
                             j->x + (size_t)(s0 + s) * j->xsz + (size_t)grp * j->cig * j->p, (int)j->p,
                             C + (size_t)s * j->p, (int)ldc);
    }
    const size_t plane = (size_t)j->u.h * (size_t)j->u.w;
    for (int s = 0; s < ns; s++) {
        float *o = acc + (size_t)s * j->ysz;
        rt_conv_col2im(&j->u, col + (size_t)s * j->p, ldc, o);
        conv_from_rows(o, plane, j->bias, j->c_out, plane, o);
    }
    conv_act_forward(j, acc, j->y + (size_t)s0 * j->ysz, (size_t)ns * j->ysz);
}

static void conv_forward_common(const comp_geom *g, const float *x, const float *W, const float *bias, float *z,
                                float *y, float *scratch, int batch, comp_act act, float a, float b, int transposed)
{
    if (batch <= 0 || g->c_out <= 0)
        return;
    conv_job j = {.x = x, .W = W, .bias = bias, .z = z, .y = y, .act = act, .a = a, .b = b};
    conv_setup(&j, g, batch, transposed, scratch);
    if (j.dfwd)
        conv_direct_run(conv_direct_forward_sample, &j, 0);
    else
        conv_run_chunks(transposed ? conv_transpose_forward_chunk : conv_forward_chunk, &j);
}

size_t rt_conv_forward_scratch(const comp_geom *g, int transposed)
{
    conv_job j = {0};
    conv_setup(&j, g, 1, transposed, NULL);
    return j.dfwd ? j.fneed : (size_t)comp_geom_conv_scratch(g, transposed);
}

void rt_conv_forward(const comp_geom *g, const float *x, const float *W, const float *bias, float *z, float *y,
                     float *scratch, int batch, comp_act act, float a, float b)
{
    conv_forward_common(g, x, W, bias, z, y, scratch, batch, act, a, b, 0);
}

void rt_conv_transpose_forward(const comp_geom *g, const float *x, const float *W, const float *bias, float *z,
                               float *y, float *scratch, int batch, comp_act act, float a, float b)
{
    conv_forward_common(g, x, W, bias, z, y, scratch, batch, act, a, b, 1);
}

/* ----------------------------------------------------------- backward */

/* Chunk c, first pass: dz = dy * act', then the batch-wide layout of the
 * weight gradient's operands: the columns (of x for a convolution, of dz
 * for a transposed one) and the other operand's rows (dz, or x when it
 * fits). */
static void conv_backward_prep_task(void *ctx, int c)
{
    const conv_job *j = ctx;
    int s0, s1;
    conv_chunk(j, c, &s0, &s1);
    const size_t off = (size_t)s0 * j->ysz, n = (size_t)(s1 - s0) * j->ysz;
    /* dz = dy * 1 in place is a pass over dy for nothing (a convolution
     * followed by BatchNorm, as in most CNNs, fuses no activation). */
    if (j->act != COMP_ACT_IDENTITY || j->dz != j->dy)
        rt_act_rows_backward(j->act, j->a, j->b, j->zin ? j->zin + off : NULL, j->yin ? j->yin + off : NULL,
                             j->dy + off, j->dz + off, NULL, 1, n, n);
    const size_t ld = (size_t)j->batch * j->p;
    for (int s = s0; s < s1; s++) {
        const float *xs = j->x + (size_t)s * j->xsz, *dzs = j->dz + (size_t)s * j->ysz;
        float *col = j->col + (size_t)s * j->p, *rows = j->rows + (size_t)s * j->p;
        if (!j->transposed) {
            if (!j->dwgt || !j->ddx)
                conv_to_rows(dzs, j->c_out, j->p, rows, ld);
            if (j->dwgt) {
                float *xp = j->col + (size_t)s * (j->xps + j->dzts), *dzt = xp + j->xps;
                rt_conv_pad(&j->u, xs, xp, j->hp, j->wp);
                for (size_t i = (size_t)j->c_in * j->tx.plane; i < j->xps; i++)
                    xp[i] = 0.0f;
                for (size_t q = 0; q < j->p; q++) {
                    float *d = dzt + q * (size_t)j->mpad;
                    for (int co = 0; co < j->c_out; co++)
                        d[co] = dzs[(size_t)co * j->p + q];
                    for (int co = j->c_out; co < j->mpad; co++)
                        d[co] = 0.0f;
                }
            }
        } else {
            rt_conv_im2col(&j->u, dzs, col, ld);
            if (j->relayout)
                conv_to_rows(xs, j->c_in, j->p, rows, ld);
        }
    }
}

/* Sum of n floats of v in 8 interleaved double sums (element i to sum
 * i % 8), added into acc: a fixed order, and error far below float's. */
static void conv_sum8(double acc[8], const float *v, size_t n)
{
    const size_t tail = n % 8, body = n - tail;
    for (size_t i = 0; i < body; i += 8)
        for (int l = 0; l < 8; l++)
            acc[l] += v[i + l];
    for (size_t l = 0; l < tail; l++)
        acc[l] += v[body + l];
}

static void conv_dot8(double acc[8], const float *u, const float *v, size_t n)
{
    const size_t tail = n % 8, body = n - tail;
    for (size_t i = 0; i < body; i += 8)
        for (int l = 0; l < 8; l++)
            acc[l] += (double)u[i + l] * v[i + l];
    for (size_t l = 0; l < tail; l++)
        acc[l] += (double)u[body + l] * v[body + l];
}

static float conv_total8(const double acc[8])
{
    return (float)(((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7])));
}

/* Bias gradient block i of ndb: per channel, the sum of dz over the batch. */
static void conv_bias_grad(const conv_job *j, int i)
{
    size_t lo, hi;
    conv_range((size_t)j->c_out, 1, i, j->ndb, &lo, &hi);
    const size_t plane = j->ysz / (size_t)j->c_out;
    for (size_t co = lo; co < hi; co++) {
        double acc[8] = {0};
        for (int s = 0; s < j->batch; s++)
            conv_sum8(acc, j->dz + (size_t)s * j->ysz + co * plane, plane);
        j->db[co] = conv_total8(acc);
    }
}

/* The stride-1 weight gradient in blocks of taps by channels
 * (rt_conv_direct_wgrad), each summed over the samples in order into the
 * taps-by-channels sums after the batch's layout, then moved into dW.
 * Tasks take contiguous ranges of blocks and run sample by sample, so a
 * sample's layout is read once per task; tasks past them are blocks of
 * the bias gradient. */
typedef struct {
    const conv_job *j;
    int ntasks;
} conv_wgrad_pass;

static void conv_direct_weight_task(void *ctx, int t)
{
    const conv_wgrad_pass *wp = ctx;
    const conv_job *j = wp->j;
    if (t >= wp->ntasks) {
        conv_bias_grad(j, t - wp->ntasks);
        return;
    }
    const int cb = j->mpad % 32 == 0 ? 32 : 16, ncb = j->mpad / cb, nblocks = j->kpad / j->wtaps * ncb;
    const int b0 = (int)((long)nblocks * t / wp->ntasks), b1 = (int)((long)nblocks * (t + 1) / wp->ntasks);
    const size_t per = j->xps + j->dzts;
    float *acc = j->col + (size_t)j->batch * per;
    for (int s = 0; s < j->batch; s++) {
        const float *xp = j->col + (size_t)s * per;
        for (int b = b0; b < b1; b++)
            rt_conv_direct_wgrad(&j->tx, j->u.ho, j->u.wo, j->wp, xp, xp + j->xps, j->mpad, b / ncb * j->wtaps,
                                 b % ncb * cb, acc, s == 0);
    }
    for (int b = b0; b < b1; b++) {
        const int k0 = b / ncb * j->wtaps, c0 = b % ncb * cb;
        for (int k = k0; k < k0 + j->wtaps && k < j->kg; k++)
            for (int co = c0; co < c0 + cb && co < j->c_out; co++)
                j->dW[(size_t)co * (size_t)j->kg + (size_t)k] = acc[(size_t)k * (size_t)j->mpad + (size_t)co];
    }
}

/* Convolution weight gradient task t: output channels block mi, input
 * channels block ni of group grp (conv_setup_weight), chunk after chunk
 * of samples in the task's share of the columns area. */
static void conv_backward_weight_blocks(const conv_job *j, int t, int grp, int mi, int ni)
{
    const int kk = j->u.kh * j->u.kw;
    size_t m0, m1, c0, c1;
    conv_range((size_t)j->cog, 4, mi, j->mb, &m0, &m1);
    conv_range((size_t)j->cig, 1, ni, j->nb, &c0, &c1);
    if (m1 <= m0 || c1 <= c0)
        return;
    const size_t nr = m1 - m0, kb = (c1 - c0) * (size_t)kk, ld = (size_t)j->batch * j->p;
    const size_t plane = (size_t)j->u.h * (size_t)j->u.w;
    float *col = j->col + (size_t)t * j->wreg, *prod = col + kb * (size_t)j->wchunk * j->p;
    float *C = j->dW + ((size_t)grp * j->cog + m0) * (size_t)j->kg + c0 * (size_t)kk;
    const float *A = j->rows + ((size_t)grp * j->cog + m0) * ld;
    rt_conv_unfold u = j->u;
    u.c = (int)(c1 - c0);
    for (int c = 0; c < j->wnchunks; c++) {
        const int s0 = c * j->wchunk, s1 = s0 + j->wchunk < j->batch ? s0 + j->wchunk : j->batch;
        const size_t ldc = (size_t)(s1 - s0) * j->p;
        for (int s = s0; s < s1; s++)
            rt_conv_im2col(&u, j->x + (size_t)s * j->xsz + ((size_t)grp * j->cig + c0) * plane,
                           col + (size_t)(s - s0) * j->p, ldc);
        if (c == 0) {
            CONV_GEMM_NT((int)nr, (int)kb, (int)ldc, A, (int)ld, col, (int)ldc, C, j->kg);
            continue;
        }
        CONV_GEMM_NT((int)nr, (int)kb, (int)ldc, A + (size_t)s0 * j->p, (int)ld, col, (int)ldc, prod, (int)kb);
        for (size_t r = 0; r < nr; r++)
            for (size_t k = 0; k < kb; k++)
                C[r * (size_t)j->kg + k] += prod[r * kb + k];
    }
}

/* Weight gradient block (grp, mi, ni) of the rows x kg matrix of group grp
 * (rows = cog for a convolution, cig for a transposed one), over the whole
 * batch in one GEMM; or, for a transposed convolution whose x did not fit
 * the rows area, dot products summed over the samples in order.  Tasks
 * past the grid are blocks of channels of the bias gradient. */
static void conv_backward_weight_task(void *ctx, int t)
{
    const conv_job *j = ctx;
    const int grid = j->groups * j->mb * j->nb;
    const size_t ld = (size_t)j->batch * j->p;
    if (t >= grid) {
        conv_bias_grad(j, t - grid);
        return;
    }
    const int grp = t / (j->mb * j->nb), mi = t / j->nb % j->mb, ni = t % j->nb;
    if (!j->transposed) {
        conv_backward_weight_blocks(j, t, grp, mi, ni);
        return;
    }
    const int m = j->transposed ? j->cig : j->cog;
    size_t m0, m1, n0, n1;
    conv_range((size_t)m, 4, mi, j->mb, &m0, &m1);
    conv_range((size_t)j->kg, 16, ni, j->nb, &n0, &n1);
    if (m1 <= m0 || n1 <= n0)
        return;
    const size_t row0 = (size_t)grp * m + m0;
    float *C = j->dW + row0 * j->kg + n0;
    const float *B = j->col + ((size_t)grp * j->kg + n0) * ld;
    if (!j->transposed || j->relayout) {
        CONV_GEMM_NT((int)(m1 - m0), (int)(n1 - n0), (int)ld, j->rows + row0 * ld, (int)ld, B, (int)ld, C, j->kg);
        return;
    }
    for (size_t ci = 0; ci < m1 - m0; ci++)
        for (size_t r = 0; r < n1 - n0; r++) {
            double acc[8] = {0};
            for (int s = 0; s < j->batch; s++)
                conv_dot8(acc, j->x + (size_t)s * j->xsz + (row0 + ci) * j->p, B + r * ld + (size_t)s * j->p,
                          j->p);
            C[ci * j->kg + r] = conv_total8(acc);
        }
}

/* Chunk c, input gradient: a convolution's dcol = W_g^T dz_g per group
 * (dz from the rows area) folded back onto dx; a transposed one's dx_g =
 * W_g dcol_g (through the rows area for several samples when x fits it,
 * else per sample).  Runs after the weight gradient: it overwrites the
 * chunk's share of the scratch. */
static void conv_backward_input_chunk(const conv_job *j, int c, float *col, float *rows)
{
    int s0, s1;
    conv_chunk(j, c, &s0, &s1);
    const int ns = s1 - s0;
    const size_t ld = (size_t)j->batch * j->p, ldc = (size_t)ns * j->p;
    if (!j->transposed) {
        for (int grp = 0; grp < j->groups; grp++)
            CONV_GEMM_TN(j->kg, (int)ldc, j->cog, j->W + (size_t)grp * j->cog * j->kg, j->kg,
                         j->rows + (size_t)grp * j->cog * ld + (size_t)s0 * j->p, (int)ld,
                         col + (size_t)grp * j->kg * ldc, (int)ldc);
        for (int s = 0; s < ns; s++)
            rt_conv_col2im(&j->u, col + (size_t)s * j->p, ldc, j->dx + (size_t)(s0 + s) * j->xsz);
        return;
    }
    /* The columns of dz were laid out batch-wide by the first pass. */
    const float *dcol = j->col + (size_t)s0 * j->p;
    if (j->relayout && ns > 1) {
        for (int grp = 0; grp < j->groups; grp++)
            CONV_GEMM_NN(j->cig, (int)ldc, j->kg, j->W + (size_t)grp * j->cig * j->kg, j->kg,
                         dcol + (size_t)grp * j->kg * ld, (int)ld, rows + (size_t)grp * j->cig * ldc, (int)ldc);
        for (int s = 0; s < ns; s++)
            conv_from_rows(rows + (size_t)s * j->p, ldc, NULL, j->c_in, j->p, j->dx + (size_t)(s0 + s) * j->xsz);
        return;
    }
    for (int s = s0; s < s1; s++)
        for (int grp = 0; grp < j->groups; grp++)
            CONV_GEMM_NN(j->cig, (int)j->p, j->kg, j->W + (size_t)grp * j->cig * j->kg, j->kg,
                         j->col + (size_t)grp * j->kg * ld + (size_t)s * j->p, (int)ld,
                         j->dx + (size_t)s * j->xsz + (size_t)grp * j->cig * j->p, (int)j->p);
}

/* Stride-1 zero-padded convolution, input gradient of sample s: dz padded
 * by the kernel's reach less the padding, the grid of its convolution
 * with the flipped kernel, each row of dx out of it. */
static void conv_direct_input_sample(const conv_job *j, int s, const float *wt, float *work)
{
    float *dzp = work, *grid = dzp + j->dzps;
    for (size_t i = (size_t)j->c_out * j->tdz.plane; i < j->dzps; i++)
        dzp[i] = 0.0f;
    const rt_conv_unfold ud = {.c = j->c_out, .h = j->u.ho, .w = j->u.wo, .ph = (j->u.kh - 1) * j->u.dh - j->u.ph,
                               .pw = (j->u.kw - 1) * j->u.dw - j->u.pw, .mode = COMP_PAD_ZEROS};
    const int h = j->u.h, w = j->u.w;
    rt_conv_pad(&ud, j->dz + (size_t)s * j->ysz, dzp, j->hd, j->wd);
    rt_conv_direct_grid(&j->tdz, j->c_in, wt, dzp, j->qd, grid, j->qd);
    float *o = j->dx + (size_t)s * j->xsz;
    for (int ci = 0; ci < j->c_in; ci++)
        for (int ih = 0; ih < h; ih++) {
            const float *src = grid + (size_t)ci * j->qd + (size_t)ih * (size_t)j->wd;
            float *dst = o + ((size_t)ci * (size_t)h + (size_t)ih) * (size_t)w;
            for (int iw = 0; iw < w; iw++)
                dst[iw] = src[iw];
        }
}

static void conv_backward_common(const comp_geom *g, const float *dy, const float *z, const float *y, float *dz,
                                 const float *x, const float *W, float *dx, float *dW, float *db, float *scratch,
                                 int batch, comp_act act, float a, float b, int transposed)
{
    if (batch <= 0 || g->c_out <= 0)
        return;
    conv_job j = {.x = x, .W = W, .dy = dy, .zin = z, .yin = y, .dz = dz, .dx = dx, .dW = dW, .db = db,
                  .act = act, .a = a, .b = b};
    conv_setup(&j, g, batch, transposed, scratch);
    conv_run(conv_backward_prep_task, &j, j.nchunks);
    if (j.dwgt) {
        int threads = 1;
#ifdef CONV_THREADED
        threads = rt_pool_threads();
#endif
        const int nblocks = j.kpad / j.wtaps * (j.mpad % 32 == 0 ? j.mpad / 32 : j.mpad / 16);
        conv_wgrad_pass wp = {&j, threads < nblocks ? threads : nblocks};
        conv_run(conv_direct_weight_task, &wp, wp.ntasks + (db ? j.ndb : 0));
    } else {
        conv_run(conv_backward_weight_task, &j, j.groups * j.mb * j.nb + (db ? j.ndb : 0));
    }
    if (dx && j.ddx)
        conv_direct_run(conv_direct_input_sample, &j, 1);
    else if (dx)
        conv_run_chunks(conv_backward_input_chunk, &j);
}

void rt_conv_backward(const comp_geom *g, const float *dy, const float *z, const float *y, float *dz,
                      const float *x, const float *W, float *dx, float *dW, float *db, float *scratch, int batch,
                      comp_act act, float a, float b)
{
    conv_backward_common(g, dy, z, y, dz, x, W, dx, dW, db, scratch, batch, act, a, b, 0);
}

void rt_conv_transpose_backward(const comp_geom *g, const float *dy, const float *z, const float *y, float *dz,
                                const float *x, const float *W, float *dx, float *dW, float *db, float *scratch,
                                int batch, comp_act act, float a, float b)
{
    conv_backward_common(g, dy, z, y, dz, x, W, dx, dW, db, scratch, batch, act, a, b, 1);
}
