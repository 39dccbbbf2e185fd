/* diag.c — spec sources and the one diagnostic printer.
 *
 * Every message about a spec, from the lexer, the parser or the compiler,
 * is printed here, so they all share one shape:
 *
 *     specs/x.net:3:31: error: unknown layer 'Relu'; did you mean 'ReLU'?
 *         3 |     layers Linear(784, 256) -> Relu -> Linear(256, 10)
 *           |                                ^~~~
 *
 * Locations count bytes (a tab is one column), so the caret line copies
 * the tabs of the source line and treats a UTF-8 sequence as one column;
 * that keeps the caret under the right character in a terminal. */
#include "diag.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- sources ---------------------------------------------------------- */

static gram_source *source_new(const char *name, char *text, size_t len)
{
    gram_source *src = calloc(1, sizeof *src);
    char *copy = strdup(name ? name : "<spec>");
    if (!src || !copy) {
        free(src);
        free(copy);
        return NULL;
    }
    src->name = copy;
    src->text = text;
    src->len = len;
    src->out = stderr;
    src->max_errors = GRAM_MAX_ERRORS_DEFAULT;
    return src;
}

/* Read the whole file at path into a new source named path.  NULL with
 * errno set when the file cannot be read or memory runs out. */
gram_source *gram_source_open(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, len = 0;
    char *text = malloc(cap);
    while (text) {
        len += fread(text + len, 1, cap - len - 1, f);
        if (len > GRAM_MAX_SOURCE) {
            len = GRAM_MAX_SOURCE + 1; /* enough to know it is too large */
            break;
        }
        if (ferror(f)) {
            int err = errno ? errno : EIO;
            free(text);
            fclose(f);
            errno = err;
            return NULL;
        }
        if (feof(f))
            break;
        if (len + 1 == cap) {
            char *bigger = cap <= SIZE_MAX / 2 ? realloc(text, cap * 2) : NULL;
            if (!bigger) {
                free(text);
                text = NULL;
                break;
            }
            text = bigger;
            cap *= 2;
        }
    }
    fclose(f);
    if (!text) {
        errno = ENOMEM;
        return NULL;
    }
    text[len] = '\0';
    gram_source *src = source_new(path, text, len);
    if (!src) {
        free(text);
        errno = ENOMEM;
    }
    return src;
}

/* Copy the NUL-terminated text into a new source named name.  NULL when
 * memory runs out. */
gram_source *gram_source_from_string(const char *name, const char *text)
{
    if (!text)
        text = "";
    size_t len = strlen(text);
    char *copy = malloc(len + 1);
    if (!copy)
        return NULL;
    memcpy(copy, text, len + 1);
    gram_source *src = source_new(name, copy, len);
    if (!src)
        free(copy);
    return src;
}

/* Free src, its name and its text; the output stream is not closed
 * because the source never opened it. */
void gram_source_free(gram_source *src)
{
    if (!src)
        return;
    free(src->name);
    free(src->text);
    free(src);
}

/* ---- printing --------------------------------------------------------- */

/* Length of the character at s (at most n bytes): a well-formed UTF-8
 * sequence counts as one character, anything else is one byte. */
