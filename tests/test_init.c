/* test_init.c — weight initialisation: the statistics of large draws
 * against torch.nn.init's formulas, bias bounds, and determinism.
 *
 * A 1000 x 1000 weight gives 1e6 draws; the sample mean of N(0, s^2) has
 * standard error s/1000 and the sample variance about s^2 * sqrt(2/1e6), so
 * 5-sigma bounds below are 5e-3 * s for the mean and 7e-3 * s^2 relative
 * for the variance. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
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
    rt_net_init_params(f->net, 7);
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

/* name, init statement, fan_in, fan_out, expected mean, variance, and the
 * bound of a uniform (0 for normal distributions) */
static const struct {
    const char *init;
    int in, out;
    double mean, var, bound;
} cases[] = {
    /* PyTorch's nn.Linear default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) */
    {"", 1000, 1000, 0, 1.0 / 3000.0, 1.0 / sqrt(1000.0)},
    {"init normal(mean=0.5, std=2)", 1000, 1000, 0.5, 4.0, 0},
    {"init uniform(a=-3, b=1)", 1000, 1000, -1, 16.0 / 12.0, 0},
    {"init xavier_uniform(gain=2)", 500, 2000, 0, 4.0 * 2.0 / 2500.0, 2.0 * sqrt(6.0 / 2500.0)},
    {"init xavier_normal", 500, 2000, 0, 2.0 / 2500.0, 0},
    {"init kaiming_uniform(nonlinearity=\"relu\")", 500, 2000, 0, 2.0 / 500.0, sqrt(3.0 * 2.0 / 500.0)},
    {"init kaiming_normal(mode=\"fan_out\", nonlinearity=\"relu\")", 500, 2000, 0, 2.0 / 2000.0, 0},
    /* leaky_relu gain with a=0.2: sqrt(2 / 1.04) */
    {"init kaiming_normal(a=0.2)", 1000, 1000, 0, 2.0 / 1.04 / 1000.0, 0},
    {"init kaiming_uniform(nonlinearity=\"tanh\")", 1000, 1000, 0, 25.0 / 9.0 / 1000.0, sqrt(3.0 * 25.0 / 9.0 / 1000.0)},
};

START_TEST(test_weight_statistics)
{
    fixture f;
    build(&f, cases[_i].init, cases[_i].in, cases[_i].out);
    const float *w = rt_net_buf(f.net, f.p->params[0]);
    size_t n = (size_t)cases[_i].in * (size_t)cases[_i].out;
    double mean, var, lo, hi, sd = sqrt(cases[_i].var);
    stats(w, n, &mean, &var, &lo, &hi);
    ck_assert_msg(fabs(mean - cases[_i].mean) < 5 * sd / sqrt((double)n), "%s: mean %g, expected %g", cases[_i].init,
                  mean, cases[_i].mean);
    ck_assert_msg(fabs(var / cases[_i].var - 1) < 7e-3, "%s: variance %g, expected %g", cases[_i].init, var,
                  cases[_i].var);
    if (cases[_i].bound > 0) {
        ck_assert_msg(lo >= -cases[_i].bound && hi <= cases[_i].bound, "%s: range [%g, %g] exceeds ±%g",
                      cases[_i].init, lo, hi, cases[_i].bound);
        /* and the draws reach close to both ends */
        ck_assert(lo < -0.999 * cases[_i].bound && hi > 0.999 * cases[_i].bound);
    }
    /* biases: PyTorch's default, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) */
    const float *b = rt_net_buf(f.net, f.p->params[1]);
    for (int i = 0; i < cases[_i].out; i++)
        ck_assert(fabsf(b[i]) <= 1.0f / sqrtf((float)cases[_i].in));
    release(&f);
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
    fixture a, b;
    build(&a, "init normal", 30, 20);
    build(&b, "init normal", 30, 20);
    size_t bytes = comp_plan_param_count(a.p) * sizeof(float);
    ck_assert_int_eq(memcmp(a.net->arena[COMP_ARENA_PARAM], b.net->arena[COMP_ARENA_PARAM], bytes), 0);
    rt_net_init_params(b.net, 8);
    ck_assert_int_ne(memcmp(a.net->arena[COMP_ARENA_PARAM], b.net->arena[COMP_ARENA_PARAM], bytes), 0);
    release(&a);
    release(&b);

    comp_plan *p =
        tu_compile_text("model t { input 4 layers Linear(4, 3, init=ones) -> Linear(3, 2) init zeros loss MSE optimizer SGD }");
    rt_net *net = rt_net_new(p, 1);
    rt_net_init_params(net, 1);
    const float *w0 = rt_net_buf(net, p->params[0]), *w1 = rt_net_buf(net, p->params[2]);
    for (int i = 0; i < 12; i++)
        ck_assert_float_eq(w0[i], 1.0f);
    for (int i = 0; i < 6; i++)
        ck_assert_float_eq(w1[i], 0.0f);
    rt_net_free(net);
    tu_destroy(p);
}
END_TEST

START_TEST(test_calculate_gain)
{
    ck_assert_double_eq(rt_calculate_gain("linear", 0), 1.0);
    ck_assert_double_eq(rt_calculate_gain("sigmoid", 0), 1.0);
    ck_assert_double_eq_tol(rt_calculate_gain("tanh", 0), 5.0 / 3.0, 1e-15);
    ck_assert_double_eq_tol(rt_calculate_gain("relu", 0), sqrt(2.0), 1e-15);
    ck_assert_double_eq_tol(rt_calculate_gain("leaky_relu", 0.01), sqrt(2.0 / 1.0001), 1e-15);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("init");
    TCase *tc = tcase_create("init");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_weight_statistics, 0, (int)(sizeof cases / sizeof *cases));
    tcase_add_test(tc, test_constants);
    tcase_add_test(tc, test_determinism_and_override);
    tcase_add_test(tc, test_calculate_gain);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
