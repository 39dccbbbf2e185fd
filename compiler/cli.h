/* cli.h — the netc command line as a library function, shared by the
 * netc executable and the programs `netc build` makes (which carry their
 * spec inside and run its plan through code generated for it). */
#ifndef NETC_COMPILER_CLI_H
#define NETC_COMPILER_CLI_H

#include "../runtime/net.h"

/* A spec built into a program: its file name (for messages), its text,
 * and the generated executor of its plan's ops (see rt_net.run_op). */
typedef struct {
    const char *name;
    const char *text;
    rt_op_runner *run_op;
} comp_cli_builtin;

/* Run the command line argv (argv[1] is the command).  builtin NULL: the
 * netc executable, every command takes SPEC arguments.  Otherwise the
 * program of `netc build`: train, eval, predict and explain on the
 * built-in spec, which is never named on the command line.  Returns the
 * exit status (0, 1 for a problem with a spec, data or checkpoint, 2 for
 * a usage error). */
int comp_cli_main(int argc, char **argv, const comp_cli_builtin *builtin);

/* The ONNX export and import functions (compiler/onnx.h), which the netc
 * executable hands over before comp_cli_main: they are linked into it
 * alone.  Without them (NULL, or members NULL: built without protobuf-c)
 * `netc export` and `netc import` say how to get them. */
struct comp_onnx_io;
void comp_cli_set_onnx(const struct comp_onnx_io *io);

#endif
