/* test_safetensors.c — checkpoint files: round trips, the exact bytes of a
 * small file (pinning the format), a table of malformed files, and a
 * mutation fuzz loop that must never crash. */
#include <check.h>
#include <dirent.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "runtime/safetensors.h"

/* ---- scratch directory ------------------------------------------------ */

static void write_bytes(const char *path, const void *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(b, 1, n, f), n);
    ck_assert_int_eq(fclose(f), 0);
}

static unsigned char *read_bytes(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)len + 1);
    ck_assert_uint_eq(fread(b, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    *n = (size_t)len;
    return b;
}

static float from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static uint32_t bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

/* ---- round trip ------------------------------------------------------ */

START_TEST(round_trip)
{
    char dir[256], path[512], err[256] = "";
    tu_mkdtemp(dir, sizeof dir, "st");
    snprintf(path, sizeof path, "%s/m.safetensors", dir);

    float a[6] = {-0.0f,   from_bits(1) /* smallest denormal */,
                  FLT_MAX, -FLT_MAX,
                  FLT_MIN, from_bits(0x007FFFFF) /* largest denormal */};
    float s[1] = {3.14159265f};
    float c[3] = {INFINITY, -INFINITY, from_bits(0x7FC12345) /* NaN with payload */};
    float *big = malloc(5000 * sizeof *big); /* spans several write chunks */
    for (int i = 0; i < 5000; i++)
        big[i] = (float)i * 0.001f - 2.0f;
    rt_tensor t[5] = {
        {.name = "0.weight", .rank = 2, .shape = {2, 3}, .data = a},
        {.name = "scalar", .rank = 0, .data = s},
        {.name = "empty", .rank = 2, .shape = {0, 5}, .data = NULL},
        {.name = "odd \"name\"\\ \n \xC3\xA9", .rank = 1, .shape = {3}, .data = c},
        {.name = "big", .rank = 3, .shape = {10, 20, 25}, .data = big},
    };
    const char *keys[] = {"format", "quote\"", "empty"};
    const char *vals[] = {"pt", "tab\there \xE2\x82\xAC \x01", ""};
    ck_assert_int_eq(rt_st_save(path, t, 5, keys, vals, 3, err, sizeof err), 0);

    rt_st_file *f = rt_st_load(path, err, sizeof err);
    ck_assert_msg(f != NULL, "%s", err);
    ck_assert_int_eq(rt_st_count(f), 5);
    for (int i = 0; i < 5; i++) {
        const rt_tensor *g = rt_st_tensor(f, i);
        ck_assert_str_eq(g->name, t[i].name);
        ck_assert_int_eq(g->rank, t[i].rank);
        size_t n = 1;
        for (int d = 0; d < g->rank; d++) {
            ck_assert_int_eq(g->shape[d], t[i].shape[d]);
            n *= (size_t)g->shape[d];
        }
        for (size_t k = 0; k < n; k++)
            ck_assert_uint_eq(bits(g->data[k]), bits(t[i].data[k]));
        ck_assert_ptr_eq(rt_st_find(f, t[i].name), g);
    }
    ck_assert_ptr_null(rt_st_tensor(f, 5));
    ck_assert_ptr_null(rt_st_tensor(f, -1));
    ck_assert_ptr_null(rt_st_find(f, "nope"));
    for (int i = 0; i < 3; i++)
        ck_assert_str_eq(rt_st_meta(f, keys[i]), vals[i]);
    ck_assert_ptr_null(rt_st_meta(f, "nope"));
    rt_st_free(f);
    rt_st_free(NULL);

    /* The data starts 8-byte aligned (N % 8 == 0, read from N's low byte);
     * no temporary file is left behind. */
    size_t n;
    unsigned char *b = read_bytes(path, &n);
    ck_assert_uint_eq(b[0] % 8, 0);
    free(b);
    ck_assert_int_eq(tu_scan_dir(dir, 0), 1);

    /* Saving again replaces the file; no tensors and no metadata is a
     * valid (if useless) file. */
    ck_assert_int_eq(rt_st_save(path, NULL, 0, NULL, NULL, 0, err, sizeof err), 0);
    f = rt_st_load(path, err, sizeof err);
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(rt_st_count(f), 0);
    rt_st_free(f);
    b = read_bytes(path, &n);
    ck_assert_uint_eq(n, 16);
    ck_assert_mem_eq(b, "\x08\0\0\0\0\0\0\0{}      ", 16);
    free(b);
    ck_assert_int_eq(tu_scan_dir(dir, 0), 1);
    free(big);
    tu_rmdtemp(dir);
}
END_TEST

/* The exact bytes of a tiny file, written out by hand: pins the header
 * layout, key order, padding and little-endian data. */
START_TEST(exact_bytes)
{
    char dir[256], path[512], err[256] = "";
    tu_mkdtemp(dir, sizeof dir, "st");
    snprintf(path, sizeof path, "%s/w.safetensors", dir);
    float w[2] = {1.0f, -2.0f};
    rt_tensor t = {.name = "w", .rank = 1, .shape = {2}, .data = w};
    const char *k = "k", *v = "v";
    ck_assert_int_eq(rt_st_save(path, &t, 1, &k, &v, 1, err, sizeof err), 0);

    static const char want[] = "\x50\x00\x00\x00\x00\x00\x00\x00" /* header length 80 */
                               "{\"__metadata__\":{\"k\":\"v\"},"
                               "\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}"
                               " "                 /* 79 bytes of JSON, padded to 80 */
                               "\x00\x00\x80\x3f"  /* 1.0f */
                               "\x00\x00\x00\xc0"; /* -2.0f */
    size_t n;
    unsigned char *b = read_bytes(path, &n);
    ck_assert_uint_eq(n, sizeof want - 1);
    ck_assert_mem_eq(b, want, sizeof want - 1);
    free(b);

    /* And the escaping of names and values. */
    const char *k2 = "a\"b\\c\x1f", *v2 = "\n";
    t.name = "\t";
    ck_assert_int_eq(rt_st_save(path, &t, 1, &k2, &v2, 1, err, sizeof err), 0);
    b = read_bytes(path, &n);
    static const char want2[] = "{\"__metadata__\":{\"a\\\"b\\\\c\\u001f\":\"\\n\"},\"\\t\":{";
    ck_assert_mem_eq(b + 8, want2, sizeof want2 - 1);
    free(b);
    tu_rmdtemp(dir);
}
END_TEST

START_TEST(save_errors)
{
    char dir[256], path[512], err[256] = "";
    tu_mkdtemp(dir, sizeof dir, "st");
    float w[2] = {1, 2};
    rt_tensor t[2] = {{.name = "a", .rank = 1, .shape = {2}, .data = w},
                      {.name = "a", .rank = 1, .shape = {2}, .data = w}};

    snprintf(path, sizeof path, "%s/no/such/dir/x.safetensors", dir);
    ck_assert_int_eq(rt_st_save(path, t, 1, NULL, NULL, 0, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "cannot create a temporary file"));

    snprintf(path, sizeof path, "%s/x.safetensors", dir);
    ck_assert_int_eq(rt_st_save(path, t, 2, NULL, NULL, 0, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "two tensors are called 'a'"));
    t[1].name = "__metadata__";
    ck_assert_int_eq(rt_st_save(path, t, 2, NULL, NULL, 0, err, sizeof err), -1);
    t[1].name = "b";
    t[1].rank = RT_ST_MAX_RANK + 1;
    ck_assert_int_eq(rt_st_save(path, t, 2, NULL, NULL, 0, err, sizeof err), -1);
    t[1].rank = 1;
    t[1].shape[0] = -2;
    ck_assert_int_eq(rt_st_save(path, t, 2, NULL, NULL, 0, err, sizeof err), -1);
    t[1].shape[0] = 2;
    t[1].name = "\xff";
    ck_assert_int_eq(rt_st_save(path, t, 2, NULL, NULL, 0, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "not valid UTF-8"));
    t[1].name = "b";
    const char *keys[] = {"k", "k"}, *vals[] = {"1", "2"};
    ck_assert_int_eq(rt_st_save(path, t, 2, keys, vals, 2, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "metadata key 'k' appears twice"));
    /* Nothing was written by the failed calls. */
    ck_assert_int_eq(tu_scan_dir(dir, 0), 0);

    /* A rejected save leaves the previous checkpoint intact. */
    ck_assert_int_eq(rt_st_save(path, t, 2, NULL, NULL, 0, err, sizeof err), 0);
    t[1].data = NULL;
    ck_assert_int_eq(rt_st_save(path, t, 2, NULL, NULL, 0, err, sizeof err), -1);
    rt_st_file *f = rt_st_load(path, err, sizeof err);
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(rt_st_count(f), 2);
    rt_st_free(f);
    ck_assert_int_eq(tu_scan_dir(dir, 0), 1);

    f = rt_st_load(dir, err, sizeof err);
    ck_assert_ptr_null(f);
    ck_assert_ptr_nonnull(strstr(err, "not a regular file"));
    snprintf(path, sizeof path, "%s/missing.safetensors", dir);
    ck_assert_ptr_null(rt_st_load(path, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "cannot open"));
    tu_rmdtemp(dir);
}
END_TEST

/* ---- malformed files -------------------------------------------------- */

typedef struct {
    const char *header; /* header text */
    int64_t hlen;       /* header length field; -1 for strlen(header) */
    size_t data;        /* bytes of data after the header */
    const char *want;   /* substring of the error; NULL: the file is valid */
} bad_case;

static const bad_case BAD[] = {
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", -1, 8, NULL}, /* valid */
    {"{}", -1, 0, NULL},
    {"{} \t\r\n", -1, 0, NULL},
    {"{\"__metadata__\":{}}", -1, 0, NULL},
    /* header length against the file */
    {"{}", 1000, 0, "header length 1000 is larger than the rest of the file (2 bytes)"},
    {"{}", INT64_MAX, 0, "is larger than the rest of the file"},
    {"{}", 3, 0, "is larger than the rest of the file"},
    {"", -1, 0, "malformed header: expected '{', found the end of the header"},
    /* JSON syntax */
    {"[]", -1, 0, "malformed header at byte 8: expected '{', found '['"},
    {"{\"w\":{\"dtype\":\"F32\",}}", -1, 0, "malformed header at byte 28: expected a string"},
    {"{\"w\" {}}", -1, 0, "expected ':'"},
    {"{\"w\":{\"dtype\":\"F32\"", -1, 0, "expected ',' or '}', found the end of the header"},
    {"{}x", -1, 0, "expected the end of the header, found 'x'"},
    {"{} {}", -1, 0, "expected the end of the header"},
    {"{\"a", -1, 0, "unterminated string"},
    {"{\"a\\", -1, 0, "unterminated string"},
    {"{\"a\\x\":1}", -1, 0, "unknown escape"},
    {"{\"\\ud800\":1}", -1, 0, "unpaired surrogate"},
    {"{\"\\ud800\\u0041\":1}", -1, 0, "unpaired surrogate"},
    {"{\"\\udc00\":1}", -1, 0, "unpaired surrogate"},
    {"{\"\\u12\":1}", -1, 0, "bad \\u escape"},
    {"{\"\\u0000\":1}", -1, 0, "\\u0000 in a string"},
    {"{\"a\tb\":1}", -1, 0, "control character in a string"},
    {"{\"\xff\":1}", -1, 0, "header is not valid UTF-8"},
    {"{\"\xc0\xaf\":1}", -1, 0, "header is not valid UTF-8"},
    {"{\"w\":[]}", -1, 0, "expected '{' (a tensor entry)"},
    {"{\"w\":\"F32\"}", -1, 0, "expected '{' (a tensor entry)"},
    /* metadata */
    {"{\"__metadata__\":{\"a\":1}}", -1, 0, "metadata values must be strings"},
    {"{\"__metadata__\":{\"a\":{\"b\":\"c\"}}}", -1, 0, "metadata values must be strings"},
    {"{\"__metadata__\":[]}", -1, 0, "expected '{' after \"__metadata__\""},
    {"{\"__metadata__\":{},\"__metadata__\":{}}", -1, 0, "two __metadata__ objects"},
    {"{\"__metadata__\":{\"a\":\"1\",\"a\":\"2\"}}", -1, 0, "metadata key 'a' appears twice"},
    /* tensor entries */
    {"{\"w\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}}", -1, 8,
     "tensor 'w' has dtype F64; netc reads F32, I8, I32 (and I64) only"},
    {"{\"n\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[0,8]}}", -1, 8, NULL}, /* valid */
    {"{\"n\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[0,4]}}", -1, 4, "(8 bytes of I64)"},
    {"{\"w\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[0,2]}}", -1, 2,
     "has dtype BF16; netc reads F32, I8, I32 (and I64) only"},
    {"{\"w\":{\"dtype\":7,\"shape\":[1],\"data_offsets\":[0,4]}}", -1, 4, "expected a string"},
    {"{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", -1, 4, "tensor 'w' has no dtype"},
    {"{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", -1, 4, "tensor 'w' has no shape"},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", -1, 4, "tensor 'w' has no data_offsets"},
    {"{\"w\":{}}", -1, 0, "tensor 'w' has no dtype"},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}", -1, 4,
     "tensor 'w' has an unknown field 'x'"},
    {"{\"w\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", -1, 4,
     "tensor 'w' has two 'dtype' fields"},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"shape\":[1],\"data_offsets\":[0,4]}}", -1, 4,
     "two 'shape' fields"},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", -1, 4,
     "expected a non-negative integer"},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[1.0],\"data_offsets\":[0,4]}}", -1, 4,
     "expected an integer"},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[1e0],\"data_offsets\":[0,4]}}", -1, 4,
     "expected an integer"},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[01],\"data_offsets\":[0,4]}}", -1, 4,
     "expected an integer"},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[\"1\"],\"data_offsets\":[0,4]}}", -1, 4,
     "expected an integer"},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[1,],\"data_offsets\":[0,4]}}", -1, 4,
     "expected an integer"},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[1 2],\"data_offsets\":[0,4]}}", -1, 4,
     "expected ',' or ']'"},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999],\"data_offsets\":[0,4]}}", -1, 4,
     "integer too large"},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", -1, 4,
     "tensor 'w': shape has more than 8 entries"},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", -1, 8,
     "data_offsets has more than 2 entries"},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4]}}", -1, 4,
     "data_offsets needs 2 numbers, found 1"},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":{}}}", -1, 4, "expected '['"},
    /* layout */
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", -1, 4,
     "tensor 'w' has data_offsets [0, 8] past the end of the data (4 bytes)"},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", -1, 8, "end before begin"},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", -1, 8,
     "tensor 'w' has shape [3] (12 bytes of F32) but data_offsets [0, 8] hold 8 bytes"},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,8]}}", -1, 8,
     "tensor 'w' has shape [4611686018427387904, 4], too large for any file"},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[0,4611686018427387904],\"data_offsets\":[0,0]}}", -1, 0,
     NULL},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
     "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
     -1, 12, "tensors 'a' and 'b' overlap in the data"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
     "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
     -1, 12, "data bytes 4..8 belong to no tensor"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", -1, 8,
     "data bytes 0..4 belong to no tensor"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", -1, 6,
     "the data section has 6 bytes but the tensors use 4"},
    {"{}", -1, 4, "the data section has 4 bytes but the tensors use 0"},
    /* in reverse order of offsets: fine */
    {"{\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]},"
     "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
     -1, 8, NULL},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
     "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
     -1, 8, "two tensors are called 'a'"},
    /* names in messages are made printable */
    {"{\"a\\nb\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}}", -1, 8,
     "tensor 'a?b' has dtype F64"},
};

