/* test_dist.c — the transport-free side of data-parallel training
 * (runtime/dist.c): the shards of a global batch, the default of one
 * process, a shard's dropout draws and the gradient buckets.  The sums themselves run under mpirun in tests/mpi.sh. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "runtime/dist.h"
#include "runtime/kernels.h"
#include "runtime/net.h"

/* For every process count and batch size, the shards in rank order are
 * the batch, contiguous, each a floor or ceiling of count/size. */
START_TEST(test_shards_cover_the_batch)
{
    rt_dist_ops ops = {0};
    for (int size = 2; size <= 9; size++)
        for (int count = 0; count <= 130; count++) {
            int next = 0;
            for (int r = 0; r < size; r++) {
                ops.rank = r;
                ops.size = size;
                rt_dist_set(&ops);
                ck_assert_int_eq(rt_dist_size(), size);
                int lo, hi;
                rt_dist_shard(count, &lo, &hi);
                ck_assert_int_eq(lo, next);
                ck_assert_int_ge(hi - lo, count / size);
                ck_assert_int_le(hi - lo, (count + size - 1) / size);
                next = hi;
            }
            ck_assert_int_eq(next, count);
        }
    rt_dist_set(NULL);
}
END_TEST

/* Without a transport (or with one of a single process) this process is
 * rank 0 of 1, owns the whole batch and a sum is the value itself. */
START_TEST(test_one_process)
{
    rt_dist_ops one = {.rank = 0, .size = 1};
    rt_dist_set(&one);
    ck_assert_int_eq(rt_dist_size(), 1);
    ck_assert_int_eq(rt_dist_rank(), 0);
    int lo, hi;
    rt_dist_shard(64, &lo, &hi);
    ck_assert_int_eq(lo, 0);
    ck_assert_int_eq(hi, 64);
    ck_assert(rt_dist_sum(0.1) == 0.1);
    ck_assert(rt_dist_bytes_sent() == 0);
    rt_dist_set(NULL);
}
END_TEST

static void no_sum_floats(float *v, size_t n)
{
    (void)v;
    (void)n;
}

static void no_sum_doubles(double *v, size_t n)
{
    (void)v;
    (void)n;
}

/* A net of every layer that draws from the dropout generator, no layer
 * that mixes samples: a shard's forward pass must give exactly the rows
 * of the whole batch's that it holds (the same masks and slopes) and
 * leave the generator where the whole batch does. */
START_TEST(test_shards_draw_as_one_process)
{
    comp_plan *p = tu_compile_text("model m { input (2, 3) layers Dropout1d(0.3) -> Flatten -> Linear(6, 8) -> "
                                   "RReLU -> Dropout(0.4) -> AlphaDropout(0.2) -> Linear(8, 3) "
                                   "loss MSE optimizer SGD(lr=0.1) train epochs=1 batch=10 }");
    ck_assert_ptr_nonnull(p);
    const int count = 10, dim = 6, width = 3;
    float x[10 * 6];
    uint64_t g = rt_rng_seed(7, 0);
    for (int i = 0; i < count * dim; i++)
        x[i] = (float)rt_rng_uniform(&g) - 0.5f;
    rt_net *whole = rt_net_new(p, count);
    ck_assert_ptr_nonnull(whole);
    rt_net_init_params(whole, 3);
    whole->dropout_rng = rt_rng_seed(5, 1);
    rt_net_set_batch(whole, count, 1);
    memcpy(rt_net_buf(whole, p->input), x, sizeof x);
    memset(rt_net_buf(whole, p->target), 0, (size_t)count * width * sizeof(float));
    rt_net_forward(whole);
    const float *want = rt_net_buf(whole, p->output);

    rt_dist_ops ops = {.size = 3, .sum_floats = no_sum_floats, .sum_doubles = no_sum_doubles};
    for (int r = 0; r < 3; r++) {
        ops.rank = r;
        rt_dist_set(&ops);
        int lo, hi;
        rt_dist_shard(count, &lo, &hi);
        rt_net *part = rt_net_new(p, count);
        ck_assert_ptr_nonnull(part);
        rt_net_init_params(part, 3);
        part->dropout_rng = rt_rng_seed(5, 1);
        rt_net_set_batch(part, hi - lo, 1);
        memcpy(rt_net_buf(part, p->input), x + lo * dim, (size_t)(hi - lo) * dim * sizeof(float));
        memset(rt_net_buf(part, p->target), 0, (size_t)(hi - lo) * width * sizeof(float));
        rt_dist_begin_step(lo, hi, count, 0);
        rt_net_forward(part);
        rt_dist_end_step();
        ck_assert_msg(memcmp(rt_net_buf(part, p->output), want + lo * width,
                             (size_t)(hi - lo) * width * sizeof(float)) == 0,
                      "process %d of 3: samples %d..%d differ from the whole batch's", r, lo, hi);
        ck_assert_msg(part->dropout_rng == whole->dropout_rng, "process %d: generator not where one process's is", r);
        /* A process without samples moves the generator alike. */
        rt_dist_begin_step(0, 0, count, 0);
        part->dropout_rng = rt_rng_seed(5, 1);
        rt_net_idle_step(part);
        rt_dist_end_step();
        ck_assert(part->dropout_rng == whole->dropout_rng);
        rt_net_free(part);
    }
    rt_dist_set(NULL);
    rt_net_free(whole);
    tu_destroy(p);
}
END_TEST

