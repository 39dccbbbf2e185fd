/* test_emit_select.c — emitted C carries only the kernels its plan calls.
 *
 * The selection itself on a small text (what an item is, what counts as
 * a name and what does not), then on real models: a predict-only MLP
 * must hold its forward kernels and none of the loss, backward or
 * optimizer kernels, which --train adds; the output does not vary from
 * one run to the next; and predict-only code, which tests/test_emit.c
 * does not build (it always emits --train), compiles under the strict
 * flags. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "compiler/emit.h"
#include "compiler/emit_select.h"

static const char sample[] =
    "typedef enum {\n"
    "K_A,\n"
    "K_B\n"
    "} kind;\n"
    "struct node;\n"
    "typedef struct { int x; kind k; } box;\n"
    "static int helper(box *b);\n"
    "static int unused_fn(int x);\n"
    "static int helper(box *b)\n"
    "{\n"
    "    return b->x + K_A;\n"
    "}\n"
    "static int unused_fn(int x) { return x; }\n"
    "typedef void (*callback)(struct node *n);\n"
    "static const float table[2] = {1.0f, 2.0f};\n"
    "static float uses_table(void) { return table[1] * 1.5e-3f; }\n"
    "static const char *says(void) { return \"helper unused_fn\"; }\n";

/* What the selection prints for the code use. */
static char *select_for(const char *kernels, const char *use)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(comp_emit_select(f, kernels, use, strlen(use)), 0);
    ck_assert_int_eq(fclose(f), 0);
    return text;
}

START_TEST(test_closure)
{
    char *t = select_for(sample, "int main(void) { box b = {1, K_B}; return helper(&b); }");
    /* helper's prototype and body, the typedef it takes, the enum constant
     * it uses (with the enum's other constants: one item). */
    ck_assert_ptr_nonnull(strstr(t, "static int helper(box *b);\n"));
    ck_assert_ptr_nonnull(strstr(t, "    return b->x + K_A;\n}\n"));
    ck_assert_ptr_nonnull(strstr(t, "} box;\n"));
    ck_assert_ptr_nonnull(strstr(t, "K_B\n} kind;\n"));
    ck_assert_ptr_null(strstr(t, "unused_fn"));
    ck_assert_ptr_null(strstr(t, "table"));
    ck_assert_ptr_null(strstr(t, "callback"));
    /* In the text's order: the enum, the struct, helper. */
    ck_assert(strstr(t, "} kind;") < strstr(t, "} box;"));
    ck_assert(strstr(t, "} box;") < strstr(t, "static int helper"));
    free(t);
}
END_TEST

/* A name inside a string or a number's letters is no use of anything. */
START_TEST(test_strings_and_numbers)
{
    char *t = select_for(sample, "return says();");
    ck_assert_str_eq(t, "static const char *says(void) { return \"helper unused_fn\"; }\n");
    free(t);
    t = select_for(sample, "x = 1.0f + 0x1p-4f;");
    ck_assert_str_eq(t, "");
    free(t);
    t = select_for(sample, "uses_table()");
    ck_assert_str_eq(t, "static const float table[2] = {1.0f, 2.0f};\n"
                        "static float uses_table(void) { return table[1] * 1.5e-3f; }\n");
    free(t);
}
END_TEST

/* A function pointer typedef is its own name; the tag it mentions comes
 * with it (its forward declaration is an item of its own). */
START_TEST(test_pointer_typedef_and_tag)
{
    char *t = select_for(sample, "callback f;");
    ck_assert_str_eq(t, "struct node;\ntypedef void (*callback)(struct node *n);\n");
    free(t);
}
END_TEST

/* Every name at once takes the whole text back, byte for byte: the cut
 * loses nothing, the real kernels' text included. */
START_TEST(test_everything_is_an_item)
{
    const char *texts[] = {sample, comp_emit_kernels_portable, comp_emit_kernels_blas};
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        char *t = select_for(texts[i], texts[i]);
        ck_assert_msg(strcmp(t, texts[i]) == 0, "text %zu: the selection of every name differs from the text", i);
        free(t);
    }
}
END_TEST

