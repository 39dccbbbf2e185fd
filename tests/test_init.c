/* test_init.c — weight initialisation: the statistics of large draws
 * against torch.nn.init's formulas, exact inits (eye, orthogonality),
 * calculate_gain against torch's values, bias bounds, and determinism.
 *
 * Statistical tolerances are 5 standard errors.  For n draws of a
 * distribution of standard deviation s, the sample mean has standard error
 * s/sqrt(n) and the sample variance about sqrt((mu4 - s^4)/n), which is
 * s^2 sqrt(2/n) for a normal (mu4 = 3 s^4) and less for the uniform
 * (mu4 = 1.8 s^4) and truncated normals (lighter tails than the normal),
 * so 5 sqrt(2/n) relative bounds the variance of all of them.  Seeds are
 * fixed, so the tests are deterministic; the bounds say they are not
 * tuned to the seed. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "compiler/gain.h"
#include "runtime/init_math.h"
#include "runtime/net.h"

typedef struct {
    comp_plan *p;
    rt_net *net;
} fixture;

static void build(fixture *f, const char *init, int in, int out)
{
    char text[512];
    snprintf(text, sizeof text,
             "model t {\n input %d\n layers Linear(%d, %d)\n %s\n loss MSE\n optimizer SGD\n}\n", in, in, out,
             init);
    f->p = tu_compile_text(text);
    f->net = rt_net_new(f->p, 1);
    ck_assert_int_eq(rt_net_init_params(f->net, 7), 0);
}

static void release(fixture *f)
{
    rt_net_free(f->net);
    tu_destroy(f->p);
}

static void stats(const float *w, size_t n, double *mean, double *var, double *lo, double *hi)
{
    double s = 0, s2 = 0;
    *lo = INFINITY;
    *hi = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        s += w[i];
        *lo = fmin(*lo, w[i]);
        *hi = fmax(*hi, w[i]);
    }
    *mean = s / (double)n;
    for (size_t i = 0; i < n; i++)
        s2 += (w[i] - *mean) * (w[i] - *mean);
    *var = s2 / (double)(n - 1);
}

/* Mean and variance within 5 standard errors (see the top of the file). */
static void check_moments(const char *what, const float *w, size_t n, double want_mean, double want_var,
                          double *lo, double *hi)
{
    double mean, var;
    stats(w, n, &mean, &var, lo, hi);
    ck_assert_msg(fabs(mean - want_mean) < 5 * sqrt(want_var / (double)n), "%s: mean %g, expected %g", what, mean,
                  want_mean);
    ck_assert_msg(fabs(var / want_var - 1) < 5 * sqrt(2.0 / (double)n), "%s: variance %g, expected %g", what, var,
                  want_var);
}

/* Biases keep PyTorch's nn.Linear default, U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
 * whatever the weight's init, as when torch.nn.init is applied to a
 * constructed nn.Linear's weight. */
static void check_bias(const fixture *f, int in, int out)
{
    const float *b = rt_net_buf(f->net, f->p->params[1]);
    for (int i = 0; i < out; i++)
        ck_assert(fabsf(b[i]) <= 1.0f / sqrtf((float)in));
}

/* init statement, fan_in, fan_out, expected mean and variance, and the
 * support [lo, hi] of a bounded distribution (lo = hi = 0: unbounded), or
 * for a symmetric one the square of its bound, sq, so that the support
 * [-sqrt(sq), sqrt(sq)] is computed at run time: C does not allow sqrt() in
 * a static initializer and clang rejects it */
