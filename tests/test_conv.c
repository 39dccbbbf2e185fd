/* test_conv.c — the convolution kernels (runtime/conv.c) against PyTorch,
 * finite differences and themselves at other thread counts.
 *
 * - golden: every tests/golden/conv/<case>.safetensors
 *   (scripts/gen_golden_conv.py) is one torch Conv1d/2d or
 *   ConvTranspose1d/2d call with its geometry in the metadata; the output
 *   and the gradients of x, W and b must match torch's.
 * - fd: small geometries (every padding mode, stride, dilation, groups,
 *   an even "same" kernel, 1-d and 2-d, both kinds, output_padding) with
 *   a fused Tanh, Sigmoid or none: every element of dx, dW and db against
 *   finite differences of a weighted sum of the output, and the forward
 *   against a double-precision reference written from the definition.
 * - threads: shapes the kernels cut into several tasks (LeNet-5's layers
 *   among them): every output and gradient within the error bound of a
 *   float sum of the reference's terms at 1 thread, and the same bits at
 *   2 and 3 threads.
 * - aliases: z NULL, z == y, dz == dy, only the activation's operand, no
 *   dx and no db give the bits of separate buffers, and leave unwanted
 *   gradients untouched. */
#include <check.h>
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

#define GOLDEN_DIR "tests/golden/conv/"
#define MAX_CASES 128

static char case_names[MAX_CASES][TU_CASE_NAME];
static int ncases;

/* ------------------------------------------------------------- helpers */

static long x_size(const comp_geom *g)
{
    return (long)g->c_in * g->h_in * g->w_in;
}

static long y_size(const comp_geom *g)
{
    return (long)g->c_out * g->h_out * g->w_out;
}

static long w_size(const comp_geom *g, int transposed)
{
    (void)transposed; /* (c_out, c_in/G, ...) or (c_in, c_out/G, ...): the same count */
    return (long)g->c_out * (g->c_in / g->groups) * g->kh * g->kw;
}

static float *alloc_nan(long n)
{
    float *p = malloc((size_t)(n > 0 ? n : 1) * sizeof *p);
    ck_assert_ptr_nonnull(p);
    for (long i = 0; i < n; i++)
        p[i] = NAN; /* whatever a kernel fails to write shows up */
    return p;
}

static void conv_fwd(int transposed, const comp_geom *g, const float *x, const float *W, const float *b, float *z,
                     float *y, float *scratch, int batch, comp_act act, float a, float bb)
{
    (transposed ? rt_conv_transpose_forward : rt_conv_forward)(g, x, W, b, z, y, scratch, batch, act, a, bb);
}

static void conv_bwd(int transposed, const comp_geom *g, const float *dy, const float *z, const float *y, float *dz,
                     const float *x, const float *W, float *dx, float *dW, float *db, float *scratch, int batch,
                     comp_act act, float a, float bb)
{
    (transposed ? rt_conv_transpose_backward : rt_conv_backward)(g, dy, z, y, dz, x, W, dx, dW, db, scratch, batch,
                                                                 act, a, bb);
}

/* ------------------------------------------------------------- golden */

static int meta_int(const rt_st_file *f, const char *name, const char *key)
{
    const char *v = rt_st_meta(f, key);
    ck_assert_msg(v != NULL, "%s: no metadata %s", name, key);
    return atoi(v);
}

static const float *need(const rt_st_file *f, const char *name, const char *what, long n)
{
    const rt_tensor *t = rt_st_find(f, what);
    ck_assert_msg(t != NULL, "%s: no tensor %s", name, what);
    long m = 1;
    for (int i = 0; i < t->rank; i++)
        m *= (long)t->shape[i];
    ck_assert_msg(m == n, "%s: %s has %ld elements, the geometry says %ld", name, what, m, n);
    return t->data;
}

/* The tolerance against torch, relative to the largest |value| of each
 * tensor (tu_compare_rel).  Every element is a float32 sum of at most a
 * few hundred terms (forward: c_in/G*kh*kw products plus the bias; dx:
 * c_out/G*kh*kw; dW and db: batch*positions, 320 at most here), which
 * torch (oneDNN) and netc (OpenBLAS, sums in double for db) add in
 * different orders.  With random signs each order's rounding error is
 * about sqrt(n) eps times the terms' magnitude, sqrt(320) * 6e-8 = 1.1e-6
 * at worst here, the terms being no larger than the tensor's largest
 * value on these inputs; 3e-6 allows that and some; a wrong index or a
 * missing term is off by the order of the values themselves.  (Observed:
 * 5e-7 at most; CONV_SHOW_ERRORS=1 prints it.) */
#define GOLDEN_TOL 3e-6

static double max_rel_err(const float *got, const float *want, long n)
{
    double m = 0.0, e = 0.0;
    for (long i = 0; i < n; i++)
        m = fmax(m, fabs((double)want[i]));
    for (long i = 0; i < n; i++)
        e = fmax(e, fabs((double)got[i] - want[i]) / fmax(m, 1e-30));
    return e;
}

static double worst_seen[4]; /* y, dx, dW, db over all cases (printed) */

