/* test_batchnorm.c — the BatchNorm1d/2d kernels (runtime/batchnorm.c) and
 * channel dropout (runtime/dropout_channels.c).
 *
 * - golden: tests/golden/batchnorm/<case>.safetensors
 *   (scripts/gen_golden_batchnorm.py) holds, per torch module, a few
 *   training steps (output, saved statistics, gradients, running
 *   statistics, num_batches_tracked) and an eval forward.  Every case is
 *   replayed through the kernels from the same initial state.
 * - fd: the input, weight and bias gradients of the training-mode forward
 *   (the loss goes through the batch statistics) against finite
 *   differences, for (N, C), (N, C, L) and (N, C, H, W) input.
 * - running: the running statistics over several steps (a momentum and
 *   torch's None) against a double-precision reference, eval mode with and
 *   without running statistics, and the same bits at every thread count.
 * - dropout_channels: whole rows dropped or scaled, the kept fraction,
 *   p = 0 and p = 1, the draws per row. */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fdcheck.h"
#include "testutil.h"
#include "runtime/kernels.h"
#include "runtime/pool.h"
#include "runtime/safetensors.h"
#include "runtime/spatial.h"

#define GOLDEN_DIR "tests/golden/batchnorm/"
#define MAX_CASES 64

static char case_names[MAX_CASES][TU_CASE_NAME];
static int ncases;

static float *fvec(size_t n)
{
    float *p = calloc(n ? n : 1, sizeof *p);
    ck_assert_ptr_nonnull(p);
    return p;
}

/* ---------------------------------------------------------- golden data
 *
 * Tolerances.  netc follows torch's kernels operation by operation (the
 * same float roundings, fused multiply-adds where torch's compiler fused,
 * the same lanes and tree in the backward's float reductions) with one
 * exception: the forward's double sums of x and (x - mean)^2 run in eight
 * double accumulators where torch has one.  Those sums then differ by a
 * few double ulps, which changes their float rounding only when they lie
 * that close to a float rounding boundary.  So the statistics (mean,
 * invstd, running statistics) must agree to 1 float ulp, and y, dx, dw and
 * db, where a 1-ulp change of a statistic shows as at most a few float
 * roundings of the tensor's magnitude, to 2 FLT_EPSILON of the tensor's
 * scale (tu_compare_rel).  Identical bits are counted and reported: every
 * element was identical when the vectors were made. */
#define VALUE_REL (2.0 * FLT_EPSILON)
#define STAT_ULPS 1

/* The distance in float ulps (same-sign floats are ordered as their bit
 * patterns). */
static int64_t ulp_dist(float a, float b)
{
    int32_t ia, ib;
    memcpy(&ia, &a, 4);
    memcpy(&ib, &b, 4);
    const int64_t la = ia < 0 ? -(int64_t)(ia & 0x7fffffff) : ia;
    const int64_t lb = ib < 0 ? -(int64_t)(ib & 0x7fffffff) : ib;
    return la > lb ? la - lb : lb - la;
}

typedef struct {
    long compared, identical;
    int bad;
} gold_tally;

static void tally_identical(gold_tally *t, const float *got, const float *want, long n)
{
    for (long i = 0; i < n; i++)
        t->identical += memcmp(&got[i], &want[i], 4) == 0;
    t->compared += n;
}

static const rt_tensor *need(const rt_st_file *f, const char *file, const char *name, long n)
{
    const rt_tensor *t = rt_st_find(f, name);
    ck_assert_msg(t != NULL, "%s: no tensor %s", file, name);
    long size = 1;
    for (int d = 0; d < t->rank; d++)
        size *= (long)t->shape[d];
    ck_assert_msg(size == n, "%s: %s has %ld elements, expected %ld", file, name, size, n);
    return t;
}

static void check_values(gold_tally *t, const char *label, const char *what, const float *got, const float *want,
                         long n)
{
    char msg[512];
    tally_identical(t, got, want, n);
    if (!tu_compare_rel(label, what, got, want, n, VALUE_REL, msg, sizeof msg))
        t->bad++;
}

