/* test_kernels.c — unit tests of the numerical kernels (runtime/kernels.h):
 * finite-difference gradient checks, double-precision references, the
 * optimizers against a literal transcription of torch's step, dropout and
 * generator statistics. */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fdcheck.h"
#include "testutil.h"
#include "runtime/kernels.h"


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

/* ------------------------------------------------------------ activations */

/* The activation applied to one value, expanded from acts.def here too: the
 * kernels must agree with the plain expression bit for bit. */
static float act_ref(comp_act act, float a, float b, float x)
{
    (void)a;
    (void)b;
    switch (act) {
#define ACT(id, name, needs_x, fwd, deriv, args) \
    case COMP_ACT_##id:                          \
        return (fwd);
#include "compiler/acts.def"
#undef ACT
    default:
        break;
    }
    return NAN;
}

static float act_deriv_ref(comp_act act, float a, float b, float x)
{
    (void)a;
    (void)b;
    const float y = act_ref(act, a, b, x);
    (void)y;
    switch (act) {
#define ACT(id, name, needs_x, fwd, deriv, args) \
    case COMP_ACT_##id:                          \
        return (deriv);
#include "compiler/acts.def"
#undef ACT
    default:
        break;
    }
    return NAN;
}

enum { NACT_PTS = 73 };

/* Points over [-5, 5] at an irregular spacing, off the simple numbers where
 * activations put their breakpoints. */
static float act_point(int k)
{
    return quant(-5.0 + 0.1377 * k + 0.0123);
}

typedef struct {
    comp_act act;
    float a, b;
    float x;
} act_ctx;

static double act_loss(void *p, double *mag)
{
    act_ctx *c = p;
    float y;
    rt_act_forward(c->act, c->a, c->b, &c->x, &y, 1);
    *mag = fabs((double)y) + fabs((double)c->x);
    return y;
}

/* Every activation: backward against finite differences of forward. */
START_TEST(test_act_fd)
{
    const comp_act act = (comp_act)_i;
    float a, b;
    act_args(act, &a, &b);
    float x[NACT_PTS], y[NACT_PTS], dy[NACT_PTS], dx[NACT_PTS];
    for (int k = 0; k < NACT_PTS; k++) {
        x[k] = act_point(k);
        dy[k] = 1.0f;
    }
    rt_act_forward(act, a, b, x, y, NACT_PTS);
    rt_act_backward(act, a, b, comp_act_needs_x[act] ? x : NULL, comp_act_needs_x[act] ? NULL : y,
                    dy, dx, NACT_PTS);
    fd_stats st = {0, 0};
    for (int k = 0; k < NACT_PTS; k++) {
        act_ctx c = {act, a, b, x[k]};
        /* K = 6: the expressions round a handful of times (exp, add,
         * divide) and each libm call is within a few ulp. */
        fd_check(act_loss, &c, &c.x, dx[k], 6.0, &st, comp_layers[act].name, k);
    }
    fd_require_coverage(&st, comp_layers[act].name);
}
END_TEST

/* Every activation: the kernels apply exactly the acts.def expressions, in
 * place or not, and both backward input conventions agree. */
START_TEST(test_act_plumbing)
{
    const comp_act act = (comp_act)_i;
    float a, b;
    act_args(act, &a, &b);
    enum { N = 37 };
    float x[N], y[N], yi[N], dy[N], dx[N], dx2[N], dxi[N];
    uint64_t rng = rt_rng_seed(7, (uint64_t)act);
    fill_uniform(x, N, &rng, -4.0, 4.0);
    fill_uniform(dy, N, &rng, -2.0, 2.0);
    x[3] = 0.0f;
    rt_act_forward(act, a, b, x, y, N);
    memcpy(yi, x, sizeof x);
    rt_act_forward(act, a, b, yi, yi, N);
    for (int i = 0; i < N; i++) {
        const float r = act_ref(act, a, b, x[i]);
        ck_assert_msg(same_bits(y[i], r), "%s forward at %g", comp_layers[act].name, x[i]);
        ck_assert(same_bits(yi[i], r));
    }
    /* With both x and y given, and with only the one the activation needs. */
    rt_act_backward(act, a, b, x, y, dy, dx, N);
    rt_act_backward(act, a, b, comp_act_needs_x[act] ? x : NULL, comp_act_needs_x[act] ? NULL : y,
                    dy, dx2, N);
    memcpy(dxi, dy, sizeof dy);
    rt_act_backward(act, a, b, x, y, dxi, dxi, N);
    for (int i = 0; i < N; i++) {
        const float r = dy[i] * act_deriv_ref(act, a, b, x[i]);
        ck_assert_msg(same_bits(dx[i], r), "%s backward at %g", comp_layers[act].name, x[i]);
        ck_assert(same_bits(dx2[i], r));
        ck_assert(same_bits(dxi[i], r));
    }
}
END_TEST

/* PyTorch's conventions where the derivative does not exist. */
START_TEST(test_act_breakpoints)
{
    float x = 0.0f, y, dy = 1.0f, dx;
    rt_act_forward(COMP_ACT_RELU, 0.0f, 0.0f, &x, &y, 1);
    rt_act_backward(COMP_ACT_RELU, 0.0f, 0.0f, NULL, &y, &dy, &dx, 1);
    ck_assert(y == 0.0f);
    ck_assert_msg(dx == 0.0f, "ReLU'(0) = %g, torch gives 0", dx);

    const float slopes[] = {0.01f, 0.2f, -0.5f};
    for (int i = 0; i < 3; i++) {
        rt_act_forward(COMP_ACT_LEAKY_RELU, slopes[i], 0.0f, &x, &y, 1);
        rt_act_backward(COMP_ACT_LEAKY_RELU, slopes[i], 0.0f, &x, NULL, &dy, &dx, 1);
        ck_assert(y == 0.0f);
        ck_assert_msg(dx == slopes[i], "LeakyReLU'(0) = %g, torch gives negative_slope %g", dx,
                      slopes[i]);
        float xn = -2.0f, yn;
        rt_act_forward(COMP_ACT_LEAKY_RELU, slopes[i], 0.0f, &xn, &yn, 1);
        ck_assert(yn == -2.0f * slopes[i]);
    }
    /* Sigmoid and Tanh at 0, and saturated far out (no NaN). */
    const float big[] = {0.0f, -100.0f, 100.0f};
    for (int i = 0; i < 3; i++) {
        float ys, yt, ds, dt;
        rt_act_forward(COMP_ACT_SIGMOID, 0.0f, 0.0f, &big[i], &ys, 1);
        rt_act_forward(COMP_ACT_TANH, 0.0f, 0.0f, &big[i], &yt, 1);
        rt_act_backward(COMP_ACT_SIGMOID, 0.0f, 0.0f, NULL, &ys, &dy, &ds, 1);
        rt_act_backward(COMP_ACT_TANH, 0.0f, 0.0f, NULL, &yt, &dy, &dt, 1);
        ck_assert(isfinite(ys) && isfinite(yt) && isfinite(ds) && isfinite(dt));
        if (i == 0) {
            ck_assert(ys == 0.5f && ds == 0.25f && yt == 0.0f && dt == 1.0f);
        }
    }
}
END_TEST

