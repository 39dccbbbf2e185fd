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
#include "runtime/spatial.h"
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
    /* The first line that differs: a whole dump is too long for a check
     * message (and says less). */
    int line = 1;
    size_t start = 0, k = 0;
    for (; dump[k] && dump[k] == want[k]; k++)
        if (dump[k] == '\n') {
            line++;
            start = k + 1;
        }
    ck_assert_msg(dump[k] == want[k], "plan dump of %s differs from %s at line %d: got \"%.*s\", want \"%.*s\"",
                  spec_path, golden_path, line, (int)strcspn(dump + start, "\n"), dump + start,
                  (int)strcspn(want + start, "\n"), want + start);
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

/* Claim the floats of buffer b at offset off for b, or check that b still
 * holds them (no other buffer was placed over b since it was last used). */
static void own(int *owner, const comp_plan *p, comp_layout_kind kind, int b, size_t off, int check,
                const char *path, int at)
{
    const size_t size = comp_layout_buf_size(p, kind, b);
    for (size_t f = off; f < off + size; f++) {
        if (check)
            ck_assert_msg(owner[f] == b, "%s: %s lost floats to %s before op %d", path, p->bufs[b].name,
                          owner[f] < 0 ? "(none)" : p->bufs[owner[f]].name, at);
        owner[f] = b;
    }
}

/* Whether a batch layout of kind (compiler/layout.c) keeps each buffer's
 * floats from where it is written to where it is read: a simulation of
 * the ops in order, each float owned by the buffer that last used it,
 * apart from how layout.c decides.  An op's operands must be distinct
 * floats, a buffer it reads (or keeps, as z or a running statistic) must
 * still own its floats, a scratch operand ('~') may take anyone's; the
 * caller's input (and targets) before the first op, the output after the
 * last, and for a training step what the forward and loss ops wrote
 * between the loss and the backward, and the input and targets at the
 * end. */