/* Build the file for c: length field, header, data bytes 0x11... */
static unsigned char *make_case(const bad_case *c, size_t *n)
{
    size_t hl = strlen(c->header);
    unsigned char *b = malloc(8 + hl + c->data);
    uint64_t len = c->hlen < 0 ? hl : (uint64_t)c->hlen;
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(len >> (8 * i));
    memcpy(b + 8, c->header, hl);
    memset(b + 8 + hl, 0x11, c->data);
    *n = 8 + hl + c->data;
    return b;
}

START_TEST(malformed)
{
    char dir[256], path[512], err[512];
    tu_mkdtemp(dir, sizeof dir, "st");
    snprintf(path, sizeof path, "%s/bad.safetensors", dir);
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        size_t n;
        unsigned char *b = make_case(&BAD[i], &n);
        write_bytes(path, b, n);
        free(b);
        strcpy(err, "(none)");
        rt_st_file *f = rt_st_load(path, err, sizeof err);
        if (!BAD[i].want) {
            ck_assert_msg(f != NULL, "case %zu: %s", i, err);
            rt_st_free(f);
            continue;
        }
        ck_assert_msg(f == NULL, "case %zu loaded, expected '%s'", i, BAD[i].want);
        ck_assert_msg(strstr(err, BAD[i].want) != NULL, "case %zu: '%s' lacks '%s'", i, err,
                      BAD[i].want);
        ck_assert_msg(strncmp(err, path, strlen(path)) == 0, "case %zu: '%s' lacks the path", i,
                      err);
        ck_assert_ptr_null(strchr(err, '\n'));
    }

    /* Files too short to hold a header length. */
    write_bytes(path, "", 0);
    ck_assert_ptr_null(rt_st_load(path, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "empty file (0 bytes): not a safetensors file"));
    write_bytes(path, "\x02\0\0\0\0", 5);
    ck_assert_ptr_null(rt_st_load(path, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "too short (5 bytes)"));

    /* Deep nesting cannot exhaust the stack: the parser is not recursive. */
    size_t depth = 200000;
    char *deep = malloc(depth + 64);
    strcpy(deep, "{\"w\":{\"dtype\":\"F32\",\"shape\":");
    size_t k = strlen(deep);
    memset(deep + k, '[', depth);
    deep[k + depth] = '\0';
    bad_case dc = {deep, -1, 0, NULL};
    size_t n;
    unsigned char *b = make_case(&dc, &n);
    write_bytes(path, b, n);
    free(b);
    free(deep);
    ck_assert_ptr_null(rt_st_load(path, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "expected an integer, found '['"));

    /* A very long name is shortened in messages. */
    char longname[400];
    memset(longname, 'n', 300);
    snprintf(longname + 300, 100, "\":{\"dtype\":\"BF16\"}}");
    char hdr[512] = "{\"";
    strcat(hdr, longname);
    bad_case lc = {hdr, -1, 0, NULL};
    b = make_case(&lc, &n);
    write_bytes(path, b, n);
    free(b);
    ck_assert_ptr_null(rt_st_load(path, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "nnn...' has dtype BF16"));
    tu_rmdtemp(dir);
}
END_TEST

