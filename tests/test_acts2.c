/* test_acts2.c — the activations that are not elementwise functions of
 * fixed arguments (PReLU, RReLU, GLU, Softmin) and AlphaDropout.
 *
 * Kernels against PyTorch's golden vectors (scripts/gen_golden_acts2.py,
 * tests/golden/acts2/): forward and backward within 1e-6 absolute plus
 * 1e-5 relative, exactly where torch's arithmetic is reproduced op for op
 * (RReLU in eval, AlphaDropout given torch's noise).  Where torch draws
 * random numbers netc cannot reproduce (RReLU's training slopes,
 * AlphaDropout's mask), statistics within sampling error.  Then each layer
 * in a small Linear -> layer -> Linear net: finite-difference gradients of
 * every parameter (PReLU's slopes included), a short training run that
 * lowers the loss, PReLU's init and checkpoint names, eval mode.
 *
 * Every test runs from the project root, where the golden files are. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fdcheck.h"
#include "testutil.h"
#include "compiler/plan.h"
#include "runtime/checkpoint.h"
#include "runtime/kernels.h"
#include "runtime/net.h"
#include "runtime/safetensors.h"

#define GOLDEN "tests/golden/acts2/"
#define ABS_TOL 1e-6
#define REL_TOL 1e-5

/* ---------------------------------------------------------------- helpers */

static float *fvec(size_t n)
{
    float *p = calloc(n ? n : 1, sizeof *p);
    ck_assert_ptr_nonnull(p);
    return p;
}