static const struct {
    const char *init;
    int in, out;
    double mean, var, lo, hi, sq;
} cases[] = {
    /* PyTorch's nn.Linear default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) */
    {"", 1000, 1000, 0, 1.0 / 3000.0, 0, 0, 1.0 / 1000.0},
    {"init normal(mean=0.5, std=2)", 1000, 1000, 0.5, 4.0, 0, 0, 0},
    {"init uniform(a=-3, b=1)", 1000, 1000, -1, 16.0 / 12.0, -3, 1, 0},
    {"init xavier_uniform(gain=2)", 500, 2000, 0, 4.0 * 2.0 / 2500.0, 0, 0, 4.0 * 6.0 / 2500.0},
    {"init xavier_normal", 500, 2000, 0, 2.0 / 2500.0, 0, 0, 0},
    /* a gain written as a calculate_gain call: tanh's 5/3 */
    {"init xavier_normal(gain=calculate_gain(\"tanh\"))", 512, 512, 0, 25.0 / 9.0 * 2.0 / 1024.0, 0, 0, 0},
    {"init xavier_uniform(gain=calculate_gain(\"leaky_relu\", 0.5))", 512, 512, 0, 2.0 / 1.25 * 2.0 / 1024.0,
     0, 0, 2.0 / 1.25 * 6.0 / 1024.0},
    {"init kaiming_uniform(nonlinearity=\"relu\")", 500, 2000, 0, 2.0 / 500.0, 0, 0,
     3.0 * 2.0 / 500.0},
    {"init kaiming_normal(mode=\"fan_out\", nonlinearity=\"relu\")", 500, 2000, 0, 2.0 / 2000.0, 0, 0, 0},
    /* leaky_relu gain with a=0.2: sqrt(2 / 1.04) */
    {"init kaiming_normal(a=0.2)", 1000, 1000, 0, 2.0 / 1.04 / 1000.0, 0, 0, 0},
    {"init kaiming_uniform(nonlinearity=\"tanh\")", 1000, 1000, 0, 25.0 / 9.0 / 1000.0,
     0, 0, 3.0 * 25.0 / 9.0 / 1000.0},
    /* selu's gain 3/4; torch passes a, ignored by selu */
    {"init kaiming_uniform(a=0.3, nonlinearity=\"selu\")", 512, 256, 0, 0.5625 / 512.0,
     0, 0, 3.0 * 0.5625 / 512.0},
};

START_TEST(test_weight_statistics)
{
    fixture f;
    build(&f, cases[_i].init, cases[_i].in, cases[_i].out);
    const float *w = rt_net_buf(f.net, f.p->params[0]);
    size_t n = (size_t)cases[_i].in * (size_t)cases[_i].out;
    double lo, hi, blo = cases[_i].lo, bhi = cases[_i].hi;
    if (cases[_i].sq > 0) {
        bhi = sqrt(cases[_i].sq);
        blo = -bhi;
    }
    check_moments(cases[_i].init, w, n, cases[_i].mean, cases[_i].var, &lo, &hi);
    if (blo < bhi) {
        ck_assert_msg(lo >= blo && hi <= bhi, "%s: range [%g, %g] exceeds [%g, %g]", cases[_i].init, lo, hi, blo,
                      bhi);
        /* and the draws reach close to both ends: the chance that none of
         * n >= 1.3e5 uniform draws falls in an end slice of 1e-3 of the
         * width is below (1 - 1e-3)^n < e^-130 */
        ck_assert(lo < blo + 1e-3 * (bhi - blo) && hi > bhi - 1e-3 * (bhi - blo));
    }
    check_bias(&f, cases[_i].in, cases[_i].out);
    release(&f);
}
END_TEST

static double phi(double x)
{
    return exp(-0.5 * x * x) / sqrt(2.0 * acos(-1.0));
}

static double Phi(double x)
{
    return 0.5 * (1.0 + erf(x / sqrt(2.0)));
}

/* trunc_normal(mean, std, a, b) against the truncated normal's moments:
 * with alpha = (a - mean)/std, beta = (b - mean)/std, Z = Phi(beta) -
 * Phi(alpha) and d = (phi(alpha) - phi(beta)) / Z,
 *   E = mean + std d,  Var = std^2 (1 + (alpha phi(alpha) - beta phi(beta)) / Z - d^2). */
static const struct {
    double mean, std, a, b;
} trunc_cases[] = {
    {0, 1, -2, 2},    /* torch's defaults */
    {0.5, 2, -1, 3},  /* asymmetric */
    {0, 1, 1, 2.5},   /* the interval in one tail */
    {-1, 0.25, -1.5, -0.5},
};

