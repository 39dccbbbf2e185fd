/* json.h — the few JSON writers netc's machine-readable output needs
 * (explain --json, train --log): strings escaped, numbers that JSON can
 * hold. */
#ifndef NETC_COMPILER_JSON_H
#define NETC_COMPILER_JSON_H

#include <stdio.h>

/* s as a JSON string: quotes, backslashes and control characters escaped. */
void comp_json_str(FILE *out, const char *s);

/* v as a JSON number with 9 significant digits (a float32 round-trips);
 * null for NaN and the infinities, which JSON cannot spell. */
void comp_json_num(FILE *out, double v);

#endif