/* ----------------------------------------------------------------- Linear */

/* Forward against a naive triple loop in double.  sgemm's float result
 * differs from the exact sum by at most (in + 1) eps sum|x W| (the
 * classical bound gamma_n for a length-n dot product; OpenBLAS's blocked
 * order obeys it too); the bias add adds eps |z|.  The activation pass is
 * then exactly act(z) on the kernel's own z. */
static void linear_forward_case(int rows, int in, int out, comp_act act, int with_bias,
                                uint64_t seed)
{
    float a, b;
    act_args(act, &a, &b);
    uint64_t rng = rt_rng_seed(seed, 1);
    float *x = fvec((size_t)rows * in), *W = fvec((size_t)out * in), *bias = fvec(out);
    float *z = fvec((size_t)rows * out), *y = fvec((size_t)rows * out);
    float *y2 = fvec((size_t)rows * out), *zy = fvec((size_t)rows * out);
    fill_uniform(x, (size_t)rows * in, &rng, -1.0, 1.0);
    fill_uniform(W, (size_t)out * in, &rng, -1.0, 1.0);
    fill_uniform(bias, out, &rng, -1.0, 1.0);
    const float *bp = with_bias ? bias : NULL;

    rt_linear_forward(x, W, bp, z, y, rows, in, out, act, a, b);
    for (int r = 0; r < rows; r++)
        for (int j = 0; j < out; j++) {
            double s = 0.0, mag = 0.0;
            for (int k = 0; k < in; k++) {
                s += (double)x[r * in + k] * W[j * in + k];
                mag += fabs((double)x[r * in + k] * W[j * in + k]);
            }
            if (bp) {
                s += bp[j];
                mag += fabs((double)bp[j]);
            }
            const float zz = z[r * out + j];
            const double tol = (in + 2) * EPS * mag;
            ck_assert_msg(fabs(zz - s) <= tol, "z[%d,%d] = %.9g, exact %.9g", r, j, zz, s);
            ck_assert(same_bits(y[r * out + j], act_ref(act, a, b, zz)));
        }
    /* Without z, and with z == y: the same y; with z == y it holds z. */
    rt_linear_forward(x, W, bp, NULL, y2, rows, in, out, act, a, b);
    rt_linear_forward(x, W, bp, zy, zy, rows, in, out, act, a, b);
    for (int i = 0; i < rows * out; i++) {
        ck_assert(same_bits(y2[i], y[i]));
        ck_assert(same_bits(zy[i], y[i]));
    }
    free(x);
    free(W);
    free(bias);
    free(z);
    free(y);
    free(y2);
    free(zy);
}

START_TEST(test_linear_forward)
{
    const comp_act act = (comp_act)_i;
    linear_forward_case(7, 13, 5, act, 1, 11);
    linear_forward_case(7, 13, 5, act, 0, 12);
    linear_forward_case(33, 300, 17, act, 1, 13);
    linear_forward_case(1, 1, 1, act, 1, 14);
}
END_TEST

typedef struct {
    const float *x, *W, *bias, *wout;
    int rows, in, out;
    comp_act act;
    float a, b;
    float *z, *y;
    int row, col; /* the outputs the perturbed value feeds (-1: all) */
} lin_ctx;

/* L = sum w_out * y; M = sum |w_out| (|y| + sum|x W| + |b|) over the
 * outputs the perturbed value feeds (the others are recomputed to the
 * same bits, so their rounding cancels exactly in the differences). */
static double lin_loss(void *p, double *mag)
{
    lin_ctx *c = p;
    rt_linear_forward(c->x, c->W, c->bias, c->z, c->y, c->rows, c->in, c->out, c->act, c->a, c->b);
    double L = 0.0, M = 0.0;
    for (int r = 0; r < c->rows; r++)
        for (int j = 0; j < c->out; j++) {
            const int i = r * c->out + j;
            double s = c->bias ? fabs((double)c->bias[j]) : 0.0;
            for (int k = 0; k < c->in; k++)
                s += fabs((double)c->x[r * c->in + k] * c->W[j * c->in + k]);
            L += (double)c->wout[i] * c->y[i];
            if ((c->row < 0 || c->row == r) && (c->col < 0 || c->col == j))
                M += fabs((double)c->wout[i]) * (fabs((double)c->y[i]) + s);
        }
    *mag = M;
    return L;
}

/* Every activation: dx, dW, db of the fused backward against finite
 * differences of L = sum(w_out * y), plus the aliasing / NULL variants. */
