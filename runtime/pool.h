/* pool.h — the runtime's worker threads (runtime/pool.c): a fixed set of
 * threads that share the tasks of one job at a time, for the matrix
 * products and elementwise passes of a training step.
 *
 * A job is cut into tasks by its caller, by the data's shape alone, and a
 * task computes the same thing whichever thread runs it; so results do not
 * depend on the thread count or on timing. */
#ifndef NETC_RUNTIME_POOL_H
#define NETC_RUNTIME_POOL_H

#include <stddef.h>

/* One task of a job: task is in [0, ntasks). */
typedef void rt_pool_fn(void *ctx, int task);

enum { RT_POOL_MAX = 64 };

/* Sets how many threads (the caller included) share each job, starting
 * workers as needed; n is clamped to [1, RT_POOL_MAX].  Call only while no
 * job runs.  Returns the count in effect. */
int rt_pool_set_threads(int n);

/* The count set by rt_pool_set_threads (1 before any call). */
int rt_pool_threads(void);

/* Runs fn(ctx, task) once for every task in [0, ntasks), on the calling
 * thread and the workers, each taking the next task not yet taken, and
 * returns when all are done.  A busy machine that keeps the workers off
 * the CPU slows nothing down: the caller then runs the tasks itself.  A
 * task may call rt_pool_run: that job's tasks then run in order on the
 * task's thread. */
void rt_pool_run(rt_pool_fn *fn, void *ctx, int ntasks);

/* One chunk [lo, hi) of a job cut by rt_pool_chunks. */
typedef void rt_pool_chunk_fn(void *ctx, size_t lo, size_t hi);

/* Runs fn over [0, n) in chunks of `chunk` (the last may be shorter), as
 * tasks of rt_pool_run; n <= chunk runs fn(ctx, 0, n) on the calling
 * thread, saving the hand-over.  The cut depends on n and chunk only, so
 * an elementwise fn gives the same results at every thread count. */
void rt_pool_chunks(rt_pool_chunk_fn *fn, void *ctx, size_t n, size_t chunk);

/* Part `part` of [0, n) split into nparts ranges whose inner boundaries
 * are multiples of align (so vector loops and matrix kernels see whole
 * blocks); some trailing parts may be empty. */
void rt_pool_range(size_t n, size_t align, int part, int nparts, size_t *lo, size_t *hi);

#endif