static void check_stats(gold_tally *t, const char *label, const char *what, const float *got, const float *want,
                        long n)
{
    tally_identical(t, got, want, n);
    for (long i = 0; i < n; i++)
        if (ulp_dist(got[i], want[i]) > STAT_ULPS) {
            fprintf(stderr, "%s: %s[%ld]: netc %.9g, torch %.9g (%lld ulps)\n", label, what, i, got[i], want[i],
                    (long long)ulp_dist(got[i], want[i]));
            t->bad++;
        }
}

static int meta_true(const rt_st_file *f, const char *file, const char *key)
{
    const char *v = rt_st_meta(f, key);
    ck_assert_msg(v && (strcmp(v, "true") == 0 || strcmp(v, "false") == 0), "%s: metadata %s", file, key);
    return strcmp(v, "true") == 0;
}

START_TEST(test_golden)
{
    char path[256], err[256], label[256];
    snprintf(path, sizeof path, GOLDEN_DIR "%s.safetensors", case_names[_i]);
    rt_st_file *f = rt_st_load(path, err, sizeof err);
    ck_assert_msg(f != NULL, "%s", err);
    const char *module = rt_st_meta(f, "module"), *shape = rt_st_meta(f, "shape");
    const char *mom = rt_st_meta(f, "momentum"), *eps_s = rt_st_meta(f, "eps"), *steps_s = rt_st_meta(f, "steps");
    ck_assert_msg(module && shape && mom && eps_s && steps_s, "%s: metadata missing", path);
    const int affine = meta_true(f, path, "affine"), track = meta_true(f, path, "track_running_stats");
    const double eps = strtod(eps_s, NULL), momentum = strcmp(mom, "None") == 0 ? NAN : strtod(mom, NULL);
    const int steps = atoi(steps_s);
    snprintf(label, sizeof label, "%s %s", case_names[_i], module);

    /* The shape, a JSON list: batch, C, then the spatial sizes. */
    long dims[8];
    int rank = 0;
    for (const char *s = shape; *s && rank < 8; s++)
        if (*s >= '0' && *s <= '9') {
            char *end;
            dims[rank++] = strtol(s, &end, 10);
            s = end - 1;
        }
    ck_assert_msg(rank >= 2, "%s: shape %s", path, shape);
    const int batch = (int)dims[0], C = (int)dims[1];
    size_t inner = 1;
    for (int d = 2; d < rank; d++)
        inner *= (size_t)dims[d];
    const long n = (long)batch * C * (long)inner;

    float *w = NULL, *b = NULL, *rm = NULL, *rv = NULL, nbt = 0.0f;
    if (affine) {
        w = fvec((size_t)C);
        b = fvec((size_t)C);
        memcpy(w, need(f, path, "init/weight", C)->data, (size_t)C * sizeof *w);
        memcpy(b, need(f, path, "init/bias", C)->data, (size_t)C * sizeof *b);
    }
    if (track) {
        rm = fvec((size_t)C);
        rv = fvec((size_t)C);
        memcpy(rm, need(f, path, "init/running_mean", C)->data, (size_t)C * sizeof *rm);
        memcpy(rv, need(f, path, "init/running_var", C)->data, (size_t)C * sizeof *rv);
    }
    float *y = fvec((size_t)n), *dx = fvec((size_t)n), *smean = fvec((size_t)C), *sinv = fvec((size_t)C);
    float *dw = affine ? fvec((size_t)C) : NULL, *db = affine ? fvec((size_t)C) : NULL;
    gold_tally t = {0, 0, 0};
    char name[64];
#define GOLD(what, cnt) (snprintf(name, sizeof name, "step%d/%s", s, what), need(f, path, name, cnt)->data)
    for (int s = 1; s <= steps; s++) {
        const float *x = GOLD("x", n), *dy = GOLD("dy", n);
        rt_batchnorm_forward(x, y, w, b, rm, rv, track ? &nbt : NULL, smean, sinv, batch, C, inner, eps, momentum,
                             1, COMP_ACT_IDENTITY, 0, 0, NULL);
        /* Without a fused activation the backward does not write dy. */
        rt_batchnorm_backward(x, (float *)dy, w, smean, sinv, dx, dw, db, batch, C, inner, COMP_ACT_IDENTITY, 0, 0,
                              NULL, NULL);
        char what[64];
        snprintf(what, sizeof what, "step %d y", s);
        check_values(&t, label, what, y, GOLD("y", n), n);
        snprintf(what, sizeof what, "step %d save_mean", s);
        check_stats(&t, label, what, smean, GOLD("save_mean", C), C);
        snprintf(what, sizeof what, "step %d save_invstd", s);
        check_stats(&t, label, what, sinv, GOLD("save_invstd", C), C);
        snprintf(what, sizeof what, "step %d dx", s);
        check_values(&t, label, what, dx, GOLD("dx", n), n);
        if (affine) {
            snprintf(what, sizeof what, "step %d dw", s);
            check_values(&t, label, what, dw, GOLD("dw", C), C);
            snprintf(what, sizeof what, "step %d db", s);
            check_values(&t, label, what, db, GOLD("db", C), C);
        }
        if (track) {
            snprintf(what, sizeof what, "step %d running_mean", s);
            check_stats(&t, label, what, rm, GOLD("running_mean", C), C);
            snprintf(what, sizeof what, "step %d running_var", s);
            check_stats(&t, label, what, rv, GOLD("running_var", C), C);
            ck_assert_msg(nbt == GOLD("num_batches_tracked", 1)[0], "%s: step %d: num_batches_tracked %g", label, s,
                          nbt);
        }
    }
#undef GOLD
    rt_batchnorm_forward(need(f, path, "eval/x", n)->data, y, w, b, rm, rv, track ? &nbt : NULL, smean, sinv,
                         batch, C, inner, eps, momentum, 0, COMP_ACT_IDENTITY, 0, 0, NULL);
    check_values(&t, label, "eval y", y, need(f, path, "eval/y", n)->data, n);
    fprintf(stderr, "%s: %ld of %ld values bit-identical to torch's\n", label, t.identical, t.compared);
    ck_assert_msg(t.bad == 0, "%s: %d mismatches with torch (above)", label, t.bad);
    free(w);
    free(b);
    free(rm);
    free(rv);
    free(y);
    free(dx);
    free(smean);
    free(sinv);
    free(dw);
    free(db);
    rt_st_free(f);
}
END_TEST

