/* st_header.c — the JSON parser for safetensors headers.
 *
 * It accepts exactly the fixed three-level grammar of the format:
 *
 *   header := '{' [ entry (',' entry)* ] '}' whitespace*
 *   entry  := string ':' ( meta | tensor )      meta only for "__metadata__"
 *   meta   := '{' [ string ':' string (',' ...)* ] '}'
 *   tensor := { "dtype": string, "shape": [int*], "data_offsets": [int, int] }
 *             (the three fields in any order, each exactly once)
 *
 * with standard JSON strings (all escapes, \uXXXX with surrogate pairs)
 * and non-negative integers.  Each level is its own function, so there is
 * no recursion to overflow; every read is bounds-checked.  It is stricter
 * than JSON requires -- duplicate or unknown fields are errors -- because
 * a checkpoint that loads wrong is worse than one that does not load. */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "st_internal.h"

/* Parser state: the header text s[0..len), NUL-terminated at len. */
typedef struct {
    char *s;
    size_t len, pos;
    const char *path;
    char *err;
    size_t errlen;
} jp;

static int peek(const jp *p)
{
    return p->pos < p->len ? (unsigned char)p->s[p->pos] : -1;
}

static void skip_ws(jp *p)
{
    while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' ||
                               p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
        p->pos++;
}

/* Report a syntax problem at the current position; positions are file
 * offsets (the header starts at byte 8). */
static int bad(jp *p, const char *what)
{
    int c = peek(p);
    if (c < 0)
        return rt_errf(p->err, p->errlen,
                          "%s: malformed header: %s, found the end of the header", p->path, what);
    if (c >= 0x20 && c < 0x7f)
        return rt_errf(p->err, p->errlen, "%s: malformed header at byte %zu: %s, found '%c'",
                          p->path, p->pos + 8, what, c);
    return rt_errf(p->err, p->errlen, "%s: malformed header at byte %zu: %s, found byte 0x%02x",
                      p->path, p->pos + 8, what, (unsigned)c);
}

/* Skip whitespace, then require character c. */
static int expect(jp *p, char c, const char *what)
{
    skip_ws(p);
    if (peek(p) != (unsigned char)c)
        return bad(p, what);
    p->pos++;
    return 0;
}

static int hex4(const char *s, uint32_t *v)
{
    *v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0)
            return -1;
        *v = *v << 4 | (uint32_t)d;
    }
    return 0;
}

/* Parse a string at the current position (after whitespace), decoding it
 * in place: the decoded text starts at the opening quote and is never
 * longer than the escaped text, so it always fits, and the NUL lands at
 * most on the closing quote. */
static int parse_string(jp *p, const char **out)
{
    skip_ws(p);
    if (peek(p) != '"')
        return bad(p, "expected a string");
    char *w = p->s + p->pos;
    *out = w;
    p->pos++;
    for (;;) {
        int c = peek(p);
        if (c < 0)
            return bad(p, "unterminated string");
        if (c == '"') {
            p->pos++;
            *w = '\0';
            return 0;
        }
        if (c < 0x20)
            return bad(p, "control character in a string");
        if (c != '\\') {
            *w++ = (char)c;
            p->pos++;
            continue;
        }
        if (p->len - p->pos < 2)
            return bad(p, "unterminated string");
        char e = p->s[p->pos + 1];
        const char *simple = strchr("\"\\/bfnrt", e);
        if (e && simple) {
            *w++ = "\"\\/\b\f\n\r\t"[simple - "\"\\/bfnrt"];
            p->pos += 2;
            continue;
        }
        if (e != 'u')
            return bad(p, "unknown escape in a string");
        uint32_t cp, lo;
        if (p->len - p->pos < 6 || hex4(p->s + p->pos + 2, &cp) != 0)
            return bad(p, "bad \\u escape");
        if (cp >= 0xDC00 && cp <= 0xDFFF)
            return bad(p, "unpaired surrogate in \\u escape");
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (p->len - p->pos < 12 || p->s[p->pos + 6] != '\\' || p->s[p->pos + 7] != 'u' ||
                hex4(p->s + p->pos + 8, &lo) != 0 || lo < 0xDC00 || lo > 0xDFFF)
                return bad(p, "unpaired surrogate in \\u escape");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            p->pos += 6;
        }
        if (cp == 0)
            return bad(p, "\\u0000 in a string");
        p->pos += 6;
        if (cp < 0x80) {
            *w++ = (char)cp;
        } else if (cp < 0x800) {
            *w++ = (char)(0xC0 | cp >> 6);
            *w++ = (char)(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            *w++ = (char)(0xE0 | cp >> 12);
            *w++ = (char)(0x80 | (cp >> 6 & 0x3F));
            *w++ = (char)(0x80 | (cp & 0x3F));
        } else {
            *w++ = (char)(0xF0 | cp >> 18);
            *w++ = (char)(0x80 | (cp >> 12 & 0x3F));
            *w++ = (char)(0x80 | (cp >> 6 & 0x3F));
            *w++ = (char)(0x80 | (cp & 0x3F));
        }
    }
}

