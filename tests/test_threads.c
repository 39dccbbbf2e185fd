/* test_threads.c — the runtime's worker threads (runtime/pool.c) and the
 * promise built on them: training, eval and predict give the same bits
 * whatever --threads is, because work is split into fixed column blocks,
 * elementwise ranges and whole passes, never reduced across threads. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "runtime/pool.h"
#include "runtime/kernels.h"
#include "runtime/data.h"
#include "runtime/net.h"
#include "runtime/train.h"

/* Every index of [0, n) in exactly one part; inner boundaries aligned. */
START_TEST(test_range_partitions)
{
    static const size_t ns[] = {0, 1, 15, 16, 17, 100, 256, 784, 269322};
    static const size_t aligns[] = {1, 16};
    for (size_t a = 0; a < 2; a++)
        for (size_t t = 0; t < sizeof ns / sizeof *ns; t++)
            for (int nparts = 1; nparts <= 5; nparts++) {
                size_t expect = 0;
                for (int part = 0; part < nparts; part++) {
                    size_t lo, hi;
                    rt_pool_range(ns[t], aligns[a], part, nparts, &lo, &hi);
                    ck_assert_msg(lo == expect && lo <= hi, "n=%zu parts=%d part %d: [%zu, %zu) after %zu", ns[t],
                                  nparts, part, lo, hi, expect);
                    ck_assert_msg(hi == ns[t] || hi % aligns[a] == 0, "n=%zu: boundary %zu not aligned", ns[t], hi);
                    expect = hi;
                }
                ck_assert_msg(expect == ns[t], "n=%zu parts=%d: covered %zu", ns[t], nparts, expect);
            }
}
END_TEST

#include <stdatomic.h>

static atomic_int hits[40];

static void count_task(void *ctx, int task)
{
    (void)ctx;
    atomic_fetch_add(&hits[task], 1);
}

/* Every task runs exactly once per job, job after job (the workers'
 * spin-then-sleep hand-over included: 2000 jobs of varying size). */
START_TEST(test_run_every_task_once)
{
    for (int threads = 1; threads <= 3; threads++) {
        ck_assert_int_eq(rt_pool_set_threads(threads), threads);
        for (int t = 0; t < 40; t++)
            atomic_store(&hits[t], 0);
        long expect[40] = {0};
        for (int job = 0; job < 2000; job++) {
            const int ntasks = job % 37;
            rt_pool_run(count_task, NULL, ntasks);
            for (int t = 0; t < ntasks; t++)
                expect[t]++;
        }
        for (int t = 0; t < 40; t++)
            ck_assert_msg(atomic_load(&hits[t]) == expect[t], "%d threads, task %d: ran %d times, not %ld", threads,
                          t, atomic_load(&hits[t]), expect[t]);
    }
    rt_pool_set_threads(1);
}
END_TEST

/* Widths that are not multiples of the 16-float blocks, layers large
 * enough to be split (runtime/linear.c's threshold), and Adam over the
 * whole arena. */
static const char *SPEC = "model threads {\n"
                          "    input 200\n"
                          "    layers Linear(200, 184) -> Tanh -> Linear(184, 120) -> ReLU -> Linear(120, 7)\n"
                          "    loss CrossEntropy\n"
                          "    optimizer Adam(lr=0.01)\n"
                          "    train epochs=1 batch=64\n"
                          "}\n";

/* A CNN with every kind of spatial op that trains: convolutions (one
 * strided and grouped, one depthwise), batch norm, pools and channel
 * dropout; its running statistics must come out the same too. */
static const char *CNN_SPEC = "model cnn_threads {\n"
                              "    input (3, 20, 20)\n"
                              "    layers Conv2d(3, 12, 3, padding=1) -> BatchNorm2d(12) -> ReLU -> MaxPool2d(2)\n"
                              "        -> Conv2d(12, 12, 3, padding=\"same\", groups=12) -> Tanh -> Dropout2d(0.2)\n"
                              "        -> Conv2d(12, 8, 3, stride=2, groups=4) -> AvgPool2d(2, ceil_mode=true)\n"
                              "        -> Flatten -> Linear(32, 7)\n"
                              "    loss CrossEntropy\n"
                              "    optimizer Adam(lr=0.01)\n"
                              "    train epochs=1 batch=64\n"
                              "}\n";

/* The parameters, then the model state, after some steps (the caller
 * frees them). */