START_TEST(test_golden)
{
    const char *name = case_names[_i];
    char path[512], err[256], msg[512];
    snprintf(path, sizeof path, GOLDEN_DIR "%s.safetensors", name);
    rt_st_file *f = rt_st_load(path, err, sizeof err);
    ck_assert_msg(f != NULL, "%s", err);
    comp_geom g = {0};
#define FIELD(k) g.k = meta_int(f, name, #k);
    FIELD(c_in) FIELD(h_in) FIELD(w_in) FIELD(c_out) FIELD(h_out) FIELD(w_out) FIELD(kh) FIELD(kw) FIELD(sh)
    FIELD(sw) FIELD(ph) FIELD(pw) FIELD(ph_end) FIELD(pw_end) FIELD(dh) FIELD(dw) FIELD(oph) FIELD(opw)
    FIELD(groups) FIELD(mode) FIELD(flags) FIELD(divisor)
#undef FIELD
    const int tr = meta_int(f, name, "transposed"), batch = meta_int(f, name, "batch");
    const int has_bias = meta_int(f, name, "bias");
    const long nx = batch * x_size(&g), ny = batch * y_size(&g), nw = w_size(&g, tr);
    const float *x = need(f, name, "x", nx), *W = need(f, name, "W", nw), *dy = need(f, name, "dy", ny);
    const float *b = has_bias ? need(f, name, "b", tr ? g.c_out : g.c_out) : NULL;
    const float *want_y = need(f, name, "y", ny), *want_dx = need(f, name, "dx", nx);
    const float *want_dW = need(f, name, "dW", nw), *want_db = has_bias ? need(f, name, "db", g.c_out) : NULL;

    float *scratch = alloc_nan(batch * comp_geom_conv_scratch(&g, tr));
    float *y = alloc_nan(ny), *z = alloc_nan(ny), *dz = alloc_nan(ny);
    float *dx = alloc_nan(nx), *dW = alloc_nan(nw), *db = alloc_nan(g.c_out);
    conv_fwd(tr, &g, x, W, b, z, y, scratch, batch, COMP_ACT_IDENTITY, 0, 0);
    int ok = tu_compare_rel(name, "y", y, want_y, ny, GOLDEN_TOL, msg, sizeof msg);
    ok &= tu_compare_rel(name, "z", z, want_y, ny, GOLDEN_TOL, msg, sizeof msg);
    for (long i = 0; i < batch * comp_geom_conv_scratch(&g, tr); i++)
        scratch[i] = NAN;
    conv_bwd(tr, &g, dy, z, y, dz, x, W, dx, dW, has_bias ? db : NULL, scratch, batch, COMP_ACT_IDENTITY, 0, 0);
    ok &= tu_compare_rel(name, "dz", dz, dy, ny, 0.0, msg, sizeof msg);
    ok &= tu_compare_rel(name, "dx", dx, want_dx, nx, GOLDEN_TOL, msg, sizeof msg);
    ok &= tu_compare_rel(name, "dW", dW, want_dW, nw, GOLDEN_TOL, msg, sizeof msg);
    if (has_bias)
        ok &= tu_compare_rel(name, "db", db, want_db, g.c_out, GOLDEN_TOL, msg, sizeof msg);
    worst_seen[0] = fmax(worst_seen[0], max_rel_err(y, want_y, ny));
    worst_seen[1] = fmax(worst_seen[1], max_rel_err(dx, want_dx, nx));
    worst_seen[2] = fmax(worst_seen[2], max_rel_err(dW, want_dW, nw));
    if (has_bias)
        worst_seen[3] = fmax(worst_seen[3], max_rel_err(db, want_db, g.c_out));
    if (_i == ncases - 1 && getenv("CONV_SHOW_ERRORS"))
        fprintf(stderr, "largest error / tensor max: y %.3g, dx %.3g, dW %.3g, db %.3g\n", worst_seen[0],
                worst_seen[1], worst_seen[2], worst_seen[3]);
    free(scratch);
    free(y);
    free(z);
    free(dz);
    free(dx);
    free(dW);
    free(db);
    ck_assert_msg(ok, "%s (%s): %s", name, rt_st_meta(f, "call"), msg);
    rt_st_free(f);
}
END_TEST

/* Every kind of call has golden cases (the directory was generated). */
START_TEST(test_golden_present)
{
    ck_assert_msg(ncases >= 40, "%d golden cases in " GOLDEN_DIR, ncases);
}
END_TEST

/* ---------------------------------------------------------- reference */

/* One convolution call of the fd, reference and thread tests. */
typedef struct {
    const char *name;
    int tr; /* ConvTranspose */
    comp_geom g;
    int batch;
    comp_act act;
    int bias;
} conv_case;

/* The input index that padded index i (of an extent of n) copies, or -1
 * (zeros), written from torch's F.pad rather than from conv_unfold.c:
 * torch keeps reflect padding below n and circular padding at most n, so
 * one reflection or one period suffices. */
static int ref_source(int i, int n, int mode)
{
    if (i >= 0 && i < n)
        return i;
    switch (mode) {
    case COMP_PAD_REFLECT: return i < 0 ? -i : 2 * (n - 1) - i;
    case COMP_PAD_REPLICATE: return i < 0 ? 0 : n - 1;
    case COMP_PAD_CIRCULAR: return i < 0 ? i + n : i - n;
    default: return -1;
    }
}

/* What ref_terms computes, in double, from whichever operands are given
 * (NULL arrays are not computed).  Each sum comes with the sum of the
 * magnitudes of its terms (abs) and its number of terms (cnt), for the
 * standard error bound of a float sum in any order: |fl(s) - s| <= (n+1)
 * eps sum|terms| with n terms (products included). */
typedef struct {
    const conv_case *c;
    const float *x, *W, *b, *dz;
    double *y, *yabs;        /* forward: the pre-activation */
    double *dx, *dxabs, *dW, *dWabs, *db, *dbabs;
    int *dxcnt;              /* terms of each dx element */
    const float *probe;      /* an element of x, W or b ... */
    unsigned char *dep;      /* ... and the outputs that depend on it */
} ref_job;

