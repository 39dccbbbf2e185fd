/* emit_select.h — the part of the runtime kernels' text that an emitted
 * model's code reaches, so that NAME.c carries only the kernels its plan
 * calls. */
#ifndef NETC_COMPILER_EMIT_SELECT_H
#define NETC_COMPILER_EMIT_SELECT_H

#include <stddef.h>
#include <stdio.h>

/* Write to out the file-scope items of kernels (C as
 * scripts/embed-kernels.sh makes it: preprocessed, no comments, one
 * declaration or definition after another) that the code use[0..use_len)
 * reaches: the items defining a name use mentions (a function, variable,
 * typedef, struct/union/enum tag or enum constant), then, in turn, those
 * defining a name a taken item mentions.  An item that defines no name
 * (a preprocessor line, a static assertion) is always taken.  Items keep
 * the text's order and bytes, so declarations still precede their uses,
 * each comes at most once and the output depends on the inputs alone.
 * Returns 0, or -1 when out of memory. */
int comp_emit_select(FILE *out, const char *kernels, const char *use, size_t use_len);

#endif