START_TEST(test_trunc_normal)
{
    double mu = trunc_cases[_i].mean, sd = trunc_cases[_i].std, a = trunc_cases[_i].a, b = trunc_cases[_i].b;
    char init[160];
    snprintf(init, sizeof init, "init trunc_normal(mean=%.17g, std=%.17g, a=%.17g, b=%.17g)", mu, sd, a, b);
    fixture f;
    build(&f, init, 512, 512);
    double al = (a - mu) / sd, be = (b - mu) / sd, z = Phi(be) - Phi(al), d = (phi(al) - phi(be)) / z;
    double want_mean = mu + sd * d, want_var = sd * sd * (1 + (al * phi(al) - be * phi(be)) / z - d * d);
    const float *w = rt_net_buf(f.net, f.p->params[0]);
    size_t n = 512 * 512;
    double lo, hi;
    check_moments(init, w, n, want_mean, want_var, &lo, &hi);
    ck_assert_msg(lo >= a && hi <= b, "%s: range [%g, %g] leaves [a, b]", init, lo, hi);
    /* Both ends are reached: each end slice of 1e-3 of the width expects
     * over 20 draws (checked here, so the cases cannot drift below), and
     * a slice expecting c draws stays empty with chance about e^-c. */
    double slice = 1e-3 * (be - al);
    ck_assert(n * (Phi(al + slice) - Phi(al)) / z > 20 && n * (Phi(be) - Phi(be - slice)) / z > 20);
    ck_assert_msg(lo < a + 1e-3 * (b - a) && hi > b - 1e-3 * (b - a), "%s: range [%g, %g] falls short of [a, b]",
                  init, lo, hi);
    check_bias(&f, 512, 512);
    release(&f);
}
END_TEST

/* Keras's named initializers, from tf.keras.initializers' definitions:
 * VarianceScaling(scale, mode, distribution) with fan = fan_in, or
 * (fan_in + fan_out) / 2 for mode "fan_avg"; "uniform" draws
 * U(-limit, limit), limit = sqrt(3 scale / fan); "truncated_normal" draws
 * N(0, stddev^2) with stddev = sqrt(scale / fan) / 0.87962566103423978,
 * redrawing what falls beyond two stddevs.  Either way the variance is
 * scale / fan.  glorot_*: (1, fan_avg), he_*: (2, fan_in), lecun_*: (1,
 * fan_in). */
static const struct {
    const char *init;
    int in, out;
    double scale;
    int fan_avg, uniform;
} keras_cases[] = {
    {"glorot_uniform", 500, 2000, 1, 1, 1}, {"glorot_normal", 500, 2000, 1, 1, 0},
    {"he_uniform", 500, 2000, 2, 0, 1},     {"he_normal", 500, 2000, 2, 0, 0},
    {"lecun_uniform", 512, 256, 1, 0, 1},   {"lecun_normal", 512, 256, 1, 0, 0},
    {"lecun_normal", 200, 512, 1, 0, 0},
};

