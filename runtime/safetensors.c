/* safetensors.c — writes safetensors checkpoints (F32, I8, I32), and the
 * helpers the reader shares (st_header.c parses, st_load.c loads).
 *
 * Layout: u64 little-endian header length N; N bytes of JSON
 *
 *   {"__metadata__":{"key":"value"},"0.weight":{"dtype":"F32",
 *    "shape":[256,784],"data_offsets":[0,802816]},...}
 *
 * compact, as the reference implementation writes it, and padded with
 * spaces so the data starts 8-byte aligned; then the tensors' bytes,
 * little-endian, back to back in header order, offsets relative to the
 * start of the data. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic_file.h"
#include "safetensors.h"
#include "st_internal.h"

/* Floats converted per fwrite when saving. */
#define CHUNK 4096

/* See safetensors.h. */
const char *rt_st_show(const char *s, char out[RT_ST_SHOW_MAX + 4])
{
    size_t k = 0;
    for (; k < RT_ST_SHOW_MAX && s[k]; k++)
        out[k] = ((unsigned char)s[k] < 0x20 || s[k] == 0x7f) ? '?' : s[k];
    if (s[k]) {
        memcpy(out + k, "...", 3);
        k += 3;
    }
    out[k] = '\0';
    return out;
}

/* See st_internal.h. */
int rt_st_utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        size_t k;
        uint32_t cp, min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            k = 1, cp = c & 0x1F, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            k = 2, cp = c & 0x0F, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            k = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return 0;
        }
        if (n - i - 1 < k)
            return 0;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xC0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + j] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += k + 1;
    }
    return 1;
}

/* See st_internal.h. */
int64_t rt_st_tensor_bytes(const rt_tensor *t)
{
    uint64_t count = 1;
    if (t->rank < 0 || t->rank > RT_ST_MAX_RANK)
        return -1;
    for (int d = 0; d < t->rank; d++) {
        if (t->shape[d] < 0)
            return -1;
        uint64_t s = (uint64_t)t->shape[d];
        if (s != 0 && count > (uint64_t)(INT64_MAX / 4) / s)
            return -1;
        count *= s;
    }
    return (int64_t)(count * (t->dtype == RT_ST_I8 ? 1 : 4));
}

/* ------------------------------------------------------------------ */
/* Writing                                                            */
/* ------------------------------------------------------------------ */

/* A growing byte string; oom latches the first allocation failure so the
 * header can be built without checking every append. */
typedef struct {
    char *p;
    size_t len, cap;
    int oom;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->cap - b->len < n + 1) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap - b->len < n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_str(sbuf *b, const char *s)
{
    sb_put(b, s, strlen(s));
}

/* A JSON string literal, escaped the way serde_json escapes. */
static void sb_json(sbuf *b, const char *s)
{
    sb_put(b, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[8];
        switch (c) {
        case '"': sb_put(b, "\\\"", 2); break;
        case '\\': sb_put(b, "\\\\", 2); break;
        case '\b': sb_put(b, "\\b", 2); break;
        case '\f': sb_put(b, "\\f", 2); break;
        case '\n': sb_put(b, "\\n", 2); break;
        case '\r': sb_put(b, "\\r", 2); break;
        case '\t': sb_put(b, "\\t", 2); break;
        default:
            if (c < 0x20) {
                snprintf(esc, sizeof esc, "\\u%04x", c);
                sb_put(b, esc, 6);
            } else {
                sb_put(b, s, 1);
            }
        }
    }
    sb_put(b, "\"", 1);
}

static void sb_u64(sbuf *b, uint64_t v)
{
    char num[24];
    snprintf(num, sizeof num, "%llu", (unsigned long long)v);
    sb_str(b, num);
}

/* Check what rt_st_save is given, so a bad call fails before any file is
 * touched and never writes a file the reader (or PyTorch) would refuse. */
static int check_save_args(const char *path, const rt_tensor *t, int n, const char *const *keys,
                           const char *const *vals, int nmeta, char *err, size_t errlen)
{
    char sh[RT_ST_SHOW_MAX + 4];
    if (n < 0 || nmeta < 0 || (n > 0 && !t) || (nmeta > 0 && (!keys || !vals)))
        return rt_errf(err, errlen, "%s: bad arguments to save", path);
    for (int i = 0; i < n; i++) {
        const char *nm = t[i].name;
        if (!nm || !*nm)
            return rt_errf(err, errlen, "%s: tensor %d has no name", path, i);
        if (!rt_st_utf8_valid((const unsigned char *)nm, strlen(nm)))
            return rt_errf(err, errlen, "%s: tensor name '%s' is not valid UTF-8", path,
                              rt_st_show(nm, sh));
        if (strcmp(nm, "__metadata__") == 0)
            return rt_errf(err, errlen, "%s: '__metadata__' cannot be a tensor name", path);
        int64_t bytes = rt_st_tensor_bytes(&t[i]);
        if (bytes < 0)
            return rt_errf(err, errlen, "%s: tensor '%s' has a bad shape (rank %d)", path,
                              rt_st_show(nm, sh), t[i].rank);
        if (t[i].dtype != RT_ST_F32 && t[i].dtype != RT_ST_I8 && t[i].dtype != RT_ST_I32)
            return rt_errf(err, errlen, "%s: tensor '%s' has an unknown dtype", path, rt_st_show(nm, sh));
        if (bytes > 0 && !(t[i].dtype == RT_ST_F32 ? (const void *)t[i].data : t[i].ints))
            return rt_errf(err, errlen, "%s: tensor '%s' has no data", path, rt_st_show(nm, sh));
        for (int j = 0; j < i; j++)
            if (strcmp(t[j].name, nm) == 0)
                return rt_errf(err, errlen, "%s: two tensors are called '%s'", path,
                                  rt_st_show(nm, sh));
    }
    for (int i = 0; i < nmeta; i++) {
        if (!keys[i] || !vals[i])
            return rt_errf(err, errlen, "%s: metadata entry %d is NULL", path, i);
        if (!rt_st_utf8_valid((const unsigned char *)keys[i], strlen(keys[i])) ||
            !rt_st_utf8_valid((const unsigned char *)vals[i], strlen(vals[i])))
            return rt_errf(err, errlen, "%s: metadata '%s' is not valid UTF-8", path,
                              rt_st_show(keys[i], sh));
        for (int j = 0; j < i; j++)
            if (strcmp(keys[j], keys[i]) == 0)
                return rt_errf(err, errlen, "%s: metadata key '%s' appears twice", path,
                                  rt_st_show(keys[i], sh));
    }
    return 0;
}