START_TEST(test_linear_backward_fd)
{
    const comp_act act = (comp_act)_i;
    float a, b;
    act_args(act, &a, &b);
    enum { R = 3, I = 5, O = 4 };
    uint64_t rng = rt_rng_seed(21, (uint64_t)act);
    float x[R * I], W[O * I], bias[O], wout[R * O], z[R * O], y[R * O];
    float dz[R * O], dx[R * I], dW[O * I], db[O];
    fill_uniform(x, R * I, &rng, -1.0, 1.0);
    fill_uniform(W, O * I, &rng, -1.0, 1.0);
    fill_uniform(bias, O, &rng, -1.0, 1.0);
    fill_uniform(wout, R * O, &rng, -1.0, 1.0);
    /* Redraw each row of x until its pre-activations are clear of the
     * activation's breakpoints by more than the stencil moves them:
     * +-2h times |x| or |W| <= 1 (0.125). */
    for (int r = 0; r < R; r++) {
        int tries = 0, clear = 0;
        while (!clear) {
            ck_assert_msg(tries++ < 1000, "%s: no row of x clear of breakpoints", comp_layers[act].name);
            rt_linear_forward(x + r * I, W, bias, z, y, 1, I, O, act, a, b);
            clear = 1;
            for (int j = 0; j < O && clear; j++)
                clear = fd_act_smooth(act, a, b, z[j], 0.14);
            if (!clear)
                fill_uniform(x + r * I, I, &rng, -1.0, 1.0);
        }
    }

    rt_linear_forward(x, W, bias, z, y, R, I, O, act, a, b);
    rt_linear_backward(wout, z, y, dz, x, W, dx, dW, db, R, I, O, act, a, b);

    lin_ctx c = {x, W, bias, wout, R, I, O, act, a, b, fvec(R * O), fvec(R * O), -1, -1};
    fd_stats st = {0, 0};
    /* K = in + 6: the dot product rounds in times, then bias, activation. */
    const double K = I + 6.0;
    for (int i = 0; i < R * I; i++) {
        c.row = i / I;
        c.col = -1;
        fd_check(lin_loss, &c, &x[i], dx[i], K, &st, "dx", i);
    }
    for (int i = 0; i < O * I; i++) {
        c.row = -1;
        c.col = i / I;
        fd_check(lin_loss, &c, &W[i], dW[i], K, &st, "dW", i);
    }
    for (int i = 0; i < O; i++) {
        c.row = -1;
        c.col = i;
        fd_check(lin_loss, &c, &bias[i], db[i], K, &st, "db", i);
    }
    fd_require_coverage(&st, comp_layers[act].name);
    free(c.z);
    free(c.y);

    /* db is the float sum of dz over rows in row order. */
    for (int j = 0; j < O; j++) {
        float s = 0.0f;
        for (int r = 0; r < R; r++)
            s += dz[r * O + j];
        ck_assert(same_bits(db[j], s));
    }
    /* dz in place of dy, only the input the activation needs, no dx, no
     * bias: the same bits. */
    float g[R * O], dx2[R * I], dW2[O * I], db2[O];
    memcpy(g, wout, sizeof g);
    const int nx = comp_act_needs_x[act];
    rt_linear_backward(g, nx ? z : NULL, nx ? NULL : y, g, x, W, dx2, dW2, db2, R, I, O, act, a, b);
    for (int i = 0; i < R * O; i++)
        ck_assert(same_bits(g[i], dz[i]));
    for (int i = 0; i < R * I; i++)
        ck_assert(same_bits(dx2[i], dx[i]));
    for (int i = 0; i < O * I; i++)
        ck_assert(same_bits(dW2[i], dW[i]));
    for (int i = 0; i < O; i++)
        ck_assert(same_bits(db2[i], db[i]));
    rt_linear_backward(wout, z, y, dz, x, W, NULL, dW2, NULL, R, I, O, act, a, b);
    for (int i = 0; i < O * I; i++)
        ck_assert(same_bits(dW2[i], dW[i]));
}
END_TEST

/* dW = dz^T x and dx = dz W against double loops, on a size where sgemm
 * blocks (bound as for the forward). */
START_TEST(test_linear_backward_products)
{
    enum { R = 40, I = 70, O = 30 };
    uint64_t rng = rt_rng_seed(5, 5);
    float *x = fvec(R * I), *W = fvec(O * I), *bias = fvec(O), *z = fvec(R * O), *y = fvec(R * O);
    float *dy = fvec(R * O), *dz = fvec(R * O), *dx = fvec(R * I), *dW = fvec(O * I), *db = fvec(O);
    fill_uniform(x, R * I, &rng, -1.0, 1.0);
    fill_uniform(W, O * I, &rng, -1.0, 1.0);
    fill_uniform(bias, O, &rng, -1.0, 1.0);
    fill_uniform(dy, R * O, &rng, -1.0, 1.0);
    rt_linear_forward(x, W, bias, z, y, R, I, O, COMP_ACT_TANH, 0.0f, 0.0f);
    rt_linear_backward(dy, z, y, dz, x, W, dx, dW, db, R, I, O, COMP_ACT_TANH, 0.0f, 0.0f);
    for (int i = 0; i < R * O; i++)
        ck_assert(same_bits(dz[i], dy[i] * (1.0f - y[i] * y[i])));
    for (int j = 0; j < O; j++)
        for (int k = 0; k < I; k++) {
            double s = 0.0, m = 0.0;
            for (int r = 0; r < R; r++) {
                s += (double)dz[r * O + j] * x[r * I + k];
                m += fabs((double)dz[r * O + j] * x[r * I + k]);
            }
            ck_assert(fabs(dW[j * I + k] - s) <= (R + 1) * EPS * m);
        }
    for (int r = 0; r < R; r++)
        for (int k = 0; k < I; k++) {
            double s = 0.0, m = 0.0;
            for (int j = 0; j < O; j++) {
                s += (double)dz[r * O + j] * W[j * I + k];
                m += fabs((double)dz[r * O + j] * W[j * I + k]);
            }
            ck_assert(fabs(dx[r * I + k] - s) <= (O + 1) * EPS * m);
        }
    free(x);
    free(W);
    free(bias);
    free(z);
    free(y);
    free(dy);
    free(dz);
    free(dx);
    free(dW);
    free(db);
}
END_TEST

/* ---------------------------------------------------------------- softmax */

static const size_t layouts[][3] = {{2, 5, 1}, {3, 4, 3}, {1, 7, 2}, {2, 3, 70}, {1, 1, 4}};
enum { NLAYOUTS = sizeof layouts / sizeof layouts[0] };

/* Forward against double: softmax entries are within (n + 4) eps relative
 * (a sum of n exps, the exp, the reciprocal, the product); log_softmax
 * within eps (|x - max| + |log sum| + n + 4) absolute. */
START_TEST(test_softmax_forward)
{
    const size_t outer = layouts[_i][0], n = layouts[_i][1], inner = layouts[_i][2];
    const size_t total = outer * n * inner;
    uint64_t rng = rt_rng_seed(3, (uint64_t)_i);
    float *x = fvec(total), *y = fvec(total), *ly = fvec(total);
    fill_uniform(x, total, &rng, -6.0, 6.0);
    rt_softmax_forward(x, y, outer, n, inner);
    rt_log_softmax_forward(x, ly, outer, n, inner);
    for (size_t o = 0; o < outer; o++)
        for (size_t j = 0; j < inner; j++) {
            const float *xc = x + o * n * inner + j;
            double mx = xc[0], s = 0.0;
            for (size_t k = 1; k < n; k++)
                mx = fmax(mx, xc[k * inner]);
            for (size_t k = 0; k < n; k++)
                s += exp(xc[k * inner] - mx);
            for (size_t k = 0; k < n; k++) {
                const size_t i = o * n * inner + k * inner + j;
                const double p = exp(x[i] - mx) / s, lp = x[i] - mx - log(s);
                ck_assert_msg(fabs(y[i] - p) <= (n + 4) * EPS * p, "softmax %g vs %g", y[i], p);
                ck_assert_msg(fabs(ly[i] - lp) <= EPS * (fabs(x[i] - mx) + log(s) + n + 4),
                              "log_softmax %g vs %g", ly[i], lp);
            }
        }
    /* The same columns laid out with inner == 1 give the same bits. */
    float *xt = fvec(total), *yt = fvec(total), *lyt = fvec(total);
    for (size_t o = 0; o < outer; o++)
        for (size_t j = 0; j < inner; j++)
            for (size_t k = 0; k < n; k++)
                xt[(o * inner + j) * n + k] = x[o * n * inner + k * inner + j];
    rt_softmax_forward(xt, yt, outer * inner, n, 1);
    rt_log_softmax_forward(xt, lyt, outer * inner, n, 1);
    for (size_t o = 0; o < outer; o++)
        for (size_t j = 0; j < inner; j++)
            for (size_t k = 0; k < n; k++) {
                const size_t i = o * n * inner + k * inner + j, t = (o * inner + j) * n + k;
                ck_assert(same_bits(y[i], yt[t]));
                ck_assert(same_bits(ly[i], lyt[t]));
            }
    free(x);
    free(y);
    free(ly);
    free(xt);
    free(yt);
    free(lyt);
}
END_TEST