/* ---- fuzz ------------------------------------------------------------ */

/* A deterministic generator (64-bit LCG, high bits), local to the test. */
static uint32_t next(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(*s >> 33);
}

/* Mutations of a valid file: byte flips, digit and punctuation changes in
 * the header, truncations, header-length edits.  Every load must return
 * cleanly; a loaded file's tensors must be readable in full (the address
 * sanitizer or valgrind catch an overrun). */
START_TEST(fuzz)
{
    char dir[256], path[512], err[512];
    tu_mkdtemp(dir, sizeof dir, "st");
    snprintf(path, sizeof path, "%s/f.safetensors", dir);
    float a[6] = {1, 2, 3, 4, 5, 6}, b1[3] = {7, 8, 9}, s1[1] = {10};
    rt_tensor t[3] = {{.name = "layer.0.weight", .rank = 2, .shape = {2, 3}, .data = a},
                      {.name = "layer.0.bias", .rank = 1, .shape = {3}, .data = b1},
                      {.name = "s\\u00e9", .rank = 0, .data = s1}};
    const char *keys[] = {"format", "netc.model"}, *vals[] = {"pt", "m\\\"x"};
    ck_assert_int_eq(rt_st_save(path, t, 3, keys, vals, 2, err, sizeof err), 0);
    size_t n0;
    unsigned char *orig = read_bytes(path, &n0);
    unsigned char *m = malloc(n0 + 16);
    static const char interesting[] = "{}[]\",:\\u0123456789-. \x00\xff";

    uint64_t seed = 12345;
    int loaded = 0;
    for (int iter = 0; iter < 5000; iter++) {
        memcpy(m, orig, n0);
        size_t n = n0;
        int edits = 1 + (int)(next(&seed) % 3);
        for (int e = 0; e < edits && n > 0; e++) {
            uint32_t r = next(&seed);
            size_t pos = next(&seed) % n;
            unsigned char pick = (unsigned char)interesting[(r >> 8) % (sizeof interesting - 1)];
            switch (r % 10) {
            case 0: m[pos] ^= (unsigned char)(1u << (r >> 8) % 8); break;
            case 1: m[pos] = (unsigned char)(r >> 8); break;
            case 2: n = pos; break;                                    /* truncate */
            case 3: m[(r >> 8) % 8] = (unsigned char)(r >> 16); break; /* header length */
            default: /* the JSON, where most of the parsing happens */
                if (n > 9)
                    m[8 + pos % (n - 8)] = (r % 10 < 6) ? pick : (unsigned char)(r >> 16);
                break;
            }
        }
        write_bytes(path, m, n);
        rt_st_file *f = rt_st_load(path, err, sizeof err);
        if (!f) {
            ck_assert_msg(strlen(err) > 0, "iteration %d: no message", iter);
            continue;
        }
        loaded++;
        double sum = 0;
        for (int i = 0; i < rt_st_count(f); i++) {
            const rt_tensor *g = rt_st_tensor(f, i);
            size_t cnt = 1;
            for (int d = 0; d < g->rank; d++)
                cnt *= (size_t)g->shape[d];
            for (size_t k = 0; k < cnt; k++)
                sum += g->data[k];
            ck_assert_ptr_eq(rt_st_find(f, g->name), g);
        }
        (void)sum;
        rt_st_free(f);
    }
    /* Some mutations (data bytes, metadata text) leave a valid file. */
    ck_assert_int_gt(loaded, 0);
    free(m);
    free(orig);
    tu_rmdtemp(dir);
}
END_TEST

