/* testutil.h — helpers shared by the unit tests (header-only). */
#ifndef NETC_TESTS_TESTUTIL_H
#define NETC_TESTS_TESTUTIL_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

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