/* Large inputs: the max is subtracted, so nothing overflows. */
START_TEST(test_softmax_large)
{
    const float x[4] = {1e4f, -1e4f, 1e4f - 1.0f, 0.0f};
    float y[4], ly[4];
    rt_softmax_forward(x, y, 1, 4, 1);
    rt_log_softmax_forward(x, ly, 1, 4, 1);
    for (int i = 0; i < 4; i++)
        ck_assert(isfinite(y[i]) && isfinite(ly[i]));
    ck_assert(fabs(y[0] - 1.0 / (1.0 + exp(-1.0))) <= 4 * EPS);
    ck_assert(y[1] == 0.0f && y[3] == 0.0f);
    const double ls = log(1.0 + exp(-1.0));
    ck_assert(fabs(ly[0] + ls) <= 4 * EPS);
    ck_assert(fabs(ly[1] - (-2e4 - ls)) <= 2e4 * EPS);
}
END_TEST

typedef struct {
    const float *x, *w;
    float *y;
    size_t outer, n, inner, col_o, col_j;
    int lg;
} sm_ctx;

/* L = sum over the column of the perturbed entry of w * y (the other
 * columns do not depend on it). */
static double sm_loss(void *p, double *mag)
{
    sm_ctx *c = p;
    if (c->lg)
        rt_log_softmax_forward(c->x, c->y, c->outer, c->n, c->inner);
    else
        rt_softmax_forward(c->x, c->y, c->outer, c->n, c->inner);
    double L = 0.0, M = 0.0;
    for (size_t k = 0; k < c->n; k++) {
        const size_t i = c->col_o * c->n * c->inner + k * c->inner + c->col_j;
        L += (double)c->w[i] * c->y[i];
        M += fabs((double)c->w[i]) * (fabs((double)c->y[i]) + 1.0);
    }
    *mag = M;
    return L;
}

/* Backward against finite differences, against the formula in double, and
 * in place (dx == dy). */
START_TEST(test_softmax_backward)
{
    const size_t outer = layouts[_i][0], n = layouts[_i][1], inner = layouts[_i][2];
    const size_t total = outer * n * inner;
    for (int lg = 0; lg < 2; lg++) {
        uint64_t rng = rt_rng_seed(4, (uint64_t)(_i * 2 + lg));
        float *x = fvec(total), *y = fvec(total), *w = fvec(total), *dx = fvec(total);
        float *g = fvec(total), *scratch = fvec(total);
        fill_uniform(x, total, &rng, -3.0, 3.0);
        fill_uniform(w, total, &rng, -1.0, 1.0);
        if (lg) {
            rt_log_softmax_forward(x, y, outer, n, inner);
            rt_log_softmax_backward(y, w, dx, outer, n, inner);
        } else {
            rt_softmax_forward(x, y, outer, n, inner);
            rt_softmax_backward(y, w, dx, outer, n, inner);
        }
        fd_stats st = {0, 0};
        for (size_t i = 0; i < total; i++) {
            sm_ctx c = {x, w, scratch, outer, n, inner, i / (n * inner), i % inner, lg};
            /* K = n + 6: the sum of n exps, the log/reciprocal, the output. */
            fd_check(sm_loss, &c, &x[i], dx[i], (double)n + 6.0, &st,
                     lg ? "log_softmax" : "softmax", (int)i);
        }
        /* No kinks here: nothing may be skipped. */
        ck_assert_int_eq(st.skipped, 0);

        for (size_t o = 0; o < outer; o++)
            for (size_t j = 0; j < inner; j++) {
                double s = 0.0, m = 0.0;
                for (size_t k = 0; k < n; k++) {
                    const size_t i = o * n * inner + k * inner + j;
                    s += lg ? (double)w[i] : (double)w[i] * y[i];
                    m += lg ? fabs((double)w[i]) : fabs((double)w[i] * y[i]);
                }
                for (size_t k = 0; k < n; k++) {
                    const size_t i = o * n * inner + k * inner + j;
                    const double e = lg ? exp((double)y[i]) : 0.0;
                    const double r = lg ? w[i] - e * s : y[i] * (w[i] - s);
                    const double tol = lg ? EPS * (fabs(w[i]) + e * (n + 4) * m)
                                          : EPS * fabs(y[i]) * (2.0 * fabs(w[i]) + (n + 3) * m);
                    ck_assert_msg(fabs(dx[i] - r) <= tol, "dx %g vs %g", dx[i], r);
                }
            }
        memcpy(g, w, total * sizeof *g);
        if (lg)
            rt_log_softmax_backward(y, g, g, outer, n, inner);
        else
            rt_softmax_backward(y, g, g, outer, n, inner);
        for (size_t i = 0; i < total; i++)
            ck_assert(same_bits(g[i], dx[i]));
        free(x);
        free(y);
        free(w);
        free(dx);
        free(g);
        free(scratch);
    }
}
END_TEST

/* ------------------------------------------------------------------ losses */

/* Cross-entropy against double.  Per row the float path rounds x_t - max
 * (eps/2 |x_t - max|), sums C exps (each within 1 ulp, the sum within
 * (C - 1) eps relative), takes the log (eps |ls| plus the sum's relative
 * error, absolute) and subtracts: |err| <= eps (|x_t - max| + 2|ls| + C + 2
 * + |loss|).  The gradient p = exp(x - max - ls) inherits that absolute
 * error in its argument as relative error. */
