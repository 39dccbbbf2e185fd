/* pool.c — a fixed set of worker threads sharing one job at a time.
 *
 * A training step is a few dozen short jobs back to back (a product of
 * 100 x 784 x 256 takes tens of microseconds), so an idle worker spins on
 * the job counter for a while before it sleeps: waking a sleeping thread
 * costs more than most jobs.  Between jobs of a step it never sleeps; once
 * training is over it does, and costs nothing.
 *
 * Tasks are claimed, not assigned: a worker the kernel keeps off the CPU
 * (the machine is shared) delays nobody, since the caller takes the tasks
 * it has not claimed.  A static split made one late worker stall every
 * job: 2 threads ran 5 times slower than 1 on a loaded machine. */
#include "pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>

/* Spins before an idle worker sleeps: long enough to span the gap between
 * two jobs of a step (a loss, an optimizer's scalar bookkeeping), short
 * enough not to burn a core for long after the last one. */
enum { SPINS = 1 << 15 };

static struct {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    atomic_uint job;           /* incremented once per job */
    _Atomic uint64_t claim;    /* CLAIM(job, ntasks, next task) */
    atomic_int done;           /* tasks of the current job finished */
    atomic_int sleepers;       /* workers in pthread_cond_wait or about to be */
    rt_pool_fn *_Atomic fn;
    void *_Atomic ctx;
    atomic_int nthreads;       /* threads per job, the caller included */
    int nworkers;              /* workers started (they never exit) */
    unsigned first_job[RT_POOL_MAX]; /* job counter when each worker started */
} pool = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER, .nthreads = 1};

/* One round of a wait loop.  After a short pure spin it yields the CPU
 * each round: when the machine has fewer free cores than threads, a
 * spinning thread would otherwise sit on the core the thread it waits for
 * needs (2 threads ran at half the speed of 1 beside another busy
 * process). */
static inline void wait_round(int round)
{
    if (round < 256) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    } else {
        sched_yield();
    }
}

/* The claim word: job number (32 bits), task count (16), next task (16),
 * read and advanced as one, so a thread never pairs one job's number with
 * another's task count. */
#define CLAIM(job, ntasks, next) ((uint64_t)(job) << 32 | (uint64_t)(ntasks) << 16 | (uint64_t)(next))
#define CLAIM_JOB(c) ((unsigned)((c) >> 32))
#define CLAIM_NTASKS(c) ((int)(((c) >> 16) & 0xffff))
#define CLAIM_NEXT(c) ((int)((c) & 0xffff))

/* Set while this thread runs a task: a job started from inside a task
 * (an inference pass per thread, whose layers would cut their products
 * into tasks of their own) runs on this thread alone. */
static _Thread_local int in_task;

/* Claims and runs tasks of job `job` until none is left.  The job number
 * in the claim word keeps a thread that saw an earlier job, and was
 * descheduled before claiming, from taking a task of a later one.  The
 * function and context are read after a successful claim: the caller
 * cannot replace them before this task is done. */
static void run_tasks(unsigned job)
{
    uint64_t c = atomic_load(&pool.claim);
    for (;;) {
        if (CLAIM_JOB(c) != job || CLAIM_NEXT(c) >= CLAIM_NTASKS(c))
            return;
        if (!atomic_compare_exchange_weak(&pool.claim, &c, c + 1))
            continue; /* c now holds the current word */
        in_task = 1;
        atomic_load(&pool.fn)(atomic_load(&pool.ctx), CLAIM_NEXT(c));
        in_task = 0;
        atomic_fetch_add_explicit(&pool.done, 1, memory_order_release);
        c = atomic_load(&pool.claim);
    }
}