/* ------------------------------------------------- finite differences */

typedef struct {
    float *x, *w, *b, *r, *y, *smean, *sinv;
    int batch, C;
    size_t inner;
    double eps;
} fd_ctx;

/* L = sum r * y of the training-mode forward on batch statistics.  The
 * rounding in y is a few float roundings of |x alpha| + |beta| (y = x
 * alpha + beta, beta = b - mean alpha), bounded through |y|, |b| and
 * |w| invstd (|x| + |mean|). */
static double fd_loss(void *vctx, double *mag)
{
    fd_ctx *c = vctx;
    rt_batchnorm_forward(c->x, c->y, c->w, c->b, NULL, NULL, NULL, c->smean, c->sinv, c->batch, c->C, c->inner,
                         c->eps, 0.1, 1, COMP_ACT_IDENTITY, 0, 0, NULL);
    double L = 0.0, m = 0.0;
    for (int s = 0; s < c->batch; s++)
        for (int ch = 0; ch < c->C; ch++)
            for (size_t i = 0; i < c->inner; i++) {
                const size_t k = ((size_t)s * c->C + ch) * c->inner + i;
                const double w = c->w ? fabs(c->w[ch]) : 1.0, b = c->b ? fabs(c->b[ch]) : 0.0;
                L += (double)c->r[k] * c->y[k];
                m += fabs((double)c->r[k]) *
                     (fabs((double)c->y[k]) + b + w * c->sinv[ch] * (fabs((double)c->x[k]) + fabs(c->smean[ch])));
            }
    *mag = m;
    return L;
}