static void ref_term(const ref_job *r, long yi, long xi, long wi)
{
    const double xv = r->x[xi], wv = r->W[wi];
    if (r->y) {
        r->y[yi] += xv * wv;
        r->yabs[yi] += fabs(xv * wv);
        if (r->dep && (&r->x[xi] == r->probe || &r->W[wi] == r->probe))
            r->dep[yi] = 1;
    }
    if (r->dx) {
        r->dx[xi] += (double)r->dz[yi] * wv;
        r->dxabs[xi] += fabs((double)r->dz[yi] * wv);
        r->dxcnt[xi]++;
    }
    if (r->dW) {
        r->dW[wi] += (double)r->dz[yi] * xv;
        r->dWabs[wi] += fabs((double)r->dz[yi] * xv);
    }
}

/* Every (output, input, weight) product of the call, by the definition of
 * a convolution (padding through ref_source) or of a transposed one
 * (every input element spread over its window of the output), then the
 * bias.  Output arrays are zeroed first. */
static void ref_terms(const ref_job *r)
{
    const comp_geom *g = &r->c->g;
    const int batch = r->c->batch, G = g->groups, cig = g->c_in / G, cog = g->c_out / G;
    const long nx = batch * x_size(g), ny = batch * y_size(g), nw = w_size(g, r->c->tr);
    if (r->y) {
        memset(r->y, 0, (size_t)ny * sizeof *r->y);
        memset(r->yabs, 0, (size_t)ny * sizeof *r->yabs);
        if (r->dep)
            memset(r->dep, 0, (size_t)ny);
    }
    if (r->dx) {
        memset(r->dx, 0, (size_t)nx * sizeof *r->dx);
        memset(r->dxabs, 0, (size_t)nx * sizeof *r->dxabs);
        memset(r->dxcnt, 0, (size_t)nx * sizeof *r->dxcnt);
    }
    if (r->dW) {
        memset(r->dW, 0, (size_t)nw * sizeof *r->dW);
        memset(r->dWabs, 0, (size_t)nw * sizeof *r->dWabs);
    }
    for (int n = 0; n < batch; n++) {
        if (!r->c->tr) {
            for (int co = 0; co < g->c_out; co++)
                for (int oh = 0; oh < g->h_out; oh++)
                    for (int ow = 0; ow < g->w_out; ow++) {
                        const long yi = (((long)n * g->c_out + co) * g->h_out + oh) * g->w_out + ow;
                        for (int cl = 0; cl < cig; cl++) {
                            const int ci = co / cog * cig + cl;
                            for (int i = 0; i < g->kh; i++) {
                                const int ih = ref_source(oh * g->sh - g->ph + i * g->dh, g->h_in, g->mode);
                                for (int j = 0; j < g->kw && ih >= 0; j++) {
                                    const int iw = ref_source(ow * g->sw - g->pw + j * g->dw, g->w_in, g->mode);
                                    if (iw >= 0)
                                        ref_term(r, yi, (((long)n * g->c_in + ci) * g->h_in + ih) * g->w_in + iw,
                                                 (((long)co * cig + cl) * g->kh + i) * g->kw + j);
                                }
                            }
                        }
                    }
        } else {
            for (int ci = 0; ci < g->c_in; ci++)
                for (int ih = 0; ih < g->h_in; ih++)
                    for (int iw = 0; iw < g->w_in; iw++) {
                        const long xi = (((long)n * g->c_in + ci) * g->h_in + ih) * g->w_in + iw;
                        for (int cl = 0; cl < cog; cl++) {
                            const int co = ci / cig * cog + cl;
                            for (int i = 0; i < g->kh; i++) {
                                const int oh = ih * g->sh - g->ph + i * g->dh;
                                for (int j = 0; j < g->kw && oh >= 0 && oh < g->h_out; j++) {
                                    const int ow = iw * g->sw - g->pw + j * g->dw;
                                    if (ow >= 0 && ow < g->w_out)
                                        ref_term(r, (((long)n * g->c_out + co) * g->h_out + oh) * g->w_out + ow, xi,
                                                 (((long)ci * cog + cl) * g->kh + i) * g->kw + j);
                                }
                            }
                        }
                    }
        }
    }
    if (!r->b)
        return;
    const long plane = (long)g->h_out * g->w_out;
    if (r->db) {
        memset(r->db, 0, (size_t)g->c_out * sizeof *r->db);
        memset(r->dbabs, 0, (size_t)g->c_out * sizeof *r->dbabs);
    }
    for (long yi = 0; yi < ny; yi++) {
        const int co = (int)(yi / plane % g->c_out);
        if (r->y) {
            r->y[yi] += r->b[co];
            r->yabs[yi] += fabs((double)r->b[co]);
            if (r->dep && &r->b[co] == r->probe)
                r->dep[yi] = 1;
        }
        if (r->db) {
            r->db[co] += r->dz[yi];
            r->dbabs[co] += fabs((double)r->dz[yi]);
        }
    }
}

/* Products per output (the most, for a transposed convolution): the K of
 * fdcheck.h's rounding count and the n of the forward's error bound.  A
 * transposed output adds kh*kw column elements of cin/G products each,
 * at most cin/G*kh*kw roundings too. */
static int terms_per_output(const comp_geom *g)
{
    return g->c_in / g->groups * g->kh * g->kw;
}

/* |got - want| within the bound of a float sum of n terms of magnitude
 * sum abs, in any order (plus one rounding of the result). */