static float *train_steps(comp_plan *p, int threads, const rt_dataset *eval_between)
{
    enum { BATCH = 64, STEPS = 12 };
    rt_pool_set_threads(threads);
    rt_net *net = rt_net_new(p, BATCH);
    ck_assert_ptr_nonnull(net);
    rt_net_init_params(net, 21);
    uint64_t rng = rt_rng_seed(4, 0);
    for (int s = 0; s < STEPS; s++) {
        if (eval_between) { /* its passes' nets borrow the training net's batch arena */
            rt_eval_result r;
            rt_evaluate(net, eval_between, 0, &r);
        }
        rt_net_set_batch(net, BATCH, 1);
        float *x = rt_net_buf(net, p->input), *t = rt_net_buf(net, p->target);
        for (size_t i = 0; i < (size_t)BATCH * p->bufs[p->input].size; i++)
            x[i] = (float)rt_rng_normal(&rng);
        for (int i = 0; i < BATCH; i++)
            t[i] = (float)(rt_rng_next(&rng) % 7);
        rt_net_forward(net);
        rt_net_backward(net);
        rt_net_update(net);
    }
    const size_t np = comp_plan_param_count(p), ns = p->arena_size[COMP_ARENA_MODEL];
    float *params = malloc((np + ns) * sizeof *params);
    ck_assert_ptr_nonnull(params);
    memcpy(params, net->arena[COMP_ARENA_PARAM], np * sizeof *params);
    memcpy(params + np, net->arena[COMP_ARENA_MODEL], ns * sizeof *params);
    rt_net_free(net);
    return params;
}

/* n samples of random bytes and labels below 7 for p's input (the
 * caller frees x8 and labels). */
static rt_dataset random_data(const comp_plan *p, size_t n, uint64_t seed)
{
    const size_t dim = p->bufs[p->input].size;
    rt_dataset ds = {.n = n, .dim = dim, .x8 = malloc(n * dim), .labels = malloc(n * sizeof(int32_t))};
    ck_assert(ds.x8 && ds.labels);
    uint64_t rng = rt_rng_seed(seed, 0);
    for (size_t i = 0; i < n * dim; i++)
        ds.x8[i] = (uint8_t)(rt_rng_next(&rng) >> 56);
    for (size_t i = 0; i < n; i++)
        ds.labels[i] = (int32_t)(rt_rng_next(&rng) % 7);
    return ds;
}

static void check_training_bits(const char *spec)
{
    comp_plan *p = tu_compile_text(spec);
    ck_assert_ptr_nonnull(p);
    const size_t np = comp_plan_param_count(p) + p->arena_size[COMP_ARENA_MODEL];
    float *one = train_steps(p, 1, NULL);
    for (int threads = 2; threads <= 3; threads++) {
        float *many = train_steps(p, threads, NULL);
        ck_assert_msg(memcmp(one, many, np * sizeof *one) == 0,
                      "%s, %d threads: parameters or running statistics differ from 1 thread", p->info.name, threads);
        free(many);
    }
    /* Evaluating between the steps changes nothing of the training,
     * though the eval nets run in the training net's batch arena. */
    rt_dataset ds = random_data(p, 150, 6);
    for (int threads = 1; threads <= 2; threads++) {
        float *evals = train_steps(p, threads, &ds);
        ck_assert_msg(memcmp(one, evals, np * sizeof *one) == 0,
                      "%s, %d threads: evaluating between the steps changed the training", p->info.name, threads);
        free(evals);
    }
    free(ds.x8);
    free(ds.labels);
    /* The run did train: parameters moved from their initial values. */
    rt_pool_set_threads(1);
    rt_net *net = rt_net_new(p, 64);
    rt_net_init_params(net, 21);
    ck_assert(memcmp(one, net->arena[COMP_ARENA_PARAM], comp_plan_param_count(p) * sizeof *one) != 0);
    rt_net_free(net);
    free(one);
    tu_destroy(p);
}

START_TEST(test_training_bits_independent_of_threads)
{
    check_training_bits(SPEC);
}
END_TEST

START_TEST(test_cnn_training_bits_independent_of_threads)
{
    check_training_bits(CNN_SPEC);
}
END_TEST

/* The inputs of a batch, converted by the pool's threads in fixed tasks
 * (runtime/data.c): every float is byte / 255.0f, for an index list and
 * for a run of adjacent samples, whatever the thread count.  Sizes that
 * leave partial tasks: 300 samples of 785 bytes (tasks of 32 rows, and of
 * 65,536 values, neither dividing). */
START_TEST(test_gather_independent_of_threads)
{
    enum { N = 300, DIM = 785 };
    uint8_t *bytes = malloc((size_t)N * DIM);
    float *x = malloc((size_t)N * DIM * sizeof *x);
    uint32_t idx[N];
    ck_assert(bytes && x);
    uint64_t rng = rt_rng_seed(9, 0);
    for (size_t i = 0; i < (size_t)N * DIM; i++)
        bytes[i] = (uint8_t)(rt_rng_next(&rng) >> 56);
    for (int i = 0; i < N; i++)
        idx[i] = (uint32_t)((i * 7919) % N); /* 7919 is prime: a permutation */
    rt_dataset ds = {.n = N, .dim = DIM, .x8 = bytes};
    for (int threads = 1; threads <= 3; threads++) {
        rt_pool_set_threads(threads);
        for (int run = 0; run < 2; run++) {
            memset(x, 0xff, (size_t)N * DIM * sizeof *x); /* NaNs: a value left unwritten fails */
            if (run)
                rt_data_gather_run(&ds, 0, N, x, NULL, 0);
            else
                rt_data_gather(&ds, idx, N, x, NULL, 0);
            for (size_t i = 0; i < N; i++)
                for (size_t k = 0; k < DIM; k++) {
                    const float want = (float)bytes[(run ? i : idx[i]) * DIM + k] / 255.0f;
                    ck_assert_msg(memcmp(&x[i * DIM + k], &want, sizeof want) == 0,
                                  "%d threads, %s: sample %zu value %zu is %a, not %a", threads,
                                  run ? "run" : "index list", i, k, (double)x[i * DIM + k], (double)want);
                }
        }
    }
    rt_pool_set_threads(1);
    free(bytes);
    free(x);
}
END_TEST