static const struct {
    int batch, C;
    size_t inner;
    int affine;
} fd_shapes[] = {
    {6, 3, 1, 1},  /* (N, C): the channels-last kernels */
    {4, 2, 5, 1},  /* (N, C, L) shorter than the 8 lanes */
    {3, 2, 15, 1}, /* (N, C, H, W) = 3x5: a block of 8 and a tail */
    {2, 2, 16, 0}, /* whole blocks, affine=false */
    {5, 2, 1, 0},
};

START_TEST(test_fd)
{
    const int batch = fd_shapes[_i].batch, C = fd_shapes[_i].C, affine = fd_shapes[_i].affine;
    const size_t inner = fd_shapes[_i].inner, n = (size_t)batch * C * inner;
    uint64_t rng = rt_rng_seed(77, (uint64_t)_i);
    fd_ctx c = {.x = fvec(n), .r = fvec(n), .y = fvec(n), .smean = fvec((size_t)C), .sinv = fvec((size_t)C),
                .batch = batch, .C = C, .inner = inner, .eps = 1e-5};
    /* Channel c's values around 1.5 c - 1: a nonzero mean per channel. */
    for (int s = 0; s < batch; s++)
        for (int ch = 0; ch < C; ch++)
            fill_uniform(c.x + ((size_t)s * C + ch) * inner, inner, &rng, 1.5 * ch - 2.0, 1.5 * ch);
    fill_uniform(c.r, n, &rng, -1.0, 1.0);
    if (affine) {
        c.w = fvec((size_t)C);
        c.b = fvec((size_t)C);
        fill_uniform(c.w, (size_t)C, &rng, 0.5, 1.5);
        fill_uniform(c.b, (size_t)C, &rng, -1.0, 1.0);
    }
    float *dx = fvec(n), *dw = affine ? fvec((size_t)C) : NULL, *db = affine ? fvec((size_t)C) : NULL;
    double mag;
    fd_loss(&c, &mag);
    rt_batchnorm_backward(c.x, c.r, c.w, c.smean, c.sinv, dx, dw, db, batch, C, inner, COMP_ACT_IDENTITY, 0, 0, NULL, NULL);
    fd_stats st = {0, 0};
    /* Roundings per term: the mean, the variance sum and var, invstd,
     * alpha, beta and y (7), rounded up. */
    const double K = 8.0;
    for (size_t k = 0; k < n; k++)
        fd_check(fd_loss, &c, &c.x[k], dx[k], K, &st, "dx", (int)k);
    for (int ch = 0; affine && ch < C; ch++) {
        fd_check(fd_loss, &c, &c.w[ch], dw[ch], K, &st, "dw", ch);
        fd_check(fd_loss, &c, &c.b[ch], db[ch], K, &st, "db", ch);
    }
    fd_require_coverage(&st, "batchnorm");
    /* Nothing here is non-smooth: every point is checked. */
    ck_assert_int_eq(st.skipped, 0);
    free(c.x);
    free(c.r);
    free(c.y);
    free(c.smean);
    free(c.sinv);
    free(c.w);
    free(c.b);
    free(dx);
    free(dw);
    free(db);
}
END_TEST

/* ------------------------------------------------ running statistics */

/* Steps of training update the running statistics as torch's module does:
 * r = (1 - f) r + f s with s the batch mean or unbiased variance and f
 * the momentum, or 1/num_batches_tracked for None (then, from the initial
 * 0 and 1, the running mean is the average of the batch means).  The
 * reference runs in double; netc's float update loses about an ulp per
 * step, far inside 16 FLT_EPSILON of the statistics' scale after 5 steps. */
