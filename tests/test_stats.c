/* test_stats.c — `netc train --stats`: the per-layer statistics of a tiny
 * net with hand-set weights against a double-precision forward and
 * backward written out in the test, and the ReLU-family property. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "runtime/stats.h"
#include "runtime/train.h"

START_TEST(test_relu_family)
{
    ck_assert_int_eq(rt_act_zero_for_negative(COMP_ACT_RELU, 0, 0), 1);
    ck_assert_int_eq(rt_act_zero_for_negative(COMP_ACT_LEAKY_RELU, 0.0f, 0), 1);
    ck_assert_int_eq(rt_act_zero_for_negative(COMP_ACT_LEAKY_RELU, 0.01f, 0), 0);
    ck_assert_int_eq(rt_act_zero_for_negative(COMP_ACT_SIGMOID, 0, 0), 0);
    ck_assert_int_eq(rt_act_zero_for_negative(COMP_ACT_TANH, 0, 0), 0);
    ck_assert_int_eq(rt_act_zero_for_negative(COMP_ACT_IDENTITY, 0, 0), 0);
}
END_TEST

/* 2 -> 3 (ReLU) -> 2 (Sigmoid), MSE.  lr is so small that no weight moves
 * in float (every weight and bias is far from 0), so each batch sees the
 * hand-set weights below. */
static const char *TINY = "model tiny {\n"
                          "    input 2\n"
                          "    layers Linear(2, 3) -> ReLU -> Linear(3, 2) -> Sigmoid\n"
                          "    loss MSE\n"
                          "    optimizer SGD(lr=1e-30)\n"
                          "    train epochs=1 batch=2\n"
                          "}\n";

/* Unit 0 is alive for some samples, unit 1 never (bias -10), unit 2 only
 * for the last sample (x0 > 0.5). */
static const double W1[3][2] = {{1.0, 1.0}, {-1.0, -1.0}, {1.0, 0.25}};
static const double B1[3] = {0.125, -10.0, -0.5};
static const double W2[2][3] = {{0.5, -0.75, 1.5}, {-1.25, 0.5, 0.375}};
static const double B2[2] = {0.25, -0.5};
static const double X[4][2] = {{0.2, 0.1}, {-0.3, 0.4}, {-0.1, -0.2}, {0.9, 0.3}};
static const double T[4][2] = {{1.0, 0.0}, {0.0, 1.0}, {0.5, 0.5}, {1.0, 1.0}};

/* The statistics of the 4 samples in batches of 2, in double. */
static void reference(double grad_norm[2], double mean_abs_relu[1], double mean_abs_sig[1], double *dead)
{
    double gsum[2] = {0, 0}, abs_h = 0, abs_y = 0;
    int alive[3] = {0, 0, 0};
    for (int b0 = 0; b0 < 4; b0 += 2) {
        double dW1[3][2] = {{0}}, dW2[2][3] = {{0}};
        for (int s = b0; s < b0 + 2; s++) {
            double z1[3], h[3], y[2], dz2[2];
            for (int u = 0; u < 3; u++) {
                z1[u] = W1[u][0] * X[s][0] + W1[u][1] * X[s][1] + B1[u];
                h[u] = z1[u] > 0 ? z1[u] : 0;
                abs_h += fabs(h[u]);
                alive[u] |= h[u] != 0;
            }
            for (int o = 0; o < 2; o++) {
                double z2 = B2[o];
                for (int u = 0; u < 3; u++)
                    z2 += W2[o][u] * h[u];
                y[o] = 1.0 / (1.0 + exp(-z2));
                abs_y += fabs(y[o]);
                double dy = 2.0 * (y[o] - T[s][o]) / 4.0; /* mean over 2 samples x 2 outputs */
                dz2[o] = dy * y[o] * (1.0 - y[o]);
                for (int u = 0; u < 3; u++)
                    dW2[o][u] += dz2[o] * h[u];
            }
            for (int u = 0; u < 3; u++) {
                double dh = W2[0][u] * dz2[0] + W2[1][u] * dz2[1];
                double dz1 = z1[u] > 0 ? dh : 0;
                dW1[u][0] += dz1 * X[s][0];
                dW1[u][1] += dz1 * X[s][1];
            }
        }
        double n1 = 0, n2 = 0;
        for (int u = 0; u < 3; u++)
            n1 += dW1[u][0] * dW1[u][0] + dW1[u][1] * dW1[u][1];
        for (int o = 0; o < 2; o++)
            for (int u = 0; u < 3; u++)
                n2 += dW2[o][u] * dW2[o][u];
        gsum[0] += sqrt(n1);
        gsum[1] += sqrt(n2);
    }
    grad_norm[0] = gsum[0] / 2;
    grad_norm[1] = gsum[1] / 2;
    mean_abs_relu[0] = abs_h / (4 * 3);
    mean_abs_sig[0] = abs_y / (4 * 2);
    *dead = (double)(!alive[0] + !alive[1] + !alive[2]) / 3.0;
}

static void set_weights(rt_net *net, const comp_plan *p)
{
    float *w1 = rt_net_buf(net, p->params[0]), *b1 = rt_net_buf(net, p->params[1]);
    float *w2 = rt_net_buf(net, p->params[2]), *b2 = rt_net_buf(net, p->params[3]);
    for (int u = 0; u < 3; u++) {
        w1[u * 2] = (float)W1[u][0];
        w1[u * 2 + 1] = (float)W1[u][1];
        b1[u] = (float)B1[u];
    }
    for (int o = 0; o < 2; o++) {
        for (int u = 0; u < 3; u++)
            w2[o * 3 + u] = (float)W2[o][u];
        b2[o] = (float)B2[o];
    }
}

