/* test_pooling.c — the pooling kernels of runtime/pooling.c against
 * PyTorch, finite differences and themselves across thread counts.
 *
 * - golden: tests/golden/pooling/<Module>.safetensors
 *   (scripts/gen_golden_pooling.py) holds, per module, cases over kernel
 *   sizes, strides, padding, dilation, ceil_mode, count_include_pad,
 *   divisor_override and adaptive output sizes, with torch's output,
 *   indices and input gradient.  The geometry comes from the file, as the
 *   compiler would fill it.  Every kernel must reproduce torch's bits:
 *   outputs, indices and gradients alike (NaN where torch has NaN).  The
 *   average pools can be exact too because the kernels add and divide in
 *   torch's order.
 * - fd: the average pools' backward against finite differences of
 *   sum(r * y) (they are linear, so only rounding limits the agreement).
 * - nan: a NaN in a max pool window wins it and takes its gradient, in
 *   the general and the 2x2 kernels.
 * - threads: batch-64 layers of every kernel give the same bits at 1, 2
 *   and 3 threads. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fdcheck.h"
#include "testutil.h"
#include "runtime/kernels.h"
#include "runtime/pool.h"
#include "runtime/safetensors.h"
#include "runtime/spatial.h"

#define GOLDEN_DIR "tests/golden/pooling/"

enum { MAXPOOL, AVGPOOL, ADAPTIVE_AVG, ADAPTIVE_MAX };

static const struct {
    const char *file;
    int kind;
} modules[] = {
    {"MaxPool1d", MAXPOOL},           {"MaxPool2d", MAXPOOL},
    {"AvgPool1d", AVGPOOL},           {"AvgPool2d", AVGPOOL},
    {"AdaptiveAvgPool1d", ADAPTIVE_AVG}, {"AdaptiveAvgPool2d", ADAPTIVE_AVG},
    {"AdaptiveMaxPool1d", ADAPTIVE_MAX}, {"AdaptiveMaxPool2d", ADAPTIVE_MAX},
};
#define NMODULES ((int)(sizeof modules / sizeof *modules))

static int is_max(int kind)
{
    return kind == MAXPOOL || kind == ADAPTIVE_MAX;
}

static void forward(int kind, const comp_geom *g, const float *x, float *y, float *idx, int batch)
{
    switch (kind) {
    case MAXPOOL: rt_maxpool_forward(g, x, y, idx, batch); break;
    case AVGPOOL: rt_avgpool_forward(g, x, y, batch); break;
    case ADAPTIVE_AVG: rt_adaptive_avgpool_forward(g, x, y, batch); break;
    default: rt_adaptive_maxpool_forward(g, x, y, idx, batch); break;
    }
}

static void backward(int kind, const comp_geom *g, const float *dy, const float *idx, float *dx, int batch)
{
    switch (kind) {
    case MAXPOOL: rt_maxpool_backward(g, dy, idx, dx, batch); break;
    case AVGPOOL: rt_avgpool_backward(g, dy, dx, batch); break;
    case ADAPTIVE_AVG: rt_adaptive_avgpool_backward(g, dy, dx, batch); break;
    default: rt_adaptive_maxpool_backward(g, dy, idx, dx, batch); break;
    }
}

/* ------------------------------------------------------------ geometry */

/* Parses "name=value ..." (the generator's "<i>/geom") into g and batch;
 * every comp_geom field the kernels read must be given. */
static void parse_geom(const char *text, comp_geom *g, int *batch, const char *label)
{
    static const struct {
        const char *name;
        size_t off;
    } fields[] = {
#define F(n) {#n, offsetof(comp_geom, n)}
        F(c_in), F(h_in), F(w_in), F(c_out), F(h_out), F(w_out), F(kh), F(kw), F(sh), F(sw),
        F(ph), F(pw), F(ph_end), F(pw_end), F(dh), F(dw), F(flags), F(divisor),
#undef F
    };
    enum { NF = sizeof fields / sizeof *fields };
    int seen[NF] = {0}, seen_batch = 0;
    memset(g, 0, sizeof *g);
    g->groups = 1;
    const char *p = text;
    while (*p) {
        char name[32];
        int value, used;
        ck_assert_msg(sscanf(p, " %31[a-z_]=%d%n", name, &value, &used) == 2, "%s: bad geometry '%s'", label, p);
        p += used;
        while (*p == ' ')
            p++;
        if (strcmp(name, "batch") == 0) {
            *batch = value;
            seen_batch = 1;
            continue;
        }
        int k = 0;
        while (k < NF && strcmp(fields[k].name, name) != 0)
            k++;
        ck_assert_msg(k < NF, "%s: unknown geometry field %s", label, name);
        *(int32_t *)((char *)g + fields[k].off) = value;
        seen[k] = 1;
    }
    ck_assert_msg(seen_batch, "%s: no batch", label);
    for (int k = 0; k < NF; k++)
        ck_assert_msg(seen[k], "%s: geometry has no %s", label, fields[k].name);
}