START_TEST(test_running_steps)
{
    const double moms[2] = {0.1, NAN};
    const double mom = moms[_i];
    enum { B = 7, C = 3, STEPS = 5 };
    const size_t inner = 10, n = (size_t)B * C * inner;
    float *x = fvec(n), *y = fvec(n), rm[C], rv[C], sm[C], si[C], nbt = 0.0f;
    double refm[C], refv[C];
    for (int ch = 0; ch < C; ch++) {
        rm[ch] = 0.0f;
        rv[ch] = 1.0f;
        refm[ch] = 0.0;
        refv[ch] = 1.0;
    }
    uint64_t rng = rt_rng_seed(5, 0);
    for (int step = 1; step <= STEPS; step++) {
        for (int s = 0; s < B; s++)
            for (int ch = 0; ch < C; ch++)
                fill_uniform(x + ((size_t)s * C + ch) * inner, inner, &rng, ch - 1.0 + 0.3 * step,
                             ch + 1.0 + step);
        rt_batchnorm_forward(x, y, NULL, NULL, rm, rv, &nbt, sm, si, B, C, inner, 1e-5, mom, 1, COMP_ACT_IDENTITY, 0, 0, NULL);
        ck_assert_float_eq(nbt, (float)step);
        const double f = isnan(mom) ? 1.0 / step : mom;
        for (int ch = 0; ch < C; ch++) {
            double sum = 0.0, sq = 0.0;
            for (int s = 0; s < B; s++)
                for (size_t i = 0; i < inner; i++)
                    sum += x[((size_t)s * C + ch) * inner + i];
            const double mean = sum / (B * inner);
            for (int s = 0; s < B; s++)
                for (size_t i = 0; i < inner; i++) {
                    const double d = x[((size_t)s * C + ch) * inner + i] - mean;
                    sq += d * d;
                }
            refm[ch] = (1.0 - f) * refm[ch] + f * mean;
            refv[ch] = (1.0 - f) * refv[ch] + f * sq / (B * inner - 1);
            ck_assert_msg(fabs(sm[ch] - mean) <= 4 * FLT_EPSILON * (fabs(mean) + 1.0), "step %d: mean %.9g, %.9g",
                          step, sm[ch], mean);
            ck_assert_msg(fabs(si[ch] - 1.0 / sqrt(sq / (B * inner) + 1e-5)) <= 4 * FLT_EPSILON * si[ch],
                          "step %d: invstd %.9g", step, si[ch]);
            ck_assert_msg(fabs(rm[ch] - refm[ch]) <= 16 * FLT_EPSILON * (fabs(refm[ch]) + 1.0),
                          "momentum %g step %d channel %d: running_mean %.9g, reference %.9g", mom, step, ch, rm[ch],
                          refm[ch]);
            ck_assert_msg(fabs(rv[ch] - refv[ch]) <= 16 * FLT_EPSILON * refv[ch],
                          "momentum %g step %d channel %d: running_var %.9g, reference %.9g", mom, step, ch, rv[ch],
                          refv[ch]);
        }
    }
    free(x);
    free(y);
}
END_TEST

/* Eval with running statistics: y = (x - rm) / sqrt(rv + eps) w + b, and
 * nothing but y is written.  Without running statistics eval normalises
 * with the batch's, as training does. */