START_TEST(test_keras_inits)
{
    /* Keras's constant is the standard deviation of N(0, 1) truncated to
     * [-2, 2]: sqrt(1 - 2 * 2 phi(2) / (Phi(2) - Phi(-2))). */
    double z = 0.5 * (erf(2 / sqrt(2.0)) - erf(-2 / sqrt(2.0)));
    double sd2 = sqrt(1 - 4 * exp(-2.0) / sqrt(2 * acos(-1.0)) / z);
    ck_assert_msg(fabs(sd2 - 0.87962566103423978) < 1e-15, "truncated sd %.17g", sd2);
    const char *init = keras_cases[_i].init;
    int in = keras_cases[_i].in, out = keras_cases[_i].out;
    double fan = keras_cases[_i].fan_avg ? (in + out) / 2.0 : in, var = keras_cases[_i].scale / fan;
    double bound = keras_cases[_i].uniform ? sqrt(3 * var) : 2 * sqrt(var) / 0.87962566103423978;
    char stmt[64];
    snprintf(stmt, sizeof stmt, "init %s", init);
    fixture f;
    build(&f, stmt, in, out);
    const float *w = rt_net_buf(f.net, f.p->params[0]);
    size_t n = (size_t)in * (size_t)out;
    double lo, hi;
    check_moments(init, w, n, 0, var, &lo, &hi);
    /* The support is [-bound, bound] (float rounding of the bound aside),
     * and both ends are reached: an end slice of 1e-3 of the width holds
     * n * 2e-3 * density draws on average, at least 60 here (the truncated
     * normal's density at 2 sd is phi(2) / 0.954 = 0.057 per sd, a
     * quarter of the flat part of the uniform), so staying empty has a
     * chance below e^-60. */
    double slack = 1e-6 * bound;
    ck_assert_msg(lo >= -bound - slack && hi <= bound + slack, "%s: range [%g, %g] exceeds +-%g", init, lo, hi, bound);
    ck_assert_msg(lo < -bound * (1 - 2e-3) && hi > bound * (1 - 2e-3), "%s: range [%g, %g] falls short of +-%g", init,
                  lo, hi, bound);
    check_bias(&f, in, out);
    release(&f);
}
END_TEST

/* torch.eye(out, in): exact ones on the leading diagonal, zeros elsewhere,
 * for square, wide and tall weights. */
START_TEST(test_eye)
{
    const int shapes[][2] = {{5, 5}, {7, 4}, {4, 7}, {1, 3}}; /* (in, out) */
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        int in = shapes[s][0], out = shapes[s][1];
        fixture f;
        build(&f, "init eye", in, out);
        const float *w = rt_net_buf(f.net, f.p->params[0]);
        for (int r = 0; r < out; r++)
            for (int c = 0; c < in; c++)
                ck_assert_float_eq(w[r * in + c], r == c ? 1.0f : 0.0f);
        check_bias(&f, in, out);
        release(&f);
    }
}
END_TEST

/* orthogonal(gain): W W^T = gain^2 I for a wide or square weight (out <=
 * in), W^T W = gain^2 I for a tall one.  The bound: the QR is in double,
 * so the error is float storage, at most 2^-24 relative per entry, which
 * moves a Gram entry by at most 2 * 2^-24 * |w_i| |w_j| = 1.2e-7 gain^2
 * (Cauchy-Schwarz); 1e-6 gain^2 leaves a margin of 8. */
START_TEST(test_orthogonal)
{
    const struct {
        int in, out;
        double gain;
    } shapes[] = {{512, 512, 1}, {256, 512, 1}, {512, 256, 1}, {40, 30, 2.5}, {30, 40, 0.5}, {5, 1, 1}, {1, 5, 3}};
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        int in = shapes[s].in, out = shapes[s].out;
        double g = shapes[s].gain;
        char init[64];
        snprintf(init, sizeof init, "init orthogonal(gain=%g)", g);
        fixture f;
        build(&f, init, in, out);
        const float *w = rt_net_buf(f.net, f.p->params[0]);
        /* the Gram matrix of the rows (out <= in) or of the columns */
        int rows = out <= in, k = rows ? out : in, len = rows ? in : out;
        double worst = 0;
        for (int i = 0; i < k; i++)
            for (int j = 0; j <= i; j++) {
                double dot = 0;
                for (int t = 0; t < len; t++)
                    dot += rows ? (double)w[i * in + t] * w[j * in + t] : (double)w[t * in + i] * w[t * in + j];
                worst = fmax(worst, fabs(dot - (i == j ? g * g : 0.0)));
            }
        ck_assert_msg(worst < 1e-6 * g * g, "%s on %dx%d: Gram matrix off gain^2 I by %g", init, out, in, worst);
        /* Haar distribution, which the sign correction gives: tr Q has mean
         * 0 and variance 1 for Haar O(n) (Diaconis-Shahshahani), so |tr| <
         * 5 is a 5-sigma bound; without the correction tr Q of a 512 x 512
         * Householder QR is near -12. */
        if (in == out && in == 512) {
            double tr = 0;
            for (int i = 0; i < in; i++)
                tr += w[i * in + i];
            ck_assert_msg(fabs(tr) < 5, "orthogonal 512x512: trace %g; signs not corrected?", tr);
        }
        check_bias(&f, in, out);
        release(&f);
    }
}
END_TEST

