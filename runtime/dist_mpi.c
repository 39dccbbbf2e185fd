/* dist_mpi.c — the netc executable's transport for data-parallel training:
 * Open MPI when the build found it (NETC_MPI), else a check that refuses
 * to run under mpirun.  Linked into netc only, not libnetc.a, so programs
 * built on the library need no MPI. */
#include "dist_mpi.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "dist.h"

/* The process count a launcher (mpirun) set for the job: 1 when it set
 * none or a count below 2, 0 when no launcher started this process. */
static int launched_size(void)
{
    static const char *vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "MPI_LOCALNRANKS"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *s = getenv(vars[i]);
        if (s)
            return atoi(s) > 1 ? atoi(s) : 1;
    }
    return 0;
}

#ifdef NETC_MPI
#include <mpi.h>

static rt_dist_ops mpi_ops;
static void *scratch;       /* a received chunk, grown once */
static size_t scratch_size; /* bytes */
static double timeout_s;    /* the longest wait for another process */

static void *scratch_for(size_t bytes)
{
    if (bytes > scratch_size) {
        free(scratch);
        if (!(scratch = malloc(bytes))) {
            fprintf(stderr, "netc: rank %d: out of memory for the gradient sum\n", mpi_ops.rank);
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        scratch_size = bytes;
    }
    return scratch;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Sends to next and receives from prev, both at once, waiting at most
 * timeout_s: a process that stopped answering (stopped, hung, its host
 * gone) ends the job with a message instead of a hang.  Polls, at first
 * without pause (the other side is often ready within microseconds), then
 * sleeping 20 us between polls, so that a wait on the communication
 * thread leaves the core to the backward pass. */
static void exchange(const void *out, int nout, void *in, int nin, MPI_Datatype t, int next, int prev)
{
    MPI_Request rq[2];
    MPI_Irecv(in, nin, t, prev, 0, MPI_COMM_WORLD, &rq[0]);
    MPI_Isend(out, nout, t, next, 0, MPI_COMM_WORLD, &rq[1]);
    int done = 0;
    const double t0 = now_s();
    for (long polls = 0;; polls++) {
        MPI_Testall(2, rq, &done, MPI_STATUSES_IGNORE);
        if (done)
            return;
        if (polls < 1000)
            continue;
        if (now_s() - t0 > timeout_s) {
            fprintf(stderr,
                    "netc: rank %d of %d: no word from rank %d or %d in %.0f s (NETC_MPI_TIMEOUT); ending the job\n",
                    mpi_ops.rank, mpi_ops.size, prev, next, timeout_s);
            fflush(stderr);
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        const struct timespec pause = {0, 20000};
        nanosleep(&pause, NULL);
    }
}

/* A ring allreduce in fixed order: v splits into N chunks; in N-1 steps
 * each process passes a chunk's partial sum to the next, which adds its
 * own values (reduce-scatter), and in N-1 more the finished chunks go
 * round (allgather).  Each process sends 2(N-1)/N of v, and every
 * chunk's additions happen in one order fixed by N, so the same process
 * count gives the same bits run after run on every process (MPI_Allreduce
 * would pick its algorithm, and so its order, at run time).  With two
 * processes a sum is x0 + x1, as one process adding both would. */
/* Chunks below INT_MAX elements, as MPI counts are ints. */
#define CHUNK ((size_t)1 << 28)

#define DEFINE_SUM(name, type, mpitype)                                                          \
    static void name(type *v, size_t n)                                                          \
    {                                                                                            \
        const int N = mpi_ops.size, r = mpi_ops.rank;                                            \
        const int next = (r + 1) % N, prev = (r + N - 1) % N;                                    \
        for (size_t off = 0; off < n; off += CHUNK) {                                            \
            const size_t m = n - off < CHUNK ? n - off : CHUNK;                                  \
            type *x = v + off;                                                                   \
            type *in = scratch_for((m / (size_t)N + 1) * sizeof(type));                          \
            for (int s = 0; s < N - 1; s++) {                                                    \
                const int cs = ((r - s) % N + N) % N, cr = ((r - s - 1) % N + N) % N;            \
                const size_t s0 = m * (size_t)cs / (size_t)N, s1 = m * (size_t)(cs + 1) / (size_t)N; \
                const size_t r0 = m * (size_t)cr / (size_t)N, r1 = m * (size_t)(cr + 1) / (size_t)N; \
                exchange(x + s0, (int)(s1 - s0), in, (int)(r1 - r0), mpitype, next, prev);       \
                mpi_ops.bytes_sent += (uint64_t)(s1 - s0) * sizeof(type);                        \
                for (size_t i = 0; i < r1 - r0; i++)                                             \
                    x[r0 + i] = in[i] + x[r0 + i];                                               \
            }                                                                                    \
            for (int s = 0; s < N - 1; s++) {                                                    \
                const int cs = ((r + 1 - s) % N + N) % N, cr = ((r - s) % N + N) % N;            \
                const size_t s0 = m * (size_t)cs / (size_t)N, s1 = m * (size_t)(cs + 1) / (size_t)N; \
                const size_t r0 = m * (size_t)cr / (size_t)N, r1 = m * (size_t)(cr + 1) / (size_t)N; \
                exchange(x + s0, (int)(s1 - s0), x + r0, (int)(r1 - r0), mpitype, next, prev);   \
                mpi_ops.bytes_sent += (uint64_t)(s1 - s0) * sizeof(type);                        \
            }                                                                                    \
        }                                                                                        \
    }
DEFINE_SUM(ring_floats, float, MPI_FLOAT)
DEFINE_SUM(ring_doubles, double, MPI_DOUBLE)

/* The sums run on one communication thread, in the order they were asked
 * for, so that a bucket of gradients is summed while the backward pass
 * computes the next (MPI_THREAD_SERIALIZED: during training this thread
 * alone calls MPI).  The synchronous sums (BatchNorm's statistics, the
 * epoch cost) queue behind the buckets and wait: every process asks for
 * the same sums in the same order, so they pair up across processes. */
typedef struct {
    void *v;
    size_t n;
    int doubles;
} sum_job;

#define QUEUE 64
static sum_job queue[QUEUE];
static unsigned long queued, finished; /* jobs asked for, jobs done */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work = PTHREAD_COND_INITIALIZER, done = PTHREAD_COND_INITIALIZER;
static pthread_t comm;
static int comm_running, comm_quit;

static void *comm_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&lock);
    for (;;) {
        while (finished == queued && !comm_quit)
            pthread_cond_wait(&work, &lock);
        if (finished == queued)
            break;
        const sum_job j = queue[finished % QUEUE];
        pthread_mutex_unlock(&lock);
        if (j.doubles)
            ring_doubles(j.v, j.n);
        else
            ring_floats(j.v, j.n);
        pthread_mutex_lock(&lock);
        finished++;
        pthread_cond_broadcast(&done);
    }
    pthread_mutex_unlock(&lock);
    return NULL;
}

static void enqueue(void *v, size_t n, int doubles)
{
    pthread_mutex_lock(&lock);
    while (queued - finished == QUEUE)
        pthread_cond_wait(&done, &lock);
    queue[queued % QUEUE] = (sum_job){v, n, doubles};
    queued++;
    pthread_cond_signal(&work);
    pthread_mutex_unlock(&lock);
}

static void wait_all(void)
{
    pthread_mutex_lock(&lock);
    while (finished != queued)
        pthread_cond_wait(&done, &lock);
    pthread_mutex_unlock(&lock);
}

static void start_sum_floats(float *v, size_t n)
{
    enqueue(v, n, 0);
}

static void sum_floats(float *v, size_t n)
{
    if (!comm_running) {
        ring_floats(v, n);
        return;
    }
    enqueue(v, n, 0);
    wait_all();
}

static void sum_doubles(double *v, size_t n)
{
    if (!comm_running) {
        ring_doubles(v, n);
        return;
    }
    enqueue(v, n, 1);
    wait_all();
}

static void stop_comm(void)
{
    if (!comm_running)
        return;
    pthread_mutex_lock(&lock);
    comm_quit = 1;
    pthread_cond_signal(&work);
    pthread_mutex_unlock(&lock);
    pthread_join(comm, NULL);
    comm_running = 0;
}

/* NETC_MPI_TIMEOUT: seconds, default 300. */
static int read_timeout(void)
{
    const char *s = getenv("NETC_MPI_TIMEOUT");
    timeout_s = 300;
    if (!s)
        return 0;
    char *end;
    const double t = strtod(s, &end);
    if (end == s || *end || !(t > 0) || t > 1e9) {
        fprintf(stderr, "netc: NETC_MPI_TIMEOUT must be a number of seconds above 0, not '%s'\n", s);
        return -1;
    }
    timeout_s = t;
    return 0;
}

static int mpi_started;

int rt_dist_mpi_start(int *argc, char ***argv)
{
    /* Not started by mpirun: one process, no transport.  MPI_Init would
     * start a singleton's PMIx server, whose shared-memory files fail
     * under a file-size limit (ulimit -f), and netc with them. */
    if (launched_size() == 0)
        return 0;
    int provided;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS) {
        fprintf(stderr, "netc: MPI_Init failed\n");
        return -1;
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &mpi_ops.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &mpi_ops.size);
    if (read_timeout() != 0)
        return -1;
    mpi_ops.sum_floats = sum_floats;
    mpi_ops.sum_doubles = sum_doubles;
    /* Without thread support (or a thread) the sums run synchronously on
     * the calling thread, after the backward pass. */
    if (mpi_ops.size > 1 && provided >= MPI_THREAD_SERIALIZED && pthread_create(&comm, NULL, comm_main, NULL) == 0) {
        comm_running = 1;
        mpi_ops.start_sum_floats = start_sum_floats;
        mpi_ops.wait = wait_all;
    }
    rt_dist_set(&mpi_ops);
    mpi_started = 1;
    return 0;
}

int rt_dist_mpi_end(int status)
{
    if (!mpi_started)
        return status;
    if (status != 0 && mpi_ops.size > 1) {
        /* This process failed (its error is printed): the others may be
         * waiting for its gradients, so the whole job ends now. */
        fprintf(stderr, "netc: rank %d of %d failed; ending the job\n", mpi_ops.rank, mpi_ops.size);
        fflush(stderr);
        MPI_Abort(MPI_COMM_WORLD, status);
    }
    stop_comm();
    rt_dist_set(NULL);
    free(scratch);
    MPI_Finalize();
    return status;
}

#else

int rt_dist_mpi_start(int *argc, char ***argv)
{
    if (launched_size() > 1) {
        fprintf(stderr, "netc: started as one of %d MPI processes, but this build has no MPI support;\n"
                        "netc: install Open MPI (apt-get install openmpi-bin libopenmpi-dev) and rebuild (make clean && make)\n",
                launched_size());
        return -1;
    }
    return 0;
}

int rt_dist_mpi_end(int status)
{
    return status;
}
#endif