static int within_sum_bound(const char *label, const char *what, const float *got, const double *want,
                            const double *abs, const int *cnt, int n, long count)
{
    long bad = 0;
    for (long i = 0; i < count; i++) {
        const int terms = cnt ? cnt[i] : n;
        const double tol = (terms + 2) * EPS * abs[i];
        if (!(fabs((double)got[i] - want[i]) <= tol) && bad++ < 5)
            fprintf(stderr, "%s: %s[%ld]: netc %.9g, reference %.9g (tolerance %.3g)\n", label, what, i, got[i],
                    want[i], tol);
    }
    return bad == 0;
}

/* ------------------------------------------------------------------ fd */

/* Geometries of the finite-difference checks: every padding mode, stride,
 * dilation, groups, an even "same" kernel (ph_end > ph), 1-d and 2-d,
 * both kinds, output_padding, and a transposed call whose input is larger
 * than its output (x does not fit the scratch's rows area). */
static const conv_case fd_cases[] = {
    {"conv2d groups stride dilation", 0,
     {.c_in = 4, .h_in = 7, .w_in = 8, .c_out = 4, .h_out = 4, .w_out = 6, .kh = 3, .kw = 3, .sh = 2, .sw = 1,
      .ph = 1, .pw = 1, .ph_end = 1, .pw_end = 1, .dh = 1, .dw = 2, .groups = 2},
     2, COMP_ACT_TANH, 1},
    {"conv2d reflect", 0,
     {.c_in = 2, .h_in = 5, .w_in = 6, .c_out = 3, .h_out = 5, .w_out = 6, .kh = 3, .kw = 3, .sh = 1, .sw = 1,
      .ph = 1, .pw = 1, .ph_end = 1, .pw_end = 1, .dh = 1, .dw = 1, .groups = 1, .mode = COMP_PAD_REFLECT},
     2, COMP_ACT_SIGMOID, 1},
    {"conv2d replicate wide padding", 0,
     {.c_in = 3, .h_in = 4, .w_in = 5, .c_out = 2, .h_out = 4, .w_out = 5, .kh = 3, .kw = 3, .sh = 1, .sw = 1,
      .ph = 2, .pw = 2, .ph_end = 2, .pw_end = 2, .dh = 2, .dw = 2, .groups = 1, .mode = COMP_PAD_REPLICATE},
     2, COMP_ACT_TANH, 1},
    {"conv2d circular stride groups", 0,
     {.c_in = 2, .h_in = 6, .w_in = 6, .c_out = 4, .h_out = 3, .w_out = 3, .kh = 3, .kw = 3, .sh = 2, .sw = 2,
      .ph = 1, .pw = 1, .ph_end = 1, .pw_end = 1, .dh = 1, .dw = 1, .groups = 2, .mode = COMP_PAD_CIRCULAR},
     3, COMP_ACT_IDENTITY, 1},
    {"conv2d same even kernel, no bias", 0,
     {.c_in = 2, .h_in = 5, .w_in = 6, .c_out = 3, .h_out = 5, .w_out = 6, .kh = 4, .kw = 2, .sh = 1, .sw = 1,
      .ph = 1, .pw = 0, .ph_end = 2, .pw_end = 1, .dh = 1, .dw = 1, .groups = 1},
     2, COMP_ACT_TANH, 0},
    {"conv1d stride dilation", 0,
     {.c_in = 3, .h_in = 1, .w_in = 9, .c_out = 2, .h_out = 1, .w_out = 5, .kh = 1, .kw = 3, .sh = 1, .sw = 2,
      .pw = 2, .pw_end = 2, .dh = 1, .dw = 2, .groups = 1},
     3, COMP_ACT_TANH, 1},
    {"conv1d reflect depthwise", 0,
     {.c_in = 3, .h_in = 1, .w_in = 7, .c_out = 6, .h_out = 1, .w_out = 7, .kh = 1, .kw = 5, .sh = 1, .sw = 1,
      .pw = 2, .pw_end = 2, .dh = 1, .dw = 1, .groups = 3, .mode = COMP_PAD_REFLECT},
     2, COMP_ACT_SIGMOID, 1},
    {"convtranspose2d stride output_padding groups", 1,
     {.c_in = 4, .h_in = 3, .w_in = 4, .c_out = 2, .h_out = 6, .w_out = 8, .kh = 3, .kw = 3, .sh = 2, .sw = 2,
      .ph = 1, .pw = 1, .ph_end = 1, .pw_end = 1, .dh = 1, .dw = 1, .oph = 1, .opw = 1, .groups = 2},
     2, COMP_ACT_TANH, 1},
    {"convtranspose2d dilation, input larger than output", 1,
     {.c_in = 6, .h_in = 3, .w_in = 4, .c_out = 2, .h_out = 5, .w_out = 6, .kh = 3, .kw = 3, .sh = 1, .sw = 1,
      .ph = 1, .pw = 1, .ph_end = 1, .pw_end = 1, .dh = 2, .dw = 2, .groups = 1},
     2, COMP_ACT_SIGMOID, 1},
    {"convtranspose2d rectangular, no bias", 1,
     {.c_in = 2, .h_in = 3, .w_in = 3, .c_out = 3, .h_out = 6, .w_out = 8, .kh = 2, .kw = 3, .sh = 2, .sw = 3,
      .ph = 0, .pw = 1, .ph_end = 0, .pw_end = 1, .dh = 1, .dw = 1, .opw = 1, .groups = 1},
     2, COMP_ACT_TANH, 0},
    {"convtranspose1d stride output_padding", 1,
     {.c_in = 3, .h_in = 1, .w_in = 5, .c_out = 4, .h_out = 1, .w_out = 16, .kh = 1, .kw = 4, .sh = 1, .sw = 3,
      .pw = 1, .pw_end = 1, .dh = 1, .dw = 1, .opw = 2, .groups = 1},
     2, COMP_ACT_TANH, 1},
};
#define NFD ((int)(sizeof fd_cases / sizeof *fd_cases))

