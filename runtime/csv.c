/* csv.c — reads a numeric CSV file: one sample per line, the target
 * column(s) first, then the inputs.
 *
 * Accepted: fields separated by commas with optional spaces or tabs around
 * them, \n or \r\n line ends, a UTF-8 byte-order mark, one header line (the
 * first line, when it does not parse as numbers), and blank lines at the
 * end.  Everything else is an error naming the file, line and column:
 * a CSV that silently loads wrong is much worse than one that does not
 * load.
 *
 * Numbers go through strtod, which follows the C locale's decimal point;
 * netc never calls setlocale, so that is always '.'.  Parsing as double and
 * rounding to float is what numpy/pandas followed by a float32 conversion
 * do, so the floats match a Python pipeline reading the same file. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "data_formats.h"
#include "regular_file.h"

/* The longest field text quoted in an error message. */
#define SHOW_MAX 32

typedef struct {
    const char *path;
    size_t line; /* 1-based line number being parsed */
    size_t ntc;  /* target columns: 0, 1 (class) or ntarget */
    size_t dim;
    rt_target_kind kind;
    int nclasses;
    char *err;
    size_t errlen;
} csv_ctx;

/* Read the whole file (a regular one: a FIFO would block) into a
 * NUL-terminated buffer, in pieces rather than by its size at the start,
 * which may change while it is read. */
static char *slurp(const char *path, size_t *len, char *err, size_t errlen)
{
    FILE *f = rt_fopen_regular(path, err, errlen);
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (cap - n < 2) {
            char *nb = cap <= SIZE_MAX / 2 ? realloc(buf, cap * 2) : NULL;
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0)
            break;
    }
    if (!buf) {
        rt_errf(err, errlen, "%s: out of memory", path);
    } else if (ferror(f)) {
        rt_errf(err, errlen, "%s: read error: %s", path, strerror(errno));
        free(buf);
        buf = NULL;
    } else {
        buf[n] = '\0';
        *len = n;
    }
    fclose(f);
    return buf;
}

/* Copy field text [s, e) into out for a message: at most SHOW_MAX bytes,
 * control characters as '?', so a message stays one readable line. */