START_TEST(test_eval)
{
    enum { B = 4, C = 3 };
    const size_t inner = 9, n = (size_t)B * C * inner;
    float *x = fvec(n), *y = fvec(n), *y2 = fvec(n);
    float w[C] = {0.5f, 1.25f, 2.0f}, b[C] = {-1.0f, 0.25f, 3.0f}, rm[C] = {0.5f, -2.0f, 1.0f},
          rv[C] = {0.75f, 2.0f, 0.125f};
    const float rm0[C] = {0.5f, -2.0f, 1.0f}, rv0[C] = {0.75f, 2.0f, 0.125f};
    float sm[C] = {7, 7, 7}, si[C] = {7, 7, 7}, nbt = 3.0f;
    uint64_t rng = rt_rng_seed(9, 1);
    fill_uniform(x, n, &rng, -3.0, 4.0);
    rt_batchnorm_forward(x, y, w, b, rm, rv, &nbt, sm, si, B, C, inner, 1e-3, 0.1, 0, COMP_ACT_IDENTITY, 0, 0, NULL);
    for (int ch = 0; ch < C; ch++) {
        ck_assert(rm[ch] == rm0[ch] && rv[ch] == rv0[ch] && sm[ch] == 7.0f && si[ch] == 7.0f);
        const double is = 1.0 / sqrt((double)rv0[ch] + 1e-3);
        for (int s = 0; s < B; s++)
            for (size_t i = 0; i < inner; i++) {
                const size_t k = ((size_t)s * C + ch) * inner + i;
                const double want = ((double)x[k] - rm0[ch]) * is * w[ch] + b[ch];
                /* |x alpha| + |beta| bounds what y's roundings scale. */
                const double scale = fabs(x[k] * is * w[ch]) + fabs(b[ch]) + fabs(rm0[ch] * is * w[ch]);
                ck_assert_msg(fabs(y[k] - want) <= 4 * FLT_EPSILON * scale, "eval y[%zu] %.9g, want %.9g", k, y[k],
                              want);
            }
    }
    ck_assert_float_eq(nbt, 3.0f);
    /* No running statistics: eval and training give the same output. */
    rt_batchnorm_forward(x, y, w, b, NULL, NULL, NULL, sm, si, B, C, inner, 1e-3, 0.1, 0, COMP_ACT_IDENTITY, 0, 0, NULL);
    rt_batchnorm_forward(x, y2, w, b, NULL, NULL, NULL, sm, si, B, C, inner, 1e-3, 0.1, 1, COMP_ACT_IDENTITY, 0, 0, NULL);
    ck_assert(memcmp(y, y2, n * sizeof *y) == 0);
    free(x);
    free(y);
    free(y2);
}
END_TEST

/* The same bits at 1 and 3 threads, above the size where the work is
 * handed to the workers, for inner > 1 and (N, C) input. */
START_TEST(test_threads)
{
    static const struct {
        int batch, C;
        size_t inner;
    } shapes[] = {{8, 16, 400}, {512, 130, 1}};
    for (int t = 0; t < 2; t++) {
        const int B = shapes[t].batch, C = shapes[t].C;
        const size_t inner = shapes[t].inner, n = (size_t)B * C * inner;
        float *x = fvec(n), *dy = fvec(n), *w = fvec((size_t)C), *b = fvec((size_t)C);
        uint64_t rng = rt_rng_seed(11, (uint64_t)t);
        fill_uniform(x, n, &rng, -1.0, 3.0);
        fill_uniform(dy, n, &rng, -1.0, 1.0);
        fill_uniform(w, (size_t)C, &rng, 0.5, 1.5);
        fill_uniform(b, (size_t)C, &rng, -1.0, 1.0);
        float *out[2][7];
        for (int r = 0; r < 2; r++) {
            rt_pool_set_threads(r == 0 ? 1 : 3);
            float *y = fvec(n), *dx = fvec(n), *rm = fvec((size_t)C), *rv = fvec((size_t)C), *sm = fvec((size_t)C),
                  *si = fvec((size_t)C), *dwb = fvec(2 * (size_t)C), nbt = 0.0f;
            rt_batchnorm_forward(x, y, w, b, rm, rv, &nbt, sm, si, B, C, inner, 1e-5, 0.1, 1, COMP_ACT_IDENTITY, 0, 0, NULL);
            rt_batchnorm_backward(x, dy, w, sm, si, dx, dwb, dwb + C, B, C, inner, COMP_ACT_IDENTITY, 0, 0, NULL, NULL);
            float *o[7] = {y, dx, rm, rv, sm, si, dwb};
            memcpy(out[r], o, sizeof o);
        }
        rt_pool_set_threads(1);
        const size_t sizes[7] = {n, n, (size_t)C, (size_t)C, (size_t)C, (size_t)C, 2 * (size_t)C};
        for (int k = 0; k < 7; k++) {
            ck_assert_msg(memcmp(out[0][k], out[1][k], sizes[k] * sizeof(float)) == 0,
                          "shape %d: output %d differs between 1 and 3 threads", t, k);
            free(out[0][k]);
            free(out[1][k]);
        }
        free(x);
        free(dy);
        free(w);
        free(b);
    }
}
END_TEST

/* An activation fused into the layer (as the plan fuses the one after a
 * BatchNorm) gives the bits of the unfused layer followed by the
 * activation's own forward and backward: ReLU, whose derivative reads the
 * output, and GELU, which keeps the normalised value in z; per-channel
 * planes and (N, C) input. */