/* A line of n doubles from f. */
static void read_doubles(FILE *f, double *v, int n)
{
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(fscanf(f, "%lf", &v[i]), 1);
}

/* The sign-corrected QR against torch's (tests/golden/init/qr.txt).  Both
 * are backward-stable double QRs, whose Q differ by O(cond(A) eps); these
 * Gaussian matrices have cond(A) < 100, so 1e-12 is a bound with a margin
 * of 50. */
START_TEST(test_qr_matches_torch)
{
    FILE *f = fopen("tests/golden/init/qr.txt", "r");
    ck_assert_msg(f != NULL, "cannot read tests/golden/init/qr.txt (make golden)");
    char line[256];
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f)); /* the comment */
    int m, n, cases_seen = 0;
    while (fscanf(f, " qr %d %d", &m, &n) == 2) {
        double *a = malloc(sizeof(double) * (size_t)(m * n)), *q = malloc(sizeof(double) * (size_t)(m * n));
        double *cm = malloc(sizeof(double) * (size_t)(m * n));
        read_doubles(f, a, m * n);
        read_doubles(f, q, m * n);
        for (int i = 0; i < m; i++) /* row-major to column-major */
            for (int j = 0; j < n; j++)
                cm[i + j * m] = a[i * n + j];
        ck_assert_int_eq(rt_qr_signed_q(cm, m, n), 0);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
                ck_assert_msg(fabs(cm[i + j * m] - q[i * n + j]) < 1e-12, "qr %dx%d: Q[%d][%d] = %.17g, torch %.17g",
                              m, n, i, j, cm[i + j * m], q[i * n + j]);
        free(a);
        free(q);
        free(cm);
        cases_seen++;
    }
    fclose(f);
    ck_assert_int_ge(cases_seen, 3);
}
END_TEST

/* ---- calculate_gain ------------------------------------------------------ */

#define MAX_GAINS 64

/* tests/golden/init/gains.txt: torch's calculate_gain(name[, param]). */
static struct {
    char name[64];
    int has_param;
    double param, gain;
} golden[MAX_GAINS];
static int ngolden;

static void load_gains(void)
{
    FILE *f = fopen("tests/golden/init/gains.txt", "r");
    ck_assert_msg(f != NULL, "cannot read tests/golden/init/gains.txt (make golden)");
    char line[256], param[64];
    ngolden = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#')
            continue;
        ck_assert_int_lt(ngolden, MAX_GAINS);
        ck_assert_int_eq(sscanf(line, "%63s %63s %lf", golden[ngolden].name, param, &golden[ngolden].gain), 3);
        golden[ngolden].has_param = strcmp(param, "-") != 0;
        golden[ngolden].param = golden[ngolden].has_param ? strtod(param, NULL) : NAN;
        ngolden++;
    }
    fclose(f);
    ck_assert_int_gt(ngolden, 0);
}

/* torch's gain for name with param (NaN: none). */
static double golden_gain(const char *name, double param)
{
    for (int i = 0; i < ngolden; i++)
        if (strcmp(golden[i].name, name) == 0 &&
            (isnan(param) ? !golden[i].has_param : golden[i].has_param && golden[i].param == param))
            return golden[i].gain;
    ck_abort_msg("no golden gain for %s(%g)", name, param);
    return 0;
}

/* Every golden value, from the table and through a spec's
 * calculate_gain(...) call; gains are a few double operations, so they
 * agree with Python's to 2 ulp.  And the two lists of names are equal:
 * torch's (in the golden file) and netc's (gains.def). */
