/* dist.c — the training loop's side of data-parallel training: shards of
 * a global batch and the gradient sum, over whatever transport is set. */
#include "dist.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static rt_dist_ops *dist; /* NULL: one process */
/* The split step under way (count 0: none) and its gradient weight. */
static int step_lo, step_hi, step_count;
static double step_weight;
static double *scratch;
static size_t scratch_n;

/* Gradient buckets: for the plan last seen, ready[i] is where the
 * gradients complete after op i start (the arena's size while none is);
 * sent is where the gradients already started start (SIZE_MAX: no bucket
 * this step). */
static const comp_plan *bucket_plan;
static size_t *ready;
static size_t sent = SIZE_MAX;
/* A bucket's floats: large enough that its messages' latency is small
 * against their bytes, small enough that the first starts early. */
#define BUCKET_FLOATS ((size_t)1 << 18)

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

/* The factor of rt_dist_step: a shard's mean-loss gradient, as its part
 * of the global batch's mean. */
static double shard_weight(int shard, int count, int sum_loss)
{
    if (shard == 0)
        return 0.0;
    return sum_loss || shard == count ? 1.0 : (double)shard / (double)count;
}

void rt_dist_begin_step(int lo, int hi, int count, int sum_loss)
{
    if (!dist)
        return;
    step_lo = lo;
    step_hi = hi;
    step_count = count;
    step_weight = shard_weight(hi - lo, count, sum_loss);
}

void rt_dist_end_step(void)
{
    step_count = 0;
}

int rt_dist_step(int *lo, int *hi, int *count, double *weight)
{
    if (!dist || step_count == 0)
        return 0;
    *lo = step_lo;
    *hi = step_hi;
    *count = step_count;
    *weight = step_weight;
    return 1;
}

void rt_dist_sum_doubles(double *v, size_t n)
{
    if (dist)
        dist->sum_doubles(v, n);
}

double *rt_dist_scratch(size_t n)
{
    if (n > scratch_n) {
        free(scratch);
        if (!(scratch = malloc(n * sizeof *scratch))) {
            fprintf(stderr, "netc: rank %d: out of memory for the batch statistics' sums\n", rt_dist_rank());
            exit(1);
        }
        scratch_n = n;
    }
    return scratch;
}

/* ready[] for p: walking the gradient buffers that backward ops write
 * from the arena's end down, the bound moves past each buffer once its
 * writer has run; a buffer no op writes, or one written before a buffer
 * above it, holds it back (so a plan that is not a chain still sums
 * right, only later). */
static int plan_buckets(const comp_plan *p)
{
    if (bucket_plan == p)
        return 0;
    free(ready);
    bucket_plan = NULL;
    const int first = p->nfwd + p->nloss, nb = p->nbwd;
    int *writer = malloc((size_t)p->nbufs * sizeof *writer);
    int *order = malloc((size_t)p->nbufs * sizeof *order);
    if (!(ready = malloc((size_t)(nb > 0 ? nb : 1) * sizeof *ready)) || !writer || !order) {
        free(writer);
        free(order);
        free(ready);
        ready = NULL;
        return -1;
    }
    int ng = 0;
    for (int b = 0; b < p->nbufs; b++)
        writer[b] = -1;
    for (int i = first; i < first + nb; i++)
        for (int k = 0; k < COMP_OP_MAX_BUFS; k++) {
            comp_role role;
            if (!comp_op_role(p->ops[i].code, k, &role))
                break;
            const int b = p->ops[i].buf[k];
            if (b >= 0 && role.out && p->bufs[b].arena == COMP_ARENA_GRAD && writer[b] < 0) {
                writer[b] = i - first;
                order[ng++] = b;
            }
        }
    /* by offset, highest first (insertion sort: a few dozen buffers) */
    for (int a = 1; a < ng; a++)
        for (int c = a; c > 0 && p->bufs[order[c]].offset > p->bufs[order[c - 1]].offset; c--) {
            const int t = order[c];
            order[c] = order[c - 1];
            order[c - 1] = t;
        }
    const size_t n = p->arena_size[COMP_ARENA_GRAD];
    for (int i = 0; i < nb; i++) {
        size_t bound = n;
        for (int a = 0; a < ng && writer[order[a]] <= i; a++) {
            const comp_buf *b = &p->bufs[order[a]];
            if (b->offset + b->size != bound)
                break; /* a gap no op writes */
            bound = b->offset;
        }
        ready[i] = bound;
    }
    free(writer);
    free(order);
    bucket_plan = p;
    return 0;
}

/* Weights g[lo, hi) by the step's weight and starts its sum. */
static void start_bucket(float *g, size_t lo, size_t hi)
{
    if (step_weight != 1.0) {
        const float wf = (float)step_weight;
        for (size_t i = lo; i < hi; i++)
            g[i] *= wf;
    }
    dist->start_sum_floats(g + lo, hi - lo);
}

void rt_dist_backward_op(rt_net *net, int i)
{
    const comp_plan *p = net->plan;
    if (!dist || !dist->start_sum_floats || step_count == 0 || step_weight == 0.0 || plan_buckets(p) != 0)
        return;
    const size_t n = p->arena_size[COMP_ARENA_GRAD];
    if (sent == SIZE_MAX)
        sent = n;
    const size_t r = ready[i - p->nfwd - p->nloss];
    if (r < sent && sent - r >= BUCKET_FLOATS) {
        start_bucket(net->arena[COMP_ARENA_GRAD], r, sent);
        sent = r;
    }
}

void rt_dist_reduce_grads(rt_net *net, int shard, int count)
{
    if (!dist)
        return;
    const comp_plan *p = net->plan;
    float *g = net->arena[COMP_ARENA_GRAD];
    const size_t n = p->arena_size[COMP_ARENA_GRAD];
    const comp_op *lop = &p->ops[p->nfwd];
    const double w = shard_weight(shard, count, (lop->flags & COMP_OPF_SUM) != 0);
    const size_t left = sent == SIZE_MAX ? n : sent;
    sent = SIZE_MAX;
    if (w == 0.0) {
        memset(g, 0, n * sizeof *g);
        dist->sum_floats(g, n);
        return;
    }
    if (w != 1.0) {
        const float wf = (float)w;
        for (size_t i = 0; i < left; i++)
            g[i] *= wf;
    }
    if (dist->start_sum_floats) {
        if (left > 0)
            dist->start_sum_floats(g, left);
        dist->wait();
    } else {
        dist->sum_floats(g, left);
    }
}

double rt_dist_sum(double v)
{
    if (dist)
        dist->sum_doubles(&v, 1);
    return v;
}
