/* test_plan.c — the plan dumps of the shipped specs against golden files,
 * and the structure of lowered plans (fusion, buffers, arenas).
 *
 * Golden dumps live in tests/golden/<spec>.plan.  After an intended change
 * to the plan, regenerate them with NETC_UPDATE_GOLDEN=1 and review the
 * diff like any other change. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "compiler/plan.h"
#include "runtime/train.h"

static const char *const golden_specs[] = {"mnist_softmax", "mnist_mlp", "mnist_mlp_default", "lenet5", "fashion_cnn"};

START_TEST(test_golden_dump)
{
    char spec_path[256], golden_path[256];
    const char *name = golden_specs[_i];
    snprintf(spec_path, sizeof spec_path, "specs/%s.net", name);
    snprintf(golden_path, sizeof golden_path, "tests/golden/%s.plan", name);
    comp_plan *p = tu_compile_file(spec_path);
    char *dump = tu_plan_dump(p, p->model->batch);
    if (getenv("NETC_UPDATE_GOLDEN")) {
        FILE *g = fopen(golden_path, "w");
        ck_assert_ptr_nonnull(g);
        fputs(dump, g);
        fclose(g);
    }
    char *want = tu_read_file(golden_path);
    ck_assert_msg(want != NULL, "missing %s (run with NETC_UPDATE_GOLDEN=1 to create it)", golden_path);
    ck_assert_msg(strcmp(dump, want) == 0, "plan dump of %s differs from %s:\n%s", spec_path, golden_path, dump);
    free(want);
    free(dump);
    tu_destroy(p);
}
END_TEST

/* The MLP lowers to three fused GEMM ops, the fused loss, three backward
 * ops and one Adam pass over one arena holding all 269,322 parameters. */
START_TEST(test_mlp_structure)
{
    comp_plan *p = tu_compile_file("specs/mnist_mlp.net");
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
    /* Adam's two moments, the second at the first aligned offset after the
     * first (269,322 floats round up to 269,328) */
    ck_assert_uint_eq(p->arena_size[COMP_ARENA_STATE], 269328 + comp_plan_param_count(p));
    ck_assert_uint_eq(p->bufs[p->ops[7].buf[3]].offset, 269328);
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
    tu_destroy(p);
}
END_TEST

/* Inference passes are cut to what keeps their activations within
 * RT_INFER_PASS_BYTES.  The MNIST MLP writes 784 + 256 + 256 + 10 = 1,306
 * floats per sample in a forward pass (5,224 bytes): 8 MiB holds 1,605
 * rows, cut to the multiple of 16 below. */
START_TEST(test_inference_rows)
{
    comp_plan *p = tu_compile_file("specs/mnist_mlp_default.net");
    ck_assert_uint_eq(RT_INFER_PASS_BYTES, 8u << 20);
    ck_assert_int_eq(rt_inference_rows(p, 10000), 1600);
    ck_assert_int_eq(rt_inference_rows(p, 1601), 1600);
    ck_assert_int_eq(rt_inference_rows(p, 1600), 1600);
    ck_assert_int_eq(rt_inference_rows(p, 256), 256);
    ck_assert_int_eq(rt_inference_rows(p, 1), 1);
    tu_destroy(p);
    /* A sample of 4 MB: cut to the floor, not to nothing. */
    p = tu_compile_text("model wide {\n input 1000000\n layers Linear(1000000, 2)\n loss MSE\n"
                        " optimizer SGD(lr=0.1)\n train epochs=1 batch=4 seed=1\n}\n");
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(rt_inference_rows(p, 10000), RT_INFER_MIN_ROWS);
    ck_assert_int_eq(rt_inference_rows(p, 4), 4);
    tu_destroy(p);
}
END_TEST

/* Whether the forward-only layout keeps every buffer's floats from the op
 * that first touches it to the last: no buffer placed over it is touched
 * in between.  Checked by walking the ops, apart from how layout.c
 * decides. */