/* The output extent the case claims, from its other fields (a typo in the
 * table would otherwise test a call torch never makes). */
static void check_extent(const conv_case *c)
{
    const comp_geom *g = &c->g;
    int h, w;
    if (c->tr) {
        h = (g->h_in - 1) * g->sh - g->ph - g->ph_end + g->dh * (g->kh - 1) + g->oph + 1;
        w = (g->w_in - 1) * g->sw - g->pw - g->pw_end + g->dw * (g->kw - 1) + g->opw + 1;
    } else {
        h = (g->h_in + g->ph + g->ph_end - g->dh * (g->kh - 1) - 1) / g->sh + 1;
        w = (g->w_in + g->pw + g->pw_end - g->dw * (g->kw - 1) - 1) / g->sw + 1;
    }
    ck_assert_msg(h == g->h_out && w == g->w_out, "%s: output %dx%d, the geometry says %dx%d", c->name, h, w,
                  g->h_out, g->w_out);
}

typedef struct {
    const conv_case *c;
    float *x, *W, *b, *z, *y, *scratch;
    const float *r;
    double *ref, *refabs;
    unsigned char *dep;
    const float *probe;
} fd_ctx;

/* L = sum r * y.  M = sum over the outputs that the perturbed value feeds
 * of |r| (|y| + the magnitudes the output's sum added up); the others are
 * recomputed to the same bits (each output comes from its own operands in
 * an order fixed by the shape), so their rounding cancels exactly in the
 * differences. */
static double fd_loss(void *vctx, double *mag)
{
    fd_ctx *f = vctx;
    const conv_case *c = f->c;
    conv_fwd(c->tr, &c->g, f->x, f->W, c->bias ? f->b : NULL, f->z, f->y, f->scratch, c->batch, c->act, 0, 0);
    const ref_job r = {.c = c, .x = f->x, .W = f->W, .b = c->bias ? f->b : NULL, .y = f->ref, .yabs = f->refabs,
                       .probe = f->probe, .dep = f->dep};
    ref_terms(&r);
    const long ny = c->batch * y_size(&c->g);
    double L = 0.0, M = 0.0;
    for (long i = 0; i < ny; i++) {
        L += (double)f->r[i] * f->y[i];
        if (f->dep[i])
            M += fabs((double)f->r[i]) * (fabs((double)f->y[i]) + f->refabs[i]);
    }
    *mag = M;
    return L;
}

/* Every element of dx, dW and db against finite differences of
 * sum(r * y), y the fused activation of the convolution; and the forward's
 * pre-activation against the double reference. */
START_TEST(test_fd)
{
    const conv_case *c = &fd_cases[_i];
    check_extent(c);
    const comp_geom *g = &c->g;
    const long nx = c->batch * x_size(g), ny = c->batch * y_size(g), nw = w_size(g, c->tr);
    fd_ctx f = {.c = c, .x = alloc_nan(nx), .W = alloc_nan(nw), .b = alloc_nan(g->c_out), .z = alloc_nan(ny),
                .y = alloc_nan(ny), .scratch = alloc_nan(c->batch * comp_geom_conv_scratch(g, c->tr)),
                .ref = malloc((size_t)ny * sizeof(double)), .refabs = malloc((size_t)ny * sizeof(double)),
                .dep = malloc((size_t)ny)};
    float *r = alloc_nan(ny), *dz = alloc_nan(ny), *dx = alloc_nan(nx), *dW = alloc_nan(nw);
    float *db = alloc_nan(g->c_out);
    ck_assert(f.ref && f.refabs && f.dep);
    uint64_t rng = rt_rng_seed(31, (uint64_t)_i);
    fill_uniform(f.x, (size_t)nx, &rng, -1.0, 1.0);
    fill_uniform(f.W, (size_t)nw, &rng, -0.5, 0.5);
    fill_uniform(f.b, (size_t)g->c_out, &rng, -0.5, 0.5);
    fill_uniform(r, (size_t)ny, &rng, -1.0, 1.0);
    f.r = r;
    f.probe = f.x;
    double mag;
    fd_loss(&f, &mag);
    char label[160];
    snprintf(label, sizeof label, "fd %s", c->name);
    ck_assert_msg(within_sum_bound(label, "z", f.z, f.ref, f.refabs, NULL, terms_per_output(g) + 1, ny),
                  "%s: the forward is not the convolution", c->name);
    conv_bwd(c->tr, g, r, f.z, f.y, dz, f.x, f.W, dx, dW, c->bias ? db : NULL, f.scratch, c->batch, c->act, 0, 0);
    const double K = terms_per_output(g) + 6.0;
    fd_stats st = {0, 0};
    for (long i = 0; i < nx; i++) {
        f.probe = &f.x[i];
        fd_check(fd_loss, &f, &f.x[i], dx[i], K, &st, "dx", (int)i);
    }
    for (long i = 0; i < nw; i++) {
        f.probe = &f.W[i];
        fd_check(fd_loss, &f, &f.W[i], dW[i], K, &st, "dW", (int)i);
    }
    for (int i = 0; c->bias && i < g->c_out; i++) {
        f.probe = &f.b[i];
        fd_check(fd_loss, &f, &f.b[i], db[i], K, &st, "db", i);
    }
    fd_require_coverage(&st, c->name);
    /* Smooth activations only: nothing may be skipped. */
    ck_assert_msg(st.skipped == 0, "%s: %d points skipped", c->name, st.skipped);
    free(f.x);
    free(f.W);
    free(f.b);
    free(f.z);
    free(f.y);
    free(f.scratch);
    free(f.ref);
    free(f.refabs);
    free(f.dep);
    free(r);
    free(dz);
    free(dx);
    free(dW);
    free(db);
}
END_TEST