/* Eval and predict share their passes among the threads, a pass per
 * thread and net (runtime/train.c): the rows come out in data-set order
 * and with the same bits at every thread count, the same as one pass
 * after the other by hand; the loss and accuracy too, for a training
 * net (whose passes' nets borrow its batch arena) and for a net made for
 * inference, on an MLP and a CNN.  300 samples in passes of 64: four full
 * passes and a short one, so windows of 2 and 3 passes end part-empty. */
static void check_inference(const char *spec)
{
    enum { N = 300, PASS = 64 };
    comp_plan *p = tu_compile_text(spec);
    ck_assert_ptr_nonnull(p);
    const size_t width = p->bufs[p->output].size;
    rt_dataset ds = random_data(p, N, 5);

    /* The reference: the passes by hand on one thread. */
    rt_pool_set_threads(1);
    rt_net *net = rt_net_new(p, PASS);
    ck_assert_ptr_nonnull(net);
    rt_net_init_params(net, 21);
    char *want = NULL;
    size_t want_len = 0;
    FILE *f = open_memstream(&want, &want_len);
    for (size_t start = 0; start < N; start += PASS) {
        const int count = N - start < PASS ? (int)(N - start) : PASS;
        rt_net_set_batch(net, count, 0);
        rt_data_gather_run(&ds, start, (size_t)count, rt_net_buf(net, p->input), NULL, 0);
        rt_net_infer(net);
        const float *y = rt_net_buf(net, p->output);
        for (int i = 0; i < count; i++)
            for (size_t j = 0; j < width; j++)
                fprintf(f, "%s%.9g%s", j ? "," : "", (double)y[i * width + j], j + 1 < width ? "" : "\n");
    }
    fclose(f);

    /* The training net (its passes' nets in its batch arena) and a net
     * made for inference (the eval layout, its passes' nets beside it). */
    rt_net *infer = rt_net_new_inference(p, PASS);
    ck_assert_ptr_nonnull(infer);
    ck_assert_int_gt(rt_net_lendable(net), 0);
    ck_assert_int_eq(rt_net_lendable(infer), 0);
    memcpy(infer->arena[COMP_ARENA_PARAM], net->arena[COMP_ARENA_PARAM],
           p->arena_size[COMP_ARENA_PARAM] * sizeof(float));
    memcpy(infer->arena[COMP_ARENA_MODEL], net->arena[COMP_ARENA_MODEL],
           p->arena_size[COMP_ARENA_MODEL] * sizeof(float));
    rt_eval_result first = {0};
    for (int k = 0; k < 2; k++)
        for (int threads = 1; threads <= 3; threads++) {
            rt_net *n = k ? infer : net;
            rt_pool_set_threads(threads);
            char *got = NULL;
            size_t got_len = 0;
            f = open_memstream(&got, &got_len);
            rt_predict(n, &ds, f);
            fclose(f);
            ck_assert_msg(got_len == want_len && memcmp(got, want, want_len) == 0,
                          "%s, %s net, %d threads: predict's rows differ from the passes run by hand", p->info.name,
                          k ? "inference" : "training", threads);
            free(got);
            rt_eval_result r;
            rt_evaluate(n, &ds, 0, &r);
            ck_assert_int_eq(r.n, N);
            if (threads == 1 && k == 0)
                first = r;
            ck_assert_msg(memcmp(&r.loss, &first.loss, sizeof r.loss) == 0 && r.correct == first.correct,
                          "%s, %s net, %d threads: eval gives loss %a, %zu correct; 1 thread %a, %zu", p->info.name,
                          k ? "inference" : "training", threads, r.loss, r.correct, first.loss, first.correct);
        }
    ck_assert(first.loss > 0 && first.correct > 0);
    rt_pool_set_threads(1);
    rt_net_free(infer);
    rt_net_free(net);
    free(want);
    free(ds.x8);
    free(ds.labels);
    tu_destroy(p);
}

START_TEST(test_inference_independent_of_threads)
{
    check_inference(SPEC);
    check_inference(CNN_SPEC);
}
END_TEST

static Suite *threads_suite(void)
{
    Suite *s = suite_create("threads");
    TCase *tc = tcase_create("pool");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_range_partitions);
    tcase_add_test(tc, test_run_every_task_once);
    tcase_add_test(tc, test_training_bits_independent_of_threads);
    tcase_add_test(tc, test_cnn_training_bits_independent_of_threads);
    tcase_add_test(tc, test_gather_independent_of_threads);
    tcase_add_test(tc, test_inference_independent_of_threads);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(threads_suite());
}
