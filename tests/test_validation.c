/* test_validation.c — the validation split (rt_data_split) and the early
 * stopping rule (rt_early_stop) on crafted loss and accuracy curves. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "runtime/data.h"
#include "runtime/early_stop.h"

/* n samples of dim bytes, sample i's bytes all i and its label i % 7. */
static rt_dataset bytes_set(size_t n, size_t dim)
{
    rt_dataset ds = {.n = n, .dim = dim};
    ds.x8 = malloc(n * dim);
    ds.labels = malloc(n * sizeof *ds.labels);
    ck_assert(ds.x8 && ds.labels);
    for (size_t i = 0; i < n; i++) {
        memset(ds.x8 + i * dim, (int)i, dim);
        ds.labels[i] = (int32_t)(i % 7);
    }
    return ds;
}

/* The sample a row of ds came from (its byte value). */
static int origin(const rt_dataset *ds, size_t row)
{
    return ds->x8[row * ds->dim];
}

START_TEST(split_in_order)
{
    rt_dataset ds = bytes_set(10, 3), val;
    char err[256];
    ck_assert_int_eq(rt_data_split(&ds, 0.3, 0, 1, &val, err, sizeof err), 0);
    /* Keras's cut: floor(10 * 0.7) = 7 samples train, the last 3 validate. */
    ck_assert_uint_eq(ds.n, 7);
    ck_assert_uint_eq(val.n, 3);
    ck_assert_uint_eq(val.dim, 3);
    for (size_t i = 0; i < 7; i++) {
        ck_assert_int_eq(origin(&ds, i), (int)i);
        ck_assert_int_eq(ds.labels[i], (int)(i % 7));
    }
    for (size_t i = 0; i < 3; i++) {
        ck_assert_int_eq(origin(&val, i), (int)(7 + i));
        ck_assert_int_eq(val.x8[i * 3 + 2], (int)(7 + i));
        ck_assert_int_eq(val.labels[i], (int)((7 + i) % 7));
    }
    rt_data_free(&ds);
    rt_data_free(&val);
}
END_TEST

/* Shuffled: every sample lands in exactly one part, with its own label;
 * the same seed holds out the same samples, another seed others. */
START_TEST(split_shuffled)
{
    char err[256];
    int held[3][20];
    for (int run = 0; run < 3; run++) {
        rt_dataset ds = bytes_set(100, 2), val;
        ck_assert_int_eq(rt_data_split(&ds, 0.2, 1, run == 2 ? 8 : 7, &val, err, sizeof err), 0);
        ck_assert_uint_eq(ds.n, 80);
        ck_assert_uint_eq(val.n, 20);
        int seen[100] = {0};
        for (size_t i = 0; i < ds.n; i++) {
            seen[origin(&ds, i)]++;
            ck_assert_int_eq(ds.labels[i], origin(&ds, i) % 7);
        }
        for (size_t i = 0; i < val.n; i++) {
            seen[origin(&val, i)]++;
            ck_assert_int_eq(val.labels[i], origin(&val, i) % 7);
            held[run][i] = origin(&val, i);
        }
        for (int k = 0; k < 100; k++)
            ck_assert_int_eq(seen[k], 1);
        rt_data_free(&ds);
        rt_data_free(&val);
    }
    ck_assert_mem_eq(held[0], held[1], sizeof held[0]);
    ck_assert(memcmp(held[0], held[2], sizeof held[0]) != 0);
    /* not the in-order cut */
    int in_order = 1;
    for (int i = 0; i < 20; i++)
        in_order &= held[0][i] == 80 + i;
    ck_assert(!in_order);
}
END_TEST

START_TEST(split_errors)
{
    char err[256];
    rt_dataset ds = bytes_set(10, 1), val;
    /* 1 - 1e-17 rounds to 1: the cut keeps all 10 */
    ck_assert_int_eq(rt_data_split(&ds, 1e-17, 0, 1, &val, err, sizeof err), -1);
    ck_assert_str_eq(err, "validation=1e-17 of 10 training samples leaves no validation sample");
    ck_assert_int_eq(rt_data_split(&ds, 0.95, 1, 1, &val, err, sizeof err), -1);
    ck_assert_str_eq(err, "validation=0.95 of 10 training samples leaves no sample to train on");
    /* nothing lost: ds as it was, val empty */
    ck_assert_uint_eq(ds.n, 10);
    for (size_t i = 0; i < 10; i++)
        ck_assert_int_eq(origin(&ds, i), (int)i);
    ck_assert_uint_eq(val.n, 0);
    ck_assert_ptr_null(val.x8);
    rt_data_free(&ds);
}
END_TEST