/* ----------------------------------------------- reference and threads */

/* Shapes large enough for the kernels' cuts: several chunks of samples,
 * weight gradients in several blocks, the LeNet-5 and mid-sized net's
 * layers among them. */
static const conv_case big_cases[] = {
    {"lenet conv1", 0,
     {.c_in = 1, .h_in = 28, .w_in = 28, .c_out = 6, .h_out = 28, .w_out = 28, .kh = 5, .kw = 5, .sh = 1,
      .sw = 1, .ph = 2, .pw = 2, .ph_end = 2, .pw_end = 2, .dh = 1, .dw = 1, .groups = 1},
     64, COMP_ACT_TANH, 1},
    {"lenet conv2", 0,
     {.c_in = 6, .h_in = 14, .w_in = 14, .c_out = 16, .h_out = 10, .w_out = 10, .kh = 5, .kw = 5, .sh = 1,
      .sw = 1, .dh = 1, .dw = 1, .groups = 1},
     24, COMP_ACT_TANH, 1},
    {"conv 32-64 3x3", 0,
     {.c_in = 32, .h_in = 14, .w_in = 14, .c_out = 64, .h_out = 14, .w_out = 14, .kh = 3, .kw = 3, .sh = 1,
      .sw = 1, .ph = 1, .pw = 1, .ph_end = 1, .pw_end = 1, .dh = 1, .dw = 1, .groups = 1},
     6, COMP_ACT_TANH, 1},
    {"conv 1-32 3x3 no bias", 0,
     {.c_in = 1, .h_in = 28, .w_in = 28, .c_out = 32, .h_out = 28, .w_out = 28, .kh = 3, .kw = 3, .sh = 1,
      .sw = 1, .ph = 1, .pw = 1, .ph_end = 1, .pw_end = 1, .dh = 1, .dw = 1, .groups = 1},
     20, COMP_ACT_SIGMOID, 0},
    {"conv reflect stride 2 groups", 0,
     {.c_in = 8, .h_in = 15, .w_in = 15, .c_out = 12, .h_out = 8, .w_out = 8, .kh = 3, .kw = 3, .sh = 2,
      .sw = 2, .ph = 1, .pw = 1, .ph_end = 1, .pw_end = 1, .dh = 1, .dw = 1, .groups = 2,
      .mode = COMP_PAD_REFLECT},
     24, COMP_ACT_TANH, 1},
    {"conv1d circular", 0,
     {.c_in = 16, .h_in = 1, .w_in = 100, .c_out = 32, .h_out = 1, .w_out = 100, .kh = 1, .kw = 5, .sh = 1,
      .sw = 1, .pw = 2, .pw_end = 2, .dh = 1, .dw = 1, .groups = 1, .mode = COMP_PAD_CIRCULAR},
     16, COMP_ACT_IDENTITY, 1},
    {"conv1d rows wider than the unfold's row buffer", 0,
     {.c_in = 2, .h_in = 1, .w_in = 1500, .c_out = 3, .h_out = 1, .w_out = 1500, .kh = 1, .kw = 5, .sh = 1,
      .sw = 1, .pw = 2, .pw_end = 2, .dh = 1, .dw = 1, .groups = 1, .mode = COMP_PAD_REFLECT},
     4, COMP_ACT_TANH, 1},
    {"convtranspose1d rows wider than the unfold's row buffer", 1,
     {.c_in = 3, .h_in = 1, .w_in = 700, .c_out = 2, .h_out = 1, .w_out = 1400, .kh = 1, .kw = 3, .sh = 1,
      .sw = 2, .pw = 1, .pw_end = 1, .dh = 1, .dw = 1, .opw = 1, .groups = 1},
     3, COMP_ACT_IDENTITY, 1},
    {"convtranspose2d upsampling", 1,
     {.c_in = 16, .h_in = 7, .w_in = 7, .c_out = 8, .h_out = 14, .w_out = 14, .kh = 4, .kw = 4, .sh = 2,
      .sw = 2, .ph = 1, .pw = 1, .ph_end = 1, .pw_end = 1, .dh = 1, .dw = 1, .groups = 1},
     32, COMP_ACT_TANH, 1},
    {"convtranspose2d input larger than output", 1,
     {.c_in = 32, .h_in = 10, .w_in = 10, .c_out = 8, .h_out = 10, .w_out = 10, .kh = 3, .kw = 3, .sh = 1,
      .sw = 1, .ph = 1, .pw = 1, .ph_end = 1, .pw_end = 1, .dh = 1, .dw = 1, .groups = 1},
     16, COMP_ACT_TANH, 1},
    {"convtranspose1d groups output_padding", 1,
     {.c_in = 8, .h_in = 1, .w_in = 50, .c_out = 8, .h_out = 1, .w_out = 102, .kh = 1, .kw = 5, .sh = 1,
      .sw = 2, .pw = 1, .pw_end = 1, .dh = 1, .dw = 1, .opw = 1, .groups = 2},
     32, COMP_ACT_SIGMOID, 1},
};
#define NBIG ((int)(sizeof big_cases / sizeof *big_cases))

/* One call's inputs and outputs, forward and backward. */
typedef struct {
    float *x, *W, *b, *dy, *z, *y, *dz, *dx, *dW, *db, *scratch;
    long nx, ny, nw, nscratch;
} conv_bufs;