static void xent_case(const float *logits, const float *target, int rows, int classes, int sum)
{
    float *d = fvec((size_t)rows * classes);
    const float L = rt_xent(logits, target, d, rows, classes, sum, -100, 0.0);
    const float L2 = rt_xent(logits, target, NULL, rows, classes, sum, -100, 0.0);
    ck_assert(same_bits(L, L2));
    ck_assert(isfinite(L));
    double Lref = 0.0, bound = 0.0;
    const double r = sum ? 1.0 : 1.0 / rows;
    for (int i = 0; i < rows; i++) {
        const float *x = logits + (size_t)i * classes;
        const int t = (int)target[i];
        double mx = x[0], s = 0.0;
        for (int c = 1; c < classes; c++)
            mx = fmax(mx, x[c]);
        for (int c = 0; c < classes; c++)
            s += exp(x[c] - mx);
        const double ls = log(s), li = mx + ls - x[t];
        Lref += li;
        bound += EPS * (fabs(x[t] - mx) + 2.0 * ls + classes + 2 + li);
        double rowsum = 0.0, tolsum = 0.0;
        for (int c = 0; c < classes; c++) {
            const double p = exp(x[c] - mx - ls);
            const double ref = (p - (c == t)) * r;
            const float g = d[(size_t)i * classes + c];
            const double tol =
                2.0 * EPS * r * (p * (fabs(x[c] - mx) + 2.0 * ls + classes + 4) + 1.0);
            ck_assert(isfinite(g));
            ck_assert_msg(fabs(g - ref) <= tol, "dlogits[%d,%d] = %.9g, exact %.9g", i, c, g, ref);
            rowsum += g;
            tolsum += tol;
        }
        /* The exact gradient row sums to 0. */
        ck_assert(fabs(rowsum) <= tolsum);
    }
    if (!sum) {
        Lref /= rows;
        bound /= rows;
    }
    bound = 2.0 * bound + EPS * fabs(Lref);
    ck_assert_msg(fabs(L - Lref) <= bound, "loss %.9g, exact %.9g (tol %.3g)", L, Lref, bound);
    free(d);
}

START_TEST(test_xent_values)
{
    enum { R = 6, C = 7 };
    uint64_t rng = rt_rng_seed(8, 0);
    float x[R * C], t[R];
    for (int i = 0; i < R * C; i++)
        x[i] = (float)(3.0 * rt_rng_normal(&rng));
    for (int i = 0; i < R; i++)
        t[i] = (float)(rt_rng_next(&rng) % C);
    xent_case(x, t, R, C, 0);
    xent_case(x, t, R, C, 1);
    xent_case(x, t, 1, C, 0);
    /* One class: loss 0, gradient 0. */
    const float one = 2.5f, t0 = 0.0f;
    xent_case(&one, &t0, 1, 1, 0);
}
END_TEST

START_TEST(test_xent_huge)
{
    enum { R = 4, C = 5 };
    const float x[R * C] = {
        1e4f, -1e4f, 0.0f, -1e4f, 1e4f - 3.0f,  /* target 1: loss ~ 2e4 */
        -1e4f, -1e4f, -1e4f, -1e4f, -1e4f,      /* all equal: log 5 */
        1e4f, 1e4f, 1e4f, 1e4f, 1e4f,           /* all equal: log 5 */
        -1e4f, 1e4f, -1e4f, 1e4f, -1e4f,        /* a tie at the top */
    };
    const float t[R] = {1.0f, 2.0f, 4.0f, 3.0f};
    xent_case(x, t, R, C, 0);
    xent_case(x, t, R, C, 1);
}
END_TEST

typedef struct {
    const float *t;
    float *x;
    int rows, classes;
} xent_ctx;

static double xent_loss(void *p, double *mag)
{
    xent_ctx *c = p;
    const float L = rt_xent(c->x, c->t, NULL, c->rows, c->classes, 0, -100, 0.0);
    double M = 1.0;
    for (int i = 0; i < c->rows * c->classes; i++)
        M += fabs((double)c->x[i]) / c->rows;
    *mag = M;
    return L;
}

/* The gradient is the derivative of the value the same kernel returns. */
START_TEST(test_xent_fd)
{
    enum { R = 3, C = 4 };
    uint64_t rng = rt_rng_seed(9, 0);
    float x[R * C], t[R] = {0.0f, 3.0f, 1.0f}, d[R * C];
    fill_uniform(x, R * C, &rng, -2.0, 2.0);
    rt_xent(x, t, d, R, C, 0, -100, 0.0);
    xent_ctx c = {t, x, R, C};
    fd_stats st = {0, 0};
    for (int i = 0; i < R * C; i++)
        fd_check(xent_loss, &c, &x[i], d[i], C + 6.0, &st, "xent", i);
    ck_assert_int_eq(st.skipped, 0);
}
END_TEST

/* MSE: the value against double (each square rounds once, the sum is in
 * double: within 2 eps relative), the gradient exactly torch's
 * (float)(2/n) * (y - t). */
START_TEST(test_mse)
{
    enum { N = 101 };
    uint64_t rng = rt_rng_seed(10, 0);
    float y[N], t[N], d[N];
    fill_uniform(y, N, &rng, -3.0, 3.0);
    fill_uniform(t, N, &rng, -3.0, 3.0);
    for (int sum = 0; sum < 2; sum++) {
        const float L = rt_mse(y, t, d, N, sum);
        ck_assert(same_bits(L, rt_mse(y, t, NULL, N, sum)));
        double ref = 0.0;
        for (int i = 0; i < N; i++)
            ref += ((double)y[i] - t[i]) * ((double)y[i] - t[i]);
        if (!sum)
            ref /= N;
        ck_assert_msg(fabs(L - ref) <= 3.0 * EPS * ref, "mse %.9g vs %.9g", L, ref);
        const float norm = sum ? 2.0f : (float)(2.0 / N);
        for (int i = 0; i < N; i++) {
            ck_assert(same_bits(d[i], norm * (y[i] - t[i])));
            const double g = 2.0 * ((double)y[i] - t[i]) / (sum ? 1.0 : N);
            ck_assert(fabs(d[i] - g) <= 3.0 * EPS * fabs(g));
        }
    }
}
END_TEST

/* ---------------------------------------------------------------- dropout */

