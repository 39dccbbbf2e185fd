/* main.c — the netc executable: the command line of compiler/cli.c with
 * the spec given as an argument, with ONNX export and import when built
 * with protobuf-c, as one process of an MPI job when
 * started by mpirun. */
#include "cli.h"
#include "onnx.h"
#include "runtime/dist_mpi.h"

int main(int argc, char **argv)
{
    if (rt_dist_mpi_start(&argc, &argv) != 0)
        return 1;
    comp_cli_set_onnx(&comp_onnx);
    return rt_dist_mpi_end(comp_cli_main(argc, argv, NULL));
}
