/* npy.c — reads a NumPy directory: NAME-images.npy and NAME-labels.npy, NAME
 * being "train" or "t10k" as in an IDX directory, written by numpy.save.
 *
 * A .npy file is the magic "\x93NUMPY", a major and minor version byte, a
 * little-endian header length (u16 in version 1, u32 in versions 2 and 3),
 * a Python dict literal {'descr': ..., 'fortran_order': ..., 'shape': ...}
 * and the array's bytes.  Images are uint8 ('|u1', kept as bytes and
 * scaled by 1/255 when gathered, as IDX pixels are) or little-endian
 * float32 ('<f4', used as they are); labels are integers ('|u1', '<i4' or
 * '<i8').  Only C order is read: a Fortran-order array would have its
 * samples interleaved, and reading it as C order would silently scramble
 * them. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data.h"
#include "data_formats.h"
#include "regular_file.h"

/* A header longer than this is not something numpy.save writes for the
 * arrays netc reads; refusing it bounds the allocation a hostile file can
 * ask for before any array byte has been seen. */
#define NPY_MAX_HEADER 65536u
#define NPY_MAX_DIMS 8

typedef enum { NPY_U8, NPY_I32, NPY_I64, NPY_F32 } npy_dtype;

typedef struct {
    npy_dtype dtype;
    size_t ndim;
    size_t shape[NPY_MAX_DIMS];
} npy_header;

static size_t npy_elem_size(npy_dtype t)
{
    return t == NPY_U8 ? 1 : t == NPY_I64 ? 8 : 4;
}

/* The quoted value after key in the header dict, into out (outlen bytes). */
static int dict_string(const char *h, const char *key, char *out, size_t outlen)
{
    const char *p = strstr(h, key);
    if (!p)
        return -1;
    p = strchr(p + strlen(key), ':');
    if (!p)
        return -1;
    p++;
    while (*p == ' ')
        p++;
    if (*p != '\'' && *p != '"')
        return -1;
    const char q = *p++;
    const char *e = strchr(p, q);
    if (!e || (size_t)(e - p) >= outlen)
        return -1;
    memcpy(out, p, (size_t)(e - p));
    out[e - p] = '\0';
    return 0;
}

/* Parse the header dict h of path into *hd. */
static int parse_dict(const char *path, const char *h, npy_header *hd, char *err, size_t errlen)
{
    char descr[16];
    if (dict_string(h, "'descr'", descr, sizeof descr) != 0)
        return rt_errf(err, errlen, "%s: .npy header has no 'descr'", path);
    if (strcmp(descr, "|u1") == 0 || strcmp(descr, "<u1") == 0)
        hd->dtype = NPY_U8;
    else if (strcmp(descr, "<f4") == 0)
        hd->dtype = NPY_F32;
    else if (strcmp(descr, "<i4") == 0)
        hd->dtype = NPY_I32;
    else if (strcmp(descr, "<i8") == 0)
        hd->dtype = NPY_I64;
    else
        return rt_errf(err, errlen, "%s: .npy dtype '%s' is not read (uint8 '|u1', float32 '<f4', "
                                    "int32 '<i4' or int64 '<i8')", path, descr);

    const char *fo = strstr(h, "'fortran_order'");
    if (!fo)
        return rt_errf(err, errlen, "%s: .npy header has no 'fortran_order'", path);
    fo = strchr(fo + strlen("'fortran_order'"), ':');
    if (!fo)
        return rt_errf(err, errlen, "%s: malformed .npy header", path);
    fo++;
    while (*fo == ' ')
        fo++;
    if (strncmp(fo, "True", 4) == 0)
        return rt_errf(err, errlen, "%s: .npy array is in Fortran order; save it in C order "
                                    "(numpy.ascontiguousarray)", path);
    if (strncmp(fo, "False", 5) != 0)
        return rt_errf(err, errlen, "%s: malformed .npy header", path);

    const char *s = strstr(h, "'shape'");
    if (!s || !(s = strchr(s, '(')))
        return rt_errf(err, errlen, "%s: .npy header has no 'shape'", path);
    s++;
    hd->ndim = 0;
    for (;;) {
        while (*s == ' ' || *s == ',')
            s++;
        if (*s == ')')
            break;
        if (*s < '0' || *s > '9' || hd->ndim == NPY_MAX_DIMS)
            return rt_errf(err, errlen, "%s: malformed .npy shape", path);
        char *end;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno || v > SIZE_MAX / 8)
            return rt_errf(err, errlen, "%s: .npy shape too large", path);
        hd->shape[hd->ndim++] = (size_t)v;
        s = end;
    }
    return 0;
}

