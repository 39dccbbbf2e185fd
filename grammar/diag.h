/* diag.h — spec sources and the one diagnostic printer.
 *
 * Every message netc prints about a spec goes through gram_diag(), so every
 * message has the same shape:
 *
 *     specs/x.net:3:31: error: unknown layer 'Relu'; did you mean 'ReLU'?
 *         3 |     layers Linear(784, 256) -> Relu -> Linear(256, 10)
 *           |                                ^~~~
 *
 * followed, when the caller adds them, by `note:` lines. */
#ifndef NETC_GRAMMAR_DIAG_H
#define NETC_GRAMMAR_DIAG_H

#include <stdio.h>

/* A source range, 1-based, as bison's %locations tracks it.  last_column
 * is inclusive; a zero location means "no position" (a whole-file error). */
typedef struct {
    int first_line, first_column;
    int last_line, last_column;
} gram_loc;

/* A spec's text and the counters of what was reported against it. */
typedef struct gram_source {
    char *name;      /* file name shown in diagnostics */
    char *text;      /* whole text, NUL-terminated */
    size_t len;
    FILE *out;       /* where diagnostics go (stderr unless a test redirects) */
    int nerrors;
    int nwarnings;
    int max_errors;  /* errors shown at most (GRAM_MAX_ERRORS_DEFAULT; 0: all) */
    int nhidden;     /* errors and warnings counted but not shown past it */
    int hiding;      /* the last error or warning was hidden: so are its notes */
} gram_source;

/* Errors a source shows by default, as gcc's -fmax-errors: past them a
 * spec's errors are noise (one typo in a generated spec can make
 * thousands), and 100,000 errors would print megabytes. */
#define GRAM_MAX_ERRORS_DEFAULT 20

typedef enum { GRAM_ERROR, GRAM_WARNING, GRAM_NOTE } gram_severity;

/* The largest spec the front end reads, in bytes.  Its memory and time
 * grow linearly with the text, so this bounds both (a real spec is a few
 * KB; 50,000 lets fit). */
#define GRAM_MAX_SOURCE (4 << 20)

/* Read a whole file into a new source; NULL (with errno set) on failure.
 * Files with NUL bytes are accepted and reported by the lexer.  At most
 * GRAM_MAX_SOURCE + 1 bytes are read: a longer file is reported by
 * gram_parse() as too large, without reading the rest. */
gram_source *gram_source_open(const char *path);

/* Wrap an in-memory text (copied) as a source named name. */
gram_source *gram_source_from_string(const char *name, const char *text);

/* Free a source (NULL is allowed). */
void gram_source_free(gram_source *src);

/* Print one diagnostic: `name:line:col: severity: message`, then the
 * source line behind a line-number gutter and a caret under loc (a ^~~~ run as wide as the range on
 * that line).  Notes print only the first line.  Increments the counters.
 * loc with first_line == 0 prints `name: severity: message` alone.  Once
 * src->max_errors errors were shown, errors and warnings are only counted
 * (in nhidden) and their notes dropped: gram_diag_summary says how many. */
void gram_diag(gram_source *src, gram_severity sev, gram_loc loc,
               const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* After the last diagnostic of src: when some were not shown (see
 * gram_diag), one note `name: note: N more errors not shown`. */
void gram_diag_summary(gram_source *src);

/* Shorthands for gram_diag(). */
#define gram_error(src, loc, ...)   gram_diag((src), GRAM_ERROR, (loc), __VA_ARGS__)
#define gram_warning(src, loc, ...) gram_diag((src), GRAM_WARNING, (loc), __VA_ARGS__)
#define gram_note(src, loc, ...)    gram_diag((src), GRAM_NOTE, (loc), __VA_ARGS__)

/* The candidate closest to name by case-insensitive edit distance, or NULL
 * when none is close enough to be a plausible typo; a Keras init name
 * (he_uniform, glorot_normal) finds torch's spelling of the same family
 * (kaiming_uniform, xavier_normal) and the other way round.  Used by every
 * "unknown name" error so they all suggest the same way. */
const char *gram_nearest(const char *name, const char *const *candidates, int n);

/* Report `unknown WHAT 'name'` at loc with the nearest candidate, then a
 * note listing every valid candidate.  candidates has n entries. */
void gram_unknown_name(gram_source *src, gram_loc loc, const char *what,
                       const char *name, const char *const *candidates, int n);

/* The note of gram_unknown_name alone: `valid WHATs: a, b, c` (NULL
 * candidates are skipped; nothing when there are none). */
void gram_note_names(gram_source *src, gram_loc loc, const char *what, const char *const *candidates, int n);

#endif