static void check_layout(const char *path, comp_layout_kind kind)
{
    comp_plan *p = tu_compile_file(path);
    ck_assert_ptr_nonnull(p);
    size_t *off = malloc((size_t)p->nbufs * sizeof *off);
    const size_t total = comp_batch_layout(p, kind, off);
    ck_assert_uint_gt(total, 0);
    /* The training layout is the plan's own (lower.c lays it out). */
    for (int b = 0; kind == COMP_LAYOUT_TRAIN && b < p->nbufs; b++)
        if (p->bufs[b].arena == COMP_ARENA_BATCH && off[b] != SIZE_MAX)
            ck_assert_uint_eq(off[b], p->bufs[b].offset);
    if (kind == COMP_LAYOUT_TRAIN)
        ck_assert_uint_eq(total, p->arena_size[COMP_ARENA_BATCH]);
    const int nops = kind == COMP_LAYOUT_FORWARD ? p->nfwd : kind == COMP_LAYOUT_EVAL ? p->nfwd + p->nloss : p->nops;
    int *owner = malloc(total * sizeof *owner), *used = calloc((size_t)p->nbufs, sizeof *used);
    for (size_t f = 0; f < total; f++)
        owner[f] = -1;
    own(owner, p, kind, p->input, off[p->input], 0, path, -1);
    if (kind != COMP_LAYOUT_FORWARD)
        own(owner, p, kind, p->target, off[p->target], 0, path, -1);
    for (int i = 0; i < nops; i++) {
        const comp_op *op = &p->ops[i];
        comp_role r;
        for (int k = 0; k < COMP_OP_MAX_BUFS && comp_op_role((comp_opcode)op->code, k, &r); k++) {
            const int b = op->buf[k];
            if (b < 0 || p->bufs[b].arena != COMP_ARENA_BATCH)
                continue;
            used[b] = 1;
            ck_assert_msg(off[b] != SIZE_MAX && off[b] % 16 == 0 && off[b] + comp_layout_buf_size(p, kind, b) <= total,
                          "%s: %s at %zu", path, p->bufs[b].name, off[b]);
            for (int m = 0; m < k; m++) {
                const int c = op->buf[m];
                if (c >= 0 && c != b && p->bufs[c].arena == COMP_ARENA_BATCH)
                    ck_assert_msg(off[b] + comp_layout_buf_size(p, kind, b) <= off[c] ||
                                      off[c] + comp_layout_buf_size(p, kind, c) <= off[b],
                                  "%s: op %d has %s and %s on the same floats", path, i, p->bufs[b].name,
                                  p->bufs[c].name);
            }
            /* A read operand must hold what was written; an output is
             * checked too when an earlier op wrote it (an in-place op, or
             * a running statistic kept across the op). */
            own(owner, p, kind, b, off[b], !r.scratch && (!r.out || used[b] == 2), path, i);
            if (!r.scratch)
                used[b] = 2;
        }
        if (kind == COMP_LAYOUT_TRAIN && i == p->nfwd + p->nloss - 1)
            for (int b = 0; b < p->nbufs; b++)
                if (used[b] == 2)
                    own(owner, p, kind, b, off[b], 1, path, i + 1);
    }
    own(owner, p, kind, p->output, off[p->output], 1, path, nops);
    if (kind == COMP_LAYOUT_TRAIN) {
        own(owner, p, kind, p->input, off[p->input], 1, path, nops);
        own(owner, p, kind, p->target, off[p->target], 1, path, nops);
    }
    for (int b = 0; b < p->nbufs; b++)
        if (!used[b] && b != p->input && b != p->target && b != p->output)
            ck_assert_msg(off[b] == SIZE_MAX, "%s: %s is not used by the ops but placed", path, p->bufs[b].name);
    free(owner);
    free(used);
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
    /* LeNet-5's convolutions read their windows in place when they run
     * alone, so predict needs no room for the unfolded columns and the
     * product the backward uses (24,304 and 16,600 floats per sample):
     * at most the input, the first convolution's output, the first
     * pooling's output and the larger forward scratch, where predict took
     * 29,792 floats per sample with the whole scratch. */
    p = tu_compile_file("specs/lenet5.net");
    off = malloc((size_t)p->nbufs * sizeof *off);
    const size_t col0 = rt_conv_forward_scratch(&p->ops[0].g, 0), col3 = rt_conv_forward_scratch(&p->ops[2].g, 0);
    ck_assert_uint_eq(p->bufs[comp_plan_find_buf(p, "col0")].fwd_size, col0);
    ck_assert_uint_lt(col0, p->bufs[comp_plan_find_buf(p, "col0")].size / 3);
    ck_assert_uint_lt(col3, p->bufs[comp_plan_find_buf(p, "col3")].size / 2);
    ck_assert_uint_le(comp_forward_layout(p, off),
                      784 + 6 * 28 * 28 + 6 * 14 * 14 + COMP_BUF_ALIGN_UP(col0 > col3 ? col0 : col3) + 3 * 16);
    free(off);
    tu_destroy(p);
    static const char *const specs[] = {"specs/deep_relu.net", "tests/specs/good/everything.net",
                                        "tests/specs/good/activations.net", "tests/specs/good/embedding_padding.net"};
    for (size_t k = 0; k < sizeof specs / sizeof *specs; k++)
        check_layout(specs[k], COMP_LAYOUT_FORWARD);
}
END_TEST

/* The plan's own layout of a training step, and eval's, keep what every
 * op reads, on MLPs, CNNs (the convolutions' scratch columns shared) and
 * the specs that use every op; the CNN's step in 40 MiB of batch arena at batch 64
 * where one buffer after another took 69. */
START_TEST(test_batch_layouts)
{
    static const char *const specs[] = {"specs/mnist_mlp_default.net", "specs/lenet5.net", "specs/fashion_cnn.net",
                                        "tests/specs/good/conv1d_signal.net", "tests/specs/good/everything.net",
                                        "tests/specs/good/activations.net", "tests/specs/good/lbfgs_wolfe.net",
                                        "tests/specs/good/embedding_sparse_adam.net"};
    for (size_t k = 0; k < sizeof specs / sizeof *specs; k++) {
        check_layout(specs[k], COMP_LAYOUT_TRAIN);
        check_layout(specs[k], COMP_LAYOUT_EVAL);
        check_layout(specs[k], COMP_LAYOUT_FORWARD);
    }
    comp_plan *p = tu_compile_file("specs/fashion_cnn.net");
    /* At most the floats live at its fullest op (the second convolution's
     * backward: the activations kept for the backward, its dz and dx and
     * its columns, 163,872 floats per sample with the input and targets)
     * and a little alignment. */
    ck_assert_uint_le(p->arena_size[COMP_ARENA_BATCH], 163872 + 256);
    tu_destroy(p);
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
    tcase_add_test(tc, test_batch_layouts);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