/* Worker number `self` (from 1). */
static void *worker(void *arg)
{
    const int self = (int)(size_t)arg;
    /* The counter as its creator saw it: a job published before this
     * thread got going is still one to help with. */
    unsigned seen = pool.first_job[self];
    for (;;) {
        unsigned now;
        int spins = 0;
        while ((now = atomic_load(&pool.job)) == seen && ++spins < SPINS)
            wait_round(spins);
        if (now == seen) {
            /* Sleep.  sleepers goes up before job is read again, and the
             * caller bumps job before it reads sleepers, so one of the two
             * sees the other: no job is missed. */
            pthread_mutex_lock(&pool.lock);
            atomic_fetch_add(&pool.sleepers, 1);
            while ((now = atomic_load(&pool.job)) == seen)
                pthread_cond_wait(&pool.wake, &pool.lock);
            atomic_fetch_sub(&pool.sleepers, 1);
            pthread_mutex_unlock(&pool.lock);
        }
        seen = now;
        /* Only to keep surplus workers idle: a task gives the same result
         * whichever thread runs it. */
        if (self < atomic_load(&pool.nthreads))
            run_tasks(now);
    }
    return NULL;
}

int rt_pool_set_threads(int n)
{
    if (n < 1)
        n = 1;
    if (n > RT_POOL_MAX)
        n = RT_POOL_MAX;
    while (pool.nworkers < n - 1) {
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pool.first_job[pool.nworkers + 1] = atomic_load(&pool.job);
        int failed = pthread_create(&t, &attr, worker, (void *)(size_t)(pool.nworkers + 1));
        pthread_attr_destroy(&attr);
        if (failed) /* run with the threads there are */
            break;
        pool.nworkers++;
    }
    atomic_store(&pool.nthreads, pool.nworkers + 1 < n ? pool.nworkers + 1 : n);
    return atomic_load(&pool.nthreads);
}

int rt_pool_threads(void)
{
    return atomic_load(&pool.nthreads);
}

void rt_pool_run(rt_pool_fn *fn, void *ctx, int ntasks)
{
    if (atomic_load(&pool.nthreads) <= 1 || ntasks <= 1 || ntasks > 0xffff || in_task) {
        for (int t = 0; t < ntasks; t++)
            fn(ctx, t);
        return;
    }
    /* Publish the job: its function, context and claim word first, then
     * the counter the workers watch (seq_cst, so they see all of it). */
    const unsigned job = atomic_load(&pool.job) + 1;
    atomic_store(&pool.fn, fn);
    atomic_store(&pool.ctx, ctx);
    atomic_store(&pool.done, 0);
    atomic_store(&pool.claim, CLAIM(job, ntasks, 0));
    atomic_store(&pool.job, job);
    if (atomic_load(&pool.sleepers) > 0) {
        pthread_mutex_lock(&pool.lock);
        pthread_cond_broadcast(&pool.wake);
        pthread_mutex_unlock(&pool.lock);
    }
    run_tasks(job);
    for (int round = 0; atomic_load_explicit(&pool.done, memory_order_acquire) < ntasks; round++)
        wait_round(round);
}

void rt_pool_range(size_t n, size_t align, int part, int nparts, size_t *lo, size_t *hi)
{
    if (align == 0)
        align = 1;
    const size_t blocks = (n + align - 1) / align;
    const size_t b0 = blocks * (size_t)part / (size_t)nparts, b1 = blocks * (size_t)(part + 1) / (size_t)nparts;
    *lo = b0 * align < n ? b0 * align : n;
    *hi = b1 * align < n ? b1 * align : n;
}

typedef struct {
    rt_pool_chunk_fn *fn;
    void *ctx;
    size_t n, chunk;
} chunk_job;

static void chunk_task(void *ctx, int task)
{
    const chunk_job *c = ctx;
    const size_t lo = (size_t)task * c->chunk;
    c->fn(c->ctx, lo, c->n - lo < c->chunk ? c->n : lo + c->chunk);
}

void rt_pool_chunks(rt_pool_chunk_fn *fn, void *ctx, size_t n, size_t chunk)
{
    if (n <= chunk) {
        fn(ctx, 0, n);
        return;
    }
    chunk_job c = {fn, ctx, n, chunk};
    rt_pool_run(chunk_task, &c, (int)((n + chunk - 1) / chunk));
}