/* torch's state_dict keeps BatchNorm's num_batches_tracked as int64: an
 * I64 tensor reads as floats of the same values, beside F32 tensors. */
START_TEST(reads_i64)
{
    char dir[256], path[512], err[512];
    tu_mkdtemp(dir, sizeof dir, "st");
    snprintf(path, sizeof path, "%s/i64.safetensors", dir);
    const char *hdr = "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                      "\"n\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[4,20]}}";
    size_t hl = strlen(hdr);
    unsigned char b[512] = {0};
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)((uint64_t)hl >> (8 * i));
    memcpy(b + 8, hdr, hl);
    unsigned char *d = b + 8 + hl;
    uint32_t one = bits(1.5f);
    for (int i = 0; i < 4; i++)
        d[i] = (unsigned char)(one >> (8 * i));
    const int64_t v[2] = {12345, -3};
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < 8; i++)
            d[4 + 8 * k + i] = (unsigned char)((uint64_t)v[k] >> (8 * i));
    write_bytes(path, b, 8 + hl + 20);
    rt_st_file *f = rt_st_load(path, err, sizeof err);
    ck_assert_msg(f != NULL, "%s", err);
    const rt_tensor *a = rt_st_find(f, "a"), *n = rt_st_find(f, "n");
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(n);
    ck_assert_float_eq(a->data[0], 1.5f);
    ck_assert_float_eq(n->data[0], 12345.0f);
    ck_assert_float_eq(n->data[1], -3.0f);
    rt_st_free(f);
    tu_rmdtemp(dir);
}
END_TEST

