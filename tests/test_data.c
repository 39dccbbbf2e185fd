/* test_data.c — the data loaders: IDX directories (plain and gzipped),
 * CSV files, and rt_data_gather.  Run from the project root (the bundled
 * data set is found at data/mnist-10k). */
#include <check.h>
#include <math.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "testutil.h"
#include "runtime/data.h"

#define MNIST "data/mnist-10k"

/* ---- scratch directory ------------------------------------------------ */

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* Write bytes to dir/name, gzipped when gz. */
static void write_file(const char *dir, const char *name, const void *b, size_t n, int gz)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    if (gz) {
        gzFile f = gzopen(p, "wb");
        ck_assert_ptr_nonnull(f);
        if (n > 0)
            ck_assert_int_eq(gzwrite(f, b, (unsigned)n), (int)n);
        ck_assert_int_eq(gzclose(f), Z_OK);
    } else {
        FILE *f = fopen(p, "wb");
        ck_assert_ptr_nonnull(f);
        ck_assert_uint_eq(fwrite(b, 1, n, f), n);
        ck_assert_int_eq(fclose(f), 0);
    }
}

/* An IDX image file: header (magic, count, rows, cols) then pix. */
static void write_images(const char *dir, const char *name, uint32_t magic, uint32_t count,
                         uint32_t rows, uint32_t cols, const unsigned char *pix, size_t npix,
                         int gz)
{
    unsigned char *b = malloc(16 + npix + 1);
    put_be32(b, magic);
    put_be32(b + 4, count);
    put_be32(b + 8, rows);
    put_be32(b + 12, cols);
    if (npix)
        memcpy(b + 16, pix, npix);
    write_file(dir, name, b, 16 + npix, gz);
    free(b);
}

static void write_labels(const char *dir, const char *name, uint32_t magic, uint32_t count,
                         const unsigned char *lab, size_t nlab, int gz)
{
    unsigned char *b = malloc(8 + nlab + 1);
    put_be32(b, magic);
    put_be32(b + 4, count);
    if (nlab)
        memcpy(b + 8, lab, nlab);
    write_file(dir, name, b, 8 + nlab, gz);
    free(b);
}

/* Three 2x2 images and their labels. */
static const unsigned char PIX[12] = {0, 1, 2, 3, 128, 129, 254, 255, 7, 8, 9, 10};
static const unsigned char LAB[3] = {3, 0, 9};

static void write_small(const char *dir, const char *split, int gz)
{
    char in[64], ln[64];
    snprintf(in, sizeof in, "%s-images-idx3-ubyte%s", split, gz ? ".gz" : "");
    snprintf(ln, sizeof ln, "%s-labels-idx1-ubyte%s", split, gz ? ".gz" : "");
    write_images(dir, in, 0x803, 3, 2, 2, PIX, sizeof PIX, gz);
    write_labels(dir, ln, 0x801, 3, LAB, sizeof LAB, gz);
}

static void check_small(const rt_dataset *ds)
{
    ck_assert_uint_eq(ds->n, 3);
    ck_assert_uint_eq(ds->dim, 4);
    ck_assert_ptr_nonnull(ds->x8);
    ck_assert_ptr_null(ds->xf);
    ck_assert_ptr_null(ds->targets);
    ck_assert_mem_eq(ds->x8, PIX, sizeof PIX);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(ds->labels[i], LAB[i]);
}

/* Load dir expecting failure; the message must contain want. */
static void expect_fail(const char *path, rt_split split, size_t dim, rt_target_kind kind,
                        size_t ntarget, int nclasses, const char *want)
{
    rt_dataset ds;
    char err[512] = "";
    int rc = rt_data_load(path, split, dim, kind, ntarget, nclasses, &ds, err, sizeof err);
    ck_assert_msg(rc == -1, "load of %s succeeded, expected '%s'", path, want);
    ck_assert_msg(strstr(err, want) != NULL, "message '%s' lacks '%s'", err, want);
    ck_assert_ptr_null(ds.x8);
    ck_assert_ptr_null(ds.xf);
    ck_assert_ptr_null(ds.labels);
    ck_assert_uint_eq(ds.n, 0);
}

/* ---- NumPy ------------------------------------------------------------ */

/* numpy.save's own files (scripts/gen_npy_fixtures.py): uint8 images of
 * shape (3, 2, 2) with int64 labels, float32 images (2, 4) with uint8
 * labels. */
