/* main.c — the netc executable: the command line of compiler/cli.c with
 * the spec given as an argument. */
#include "cli.h"

int main(int argc, char **argv)
{
    return comp_cli_main(argc, argv, NULL);
}
