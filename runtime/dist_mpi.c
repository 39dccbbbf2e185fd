/* dist_mpi.c — the netc executable's transport for data-parallel training:
 * Open MPI when the build found it (NETC_MPI), else a check that refuses
 * to run under mpirun.  Linked into netc only, not libnetc.a, so programs
 * built on the library need no MPI. */
#include "dist_mpi.h"

#include <stdio.h>
#include <stdlib.h>

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
static void *scratch;       /* another process's values, grown once */
static size_t scratch_size; /* bytes */

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

/* Chunks below INT_MAX elements, as MPI counts are ints. */
#define CHUNK ((size_t)1 << 28)

/* Rank 0 receives every other process's values in rank order and adds
 * them in that order; then it broadcasts the sum.  MPI_Allreduce would
 * pick its algorithm (and so its order of additions) at run time. */
#define DEFINE_SUM(name, type, mpitype)                                                          \
    static void name(type *v, size_t n)                                                          \
    {                                                                                            \
        for (size_t off = 0; off < n; off += CHUNK) {                                            \
            const int m = (int)(n - off < CHUNK ? n - off : CHUNK);                              \
            type *x = v + off;                                                                   \
            if (mpi_ops.rank == 0) {                                                             \
                type *in = scratch_for((size_t)m * sizeof(type));                                \
                for (int r = 1; r < mpi_ops.size; r++) {                                         \
                    MPI_Recv(in, m, mpitype, r, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);           \
                    for (int i = 0; i < m; i++)                                                  \
                        x[i] += in[i];                                                           \
                }                                                                                \
            } else {                                                                             \
                MPI_Send(x, m, mpitype, 0, 0, MPI_COMM_WORLD);                                   \
                mpi_ops.bytes_sent += (uint64_t)m * sizeof(type);                                \
            }                                                                                    \
            MPI_Bcast(x, m, mpitype, 0, MPI_COMM_WORLD);                                         \
            if (mpi_ops.rank == 0) /* a binomial tree: rank 0 sends to log2(N) others */         \
                for (int k = 1; k < mpi_ops.size; k *= 2)                                        \
                    mpi_ops.bytes_sent += (uint64_t)m * sizeof(type);                            \
        }                                                                                        \
    }
DEFINE_SUM(sum_floats, float, MPI_FLOAT)
DEFINE_SUM(sum_doubles, double, MPI_DOUBLE)

static int mpi_started;

int rt_dist_mpi_start(int *argc, char ***argv)
{
    /* Not started by mpirun: one process, no transport.  MPI_Init would
     * start a singleton's PMIx server, whose shared-memory files fail
     * under a file-size limit (ulimit -f), and netc with them. */
    if (launched_size() == 0)
        return 0;
    if (MPI_Init(argc, argv) != MPI_SUCCESS) {
        fprintf(stderr, "netc: MPI_Init failed\n");
        return -1;
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &mpi_ops.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &mpi_ops.size);
    mpi_ops.sum_floats = sum_floats;
    mpi_ops.sum_doubles = sum_doubles;
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