START_TEST(test_fused_activation)
{
    static const struct {
        int batch, C;
        size_t inner;
    } shapes[] = {{6, 5, 49}, {40, 9, 1}};
    static const comp_act acts[] = {COMP_ACT_RELU, COMP_ACT_GELU};
    for (int t = 0; t < 2; t++)
        for (int a = 0; a < 2; a++) {
            const int B = shapes[t].batch, C = shapes[t].C;
            const size_t inner = shapes[t].inner, n = (size_t)B * C * inner;
            const comp_act act = acts[a];
            const int keep_z = comp_act_needs_x[act];
            float *x = fvec(n), *dy = fvec(n), *w = fvec((size_t)C), *b = fvec((size_t)C);
            uint64_t rng = rt_rng_seed(17, (uint64_t)(2 * t + a));
            fill_uniform(x, n, &rng, -2.0, 2.0);
            fill_uniform(dy, n, &rng, -1.0, 1.0);
            fill_uniform(w, (size_t)C, &rng, 0.5, 1.5);
            fill_uniform(b, (size_t)C, &rng, -0.5, 0.5);
            /* Unfused: the layer, then the activation's op. */
            float *z0 = fvec(n), *y0 = fvec(n), *dz0 = fvec(n), *dx0 = fvec(n), *dw0 = fvec((size_t)C),
                  *db0 = fvec((size_t)C), *sm0 = fvec((size_t)C), *si0 = fvec((size_t)C);
            rt_batchnorm_forward(x, z0, w, b, NULL, NULL, NULL, sm0, si0, B, C, inner, 1e-5, 0.1, 1,
                                 COMP_ACT_IDENTITY, 0, 0, NULL);
            rt_act_forward(act, 0, 0, z0, y0, n);
            rt_act_backward(act, 0, 0, z0, y0, dy, dz0, n);
            rt_batchnorm_backward(x, dz0, w, sm0, si0, dx0, dw0, db0, B, C, inner, COMP_ACT_IDENTITY, 0, 0, NULL,
                                  NULL);
            /* Fused. */
            float *z1 = keep_z ? fvec(n) : NULL, *y1 = fvec(n), *dy1 = fvec(n), *dx1 = fvec(n),
                  *dw1 = fvec((size_t)C), *db1 = fvec((size_t)C), *sm1 = fvec((size_t)C), *si1 = fvec((size_t)C);
            memcpy(dy1, dy, n * sizeof *dy);
            rt_batchnorm_forward(x, y1, w, b, NULL, NULL, NULL, sm1, si1, B, C, inner, 1e-5, 0.1, 1, act, 0, 0, z1);
            rt_batchnorm_backward(x, dy1, w, sm1, si1, dx1, dw1, db1, B, C, inner, act, 0, 0, y1, z1);
            ck_assert_mem_eq(y1, y0, n * sizeof *y0);
            if (keep_z)
                ck_assert_mem_eq(z1, z0, n * sizeof *z0);
            ck_assert_mem_eq(dy1, dz0, n * sizeof *dz0); /* dy became the gradient of z, in place */
            ck_assert_mem_eq(dx1, dx0, n * sizeof *dx0);
            ck_assert_mem_eq(dw1, dw0, (size_t)C * sizeof *dw0);
            ck_assert_mem_eq(db1, db0, (size_t)C * sizeof *db0);
            float *all[] = {x, dy, w, b, z0, y0, dz0, dx0, dw0, db0, sm0, si0, z1, y1, dy1, dx1, dw1, db1, sm1, si1};
            for (size_t k = 0; k < sizeof all / sizeof *all; k++)
                free(all[k]);
        }
}
END_TEST

/* ---------------------------------------------------- channel dropout */

/* Every row is all zeros or all 1/(1-p) in the mask, y = x * mask, and the
 * rows follow the generator's draws in order: row r is kept when the r-th
 * rt_rng_uniform of the same stream is below 1 - p.  The kept fraction of
 * R rows is within 4.5 standard deviations of 1 - p. */