/* A non-negative JSON integer below 2^63. */
static int parse_uint(jp *p, uint64_t *v)
{
    skip_ws(p);
    int c = peek(p);
    if (c == '-')
        return bad(p, "expected a non-negative integer");
    if (c < '0' || c > '9')
        return bad(p, "expected an integer");
    *v = 0;
    if (c == '0') {
        p->pos++;
    } else {
        while ((c = peek(p)) >= '0' && c <= '9') {
            if (*v > ((uint64_t)INT64_MAX - (uint64_t)(c - '0')) / 10)
                return bad(p, "integer too large");
            *v = *v * 10 + (uint64_t)(c - '0');
            p->pos++;
        }
    }
    c = peek(p);
    if (c == '.' || c == 'e' || c == 'E' || (c >= '0' && c <= '9'))
        return bad(p, "expected an integer");
    return 0;
}

/* "[" integers "]": up to max of them into v, their number into *count. */
static int parse_uint_array(jp *p, uint64_t *v, int max, int *count, const char *name,
                            const char *field)
{
    char sh[RT_ST_SHOW_MAX + 4];
    *count = 0;
    if (expect(p, '[', "expected '['") != 0)
        return -1;
    skip_ws(p);
    if (peek(p) == ']') {
        p->pos++;
        return 0;
    }
    for (;;) {
        uint64_t x = 0;
        if (parse_uint(p, &x) != 0)
            return -1;
        if (*count == max)
            return rt_errf(p->err, p->errlen, "%s: tensor '%s': %s has more than %d entries",
                              p->path, rt_st_show(name, sh), field, max);
        v[(*count)++] = x;
        skip_ws(p);
        if (peek(p) == ']') {
            p->pos++;
            return 0;
        }
        if (expect(p, ',', "expected ',' or ']'") != 0)
            return -1;
    }
}

/* The "__metadata__" object: string keys to string values. */
static int parse_meta(jp *p, rt_st_file *f, size_t *cap)
{
    if (expect(p, '{', "expected '{' after \"__metadata__\"") != 0)
        return -1;
    skip_ws(p);
    if (peek(p) == '}') {
        p->pos++;
        return 0;
    }
    for (;;) {
        const char *k = NULL, *v = NULL;
        if (parse_string(p, &k) != 0 || expect(p, ':', "expected ':'") != 0)
            return -1;
        skip_ws(p);
        if (peek(p) != '"')
            return bad(p, "metadata values must be strings");
        if (parse_string(p, &v) != 0)
            return -1;
        if ((size_t)f->nmeta * 2 + 2 > *cap) {
            size_t ncap = *cap ? *cap * 2 : 16;
            const char **m = realloc(f->meta, ncap * sizeof *m);
            if (!m)
                return rt_errf(p->err, p->errlen, "%s: out of memory", p->path);
            f->meta = m;
            *cap = ncap;
        }
        f->meta[2 * f->nmeta] = k;
        f->meta[2 * f->nmeta + 1] = v;
        f->nmeta++;
        skip_ws(p);
        if (peek(p) == '}') {
            p->pos++;
            return 0;
        }
        if (expect(p, ',', "expected ',' or '}'") != 0)
            return -1;
    }
}

