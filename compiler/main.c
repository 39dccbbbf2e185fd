/* main.c — the netc executable: the command line of compiler/cli.c with
 * the spec given as an argument, as one process of an MPI job when
 * started by mpirun. */
#include "cli.h"
#include "runtime/dist_mpi.h"

int main(int argc, char **argv)
{
    if (rt_dist_mpi_start(&argc, &argv) != 0)
        return 1;
    return rt_dist_mpi_end(comp_cli_main(argc, argv, NULL));
}