/* Feed a curve to the rule; returns the epoch it stopped at (0: never)
 * and the verdicts in v. */
static long run_curve(rt_early_stop *s, const double *curve, int n, rt_stop_verdict *v)
{
    for (int e = 1; e <= n; e++) {
        v[e - 1] = rt_early_stop_step(s, e, curve[e - 1]);
        if (v[e - 1] == RT_STOP_STOP)
            return e;
    }
    return 0;
}

/* A validation loss that falls, wobbles and rises. */
static const double loss_curve[] = {1.0, 0.8, 0.85, 0.79, 0.795, 0.81, 0.9, 0.95};

START_TEST(stop_loss_curve)
{
    rt_early_stop s;
    rt_stop_verdict v[8];
    /* min_delta 0.02: 0.79 is not better than 0.8 by more than it. */
    rt_early_stop_init(&s, 2, 0.02, 0);
    ck_assert_int_eq(run_curve(&s, loss_curve, 8, v), 4);
    ck_assert_int_eq(v[0], RT_STOP_IMPROVED);
    ck_assert_int_eq(v[1], RT_STOP_IMPROVED);
    ck_assert_int_eq(v[2], RT_STOP_CONTINUE);
    ck_assert_int_eq(s.best_epoch, 2);
    ck_assert(s.best == 0.8);
    ck_assert_int_eq(s.wait, 2);
    /* min_delta 0: 0.79 improves; then 0.795, 0.81 do not: stop at 6. */
    rt_early_stop_init(&s, 2, 0.0, 0);
    ck_assert_int_eq(run_curve(&s, loss_curve, 8, v), 6);
    ck_assert_int_eq(v[3], RT_STOP_IMPROVED);
    ck_assert_int_eq(s.best_epoch, 4);
    /* patience 0 stops at the first epoch that does not improve (Keras). */
    rt_early_stop_init(&s, 0, 0.0, 0);
    ck_assert_int_eq(run_curve(&s, loss_curve, 8, v), 3);
    ck_assert_int_eq(s.best_epoch, 2);
    /* patience longer than the curve's bad stretch: never stops */
    rt_early_stop_init(&s, 5, 0.0, 0);
    ck_assert_int_eq(run_curve(&s, loss_curve, 8, v), 0);
    ck_assert_int_eq(s.best_epoch, 4);
    ck_assert_int_eq(s.wait, 4);
}
END_TEST

START_TEST(stop_accuracy_curve)
{
    static const double acc[] = {0.5, 0.7, 0.7, 0.72, 0.71, 0.69};
    rt_early_stop s;
    rt_stop_verdict v[6];
    /* larger is better; an equal value is no improvement */
    rt_early_stop_init(&s, 1, 0.0, 1);
    ck_assert_int_eq(run_curve(&s, acc, 6, v), 3);
    ck_assert_int_eq(s.best_epoch, 2);
    rt_early_stop_init(&s, 2, 0.0, 1);
    ck_assert_int_eq(run_curve(&s, acc, 6, v), 6);
    ck_assert_int_eq(s.best_epoch, 4);
    ck_assert(s.best == 0.72);
    /* min_delta 0.05: only 0.5 -> 0.7 counts */
    rt_early_stop_init(&s, 3, 0.05, 1);
    ck_assert_int_eq(run_curve(&s, acc, 6, v), 5);
    ck_assert_int_eq(s.best_epoch, 2);
}
END_TEST

START_TEST(stop_nan)
{
    const double curve[] = {0.5, NAN, NAN};
    rt_early_stop s;
    rt_stop_verdict v[3];
    rt_early_stop_init(&s, 1, 0.0, 0);
    ck_assert_int_eq(run_curve(&s, curve, 3, v), 2);
    ck_assert_int_eq(s.best_epoch, 1);
    ck_assert(s.best == 0.5);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("validation");
    TCase *tc = tcase_create("split");
    tcase_add_test(tc, split_in_order);
    tcase_add_test(tc, split_shuffled);
    tcase_add_test(tc, split_errors);
    suite_add_tcase(s, tc);
    tc = tcase_create("early_stop");
    tcase_add_test(tc, stop_loss_curve);
    tcase_add_test(tc, stop_accuracy_curve);
    tcase_add_test(tc, stop_nan);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(suite());
}
