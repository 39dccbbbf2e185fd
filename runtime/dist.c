/* dist.c — the training loop's side of data-parallel training: shards of
 * a global batch and the gradient sum, over whatever transport is set. */
#include "dist.h"

#include <string.h>

static rt_dist_ops *dist; /* NULL: one process */

void rt_dist_set(rt_dist_ops *ops)
{
    dist = ops && ops->size > 1 ? ops : NULL;
}

int rt_dist_rank(void)
{
    return dist ? dist->rank : 0;
}

int rt_dist_size(void)
{
    return dist ? dist->size : 1;
}

uint64_t rt_dist_bytes_sent(void)
{
    return dist ? dist->bytes_sent : 0;
}

void rt_dist_shard(int count, int *lo, int *hi)
{
    const long n = rt_dist_size(), r = rt_dist_rank();
    *lo = (int)((long)count * r / n);
    *hi = (int)((long)count * (r + 1) / n);
}

void rt_dist_reduce_grads(rt_net *net, int shard, int count)
{
    if (!dist)
        return;
    const comp_plan *p = net->plan;
    float *g = net->arena[COMP_ARENA_GRAD];
    const size_t n = p->arena_size[COMP_ARENA_GRAD];
    const comp_op *lop = &p->ops[p->nfwd];
    if (shard == 0)
        memset(g, 0, n * sizeof *g);
    else if (!(lop->flags & COMP_OPF_SUM) && shard != count) {
        /* the shard's mean-loss gradient, as its part of the batch's mean */
        const float w = (float)shard / (float)count;
        for (size_t i = 0; i < n; i++)
            g[i] *= w;
    }
    dist->sum_floats(g, n);
}

double rt_dist_sum(double v)
{
    if (dist)
        dist->sum_doubles(&v, 1);
    return v;
}