/* One tensor entry {"dtype":..,"shape":[..],"data_offsets":[b,e]}. */
static int parse_entry(jp *p, rt_st_entry *e)
{
    char sh[RT_ST_SHOW_MAX + 4], sh2[RT_ST_SHOW_MAX + 4];
    const char *name = e->t.name, *dtype = NULL;
    int have_shape = 0, have_off = 0;

    if (expect(p, '{', "expected '{' (a tensor entry)") != 0)
        return -1;
    skip_ws(p);
    if (peek(p) != '}') {
        for (;;) {
            const char *k = NULL;
            if (parse_string(p, &k) != 0 || expect(p, ':', "expected ':'") != 0)
                return -1;
            int dup = 0;
            if (strcmp(k, "dtype") == 0) {
                if (!(dup = dtype != NULL) && parse_string(p, &dtype) != 0)
                    return -1;
            } else if (strcmp(k, "shape") == 0) {
                uint64_t s[RT_ST_MAX_RANK] = {0};
                if (!(dup = have_shape++) &&
                    parse_uint_array(p, s, RT_ST_MAX_RANK, &e->t.rank, name, "shape") != 0)
                    return -1;
                for (int d = 0; d < e->t.rank; d++)
                    e->t.shape[d] = (int64_t)s[d];
            } else if (strcmp(k, "data_offsets") == 0) {
                uint64_t o[2] = {0, 0};
                int cnt = 0;
                if (!(dup = have_off++) &&
                    parse_uint_array(p, o, 2, &cnt, name, "data_offsets") != 0)
                    return -1;
                if (!dup && cnt != 2)
                    return rt_errf(p->err, p->errlen,
                                      "%s: tensor '%s': data_offsets needs 2 numbers, found %d",
                                      p->path, rt_st_show(name, sh), cnt);
                e->begin = o[0];
                e->end = o[1];
            } else {
                return rt_errf(p->err, p->errlen, "%s: tensor '%s' has an unknown field '%s'",
                                  p->path, rt_st_show(name, sh), rt_st_show(k, sh2));
            }
            if (dup)
                return rt_errf(p->err, p->errlen, "%s: tensor '%s' has two '%s' fields", p->path,
                                  rt_st_show(name, sh), k);
            skip_ws(p);
            if (peek(p) == '}')
                break;
            if (expect(p, ',', "expected ',' or '}'") != 0)
                return -1;
        }
    }
    p->pos++;
    if (!dtype)
        return rt_errf(p->err, p->errlen, "%s: tensor '%s' has no dtype", p->path,
                          rt_st_show(name, sh));
    /* I64: a torch state_dict's integer state (BatchNorm's
     * num_batches_tracked), read as floats. */
    e->i64 = strcmp(dtype, "I64") == 0;
    e->t.dtype = strcmp(dtype, "I8") == 0 ? RT_ST_I8 : strcmp(dtype, "I32") == 0 ? RT_ST_I32 : RT_ST_F32;
    if (strcmp(dtype, "F32") != 0 && !e->i64 && e->t.dtype == RT_ST_F32)
        return rt_errf(p->err, p->errlen, "%s: tensor '%s' has dtype %s; netc reads F32, I8, I32 (and I64) only",
                          p->path, rt_st_show(name, sh), rt_st_show(dtype, sh2));
    if (!have_shape)
        return rt_errf(p->err, p->errlen, "%s: tensor '%s' has no shape", p->path,
                          rt_st_show(name, sh));
    if (!have_off)
        return rt_errf(p->err, p->errlen, "%s: tensor '%s' has no data_offsets", p->path,
                          rt_st_show(name, sh));
    return 0;
}

/* See st_internal.h.  The whole header: one object of tensor entries and
 * an optional "__metadata__", then only whitespace (the padding). */
int rt_st_parse_header(char *hdr, size_t len, rt_st_file *f, const char *path, char *err,
                       size_t errlen)
{
    jp pstate = {hdr, len, 0, path, err, errlen};
    jp *p = &pstate;
    size_t ecap = 0, mcap = 0;
    int have_meta = 0;

    if (expect(p, '{', "expected '{'") != 0)
        return -1;
    skip_ws(p);
    if (peek(p) == '}') {
        p->pos++;
    } else {
        for (;;) {
            const char *k = NULL;
            if (parse_string(p, &k) != 0 || expect(p, ':', "expected ':'") != 0)
                return -1;
            if (strcmp(k, "__metadata__") == 0) {
                if (have_meta++)
                    return rt_errf(p->err, p->errlen, "%s: two __metadata__ objects", p->path);
                if (parse_meta(p, f, &mcap) != 0)
                    return -1;
            } else {
                if ((size_t)f->n == ecap) {
                    size_t ncap = ecap ? ecap * 2 : 16;
                    rt_st_entry *ne = ncap <= INT_MAX ? realloc(f->e, ncap * sizeof *ne) : NULL;
                    if (!ne)
                        return rt_errf(p->err, p->errlen, "%s: out of memory", p->path);
                    f->e = ne;
                    ecap = ncap;
                }
                rt_st_entry *e = &f->e[f->n++];
                memset(e, 0, sizeof *e);
                e->t.name = k;
                if (parse_entry(p, e) != 0)
                    return -1;
            }
            skip_ws(p);
            if (peek(p) == '}') {
                p->pos++;
                break;
            }
            if (expect(p, ',', "expected ',' or '}'") != 0)
                return -1;
        }
    }
    skip_ws(p);
    if (p->pos != p->len)
        return bad(p, "expected the end of the header");
    return 0;
}