START_TEST(test_dropout)
{
    enum { N = 10000, CALLS = 20 };
    float *x = fvec(N), *y = fvec(N), *mask = fvec(N), *mask2 = fvec(N), *dx = fvec(N);
    uint64_t rng = rt_rng_seed(12, 0);
    fill_uniform(x, N, &rng, -2.0, 2.0);

    /* p = 0: identity, all-ones mask, no draws. */
    uint64_t st = rt_rng_seed(1, 2), st0 = st;
    rt_dropout_forward(x, y, mask, N, 0.0f, &st);
    ck_assert(st == st0);
    long bad = 0;
    for (int i = 0; i < N; i++)
        bad += !(mask[i] == 1.0f && same_bits(y[i], x[i]));
    ck_assert_int_eq(bad, 0);

    /* 0.15: there 1/(float)(1-p) and (float)(1/(1-p)) differ, so the scale
     * check sees which rounding the kernel does. */
    const float ps[] = {0.1f, 0.15f, 0.5f, 0.8f};
    for (int k = 0; k < 4; k++) {
        const float p = ps[k];
        const float scale = 1.0f / (float)(1.0 - (double)p);
        uint64_t s = rt_rng_seed(99, (uint64_t)k);
        long kept = 0, bad_mask = 0, bad_y = 0;
        for (int c = 0; c < CALLS; c++) {
            rt_dropout_forward(x, y, mask, N, p, &s);
            for (int i = 0; i < N; i++) {
                bad_mask += !(mask[i] == 0.0f || same_bits(mask[i], scale));
                bad_y += !same_bits(y[i], x[i] * mask[i]);
                kept += mask[i] != 0.0f;
            }
        }
        ck_assert_msg(bad_mask == 0, "p = %g: %ld mask values not 0 or 1/(1-p)", p, bad_mask);
        ck_assert_msg(bad_y == 0, "p = %g: %ld outputs not x * mask", p, bad_y);
        /* Keep fraction: binomial, within 5 standard deviations. */
        const double nn = (double)N * CALLS, q = 1.0 - p;
        const double frac = kept / nn, sd = sqrt(q * (1.0 - q) / nn);
        ck_assert_msg(fabs(frac - q) <= 5.0 * sd, "p = %g: kept %.5f, expected %.5f +- %.5f", p,
                      frac, q, sd);
        /* The same state gives the same mask; another stream another. */
        uint64_t s1 = rt_rng_seed(5, 1), s2 = rt_rng_seed(5, 1), s3 = rt_rng_seed(5, 2);
        rt_dropout_forward(x, y, mask, N, p, &s1);
        rt_dropout_forward(x, y, mask2, N, p, &s2);
        ck_assert(memcmp(mask, mask2, N * sizeof *mask) == 0);
        ck_assert(s1 == s2);
        rt_dropout_forward(x, y, mask2, N, p, &s3);
        ck_assert(memcmp(mask, mask2, N * sizeof *mask) != 0);
        /* Backward multiplies by the mask, in place too. */
        rt_dropout_backward(x, mask, dx, N);
        for (int i = 0; i < N; i++)
            bad_y += !same_bits(dx[i], x[i] * mask[i]);
        memcpy(dx, x, N * sizeof *dx);
        rt_dropout_backward(dx, mask, dx, N);
        for (int i = 0; i < N; i++)
            bad_y += !same_bits(dx[i], x[i] * mask[i]);
        ck_assert_msg(bad_y == 0, "p = %g: %ld gradients not dy * mask", p, bad_y);
    }
    free(x);
    free(y);
    free(mask);
    free(mask2);
    free(dx);
}
END_TEST

/* ------------------------------------------------------------- optimizers
 *
 * The reference transcribes torch 1.13's _single_tensor_sgd/_adam line by
 * line: one whole-array pass per tensor op, with temporaries, the momentum
 * buffer's "is None" tracked by a flag, the step counter kept as torch
 * does.  Each op is modelled as torch's float32 CPU kernel rounds it:
 *   a.add(b, alpha=s)       fmaf(b, (float)s, a)   (ufunc::add = vec::fmadd)
 *   a.mul_(s), a / s        a * (float)s, a / (float)s
 *   a.addcmul_(b, c, value) fmaf((float)value * b, c, a)
 *   a.addcdiv_(b, c, value) a + (float)value * b / c
 * The kernels fuse the whole step into one loop; since both perform the
 * same correctly rounded float operations in the same order, the results
 * must agree bit for bit (any difference is a different order or
 * rounding, i.e. a bug, so no tolerance is allowed).  A second reference in
 * double checks the semantics independently of those rounding choices,
 * within the accumulated float rounding: 16 eps (|p| + lr) per step. */

static void op_add(float *out, const float *a, const float *b, double alpha, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = fmaf(b[i], (float)alpha, a[i]);
}

static void op_mul_(float *a, double s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        a[i] = a[i] * (float)s;
}

static void op_addcmul_(float *a, const float *b, const float *c, double value, size_t n)
{
    for (size_t i = 0; i < n; i++)
        a[i] = fmaf((float)value * b[i], c[i], a[i]);
}

static void op_addcdiv_(float *a, const float *b, const float *c, double value, size_t n)
{
    for (size_t i = 0; i < n; i++)
        a[i] = a[i] + (float)value * b[i] / c[i];
}

typedef struct {
    double lr, momentum, dampening, weight_decay, beta1, beta2, eps;
    int nesterov, maximize, amsgrad;
} opt_cfg;

enum { NP = 257, STEPS = 7 };

typedef struct {
    float *buf;
    int has_buf;
} sgd_ref_state;

static void ref_sgd(float *param, const float *grad, sgd_ref_state *s, const opt_cfg *c)
{
    float d_p[NP], tmp[NP];
    for (size_t i = 0; i < NP; i++)
        d_p[i] = c->maximize ? -grad[i] : grad[i];
    if (c->weight_decay != 0) {
        op_add(tmp, d_p, param, c->weight_decay, NP);
        memcpy(d_p, tmp, sizeof d_p);
    }
    if (c->momentum != 0) {
        if (!s->has_buf) {
            memcpy(s->buf, d_p, sizeof d_p);
            s->has_buf = 1;
        } else {
            op_mul_(s->buf, c->momentum, NP);
            op_add(s->buf, s->buf, d_p, 1 - c->dampening, NP);
        }
        if (c->nesterov) {
            op_add(tmp, d_p, s->buf, c->momentum, NP);
            memcpy(d_p, tmp, sizeof d_p);
        } else {
            memcpy(d_p, s->buf, sizeof d_p);
        }
    }
    op_add(param, param, d_p, -c->lr, NP);
}

static void ref_sgd_double(double *param, const float *grad, double *buf, long step,
                           const opt_cfg *c)
{
    for (size_t i = 0; i < NP; i++) {
        double d = c->maximize ? -(double)grad[i] : grad[i];
        d += c->weight_decay * param[i];
        if (c->momentum != 0) {
            buf[i] = step == 1 ? d : c->momentum * buf[i] + (1 - c->dampening) * d;
            d = c->nesterov ? d + c->momentum * buf[i] : buf[i];
        }
        param[i] -= c->lr * d;
    }
}