/* Read path's header into *hd and the array body into *body (malloc'd,
 * exactly the bytes the shape needs; trailing or missing bytes are errors). */
static int npy_read(const char *path, npy_header *hd, void **body, char *err, size_t errlen)
{
    *body = NULL;
    FILE *f = rt_fopen_regular(path, err, errlen);
    if (!f)
        return -1;
    unsigned char pre[12];
    int rc = -1;
    char *h = NULL;
    if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0) {
        rt_errf(err, errlen, "%s: not a .npy file (no \\x93NUMPY magic)", path);
        goto out;
    }
    size_t hlen;
    if (pre[6] == 1) {
        hlen = (size_t)pre[8] | (size_t)pre[9] << 8;
    } else if (pre[6] == 2 || pre[6] == 3) {
        if (fread(pre + 10, 1, 2, f) != 2) {
            rt_errf(err, errlen, "%s: truncated .npy header", path);
            goto out;
        }
        hlen = (size_t)pre[8] | (size_t)pre[9] << 8 | (size_t)pre[10] << 16 | (size_t)pre[11] << 24;
    } else {
        rt_errf(err, errlen, "%s: .npy format version %d is not read (1, 2 or 3)", path, pre[6]);
        goto out;
    }
    if (hlen == 0 || hlen > NPY_MAX_HEADER) {
        rt_errf(err, errlen, "%s: .npy header length %zu out of range", path, hlen);
        goto out;
    }
    h = malloc(hlen + 1);
    if (!h) {
        rt_errf(err, errlen, "%s: out of memory", path);
        goto out;
    }
    if (fread(h, 1, hlen, f) != hlen) {
        rt_errf(err, errlen, "%s: truncated .npy header", path);
        goto out;
    }
    h[hlen] = '\0';
    if (parse_dict(path, h, hd, err, errlen) != 0)
        goto out;

    size_t count = 1;
    for (size_t i = 0; i < hd->ndim; i++) {
        if (hd->shape[i] != 0 && count > SIZE_MAX / 8 / hd->shape[i]) {
            rt_errf(err, errlen, "%s: .npy shape too large", path);
            goto out;
        }
        count *= hd->shape[i];
    }
    const size_t bytes = count * npy_elem_size(hd->dtype);
    /* The body must be exactly what the shape says; the file's size is
     * checked before allocating, so a header claiming a huge shape costs
     * nothing. */
    struct stat st;
    const long at = ftell(f);
    if (fstat(fileno(f), &st) != 0 || at < 0 || (uint64_t)st.st_size < (uint64_t)at ||
        (uint64_t)st.st_size - (uint64_t)at != (uint64_t)bytes) {
        rt_errf(err, errlen, "%s: .npy body is %lld bytes, its shape needs %zu", path,
                (long long)(at < 0 ? -1 : (long long)st.st_size - at), bytes);
        goto out;
    }
    *body = malloc(bytes ? bytes : 1);
    if (!*body) {
        rt_errf(err, errlen, "%s: out of memory", path);
        goto out;
    }
    if (fread(*body, 1, bytes, f) != bytes) {
        rt_errf(err, errlen, "%s: truncated .npy body", path);
        goto out;
    }
    rc = 0;
out:
    free(h);
    fclose(f);
    if (rc != 0) {
        free(*body);
        *body = NULL;
    }
    return rc;
}

/* dir/NAME-KIND.npy into a new string. */
static char *npy_path(const char *dir, rt_split split, const char *kind)
{
    const char *name = split == RT_SPLIT_TRAIN ? "train" : "t10k";
    size_t dl = strlen(dir);
    const char *sep = (dl > 0 && dir[dl - 1] == '/') ? "" : "/";
    size_t len = dl + strlen(sep) + strlen(name) + strlen(kind) + sizeof "-.npy";
    char *p = malloc(len);
    if (p)
        snprintf(p, len, "%s%s%s-%s.npy", dir, sep, name, kind);
    return p;
}

