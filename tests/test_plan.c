/* test_plan.c — the plan dumps of the shipped specs against golden files,
 * and the structure of lowered plans (fusion, buffers, arenas).
 *
 * Golden dumps live in tests/golden/<spec>.plan.  After an intended change
 * to the plan, regenerate them with NETC_UPDATE_GOLDEN=1 and review the
 * diff like any other change. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/plan.h"

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (fread(buf, 1, (size_t)n, f) != (size_t)n)
        n = 0;
    buf[n] = 0;
    fclose(f);
    return buf;
}

/* Parse, check and lower a spec file; diagnostics go to a buffer that is
 * printed if anything fails. */
static comp_plan *plan_of(const char *path)
{
    gram_source *src = gram_source_open(path);
    ck_assert_msg(src != NULL, "cannot read %s", path);
    gram_spec *spec = gram_parse(src);
    ck_assert_ptr_nonnull(spec);
    comp_model *m = comp_check(spec);
    ck_assert_msg(m != NULL, "%s does not check", path);
    comp_plan *p = comp_lower(m);
    ck_assert_ptr_nonnull(p);
    return p;
}

static void plan_release(comp_plan *p)
{
    comp_model *m = (comp_model *)p->model;
    gram_source *src = m->spec->src;
    comp_plan_free(p);
    comp_model_free(m);
    gram_source_free(src);
}

static const char *const golden_specs[] = {"mnist_softmax", "mnist_mlp", "mnist_mlp_default"};

START_TEST(test_golden_dump)
{
    char spec_path[256], golden_path[256];
    const char *name = golden_specs[_i];
    snprintf(spec_path, sizeof spec_path, "specs/%s.net", name);
    snprintf(golden_path, sizeof golden_path, "tests/golden/%s.plan", name);
    comp_plan *p = plan_of(spec_path);
    char *dump = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&dump, &len);
    comp_plan_dump(p, p->model->batch, out);
    fclose(out);
    if (getenv("NETC_UPDATE_GOLDEN")) {
        FILE *g = fopen(golden_path, "w");
        ck_assert_ptr_nonnull(g);
        fputs(dump, g);
        fclose(g);
    }
    char *want = read_file(golden_path);
    ck_assert_msg(want != NULL, "missing %s (run with NETC_UPDATE_GOLDEN=1 to create it)", golden_path);
    ck_assert_msg(strcmp(dump, want) == 0, "plan dump of %s differs from %s:\n%s", spec_path, golden_path, dump);
    free(want);
    free(dump);
    plan_release(p);
}
END_TEST

/* The MLP lowers to three fused GEMM ops, the fused loss, three backward
 * ops and one Adam pass over one arena holding all 269,322 parameters. */
START_TEST(test_mlp_structure)
{
    comp_plan *p = plan_of("specs/mnist_mlp.net");
    ck_assert_int_eq(p->nfwd, 3);
    ck_assert_int_eq(p->nloss, 1);
    ck_assert_int_eq(p->nbwd, 3);
    ck_assert_int_eq(p->nupd, 1);
    ck_assert_int_eq(p->ops[0].code, COMP_OP_LINEAR);
    ck_assert_int_eq(p->ops[0].act, COMP_ACT_RELU);
    ck_assert_int_eq(p->ops[1].act, COMP_ACT_RELU);
    ck_assert_int_eq(p->ops[2].act, COMP_ACT_IDENTITY);
    ck_assert_int_eq(p->ops[3].code, COMP_OP_XENT);
    ck_assert_int_eq(p->ops[4].code, COMP_OP_LINEAR_BWD);
    ck_assert_int_eq(p->ops[4].buf[0] >= 0, 1); /* dx of the last layer is needed */
    ck_assert_int_eq(p->ops[6].buf[0], -1);     /* the first layer needs no dx */
    ck_assert_int_eq(p->ops[7].code, COMP_OP_ADAM);
    ck_assert_uint_eq(comp_plan_param_count(p), 784 * 256 + 256 + 256 * 256 + 256 + 256 * 10 + 10);
    ck_assert_uint_eq((size_t)p->ops[7].n, comp_plan_param_count(p));
    ck_assert_uint_eq(p->arena_size[COMP_ARENA_STATE], 2 * comp_plan_param_count(p));
    /* torch's nn.Sequential names: activations take an index too */
    const char *names[] = {"0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"};
    ck_assert_int_eq(p->nparams, 6);
    for (int k = 0; k < 6; k++)
        ck_assert_str_eq(p->bufs[p->params[k]].name, names[k]);
    /* parameters are contiguous in chain order, gradients mirror them */
    size_t off = 0;
    for (int k = 0; k < 6; k++) {
        ck_assert_uint_eq(p->bufs[p->params[k]].offset, off);
        off += p->bufs[p->params[k]].size;
    }
    for (int b = 0; b < p->nbufs; b++)
        if (p->bufs[b].arena == COMP_ARENA_GRAD && p->bufs[b].name[0] == 'd') {
            int found = 0;
            for (int k = 0; k < 6; k++)
                if (strcmp(p->bufs[b].name + 1, p->bufs[p->params[k]].name) == 0) {
                    ck_assert_uint_eq(p->bufs[b].offset, p->bufs[p->params[k]].offset);
                    found = 1;
                }
            ck_assert_msg(found, "gradient %s has no parameter", p->bufs[b].name);
        }
    /* every op is stamped with its spec position */
    for (int i = 0; i < p->nops; i++)
        ck_assert_int_gt(p->ops[i].line, 0);
    plan_release(p);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("plan");
    TCase *tc = tcase_create("plan");
    tcase_add_loop_test(tc, test_golden_dump, 0, (int)(sizeof golden_specs / sizeof *golden_specs));
    tcase_add_test(tc, test_mlp_structure);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