static const opt_cfg sgd_cfgs[] = {
    {.lr = 0.1},
    {.lr = 0.05, .momentum = 0.9},
    {.lr = 0.05, .momentum = 0.9, .dampening = 0.3},
    {.lr = 0.05, .momentum = 0.8, .nesterov = 1},
    {.lr = 0.01, .weight_decay = 0.01},
    {.lr = 0.1, .maximize = 1},
    {.lr = 0.03, .momentum = 0.7, .dampening = 0.1, .weight_decay = 0.05, .maximize = 1},
    {.lr = 0.03, .momentum = 0.95, .weight_decay = 1e-3, .nesterov = 1, .maximize = 1},
};
enum { NSGD = sizeof sgd_cfgs / sizeof sgd_cfgs[0] };

START_TEST(test_sgd)
{
    const opt_cfg *c = &sgd_cfgs[_i];
    uint64_t rng = rt_rng_seed(31, (uint64_t)_i);
    float p[NP], pr[NP], grad[NP], buf[NP], rbuf[NP];
    double pd[NP], bufd[NP];
    for (size_t i = 0; i < NP; i++) {
        p[i] = pr[i] = (float)rt_rng_normal(&rng);
        pd[i] = p[i];
        buf[i] = NAN; /* must not be read before the first step fills it */
    }
    sgd_ref_state rs = {rbuf, 0};
    for (long step = 1; step <= STEPS; step++) {
        for (size_t i = 0; i < NP; i++)
            grad[i] = (float)rt_rng_normal(&rng);
        rt_sgd_step(p, grad, buf, NP, step, c->lr, c->momentum, c->dampening, c->weight_decay,
                    c->nesterov, c->maximize);
        ref_sgd(pr, grad, &rs, c);
        ref_sgd_double(pd, grad, bufd, step, c);
        for (size_t i = 0; i < NP; i++) {
            ck_assert_msg(same_bits(p[i], pr[i]), "cfg %d step %ld: param[%zu] %.9g vs torch %.9g",
                          _i, step, i, p[i], pr[i]);
            if (c->momentum != 0)
                ck_assert(same_bits(buf[i], rbuf[i]));
            ck_assert(fabs(p[i] - pd[i]) <= 16.0 * EPS * step * (fabs(pd[i]) + c->lr * 10));
        }
    }
}
END_TEST

typedef struct {
    float *m, *v, *vmax;
    float step_t; /* torch keeps the step in a float tensor */
} adam_ref_state;

static void ref_adam(float *param, const float *grad_in, adam_ref_state *s, const opt_cfg *c)
{
    float grad[NP], tmp[NP], denom[NP];
    for (size_t i = 0; i < NP; i++)
        grad[i] = c->maximize ? -grad_in[i] : grad_in[i];
    s->step_t += 1.0f;
    if (c->weight_decay != 0) {
        op_add(tmp, grad, param, c->weight_decay, NP);
        memcpy(grad, tmp, sizeof grad);
    }
    op_mul_(s->m, c->beta1, NP);
    op_add(s->m, s->m, grad, 1 - c->beta1, NP);
    op_mul_(s->v, c->beta2, NP);
    op_addcmul_(s->v, grad, grad, 1 - c->beta2, NP);
    const double step = s->step_t; /* step_t.item() */
    const double bias_correction1 = 1 - pow(c->beta1, step);
    const double bias_correction2 = 1 - pow(c->beta2, step);
    const double step_size = c->lr / bias_correction1;
    const double bias_correction2_sqrt = sqrt(bias_correction2);
    const float *sq = s->v;
    if (c->amsgrad) {
        for (size_t i = 0; i < NP; i++)
            s->vmax[i] = isnan(s->vmax[i]) || isnan(s->v[i]) ? NAN : fmaxf(s->vmax[i], s->v[i]);
        sq = s->vmax;
    }
    for (size_t i = 0; i < NP; i++)
        denom[i] = sqrtf(sq[i]);
    for (size_t i = 0; i < NP; i++)
        denom[i] = denom[i] / (float)bias_correction2_sqrt;
    for (size_t i = 0; i < NP; i++)
        denom[i] = denom[i] + (float)c->eps;
    op_addcdiv_(param, s->m, denom, -step_size, NP);
}

static void ref_adam_double(double *p, const float *grad, double *m, double *v, double *vmax,
                            long step, const opt_cfg *c)
{
    for (size_t i = 0; i < NP; i++) {
        double g = c->maximize ? -(double)grad[i] : grad[i];
        g += c->weight_decay * p[i];
        m[i] = c->beta1 * m[i] + (1 - c->beta1) * g;
        v[i] = c->beta2 * v[i] + (1 - c->beta2) * g * g;
        vmax[i] = fmax(vmax[i], v[i]);
        const double vh = (c->amsgrad ? vmax[i] : v[i]) / (1 - pow(c->beta2, (double)step));
        p[i] -= c->lr * (m[i] / (1 - pow(c->beta1, (double)step))) / (sqrt(vh) + c->eps);
    }
}

static const opt_cfg adam_cfgs[] = {
    {.lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8},
    {.lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .amsgrad = 1},
    {.lr = 1e-2, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.1},
    {.lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .maximize = 1},
    {.lr = 3e-2, .beta1 = 0.8, .beta2 = 0.99, .eps = 1e-6, .weight_decay = 0.01, .amsgrad = 1,
     .maximize = 1},
    {.lr = 0.1, .beta1 = 0.0, .beta2 = 0.5, .eps = 1e-3},
};
enum { NADAM = sizeof adam_cfgs / sizeof adam_cfgs[0] };