/* ------------------------------------------------------------- golden */

/* Same bits, or NaN on both sides. */
static int same_float(float a, float b)
{
    if (isnan(a) || isnan(b))
        return isnan(a) && isnan(b);
    uint32_t ua, ub;
    memcpy(&ua, &a, sizeof ua);
    memcpy(&ub, &b, sizeof ub);
    return ua == ub;
}

/* Counts (and prints the first few) elements whose bits differ. */
static int count_diff(const char *label, const char *what, const float *got, const float *want, long n)
{
    int bad = 0;
    for (long i = 0; i < n; i++)
        if (!same_float(got[i], want[i]) && bad++ < 5)
            fprintf(stderr, "%s: %s[%ld]: netc %.9g, torch %.9g\n", label, what, i, got[i], want[i]);
    return bad;
}

static const rt_tensor *need(const rt_st_file *f, const char *label, int c, const char *what, long n)
{
    char name[32];
    snprintf(name, sizeof name, "%d/%s", c, what);
    const rt_tensor *t = rt_st_find(f, name);
    ck_assert_msg(t != NULL, "%s: no tensor %s", label, name);
    long count = 1;
    for (int d = 0; d < t->rank; d++)
        count *= (long)t->shape[d];
    ck_assert_msg(count == n, "%s: %s has %ld elements, the geometry says %ld", label, name, count, n);
    return t;
}

/* Every case of module _i: forward (with and without indices for the max
 * pools), indices and backward bit for bit against torch. */
START_TEST(test_golden)
{
    const int kind = modules[_i].kind;
    char path[256], err[256];
    snprintf(path, sizeof path, GOLDEN_DIR "%s.safetensors", modules[_i].file);
    rt_st_file *f = rt_st_load(path, err, sizeof err);
    ck_assert_msg(f != NULL, "%s", err);
    const char *ncases = rt_st_meta(f, "cases");
    ck_assert_msg(ncases && atoi(ncases) > 0, "%s: no cases", path);
    int bad = 0;
    for (int c = 0; c < atoi(ncases); c++) {
        char key[32], label[512];
        snprintf(key, sizeof key, "%d", c);
        const char *call = rt_st_meta(f, key);
        snprintf(key, sizeof key, "%d/geom", c);
        const char *geom = rt_st_meta(f, key);
        ck_assert_msg(call && geom, "%s: case %d has no description or geometry", path, c);
        snprintf(label, sizeof label, "%s case %d, %s", modules[_i].file, c, call);
        comp_geom g;
        int batch = 0;
        parse_geom(geom, &g, &batch, label);
        const long nx = (long)batch * g.c_in * g.h_in * g.w_in, ny = (long)batch * g.c_out * g.h_out * g.w_out;
        const float *x = need(f, label, c, "x", nx)->data, *dy = need(f, label, c, "dy", ny)->data;
        const float *want_y = need(f, label, c, "y", ny)->data, *want_dx = need(f, label, c, "dx", nx)->data;
        float *y = malloc((size_t)ny * sizeof *y), *y2 = malloc((size_t)ny * sizeof *y2);
        float *idx = malloc((size_t)ny * sizeof *idx), *dx = malloc((size_t)nx * sizeof *dx);
        ck_assert(y && y2 && idx && dx);
        /* Garbage in the outputs: the kernels must overwrite all of them. */
        memset(y, 0x7f, (size_t)ny * sizeof *y);
        memset(dx, 0x7f, (size_t)nx * sizeof *dx);
        forward(kind, &g, x, y, is_max(kind) ? idx : NULL, batch);
        bad += count_diff(label, "y", y, want_y, ny);
        if (is_max(kind)) {
            bad += count_diff(label, "idx", idx, need(f, label, c, "idx", ny)->data, ny);
            forward(kind, &g, x, y2, NULL, batch);
            bad += count_diff(label, "y without idx", y2, y, ny);
        }
        backward(kind, &g, dy, idx, dx, batch);
        bad += count_diff(label, "dx", dx, want_dx, nx);
        backward(kind, &g, dy, idx, NULL, batch); /* no input gradient wanted: writes nothing */
        free(y);
        free(y2);
        free(idx);
        free(dx);
    }
    rt_st_free(f);
    ck_assert_msg(bad == 0, "%s: %d elements differ from torch", modules[_i].file, bad);
}
END_TEST