/* int8 checkpoints: I8 and I32 tensors written as little-endian bytes
 * with their dtypes, and read back exactly, an odd-sized I8 tensor first
 * so that the F32 and I32 ones after it start off a 4-byte boundary in
 * the file. */
START_TEST(int_dtypes)
{
    char dir[256], path[512], err[512];
    tu_mkdtemp(dir, sizeof dir, "st");
    snprintf(path, sizeof path, "%s/q.safetensors", dir);
    const int8_t q[3] = {-128, 127, -1};
    const int32_t b[2] = {INT32_MIN, 70000};
    const float x[1] = {-2.5f};
    rt_tensor t[3] = {{.name = "q", .rank = 1, .shape = {3}, .dtype = RT_ST_I8, .ints = q},
                      {.name = "x", .rank = 0, .data = x},
                      {.name = "b", .rank = 1, .shape = {2}, .dtype = RT_ST_I32, .ints = b}};
    ck_assert_msg(rt_st_save(path, t, 3, NULL, NULL, 0, err, sizeof err) == 0, "%s", err);
    FILE *fp = fopen(path, "rb");
    unsigned char raw[512];
    size_t len = fread(raw, 1, sizeof raw, fp);
    fclose(fp);
    const size_t hl = (size_t)raw[0] | (size_t)raw[1] << 8;
    ck_assert(strstr((char *)raw + 8, "\"q\":{\"dtype\":\"I8\",\"shape\":[3],\"data_offsets\":[0,3]}") != NULL);
    ck_assert(strstr((char *)raw + 8, "\"b\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[7,15]}") != NULL);
    ck_assert_uint_eq(len, 8 + hl + 15);
    const unsigned char want[15] = {0x80, 0x7f, 0xff, 0x00, 0x00, 0x20, 0xc0, 0, 0, 0, 0x80, 0x70, 0x11, 0x01, 0};
    ck_assert_mem_eq(raw + 8 + hl, want, 15);
    rt_st_file *f = rt_st_load(path, err, sizeof err);
    ck_assert_msg(f != NULL, "%s", err);
    const rt_tensor *tq = rt_st_find(f, "q"), *tx = rt_st_find(f, "x"), *tb = rt_st_find(f, "b");
    ck_assert_int_eq(tq->dtype, RT_ST_I8);
    ck_assert_int_eq(tb->dtype, RT_ST_I32);
    ck_assert_ptr_null(tq->data);
    ck_assert_mem_eq(tq->ints, q, 3);
    ck_assert_mem_eq(tb->ints, b, sizeof b);
    ck_assert_float_eq(tx->data[0], -2.5f);
    rt_st_free(f);
    tu_rmdtemp(dir);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("safetensors");
    TCase *tc = tcase_create("format");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, round_trip);
    tcase_add_test(tc, exact_bytes);
    tcase_add_test(tc, reads_i64);
    tcase_add_test(tc, int_dtypes);
    tcase_add_test(tc, save_errors);
    tcase_add_test(tc, malformed);
    tcase_add_test(tc, fuzz);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(suite());
}