START_TEST(test_adam)
{
    const opt_cfg *c = &adam_cfgs[_i];
    uint64_t rng = rt_rng_seed(41, (uint64_t)_i);
    float p[NP], pr[NP], grad[NP], m[NP] = {0}, v[NP] = {0}, vmax[NP] = {0};
    float rm[NP] = {0}, rv[NP] = {0}, rvmax[NP] = {0};
    double pd[NP], md[NP] = {0}, vd[NP] = {0}, vmaxd[NP] = {0};
    for (size_t i = 0; i < NP; i++) {
        p[i] = pr[i] = (float)rt_rng_normal(&rng);
        pd[i] = p[i];
    }
    adam_ref_state rs = {rm, rv, rvmax, 0.0f};
    for (long step = 1; step <= STEPS; step++) {
        /* Gradients of varying scale, so v moves and amsgrad's max matters. */
        const double scale = (step % 3 == 0) ? 0.1 : 1.0;
        for (size_t i = 0; i < NP; i++)
            grad[i] = (float)(scale * rt_rng_normal(&rng));
        rt_adam_step(p, grad, m, v, c->amsgrad ? vmax : NULL, NP, step, c->lr, c->beta1, c->beta2,
                     c->eps, c->weight_decay, c->amsgrad, c->maximize);
        ref_adam(pr, grad, &rs, c);
        ref_adam_double(pd, grad, md, vd, vmaxd, step, c);
        for (size_t i = 0; i < NP; i++) {
            ck_assert_msg(same_bits(p[i], pr[i]), "cfg %d step %ld: param[%zu] %.9g vs torch %.9g",
                          _i, step, i, p[i], pr[i]);
            ck_assert(same_bits(m[i], rm[i]) && same_bits(v[i], rv[i]));
            if (c->amsgrad)
                ck_assert(same_bits(vmax[i], rvmax[i]));
            /* Adam's update is lr * m / sqrt(v) ~ lr; with eps tiny the
             * ratio is well conditioned, each step adding a few eps. */
            ck_assert_msg(fabs(p[i] - pd[i]) <= 16.0 * EPS * step * (fabs(pd[i]) + c->lr),
                          "cfg %d step %ld: param[%zu] %.9g vs exact %.9g", _i, step, i, p[i],
                          pd[i]);
        }
    }
}
END_TEST

/* ---------------------------------------------------------------- the RNG */

START_TEST(test_rng_reference)
{
    /* splitmix64's published outputs from state 0. */
    uint64_t s = 0;
    ck_assert(rt_rng_next(&s) == 0xE220A8397B1DCDAFULL);
    ck_assert(rt_rng_next(&s) == 0x6E789E6AA1B965F4ULL);
    ck_assert(rt_rng_next(&s) == 0x06C45D188009454FULL);
}
END_TEST

START_TEST(test_rng_reproducible)
{
    uint64_t a = rt_rng_seed(42, 3), b = rt_rng_seed(42, 3);
    for (int i = 0; i < 1000; i++) {
        ck_assert(rt_rng_next(&a) == rt_rng_next(&b));
        ck_assert(rt_rng_uniform(&a) == rt_rng_uniform(&b));
        ck_assert(rt_rng_normal(&a) == rt_rng_normal(&b));
    }
    /* Different streams and seeds start on different states whose first
     * outputs differ. */
    uint64_t firsts[16];
    for (int k = 0; k < 16; k++) {
        uint64_t st = rt_rng_seed(k < 8 ? 42 : 43, (uint64_t)(k % 8));
        firsts[k] = rt_rng_next(&st);
        for (int j = 0; j < k; j++)
            ck_assert(firsts[j] != firsts[k]);
    }
}
END_TEST

/* Moments over 1e6 draws within 5 standard errors: for U(0,1) the mean
 * has variance 1/12 per draw and (u - 1/2)^2 has variance 1/80 - 1/144 =
 * 1/180; for N(0,1) the mean has variance 1, z^2 variance 2, and
 * P(|z| > 2) = 0.0455 (binomial). */
START_TEST(test_rng_moments)
{
    enum { N = 1000000 };
    uint64_t s = rt_rng_seed(2024, 0);
    double sum = 0.0, sq = 0.0;
    long out_of_range = 0, not_finite = 0;
    for (int i = 0; i < N; i++) {
        const double u = rt_rng_uniform(&s);
        out_of_range += !(u >= 0.0 && u < 1.0);
        sum += u;
        sq += (u - 0.5) * (u - 0.5);
    }
    ck_assert_int_eq(out_of_range, 0);
    ck_assert(fabs(sum / N - 0.5) <= 5.0 * sqrt(1.0 / 12.0 / N));
    ck_assert(fabs(sq / N - 1.0 / 12.0) <= 5.0 * sqrt(1.0 / 180.0 / N));

    s = rt_rng_seed(2024, 1);
    double zs = 0.0, zsq = 0.0;
    long tail = 0;
    for (int i = 0; i < N; i++) {
        const double z = rt_rng_normal(&s);
        not_finite += !isfinite(z);
        zs += z;
        zsq += z * z;
        tail += fabs(z) > 2.0;
    }
    ck_assert_int_eq(not_finite, 0);
    ck_assert_msg(fabs(zs / N) <= 5.0 / sqrt(N), "normal mean %g", zs / N);
    ck_assert_msg(fabs(zsq / N - 1.0) <= 5.0 * sqrt(2.0 / N), "normal variance %g", zsq / N);
    const double pt = 0.04550026389635842;
    ck_assert(fabs((double)tail / N - pt) <= 5.0 * sqrt(pt * (1 - pt) / N));
}
END_TEST

/* ------------------------------------------------------------------ suite */

static Suite *kernels_suite(void)
{
    Suite *s = suite_create("kernels");
    TCase *tc = tcase_create("activations");
    tcase_add_loop_test(tc, test_act_fd, 0, COMP_ACT_COUNT);
    tcase_add_loop_test(tc, test_act_plumbing, 0, COMP_ACT_COUNT);
    tcase_add_test(tc, test_act_breakpoints);
    suite_add_tcase(s, tc);

    tc = tcase_create("linear");
    tcase_add_loop_test(tc, test_linear_forward, 0, COMP_ACT_COUNT);
    tcase_add_loop_test(tc, test_linear_backward_fd, 0, COMP_ACT_COUNT);
    tcase_add_test(tc, test_linear_backward_products);
    suite_add_tcase(s, tc);

    tc = tcase_create("softmax");
    tcase_add_loop_test(tc, test_softmax_forward, 0, NLAYOUTS);
    tcase_add_loop_test(tc, test_softmax_backward, 0, NLAYOUTS);
    tcase_add_test(tc, test_softmax_large);
    suite_add_tcase(s, tc);

    tc = tcase_create("losses");
    tcase_add_test(tc, test_xent_values);
    tcase_add_test(tc, test_xent_huge);
    tcase_add_test(tc, test_xent_fd);
    tcase_add_test(tc, test_mse);
    suite_add_tcase(s, tc);

    tc = tcase_create("dropout");
    tcase_add_test(tc, test_dropout);
    suite_add_tcase(s, tc);

    tc = tcase_create("optimizers");
    tcase_add_loop_test(tc, test_sgd, 0, NSGD);
    tcase_add_loop_test(tc, test_adam, 0, NADAM);
    suite_add_tcase(s, tc);

    tc = tcase_create("rng");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_rng_reference);
    tcase_add_test(tc, test_rng_reproducible);
    tcase_add_test(tc, test_rng_moments);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(kernels_suite());
}