static void bufs_alloc(conv_bufs *B, const conv_case *c)
{
    B->nx = c->batch * x_size(&c->g);
    B->ny = c->batch * y_size(&c->g);
    B->nw = w_size(&c->g, c->tr);
    B->nscratch = c->batch * comp_geom_conv_scratch(&c->g, c->tr);
    B->x = alloc_nan(B->nx);
    B->W = alloc_nan(B->nw);
    B->b = alloc_nan(c->g.c_out);
    B->dy = alloc_nan(B->ny);
    B->z = alloc_nan(B->ny);
    B->y = alloc_nan(B->ny);
    B->dz = alloc_nan(B->ny);
    B->dx = alloc_nan(B->nx);
    B->dW = alloc_nan(B->nw);
    B->db = alloc_nan(c->g.c_out);
    B->scratch = alloc_nan(B->nscratch);
}

static void bufs_free(conv_bufs *B)
{
    float *p[] = {B->x, B->W, B->b, B->dy, B->z, B->y, B->dz, B->dx, B->dW, B->db, B->scratch};
    for (size_t i = 0; i < sizeof p / sizeof *p; i++)
        free(p[i]);
}

/* Random inputs (seeded by the case), in the ranges of a trained net's. */
static void bufs_fill(conv_bufs *B, const conv_case *c, uint64_t seed)
{
    uint64_t rng = rt_rng_seed(seed, 0);
    const double wr = 1.0 / sqrt((double)terms_per_output(&c->g));
    fill_uniform(B->x, (size_t)B->nx, &rng, -1.0, 1.0);
    fill_uniform(B->W, (size_t)B->nw, &rng, -wr, wr);
    fill_uniform(B->b, (size_t)c->g.c_out, &rng, -0.5, 0.5);
    fill_uniform(B->dy, (size_t)B->ny, &rng, -1.0, 1.0);
}

/* Forward and backward of c on B's inputs into B's outputs. */
static void bufs_run(conv_bufs *B, const conv_case *c)
{
    conv_fwd(c->tr, &c->g, B->x, B->W, c->bias ? B->b : NULL, B->z, B->y, B->scratch, c->batch, c->act, 0, 0);
    conv_bwd(c->tr, &c->g, B->dy, B->z, B->y, B->dz, B->x, B->W, B->dx, B->dW, c->bias ? B->db : NULL, B->scratch,
             c->batch, c->act, 0, 0);
}

static int same_floats(const float *a, const float *b, long n)
{
    return memcmp(a, b, (size_t)n * sizeof *a) == 0;
}

/* At one thread: z, dx, dW and db within the error bound of a float sum
 * of the reference's terms, y = act(z) and dz = dy act' as the
 * activation kernels compute them.  At 2 and 3 threads: the same bits. */
START_TEST(test_reference_threads)
{
    const conv_case *c = &big_cases[_i];
    check_extent(c);
    const comp_geom *g = &c->g;
    conv_bufs B[3];
    for (int t = 0; t < 3; t++) {
        bufs_alloc(&B[t], c);
        bufs_fill(&B[t], c, 100 + (uint64_t)_i);
        ck_assert_int_eq(rt_pool_set_threads(t + 1), t + 1);
        bufs_run(&B[t], c);
    }
    rt_pool_set_threads(1);

    const long nx = B[0].nx, ny = B[0].ny, nw = B[0].nw;
    double *ry = malloc((size_t)ny * sizeof *ry), *ryabs = malloc((size_t)ny * sizeof *ryabs);
    double *rdx = malloc((size_t)nx * sizeof *rdx), *rdxabs = malloc((size_t)nx * sizeof *rdxabs);
    double *rdW = malloc((size_t)nw * sizeof *rdW), *rdWabs = malloc((size_t)nw * sizeof *rdWabs);
    double rdb[64], rdbabs[64];
    int *rdxcnt = malloc((size_t)nx * sizeof *rdxcnt);
    ck_assert(ry && ryabs && rdx && rdxabs && rdW && rdWabs && rdxcnt && g->c_out <= 64);
    const ref_job r = {.c = c, .x = B[0].x, .W = B[0].W, .b = c->bias ? B[0].b : NULL, .dz = B[0].dz, .y = ry,
                       .yabs = ryabs, .dx = rdx, .dxabs = rdxabs, .dxcnt = rdxcnt, .dW = rdW, .dWabs = rdWabs,
                       .db = rdb, .dbabs = rdbabs};
    ref_terms(&r);
    float *want = alloc_nan(ny);
    rt_act_forward(c->act, 0, 0, B[0].z, want, (size_t)ny);
    ck_assert_msg(same_floats(B[0].y, want, ny), "%s: y is not act(z)", c->name);
    rt_act_backward(c->act, 0, 0, B[0].z, B[0].y, B[0].dy, want, (size_t)ny);
    ck_assert_msg(same_floats(B[0].dz, want, ny), "%s: dz is not dy act'", c->name);
    const long pos = c->batch * (long)g->h_out * g->w_out;
    int ok = within_sum_bound(c->name, "z", B[0].z, ry, ryabs, NULL, terms_per_output(g) + 1, ny);
    ok &= within_sum_bound(c->name, "dx", B[0].dx, rdx, rdxabs, rdxcnt, 0, nx);
    /* dW sums a product per output position of a channel (the transposed
     * kind: per input position), at most batch * positions of the larger. */
    const long dwterms = c->tr ? c->batch * (long)g->h_in * g->w_in : pos;
    ok &= within_sum_bound(c->name, "dW", B[0].dW, rdW, rdWabs, NULL, (int)dwterms, nw);
    if (c->bias)
        ok &= within_sum_bound(c->name, "db", B[0].db, rdb, rdbabs, NULL, (int)pos, g->c_out);
    ck_assert_msg(ok, "%s: results off the reference (above)", c->name);
    for (int t = 1; t < 3; t++) {
        ck_assert_msg(same_floats(B[t].y, B[0].y, ny) && same_floats(B[t].z, B[0].z, ny), "%s: y differs at %d threads",
                      c->name, t + 1);
        ck_assert_msg(same_floats(B[t].dz, B[0].dz, ny), "%s: dz differs at %d threads", c->name, t + 1);
        ck_assert_msg(same_floats(B[t].dx, B[0].dx, nx), "%s: dx differs at %d threads", c->name, t + 1);
        ck_assert_msg(same_floats(B[t].dW, B[0].dW, nw), "%s: dW differs at %d threads", c->name, t + 1);
        if (c->bias)
            ck_assert_msg(same_floats(B[t].db, B[0].db, g->c_out), "%s: db differs at %d threads", c->name, t + 1);
    }
    for (int t = 0; t < 3; t++)
        bufs_free(&B[t]);
    free(ry);
    free(ryabs);
    free(rdx);
    free(rdxabs);
    free(rdW);
    free(rdWabs);
    free(rdxcnt);
    free(want);
}
END_TEST