/* ------------------------------------------------------------------ fd */

typedef struct {
    int kind;
    comp_geom g;
    int batch;
    float *x, *y;
    const float *r;
} fd_ctx;

/* sum(r * y), with the bound on what was rounded: the sum of |r y| plus,
 * per output, |r| times the absolute sum its window added up. */
static double fd_loss(void *vctx, double *mag)
{
    fd_ctx *c = vctx;
    forward(c->kind, &c->g, c->x, c->y, NULL, c->batch);
    const long ny = (long)c->batch * c->g.c_out * c->g.h_out * c->g.w_out;
    double L = 0.0, m = 0.0;
    for (long i = 0; i < ny; i++) {
        L += (double)c->r[i] * c->y[i];
        m += fabs((double)c->r[i]) * 4.0; /* |x| < 2: window means of at most 2, times headroom */
    }
    *mag = m;
    return L;
}

static const struct {
    int kind;
    comp_geom g;
} fd_cases[] = {
    {AVGPOOL, {.c_in = 2, .h_in = 7, .w_in = 8, .c_out = 2, .h_out = 4, .w_out = 5, .kh = 3, .kw = 3, .sh = 2,
               .sw = 2, .ph = 1, .pw = 1, .ph_end = 1, .pw_end = 1, .dh = 1, .dw = 1, .flags = COMP_GEOM_CEIL}},
    {AVGPOOL, {.c_in = 2, .h_in = 7, .w_in = 8, .c_out = 2, .h_out = 4, .w_out = 5, .kh = 3, .kw = 3, .sh = 2,
               .sw = 2, .ph = 1, .pw = 1, .ph_end = 1, .pw_end = 1, .dh = 1, .dw = 1,
               .flags = COMP_GEOM_CEIL | COMP_GEOM_COUNT_INCLUDE_PAD}},
    {AVGPOOL, {.c_in = 1, .h_in = 6, .w_in = 7, .c_out = 1, .h_out = 3, .w_out = 4, .kh = 2, .kw = 3, .sh = 2,
               .sw = 2, .ph = 1, .pw = 1, .ph_end = 1, .pw_end = 1, .dh = 1, .dw = 1, .divisor = 5}},
    {AVGPOOL, {.c_in = 3, .h_in = 1, .w_in = 11, .c_out = 3, .h_out = 1, .w_out = 9, .kh = 1, .kw = 3, .sh = 1,
               .sw = 1, .dh = 1, .dw = 1, .flags = COMP_GEOM_COUNT_INCLUDE_PAD}},
    {ADAPTIVE_AVG, {.c_in = 2, .h_in = 7, .w_in = 9, .c_out = 2, .h_out = 5, .w_out = 4}},
    {ADAPTIVE_AVG, {.c_in = 2, .h_in = 5, .w_in = 6, .c_out = 2, .h_out = 1, .w_out = 1}},
};
#define NFD ((int)(sizeof fd_cases / sizeof *fd_cases))

