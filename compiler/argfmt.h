/* argfmt.h — writing resolved arguments back as spec text: the canonical
 * call a spec would write for a layer, loss, optimizer, init, schedule or
 * clipping (required arguments positionally, the others by name and only
 * when they differ from the default), so that text compiled again gives
 * the same values.  Used where netc writes specs it did not read (ONNX
 * import) or carries statements outside a spec (ONNX export). */
#ifndef NETC_COMPILER_ARGFMT_H
#define NETC_COMPILER_ARGFMT_H

#include <stddef.h>

#include "model.h"

/* A growing text buffer; on running out of memory it stops growing and
 * remembers so (oom), and the caller checks once at the end. */
typedef struct {
    char *s;
    size_t len, cap;
    int oom;
} comp_text;

/* Append printf-formatted text to t. */
void comp_text_printf(comp_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Free t's buffer and empty it. */
void comp_text_free(comp_text *t);

/* The shortest decimal text (at most 17 significant digits) that reads
 * back as v; with as_float, the shortest that reads back as (float)v, for
 * a value that came from a float32 (an ONNX attribute).  NaN is written
 * "None", as the arguments that store None as NaN take it. */
void comp_fmt_number(double v, int as_float, char *buf, size_t size);

/* Append `Name` or `Name(args)` for entry with the resolved arguments a:
 * required arguments positionally, others as name=value when not the
 * default.  COMP_T_INIT arguments are written from init (NULL: none). */
void comp_fmt_call(comp_text *t, const comp_entry *entry, const comp_args *a, const comp_init *init);

/* Fill a with entry's defaults (what omitted arguments resolve to), for a
 * caller that then sets the arguments it knows. */
void comp_args_defaults(const comp_entry *entry, comp_args *a);

#endif
