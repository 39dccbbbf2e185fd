/* fmt.h — the one canonical layout of a spec (`netc fmt`), comments kept. */
#ifndef NETC_GRAMMAR_FMT_H
#define NETC_GRAMMAR_FMT_H

#include <stddef.h>

#include "diag.h"

/* src laid out canonically, as a malloc'd NUL-terminated text (its length
 * in *len), or NULL when src does not parse (the errors are reported
 * through src) or memory runs out (src->nerrors is unchanged then).
 *
 * The layout: statements one per line, indented 4 inside the model's
 * braces; a line that continues a statement indented 4 more, and 4 more
 * per bracket still open at its start; one space around `->`, the binary
 * operators and the `=` of a `let`, none around the `=` of named
 * arguments and train settings nor after a unary minus, one after a
 * comma, none inside brackets;
 * `{ ... }` of a repeat on one line spaced as `{ a -> b }`.  The author's
 * line breaks are kept where a chain or an argument list may break (before
 * `->`, after `(`, `{` or a comma, before `)` or `}`), and a run of blank
 * lines between statements or comments becomes one.  Comments stay where
 * they are, trailing ones aligned two spaces past the longest line of
 * their run.  The result has exactly the tokens of src, in order, so it
 * parses to the same model; formatting it again gives it unchanged. */
char *gram_format(gram_source *src, size_t *len);

#endif