START_TEST(npy_fixtures)
{
    rt_dataset ds;
    char err[256] = "";
    ck_assert_msg(rt_data_load("tests/data/npy-u8", RT_SPLIT_TRAIN, 4, RT_TARGET_CLASS, 0, 10, &ds, err,
                               sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(ds.n, 3);
    ck_assert_ptr_nonnull(ds.x8);
    ck_assert_ptr_null(ds.xf);
    for (int i = 0; i < 12; i++)
        ck_assert_uint_eq(ds.x8[i], (unsigned)(i * 20));
    ck_assert_int_eq(ds.labels[0], 2);
    ck_assert_int_eq(ds.labels[1], 0);
    ck_assert_int_eq(ds.labels[2], 1);
    /* Gathered as IDX bytes are: divided by 255. */
    uint32_t idx[2] = {2, 0};
    float x[8], t[2];
    rt_data_gather(&ds, idx, 2, x, t, 0);
    ck_assert_float_eq(x[0], 160.0f / 255.0f);
    ck_assert_float_eq(x[4], 0.0f);
    ck_assert_float_eq(t[0], 1.0f);
    ck_assert_float_eq(t[1], 2.0f);
    rt_data_free(&ds);

    ck_assert_msg(rt_data_load("tests/data/npy-f32", RT_SPLIT_TRAIN, 4, RT_TARGET_CLASS, 0, 4, &ds, err,
                               sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(ds.n, 2);
    ck_assert_ptr_null(ds.x8);
    ck_assert_ptr_nonnull(ds.xf);
    const float want[8] = {0.5f, -1.25f, 3.0f, 0.0f, 1e-3f, 2.0f, -0.5f, 7.5f};
    for (int i = 0; i < 8; i++)
        ck_assert_float_eq(ds.xf[i], want[i]);
    ck_assert_int_eq(ds.labels[0], 1);
    ck_assert_int_eq(ds.labels[1], 3);
    rt_data_free(&ds);
}
END_TEST

/* A version-1 .npy file: magic, version, u16 header length, header, body. */
static void write_npy(const char *dir, const char *name, const char *header, const void *body,
                      size_t n, int major)
{
    unsigned char b[512];
    size_t hl = strlen(header), at = 0;
    memcpy(b, "\x93NUMPY", 6);
    b[6] = (unsigned char)major;
    b[7] = 0;
    b[8] = (unsigned char)hl;
    b[9] = (unsigned char)(hl >> 8);
    at = 10;
    memcpy(b + at, header, hl);
    at += hl;
    if (n)
        memcpy(b + at, body, n);
    write_file(dir, name, b, at + n, 0);
}

START_TEST(npy_errors)
{
    char dir[256], p[512], want[600];
    const unsigned char pix[8] = {1, 2, 3, 4, 5, 6, 7, 8}, lab[2] = {0, 1};
    tu_mkdtemp(dir, sizeof dir, "data");
    const char *u8h = "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 4), }\n";
    const char *labh = "{'descr': '|u1', 'fortran_order': False, 'shape': (2,), }\n";
    write_npy(dir, "train-labels.npy", labh, lab, 2, 1);

    snprintf(p, sizeof p, "%s/train-images.npy", dir);
    write_npy(dir, "train-images.npy", u8h, pix, 7, 1);
    snprintf(want, sizeof want, "%s: .npy body is 7 bytes, its shape needs 8", p);
    expect_fail(dir, RT_SPLIT_TRAIN, 4, RT_TARGET_CLASS, 0, 10, want);

    write_npy(dir, "train-images.npy", u8h, pix, 8, 1);
    snprintf(want, sizeof want, "%s: 4 values per sample, the model's input has 3", p);
    expect_fail(dir, RT_SPLIT_TRAIN, 3, RT_TARGET_CLASS, 0, 10, want);

    write_npy(dir, "train-images.npy", "{'descr': '|u1', 'fortran_order': True, 'shape': (2, 4), }\n",
              pix, 8, 1);
    expect_fail(dir, RT_SPLIT_TRAIN, 4, RT_TARGET_CLASS, 0, 10,
                ".npy array is in Fortran order; save it in C order (numpy.ascontiguousarray)");

    write_npy(dir, "train-images.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 1), }\n",
              pix, 8, 1);
    expect_fail(dir, RT_SPLIT_TRAIN, 1, RT_TARGET_CLASS, 0, 10, ".npy dtype '<f8' is not read");

    write_npy(dir, "train-images.npy", u8h, pix, 8, 4);
    expect_fail(dir, RT_SPLIT_TRAIN, 4, RT_TARGET_CLASS, 0, 10, ".npy format version 4 is not read");

    write_file(dir, "train-images.npy", "NUMPY\x01\x00xxxxxx", 12, 0);
    snprintf(want, sizeof want, "%s: not a .npy file (no \\x93NUMPY magic)", p);
    expect_fail(dir, RT_SPLIT_TRAIN, 4, RT_TARGET_CLASS, 0, 10, want);

    const float nanv[2] = {1.0f, NAN};
    write_npy(dir, "train-images.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 1), }\n",
              nanv, sizeof nanv, 1);
    expect_fail(dir, RT_SPLIT_TRAIN, 1, RT_TARGET_CLASS, 0, 10, ": value 0 of sample 1 is not finite");

    /* Labels: one per image, inside [0, nclasses), integers. */
    write_npy(dir, "train-images.npy", u8h, pix, 8, 1);
    snprintf(p, sizeof p, "%s/train-labels.npy", dir);
    snprintf(want, sizeof want, "%s: label 1 of sample 1 outside [0, 1)", p);
    expect_fail(dir, RT_SPLIT_TRAIN, 4, RT_TARGET_CLASS, 0, 1, want);
    write_npy(dir, "train-labels.npy", "{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }\n",
              pix, 3, 1);
    snprintf(want, sizeof want, "%s: labels must have shape (2,), one per image", p);
    expect_fail(dir, RT_SPLIT_TRAIN, 4, RT_TARGET_CLASS, 0, 10, want);
    const float fl[2] = {0, 1};
    write_npy(dir, "train-labels.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n",
              fl, sizeof fl, 1);
    expect_fail(dir, RT_SPLIT_TRAIN, 4, RT_TARGET_CLASS, 0, 10, "labels must be integers");
    snprintf(p, sizeof p, "%s/train-labels.npy", dir);
    remove(p);
    expect_fail(dir, RT_SPLIT_TRAIN, 4, RT_TARGET_CLASS, 0, 10, "train-labels.npy: cannot open");
    tu_rmdtemp(dir);
}
END_TEST

/* ---- IDX ------------------------------------------------------------- */

START_TEST(idx_plain)
{
    char dir[256], err[256] = "";
    rt_dataset ds;
    tu_mkdtemp(dir, sizeof dir, "data");
    write_small(dir, "train", 0);
    ck_assert_int_eq(
        rt_data_load(dir, RT_SPLIT_TRAIN, 4, RT_TARGET_CLASS, 0, 10, &ds, err, sizeof err), 0);
    check_small(&ds);
    rt_data_free(&ds);
    ck_assert_ptr_null(ds.x8);
    ck_assert_uint_eq(ds.n, 0);
    tu_rmdtemp(dir);
}
END_TEST

START_TEST(idx_gzip_and_split)
{
    char dir[256], err[256] = "";
    rt_dataset ds;
    tu_mkdtemp(dir, sizeof dir, "data");
    write_small(dir, "t10k", 1);
    ck_assert_int_eq(
        rt_data_load(dir, RT_SPLIT_TEST, 4, RT_TARGET_CLASS, 0, 10, &ds, err, sizeof err), 0);
    check_small(&ds);
    rt_data_free(&ds);
    /* The train split is not there. */
    expect_fail(dir, RT_SPLIT_TRAIN, 4, RT_TARGET_CLASS, 0, 10, "missing train-images-idx3-ubyte");
    tu_rmdtemp(dir);
}
END_TEST

/* With both NAME and NAME.gz present, the plain file is read. */
START_TEST(idx_prefers_plain)
{
    char dir[256], err[256] = "";
    rt_dataset ds;
    const unsigned char other[12] = {0};
    const unsigned char lab[3] = {1, 1, 1};
    tu_mkdtemp(dir, sizeof dir, "data");
    write_small(dir, "train", 0);
    write_images(dir, "train-images-idx3-ubyte.gz", 0x803, 3, 2, 2, other, 12, 1);
    write_labels(dir, "train-labels-idx1-ubyte.gz", 0x801, 3, lab, 3, 1);
    ck_assert_int_eq(
        rt_data_load(dir, RT_SPLIT_TRAIN, 4, RT_TARGET_CLASS, 0, 10, &ds, err, sizeof err), 0);
    check_small(&ds);
    rt_data_free(&ds);
    tu_rmdtemp(dir);
}
END_TEST

/* nclasses == 0 means "any label". */
START_TEST(idx_no_class_bound)
{
    char dir[256], err[256] = "";
    rt_dataset ds;
    const unsigned char lab[3] = {200, 0, 255};
    tu_mkdtemp(dir, sizeof dir, "data");
    write_images(dir, "train-images-idx3-ubyte", 0x803, 3, 2, 2, PIX, 12, 0);
    write_labels(dir, "train-labels-idx1-ubyte", 0x801, 3, lab, 3, 0);
    ck_assert_int_eq(
        rt_data_load(dir, RT_SPLIT_TRAIN, 4, RT_TARGET_CLASS, 0, 0, &ds, err, sizeof err), 0);
    ck_assert_int_eq(ds.labels[2], 255);
    rt_data_free(&ds);
    expect_fail(dir, RT_SPLIT_TRAIN, 4, RT_TARGET_CLASS, 0, 10,
                "label 200 at index 0 is out of range: the model has 10 classes (0..9)");
    tu_rmdtemp(dir);
}
END_TEST

/* Read a whole gzipped file independently of the loader. */
static unsigned char *slurp_gz(const char *path, size_t *n)
{
    gzFile f = gzopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    size_t cap = 1 << 20, len = 0;
    unsigned char *b = malloc(cap);
    int r;
    while ((r = gzread(f, b + len, (unsigned)(cap - len))) > 0) {
        len += (size_t)r;
        if (len == cap)
            b = realloc(b, cap *= 2);
    }
    ck_assert_int_eq(r, 0);
    gzclose(f);
    *n = len;
    return b;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The bundled data set, checked against a separate reading of its files. */
static void check_mnist(rt_split split, const char *name, size_t want_n)
{
    char err[256] = "", p[256];
    rt_dataset ds;
    ck_assert_int_eq(rt_data_load(MNIST, split, 784, RT_TARGET_CLASS, 0, 10, &ds, err, sizeof err),
                     0);
    ck_assert_uint_eq(ds.n, want_n);
    ck_assert_uint_eq(ds.dim, 784);

    size_t nl, ni;
    snprintf(p, sizeof p, MNIST "/%s-labels-idx1-ubyte.gz", name);
    unsigned char *lab = slurp_gz(p, &nl);
    snprintf(p, sizeof p, MNIST "/%s-images-idx3-ubyte.gz", name);
    unsigned char *img = slurp_gz(p, &ni);
    ck_assert_uint_eq(nl, 8 + want_n);
    ck_assert_uint_eq(ni, 16 + want_n * 784);
    ck_assert_uint_eq(be32(lab + 4), want_n);
    ck_assert_uint_eq(be32(img + 8), 28);

    ck_assert_int_eq(ds.labels[0], lab[8]);
    size_t counts[10] = {0}, total = 0;
    for (size_t i = 0; i < ds.n; i++) {
        ck_assert_int_ge(ds.labels[i], 0);
        ck_assert_int_le(ds.labels[i], 9);
        ck_assert_int_eq(ds.labels[i], lab[8 + i]);
        counts[ds.labels[i]]++;
    }
    for (int c = 0; c < 10; c++) {
        ck_assert_uint_gt(counts[c], want_n / 20); /* every digit is there */
        total += counts[c];
    }
    ck_assert_uint_eq(total, want_n);
    ck_assert_mem_eq(ds.x8, img + 16, want_n * 784);
    rt_data_free(&ds);
    free(lab);
    free(img);
}

START_TEST(idx_mnist)
{
    check_mnist(RT_SPLIT_TRAIN, "train", 8000);
    check_mnist(RT_SPLIT_TEST, "t10k", 2000);
}
END_TEST

START_TEST(idx_errors)
{
    char dir[256], want[1024];
    tu_mkdtemp(dir, sizeof dir, "data");

    /* Missing files: which one, and where it was looked for. */
    expect_fail(dir, RT_SPLIT_TRAIN, 4, RT_TARGET_CLASS, 0, 10, "missing train-images-idx3-ubyte");
    snprintf(want, sizeof want,
             "looked for %s/train-images-idx3-ubyte and %s/train-images-idx3-ubyte.gz", dir, dir);
    expect_fail(dir, RT_SPLIT_TRAIN, 4, RT_TARGET_CLASS, 0, 10, want);
    write_images(dir, "train-images-idx3-ubyte", 0x803, 3, 2, 2, PIX, 12, 0);
    expect_fail(dir, RT_SPLIT_TRAIN, 4, RT_TARGET_CLASS, 0, 10, "missing train-labels-idx1-ubyte");

    /* Wrong dimension: what the model expects and what the file has. */
    write_labels(dir, "train-labels-idx1-ubyte", 0x801, 3, LAB, 3, 0);
    snprintf(want, sizeof want,
             "%s/train-images-idx3-ubyte: images are 2x2 = 4 values, the model's input is 100",
             dir);
    expect_fail(dir, RT_SPLIT_TRAIN, 100, RT_TARGET_CLASS, 0, 10, want);

    /* Label out of range. */
    expect_fail(dir, RT_SPLIT_TRAIN, 4, RT_TARGET_CLASS, 0, 5,
                "label 9 at index 2 is out of range: the model has 5 classes (0..4)");

    /* Count mismatch. */
    write_labels(dir, "train-labels-idx1-ubyte", 0x801, 2, LAB, 2, 0);
    expect_fail(dir, RT_SPLIT_TRAIN, 4, RT_TARGET_CLASS, 0, 10, "has 3 images but");
    expect_fail(dir, RT_SPLIT_TRAIN, 4, RT_TARGET_CLASS, 0, 10, "has 2 labels");

    /* Bad magic: labels where images belong, and garbage. */
    write_labels(dir, "train-labels-idx1-ubyte", 0x801, 3, LAB, 3, 0);
    write_images(dir, "train-images-idx3-ubyte", 0x801, 3, 2, 2, PIX, 12, 0);
    expect_fail(dir, RT_SPLIT_TRAIN, 4, RT_TARGET_CLASS, 0, 10,
                "bad magic number 0x00000801, expected 0x00000803");
    write_images(dir, "train-images-idx3-ubyte", 0x803, 3, 2, 2, PIX, 12, 0);
    write_labels(dir, "train-labels-idx1-ubyte", 0x12345678, 3, LAB, 3, 0);
    expect_fail(dir, RT_SPLIT_TRAIN, 4, RT_TARGET_CLASS, 0, 10, "bad magic number 0x12345678");

    /* Truncated header, truncated body, trailing bytes. */
    write_labels(dir, "train-labels-idx1-ubyte", 0x801, 3, LAB, 3, 0);
    write_file(dir, "train-images-idx3-ubyte", "\0\0\x08\x03\0\0", 6, 0);
    expect_fail(dir, RT_SPLIT_TRAIN, 4, RT_TARGET_CLASS, 0, 10, "truncated header (6 of 16 bytes)");
    write_images(dir, "train-images-idx3-ubyte", 0x803, 3, 2, 2, PIX, 11, 0);
    expect_fail(
        dir, RT_SPLIT_TRAIN, 4, RT_TARGET_CLASS, 0, 10,
        "truncated: the header promises 3 images (12 bytes of data), the file holds only 11");
    write_images(dir, "train-images-idx3-ubyte", 0x803, 3, 2, 2, PIX, 12, 0);
    write_labels(dir, "train-labels-idx1-ubyte", 0x801, 3, LAB, 2, 0);
    expect_fail(dir, RT_SPLIT_TRAIN, 4, RT_TARGET_CLASS, 0, 10, "truncated");
    write_labels(dir, "train-labels-idx1-ubyte", 0x801, 2, LAB, 3, 0);
    write_images(dir, "train-images-idx3-ubyte", 0x803, 2, 2, 2, PIX, 12, 0);
    expect_fail(dir, RT_SPLIT_TRAIN, 4, RT_TARGET_CLASS, 0, 10,
                "unexpected data after the 2 images");

    /* A header claiming 4 billion images of a tiny body: truncation, not a
     * huge allocation. */
    write_images(dir, "train-images-idx3-ubyte", 0x803, 0xFFFFFFFFu, 2, 2, PIX, 12, 0);
    write_labels(dir, "train-labels-idx1-ubyte", 0x801, 0xFFFFFFFFu, LAB, 3, 0);
    expect_fail(dir, RT_SPLIT_TRAIN, 4, RT_TARGET_CLASS, 0, 10, "truncated");

    /* No images. */
    write_images(dir, "train-images-idx3-ubyte", 0x803, 0, 2, 2, PIX, 0, 0);
    expect_fail(dir, RT_SPLIT_TRAIN, 4, RT_TARGET_CLASS, 0, 10, "contains no images");
    tu_rmdtemp(dir);

    /* A gzip stream cut short, and one with a damaged checksum. */
    tu_mkdtemp(dir, sizeof dir, "data");
    write_small(dir, "train", 1);
    char p[512];
    snprintf(p, sizeof p, "%s/train-images-idx3-ubyte.gz", dir);
    FILE *f = fopen(p, "rb");
    unsigned char gz[256];
    size_t n = fread(gz, 1, sizeof gz, f);
    fclose(f);
    ck_assert_uint_gt(n, 20);
    write_file(dir, "train-images-idx3-ubyte.gz", gz, n - 6, 0);
    expect_fail(dir, RT_SPLIT_TRAIN, 4, RT_TARGET_CLASS, 0, 10, "truncated");
    write_file(dir, "train-images-idx3-ubyte.gz", gz, n - 12, 0);
    expect_fail(dir, RT_SPLIT_TRAIN, 4, RT_TARGET_CLASS, 0, 10, "truncated");
    gz[n - 6] ^= 0xFF; /* inside the CRC-32 */
    write_file(dir, "train-images-idx3-ubyte.gz", gz, n, 0);
    expect_fail(dir, RT_SPLIT_TRAIN, 4, RT_TARGET_CLASS, 0, 10, "corrupt");
    tu_rmdtemp(dir);

    /* An IDX file given instead of its directory. */
    expect_fail(MNIST "/t10k-labels-idx1-ubyte.gz", RT_SPLIT_TEST, 784, RT_TARGET_CLASS, 0, 10,
                "t10k-labels-idx1-ubyte.gz: gzip-compressed; a CSV must be plain text");

    expect_fail("no/such/dir", RT_SPLIT_TRAIN, 4, RT_TARGET_CLASS, 0, 10,
                "no/such/dir: cannot open data");
}
END_TEST

/* ---- CSV ------------------------------------------------------------- */

/* Write text to dir/name and return the path in p. */
static const char *csv(const char *dir, const char *name, const char *text, char *p, size_t len)
{
    write_file(dir, name, text, strlen(text), 0);
    snprintf(p, len, "%s/%s", dir, name);
    return p;
}

START_TEST(csv_class_header)
{
    char dir[256], p[512], err[256] = "";
    rt_dataset ds;
    tu_mkdtemp(dir, sizeof dir, "data");
    csv(dir, "a.csv", "label,x1,x2,x3\n1,0.5,2,-3e2\n0 , 1 ,\t2.25, 3\n9,0,0,0\n", p, sizeof p);
    ck_assert_int_eq(
        rt_data_load(p, RT_SPLIT_TRAIN, 3, RT_TARGET_CLASS, 0, 10, &ds, err, sizeof err), 0);
    ck_assert_uint_eq(ds.n, 3);
    ck_assert_uint_eq(ds.dim, 3);
    ck_assert_ptr_null(ds.x8);
    ck_assert_ptr_null(ds.targets);
    ck_assert_int_eq(ds.labels[0], 1);
    ck_assert_int_eq(ds.labels[1], 0);
    ck_assert_int_eq(ds.labels[2], 9);
    const float want[9] = {0.5f, 2, -300, 1, 2.25f, 3, 0, 0, 0};
    for (int i = 0; i < 9; i++)
        ck_assert_float_eq(ds.xf[i], want[i]);
    rt_data_free(&ds);
    tu_rmdtemp(dir);
}
END_TEST

/* No header, two value targets, CRLF, blank lines at the end, a BOM, and
 * decimal text rounded once through double like Python's float(). */
START_TEST(csv_values_crlf)
{
    char dir[256], p[512], err[256] = "";
    rt_dataset ds;
    tu_mkdtemp(dir, sizeof dir, "data");
    csv(dir, "v.csv",
        "\xEF\xBB\xBF"
        "0.1,-2,1,2\r\n3,4,5,6\r\n\r\n  \r\n",
        p, sizeof p);
    ck_assert_int_eq(
        rt_data_load(p, RT_SPLIT_TEST, 2, RT_TARGET_VALUES, 2, 0, &ds, err, sizeof err), 0);
    ck_assert_uint_eq(ds.n, 2);
    ck_assert_uint_eq(ds.ntarget, 2);
    ck_assert_ptr_null(ds.labels);
    ck_assert_float_eq(ds.targets[0], (float)0.1);
    ck_assert_float_eq(ds.targets[1], -2);
    ck_assert_float_eq(ds.targets[2], 3);
    ck_assert_float_eq(ds.targets[3], 4);
    ck_assert_float_eq(ds.xf[0], 1);
    ck_assert_float_eq(ds.xf[3], 6);
    rt_data_free(&ds);

    /* No target at all, no final newline. */
    csv(dir, "n.csv", "1,2\n3,4", p, sizeof p);
    ck_assert_int_eq(rt_data_load(p, RT_SPLIT_TRAIN, 2, RT_TARGET_NONE, 0, 0, &ds, err, sizeof err),
                     0);
    ck_assert_uint_eq(ds.n, 2);
    ck_assert_ptr_null(ds.labels);
    ck_assert_ptr_null(ds.targets);
    ck_assert_float_eq(ds.xf[3], 4);
    rt_data_free(&ds);
    tu_rmdtemp(dir);
}
END_TEST

START_TEST(csv_errors)
{
    char dir[256], p[512], want[600];
    tu_mkdtemp(dir, sizeof dir, "data");

    csv(dir, "c.csv", "y,a,b,c\n1,2,3,4\n1,2,3\n", p, sizeof p);
    snprintf(want, sizeof want, "%s:3: expected 4 columns (1 target + 3 inputs), found 3", p);
    expect_fail(p, RT_SPLIT_TRAIN, 3, RT_TARGET_CLASS, 0, 10, want);
    expect_fail(p, RT_SPLIT_TRAIN, 2, RT_TARGET_VALUES, 2, 0,
                ":3: expected 4 columns (2 targets + 2 inputs), found 3");
    expect_fail(p, RT_SPLIT_TRAIN, 4, RT_TARGET_NONE, 0, 0, ":3: expected 4 columns (4 inputs)");

    csv(dir, "c.csv", "1,2,3\n1,2,abc\n", p, sizeof p);
    snprintf(want, sizeof want, "%s:2: column 3: 'abc': not a number", p);
    expect_fail(p, RT_SPLIT_TRAIN, 2, RT_TARGET_CLASS, 0, 10, want);
    csv(dir, "c.csv", "1,2,3\n1,,3\n", p, sizeof p);
    expect_fail(p, RT_SPLIT_TRAIN, 2, RT_TARGET_CLASS, 0, 10, ":2: column 2: '': empty field");
    csv(dir, "c.csv", "1,2,3\n1,2 5,3\n", p, sizeof p);
    expect_fail(p, RT_SPLIT_TRAIN, 2, RT_TARGET_CLASS, 0, 10, ":2: column 2: '2 5': not a number");

    /* Only the first line can be a header. */
    csv(dir, "c.csv", "a,b,c\nd,e,f\n", p, sizeof p);
    expect_fail(p, RT_SPLIT_TRAIN, 2, RT_TARGET_CLASS, 0, 10, ":2: column 1: 'd': not a number");

    csv(dir, "c.csv", "1,2,3\n1,nan,3\n", p, sizeof p);
    expect_fail(p, RT_SPLIT_TRAIN, 2, RT_TARGET_CLASS, 0, 10, ":2: column 2: 'nan': NaN");
    csv(dir, "c.csv", "1,NaN,3\n", p, sizeof p); /* a NaN line is data, not a header */
    expect_fail(p, RT_SPLIT_TRAIN, 2, RT_TARGET_CLASS, 0, 10, ":1: column 2: 'NaN': NaN");
    csv(dir, "c.csv", "1,2,-inf\n", p, sizeof p);
    expect_fail(p, RT_SPLIT_TRAIN, 2, RT_TARGET_CLASS, 0, 10, ":1: column 3: '-inf': infinite");
    csv(dir, "c.csv", "1,2,1e39\n", p, sizeof p);
    expect_fail(p, RT_SPLIT_TRAIN, 2, RT_TARGET_CLASS, 0, 10, ":1: column 3: '1e39': infinite");

    csv(dir, "c.csv", "1.5,2,3\n", p, sizeof p);
    expect_fail(p, RT_SPLIT_TRAIN, 2, RT_TARGET_CLASS, 0, 10,
                ":1: column 1: class '1.5' is not an integer");
    csv(dir, "c.csv", "h\n10,2,3\n", p, sizeof p);
    expect_fail(p, RT_SPLIT_TRAIN, 2, RT_TARGET_CLASS, 0, 10,
                ":2: column 1: class '10' is out of range: the model has 10 classes (0..9)");
    csv(dir, "c.csv", "-1,2,3\n", p, sizeof p);
    expect_fail(p, RT_SPLIT_TRAIN, 2, RT_TARGET_CLASS, 0, 0,
                "class '-1' is not a valid class index");

    csv(dir, "c.csv", "1,2,3\n\n1,2,3\n", p, sizeof p);
    expect_fail(p, RT_SPLIT_TRAIN, 2, RT_TARGET_CLASS, 0, 10,
                ":2: empty line (allowed only at the end of the file)");

    csv(dir, "c.csv", "", p, sizeof p);
    snprintf(want, sizeof want, "%s: no data rows", p);
    expect_fail(p, RT_SPLIT_TRAIN, 2, RT_TARGET_CLASS, 0, 10, want);
    csv(dir, "c.csv", "label,a,b\n\n", p, sizeof p);
    expect_fail(p, RT_SPLIT_TRAIN, 2, RT_TARGET_CLASS, 0, 10, "no data rows");

    /* A long field is shortened in the message; control bytes shown as ?. */
    csv(dir, "c.csv", "1,2,3\n1,2,abcdefghijklmnopqrstuvwxyzabcdefghijklmnop\x01\n", p, sizeof p);
    expect_fail(p, RT_SPLIT_TRAIN, 2, RT_TARGET_CLASS, 0, 10,
                "'abcdefghijklmnopqrstuvwxyzabcdef...': not a number");
    write_file(dir, "c.csv", "1,2,3\n1,2\0,3\n", sizeof "1,2,3\n1,2\0,3\n" - 1, 0);
    expect_fail(p, RT_SPLIT_TRAIN, 2, RT_TARGET_CLASS, 0, 10, ":2: column 2: '2?': not a number");
    tu_rmdtemp(dir);
}
END_TEST

/* ---- gather ---------------------------------------------------------- */

START_TEST(gather_idx)
{
    uint8_t pix[2 * 256];
    int32_t lab[2] = {2, 0};
    for (int i = 0; i < 256; i++) {
        pix[i] = (uint8_t)i;
        pix[256 + i] = (uint8_t)(255 - i);
    }
    rt_dataset ds = {.n = 2, .dim = 256, .x8 = pix, .labels = lab};
    const uint32_t idx[3] = {1, 0, 1};
    float x[3 * 256], t[3 * 4];

    rt_data_gather(&ds, idx, 3, x, NULL, 0);
    for (int i = 0; i < 256; i++) {
        /* Bit-exact with PyTorch's ToTensor: byte / 255 in float. */
        ck_assert_float_eq(x[256 + i], (float)i / 255.0f);
        ck_assert_float_eq(x[i], (float)(255 - i) / 255.0f);
        ck_assert_float_eq(x[512 + i], x[i]);
    }
    ck_assert_float_eq(x[256 + 255], 1.0f);
    ck_assert_float_eq(x[256], 0.0f);
    ck_assert_float_eq(x[256 + 51], 0.2f);

    rt_data_gather(&ds, idx, 3, x, t, 0);
    ck_assert_float_eq(t[0], 0.0f);
    ck_assert_float_eq(t[1], 2.0f);
    ck_assert_float_eq(t[2], 0.0f);

    for (int i = 0; i < 12; i++)
        t[i] = -1;
    rt_data_gather(&ds, idx, 3, x, t, 4);
    const float want[12] = {1, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0};
    for (int i = 0; i < 12; i++)
        ck_assert_float_eq(t[i], want[i]);

    /* A label beyond the one-hot width gives an all-zero row, no overrun. */
    float t2[2 * 2 + 1];
    t2[4] = 42;
    rt_data_gather(&ds, idx, 2, x, t2, 2);
    ck_assert_float_eq(t2[0], 1);
    ck_assert_float_eq(t2[2], 0);
    ck_assert_float_eq(t2[3], 0);
    ck_assert_float_eq(t2[4], 42);
}
END_TEST

START_TEST(gather_csv)
{
    float xf[3 * 2] = {1, 2, 3, 4, 5, 6};
    float tg[3 * 2] = {-1, -2, -3, -4, -5, -6};
    rt_dataset ds = {.n = 3, .dim = 2, .xf = xf, .targets = tg, .ntarget = 2};
    const uint32_t idx[2] = {2, 0};
    float x[4], t[4];
    rt_data_gather(&ds, idx, 2, x, t, 0);
    const float wx[4] = {5, 6, 1, 2}, wt[4] = {-5, -6, -1, -2};
    for (int i = 0; i < 4; i++) {
        ck_assert_float_eq(x[i], wx[i]);
        ck_assert_float_eq(t[i], wt[i]);
    }
    /* No targets: t untouched. */
    rt_dataset none = {.n = 3, .dim = 2, .xf = xf};
    t[0] = 7;
    rt_data_gather(&none, idx, 2, x, t, 0);
    ck_assert_float_eq(t[0], 7);
}
END_TEST

/* A run of adjacent samples gathers what the index array first, first+1,
 * ... gathers: the same floats (every byte value, through the vector
 * blocks and the scalar tail of the conversion) and the same targets. */
START_TEST(gather_run)
{
    enum { N = 9, DIM = 37 }; /* 37: runs of 2 to 9 samples end off a block of 32 */
    uint8_t pix[N * DIM];
    int32_t lab[N];
    float xf[N * DIM], tg[N * 2];
    for (int i = 0; i < N * DIM; i++) {
        pix[i] = (uint8_t)(i * 7 % 256);
        xf[i] = (float)i * 0.5f;
    }
    for (int i = 0; i < N; i++) {
        lab[i] = i % 3;
        tg[2 * i] = (float)i;
        tg[2 * i + 1] = -(float)i;
    }
    rt_dataset sets[3] = {{.n = N, .dim = DIM, .x8 = pix, .labels = lab},
                          {.n = N, .dim = DIM, .xf = xf, .targets = tg, .ntarget = 2},
                          {.n = N, .dim = DIM, .xf = xf}};
    uint32_t idx[N];
    float x1[N * DIM], x2[N * DIM], t1[N * 3], t2[N * 3];
    for (int s = 0; s < 3; s++)
        for (int onehot = 0; onehot <= 3; onehot += 3)
            for (size_t first = 0; first < N; first++)
                for (size_t count = 1; first + count <= N; count++) {
                    for (size_t i = 0; i < count; i++)
                        idx[i] = (uint32_t)(first + i);
                    for (int i = 0; i < N * 3; i++)
                        t1[i] = t2[i] = 99;
                    rt_data_gather(&sets[s], idx, count, x1, t1, onehot);
                    rt_data_gather_run(&sets[s], first, count, x2, t2, onehot);
                    ck_assert_mem_eq(x1, x2, count * DIM * sizeof *x1);
                    ck_assert_mem_eq(t1, t2, sizeof t1);
                }
    /* Every byte value converts as PyTorch's ToTensor does, bit for bit. */
    for (int i = 0; i < N * DIM; i++)
        pix[i] = (uint8_t)(i % 256);
    rt_data_gather_run(&sets[0], 0, N, x1, NULL, 0);
    for (int i = 0; i < N * DIM; i++) {
        const float want = (float)(i % 256) / 255.0f;
        ck_assert_mem_eq(&x1[i], &want, sizeof want);
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("data");
    TCase *tc = tcase_create("idx");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, idx_plain);
    tcase_add_test(tc, idx_gzip_and_split);
    tcase_add_test(tc, idx_prefers_plain);
    tcase_add_test(tc, idx_no_class_bound);
    tcase_add_test(tc, idx_mnist);
    tcase_add_test(tc, idx_errors);
    suite_add_tcase(s, tc);
    tc = tcase_create("csv");
    tcase_add_test(tc, csv_class_header);
    tcase_add_test(tc, csv_values_crlf);
    tcase_add_test(tc, csv_errors);
    tcase_add_test(tc, npy_fixtures);
    tcase_add_test(tc, npy_errors);
    suite_add_tcase(s, tc);
    tc = tcase_create("gather");
    tcase_add_test(tc, gather_idx);
    tcase_add_test(tc, gather_csv);
    tcase_add_test(tc, gather_run);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(suite());
}
