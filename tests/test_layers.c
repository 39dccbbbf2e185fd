/* test_layers.c — the spatial layers' rules (compiler/rule_*.c) against
 * PyTorch: output shapes, parameter and state tensors with torch's
 * shapes, names and fans (tests/golden/layers/shapes.txt, written by
 * scripts/gen_golden_layers.py), the initial values torch gives them, and
 * model state that the optimizer leaves alone and checkpoints keep.
 *
 * Every test runs from the project root, where the golden files are. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "compiler/model.h"
#include "compiler/plan.h"
#include "compiler/rule.h"
#include "grammar/ast.h"
#include "grammar/diag.h"
#include "runtime/checkpoint.h"
#include "runtime/net.h"

#define SHAPES "tests/golden/layers/shapes.txt"

/* "3,9,11" into dims; returns the count. */
static int parse_dims(const char *s, int *dims)
{
    int n = 0;
    if (strncmp(s, "scalar", 6) == 0)
        return 0;
    while (*s && n < COMP_MAX_RANK) {
        dims[n++] = (int)strtol(s, (char **)&s, 10);
        if (*s != ',')
            break;
        s++;
    }
    return n;
}

static char *trim(char *s)
{
    while (*s == ' ')
        s++;
    char *e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\n'))
        *--e = 0;
    return s;
}

/* The spec of one layer on the given input; MSE accepts any output. */
static comp_plan *compile_layer(const char *input, const char *call)
{
    char text[1024], in[128];
    int dims[COMP_MAX_RANK], n = parse_dims(input, dims);
    snprintf(in, sizeof in, n == 1 ? "%s" : "(%s)", input);
    snprintf(text, sizeof text, "model m {\n    input %s\n    layers %s\n    loss MSE\n    optimizer SGD\n}\n", in,
             call);
    return tu_compile_text(text);
}

START_TEST(test_shapes_match_torch)
{
    char *golden = tu_read_file(SHAPES);
    ck_assert_msg(golden != NULL, "cannot read %s", SHAPES);
    int cases = 0;
    for (char *line = strtok(golden, "\n"); line; line = strtok(NULL, "\n")) {
        char *field[4];
        char *save = NULL;
        int nf = 0;
        for (char *f = strtok_r(line, "|", &save); f && nf < 4; f = strtok_r(NULL, "|", &save))
            field[nf++] = trim(f);
        ck_assert_int_eq(nf, 4);
        comp_plan *p = compile_layer(field[0], field[1]);
        const comp_layer *l = &p->model->layers[0];
        int want[COMP_MAX_RANK], nw = parse_dims(field[2], want);
        char got[128];
        comp_shape_format(&l->out, got, sizeof got);
        ck_assert_msg(l->out.rank == nw, "%s on (%s): output %s, torch's has %d dims", field[1], field[0], got, nw);
        for (int d = 0; d < nw; d++)
            ck_assert_msg(l->out.dims[d] == want[d], "%s on (%s): output %s, torch's is (N, %s)", field[1], field[0],
                          got, field[2]);
        /* Every state_dict entry, with torch's shape and fans, and no other. */
        int ntensors = 0;
        if (strcmp(field[3], "-") != 0) {
            char *tsave = NULL;
            for (char *t = strtok_r(field[3], " ", &tsave); t; t = strtok_r(NULL, " ", &tsave)) {
                char name[64], shape[64], fin[32], fout[32];
                ck_assert_int_eq(sscanf(t, "%63[^:]:%63[^:]:%31[^:]:%31s", name, shape, fin, fout), 4);
                char full[80];
                snprintf(full, sizeof full, "0.%s", name);
                int b = comp_plan_find_buf(p, full);
                ck_assert_msg(b >= 0, "%s: no tensor %s", field[1], full);
                const comp_buf *buf = &p->bufs[b];
                int td[COMP_MAX_RANK], nt = parse_dims(shape, td);
                ck_assert_msg(buf->rank == nt, "%s: %s has rank %d, torch's %d", field[1], full, buf->rank, nt);
                for (int d = 0; d < nt; d++)
                    ck_assert_msg(buf->dims[d] == td[d], "%s: %s dim %d is %d, torch's %d", field[1], full, d,
                                  buf->dims[d], td[d]);
                const int state = strstr(name, "running_") || strstr(name, "num_batches");
                ck_assert_int_eq(buf->arena, state ? COMP_ARENA_MODEL : COMP_ARENA_PARAM);
                if (strcmp(fin, "-") != 0) {
                    ck_assert_msg(buf->fan_in == atof(fin) && buf->fan_out == atof(fout),
                                  "%s: %s fans %g/%g, torch's %s/%s", field[1], full, buf->fan_in, buf->fan_out, fin,
                                  fout);
                }
                ntensors++;
            }
        }
        ck_assert_int_eq(p->nparams + p->nstate, ntensors);
        tu_destroy(p);
        cases++;
    }
    ck_assert_int_ge(cases, 30);
    free(golden);
}
END_TEST

static const char *const bn_spec =
    "model bn {\n"
    "    input (2, 6, 6)\n"
    "    layers Conv2d(2, 4, kernel_size=3) -> BatchNorm2d(4, momentum=0.5) -> ReLU -> Flatten -> Linear(64, 3)\n"
    "    loss CrossEntropy\n"
    "    optimizer SGD(lr=0.1, weight_decay=0.01)\n"
    "}\n";

static float *buf_of(rt_net *net, const char *name)
{
    int b = comp_plan_find_buf(net->plan, name);
    ck_assert_msg(b >= 0, "no buffer %s", name);
    return rt_net_buf(net, b);
}