static void check_forward_layout(const char *path)
{
    comp_plan *p = tu_compile_file(path);
    ck_assert_ptr_nonnull(p);
    size_t *off = malloc((size_t)p->nbufs * sizeof *off);
    const size_t total = comp_forward_layout(p, off);
    ck_assert_uint_gt(total, 0);
    int *first = malloc((size_t)p->nbufs * sizeof *first), *last = malloc((size_t)p->nbufs * sizeof *last);
    for (int b = 0; b < p->nbufs; b++)
        first[b] = INT32_MAX, last[b] = -2;
    for (int i = -1; i <= p->nfwd; i++)
        for (int k = 0; k < (i < 0 || i == p->nfwd ? 1 : COMP_OP_MAX_BUFS); k++) {
            const int b = i < 0 ? p->input : i == p->nfwd ? p->output : p->ops[i].buf[k];
            if (b < 0 || p->bufs[b].arena != COMP_ARENA_BATCH)
                continue;
            if (first[b] == INT32_MAX)
                first[b] = i;
            last[b] = i;
        }
    for (int b = 0; b < p->nbufs; b++) {
        if (last[b] == -2) {
            ck_assert_msg(off[b] == SIZE_MAX, "%s: %s is not used by the forward ops but placed", path,
                          p->bufs[b].name);
            continue;
        }
        ck_assert_msg(off[b] % 16 == 0 && off[b] + p->bufs[b].size <= total, "%s: %s at %zu", path,
                      p->bufs[b].name, off[b]);
        for (int c = 0; c < p->nbufs; c++)
            if (c != b && last[c] != -2 && first[c] <= last[b] && first[b] <= last[c])
                ck_assert_msg(off[b] + p->bufs[b].size <= off[c] || off[c] + p->bufs[c].size <= off[b],
                              "%s: %s and %s are live together but share floats", path, p->bufs[b].name,
                              p->bufs[c].name);
    }
    free(first);
    free(last);
    free(off);
    tu_destroy(p);
}

/* The forward-only layout of emitted predict (compiler/layout.c): the
 * MLP's input and one hidden layer, 784 + 256 floats per sample, where
 * the training layout has 1,856; the second hidden layer over the input,
 * the logits after it; and the liveness rule on other specs. */
START_TEST(test_forward_layout)
{
    comp_plan *p = tu_compile_file("specs/mnist_mlp_default.net");
    size_t *off = malloc((size_t)p->nbufs * sizeof *off);
    ck_assert_uint_eq(comp_forward_layout(p, off), 784 + 256);
    ck_assert_uint_eq(p->arena_size[COMP_ARENA_BATCH], 1856);
    ck_assert_uint_eq(off[comp_plan_find_buf(p, "x")], 0);
    ck_assert_uint_eq(off[comp_plan_find_buf(p, "h1")], 784);
    ck_assert_uint_eq(off[comp_plan_find_buf(p, "h3")], 0);
    ck_assert_uint_eq(off[comp_plan_find_buf(p, "h4")], 256);
    ck_assert_uint_eq(off[comp_plan_find_buf(p, "target")], SIZE_MAX);
    ck_assert_uint_eq(off[comp_plan_find_buf(p, "dh1")], SIZE_MAX);
    free(off);
    tu_destroy(p);
    static const char *const specs[] = {"specs/deep_relu.net", "tests/specs/good/everything.net",
                                        "tests/specs/good/activations.net", "tests/specs/good/embedding_padding.net"};
    for (size_t k = 0; k < sizeof specs / sizeof *specs; k++)
        check_forward_layout(specs[k]);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("plan");
    TCase *tc = tcase_create("plan");
    tcase_add_loop_test(tc, test_golden_dump, 0, (int)(sizeof golden_specs / sizeof *golden_specs));
    tcase_add_test(tc, test_mlp_structure);
    tcase_add_test(tc, test_inference_rows);
    tcase_add_test(tc, test_forward_layout);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
