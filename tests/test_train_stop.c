/* test_train_stop.c — training that stops on its own: a run stopped by a
 * signal after every single batch, saved and resumed from its checkpoint
 * each time, ends with the bits of a run never stopped; a non-finite
 * parameter or input stops the run at the first batch it spoils, with
 * the tensor or the op that holds the value. */
#include <check.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "runtime/checkpoint.h"
#include "runtime/interrupt.h"
#include "runtime/kernels.h"
#include "runtime/train.h"

/* Everything a resumed run must restore: dropout, BatchNorm's running
 * statistics (model state), Adam's moments, a schedule, clipping, and a
 * last batch of 2 samples (50 = 6 * 8 + 2). */
static const char *SPEC = "model stop {\n"
                          "    input 3\n"
                          "    layers Linear(3, 16) -> BatchNorm1d(16) -> ReLU -> Dropout(p=0.25) -> Linear(16, 2)\n"
                          "    loss CrossEntropy\n"
                          "    optimizer Adam(lr=0.01)\n"
                          "    schedule StepLR(step_size=1, gamma=0.5)\n"
                          "    clip grad_norm(max_norm=1.0)\n"
                          "    train epochs=3 batch=8 shuffle=true seed=9\n"
                          "}\n";
enum { NSAMPLES = 50, BATCH = 8, EPOCHS = 3, BATCHES = (NSAMPLES + BATCH - 1) / BATCH };

/* Every test's plan of SPEC and NSAMPLES samples of the sign of
 * x0 + x1 - x2 (a checked fixture: made afresh for each test). */
static comp_plan *P;
static float X[NSAMPLES * 3];
static int32_t LABELS[NSAMPLES];
static rt_dataset DS;

static void setup(void)
{
    P = tu_compile_text(SPEC);
    uint64_t rng = rt_rng_seed(3, 0);
    for (int i = 0; i < NSAMPLES; i++) {
        for (int j = 0; j < 3; j++)
            X[i * 3 + j] = (float)rt_rng_normal(&rng);
        LABELS[i] = X[i * 3] + X[i * 3 + 1] - X[i * 3 + 2] > 0;
    }
    DS = (rt_dataset){.n = NSAMPLES, .dim = 3, .xf = X, .labels = LABELS};
}

static void teardown(void)
{
    tu_destroy(P);
}

static rt_net *fresh_net(void)
{
    rt_net *net = rt_net_new(P, BATCH);
    ck_assert_ptr_nonnull(net);
    ck_assert_int_eq(rt_net_init_params(net, 9), 0);
    return net;
}

/* Train net, which must stop at a non-finite value in the first batch,
 * found; the stop goes to *stop. */
static void stop_in_first_batch(rt_net *net, int detect, rt_train_stop *stop)
{
    rt_train_opts o = {.epochs = EPOCHS, .shuffle = 1, .seed = 9, .watch = 1, .detect_anomaly = detect, .stop = stop};
    ck_assert_int_eq(rt_train(net, &DS, &o), RT_TRAIN_NONFINITE);
    ck_assert_int_eq(stop->epoch, 1);
    ck_assert_uint_eq(stop->batch, 1);
    ck_assert_uint_eq(stop->batches, BATCHES);
    ck_assert(!isfinite(stop->loss));
    ck_assert_int_eq(stop->located, 1);
    ck_assert(!isfinite(stop->anomaly.value));
    ck_assert_int_eq(net->check_ops, 0);
    ck_assert_int_eq(net->step, 0); /* no update ran on the spoilt batch */
}

/* The arenas a checkpoint holds, compared bit for bit. */
static void assert_same_state(const rt_net *a, const rt_net *b)
{
    static const int arenas[] = {COMP_ARENA_PARAM, COMP_ARENA_STATE, COMP_ARENA_MODEL};
    for (size_t k = 0; k < sizeof arenas / sizeof *arenas; k++) {
        const int ar = arenas[k];
        ck_assert_msg(memcmp(a->arena[ar], b->arena[ar], a->plan->arena_size[ar] * sizeof(float)) == 0,
                      "arena %d differs from the run never stopped", ar);
    }
    ck_assert_int_eq(a->step, b->step);
    ck_assert_int_eq(a->epoch, b->epoch);
    ck_assert(a->dropout_rng == b->dropout_rng);
    ck_assert(a->shuffle_rng == b->shuffle_rng);
    ck_assert(a->sched.lr == b->sched.lr);
}