/* torch's reset_parameters: conv weights and biases uniform in
 * +-1/sqrt(fan_in) (kaiming_uniform with a=sqrt(5) gives that bound),
 * BatchNorm weight 1, bias 0, running_mean 0, running_var 1. */
START_TEST(test_default_init)
{
    comp_plan *p = tu_compile_text(bn_spec);
    rt_net *net = rt_net_new(p, 4);
    ck_assert_ptr_nonnull(net);
    ck_assert_int_eq(rt_net_init_params(net, 1), 0);
    const float bound = (float)(1.0 / sqrt(2.0 * 9.0));
    const float *w = buf_of(net, "0.weight"), *b = buf_of(net, "0.bias");
    float wmax = 0;
    for (int i = 0; i < 4 * 2 * 9; i++) {
        ck_assert(fabsf(w[i]) <= bound);
        wmax = fmaxf(wmax, fabsf(w[i]));
    }
    ck_assert(wmax > bound / 2); /* drawn, not zero */
    for (int i = 0; i < 4; i++) {
        ck_assert(fabsf(b[i]) <= bound);
        ck_assert_float_eq(buf_of(net, "1.weight")[i], 1.0f);
        ck_assert_float_eq(buf_of(net, "1.bias")[i], 0.0f);
        ck_assert_float_eq(buf_of(net, "1.running_mean")[i], 0.0f);
        ck_assert_float_eq(buf_of(net, "1.running_var")[i], 1.0f);
    }
    ck_assert_float_eq(buf_of(net, "1.num_batches_tracked")[0], 0.0f);
    rt_net_free(net);
    tu_destroy(p);
}
END_TEST

/* One training step updates the running statistics in the forward pass
 * only: the optimizer (with weight decay, which would move anything it
 * touched) leaves them as the forward left them; a checkpoint keeps them
 * and a fresh net loads them back. */
START_TEST(test_running_stats_are_state)
{
    comp_plan *p = tu_compile_text(bn_spec);
    rt_net *net = rt_net_new(p, 4);
    ck_assert_ptr_nonnull(net);
    ck_assert_int_eq(rt_net_init_params(net, 3), 0);
    rt_net_set_batch(net, 4, 1);
    float *x = rt_net_buf(net, p->input), *t = rt_net_buf(net, p->target);
    uint64_t rng = 12345;
    for (int i = 0; i < 4 * 72; i++) {
        rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
        x[i] = (float)((rng >> 40) & 0xffff) / 65536.0f - 0.5f;
    }
    for (int i = 0; i < 4; i++)
        t[i] = (float)(i % 3);
    rt_net_forward(net);
    rt_net_backward(net);
    float before[9];
    memcpy(before, buf_of(net, "1.running_mean"), 4 * sizeof(float));
    memcpy(before + 4, buf_of(net, "1.running_var"), 4 * sizeof(float));
    before[8] = buf_of(net, "1.num_batches_tracked")[0];
    ck_assert_float_eq(before[8], 1.0f);
    int moved = 0;
    for (int i = 0; i < 4; i++)
        moved += before[i] != 0.0f && before[4 + i] != 1.0f;
    ck_assert_int_eq(moved, 4);
    rt_net_update(net);
    ck_assert_mem_eq(buf_of(net, "1.running_mean"), before, 4 * sizeof(float));
    ck_assert_mem_eq(buf_of(net, "1.running_var"), before + 4, 4 * sizeof(float));

    char dir[256], path[300], err[512];
    tu_mkdtemp(dir, sizeof dir, "layers");
    snprintf(path, sizeof path, "%s/bn.safetensors", dir);
    ck_assert_msg(rt_checkpoint_save(net, path, err, sizeof err) == 0, "%s", err);
    rt_net *back = rt_net_new(p, 4);
    ck_assert_ptr_nonnull(back);
    ck_assert_msg(rt_checkpoint_load(back, path, 0, err, sizeof err, err, sizeof err) == 0, "%s", err);
    ck_assert_mem_eq(buf_of(back, "1.running_mean"), before, 4 * sizeof(float));
    ck_assert_mem_eq(buf_of(back, "1.running_var"), before + 4, 4 * sizeof(float));
    ck_assert_float_eq(buf_of(back, "1.num_batches_tracked")[0], 1.0f);
    ck_assert_mem_eq(back->arena[COMP_ARENA_PARAM], net->arena[COMP_ARENA_PARAM],
                     p->arena_size[COMP_ARENA_PARAM] * sizeof(float));
    rt_net_free(back);
    tu_rmdtemp(dir);
    rt_net_free(net);
    tu_destroy(p);
}
END_TEST

/* An inference net beside a training one reads the same running
 * statistics (eval mode uses them). */
START_TEST(test_sharing_net_reads_state)
{
    comp_plan *p = tu_compile_text(bn_spec);
    rt_net *net = rt_net_new(p, 2);
    ck_assert_ptr_nonnull(net);
    rt_net *inf = rt_net_new_sharing(net);
    ck_assert_ptr_nonnull(inf);
    ck_assert_ptr_eq(inf->arena[COMP_ARENA_MODEL], net->arena[COMP_ARENA_MODEL]);
    ck_assert_ptr_eq(inf->arena[COMP_ARENA_PARAM], net->arena[COMP_ARENA_PARAM]);
    rt_net_free(inf);
    rt_net_free(net);
    tu_destroy(p);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("layers");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_shapes_match_torch);
    tcase_add_test(tc, test_default_init);
    tcase_add_test(tc, test_running_stats_are_state);
    tcase_add_test(tc, test_sharing_net_reads_state);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(suite());
}