/* The JSON header, padded with spaces to a multiple of 8 bytes. */
static int build_header(sbuf *b, const rt_tensor *t, int n, const char *const *keys,
                        const char *const *vals, int nmeta)
{
    uint64_t off = 0;
    sb_put(b, "{", 1);
    if (nmeta > 0) {
        sb_str(b, "\"__metadata__\":{");
        for (int i = 0; i < nmeta; i++) {
            if (i)
                sb_put(b, ",", 1);
            sb_json(b, keys[i]);
            sb_put(b, ":", 1);
            sb_json(b, vals[i]);
        }
        sb_put(b, "}", 1);
    }
    for (int i = 0; i < n; i++) {
        if (i || nmeta > 0)
            sb_put(b, ",", 1);
        sb_json(b, t[i].name);
        sb_str(b, t[i].dtype == RT_ST_I8 ? ":{\"dtype\":\"I8\",\"shape\":["
                  : t[i].dtype == RT_ST_I32 ? ":{\"dtype\":\"I32\",\"shape\":["
                                            : ":{\"dtype\":\"F32\",\"shape\":[");
        for (int d = 0; d < t[i].rank; d++) {
            if (d)
                sb_put(b, ",", 1);
            sb_u64(b, (uint64_t)t[i].shape[d]);
        }
        uint64_t end = off + (uint64_t)rt_st_tensor_bytes(&t[i]);
        sb_str(b, "],\"data_offsets\":[");
        sb_u64(b, off);
        sb_put(b, ",", 1);
        sb_u64(b, end);
        sb_str(b, "]}");
        off = end;
    }
    sb_put(b, "}", 1);
    while (!b->oom && b->len % 8 != 0)
        sb_put(b, " ", 1);
    return b->oom ? -1 : 0;
}

/* Write count 4-byte words (floats or int32s) little-endian whatever the
 * host's byte order: each word's bits are split into bytes explicitly. */
static int write_words(FILE *f, const void *words, size_t count)
{
    unsigned char buf[CHUNK * 4];
    const unsigned char *x = words;
    while (count > 0) {
        size_t m = count < CHUNK ? count : CHUNK;
        for (size_t i = 0; i < m; i++) {
            uint32_t u;
            memcpy(&u, x + 4 * i, 4);
            buf[4 * i] = (unsigned char)u;
            buf[4 * i + 1] = (unsigned char)(u >> 8);
            buf[4 * i + 2] = (unsigned char)(u >> 16);
            buf[4 * i + 3] = (unsigned char)(u >> 24);
        }
        if (fwrite(buf, 4, m, f) != m)
            return -1;
        x += 4 * m;
        count -= m;
    }
    return 0;
}

/* See safetensors.h.  The file is written through rt_af (atomic_file.h):
 * a temporary file beside path, fsynced and renamed over it, so an existing
 * checkpoint survives a failed save and a crash of netc or the machine. */
int rt_st_save(const char *path, const rt_tensor *t, int n, const char *const *keys,
               const char *const *vals, int nmeta, char *err, size_t errlen)
{
    if (!path)
        return rt_errf(err, errlen, "rt_st_save: no path");
    if (check_save_args(path, t, n, keys, vals, nmeta, err, errlen) != 0)
        return -1;

    sbuf hdr = {0};
    if (build_header(&hdr, t, n, keys, vals, nmeta) != 0) {
        free(hdr.p);
        return rt_errf(err, errlen, "%s: out of memory", path);
    }
    rt_af *a = rt_af_begin(path, err, errlen);
    if (!a) {
        free(hdr.p);
        return -1;
    }
    FILE *f = rt_af_stream(a);
    unsigned char len8[8];
    for (int i = 0; i < 8; i++)
        len8[i] = (unsigned char)((uint64_t)hdr.len >> (8 * i));
    /* A failed write is reported by rt_af_commit, with the errno it had. */
    int bad = fwrite(len8, 1, 8, f) != 8 || fwrite(hdr.p, 1, hdr.len, f) != hdr.len;
    for (int i = 0; i < n && !bad; i++)
        bad = t[i].dtype == RT_ST_I8 ? fwrite(t[i].ints, 1, (size_t)rt_st_tensor_bytes(&t[i]), f) !=
                                           (size_t)rt_st_tensor_bytes(&t[i])
                                     : write_words(f, t[i].dtype == RT_ST_F32 ? (const void *)t[i].data : t[i].ints,
                                                   (size_t)rt_st_tensor_bytes(&t[i]) / 4) != 0;
    if (bad)
        rt_af_error(a, errno);
    free(hdr.p);
    return rt_af_commit(a, err, errlen);
}