static void assert_close(double got, double want, const char *what)
{
    ck_assert_msg(fabs(got - want) <= 1e-5 * fabs(want) + 1e-7, "%s: got %.9g, want %.9g", what, got, want);
}

START_TEST(test_stats_tiny)
{
    comp_plan *p = tu_compile_text(TINY);
    ck_assert_int_eq(p->nparams, 4);
    rt_net *net = rt_net_new(p, 2);
    ck_assert_ptr_nonnull(net);
    set_weights(net, p);
    float xf[8], tf[8];
    for (int s = 0; s < 4; s++)
        for (int j = 0; j < 2; j++) {
            xf[s * 2 + j] = (float)X[s][j];
            tf[s * 2 + j] = (float)T[s][j];
        }
    rt_dataset ds = {.n = 4, .dim = 2, .xf = xf, .targets = tf, .ntarget = 2};
    rt_stats *st = rt_stats_new(p);
    ck_assert_ptr_nonnull(st);
    double costs[1] = {-1};
    rt_train_opts o = {.epochs = 1, .seed = 1, .stats = st, .costs = costs};
    ck_assert_int_eq(rt_train(net, &ds, &o), 0);
    ck_assert(costs[0] > 0);

    double gn[2], relu_abs, sig_abs, dead;
    reference(gn, &relu_abs, &sig_abs, &dead);
    ck_assert(dead > 0.3 && dead < 0.34); /* the test's weights make exactly one of 3 units dead */
    rt_layer_stats r;
    /* 0 Linear, fused with the ReLU: weights, no output of its own */
    rt_stats_get(st, 0, &r);
    ck_assert(r.has_grad && !r.has_act && !r.has_dead);
    assert_close(r.grad_norm, gn[0], "layer 0 grad_norm");
    /* 1 ReLU: output and dead units, no weights */
    rt_stats_get(st, 1, &r);
    ck_assert(!r.has_grad && r.has_act && r.has_dead);
    assert_close(r.mean_abs, relu_abs, "layer 1 mean|act|");
    assert_close(r.dead, dead, "layer 1 dead");
    /* 2 Linear, fused with the Sigmoid */
    rt_stats_get(st, 2, &r);
    ck_assert(r.has_grad && !r.has_act && !r.has_dead);
    assert_close(r.grad_norm, gn[1], "layer 2 grad_norm");
    /* 3 Sigmoid: not of the ReLU family */
    rt_stats_get(st, 3, &r);
    ck_assert(!r.has_grad && r.has_act && !r.has_dead);
    assert_close(r.mean_abs, sig_abs, "layer 3 mean|act|");

    /* the weights did not move, so the premise of the reference holds */
    ck_assert(rt_net_buf(net, p->params[1])[0] == (float)B1[0]);
    /* closing an epoch clears the accumulators: an empty epoch has nothing */
    rt_stats_end_epoch(st, NULL);
    rt_stats_get(st, 0, &r);
    ck_assert(!r.has_grad);
    rt_stats_get(st, 1, &r);
    ck_assert(!r.has_act && !r.has_dead);

    rt_stats_free(st);
    rt_net_free(net);
    tu_destroy(p);
}
END_TEST

/* A view (Flatten) reports its input's buffer; a standalone Linear its own
 * output; LeakyReLU(negative_slope=0) counts dead units, LeakyReLU() not. */
START_TEST(test_layer_outputs)
{
    comp_plan *p = tu_compile_text("model m {\n"
                                   "    input 4\n"
                                   "    layers Linear(4, 3) -> LeakyReLU(negative_slope=0) -> Flatten\n"
                                   "        -> Linear(3, 3) -> Dropout(p=0.5) -> LeakyReLU -> Linear(3, 2)\n"
                                   "    loss CrossEntropy\n"
                                   "    optimizer SGD(lr=0.1)\n"
                                   "}\n");
    ck_assert_int_eq(p->layer_out[0], -1);
    ck_assert_int_ge(p->layer_out[1], 0);
    ck_assert_int_eq(p->layer_out[2], p->layer_out[1]);
    ck_assert_int_ge(p->layer_out[3], 0);
    ck_assert_int_ne(p->layer_out[4], p->layer_out[3]);
    ck_assert_int_eq(p->layer_out[6], p->output);
    rt_net *net = rt_net_new(p, 1);
    rt_stats *st = rt_stats_new(p);
    ck_assert_ptr_nonnull(st);
    rt_net_set_batch(net, 1, 1);
    rt_net_forward(net);
    rt_stats_forward(st, net);
    rt_net_backward(net);
    rt_stats_backward(st, net);
    rt_stats_end_epoch(st, NULL);
    int want_dead[7] = {0, 1, 0, 0, 0, 0, 0};
    int want_grad[7] = {1, 0, 0, 1, 0, 0, 1};
    for (int i = 0; i < 7; i++) {
        rt_layer_stats r;
        rt_stats_get(st, i, &r);
        ck_assert_msg(r.has_dead == want_dead[i], "layer %d has_dead %d", i, r.has_dead);
        ck_assert_msg(r.has_grad == want_grad[i], "layer %d has_grad %d", i, r.has_grad);
        ck_assert_msg(r.has_act == (i != 0), "layer %d has_act %d", i, r.has_act);
    }
    rt_stats_free(st);
    rt_net_free(net);
    tu_destroy(p);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("stats");
    TCase *tc = tcase_create("stats");
    tcase_add_test(tc, test_relu_family);
    tcase_add_test(tc, test_stats_tiny);
    tcase_add_test(tc, test_layer_outputs);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