/* The sums a transport was asked to start, as (offset, floats) into the
 * gradient arena. */
static float *fake_arena;
static size_t started[8][2];
static int nstarted, waited;

static void fake_start(float *v, size_t n)
{
    ck_assert_int_lt(nstarted, 8);
    started[nstarted][0] = (size_t)(v - fake_arena);
    started[nstarted][1] = n;
    nstarted++;
}

static void fake_wait(void)
{
    waited++;
}

/* Gradient buckets: the sums started during and after the backward pass
 * cover the gradient arena once, from its end down, each weighted by the
 * shard's share of the global batch (here 5 of 10: 0.5). */
START_TEST(test_buckets_cover_the_gradients)
{
    comp_plan *p = tu_compile_text("model m { input 784 layers Linear(784, 512) -> ReLU -> Linear(512, 512) -> ReLU "
                                   "-> Linear(512, 10) loss CrossEntropy optimizer SGD(lr=0.1) train epochs=1 batch=10 }");
    ck_assert_ptr_nonnull(p);
    const size_t n = p->arena_size[COMP_ARENA_GRAD];
    float x[5 * 784], t[5];
    uint64_t g = rt_rng_seed(9, 0);
    for (size_t i = 0; i < sizeof x / sizeof *x; i++)
        x[i] = (float)rt_rng_uniform(&g);
    for (int i = 0; i < 5; i++)
        t[i] = (float)(i % 10);
    float *want = malloc(n * sizeof *want);
    ck_assert_ptr_nonnull(want);
    for (int split = 0; split <= 1; split++) {
        rt_net *net = rt_net_new(p, 10);
        ck_assert_ptr_nonnull(net);
        rt_net_init_params(net, 4);
        rt_net_set_batch(net, 5, 1);
        memcpy(rt_net_buf(net, p->input), x, sizeof x);
        memcpy(rt_net_buf(net, p->target), t, sizeof t);
        rt_dist_ops ops = {.rank = 0, .size = 2, .sum_floats = no_sum_floats, .sum_doubles = no_sum_doubles,
                           .start_sum_floats = fake_start, .wait = fake_wait};
        if (split) {
            fake_arena = net->arena[COMP_ARENA_GRAD];
            nstarted = waited = 0;
            rt_dist_set(&ops);
            rt_dist_begin_step(0, 5, 10, 0);
        }
        rt_net_forward(net);
        rt_net_backward(net);
        if (!split) {
            memcpy(want, net->arena[COMP_ARENA_GRAD], n * sizeof *want);
            rt_net_free(net);
            continue;
        }
        /* 5,130 + 262,656 floats are final after the second backward op,
         * 401,920 more after the third: each a bucket of at least 2^18,
         * started before the pass ended, and nothing is left for after. */
        ck_assert_int_eq(nstarted, 2);
        ck_assert_uint_eq(started[0][1], 5130 + 262656);
        rt_dist_end_step();
        rt_dist_reduce_grads(net, 5, 10);
        ck_assert_int_eq(nstarted, 2);
        ck_assert_int_eq(waited, 1);
        size_t end = n;
        for (int k = 0; k < nstarted; k++) {
            ck_assert_uint_eq(started[k][0] + started[k][1], end);
            end = started[k][0];
        }
        ck_assert_uint_eq(end, 0);
        const float *got = net->arena[COMP_ARENA_GRAD];
        size_t bad = n;
        for (size_t i = 0; i < n && bad == n; i++)
            if (got[i] != want[i] * 0.5f)
                bad = i;
        ck_assert_msg(bad == n, "gradient %zu: %g, not half of %g", bad, got[bad < n ? bad : 0],
                      want[bad < n ? bad : 0]);
        rt_dist_set(NULL);
        rt_net_free(net);
    }
    free(want);
    tu_destroy(p);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("dist");
    TCase *tc = tcase_create("dist");
    tcase_add_test(tc, test_shards_cover_the_batch);
    tcase_add_test(tc, test_one_process);
    tcase_add_test(tc, test_shards_draw_as_one_process);
    tcase_add_test(tc, test_buckets_cover_the_gradients);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