static const char *show(const char *s, const char *e, char *out)
{
    size_t n = (size_t)(e - s), k = 0;
    for (size_t i = 0; i < n && i < SHOW_MAX; i++) {
        unsigned char c = (unsigned char)s[i];
        out[k++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    if (n > SHOW_MAX) {
        memcpy(out + k, "...", 3);
        k += 3;
    }
    out[k] = '\0';
    return out;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Parse field [s, e) (already trimmed) as a finite number.  Returns 0;
 * NOT_NUMBER for text that is no number at all (or nothing); or NOT_FINITE
 * for NaN, infinities and values beyond float range.  *why says which.
 * The byte at e is NUL-terminated for strtod and restored afterwards; the
 * buffer always has a byte there. */
enum { NOT_NUMBER = -1, NOT_FINITE = -2 };
static int parse_number(char *s, char *e, double *v, const char **why)
{
    if (s == e) {
        *why = "empty field";
        return NOT_NUMBER;
    }
    char save = *e, *end;
    *e = '\0';
    *v = strtod(s, &end);
    *e = save;
    if (end != e) {
        *why = "not a number";
        return NOT_NUMBER;
    }
    if (isnan(*v)) {
        *why = "NaN is not allowed";
        return NOT_FINITE;
    }
    /* 1e39 is a finite double but an infinite float. */
    if (!isfinite((float)*v)) {
        *why = "infinite or out of float range";
        return NOT_FINITE;
    }
    return 0;
}

/* Expected-column description for messages: "1 target + 784 inputs". */
static void describe_columns(const csv_ctx *c, char *out, size_t len)
{
    const char *tn = c->ntc == 1 ? "target" : "targets";
    const char *in = c->dim == 1 ? "input" : "inputs";
    if (c->ntc > 0)
        snprintf(out, len, "%zu %s + %zu %s", c->ntc, tn, c->dim, in);
    else
        snprintf(out, len, "%zu %s", c->dim, in);
}

/* Splits the next comma-separated field off the line [*s, e): [*fs, *fe)
 * is the field without the blanks around it, and *s moves past its comma.
 * Returns whether a comma followed (0: it was the line's last field). */
static int next_field(char **s, char *e, char **fs, char **fe)
{
    char *comma = memchr(*s, ',', (size_t)(e - *s));
    char *b = *s, *f = comma ? comma : e;
    while (b < f && is_blank(*b))
        b++;
    while (f > b && is_blank(f[-1]))
        f--;
    *fs = b;
    *fe = f;
    *s = comma ? comma + 1 : e;
    return comma != NULL;
}

/* Is [s, e) a header, i.e. some comma-separated field no number at all?
 * A line of numbers with a NaN in it is data (and then an error). */
static int is_header(char *s, char *e)
{
    for (;;) {
        char *fs, *fe;
        const int more = next_field(&s, e, &fs, &fe);
        double v;
        const char *why;
        if (parse_number(fs, fe, &v, &why) == NOT_NUMBER)
            return 1;
        if (!more)
            return 0;
    }
}

/* Parse data line [s, e) into row r of the outputs. */
static int parse_row(const csv_ctx *c, char *s, char *e, size_t r, float *xf, int32_t *labels,
                     float *targets)
{
    char shown[SHOW_MAX + 4];
    size_t ncols = c->ntc + c->dim, found = 1;
    for (const char *q = s; (q = memchr(q, ',', (size_t)(e - q))) != NULL; q++)
        found++;
    if (found != ncols) {
        char desc[96];
        describe_columns(c, desc, sizeof desc);
        return rt_errf(c->err, c->errlen, "%s:%zu: expected %zu columns (%s), found %zu",
                            c->path, c->line, ncols, desc, found);
    }

    for (size_t col = 0; col < ncols; col++) {
        char *fs, *fe;
        next_field(&s, e, &fs, &fe);
        double v;
        const char *why;
        if (parse_number(fs, fe, &v, &why) != 0)
            return rt_errf(c->err, c->errlen, "%s:%zu: column %zu: '%s': %s", c->path, c->line,
                                col + 1, show(fs, fe, shown), why);
        if (col >= c->ntc) {
            xf[r * c->dim + (col - c->ntc)] = (float)v;
        } else if (c->kind == RT_TARGET_CLASS) {
            if (v != floor(v))
                return rt_errf(c->err, c->errlen,
                                    "%s:%zu: column %zu: class '%s' is not an integer", c->path,
                                    c->line, col + 1, show(fs, fe, shown));
            if (v < 0 || v > INT32_MAX || (c->nclasses > 0 && v >= c->nclasses)) {
                if (c->nclasses > 0)
                    return rt_errf(c->err, c->errlen,
                                        "%s:%zu: column %zu: class '%s' is out of range: the "
                                        "model has %d classes (0..%d)",
                                        c->path, c->line, col + 1, show(fs, fe, shown), c->nclasses,
                                        c->nclasses - 1);
                return rt_errf(c->err, c->errlen,
                                    "%s:%zu: column %zu: class '%s' is not a valid class index",
                                    c->path, c->line, col + 1, show(fs, fe, shown));
            }
            labels[r] = (int32_t)v;
        } else {
            targets[r * c->ntc + col] = (float)v;
        }
    }
    return 0;
}

/* See data_formats.h. */
int rt_csv_load(const char *path, size_t dim, rt_target_kind kind, size_t ntarget, int nclasses,
                rt_dataset *out, char *err, size_t errlen)
{
    csv_ctx c = {path, 0, 0, dim, kind, nclasses, err, errlen};
    float *xf = NULL, *targets = NULL;
    int32_t *labels = NULL;
    int rc = -1;

    memset(out, 0, sizeof *out);
    if (kind == RT_TARGET_CLASS)
        c.ntc = 1;
    else if (kind == RT_TARGET_VALUES)
        c.ntc = ntarget;
    if (kind == RT_TARGET_VALUES && ntarget == 0)
        return rt_errf(err, errlen, "%s: regression targets need at least one column", path);
    if (dim > SIZE_MAX / 16 || c.ntc > SIZE_MAX / 16)
        return rt_errf(err, errlen, "%s: too many columns", path);

    size_t len;
    char *text = slurp(path, &len, err, errlen);
    if (!text)
        return -1;
    if (len >= 2 && (unsigned char)text[0] == 0x1f && (unsigned char)text[1] == 0x8b) {
        free(text);
        return rt_errf(err, errlen,
                            "%s: gzip-compressed; a CSV must be plain text (an IDX data set is "
                            "given as its directory)",
                            path);
    }
    char *p = text, *end = text + len;
    if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
        p += 3;

    /* Upper bound on the rows, to allocate once: every data row has ncols
     * fields so at least 2*ncols-1 bytes, and is a non-blank line.  The
     * bound keeps a file of blank lines from costing rows * dim floats. */
    size_t ncols = c.ntc + dim, nonblank = 0;
    for (char *q = p; q < end;) {
        char *nl = memchr(q, '\n', (size_t)(end - q));
        char *le = nl ? nl : end;
        for (char *k = q; k < le; k++)
            if (!is_blank(*k) && *k != '\r') {
                nonblank++;
                break;
            }
        q = le + 1;
    }
    size_t maxrows = len / (2 * ncols - 1) + 1;
    if (maxrows > nonblank)
        maxrows = nonblank;
    if (maxrows > SIZE_MAX / sizeof(float) / dim ||
        (c.ntc > 0 && maxrows > SIZE_MAX / sizeof(float) / c.ntc)) {
        rt_errf(err, errlen, "%s: too large to load", path);
        goto done;
    }
    size_t rows_alloc = maxrows ? maxrows : 1;
    xf = malloc(rows_alloc * dim * sizeof *xf);
    if (kind == RT_TARGET_CLASS)
        labels = malloc(rows_alloc * sizeof *labels);
    else if (kind == RT_TARGET_VALUES)
        targets = malloc(rows_alloc * c.ntc * sizeof *targets);
    if (!xf || (kind == RT_TARGET_CLASS && !labels) || (kind == RT_TARGET_VALUES && !targets)) {
        rt_errf(err, errlen, "%s: out of memory", path);
        goto done;
    }

    size_t n = 0, blank_line = 0;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *le = nl ? nl : end, *next = nl ? nl + 1 : end;
        c.line++;
        if (le > p && le[-1] == '\r')
            le--;
        char *s = p;
        while (s < le && is_blank(*s))
            s++;
        p = next;
        if (s == le) {
            if (!blank_line)
                blank_line = c.line;
            continue;
        }
        if (blank_line) {
            rt_errf(err, errlen, "%s:%zu: empty line (allowed only at the end of the file)",
                         path, blank_line);
            goto done;
        }
        if (c.line == 1 && is_header(s, le))
            continue; /* the header */
        if (n >= maxrows || n >= UINT32_MAX) {
            /* Unreachable for maxrows (a row shorter than 2*ncols-1 bytes
             * fails the column count first); UINT32_MAX is the limit of
             * rt_data_gather's indices. */
            rt_errf(err, errlen, "%s:%zu: too many rows", path, c.line);
            goto done;
        }
        if (parse_row(&c, s, le, n, xf, labels, targets) != 0)
            goto done;
        n++;
    }
    if (n == 0) {
        rt_errf(err, errlen, "%s: no data rows", path);
        goto done;
    }

    /* Give back the rows reserved for a header or never filled. */
    if (n < rows_alloc) {
        float *s1 = realloc(xf, n * dim * sizeof *xf);
        xf = s1 ? s1 : xf;
        if (labels) {
            int32_t *s2 = realloc(labels, n * sizeof *labels);
            labels = s2 ? s2 : labels;
        }
        if (targets) {
            float *s3 = realloc(targets, n * c.ntc * sizeof *targets);
            targets = s3 ? s3 : targets;
        }
    }

    out->n = n;
    out->dim = dim;
    out->xf = xf;
    out->labels = labels;
    out->targets = targets;
    out->ntarget = kind == RT_TARGET_VALUES ? c.ntc : 0;
    xf = NULL;
    labels = NULL;
    targets = NULL;
    rc = 0;
done:
    free(text);
    free(xf);
    free(labels);
    free(targets);
    return rc;
}
