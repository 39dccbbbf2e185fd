/* preflight.h — what a command checks before it starts work that an
 * unwritable output or too little memory would waste or kill. */
#ifndef NETC_COMPILER_PREFLIGHT_H
#define NETC_COMPILER_PREFLIGHT_H

#include "plan.h"

/* Whether path can be written by command cmd (named in messages with the
 * option opt, "--save"): its directory exists and takes new files (a
 * checkpoint is written to a temporary file beside it, then renamed), and
 * path, if it exists, is a writable regular file (regular_only) or any
 * writable non-directory (an output stream: /dev/null will do).  Returns
 * 0, or -1 after saying why. */
int comp_preflight_output(const char *cmd, const char *opt, const char *path, int regular_only);

/* Whether the arenas of a net of plan p at batch (rt_net_bytes; inference
 * as there) fit the machine's physical memory (sysconf): a net that does
 * not would be paged out or killed by the system long after it started.
 * Returns 0 (also when the memory size is unknown), or -1 after naming
 * both figures. */
int comp_preflight_memory(const char *cmd, const comp_plan *p, int batch, int inference);

#endif