START_TEST(test_calculate_gain)
{
    load_gains();
    for (int i = 0; i < ngolden; i++) {
        int k = comp_gain_lookup(golden[i].name);
        ck_assert_msg(k >= 0, "torch's nonlinearity %s is missing from gains.def", golden[i].name);
        double want = golden[i].gain, tol = 4.5e-16 * want;
        ck_assert_double_eq_tol(comp_gain((comp_gain_kind)k, golden[i].param), want, tol);

        char text[256], call[128];
        if (golden[i].has_param)
            snprintf(call, sizeof call, "calculate_gain(\"%.60s\", %.17g)", golden[i].name, golden[i].param);
        else
            snprintf(call, sizeof call, "calculate_gain(nonlinearity=\"%.60s\")", golden[i].name);
        snprintf(text, sizeof text, "model t { input 2 layers Linear(2, 2) loss MSE optimizer SGD(lr=%s) }", call);
        comp_plan *p = tu_compile_text(text);
        ck_assert_msg(fabs(p->model->optim_args.num[0][0] - want) <= tol, "%s = %.17g, torch %.17g", call,
                      p->model->optim_args.num[0][0], want);
        tu_destroy(p);
    }
    for (int k = 0; k < COMP_GAIN_COUNT; k++)
        (void)golden_gain(comp_gain_names[k], NAN);
}
END_TEST

/* kaiming_normal's nonlinearity takes every name of the table, with
 * torch's gain: torch passes a (default 0) as the param, so leaky_relu's
 * gain is calculate_gain("leaky_relu", 0).  256 x 256 draws: the variance
 * is within 5 sqrt(2/65536) = 2.8% relative. */
START_TEST(test_kaiming_every_nonlinearity)
{
    load_gains();
    for (int k = 0; k < COMP_GAIN_COUNT; k++) {
        const char *name = comp_gain_names[k];
        char init[128];
        snprintf(init, sizeof init, "init kaiming_normal(nonlinearity=\"%s\")", name);
        fixture f;
        build(&f, init, 256, 256);
        double g = golden_gain(name, comp_gain_takes_param((comp_gain_kind)k) ? 0.0 : NAN), lo, hi;
        check_moments(init, rt_net_buf(f.net, f.p->params[0]), 256 * 256, 0, g * g / 256.0, &lo, &hi);
        release(&f);
    }
}
END_TEST

/* erf(erfinv(x)) = x to a few ulp over (-1, 1), and in the tails
 * 1 - x = erfc(erfinv(x)) to a relative 1e-14, where erf's own rounding
 * would hide errors. */
START_TEST(test_erfinv)
{
    ck_assert_double_eq(rt_erfinv(0.0), 0.0);
    ck_assert(isinf(rt_erfinv(1.0)) && rt_erfinv(1.0) > 0);
    ck_assert(isinf(rt_erfinv(-1.0)) && rt_erfinv(-1.0) < 0);
    ck_assert(isnan(rt_erfinv(1.5)) && isnan(rt_erfinv(NAN)));
    for (int i = -999; i <= 999; i++) {
        double x = i / 1000.0, y = rt_erfinv(x);
        ck_assert_msg(fabs(erf(y) - x) <= 4e-16, "erf(erfinv(%g)) = %.17g", x, erf(y));
        ck_assert_double_eq(rt_erfinv(-x), -y);
    }
    for (double t = 1e-3; t > 1e-300; t *= 1e-7) {
        double y = rt_erfinv(1.0 - t);
        if (1.0 - t == 1.0)
            break;
        ck_assert_msg(fabs(erfc(y) / (1.0 - (1.0 - t)) - 1) < 1e-14, "erfinv(1 - %g) = %.17g", t, y);
    }
}
END_TEST

START_TEST(test_constants)
{
    const char *inits[] = {"init zeros", "init ones", "init constant(val=-0.25)"};
    const float want[] = {0.0f, 1.0f, -0.25f};
    for (int k = 0; k < 3; k++) {
        fixture f;
        build(&f, inits[k], 7, 5);
        const float *w = rt_net_buf(f.net, f.p->params[0]);
        for (int i = 0; i < 35; i++)
            ck_assert_float_eq(w[i], want[k]);
        release(&f);
    }
}
END_TEST