START_TEST(test_fd_avg_backward)
{
    fd_ctx c = {.kind = fd_cases[_i].kind, .g = fd_cases[_i].g, .batch = 2};
    const long nx = (long)c.batch * c.g.c_in * c.g.h_in * c.g.w_in;
    const long ny = (long)c.batch * c.g.c_out * c.g.h_out * c.g.w_out;
    float *x = malloc((size_t)nx * sizeof *x), *dx = malloc((size_t)nx * sizeof *dx);
    float *y = malloc((size_t)ny * sizeof *y), *r = malloc((size_t)ny * sizeof *r);
    ck_assert(x && dx && y && r);
    uint64_t rng = 12345 + (uint64_t)_i;
    fill_uniform(x, (size_t)nx, &rng, -2.0, 2.0);
    fill_uniform(r, (size_t)ny, &rng, -1.0, 1.0);
    c.x = x;
    c.y = y;
    c.r = r;
    backward(c.kind, &c.g, r, NULL, dx, c.batch);
    /* roundings per output: one per element of its window, one division
     * (two for the adaptive pool), one in r * y */
    const double K = 3.0 + (c.kind == AVGPOOL ? c.g.kh * c.g.kw
                                              : (c.g.h_in / c.g.h_out + 2) * (c.g.w_in / c.g.w_out + 2));
    fd_stats st = {0, 0};
    for (long i = 0; i < nx; i++)
        fd_check(fd_loss, &c, &x[i], dx[i], K, &st, "dx", (int)i);
    fd_require_coverage(&st, "avg pool dx");
    free(x);
    free(dx);
    free(y);
    free(r);
}
END_TEST

/* ----------------------------------------------------------------- nan */

/* A NaN wins its window, whatever the window's other values, and the
 * window's gradient goes to it; windows without NaN are unaffected.  In
 * the 2x2 kernel and the general one (3x3, stride 2, padding 1). */
START_TEST(test_nan_propagates)
{
    const comp_geom g2 = {.c_in = 1, .h_in = 4, .w_in = 4, .c_out = 1, .h_out = 2, .w_out = 2, .kh = 2, .kw = 2,
                          .sh = 2, .sw = 2, .dh = 1, .dw = 1};
    const comp_geom g3 = {.c_in = 1, .h_in = 4, .w_in = 4, .c_out = 1, .h_out = 2, .w_out = 2, .kh = 3, .kw = 3,
                          .sh = 2, .sw = 2, .ph = 1, .pw = 1, .ph_end = 1, .pw_end = 1, .dh = 1, .dw = 1};
    const comp_geom *gs[2] = {&g2, &g3};
    for (int t = 0; t < 2; t++) {
        /* NaN at 1, after a larger value, and at 2, before a 9 that must
         * not displace it.  The last window has no NaN. */
        float x[16];
        for (int i = 0; i < 16; i++)
            x[i] = (float)i * 0.5f - 4.0f;
        x[0] = 5.0f;
        x[1] = NAN;
        x[2] = NAN;
        x[3] = 9.0f;
        float y[4], idx[4], dx[16];
        const float dy[4] = {1.0f, 2.0f, 3.0f, 4.0f};
        rt_maxpool_forward(gs[t], x, y, idx, 1);
        ck_assert_msg(isnan(y[0]) && isnan(y[1]), "kernel %d: NaN does not propagate (%g %g)", t, y[0], y[1]);
        ck_assert_msg(!isnan(y[2]) && !isnan(y[3]), "kernel %d: NaN leaks into other windows", t);
        ck_assert_msg(idx[0] == 1.0f, "kernel %d: window 0 picks %g, not the NaN at 1", t, idx[0]);
        /* torch's scan lets every NaN replace the one before */
        ck_assert_msg(idx[1] == 2.0f, "kernel %d: window 1 picks %g, not the NaN at 2", t, idx[1]);
        ck_assert(y[3] == x[15] && idx[3] == 15.0f);
        rt_maxpool_backward(gs[t], dy, idx, dx, 1);
        float sum = 0.0f;
        for (int i = 0; i < 16; i++)
            sum += dx[i];
        ck_assert(sum == 10.0f && dx[2] == 2.0f && dx[15] == 4.0f);
        /* The adaptive max pool too: one window over the whole plane. */
        const comp_geom ga = {.c_in = 1, .h_in = 4, .w_in = 4, .c_out = 1, .h_out = 1, .w_out = 1};
        rt_adaptive_maxpool_forward(&ga, x, y, idx, 1);
        ck_assert(isnan(y[0]) && idx[0] == 2.0f); /* the last NaN */
    }
}
END_TEST

/* ------------------------------------------------------------- threads */

