/* st_load.c — loads a safetensors file: reads it, has the header parsed
 * (st_header.c), validates names and the data layout, converts the data to
 * host floats (int8 / int32 for I8 / I32 tensors); and the accessors of a
 * loaded file.
 *
 * As strict as the reference implementation (header under 100 MB, valid
 * UTF-8, offsets that cover the data exactly without gap or overlap) so
 * any file netc accepts, PyTorch accepts too, and any malformed file gives
 * a message rather than a crash or an out-of-bounds read. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "safetensors.h"
#include "regular_file.h"
#include "st_internal.h"

/* The reference implementation refuses larger headers too. */
#define MAX_HEADER ((uint64_t)100000000)

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Are the strings v[0], v[stride], ... (n of them) all different?  Sorted
 * copy, so a header of a million names stays fast.  Sets *dup to one
 * repeated string.  -1 if out of memory. */
static int find_dup(const char *const *v, size_t stride, size_t n, const char **dup)
{
    *dup = NULL;
    if (n < 2)
        return 0;
    const char **s = malloc(n * sizeof *s);
    if (!s)
        return -1;
    for (size_t i = 0; i < n; i++)
        s[i] = v[i * stride];
    qsort(s, n, sizeof *s, cmp_str);
    for (size_t i = 1; i < n && !*dup; i++)
        if (strcmp(s[i - 1], s[i]) == 0)
            *dup = s[i];
    free(s);
    return 0;
}

static int cmp_begin(const void *a, const void *b)
{
    const rt_st_entry *x = *(const rt_st_entry *const *)a, *y = *(const rt_st_entry *const *)b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return 0;
}

/* Check the entries against the dsize-byte data section: each within it
 * and sized by its shape; together covering it exactly, without overlap or
 * gap (what the reference implementation requires). */
static int check_layout(const rt_st_file *f, uint64_t dsize, const char *path, char *err,
                        size_t errlen)
{
    char sh[RT_ST_SHOW_MAX + 4], sh2[RT_ST_SHOW_MAX + 4];
    for (int i = 0; i < f->n; i++) {
        const rt_st_entry *e = &f->e[i];
        const char *nm = rt_st_show(e->t.name, sh);
        if (e->end < e->begin)
            return rt_errf(err, errlen,
                              "%s: tensor '%s' has data_offsets [%llu, %llu] (end before "
                              "begin)",
                              path, nm, (unsigned long long)e->begin, (unsigned long long)e->end);
        if (e->end > dsize)
            return rt_errf(err, errlen,
                              "%s: tensor '%s' has data_offsets [%llu, %llu] past the end "
                              "of the data (%llu bytes)",
                              path, nm, (unsigned long long)e->begin, (unsigned long long)e->end,
                              (unsigned long long)dsize);
        int64_t bytes = rt_st_tensor_bytes(&e->t);
        if (bytes >= 0 && e->i64)
            bytes = bytes > INT64_MAX / 2 ? -1 : 2 * bytes;
        if (bytes >= 0 && (uint64_t)bytes == e->end - e->begin)
            continue;
        char shape[RT_ST_MAX_RANK * 22 + 4];
        size_t k = 0;
        shape[k++] = '[';
        for (int d = 0; d < e->t.rank; d++)
            k += (size_t)snprintf(shape + k, sizeof shape - k, "%s%lld", d ? ", " : "",
                                  (long long)e->t.shape[d]);
        snprintf(shape + k, sizeof shape - k, "]");
        if (bytes < 0)
            return rt_errf(err, errlen, "%s: tensor '%s' has shape %s, too large for any file",
                              path, nm, shape);
        return rt_errf(err, errlen,
                          "%s: tensor '%s' has shape %s (%lld bytes of %s) but data_offsets "
                          "[%llu, %llu] hold %llu bytes",
                          path, nm, shape, (long long)bytes,
                          e->i64 ? "I64" : e->t.dtype == RT_ST_I8 ? "I8" : e->t.dtype == RT_ST_I32 ? "I32" : "F32", (unsigned long long)e->begin,
                          (unsigned long long)e->end, (unsigned long long)(e->end - e->begin));
    }

    const rt_st_entry **o = malloc((f->n ? (size_t)f->n : 1) * sizeof *o);
    if (!o)
        return rt_errf(err, errlen, "%s: out of memory", path);
    for (int i = 0; i < f->n; i++)
        o[i] = &f->e[i];
    qsort(o, (size_t)f->n, sizeof *o, cmp_begin);
    uint64_t covered = 0;
    int rc = 0;
    for (int i = 0; i < f->n && rc == 0; i++) {
        if (o[i]->begin < covered)
            rc = rt_errf(err, errlen, "%s: tensors '%s' and '%s' overlap in the data", path,
                            rt_st_show(o[i - 1]->t.name, sh), rt_st_show(o[i]->t.name, sh2));
        else if (o[i]->begin > covered)
            rc = rt_errf(err, errlen, "%s: data bytes %llu..%llu belong to no tensor", path,
                            (unsigned long long)covered, (unsigned long long)o[i]->begin);
        covered = o[i]->end;
    }
    if (rc == 0 && covered != dsize)
        rc = rt_errf(err, errlen, "%s: the data section has %llu bytes but the tensors use %llu",
                        path, (unsigned long long)dsize, (unsigned long long)covered);
    free(o);
    return rc;
}