/* See data_formats.h. */
int rt_npy_is_dir(const char *dir, rt_split split)
{
    char *p = npy_path(dir, split, "images");
    struct stat st;
    int yes = p && stat(p, &st) == 0 && S_ISREG(st.st_mode);
    free(p);
    return yes;
}

/* The labels body as int32 class indices in [0, nclasses) into out->labels. */
static int npy_labels(const char *path, const npy_header *hd, const void *body, size_t n, int nclasses,
                      rt_dataset *out, char *err, size_t errlen)
{
    if (hd->dtype == NPY_F32)
        return rt_errf(err, errlen, "%s: labels must be integers (uint8, int32 or int64), not float32",
                       path);
    if (hd->ndim != 1 || hd->shape[0] != n)
        return rt_errf(err, errlen, "%s: labels must have shape (%zu,), one per image", path, n);
    out->labels = malloc((n ? n : 1) * sizeof *out->labels);
    if (!out->labels)
        return rt_errf(err, errlen, "%s: out of memory", path);
    for (size_t i = 0; i < n; i++) {
        int64_t v;
        if (hd->dtype == NPY_U8)
            v = ((const uint8_t *)body)[i];
        else if (hd->dtype == NPY_I32) {
            int32_t w;
            memcpy(&w, (const char *)body + 4 * i, 4);
            v = w;
        } else
            memcpy(&v, (const char *)body + 8 * i, 8);
        if (v < 0 || (nclasses > 0 && v >= nclasses))
            return rt_errf(err, errlen, "%s: label %lld of sample %zu outside [0, %d)", path,
                           (long long)v, i, nclasses);
        out->labels[i] = (int32_t)v;
    }
    return 0;
}

/* See data_formats.h.  netc reads little-endian files on little-endian
 * hosts only (the targets netc builds for); the byte order is checked in
 * the dtype string. */
int rt_npy_load(const char *dir, rt_split split, size_t dim, int nclasses, rt_dataset *out, char *err,
                size_t errlen)
{
    memset(out, 0, sizeof *out);
    char *ip = npy_path(dir, split, "images"), *lp = npy_path(dir, split, "labels");
    void *ib = NULL, *lb = NULL;
    npy_header ih, lh;
    int rc = -1;
    if (!ip || !lp) {
        rt_errf(err, errlen, "%s: out of memory", dir);
        goto out;
    }
    if (npy_read(ip, &ih, &ib, err, errlen) != 0)
        goto out;
    if (ih.dtype != NPY_U8 && ih.dtype != NPY_F32) {
        rt_errf(err, errlen, "%s: images must be uint8 or float32", ip);
        goto out;
    }
    if (ih.ndim < 2) {
        rt_errf(err, errlen, "%s: images must have shape (N, ...), one row per sample", ip);
        goto out;
    }
    size_t per = 1;
    for (size_t i = 1; i < ih.ndim; i++)
        per *= ih.shape[i];
    if (per != dim) {
        rt_errf(err, errlen, "%s: %zu values per sample, the model's input has %zu", ip, per, dim);
        goto out;
    }
    const size_t n = ih.shape[0];
    if (n == 0) {
        rt_errf(err, errlen, "%s: no samples", ip);
        goto out;
    }
    if (npy_read(lp, &lh, &lb, err, errlen) != 0)
        goto out;
    out->n = n;
    out->dim = dim;
    if (npy_labels(lp, &lh, lb, n, nclasses, out, err, errlen) != 0)
        goto out;
    if (ih.dtype == NPY_F32)
        for (size_t i = 0; i < n * dim; i++)
            if (!isfinite(((const float *)ib)[i])) {
                rt_errf(err, errlen, "%s: value %zu of sample %zu is not finite", ip, i % dim, i / dim);
                goto out;
            }
    if (ih.dtype == NPY_U8)
        out->x8 = ib;
    else
        out->xf = ib;
    ib = NULL;
    rc = 0;
out:
    free(ib);
    free(lb);
    free(ip);
    free(lp);
    if (rc != 0)
        rt_data_free(out);
    return rc;
}