static int same_bits(float a, float b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

static rt_st_file *golden(const char *name)
{
    char path[256], err[256];
    snprintf(path, sizeof path, GOLDEN "%s.safetensors", name);
    rt_st_file *f = rt_st_load(path, err, sizeof err);
    ck_assert_msg(f != NULL, "cannot load %s: %s", path, err);
    return f;
}

static long count_of(const rt_tensor *t)
{
    long n = 1;
    for (int i = 0; i < t->rank; i++)
        n *= (long)t->shape[i];
    return n;
}

/* Golden tensor name of file f, which must hold n floats (n < 0: any). */
static const rt_tensor *gt(const rt_st_file *f, const char *name, long n)
{
    const rt_tensor *t = rt_st_find(f, name);
    ck_assert_msg(t != NULL, "golden tensor '%s' missing", name);
    ck_assert_msg(n < 0 || count_of(t) == n, "golden tensor '%s' has %ld floats, expected %ld", name, count_of(t), n);
    return t;
}

/* got[0..n) against golden tensor name: within ABS_TOL + REL_TOL |want|,
 * or bit for bit when exact. */
static void expect_close(const rt_st_file *f, const char *name, const float *got, long n, int exact)
{
    const rt_tensor *t = gt(f, name, n);
    long bad = 0, first = -1;
    for (long i = 0; i < n; i++) {
        const double a = got[i], b = t->data[i];
        const int ok = exact ? same_bits(got[i], t->data[i]) : fabs(a - b) <= ABS_TOL + REL_TOL * fabs(b);
        if (!ok && bad++ == 0)
            first = i;
    }
    ck_assert_msg(bad == 0, "%s: %ld of %ld elements off, first [%ld]: netc %.9g, torch %.9g", name, bad, n, first,
                  first >= 0 ? (double)got[first] : 0.0, first >= 0 ? (double)t->data[first] : 0.0);
}

/* ------------------------------------------------------- golden: kernels */

START_TEST(test_prelu_golden)
{
    rt_st_file *f = golden("prelu");
    const rt_tensor *x = gt(f, "x", 60), *dy = gt(f, "dy", 60), *x2 = gt(f, "x2", 18), *dy2 = gt(f, "dy2", 18);
    float *y = fvec(60), *dx = fvec(60), dw[3];
    /* Shared slope: (N, C, L) = (4, 3, 5) is rows 4 of 15 with one weight. */
    const float *w1 = gt(f, "w1", 1)->data, *w3 = gt(f, "w3", 3)->data;
    rt_prelu_forward(x->data, w1, y, 4, 1, 15);
    rt_prelu_backward(x->data, w1, dy->data, dx, dw, 4, 1, 15);
    expect_close(f, "y1", y, 60, 1);
    expect_close(f, "dx1", dx, 60, 1);
    expect_close(f, "dw1", dw, 1, 0);
    /* One slope per channel (dim 1), each covering 5 values per sample. */
    rt_prelu_forward(x->data, w3, y, 4, 3, 5);
    rt_prelu_backward(x->data, w3, dy->data, dx, dw, 4, 3, 5);
    expect_close(f, "y3", y, 60, 1);
    expect_close(f, "dx3", dx, 60, 1);
    expect_close(f, "dw3", dw, 3, 0);
    /* (N, C) input: the channel is the feature. */
    rt_prelu_forward(x2->data, w3, y, 6, 3, 1);
    rt_prelu_backward(x2->data, w3, dy2->data, dx, dw, 6, 3, 1);
    expect_close(f, "y2", y, 18, 1);
    expect_close(f, "dx2", dx, 18, 1);
    expect_close(f, "dw2", dw, 3, 0);
    /* Without dx (PReLU first in the chain) the weight gradient is the same. */
    float dw2[3];
    rt_prelu_backward(x2->data, w3, dy2->data, NULL, dw2, 6, 3, 1);
    ck_assert(memcmp(dw, dw2, sizeof dw) == 0);
    free(y);
    free(dx);
    rt_st_free(f);
}
END_TEST

/* Eval mode is leaky_relu with the mean slope: torch's arithmetic exactly. */
START_TEST(test_rrelu_eval_golden)
{
    rt_st_file *f = golden("rrelu");
    const rt_tensor *x = gt(f, "x", -1), *dy = gt(f, "dy", count_of(x));
    const long n = count_of(x);
    const char *lo = rt_st_meta(f, "lower"), *up = rt_st_meta(f, "upper");
    ck_assert(lo && up);
    const comp_entry *e = &comp_layers[COMP_LAYER_RRELU];
    const double def_lo = e->args[comp_arg_index(e, "lower")].def[0];
    const double def_up = e->args[comp_arg_index(e, "upper")].def[0];
    float *y = fvec((size_t)n), *noise = fvec((size_t)n), *dx = fvec((size_t)n);
    uint64_t rng = rt_rng_seed(1, 1), rng0 = rng;
    rt_rrelu_forward(x->data, y, noise, (size_t)n, def_lo, def_up, 0, &rng);
    ck_assert(rng == rng0); /* eval draws nothing */
    rt_rrelu_backward(dy->data, noise, dx, (size_t)n);
    expect_close(f, "y_def", y, n, 1);
    expect_close(f, "dx_def", dx, n, 1);
    rt_rrelu_forward(x->data, y, noise, (size_t)n, strtod(lo, NULL), strtod(up, NULL), 0, &rng);
    rt_rrelu_backward(dy->data, noise, dx, (size_t)n);
    expect_close(f, "y_arg", y, n, 1);
    expect_close(f, "dx_arg", dx, n, 1);
    free(y);
    free(noise);
    free(dx);
    rt_st_free(f);
}
END_TEST

START_TEST(test_glu_golden)
{
    rt_st_file *f = golden("glu");
    const rt_tensor *x = gt(f, "x", 72);
    float *y = fvec(36), *dx = fvec(72);
    /* dim=-1 of (3, 4, 6): (outer, n, inner) = (12, 6, 1). */
    rt_glu_forward(x->data, y, 12, 6, 1);
    rt_glu_backward(x->data, gt(f, "dy_last", 36)->data, dx, 12, 6, 1);
    expect_close(f, "y_last", y, 36, 0);
    expect_close(f, "dx_last", dx, 72, 0);
    /* dim=1: (3, 4, 6). */
    rt_glu_forward(x->data, y, 3, 4, 6);
    rt_glu_backward(x->data, gt(f, "dy_mid", 36)->data, dx, 3, 4, 6);
    expect_close(f, "y_mid", y, 36, 0);
    expect_close(f, "dx_mid", dx, 72, 0);
    free(y);
    free(dx);
    rt_st_free(f);
}
END_TEST

START_TEST(test_softmin_golden)
{
    rt_st_file *f = golden("softmin");
    const rt_tensor *x = gt(f, "x", 60), *dy = gt(f, "dy", 60);
    float *y = fvec(60), *dx = fvec(60);
    rt_softmin_forward(x->data, y, 3, 4, 5);
    rt_softmin_backward(y, dy->data, dx, 3, 4, 5);
    expect_close(f, "y_d1", y, 60, 0);
    expect_close(f, "dx_d1", dx, 60, 0);
    rt_softmin_forward(x->data, y, 12, 5, 1);
    memcpy(dx, dy->data, 60 * sizeof *dx); /* in place, as the plan may run it */
    rt_softmin_backward(y, dx, dx, 12, 5, 1);
    expect_close(f, "y_dl", y, 60, 0);
    expect_close(f, "dx_dl", dx, 60, 0);
    /* Softmin is softmax of the negation, bit for bit. */
    float *neg = fvec(60), *ys = fvec(60);
    for (int i = 0; i < 60; i++)
        neg[i] = -x->data[i];
    rt_softmax_forward(neg, ys, 12, 5, 1);
    ck_assert(memcmp(ys, y, 60 * sizeof *y) == 0);
    free(neg);
    free(ys);
    free(y);
    free(dx);
    rt_st_free(f);
}
END_TEST

/* Given torch's noise, netc's affine correction reproduces torch's output
 * and gradient bit for bit. */
START_TEST(test_alpha_dropout_golden)
{
    rt_st_file *f = golden("alpha_dropout");
    const rt_tensor *x = gt(f, "x", -1);
    const long n = count_of(x);
    const float *dy = gt(f, "dy", n)->data;
    const char *ps = rt_st_meta(f, "ps");
    ck_assert_ptr_nonnull(ps);
    float *y = fvec((size_t)n), *mask = fvec((size_t)n), *dx = fvec((size_t)n);
    int cases = 0;
    for (const char *s = strchr(ps, '['); s && *s && *s != ']'; cases++) {
        char *end;
        const double p = strtod(s + 1, &end);
        ck_assert_msg(end != s + 1, "bad ps metadata: %s", ps);
        char name[32];
        snprintf(name, sizeof name, "keep_%d", cases);
        memcpy(mask, gt(f, name, n)->data, (size_t)n * sizeof *mask);
        rt_alpha_dropout_apply(x->data, y, mask, (size_t)n, p);
        rt_dropout_backward(dy, mask, dx, (size_t)n);
        snprintf(name, sizeof name, "y_%d", cases);
        expect_close(f, name, y, n, 1);
        snprintf(name, sizeof name, "dx_%d", cases);
        expect_close(f, name, dx, n, 1);
        s = end;
    }
    ck_assert_int_eq(cases, 3);
    free(y);
    free(mask);
    free(dx);
    rt_st_free(f);
}
END_TEST

/* ------------------------------------------------ training-mode statistics */

/* Slopes lie in [lower, upper], average (lower + upper) / 2 within sampling
 * error, y = x * slope exactly; positive inputs pass unchanged; the
 * backward uses the same noise; the same state draws the same slopes. */
START_TEST(test_rrelu_train_stats)
{
    enum { N = 200000 };
    const double bounds[][2] = {{1.0 / 8.0, 1.0 / 3.0}, {-0.5, 0.25}, {0.3, 0.3}};
    float *x = fvec(N), *y = fvec(N), *noise = fvec(N), *noise2 = fvec(N), *dx = fvec(N);
    uint64_t rng = rt_rng_seed(3, 0);
    for (int i = 0; i < N; i++)
        x[i] = (float)rt_rng_normal(&rng);
    x[0] = 0.0f; /* torch draws for x <= 0 */
    x[1] = -0.0f;
    for (int b = 0; b < 3; b++) {
        const double lo = bounds[b][0], up = bounds[b][1];
        uint64_t s = rt_rng_seed(4, (uint64_t)b), s2 = s;
        rt_rrelu_forward(x, y, noise, N, lo, up, 1, &s);
        long neg = 0, bad = 0;
        double sum = 0;
        for (int i = 0; i < N; i++) {
            if (x[i] <= 0.0f) {
                neg++;
                sum += noise[i];
                bad += !(noise[i] >= (float)lo && noise[i] <= (float)up);
            } else {
                bad += noise[i] != 1.0f;
            }
            bad += !same_bits(y[i], x[i] > 0.0f ? x[i] : x[i] * noise[i]);
        }
        ck_assert_msg(bad == 0, "[%g, %g]: %ld slopes or outputs wrong", lo, up, bad);
        ck_assert(noise[0] != 1.0f || lo == 1.0);
        /* U(lo, up) has sd (up - lo) / sqrt(12); the mean within 5 sd / sqrt(n). */
        const double mean = sum / (double)neg, want = (lo + up) / 2.0;
        const double sd = (up - lo) / sqrt(12.0 * (double)neg);
        ck_assert_msg(fabs(mean - want) <= 5.0 * sd + 1e-7, "[%g, %g]: mean slope %.6f, expected %.6f +- %.2g", lo,
                      up, mean, want, sd);
        rt_rrelu_backward(x, noise, dx, N);
        for (int i = 0; i < N; i++)
            bad += !same_bits(dx[i], x[i] * noise[i]);
        ck_assert_int_eq(bad, 0);
        rt_rrelu_forward(x, y, noise2, N, lo, up, 1, &s2);
        ck_assert(memcmp(noise, noise2, N * sizeof *noise) == 0);
    }
    free(x);
    free(y);
    free(noise);
    free(noise2);
    free(dx);
}
END_TEST

/* Standard normal input keeps mean 0 and variance 1 within sampling error;
 * the kept fraction is 1 - p; the mask is (float)a or 0 and the gradient
 * dy * mask; p = 0 is the identity and p = 1 gives zeros, without draws. */
START_TEST(test_alpha_dropout_stats)
{
    enum { N = 400000 };
    float *x = fvec(N), *y = fvec(N), *mask = fvec(N), *dx = fvec(N);
    uint64_t rng = rt_rng_seed(6, 0);
    for (int i = 0; i < N; i++)
        x[i] = (float)rt_rng_normal(&rng);
    const double ps[] = {0.1, 0.5, 0.85};
    for (int k = 0; k < 3; k++) {
        const double p = ps[k];
        const float a = (float)(1.0 / sqrt((1.7580993408473766 * 1.7580993408473766 * p + 1.0) * (1.0 - p)));
        uint64_t s = rt_rng_seed(7, (uint64_t)k);
        rt_alpha_dropout_forward(x, y, mask, N, p, &s);
        double m1 = 0, m2 = 0, m4 = 0;
        long kept = 0, bad = 0;
        for (int i = 0; i < N; i++) {
            kept += mask[i] != 0.0f;
            bad += !(mask[i] == 0.0f || same_bits(mask[i], a));
            m1 += y[i];
        }
        m1 /= N;
        for (int i = 0; i < N; i++) {
            const double d = y[i] - m1;
            m2 += d * d;
            m4 += d * d * d * d;
        }
        m2 /= N;
        m4 /= N;
        ck_assert_int_eq(bad, 0);
        const double q = 1.0 - p, sdk = sqrt(q * p / N);
        ck_assert_msg(fabs((double)kept / N - q) <= 5.0 * sdk, "p = %g: kept %.5f", p, (double)kept / N);
        /* The sample mean's sd is sqrt(var / n); the sample variance's is
         * sqrt((m4 - var^2) / n). */
        ck_assert_msg(fabs(m1) <= 5.0 * sqrt(m2 / N), "p = %g: mean %.5f", p, m1);
        ck_assert_msg(fabs(m2 - 1.0) <= 5.0 * sqrt((m4 - m2 * m2) / N), "p = %g: variance %.5f", p, m2);
        rt_dropout_backward(x, mask, dx, N);
        for (int i = 0; i < N; i++)
            bad += !same_bits(dx[i], mask[i] != 0.0f ? x[i] * a : x[i] * 0.0f);
        ck_assert_int_eq(bad, 0);
    }
    uint64_t s = rt_rng_seed(8, 0), s0 = s;
    rt_alpha_dropout_forward(x, y, mask, N, 0.0, &s);
    ck_assert(s == s0 && memcmp(x, y, N * sizeof *x) == 0 && mask[0] == 1.0f && mask[N - 1] == 1.0f);
    rt_alpha_dropout_forward(x, y, mask, N, 1.0, &s);
    ck_assert(s == s0 && y[0] == 0.0f && y[N - 1] == 0.0f && mask[0] == 0.0f);
    free(x);
    free(y);
    free(mask);
    free(dx);
}
END_TEST

/* --------------------------------------------------- the layers in a net */

/* Linear -> layer -> Linear nets; input shape and middle as the layer needs. */
static const struct {
    const char *input, *chain;
} nets[] = {
    {"4", "Linear(4, 6) -> PReLU(num_parameters=6, init=-0.375) -> Linear(6, 3)"},
    {"4", "Linear(4, 6) -> PReLU -> Linear(6, 3)"},
    {"(2, 4)", "Linear(4, 6) -> PReLU(num_parameters=2) -> Flatten -> Linear(12, 3)"},
    {"4", "Linear(4, 6) -> RReLU -> Linear(6, 3)"},
    {"4", "Linear(4, 6) -> RReLU(lower=-0.5, upper=0.75) -> Linear(6, 3)"},
    {"4", "Linear(4, 6) -> GLU -> Linear(3, 3)"},
    {"(2, 4)", "Linear(4, 6) -> GLU(dim=1) -> Flatten -> Linear(6, 3)"},
    {"4", "Linear(4, 6) -> Softmin(dim=1) -> Linear(6, 3)"},
    {"(2, 4)", "Linear(4, 6) -> Softmin(dim=1) -> Flatten -> Linear(12, 3)"},
    {"4", "Linear(4, 6) -> AlphaDropout(p=0.3) -> Linear(6, 3)"},
};
#define NNETS ((int)(sizeof nets / sizeof nets[0]))

static comp_plan *net_plan(int k, const char *loss, const char *optim)
{
    char text[512];
    snprintf(text, sizeof text,
             "model t {\n input %s\n layers %s\n init normal(std=0.5)\n loss %s\n optimizer %s\n}\n", nets[k].input,
             nets[k].chain, loss, optim);
    return tu_compile_text(text);
}

typedef struct {
    rt_net *net;
    size_t nout;
} fd_net;

/* The sum of squared errors in double (MSE with reduction="sum"), with the
 * random layers' generator reset so every evaluation draws the same
 * slopes and masks. */
static double fd_net_loss(void *ctx, double *mag)
{
    fd_net *c = ctx;
    const comp_plan *p = c->net->plan;
    c->net->dropout_rng = rt_rng_seed(77, 3);
    rt_net_forward(c->net);
    const float *y = rt_net_buf(c->net, p->output), *t = rt_net_buf(c->net, p->target);
    double L = 0, m = 0;
    for (size_t i = 0; i < c->nout; i++) {
        const double d = (double)y[i] - t[i];
        L += d * d;
        m += (fabs(y[i]) + fabs(t[i])) * (fabs(y[i]) + fabs(t[i]));
    }
    *mag = m + 1.0;
    return L;
}

/* Every parameter's gradient, PReLU's slopes included, against finite
 * differences of the whole net in training mode. */
START_TEST(test_net_fd)
{
    enum { N = 5 };
    comp_plan *p = net_plan(_i, "MSE(reduction=\"sum\")", "SGD");
    rt_net *net = rt_net_new(p, N);
    ck_assert_ptr_nonnull(net);
    rt_net_set_batch(net, N, 1);
    rt_net_init_params(net, 11);
    float *params = rt_net_buf(net, p->params[0]) - p->bufs[p->params[0]].offset;
    const size_t np = comp_plan_param_count(p);
    for (size_t i = 0; i < np; i++)
        params[i] = quant(params[i]);
    uint64_t rng = rt_rng_seed(12, 0);
    float *x = rt_net_buf(net, p->input), *t = rt_net_buf(net, p->target);
    for (size_t i = 0; i < (size_t)N * p->target_size; i++)
        t[i] = quant(rt_rng_uniform(&rng));
    /* PReLU and RReLU have a kink at 0, which the difference quotient does
     * not always recognise as one.  Moving a first-layer parameter by up to
     * 2h = 0.125 moves a pre-activation by at most 0.125 (|x| <= 1), so
     * samples whose pre-activations all keep 0.2 from 0 cross no kink. */
    const size_t in = p->bufs[p->input].size, hid = p->bufs[p->ops[0].buf[0]].size;
    for (int r = 0; r < N; r++) {
        int far = 0;
        for (int tries = 0; tries < 1000 && !far; tries++) {
            for (size_t i = 0; i < in; i++)
                x[(size_t)r * in + i] = quant(2.0 * rt_rng_uniform(&rng) - 1.0);
            rt_net_forward(net);
            const float *z = rt_net_buf(net, p->ops[0].buf[0]) + (size_t)r * hid;
            far = 1;
            for (size_t j = 0; j < hid; j++)
                far &= fabsf(z[j]) >= 0.2f;
        }
        ck_assert_msg(far, "no sample away from the kinks");
    }
    fd_net c = {net, (size_t)N * p->bufs[p->output].size};
    double mag;
    fd_net_loss(&c, &mag);
    rt_net_backward(net);
    float *g = fvec(np);
    memcpy(g, net->arena[COMP_ARENA_GRAD], np * sizeof *g);
    fd_stats st = {0, 0};
    for (size_t i = 0; i < np; i++)
        fd_check(fd_net_loss, &c, &params[i], g[i], 32.0, &st, nets[_i].chain, (int)i);
    fd_require_coverage(&st, nets[_i].chain);
    free(g);
    rt_net_free(net);
    tu_destroy(p);
}
END_TEST

/* The loss on a fixed batch, in eval mode. */
static float eval_loss(rt_net *net, int n)
{
    rt_net_set_batch(net, n, 0);
    return rt_net_forward(net);
}

/* A short training run lowers the loss, and a second run with the same seed
 * gives the same parameters bit for bit. */
START_TEST(test_net_trains)
{
    enum { N = 24, STEPS = 60 };
    comp_plan *p = net_plan(_i, "CrossEntropy", "Adam(lr=0.02)");
    float *first = NULL;
    const size_t np = comp_plan_param_count(p);
    for (int run = 0; run < 2; run++) {
        rt_net *net = rt_net_new(p, N);
        ck_assert_ptr_nonnull(net);
        rt_net_init_params(net, 5);
        net->dropout_rng = rt_rng_seed(5, 9);
        uint64_t rng = rt_rng_seed(13, 0);
        rt_net_set_batch(net, N, 1);
        float *x = rt_net_buf(net, p->input), *t = rt_net_buf(net, p->target);
        for (size_t i = 0; i < (size_t)N * p->bufs[p->input].size; i++)
            x[i] = (float)rt_rng_normal(&rng);
        for (int i = 0; i < N; i++)
            t[i] = (float)(rt_rng_next(&rng) % 3);
        const float before = eval_loss(net, N);
        for (int s = 0; s < STEPS; s++) {
            rt_net_set_batch(net, N, 1);
            rt_net_forward(net);
            rt_net_backward(net);
            rt_net_update(net);
        }
        const float after = eval_loss(net, N);
        ck_assert_msg(after < 0.8f * before, "%s: loss %.5f -> %.5f", nets[_i].chain, before, after);
        const float *params = net->arena[COMP_ARENA_PARAM];
        if (run == 0) {
            first = fvec(np);
            memcpy(first, params, np * sizeof *first);
        } else {
            ck_assert_msg(memcmp(first, params, np * sizeof *first) == 0, "%s: not reproducible", nets[_i].chain);
        }
        rt_net_free(net);
    }
    free(first);
    tu_destroy(p);
}
END_TEST

/* PReLU's slopes start at `init` whatever the weight init, are named
 * "<index>.weight" with torch's shape (num_parameters,), are trained, and
 * survive a checkpoint round trip. */
START_TEST(test_prelu_param)
{
    comp_plan *p = net_plan(0, "MSE", "SGD(lr=0.1)");
    ck_assert_int_eq(p->nparams, 5);
    const comp_buf *w = &p->bufs[p->params[2]];
    ck_assert_str_eq(w->name, "1.weight");
    ck_assert_int_eq(w->rank, 1);
    ck_assert_int_eq(w->dims[0], 6);
    ck_assert_int_eq(w->arena, COMP_ARENA_PARAM);
    rt_net *net = rt_net_new(p, 4);
    rt_net_init_params(net, 3);
    const float *slopes = rt_net_buf(net, p->params[2]);
    for (int i = 0; i < 6; i++)
        ck_assert(slopes[i] == -0.375f);
    uint64_t rng = rt_rng_seed(1, 0);
    rt_net_set_batch(net, 4, 1);
    float *x = rt_net_buf(net, p->input), *t = rt_net_buf(net, p->target);
    for (int i = 0; i < 16; i++)
        x[i] = (float)rt_rng_normal(&rng);
    for (int i = 0; i < 12; i++)
        t[i] = (float)rt_rng_normal(&rng);
    rt_net_forward(net);
    rt_net_backward(net);
    rt_net_update(net);
    int moved = 0;
    for (int i = 0; i < 6; i++)
        moved += slopes[i] != -0.375f;
    ck_assert_int_gt(moved, 0);

    char dir[256], path[300], err[256];
    tu_mkdtemp(dir, sizeof dir, "acts2");
    snprintf(path, sizeof path, "%s/prelu.safetensors", dir);
    ck_assert_msg(rt_checkpoint_save(net, path, err, sizeof err) == 0, "%s", err);
    rt_st_file *f = rt_st_load(path, err, sizeof err);
    ck_assert_msg(f != NULL, "%s", err);
    const rt_tensor *t1 = rt_st_find(f, "1.weight");
    ck_assert(t1 && t1->rank == 1 && t1->shape[0] == 6 && memcmp(t1->data, slopes, 6 * sizeof(float)) == 0);
    rt_st_free(f);
    rt_net *net2 = rt_net_new(p, 4);
    ck_assert_msg(rt_checkpoint_load(net2, path, 0, err, sizeof err, err, sizeof err) == 0, "%s", err);
    ck_assert(memcmp(net2->arena[COMP_ARENA_PARAM], net->arena[COMP_ARENA_PARAM],
                     comp_plan_param_count(p) * sizeof(float)) == 0);
    tu_rmdtemp(dir);
    rt_net_free(net2);
    rt_net_free(net);
    tu_destroy(p);
}
END_TEST

/* In eval mode AlphaDropout is the identity and RReLU uses the fixed mean
 * slope; neither draws from the generator. */
START_TEST(test_eval_mode)
{
    comp_plan *p = tu_compile_text("model e {\n input 64\n layers AlphaDropout(p=0.5) -> RReLU(lower=0.1, upper=0.3)"
                                   " -> Linear(64, 2)\n loss MSE\n optimizer SGD\n}\n");
    ck_assert_int_eq(p->ops[0].code, COMP_OP_ALPHA_DROPOUT);
    ck_assert_int_eq(p->ops[1].code, COMP_OP_RRELU);
    rt_net *net = rt_net_new(p, 3);
    rt_net_set_batch(net, 3, 0);
    uint64_t rng = rt_rng_seed(2, 2);
    float *x = rt_net_buf(net, p->input);
    for (int i = 0; i < 3 * 64; i++)
        x[i] = (float)rt_rng_normal(&rng);
    net->dropout_rng = 42;
    rt_net_infer(net);
    ck_assert(net->dropout_rng == 42);
    const float *h0 = rt_net_buf(net, p->ops[0].buf[0]), *h1 = rt_net_buf(net, p->ops[1].buf[0]);
    const float slope = (float)((0.1 + 0.3) / 2.0);
    for (int i = 0; i < 3 * 64; i++) {
        ck_assert(same_bits(h0[i], x[i]));
        ck_assert(same_bits(h1[i], x[i] > 0.0f ? x[i] : x[i] * slope));
    }
    rt_net_free(net);
    tu_destroy(p);
}
END_TEST

/* Shapes: GLU halves its dim, the others keep the shape. */
START_TEST(test_shapes)
{
    comp_plan *p = tu_compile_text("model s {\n input (4, 6)\n layers GLU -> GLU(dim=1) -> GLU(dim=-2) -> "
                                   "Softmin(dim=2) -> PReLU(num_parameters=1) -> Flatten -> Linear(3, 2)\n"
                                   " loss MSE\n optimizer SGD\n}\n");
    const comp_model *m = p->model;
    ck_assert_int_eq(m->layers[0].out.dims[0], 4);
    ck_assert_int_eq(m->layers[0].out.dims[1], 3);
    ck_assert_int_eq(m->layers[1].out.dims[0], 2);
    ck_assert_int_eq(m->layers[2].out.dims[0], 1);
    ck_assert_int_eq(m->layers[2].out.dims[1], 3);
    ck_assert_int_eq(m->layers[4].out.dims[1], 3);
    tu_destroy(p);
}
END_TEST

/* `netc explain` names the new ops and shows their sizes. */
START_TEST(test_explain)
{
    comp_plan *p = tu_compile_text("model x {\n input (4, 6)\n layers Linear(6, 8) -> PReLU(num_parameters=4) -> GLU"
                                   " -> RReLU -> AlphaDropout(p=0.25) -> Softmin(dim=2) -> Flatten -> Linear(16, 2)"
                                   " -> PReLU\n loss MSE\n optimizer SGD\n}\n");
    char *dump = tu_plan_dump(p, 2);
    const char *want[] = {"prelu            y=h1", "4 channels x 8 n=32", "glu              y=h2",
                          "4x[8->4]x1", "rrelu            y=h3 noise=noise3", "lower=0.125 upper=0.333333 n=16",
                          "alpha_dropout    y=h4 mask=mask4", "p=0.25 n=16", "softmin          y=h5",
                          "4x[4]x1", "shared slope n=2", "prelu_bwd        dx=dh7 dW=d8.weight",
                          "dropout_bwd      dx=dh3", "rrelu_bwd        dx=dh2", "glu_bwd          dx=dh1",
                          "softmin_bwd", "prelu_bwd        dx=dh0 dW=d1.weight"};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        ck_assert_msg(strstr(dump, want[i]) != NULL, "plan dump lacks '%s':\n%s", want[i], dump);
    free(dump);
    tu_destroy(p);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("acts2");
    TCase *k = tcase_create("kernels");
    tcase_add_test(k, test_prelu_golden);
    tcase_add_test(k, test_rrelu_eval_golden);
    tcase_add_test(k, test_glu_golden);
    tcase_add_test(k, test_softmin_golden);
    tcase_add_test(k, test_alpha_dropout_golden);
    tcase_add_test(k, test_rrelu_train_stats);
    tcase_add_test(k, test_alpha_dropout_stats);
    suite_add_tcase(s, k);
    TCase *n = tcase_create("nets");
    tcase_set_timeout(n, 30);
    tcase_add_loop_test(n, test_net_fd, 0, NNETS);
    tcase_add_loop_test(n, test_net_trains, 0, NNETS);
    tcase_add_test(n, test_prelu_param);
    tcase_add_test(n, test_eval_mode);
    tcase_add_test(n, test_shapes);
    tcase_add_test(n, test_explain);
    suite_add_tcase(s, n);
    return tu_run(s);
}
