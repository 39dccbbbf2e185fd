/* dist_mpi.h — start and end the netc executable's MPI transport. */
#ifndef NETC_RUNTIME_DIST_MPI_H
#define NETC_RUNTIME_DIST_MPI_H

/* Join the MPI job (MPI_Init) and install its sums for training
 * (rt_dist_set).  In a build without MPI: -1, with a message saying how to
 * get MPI support, when a launcher started several processes; else 0.
 * Returns 0, or -1 when the process cannot run. */
int rt_dist_mpi_start(int *argc, char ***argv);

/* Leave the job with the command's exit status: a nonzero status under
 * several processes aborts every process (MPI_Abort), since the others
 * may be waiting on this one.  Returns status. */
int rt_dist_mpi_end(int status);

#endif