/* ------------------------------------------------------------- aliases */

/* z NULL and z == y give separate buffers' y; dz == dy (dy overwritten),
 * only the tensor the activation needs, no dx, no db: the same bits of
 * whatever is still computed; and a wanted-nothing gradient is left
 * untouched. */
START_TEST(test_aliases)
{
    static const int pick[] = {1, 2, 5, 8, 9};
    const conv_case *c = &big_cases[pick[_i]];
    const comp_geom *g = &c->g;
    conv_bufs B, A;
    bufs_alloc(&B, c);
    bufs_alloc(&A, c);
    bufs_fill(&B, c, 200 + (uint64_t)_i);
    bufs_fill(&A, c, 200 + (uint64_t)_i);
    bufs_run(&B, c);
    const float *bias = c->bias ? B.b : NULL;
    const long ny = B.ny, nx = B.nx, nw = B.nw;

    /* z not kept */
    conv_fwd(c->tr, g, A.x, A.W, bias, NULL, A.y, A.scratch, c->batch, c->act, 0, 0);
    ck_assert_msg(same_floats(A.y, B.y, ny), "%s: y differs with z NULL", c->name);
    /* z == y */
    conv_fwd(c->tr, g, A.x, A.W, bias, A.z, A.z, A.scratch, c->batch, c->act, 0, 0);
    ck_assert_msg(same_floats(A.z, B.y, ny), "%s: y differs with z == y", c->name);
    if (c->act == COMP_ACT_IDENTITY)
        ck_assert(same_floats(B.z, B.y, ny));

    /* dz == dy, only the operand the activation needs */
    const int nxa = comp_act_needs_x[c->act];
    float *g2 = alloc_nan(ny);
    memcpy(g2, B.dy, (size_t)ny * sizeof *g2);
    for (long i = 0; i < nx; i++)
        A.dx[i] = NAN;
    conv_bwd(c->tr, g, g2, nxa ? B.z : NULL, nxa ? NULL : B.y, g2, A.x, A.W, A.dx, A.dW, c->bias ? A.db : NULL,
             A.scratch, c->batch, c->act, 0, 0);
    ck_assert_msg(same_floats(g2, B.dz, ny), "%s: dz differs in place", c->name);
    ck_assert_msg(same_floats(A.dx, B.dx, nx), "%s: dx differs with dz == dy", c->name);
    ck_assert_msg(same_floats(A.dW, B.dW, nw), "%s: dW differs with dz == dy", c->name);
    if (c->bias)
        ck_assert_msg(same_floats(A.db, B.db, g->c_out), "%s: db differs with dz == dy", c->name);

    /* no dx, no db: dW as before, dx and db untouched */
    for (long i = 0; i < nx; i++)
        A.dx[i] = NAN;
    for (int i = 0; i < g->c_out; i++)
        A.db[i] = NAN;
    for (long i = 0; i < nw; i++)
        A.dW[i] = NAN;
    conv_bwd(c->tr, g, B.dy, B.z, B.y, A.dz, A.x, A.W, NULL, A.dW, NULL, A.scratch, c->batch, c->act, 0, 0);
    ck_assert_msg(same_floats(A.dW, B.dW, nw), "%s: dW differs without dx and db", c->name);
    ck_assert_msg(same_floats(A.dz, B.dz, ny), "%s: dz differs without dx and db", c->name);
    for (long i = 0; i < nx; i++)
        ck_assert_msg(isnan(A.dx[i]), "%s: dx written though not wanted", c->name);
    for (int i = 0; i < g->c_out; i++)
        ck_assert_msg(isnan(A.db[i]), "%s: db written though not wanted", c->name);
    free(g2);
    bufs_free(&B);
    bufs_free(&A);
}
END_TEST

int main(void)
{
    ncases = tu_find_cases(GOLDEN_DIR, ".safetensors", case_names, MAX_CASES);
    Suite *s = suite_create("conv");
    TCase *tc = tcase_create("golden");
    tcase_add_loop_test(tc, test_golden, 0, ncases);
    tcase_add_test(tc, test_golden_present);
    suite_add_tcase(s, tc);
    tc = tcase_create("fd");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_fd, 0, NFD);
    suite_add_tcase(s, tc);
    tc = tcase_create("threads");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_reference_threads, 0, NBIG);
    suite_add_tcase(s, tc);
    tc = tcase_create("aliases");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_aliases, 0, 5);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
