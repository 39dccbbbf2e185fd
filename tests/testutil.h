/* testutil.h — helpers shared by the unit tests (header-only). */
#ifndef NETC_TESTS_TESTUTIL_H
#define NETC_TESTS_TESTUTIL_H

#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compiler/plan.h"

/* 1 when AddressSanitizer instruments the test: gcc says so with
 * __SANITIZE_ADDRESS__, clang (before 16) only through __has_feature.
 * Tests that cannot run under it (address-space limits) test this. */
#if defined(__SANITIZE_ADDRESS__)
#define TU_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TU_ASAN 1
#endif
#endif
#ifndef TU_ASAN
#define TU_ASAN 0
#endif

/* A whole file as a NUL-terminated string, or NULL. */
static inline char *tu_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n)
        n = 0;
    if (buf)
        buf[n] = 0;
    fclose(f);
    return buf;
}

/* Compile a spec that must be valid; the plan owns src (tu_destroy). */
static inline comp_plan *tu_compile(gram_source *src)
{
    ck_assert_ptr_nonnull(src);
    comp_plan *p = comp_compile(src);
    ck_assert_msg(p != NULL, "%s does not compile (diagnostics above)", src->name);
    return p;
}

static inline comp_plan *tu_compile_file(const char *path)
{
    gram_source *src = gram_source_open(path);
    ck_assert_msg(src != NULL, "cannot read %s", path);
    return tu_compile(src);
}

static inline comp_plan *tu_compile_text(const char *text)
{
    return tu_compile(gram_source_from_string("t.net", text));
}

/* Free a plan from tu_compile*() with its source. */
/* The plan dump (`netc explain`) of p for `batch` samples, as a string
 * the caller frees. */
static inline char *tu_plan_dump(const comp_plan *p, int batch)
{
    char *dump = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&dump, &len);
    ck_assert_ptr_nonnull(out);
    comp_plan_dump(p, batch, out);
    fclose(out);
    return dump;
}

static inline void tu_destroy(comp_plan *p)
{
    gram_source *src = p->model->spec->src;
    comp_plan_destroy(p);
    gram_source_free(src);
}

/* A fresh scratch directory under $TMPDIR (or /tmp), named after what. */
static inline void tu_mkdtemp(char *dir, size_t len, const char *what)
{
    const char *base = getenv("TMPDIR");
    snprintf(dir, len, "%s/netc-%s-XXXXXX", base && *base ? base : "/tmp", what);
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

/* The number of files in dir; removes them when rm. */
static inline int tu_scan_dir(const char *dir, int rm)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    char p[4096];
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        n++;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (rm)
            unlink(p);
    }
    closedir(d);
    return n;
}

/* Remove a scratch directory and its files. */
static inline void tu_rmdtemp(const char *dir)
{
    tu_scan_dir(dir, 1);
    rmdir(dir);
}

/* Agreement with PyTorch's numbers (tests/test_parity.c, test_optim.c):
 * an element a of netc's result matches the golden element b when
 * |a - b| <= TU_REL_TOL * max(|b|, m), m being the largest |value| of that
 * golden tensor.  Relative to the element where it is large, relative to
 * the tensor's scale where it is near zero: an element of 1e-9 next to
 * elements of 1e-1 is only as exact as the arithmetic that produced it by
 * cancellation, whereas the tensor as a whole must agree to float32
 * accuracy (a few ulps, compounded over the steps). */
#define TU_REL_TOL 1e-5
#define TU_SHOW_MAX 5 /* mismatching elements printed per tensor */

/* Compare n floats got with want under that tolerance; label and what name
 * the case and the tensor in messages.  Mismatches are printed (up to
 * TU_SHOW_MAX, then the worst); the first is described in msg for the
 * test's failure message.  Returns 1 when everything matches. */
static inline int tu_compare_rel(const char *label, const char *what, const float *got, const float *want, long n,
                                 double rel, char *msg, size_t msglen)
{
    double m = 0.0;
    for (long i = 0; i < n; i++)
        m = fmax(m, fabs((double)want[i]));
    long bad = 0, worst = -1;
    double worst_ratio = 0.0;
    for (long i = 0; i < n; i++) {
        const double a = got[i], b = want[i];
        const double tol = rel * fmax(fabs(b), m);
        if (fabs(a - b) <= tol)
            continue; /* a NaN fails this comparison: a mismatch */
        const double ratio = tol > 0 ? fabs(a - b) / tol : INFINITY;
        if (bad < TU_SHOW_MAX)
            fprintf(stderr, "%s: %s[%ld]: netc %.9g, torch %.9g (diff %.3g, tolerance %.3g)\n", label, what, i, a, b,
                    fabs(a - b), tol);
        if (bad == 0)
            snprintf(msg, msglen, "%s: %s[%ld]: netc %.9g, torch %.9g (diff %.3g, tolerance %.3g)", label, what, i,
                     a, b, fabs(a - b), tol);
        if (worst < 0 || !(ratio <= worst_ratio)) {
            worst = i;
            worst_ratio = ratio;
        }
        bad++;
    }
    if (bad > 0)
        fprintf(stderr, "%s: %s: %ld of %ld elements off, worst [%ld]: netc %.9g, torch %.9g (%.3g x tolerance)\n",
                label, what, bad, n, worst, (double)got[worst], (double)want[worst], worst_ratio);
    return bad == 0;
}

static inline int tu_compare_golden(const char *label, const char *what, const float *got, const float *want,
                                    long n, char *msg, size_t msglen)
{
    return tu_compare_rel(label, what, got, want, n, TU_REL_TOL, msg, msglen);
}

/* The same comparison with another tolerance, labelled by what only. */
static inline int tu_close(const char *what, const float *got, const float *want, long n, double rel, char *msg,
                           size_t msglen)
{
    return tu_compare_rel("", what, got, want, n, rel, msg, msglen);
}

/* Test cases found by file name: every file of dir whose name ends in
 * suffix ("" matches all), in name order, the suffix removed.  Golden-file
 * tests build their case lists this way, so a new case is a file, not an
 * edit here.  Exits when dir cannot be read or holds more than max cases.
 * Returns the count. */
#define TU_CASE_NAME 128
static inline int tu_cmp_names(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

static inline int tu_find_cases(const char *dir, const char *suffix, char (*names)[TU_CASE_NAME], int max)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "cannot open %s (run the tests from the project root)\n", dir);
        exit(EXIT_FAILURE);
    }
    int n = 0;
    size_t sl = strlen(suffix);
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        size_t len = strlen(e->d_name);
        if (e->d_name[0] == '.' || len < sl || len - sl >= TU_CASE_NAME || strcmp(e->d_name + len - sl, suffix) != 0)
            continue;
        if (n == max) {
            fprintf(stderr, "more than %d cases in %s\n", max, dir);
            exit(EXIT_FAILURE);
        }
        memcpy(names[n], e->d_name, len - sl);
        names[n++][len - sl] = '\0';
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof names[0], tu_cmp_names);
    return n;
}

/* Run a suite; the exit status of a test binary. */
static inline int tu_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