static const struct {
    int kind;
    comp_geom g;
} thread_cases[] = {
    /* the mid-sized net's MaxPool2d(2) layers, and other geometries */
    {MAXPOOL, {.c_in = 32, .h_in = 28, .w_in = 28, .c_out = 32, .h_out = 14, .w_out = 14, .kh = 2, .kw = 2,
               .sh = 2, .sw = 2, .dh = 1, .dw = 1}},
    {MAXPOOL, {.c_in = 64, .h_in = 14, .w_in = 14, .c_out = 64, .h_out = 7, .w_out = 7, .kh = 2, .kw = 2,
               .sh = 2, .sw = 2, .dh = 1, .dw = 1}},
    {MAXPOOL, {.c_in = 16, .h_in = 15, .w_in = 15, .c_out = 16, .h_out = 8, .w_out = 8, .kh = 3, .kw = 3,
               .sh = 2, .sw = 2, .ph = 1, .pw = 1, .ph_end = 1, .pw_end = 1, .dh = 1, .dw = 1}},
    {AVGPOOL, {.c_in = 16, .h_in = 15, .w_in = 15, .c_out = 16, .h_out = 8, .w_out = 8, .kh = 3, .kw = 3,
               .sh = 2, .sw = 2, .ph = 1, .pw = 1, .ph_end = 1, .pw_end = 1, .dh = 1, .dw = 1,
               .flags = COMP_GEOM_CEIL}},
    {ADAPTIVE_AVG, {.c_in = 16, .h_in = 15, .w_in = 15, .c_out = 16, .h_out = 4, .w_out = 4}},
    {ADAPTIVE_AVG, {.c_in = 16, .h_in = 15, .w_in = 15, .c_out = 16, .h_out = 1, .w_out = 1}},
    {ADAPTIVE_MAX, {.c_in = 16, .h_in = 15, .w_in = 15, .c_out = 16, .h_out = 4, .w_out = 4}},
};
#define NTHREAD_CASES ((int)(sizeof thread_cases / sizeof *thread_cases))

START_TEST(test_threads_same_bits)
{
    const int kind = thread_cases[_i].kind, batch = 64;
    const comp_geom *g = &thread_cases[_i].g;
    const size_t nx = (size_t)batch * g->c_in * g->h_in * g->w_in, ny = (size_t)batch * g->c_out * g->h_out * g->w_out;
    float *x = malloc(nx * sizeof *x), *dy = malloc(ny * sizeof *dy);
    float *y[3], *idx[3], *dx[3];
    uint64_t rng = 777;
    ck_assert(x && dy);
    for (size_t i = 0; i < nx; i++)
        x[i] = (float)rt_rng_uniform(&rng) * 2.0f - 1.0f;
    for (size_t i = 0; i < ny; i++)
        dy[i] = (float)rt_rng_uniform(&rng) * 2.0f - 1.0f;
    for (int t = 0; t < 3; t++) {
        y[t] = malloc(ny * sizeof **y);
        idx[t] = malloc(ny * sizeof **idx);
        dx[t] = malloc(nx * sizeof **dx);
        ck_assert(y[t] && idx[t] && dx[t]);
        ck_assert_int_eq(rt_pool_set_threads(t + 1), t + 1);
        forward(kind, g, x, y[t], is_max(kind) ? idx[t] : NULL, batch);
        backward(kind, g, dy, idx[t], dx[t], batch);
    }
    rt_pool_set_threads(1);
    for (int t = 1; t < 3; t++) {
        ck_assert_msg(memcmp(y[t], y[0], ny * sizeof **y) == 0, "case %d: y differs at %d threads", _i, t + 1);
        if (is_max(kind))
            ck_assert_msg(memcmp(idx[t], idx[0], ny * sizeof **idx) == 0, "case %d: idx differs at %d threads", _i,
                          t + 1);
        ck_assert_msg(memcmp(dx[t], dx[0], nx * sizeof **dx) == 0, "case %d: dx differs at %d threads", _i, t + 1);
    }
    for (int t = 0; t < 3; t++) {
        free(y[t]);
        free(idx[t]);
        free(dx[t]);
    }
    free(x);
    free(dy);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pooling");
    TCase *tc = tcase_create("golden");
    tcase_add_loop_test(tc, test_golden, 0, NMODULES);
    suite_add_tcase(s, tc);
    tc = tcase_create("fd");
    tcase_add_loop_test(tc, test_fd_avg_backward, 0, NFD);
    suite_add_tcase(s, tc);
    tc = tcase_create("nan");
    tcase_add_test(tc, test_nan_propagates);
    suite_add_tcase(s, tc);
    tc = tcase_create("threads");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_threads_same_bits, 0, NTHREAD_CASES);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