START_TEST(test_stop_after_every_batch_resumes_exactly)
{
    char dir[256], path[300];
    tu_mkdtemp(dir, sizeof dir, "train-stop");
    snprintf(path, sizeof path, "%s/stop.safetensors", dir);

    rt_net *whole = fresh_net();
    double whole_costs[EPOCHS];
    rt_train_opts o = {.epochs = EPOCHS, .shuffle = 1, .seed = 9, .costs = whole_costs, .watch = 1};
    ck_assert_int_eq(rt_train(whole, &DS, &o), 0);

    /* A signal before each call: every call runs one batch and stops. */
    rt_net *net = fresh_net();
    rt_train_stop stop;
    int stops = 0, mid = 0, rc;
    double costs[EPOCHS] = {0}, cost;
    long done = 0;
    for (;;) {
        const long before = net->epoch;
        rt_train_opts s = {.epochs = (int)(EPOCHS - net->epoch), .shuffle = 1, .seed = 9 /* read by the first call alone */,
                           .costs = &cost, .watch = 1, .interruptible = 1, .stop = &stop};
        rt_interrupt_install();
        rt_interrupt_raise(SIGTERM);
        rc = rt_train(net, &DS, &s);
        rt_interrupt_restore();
        if (net->epoch > before) /* the batch ended an epoch: its cost is in */
            costs[before] = cost;
        if (rc == 0)
            break;
        ck_assert_int_eq(rc, RT_TRAIN_INTERRUPTED);
        ck_assert_int_eq(stop.signo, SIGTERM);
        ck_assert_int_eq(stop.epoch, net->epoch + (net->epoch_samples > 0));
        ck_assert_uint_eq(stop.batches, BATCHES);
        mid += net->epoch_samples > 0;
        stops++;
        char err[512], note[512];
        ck_assert_msg(rt_checkpoint_save(net, path, err, sizeof err) == 0, "%s", err);
        rt_net_free(net);
        net = rt_net_new(P, BATCH);
        ck_assert_ptr_nonnull(net);
        ck_assert_msg(rt_checkpoint_resume(net, path, 0, note, sizeof note, err, sizeof err) == 0, "%s", err);
        ck_assert_str_eq(note, "");
        ck_assert_int_lt(++done, 100);
    }
    /* One stop per batch but the very last, which ends the run. */
    ck_assert_int_eq(stops, EPOCHS * BATCHES - 1);
    ck_assert_int_eq(mid, EPOCHS * (BATCHES - 1));
    assert_same_state(net, whole);
    for (int e = 0; e < EPOCHS; e++)
        ck_assert_msg(costs[e] == whole_costs[e], "epoch %d cost %.17g, never stopped %.17g", e + 1, costs[e],
                      whole_costs[e]);
    rt_net_free(net);
    rt_net_free(whole);
    unlink(path);
    rmdir(dir);
}
END_TEST

START_TEST(test_nonfinite_parameter_stops_before_the_pass)
{
    rt_net *net = fresh_net();
    const int w2 = P->nparams - 2; /* the last Linear's weight */
    net->arena[COMP_ARENA_PARAM][P->bufs[P->params[w2]].offset + 5] = INFINITY;
    rt_train_stop stop;
    stop_in_first_batch(net, 0, &stop);
    ck_assert_int_eq(stop.anomaly.op, -1);
    ck_assert_int_eq(stop.anomaly.param, w2);
    ck_assert_int_eq(stop.anomaly.buf, P->params[w2]);
    ck_assert_uint_eq(stop.anomaly.elem, 5);
    ck_assert(isinf(stop.anomaly.value));
    rt_net_free(net);
}
END_TEST

/* Inputs of 3e38 (finite floats) overflow the forward pass: the search
 * names a forward op whose output holds the value, and --detect-anomaly
 * names the same. */
START_TEST(test_overflowing_input_names_the_first_op)
{
    for (int i = 0; i < NSAMPLES * 3; i++)
        X[i] = 3e38f;
    rt_anomaly found[2];
    for (int detect = 0; detect < 2; detect++) {
        rt_net *net = fresh_net();
        rt_train_stop stop;
        stop_in_first_batch(net, detect, &stop);
        found[detect] = stop.anomaly;
        ck_assert_int_ge(stop.anomaly.op, 0);
        ck_assert_int_lt(stop.anomaly.op, P->nfwd);
        /* the value is where it says */
        ck_assert(!isfinite(rt_net_buf(net, stop.anomaly.buf)[stop.anomaly.elem]));
        rt_net_free(net);
    }
    ck_assert_int_eq(found[0].op, found[1].op);
    ck_assert_int_eq(found[0].buf, found[1].buf);
    ck_assert_uint_eq(found[0].elem, found[1].elem);
}
END_TEST

/* The checks change no bit of a healthy run. */
START_TEST(test_detect_anomaly_changes_nothing)
{
    rt_net *a = fresh_net(), *b = fresh_net();
    rt_train_opts o = {.epochs = EPOCHS, .shuffle = 1, .seed = 9};
    ck_assert_int_eq(rt_train(a, &DS, &o), 0);
    o.watch = o.detect_anomaly = 1;
    ck_assert_int_eq(rt_train(b, &DS, &o), 0);
    assert_same_state(a, b);
    rt_net_free(a);
    rt_net_free(b);
}
END_TEST

static Suite *train_stop_suite(void)
{
    Suite *s = suite_create("train_stop");
    TCase *tc = tcase_create("stop");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_stop_after_every_batch_resumes_exactly);
    tcase_add_test(tc, test_nonfinite_parameter_stops_before_the_pass);
    tcase_add_test(tc, test_overflowing_input_names_the_first_op);
    tcase_add_test(tc, test_detect_anomaly_changes_nothing);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(train_stop_suite());
}