/* Same seed, same bits; another seed, other values; a layer's init=
 * overrides the model's init for that layer only. */
START_TEST(test_determinism_and_override)
{
    const char *inits[] = {"init normal", "init orthogonal", "init trunc_normal(std=0.5)"};
    for (int k = 0; k < 3; k++) {
        fixture a, b;
        build(&a, inits[k], 30, 20);
        build(&b, inits[k], 30, 20);
        size_t bytes = comp_plan_param_count(a.p) * sizeof(float);
        ck_assert_int_eq(memcmp(a.net->arena[COMP_ARENA_PARAM], b.net->arena[COMP_ARENA_PARAM], bytes), 0);
        ck_assert_int_eq(rt_net_init_params(b.net, 8), 0);
        ck_assert_int_ne(memcmp(a.net->arena[COMP_ARENA_PARAM], b.net->arena[COMP_ARENA_PARAM], bytes), 0);
        release(&a);
        release(&b);
    }

    comp_plan *p =
        tu_compile_text("model t { input 4 layers Linear(4, 3, init=ones) -> Linear(3, 2) init zeros loss MSE optimizer SGD }");
    rt_net *net = rt_net_new(p, 1);
    ck_assert_int_eq(rt_net_init_params(net, 1), 0);
    const float *w0 = rt_net_buf(net, p->params[0]), *w1 = rt_net_buf(net, p->params[2]);
    for (int i = 0; i < 12; i++)
        ck_assert_float_eq(w0[i], 1.0f);
    for (int i = 0; i < 6; i++)
        ck_assert_float_eq(w1[i], 0.0f);
    rt_net_free(net);
    tu_destroy(p);
}
END_TEST

/* nn.Embedding's reset_parameters: normal_(0, 1), then the padding_idx
 * row zeroed (a negative padding_idx counts from the end); an explicit
 * init, applied to the whole weight as nn.init would be after
 * construction, leaves no row zero. */
START_TEST(test_embedding_padding_row)
{
    static const char *const specs[] = {
        "model e { input 2 layers Embedding(6, 3, padding_idx=4) loss MSE optimizer SGD }",
        "model e { input 2 layers Embedding(6, 3, padding_idx=-2) loss MSE optimizer SGD }",
        "model e { input 2 layers Embedding(6, 3, 4, init=ones) loss MSE optimizer SGD }",
        "model e { input 2 layers Embedding(6, 3, padding_idx=None) loss MSE optimizer SGD }",
    };
    for (int k = 0; k < 4; k++) {
        comp_plan *p = tu_compile_text(specs[k]);
        ck_assert_ptr_nonnull(p);
        rt_net *net = rt_net_new(p, 1);
        ck_assert_int_eq(rt_net_init_params(net, 3), 0);
        const float *w = rt_net_buf(net, p->params[0]);
        for (int r = 0; r < 6; r++) {
            int zeros = 0;
            for (int j = 0; j < 3; j++)
                zeros += w[r * 3 + j] == 0.0f;
            ck_assert_msg(zeros == (k < 2 && r == 4 ? 3 : 0), "spec %d row %d: %d zeros", k, r, zeros);
        }
        rt_net_free(net);
        tu_destroy(p);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("init");
    TCase *tc = tcase_create("init");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_weight_statistics, 0, (int)(sizeof cases / sizeof *cases));
    tcase_add_loop_test(tc, test_trunc_normal, 0, (int)(sizeof trunc_cases / sizeof *trunc_cases));
    tcase_add_loop_test(tc, test_keras_inits, 0, (int)(sizeof keras_cases / sizeof *keras_cases));
    tcase_add_test(tc, test_eye);
    tcase_add_test(tc, test_orthogonal);
    tcase_add_test(tc, test_qr_matches_torch);
    tcase_add_test(tc, test_calculate_gain);
    tcase_add_test(tc, test_kaiming_every_nonlinearity);
    tcase_add_test(tc, test_erfinv);
    tcase_add_test(tc, test_constants);
    tcase_add_test(tc, test_determinism_and_override);
    tcase_add_test(tc, test_embedding_padding_row);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