static size_t char_len(const unsigned char *s, size_t n)
{
    size_t need;
    if (s[0] >= 0xC2 && s[0] <= 0xDF)
        need = 2;
    else if (s[0] >= 0xE0 && s[0] <= 0xEF)
        need = 3;
    else if (s[0] >= 0xF0 && s[0] <= 0xF4)
        need = 4;
    else
        return 1;
    if (need > n)
        return 1;
    for (size_t i = 1; i < need; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 1;
    return need;
}

/* Find line lineno (1-based) of src: its start and its length without the
 * line ending.  0 when the text has no such line. */
static int find_line(const gram_source *src, int lineno, const char **start, size_t *len)
{
    const char *p = src->text, *end = src->text + src->len;
    for (int l = 1; l < lineno; l++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            return 0;
        p = nl + 1;
    }
    if (p == end && lineno > 1)
        return 0; /* the empty "line" after a final newline */
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *stop = nl ? nl : end;
    if (stop > p && stop[-1] == '\r')
        stop--;
    *start = p;
    *len = (size_t)(stop - p);
    return 1;
}

static int digits(int n)
{
    int d = 1;
    while (n >= 10) {
        n /= 10;
        d++;
    }
    return d;
}

/* Print the source line of loc behind a line-number gutter, then a caret
 * line marking loc's columns on that line (to the end of the line when
 * the range goes on to later lines). */
/* At most this many bytes of a source line are shown: a window around the
 * caret, so a minified spec or a binary file cannot flood the terminal. */
#define SHOW_MAX 120

static int is_continuation(unsigned char c)
{
    return (c & 0xC0) == 0x80;
}

static void show_source(FILE *out, const gram_source *src, gram_loc loc)
{
    const char *line;
    size_t n;
    if (!src->text || !find_line(src, loc.first_line, &line, &n))
        return;
    /* The window [ws, we) of bytes shown, on character boundaries. */
    size_t ws = 0, we = n;
    if (n > SHOW_MAX) {
        size_t at = loc.first_column > 1 ? (size_t)loc.first_column - 1 : 0;
        ws = at > SHOW_MAX / 2 ? at - SHOW_MAX / 2 : 0;
        if (ws + SHOW_MAX > n)
            ws = n - SHOW_MAX;
        we = ws + SHOW_MAX;
        while (ws > 0 && is_continuation((unsigned char)line[ws]))
            ws--;
        while (we < n && is_continuation((unsigned char)line[we]))
            we++;
    }
    const char *before = ws > 0 ? "..." : "", *after = we < n ? "..." : "";
    int width = digits(loc.first_line) > 5 ? digits(loc.first_line) : 5;
    fprintf(out, "%*d | %s", width, loc.first_line, before);
    for (size_t i = ws; i < we;) {
        unsigned char c = (unsigned char)line[i];
        size_t k = char_len((const unsigned char *)line + i, we - i);
        if (k > 1)
            fwrite(line + i, 1, k, out);
        else if (c == '\t' || (c >= 0x20 && c < 0x7F))
            fputc(c, out);
        else
            fputc('?', out); /* control or stray byte: keep the terminal sane */
        i += k;
    }
    fprintf(out, "%s\n", after);
    if (loc.first_column <= 0)
        return;

    long first = loc.first_column, last = first;
    if (loc.last_line > loc.first_line)
        last = (long)n > first ? (long)n : first;
    else if (loc.last_line == loc.first_line && loc.last_column > first)
        last = loc.last_column;
    fprintf(out, "%*s | %*s", width, "", (int)strlen(before), "");
    int marked = 0;
    long col = (long)ws + 1;
    for (size_t i = ws; i < we;) {
        size_t k = char_len((const unsigned char *)line + i, we - i);
        if (col + (long)k - 1 < first)
            fputc(line[i] == '\t' ? '\t' : ' ', out);
        else if (col <= last) {
            fputc(marked ? '~' : '^', out);
            marked = 1;
        } else
            break;
        i += k;
        col += (long)k;
    }
    if (!marked)
        fputc('^', out); /* at or past the end of the line (e.g. end of file) */
    fputc('\n', out);
}

void gram_diag(gram_source *src, gram_severity sev, gram_loc loc, const char *fmt, ...)
{
    static const char *const names[] = {"error", "warning", "note"};
    FILE *out = src && src->out ? src->out : stderr;
    const char *file = src && src->name ? src->name : "<spec>";
    const char *what = (unsigned)sev < 3 ? names[sev] : "error";
    if (src && sev == GRAM_ERROR)
        src->nerrors++;
    else if (src && sev == GRAM_WARNING)
        src->nwarnings++;
    if (src && sev != GRAM_NOTE) {
        /* The error that reaches the limit is shown; what comes after it
         * is counted. */
        int shown = src->nerrors - (sev == GRAM_ERROR);
        src->hiding = src->max_errors > 0 && shown >= src->max_errors;
        src->nhidden += src->hiding;
    }
    if (src && src->hiding)
        return;

    if (loc.first_line <= 0)
        fprintf(out, "%s: %s: ", file, what);
    else if (loc.first_column <= 0)
        fprintf(out, "%s:%d: %s: ", file, loc.first_line, what);
    else
        fprintf(out, "%s:%d:%d: %s: ", file, loc.first_line, loc.first_column, what);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(out, fmt, ap);
    va_end(ap);
    fputc('\n', out);
    if (src && sev != GRAM_NOTE && loc.first_line > 0)
        show_source(out, src, loc);
}

void gram_diag_summary(gram_source *src)
{
    if (!src || src->nhidden == 0)
        return;
    int errors = src->max_errors > 0 && src->nerrors > src->max_errors ? src->nerrors - src->max_errors : 0;
    int warnings = src->nhidden - errors;
    FILE *out = src->out ? src->out : stderr;
    fprintf(out, "%s: note: ", src->name ? src->name : "<spec>");
    if (errors)
        fprintf(out, "%d more error%s", errors, errors == 1 ? "" : "s");
    if (warnings)
        fprintf(out, "%s%d more warning%s", errors ? " and " : "", warnings, warnings == 1 ? "" : "s");
    fprintf(out, " not shown\n");
    src->nhidden = 0;
    src->hiding = 0;
}

/* ---- suggestions ------------------------------------------------------ */

/* Case-insensitive Levenshtein distance of a and b; -1 when out of memory. */
static long edit_distance(const char *a, size_t la, const char *b, size_t lb)
{
    long *prev = malloc((lb + 1) * sizeof *prev);
    long *cur = malloc((lb + 1) * sizeof *cur);
    long d = -1;
    if (prev && cur) {
        for (size_t j = 0; j <= lb; j++)
            prev[j] = (long)j;
        for (size_t i = 1; i <= la; i++) {
            cur[0] = (long)i;
            int ca = tolower((unsigned char)a[i - 1]);
            for (size_t j = 1; j <= lb; j++) {
                long sub = prev[j - 1] + (ca != tolower((unsigned char)b[j - 1]));
                long del = prev[j] + 1, ins = cur[j - 1] + 1;
                long m = sub < del ? sub : del;
                cur[j] = m < ins ? m : ins;
            }
            long *t = prev;
            prev = cur;
            cur = t;
        }
        d = prev[lb];
    }
    free(prev);
    free(cur);
    return d;
}

/* The first candidate at the smallest case-insensitive edit distance from
 * name, provided that distance is at most max(1, strlen(name) / 3) (an
 * exact match ignoring case always qualifies); failing that, the longest
 * candidate of at least two characters that name starts with (ignoring
 * case), so torch's "NLLLoss" finds the loss "NLL"; NULL otherwise.
 * Before all that, a name of Keras's or torch's init families finds its
 * twin in the other (synonyms above). */
/* The two spellings the same initializer families go by: Keras's he_* and
 * glorot_*, torch's kaiming_* and xavier_* (he_uniform is kaiming_uniform,
 * glorot_uniform xavier_uniform).  Edit distance alone would take
 * he_uniform for uniform. */
static const char *const synonyms[][2] = {{"he_", "kaiming_"}, {"glorot_", "xavier_"}};

/* The candidate that name spells in the other tradition, if any. */
static const char *synonym(const char *name, const char *const *candidates, int n)
{
    char other[128];
    for (size_t s = 0; s < sizeof synonyms / sizeof *synonyms; s++)
        for (int dir = 0; dir < 2; dir++) {
            const char *from = synonyms[s][dir], *to = synonyms[s][!dir];
            size_t lf = strlen(from), lt = strlen(to), lr = strlen(name) >= lf ? strlen(name) - lf : 0;
            if (strncasecmp(name, from, lf) != 0 || lt + lr >= sizeof other)
                continue;
            memcpy(other, to, lt);
            memcpy(other + lt, name + lf, lr + 1);
            for (int i = 0; i < n; i++)
                if (candidates[i] && strcasecmp(candidates[i], other) == 0)
                    return candidates[i];
        }
    return NULL;
}

const char *gram_nearest(const char *name, const char *const *candidates, int n)
{
    if (!name || !candidates)
        return NULL;
    for (int i = 0; i < n; i++) /* the name in another case comes first */
        if (candidates[i] && strcasecmp(candidates[i], name) == 0)
            return candidates[i];
    const char *syn = synonym(name, candidates, n);
    if (syn)
        return syn;
    size_t la = strlen(name);
    long limit = la / 3 > 1 ? (long)(la / 3) : 1;
    const char *best = NULL;
    long best_d = limit + 1;
    for (int i = 0; i < n; i++) {
        const char *c = candidates[i];
        if (!c)
            continue;
        size_t lb = strlen(c);
        /* The distance is at least the length difference: skip early so a
         * huge name costs nothing. */
        size_t diff = la > lb ? la - lb : lb - la;
        if (diff >= (size_t)best_d)
            continue;
        long d = edit_distance(name, la, c, lb);
        if (d >= 0 && d < best_d) {
            best = c;
            best_d = d;
        }
    }
    const char *prefix = NULL;
    for (int i = 0; !best && i < n; i++) {
        const char *c = candidates[i];
        size_t lb = c ? strlen(c) : 0;
        if (lb >= 2 && lb < la && strncasecmp(name, c, lb) == 0 && (!prefix || lb > strlen(prefix)))
            prefix = c;
    }
    return best ? best : prefix;
}

/* Report `unknown WHAT 'name'` (with `; did you mean 'X'?` when a
 * candidate is close) and a note listing every candidate. */
void gram_unknown_name(gram_source *src, gram_loc loc, const char *what, const char *name,
                       const char *const *candidates, int n)
{
    const char *near = gram_nearest(name, candidates, n);
    if (near)
        gram_error(src, loc, "unknown %s '%s'; did you mean '%s'?", what, name, near);
    else
        gram_error(src, loc, "unknown %s '%s'", what, name);
    gram_note_names(src, loc, what, candidates, n);
}

void gram_note_names(gram_source *src, gram_loc loc, const char *what, const char *const *candidates, int n)
{
    if (!candidates || n <= 0)
        return;
    size_t len = 1;
    for (int i = 0; i < n; i++)
        len += (candidates[i] ? strlen(candidates[i]) : 0) + 2;
    char *list = malloc(len), *p = list;
    if (!list)
        return; /* the error itself is out; the list is a nicety */
    for (int i = 0; i < n; i++) {
        if (!candidates[i])
            continue;
        if (p != list) {
            memcpy(p, ", ", 2);
            p += 2;
        }
        size_t k = strlen(candidates[i]);
        memcpy(p, candidates[i], k);
        p += k;
    }
    *p = '\0';
    /* English plural of the last word: "losses", "layers", "nonlinearities". */
    size_t wl = strlen(what);
    int y = wl > 1 && what[wl - 1] == 'y' && !strchr("aeiou", what[wl - 2]);
    gram_note(src, loc, "valid %.*s%s: %s", (int)(wl - (size_t)y), what,
              y ? "ies" : wl && what[wl - 1] == 's' ? "es" : "s", list);
    free(list);
}
