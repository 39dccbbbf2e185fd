/* test_compare.c — the text side of `netc compare`: splitting the
 * --optimizers list and substituting an optimizer call into a spec. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "compiler/compare.h"

START_TEST(test_split)
{
    char list[] = " SGD(lr=0.1, momentum=0.9) ,Adam, SGD(lr=(0.5)),x(s=\"a,(b\") ";
    char *items[8], err[128];
    ck_assert_int_eq(comp_split_optimizers(list, items, 8, err, sizeof err), 4);
    ck_assert_str_eq(items[0], "SGD(lr=0.1, momentum=0.9)");
    ck_assert_str_eq(items[1], "Adam");
    ck_assert_str_eq(items[2], "SGD(lr=(0.5))");
    ck_assert_str_eq(items[3], "x(s=\"a,(b\")");

    const char *bad[] = {"SGD(lr=0.1", "SGD)", "SGD,,Adam", "", "Adam,", "x(s=\"a)"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char b[64];
        strcpy(b, bad[i]);
        ck_assert_msg(comp_split_optimizers(b, items, 8, err, sizeof err) == -1, "'%s' accepted", bad[i]);
        ck_assert(err[0] != 0);
    }
    char many[] = "a,b,c";
    ck_assert_int_eq(comp_split_optimizers(many, items, 2, err, sizeof err), -1);
}
END_TEST

/* The optimizer call spans lines and holds a comment with a parenthesis;
 * everything around it is kept byte for byte. */
static const char *SPEC = "model m {\n"
                          "    input 3\n"
                          "    layers Linear(3, 2)\n"
                          "    loss CrossEntropy\n"
                          "    optimizer SGD(lr=0.1,  # not ) the end\n"
                          "                  momentum=0.9) train epochs=2\n"
                          "}\n";

static char *replaced(const char *spec, const char *call)
{
    comp_plan *p = tu_compile_text(spec);
    char *t = comp_replace_optimizer(p->model->spec->src, p->model, call);
    ck_assert_ptr_nonnull(t);
    tu_destroy(p);
    return t;
}

START_TEST(test_replace)
{
    char *t = replaced(SPEC, "Adam(lr=0.01)");
    ck_assert_str_eq(t, "model m {\n"
                        "    input 3\n"
                        "    layers Linear(3, 2)\n"
                        "    loss CrossEntropy\n"
                        "    optimizer Adam(lr=0.01) train epochs=2\n"
                        "}\n");
    comp_plan *p = tu_compile_text(t);
    ck_assert_int_eq(p->model->optim, COMP_OPTIM_ADAM);
    ck_assert(p->model->epochs == 2);
    tu_destroy(p);
    free(t);

    /* without parentheses, and a name followed by the next statement */
    t = replaced("model m { input 3 layers Linear(3, 2) loss CrossEntropy optimizer Adam\n"
                 "  (1) }\n", "SGD");
    ck_assert_str_eq(t, "model m { input 3 layers Linear(3, 2) loss CrossEntropy optimizer SGD }\n");
    free(t);
    t = replaced("model m { optimizer Adam input 3 layers Linear(3, 2) loss CrossEntropy }", "SGD(lr=1)");
    ck_assert_str_eq(t, "model m { optimizer SGD(lr=1) input 3 layers Linear(3, 2) loss CrossEntropy }");
    free(t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("compare");
    TCase *tc = tcase_create("compare");
    tcase_add_test(tc, test_split);
    tcase_add_test(tc, test_replace);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