/* No two tensors, and no two metadata keys, with the same name (JSON
 * leaves duplicate keys undefined; we refuse to guess which one counts). */
static int check_names(const rt_st_file *f, const char *path, char *err, size_t errlen)
{
    char sh[RT_ST_SHOW_MAX + 4];
    const char *dup = NULL;
    const char **names = malloc((f->n ? (size_t)f->n : 1) * sizeof *names);
    if (!names)
        return rt_errf(err, errlen, "%s: out of memory", path);
    for (int i = 0; i < f->n; i++)
        names[i] = f->e[i].t.name;
    int rc = find_dup(names, 1, (size_t)f->n, &dup);
    free(names);
    if (rc != 0)
        return rt_errf(err, errlen, "%s: out of memory", path);
    if (dup)
        return rt_errf(err, errlen, "%s: two tensors are called '%s'", path,
                          rt_st_show(dup, sh));
    if (find_dup(f->meta, 2, (size_t)f->nmeta, &dup) != 0)
        return rt_errf(err, errlen, "%s: out of memory", path);
    if (dup)
        return rt_errf(err, errlen, "%s: metadata key '%s' appears twice", path,
                          rt_st_show(dup, sh));
    return 0;
}

/* See safetensors.h. */
void rt_st_free(rt_st_file *f)
{
    if (!f)
        return;
    free(f->hdr);
    free(f->data);
    free(f->e);
    free(f->meta);
    free(f);
}

/* See safetensors.h.  Everything is validated before the data section is
 * allocated, so the allocation is bounded by the real file size. */
