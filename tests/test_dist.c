/* test_dist.c — the transport-free side of data-parallel training
 * (runtime/dist.c): the shards of a global batch, and the default of one
 * process.  The sums themselves run under mpirun in tests/mpi.sh. */
#include <check.h>
#include <stdlib.h>

#include "testutil.h"
#include "runtime/dist.h"

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

int main(void)
{
    Suite *s = suite_create("dist");
    TCase *tc = tcase_create("dist");
    tcase_add_test(tc, test_shards_cover_the_batch);
    tcase_add_test(tc, test_one_process);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
