/* idx.c — reads an IDX directory in the MNIST layout: NAME-images-idx3-ubyte
 * and NAME-labels-idx1-ubyte, each plain or gzipped, NAME being "train" or
 * "t10k".
 *
 * IDX files start with a big-endian u32 magic (0x00000803: u8 data in 3
 * dimensions; 0x00000801: u8 data in 1 dimension), then one big-endian u32
 * per dimension, then the bytes.  zlib's gzread reads plain files
 * transparently, so one code path serves both. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "data.h"
#include "data_formats.h"
#include "regular_file.h"

#define IDX_MAGIC_IMAGES 0x00000803u
#define IDX_MAGIC_LABELS 0x00000801u

/* gzread takes an int-sized length; read in pieces well below that. */
#define GZ_CHUNK (1u << 30)
/* First allocation for a file body; it then doubles as data actually
 * arrives, so a header claiming billions of records costs nothing until
 * the bytes are really there. */
#define FIRST_ALLOC ((size_t)1 << 20)

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static int is_regular(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Set *out to a new string dir/base, or dir/base.gz when only that exists
 * (the plain file wins when both do: it needs no decompression). */
static int find_file(const char *dir, const char *base, char **out, char *err, size_t errlen)
{
    size_t dl = strlen(dir);
    const char *sep = (dl > 0 && dir[dl - 1] == '/') ? "" : "/";
    size_t len = dl + strlen(sep) + strlen(base) + sizeof ".gz";
    char *p = malloc(len);
    if (!p)
        return rt_errf(err, errlen, "%s: out of memory", dir);

    snprintf(p, len, "%s%s%s", dir, sep, base);
    if (is_regular(p)) {
        *out = p;
        return 0;
    }
    snprintf(p, len, "%s%s%s.gz", dir, sep, base);
    if (is_regular(p)) {
        *out = p;
        return 0;
    }
    snprintf(p, len, "%s%s%s", dir, sep, base);
    rt_errf(err, errlen, "%s: missing %s (looked for %s and %s.gz)", dir, base, p, p);
    free(p);
    return -1;
}

/* gzread until n bytes or end of file; returns the bytes read, or -1 on a
 * read or decompression error. */
static long long read_full(gzFile gz, unsigned char *buf, size_t n)
{
    size_t have = 0;
    while (have < n) {
        size_t want = n - have < GZ_CHUNK ? n - have : GZ_CHUNK;
        int r = gzread(gz, buf + have, (unsigned)want);
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        have += (size_t)r;
    }
    return (long long)have;
}

/* zlib's description of the last error on gz (without the "path: " that
 * zlib puts in front), or the system's for I/O errors. */
static const char *gz_why(gzFile gz, const char *path)
{
    int errnum = Z_OK;
    const char *msg = gzerror(gz, &errnum);
    size_t pl = strlen(path);
    if (errnum == Z_ERRNO)
        return strerror(errno);
    if (!msg || !*msg)
        return "read error";
    if (strncmp(msg, path, pl) == 0 && msg[pl] == ':' && msg[pl + 1] == ' ')
        msg += pl + 2;
    return msg;
}

/* Open path and read its hlen-byte header (magic included) into h,
 * checking the magic. */
static gzFile open_idx(const char *path, unsigned char *h, size_t hlen, uint32_t magic,
                       const char *what, char *err, size_t errlen)
{
    int fd = rt_open_regular(path, err, errlen);
    if (fd < 0)
        return NULL;
    gzFile gz = gzdopen(fd, "rb");
    if (!gz) {
        close(fd);
        rt_errf(err, errlen, "%s: cannot open: out of memory", path);
        return NULL;
    }
    gzbuffer(gz, 1u << 17);
    long long got = read_full(gz, h, hlen);
    if (got < 0) {
        rt_errf(err, errlen, "%s: truncated or corrupt: %s", path, gz_why(gz, path));
    } else if ((size_t)got < hlen) {
        rt_errf(err, errlen, "%s: truncated header (%lld of %zu bytes); not an IDX %s file?",
                     path, got, hlen, what);
    } else if (be32(h) != magic) {
        rt_errf(err, errlen,
                     "%s: bad magic number 0x%08x, expected 0x%08x (IDX %s of unsigned bytes)",
                     path, (unsigned)be32(h), (unsigned)magic, what);
    } else {
        return gz;
    }
    gzclose(gz);
    return NULL;
}

/* Read exactly n body bytes (the whole rest of the file) into a new buffer.
 * The buffer grows with the data actually decompressed, so a corrupt count
 * is caught as truncation instead of as a huge allocation. */
static unsigned char *read_body(gzFile gz, const char *path, size_t n, size_t count,
                                const char *what, char *err, size_t errlen)
{
    size_t cap = n < FIRST_ALLOC ? n : FIRST_ALLOC;
    unsigned char *buf = malloc(cap ? cap : 1);
    size_t have = 0;
    if (!buf) {
        rt_errf(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    while (have < n) {
        if (have == cap) {
            size_t ncap = cap > n / 2 ? n : cap * 2;
            unsigned char *nb = realloc(buf, ncap);
            if (!nb) {
                rt_errf(err, errlen, "%s: out of memory reading %zu %s (%zu bytes)", path,
                             count, what, n);
                goto fail;
            }
            buf = nb;
            cap = ncap;
        }
        long long got = read_full(gz, buf + have, cap - have);
        if (got < 0) {
            rt_errf(err, errlen, "%s: truncated or corrupt: %s", path, gz_why(gz, path));
            goto fail;
        }
        if ((size_t)got < cap - have) {
            have += (size_t)got;
            rt_errf(err, errlen,
                         "%s: truncated: the header promises %zu %s (%zu bytes of data), "
                         "the file holds only %zu",
                         path, count, what, n, have);
            goto fail;
        }
        have += (size_t)got;
    }

    /* The file must end here.  Reading one more byte also makes zlib check
     * the gzip trailer (CRC and length), so a damaged archive whose data
     * happens to decompress is still caught. */
    unsigned char extra;
    long long more = read_full(gz, &extra, 1);
    if (more < 0) {
        rt_errf(err, errlen, "%s: truncated or corrupt: %s", path, gz_why(gz, path));
        goto fail;
    }
    if (more > 0) {
        rt_errf(err, errlen, "%s: unexpected data after the %zu %s the header announces", path,
                     count, what);
        goto fail;
    }
    int errnum = Z_OK;
    gzerror(gz, &errnum);
    if (errnum != Z_OK) {
        rt_errf(err, errlen, "%s: truncated or corrupt: %s", path, gz_why(gz, path));
        goto fail;
    }
    return buf;
fail:
    free(buf);
    return NULL;
}

/* See data_formats.h. */
int rt_idx_load(const char *dir, rt_split split, size_t dim, int nclasses, rt_dataset *out,
                char *err, size_t errlen)
{
    static const char *const names[2][2] = {
        {"train-images-idx3-ubyte", "train-labels-idx1-ubyte"},
        {"t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"},
    };
    const char *const *nm = names[split == RT_SPLIT_TEST];
    char *ipath = NULL, *lpath = NULL;
    gzFile igz = NULL, lgz = NULL;
    unsigned char ih[16], lh[8];
    unsigned char *pix = NULL, *lab = NULL;
    int32_t *labels = NULL;
    int rc = -1;

    memset(out, 0, sizeof *out);
    if (find_file(dir, nm[0], &ipath, err, errlen) || find_file(dir, nm[1], &lpath, err, errlen))
        goto done;

    /* Both headers first, so a mismatch is reported before decompressing
     * tens of megabytes. */
    if (!(igz = open_idx(ipath, ih, sizeof ih, IDX_MAGIC_IMAGES, "images", err, errlen)))
        goto done;
    uint32_t n = be32(ih + 4), rows = be32(ih + 8), cols = be32(ih + 12);
    uint64_t per = (uint64_t)rows * cols;
    if (per != dim) {
        rt_errf(err, errlen, "%s: images are %ux%u = %llu values, the model's input is %zu",
                     ipath, (unsigned)rows, (unsigned)cols, (unsigned long long)per, dim);
        goto done;
    }
    if (n == 0) {
        rt_errf(err, errlen, "%s: contains no images", ipath);
        goto done;
    }
    if (!(lgz = open_idx(lpath, lh, sizeof lh, IDX_MAGIC_LABELS, "labels", err, errlen)))
        goto done;
    uint32_t nl = be32(lh + 4);
    if (nl != n) {
        rt_errf(err, errlen, "%s has %u images but %s has %u labels", ipath, (unsigned)n,
                     lpath, (unsigned)nl);
        goto done;
    }
    if ((size_t)n > SIZE_MAX / dim) {
        rt_errf(err, errlen, "%s: %u images of %zu bytes do not fit in memory", ipath,
                     (unsigned)n, dim);
        goto done;
    }

    if (!(pix = read_body(igz, ipath, (size_t)n * dim, n, "images", err, errlen)))
        goto done;
    if (!(lab = read_body(lgz, lpath, n, n, "labels", err, errlen)))
        goto done;
    if (!(labels = malloc((size_t)n * sizeof *labels))) {
        rt_errf(err, errlen, "%s: out of memory", lpath);
        goto done;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (nclasses > 0 && lab[i] >= nclasses) {
            rt_errf(err, errlen,
                         "%s: label %u at index %u is out of range: the model has %d classes "
                         "(0..%d)",
                         lpath, (unsigned)lab[i], (unsigned)i, nclasses, nclasses - 1);
            goto done;
        }
        labels[i] = lab[i];
    }

    out->n = n;
    out->dim = dim;
    out->x8 = pix;
    out->labels = labels;
    pix = NULL;
    labels = NULL;
    rc = 0;
done:
    if (igz)
        gzclose(igz);
    if (lgz)
        gzclose(lgz);
    free(ipath);
    free(lpath);
    free(pix);
    free(lab);
    free(labels);
    return rc;
}
