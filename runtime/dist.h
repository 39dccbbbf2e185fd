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
     * rank order (0 + 1 + 2 ...), so the same process count gives the same
     * bits run after run. */
    void (*sum_floats)(float *v, size_t n);
    void (*sum_doubles)(double *v, size_t n);
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

/* Sum the parameter gradients of net over the processes after each ran
 * backward on its shard of shard samples out of a global batch of count:
 * a mean loss's gradient is scaled by shard/count first, so the sum is the
 * gradient of the global batch's mean; a summed loss adds as it is.  A
 * process whose shard is empty (shard == 0) contributes zeros.  One
 * process: nothing to do. */
void rt_dist_reduce_grads(rt_net *net, int shard, int count);

/* The sum of v over the processes (rank order), v itself for one. */
double rt_dist_sum(double v);

#endif