/* NAME.c for spec with --train or not, --blas or not, as a string. */
static char *emit_c(const char *spec, int train, int blas)
{
    comp_plan *p = tu_compile_file(spec);
    comp_emit_opts o = {NULL, spec, NULL, 0, train, blas, 8, NULL, 0};
    char *text = NULL;
    size_t len = 0;
    FILE *h = fopen("/dev/null", "w"), *c = open_memstream(&text, &len);
    ck_assert(h && c);
    ck_assert_int_eq(comp_emit(p, &o, h, c), 0);
    fclose(h);
    fclose(c);
    tu_destroy(p);
    return text;
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

#define HAS(text, name) ck_assert_msg(strstr(text, name) != NULL, "%s is missing", name)
#define LACKS(text, name) ck_assert_msg(strstr(text, name) == NULL, "%s is there", name)

START_TEST(test_mlp_predict_only)
{
    for (int blas = 0; blas <= 1; blas++) {
        char *c = emit_c("specs/mnist_mlp.net", 0, blas);
        HAS(c, "static void rt_linear_forward(");
        HAS(c, "rt_act_rows_forward(");
        LACKS(c, "rt_adam_step");
        LACKS(c, "rt_linear_backward");
        LACKS(c, "rt_act_rows_backward");
        LACKS(c, "rt_xent");
        LACKS(c, "rt_conv_forward");
        LACKS(c, "comp_geom");
        LACKS(c, "rt_rng_");
        if (blas)
            LACKS(c, "rt_gemm_nt");
        else
            HAS(c, "static void rt_gemm_nt(");
        LACKS(c, "rt_gemm_tn"); /* backward only */
        /* Well under a tenth of all the kernels. */
        const char *all = blas ? comp_emit_kernels_blas : comp_emit_kernels_portable;
        ck_assert_msg(count_lines(c) * 10 < count_lines(all), "%d lines, all kernels %d", count_lines(c),
                      count_lines(all));
        free(c);
    }
}
END_TEST

START_TEST(test_mlp_train)
{
    char *c = emit_c("specs/mnist_mlp.net", 1, 0);
    HAS(c, "static void rt_linear_forward(");
    HAS(c, "static void rt_linear_backward(");
    HAS(c, "static void rt_adam_step(");
    HAS(c, "static float rt_xent(");
    HAS(c, "static uint64_t rt_rng_seed(");
    LACKS(c, "rt_sgd_step");
    LACKS(c, "rt_clip_");
    free(c);
}
END_TEST

/* The BatchNorm CNN: its forward kernels, in eval mode, and no backward. */
START_TEST(test_cnn_predict_only)
{
    char *c = emit_c("specs/fashion_cnn.net", 0, 0);
    HAS(c, "static void rt_conv_forward(");
    HAS(c, "static void rt_batchnorm_forward(");
    HAS(c, "static void rt_maxpool_forward(");
    HAS(c, "} comp_geom;");
    LACKS(c, "rt_conv_backward");
    LACKS(c, "rt_batchnorm_backward");
    LACKS(c, "rt_maxpool_backward");
    LACKS(c, "rt_adam_step");
    free(c);
}
END_TEST

START_TEST(test_deterministic)
{
    char *a = emit_c("specs/fashion_cnn.net", 1, 1), *b = emit_c("specs/fashion_cnn.net", 1, 1);
    ck_assert_str_eq(a, b);
    free(a);
    free(b);
}
END_TEST

/* Predict-only code, portable and BLAS, builds under the flags emitted C
 * promises to pass; the type check is enough for what the selection can
 * get wrong (a missing declaration, an unused one). */
START_TEST(test_predict_only_compiles)
{
    static const char *const specs[] = {"specs/mnist_mlp.net", "specs/lenet5.net", "specs/fashion_cnn.net"};
    char dir[256], path[512], cmd[1400];
    tu_mkdtemp(dir, sizeof dir, "emit-select");
    for (size_t i = 0; i < sizeof specs / sizeof *specs; i++)
        for (int blas = 0; blas <= 1; blas++) {
            comp_plan *p = tu_compile_file(specs[i]);
            comp_emit_opts o = {NULL, specs[i], NULL, 0, 0, blas, 8, NULL, 0};
            snprintf(path, sizeof path, "%s/%s.h", dir, p->model->name);
            FILE *h = fopen(path, "w");
            snprintf(path, sizeof path, "%s/%s.c", dir, p->model->name);
            FILE *c = fopen(path, "w");
            ck_assert(h && c);
            ck_assert_int_eq(comp_emit(p, &o, h, c), 0);
            fclose(h);
            fclose(c);
            snprintf(cmd, sizeof cmd, "gcc -std=c99 -Wall -Wextra -pedantic -Werror -fsyntax-only %s 2>&1", path);
            ck_assert_msg(system(cmd) == 0, "%s%s: predict-only code does not compile (%s)", specs[i],
                          blas ? " --blas" : "", cmd);
            tu_destroy(p);
        }
    tu_rmdtemp(dir);
}
END_TEST

static Suite *select_suite(void)
{
    Suite *s = suite_create("emit_select");
    TCase *t = tcase_create("selection");
    tcase_add_test(t, test_closure);
    tcase_add_test(t, test_strings_and_numbers);
    tcase_add_test(t, test_pointer_typedef_and_tag);
    tcase_add_test(t, test_everything_is_an_item);
    suite_add_tcase(s, t);
    TCase *m = tcase_create("models");
    tcase_set_timeout(m, 60);
    tcase_add_test(m, test_mlp_predict_only);
    tcase_add_test(m, test_mlp_train);
    tcase_add_test(m, test_cnn_predict_only);
    tcase_add_test(m, test_deterministic);
    tcase_add_test(m, test_predict_only_compiles);
    suite_add_tcase(s, m);
    return s;
}

int main(void)
{
    return tu_run(select_suite());
}