START_TEST(test_dropout_channels)
{
    static const float ps[] = {0.1f, 0.3f, 0.5f, 0.9f};
    enum { R = 20000, INNER = 7 };
    const size_t n = (size_t)R * INNER;
    float *x = fvec(n), *y = fvec(n), *mask = fvec(n), *dy = fvec(n), *dx = fvec(n);
    uint64_t fill = rt_rng_seed(3, 0);
    fill_uniform(x, n, &fill, -2.0, 2.0);
    fill_uniform(dy, n, &fill, -1.0, 1.0);
    for (size_t k = 0; k < sizeof ps / sizeof *ps; k++) {
        const float p = ps[k];
        const float scale = 1.0f / (float)(1.0 - (double)p);
        uint64_t rng = rt_rng_seed(42, k), replay = rng;
        rt_dropout_channels_forward(x, y, mask, R, INNER, p, &rng);
        long kept = 0;
        for (size_t r = 0; r < R; r++) {
            const int keep = rt_rng_uniform(&replay) < 1.0 - (double)p;
            kept += keep;
            for (size_t i = 0; i < INNER; i++) {
                const size_t e = r * INNER + i;
                ck_assert_msg(mask[e] == (keep ? scale : 0.0f), "p %g row %zu element %zu: mask %g", p, r, i,
                              mask[e]);
                ck_assert(y[e] == x[e] * mask[e]);
            }
        }
        ck_assert_msg(rng == replay, "p %g: one draw per row", p);
        const double q = 1.0 - p, sd = sqrt(p * q / R);
        ck_assert_msg(fabs((double)kept / R - q) <= 4.5 * sd, "p %g: kept %ld of %d rows", p, kept, R);
        /* The same stream gives the same mask. */
        float *mask2 = fvec(n);
        uint64_t again = rt_rng_seed(42, k);
        rt_dropout_channels_forward(x, y, mask2, R, INNER, p, &again);
        ck_assert(memcmp(mask, mask2, n * sizeof *mask) == 0);
        free(mask2);
        rt_dropout_backward(dy, mask, dx, n);
        for (size_t e = 0; e < n; e++)
            ck_assert(dx[e] == dy[e] * mask[e]);
    }
    /* p = 0 keeps everything, p = 1 drops everything; neither draws. */
    uint64_t rng = rt_rng_seed(1, 2), before = rng;
    rt_dropout_channels_forward(x, y, mask, R, INNER, 0.0f, &rng);
    ck_assert(rng == before);
    for (size_t e = 0; e < n; e++)
        ck_assert(mask[e] == 1.0f && y[e] == x[e]);
    rt_dropout_channels_forward(x, y, mask, R, INNER, 1.0f, &rng);
    ck_assert(rng == before);
    for (size_t e = 0; e < n; e++)
        ck_assert(mask[e] == 0.0f && y[e] == 0.0f);
    free(x);
    free(y);
    free(mask);
    free(dy);
    free(dx);
}
END_TEST

int main(void)
{
    ncases = tu_find_cases(GOLDEN_DIR, ".safetensors", case_names, MAX_CASES);
    if (ncases == 0) {
        fprintf(stderr, "no golden cases in " GOLDEN_DIR "\n");
        return EXIT_FAILURE;
    }
    Suite *s = suite_create("batchnorm");
    TCase *tc = tcase_create("golden");
    tcase_add_loop_test(tc, test_golden, 0, ncases);
    suite_add_tcase(s, tc);
    tc = tcase_create("fd");
    tcase_add_loop_test(tc, test_fd, 0, (int)(sizeof fd_shapes / sizeof *fd_shapes));
    suite_add_tcase(s, tc);
    tc = tcase_create("running");
    tcase_add_loop_test(tc, test_running_steps, 0, 2);
    tcase_add_test(tc, test_eval);
    tcase_add_test(tc, test_threads);
    tcase_add_test(tc, test_fused_activation);
    suite_add_tcase(s, tc);
    tc = tcase_create("dropout_channels");
    tcase_add_test(tc, test_dropout_channels);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