rt_st_file *rt_st_load(const char *path, char *err, size_t errlen)
{
    if (!path) {
        rt_errf(err, errlen, "rt_st_load: no path");
        return NULL;
    }
    FILE *fp = rt_fopen_regular(path, err, errlen);
    if (!fp)
        return NULL;
    rt_st_file *f = calloc(1, sizeof *f);
    struct stat st;
    unsigned char len8[8];
    if (!f) {
        rt_errf(err, errlen, "%s: out of memory", path);
        goto fail;
    }
    if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode)) {
        rt_errf(err, errlen, "%s: not a regular file", path);
        goto fail;
    }
    uint64_t fsize = (uint64_t)st.st_size;
    if (fsize < 8) {
        rt_errf(err, errlen, "%s: %s (%llu bytes): not a safetensors file", path,
                   fsize ? "too short" : "empty file", (unsigned long long)fsize);
        goto fail;
    }
    if (fread(len8, 1, 8, fp) != 8) {
        rt_errf(err, errlen, "%s: read error", path);
        goto fail;
    }
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | len8[i];
    if (hlen > fsize - 8) {
        rt_errf(err, errlen,
                   "%s: header length %llu is larger than the rest of the file (%llu "
                   "bytes): not a safetensors file or truncated",
                   path, (unsigned long long)hlen, (unsigned long long)(fsize - 8));
        goto fail;
    }
    if (hlen > MAX_HEADER) {
        rt_errf(err, errlen, "%s: header length %llu is over the %llu-byte limit", path,
                   (unsigned long long)hlen, (unsigned long long)MAX_HEADER);
        goto fail;
    }
    if (!(f->hdr = malloc((size_t)hlen + 1))) {
        rt_errf(err, errlen, "%s: out of memory", path);
        goto fail;
    }
    if (fread(f->hdr, 1, (size_t)hlen, fp) != (size_t)hlen) {
        rt_errf(err, errlen, "%s: truncated header", path);
        goto fail;
    }
    f->hdr[hlen] = '\0';
    if (!rt_st_utf8_valid((const unsigned char *)f->hdr, (size_t)hlen)) {
        rt_errf(err, errlen, "%s: header is not valid UTF-8", path);
        goto fail;
    }

    if (rt_st_parse_header(f->hdr, (size_t)hlen, f, path, err, errlen) != 0)
        goto fail;

    if (check_names(f, path, err, errlen) != 0)
        goto fail;
    uint64_t dsize = fsize - 8 - hlen;
    if (check_layout(f, dsize, path, err, errlen) != 0)
        goto fail;

    /* The raw bytes, then each tensor decoded into its own slot of 4-byte
     * words: an I8 tensor may leave the next one off a word boundary in
     * the file, so nothing is decoded in place. */
    unsigned char *raw = dsize > SIZE_MAX / 2 ? NULL : malloc(dsize ? (size_t)dsize : 1);
    if (!raw) {
        rt_errf(err, errlen, "%s: %s", path, dsize > SIZE_MAX / 2 ? "too large for this machine" : "out of memory");
        goto fail;
    }
    if (fread(raw, 1, (size_t)dsize, fp) != (size_t)dsize) {
        free(raw);
        rt_errf(err, errlen, "%s: truncated data", path);
        goto fail;
    }
    size_t words = 0;
    for (int i = 0; i < f->n; i++) {
        const rt_st_entry *e = &f->e[i];
        const uint64_t bytes = e->end - e->begin;
        f->e[i].slot = words;
        words += (size_t)(e->i64 ? bytes / 8 : e->t.dtype == RT_ST_I8 ? (bytes + 3) / 4 : bytes / 4);
    }
    if (!(f->data = malloc((words ? words : 1) * sizeof *f->data))) {
        free(raw);
        rt_errf(err, errlen, "%s: out of memory", path);
        goto fail;
    }
    for (int i = 0; i < f->n; i++) {
        rt_st_entry *e = &f->e[i];
        const unsigned char *b = raw + e->begin;
        float *d = f->data + e->slot;
        const size_t bytes = (size_t)(e->end - e->begin);
        if (e->t.dtype == RT_ST_I8) {
            memcpy(d, b, bytes);
            e->t.ints = d;
            continue;
        }
        /* Little-endian bytes to host words, portably; an I64 element's
         * two words (low, high) become one float. */
        for (size_t k = 0; k < bytes / (e->i64 ? 8 : 4); k++) {
            const unsigned char *w = b + (e->i64 ? 8 : 4) * k;
            uint32_t lo = (uint32_t)w[0] | (uint32_t)w[1] << 8 | (uint32_t)w[2] << 16 | (uint32_t)w[3] << 24;
            if (e->i64) {
                uint32_t hi = (uint32_t)w[4] | (uint32_t)w[5] << 8 | (uint32_t)w[6] << 16 | (uint32_t)w[7] << 24;
                d[k] = (float)(int64_t)((uint64_t)hi << 32 | lo);
            } else {
                memcpy(&d[k], &lo, 4);
            }
        }
        if (e->t.dtype == RT_ST_I32)
            e->t.ints = d;
        else
            e->t.data = d;
    }
    free(raw);
    fclose(fp);
    return f;
fail:
    fclose(fp);
    rt_st_free(f);
    return NULL;
}

/* See safetensors.h. */
int rt_st_count(const rt_st_file *f)
{
    return f ? f->n : 0;
}

/* See safetensors.h.  NULL when i is out of range. */
const rt_tensor *rt_st_tensor(const rt_st_file *f, int i)
{
    return f && i >= 0 && i < f->n ? &f->e[i].t : NULL;
}

/* See safetensors.h.  A linear search: checkpoints hold tens of tensors. */
const rt_tensor *rt_st_find(const rt_st_file *f, const char *name)
{
    for (int i = 0; f && name && i < f->n; i++)
        if (strcmp(f->e[i].t.name, name) == 0)
            return &f->e[i].t;
    return NULL;
}

/* See safetensors.h. */
const char *rt_st_meta(const rt_st_file *f, const char *key)
{
    for (int i = 0; f && key && i < f->nmeta; i++)
        if (strcmp(f->meta[2 * i], key) == 0)
            return f->meta[2 * i + 1];
    return NULL;
}
