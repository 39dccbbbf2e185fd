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

/* Whether got[0..n) matches want[0..n) to rel, as tests/test_parity.c
 * defines it: |a - b| <= rel * max(|b|, m), m the largest |want|.  The
 * first mismatch is described in msg (prefixed by what). */
static inline int tu_close(const char *what, const float *got, const float *want, long n, double rel, char *msg,
                           size_t msglen)
{
    double m = 0.0;
    for (long i = 0; i < n; i++)
        m = fabs((double)want[i]) > m ? fabs((double)want[i]) : m;
    for (long i = 0; i < n; i++) {
        const double a = got[i], b = want[i];
        const double tol = rel * (fabs(b) > m ? fabs(b) : m);
        if (!(fabs(a - b) <= tol)) {
            snprintf(msg, msglen, "%s[%ld]: netc %.9g, torch %.9g (diff %.3g, tolerance %.3g)", what, i, a, b,
                     fabs(a - b), tol);
            return 0;
        }
    }
    return 1;
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
