/* dist.h — data-parallel training across processes: the interface the
 * training loop calls.  The runtime knows no transport: a program that
 * runs under MPI (the netc executable, runtime/dist_mpi.c) installs one
 * with rt_dist_set; without it every process is alone and each call is a
 * no-op, so libnetc.a needs no MPI library. */
#ifndef NETC_RUNTIME_DIST_H
#define NETC_RUNTIME_DIST_H

#include <stddef.h>
#include <stdint.h>

#include "net.h"

typedef struct {
    int rank, size; /* this process, of size processes */
    /* Replace v[0..n) on every process by the sum over processes, added in
     * an order fixed by the process count, so the same process count gives
     * the same bits run after run, on every process. */
    void (*sum_floats)(float *v, size_t n);
    void (*sum_doubles)(double *v, size_t n);
    /* Start summing v[0..n) as sum_floats does and return at once, so
     * that the sum runs while the backward pass goes on; v is not to be
     * touched until wait returns.  Sums run in the order they are asked
     * for, the synchronous ones too.  NULL: the transport only sums
     * synchronously. */
    void (*start_sum_floats)(float *v, size_t n);
    void (*wait)(void); /* until every started sum is done */
    uint64_t bytes_sent; /* by this process in the sums so far */
} rt_dist_ops;

/* Install the transport (NULL: one process again).  ops must outlive
 * every call below; its bytes_sent is updated by its sums. */
void rt_dist_set(rt_dist_ops *ops);

/* This process's rank and the process count (0 and 1 without a transport). */
int rt_dist_rank(void);
int rt_dist_size(void);

/* Bytes this process has sent in sums (0 without a transport). */
uint64_t rt_dist_bytes_sent(void);

/* The samples [*lo, *hi) of a global batch of count samples that this
 * process computes: contiguous shards in rank order, sizes differing by
 * at most one, so the shards together are the batch in its order. */
void rt_dist_shard(int count, int *lo, int *hi);

/* The training step under way, split across processes: this process
 * computes samples [lo, hi) of a global batch of count.  The training loop
 * brackets each step's forward and backward with rt_dist_begin_step and
 * rt_dist_end_step; outside them (eval, predict) and with one process no
 * step is split.  sum_loss: the loss sums over samples rather than
 * averaging them. */
void rt_dist_begin_step(int lo, int hi, int count, int sum_loss);
void rt_dist_end_step(void);

/* Whether a split step is under way; if so its shard [*lo, *hi) of *count
 * and the factor that makes this process's gradients (those of its
 * shard's mean loss) its part of the global batch's: shard/count for a
 * mean loss, 1 for a summed one, 0 for an empty shard.  Ops whose forward
 * or backward needs statistics of the global batch (BatchNorm) sum their
 * partial sums, each weighted by this factor, with rt_dist_sum_doubles. */
int rt_dist_step(int *lo, int *hi, int *count, double *weight);

/* Replace v[0..n) on every process by its sum over the processes, in rank
 * order.  Every process must call it at the same point of the step. */
void rt_dist_sum_doubles(double *v, size_t n);

/* A scratch array of at least n doubles for those sums, grown only when a
 * larger one is asked for (so not in the steady state); it exits with a
 * message when memory runs out. */
double *rt_dist_scratch(size_t n);

/* Called by the backward pass of a split step after its op i: the
 * gradients no later op writes (a suffix of the gradient arena, for a
 * chain) are weighted (rt_dist_step) and, once they fill a bucket, their
 * sum is started, as torch's DDP reduces buckets while the layers below
 * are still computing.  Bucket bounds depend on the plan alone, so every
 * process cuts alike. */
void rt_dist_backward_op(rt_net *net, int i);

/* Sum the parameter gradients of net over the processes after each ran
 * backward on its shard of shard samples out of a global batch of count:
 * a mean loss's gradient is scaled by shard/count first, so the sum is the
 * gradient of the global batch's mean; a summed loss adds as it is.  A
 * process whose shard is empty (shard == 0) contributes zeros.  Starts
 * what the buckets left and waits for every sum.  One process: nothing to
 * do. */
void rt_dist_reduce_grads(rt_net *net, int shard, int count);

/* The sum of v over the processes (as sum_doubles), v itself for one. */
double rt_dist_sum(double v);

#endif
