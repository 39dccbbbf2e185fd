/* test_optim.c — every optimizer against PyTorch, step for step.
 *
 * scripts/gen_golden_optim.py trained a 6-8-4 Tanh MLP with MSE on one
 * fixed batch for 25 steps under each torch.optim optimizer and several
 * hyperparameter sets, and stored the parameters after every step in
 * tests/golden/optim/<Optim>_<n>.safetensors, with the case's spec in
 * <Optim>_<n>.net.  Here each spec goes through netc's whole pipeline
 * (parse, check, lower, run), starts from torch's initial parameters, and
 * after every step its parameters (and, for ASGD, the averaged parameters
 * "ax") must agree with torch's under testutil.h's tolerance.
 *
 * Every optimizer of the catalog must have at least one such file.
 * Every test runs from the project root, where the golden files are. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "compiler/model.h"
#include "compiler/plan.h"
#include "runtime/net.h"
#include "runtime/safetensors.h"

#define GOLDEN_DIR "tests/golden/optim/"

/* The cases: every tests/golden/optim/<case>.net, in name order. */
#define MAX_CASES 128
static char case_names[MAX_CASES][TU_CASE_NAME];
static int ncases;

static long tensor_count(const rt_tensor *t)
{
    long n = 1;
    for (int i = 0; i < t->rank; i++)
        n *= (long)t->shape[i];
    return n;
}

/* The golden tensor called name holding exactly count floats. */
static const rt_tensor *golden(const rt_st_file *f, const char *cname, const char *name, long count)
{
    const rt_tensor *t = rt_st_find(f, name);
    ck_assert_msg(t != NULL, "%s: golden file has no tensor '%s'", cname, name);
    ck_assert_msg(tensor_count(t) == count, "%s: golden '%s' has %ld floats, netc %ld", cname, name,
                  tensor_count(t), count);
    return t;
}

/* Compare every parameter tensor, stored at base + its PARAM offset (the
 * parameter arena itself, or a state buffer laid out like it), with the
 * golden tensors "<prefix><name>"; all are compared before failing. */
static void compare_params(const char *cname, const rt_st_file *f, const comp_plan *p, const float *base,
                           const char *prefix)
{
    char name[96], msg[512] = "", first[512] = "";
    int ok = 1;
    for (int i = 0; i < p->nparams; i++) {
        const comp_buf *pb = &p->bufs[p->params[i]];
        snprintf(name, sizeof name, "%s%s", prefix, pb->name);
        const rt_tensor *t = golden(f, cname, name, (long)pb->size);
        if (!tu_compare_golden(cname, name, base + pb->offset, t->data, (long)pb->size, msg, sizeof msg) && ok) {
            ok = 0;
            memcpy(first, msg, sizeof first);
        }
    }
    ck_assert_msg(ok, "%s", first);
}

START_TEST(test_trajectory)
{
    const char *cname = case_names[_i];
    char path[256], err[256], tname[96], msg[512] = "";
    snprintf(path, sizeof path, GOLDEN_DIR "%s.safetensors", cname);
    rt_st_file *f = rt_st_load(path, err, sizeof err);
    ck_assert_msg(f != NULL, "%s: cannot load golden file: %s", cname, err);
    snprintf(path, sizeof path, GOLDEN_DIR "%s.net", cname);
    comp_plan *p = tu_compile_file(path);

    /* The spec's optimizer is the one torch ran. */
    const char *optim = rt_st_meta(f, "optimizer");
    ck_assert_msg(optim && strcmp(optim, comp_optims[p->model->optim].name) == 0,
                  "%s: golden optimizer '%s', spec's '%s'", cname, optim ? optim : "(none)",
                  comp_optims[p->model->optim].name);
    const char *steps_meta = rt_st_meta(f, "steps");
    ck_assert_msg(steps_meta != NULL, "%s: golden file has no 'steps' metadata", cname);
    const int steps = atoi(steps_meta);
    ck_assert_int_ge(steps, 25);

    const rt_tensor *x = rt_st_find(f, "input");
    ck_assert_msg(x != NULL && x->rank == 2, "%s: no usable 'input'", cname);
    const int batch = (int)x->shape[0];
    rt_net *net = rt_net_new(p, batch);
    ck_assert_ptr_nonnull(net);
    rt_net_set_batch(net, batch, 1);
    for (int i = 0; i < p->nparams; i++) {
        const comp_buf *pb = &p->bufs[p->params[i]];
        snprintf(tname, sizeof tname, "init/%s", pb->name);
        memcpy(rt_net_buf(net, p->params[i]), golden(f, cname, tname, (long)pb->size)->data,
               pb->size * sizeof(float));
    }
    x = golden(f, cname, "input", (long)batch * (long)p->bufs[p->input].size);
    memcpy(rt_net_buf(net, p->input), x->data, (size_t)tensor_count(x) * sizeof(float));
    const rt_tensor *y = golden(f, cname, "target", (long)batch * (long)p->target_size);
    memcpy(rt_net_buf(net, p->target), y->data, (size_t)tensor_count(y) * sizeof(float));

    const int ax = comp_plan_find_buf(p, "asgd.ax");
    ck_assert_msg((ax >= 0) == (p->model->optim == COMP_OPTIM_ASGD), "%s: asgd.ax buffer iff ASGD", cname);
    const float *params = net->arena[COMP_ARENA_PARAM];
    for (int s = 1; s <= steps; s++) {
        char prefix[32];
        float loss = rt_net_forward(net);
        snprintf(tname, sizeof tname, "step%d/loss", s);
        ck_assert_msg(tu_compare_golden(cname, tname, &loss, golden(f, cname, tname, 1)->data, 1, msg, sizeof msg),
                      "%s", msg);
        rt_net_backward(net);
        rt_net_update(net);
        snprintf(prefix, sizeof prefix, "step%d/", s);
        compare_params(cname, f, p, params, prefix);
        if (ax >= 0) {
            snprintf(prefix, sizeof prefix, "step%d/ax/", s);
            compare_params(cname, f, p, rt_net_buf(net, ax), prefix);
        }
    }
    rt_net_free(net);
    tu_destroy(p);
    rt_st_free(f);
}
END_TEST

/* The optimizer alone, fed torch's gradients of every step: its
 * arithmetic is torch's, operation for operation and rounding for
 * rounding, so the parameters (and ASGD's ax) must equal torch's bit for
 * bit at every step, not merely within the tolerance above (which a
 * different order of two float operations would pass). */
START_TEST(test_update_bitwise)
{
    const char *cname = case_names[_i];
    char path[256], err[256], tname[96];
    snprintf(path, sizeof path, GOLDEN_DIR "%s.safetensors", cname);
    rt_st_file *f = rt_st_load(path, err, sizeof err);
    ck_assert_msg(f != NULL, "%s: cannot load golden file: %s", cname, err);
    snprintf(path, sizeof path, GOLDEN_DIR "%s.net", cname);
    comp_plan *p = tu_compile_file(path);
    rt_net *net = rt_net_new(p, 1);
    ck_assert_ptr_nonnull(net);
    float *params = net->arena[COMP_ARENA_PARAM], *grads = net->arena[COMP_ARENA_GRAD];
    for (int i = 0; i < p->nparams; i++) {
        const comp_buf *pb = &p->bufs[p->params[i]];
        snprintf(tname, sizeof tname, "init/%s", pb->name);
        memcpy(params + pb->offset, golden(f, cname, tname, (long)pb->size)->data, pb->size * sizeof(float));
    }
    const int ax = comp_plan_find_buf(p, "asgd.ax");
    const int steps = atoi(rt_st_meta(f, "steps") ? rt_st_meta(f, "steps") : "0");
    ck_assert_int_ge(steps, 25);
    for (int s = 1; s <= steps; s++) {
        for (int i = 0; i < p->nparams; i++) {
            const comp_buf *pb = &p->bufs[p->params[i]];
            snprintf(tname, sizeof tname, "step%d/grad/%s", s, pb->name);
            memcpy(grads + pb->offset, golden(f, cname, tname, (long)pb->size)->data, pb->size * sizeof(float));
        }
        rt_net_update(net);
        for (int which = 0; which < (ax >= 0 ? 2 : 1); which++) {
            const float *base = which ? rt_net_buf(net, ax) : params;
            for (int i = 0; i < p->nparams; i++) {
                const comp_buf *pb = &p->bufs[p->params[i]];
                snprintf(tname, sizeof tname, "step%d/%s%s", s, which ? "ax/" : "", pb->name);
                const float *want = golden(f, cname, tname, (long)pb->size)->data;
                for (size_t k = 0; k < pb->size; k++)
                    ck_assert_msg(memcmp(&base[pb->offset + k], &want[k], sizeof(float)) == 0,
                                  "%s: %s[%zu]: netc %.9g, torch %.9g: not bit-identical", cname, tname, k,
                                  (double)base[pb->offset + k], (double)want[k]);
            }
        }
    }
    rt_net_free(net);
    tu_destroy(p);
    rt_st_free(f);
}
END_TEST

/* Every optimizer of the catalog has a trajectory <Name>_*.safetensors. */
START_TEST(test_every_optimizer_has_golden)
{
    static char files[MAX_CASES][TU_CASE_NAME];
    int n = tu_find_cases(GOLDEN_DIR, ".safetensors", files, MAX_CASES);
    for (int o = 0; o < COMP_OPTIM_COUNT; o++) {
        const char *name = comp_optims[o].name;
        size_t len = strlen(name);
        int found = 0;
        for (int i = 0; i < n && !found; i++)
            found = strncmp(files[i], name, len) == 0 && files[i][len] == '_';
        ck_assert_msg(found, "optimizer %s has no golden trajectory " GOLDEN_DIR "%s_*.safetensors "
                      "(scripts/gen_golden_optim.py)", name, name);
    }
}
END_TEST

/* What the lowering and the runtime rely on, for every optimizer: lr is
 * its first argument (p[0], which --lr overrides), its numbers fit p[] and
 * its bools the flags, its op's roles start "params grads" and every
 * "?ARG" names one of its arguments. */
START_TEST(test_optimizer_schemas)
{
    for (int o = 0; o < COMP_OPTIM_COUNT; o++) {
        const comp_entry *e = &comp_optims[o];
        const comp_opcode code = (comp_opcode)comp_optim_ops[o];
        ck_assert_int_eq(comp_op_optim(code), o);
        ck_assert_int_eq(comp_op_phases[code], COMP_PHASE_UPD);
        ck_assert_msg(e->nargs > 0 && strcmp(e->args[0].name, "lr") == 0, "%s: first argument is not lr", e->name);
        int floats = 0, bools = 0;
        for (int a = 0; a < e->nargs; a++)
            if (e->args[a].type == COMP_T_BOOL)
                bools++;
            else
                floats += e->args[a].type == COMP_T_PAIR ? 2 : 1;
        ck_assert_msg(floats <= COMP_OP_MAX_PARAMS, "%s: %d numbers do not fit p[]", e->name, floats);
        ck_assert_msg(bools <= 16, "%s: %d bools do not fit the flags", e->name, bools);
        comp_role r;
        ck_assert(comp_op_role(code, 0, &r) && r.out && r.len == 6 && strncmp(r.name, "params", 6) == 0);
        ck_assert(comp_op_role(code, 1, &r) && !r.out && r.len == 5 && strncmp(r.name, "grads", 5) == 0);
        for (int i = 2; comp_op_role(code, i, &r); i++) {
            char cond[32];
            ck_assert_msg(i < COMP_OP_MAX_BUFS, "%s: too many state buffers", e->name);
            if (!r.out && code == COMP_OP_SPARSE_ADAM)
                continue; /* SparseAdam also reads the Embedding's indices */
            ck_assert_msg(r.out, "%s: state role %.*s is not an output", e->name, r.len, r.name);
            snprintf(cond, sizeof cond, "%.*s", r.cond_len, r.cond);
            ck_assert_msg(r.cond_len == 0 || comp_arg_index(e, cond) >= 0, "%s: role %.*s depends on unknown '%s'",
                          e->name, r.len, r.name, cond);
        }
    }
}
END_TEST

/* State buffers follow the arguments: RMSprop keeps a momentum buffer only
 * with momentum and grad_avg only when centered; every state buffer is in
 * the STATE arena, named "<op>.<torch state key>". */
START_TEST(test_state_buffers)
{
    static const char *const head = "model m {\n input 3\n layers Linear(3, 2)\n loss MSE\n optimizer ";
    static const struct {
        const char *optim;
        const char *present, *absent;
    } cases[] = {
        {"RMSprop", "rmsprop.square_avg", "rmsprop.momentum_buffer"},
        {"RMSprop(momentum=0.5)", "rmsprop.momentum_buffer", "rmsprop.grad_avg"},
        {"RMSprop(centered=true)", "rmsprop.grad_avg", "rmsprop.momentum_buffer"},
        {"Adam", "adam.exp_avg_sq", "adam.max_exp_avg_sq"},
        {"AdamW(amsgrad=true)", "adamw.max_exp_avg_sq", "adam.exp_avg"},
        {"SGD(lr=0.1)", "params", "sgd.momentum_buffer"},
        {"Adagrad", "adagrad.sum", "adagrad.step"},
        {"ASGD", "asgd.ax", "asgd.step"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char text[256];
        snprintf(text, sizeof text, "%s%s\n}\n", head, cases[i].optim);
        comp_plan *p = tu_compile_text(text);
        int b = comp_plan_find_buf(p, cases[i].present);
        ck_assert_msg(b >= 0, "%s: no buffer %s", cases[i].optim, cases[i].present);
        if (strchr(cases[i].present, '.'))
            ck_assert_int_eq(p->bufs[b].arena, COMP_ARENA_STATE);
        ck_assert_msg(comp_plan_find_buf(p, cases[i].absent) < 0, "%s: unexpected buffer %s", cases[i].optim,
                      cases[i].absent);
        tu_destroy(p);
    }
    /* ASGD's eta and mu are single floats; ax is parameter-sized. */
    comp_plan *p = tu_compile_text("model m {\n input 3\n layers Linear(3, 2)\n loss MSE\n optimizer ASGD\n}\n");
    ck_assert_int_eq(p->bufs[comp_plan_find_buf(p, "asgd.eta")].size, 1);
    ck_assert_int_eq(p->bufs[comp_plan_find_buf(p, "asgd.mu")].size, 1);
    ck_assert_int_eq(p->bufs[comp_plan_find_buf(p, "asgd.ax")].size, comp_plan_param_count(p));
    tu_destroy(p);
}
END_TEST

/* The hyperparameters land in p[] in catalog order and the bools in flag
 * bits, and the plan dump names them from the schema. */
START_TEST(test_hyperparameters_in_op)
{
    comp_plan *p = tu_compile_text("model m {\n input 3\n layers Linear(3, 2)\n loss MSE\n"
                                   " optimizer RMSprop(lr=0.5, alpha=0.8, eps=0.25, weight_decay=0.125,"
                                   " momentum=0.75, maximize=true)\n}\n");
    const comp_op *op = &p->ops[p->nops - 1];
    ck_assert_int_eq(op->code, COMP_OP_RMSPROP);
    const double want[] = {0.5, 0.8, 0.25, 0.125, 0.75};
    for (int i = 0; i < 5; i++)
        ck_assert_double_eq(op->p[i], want[i]);
    ck_assert_int_eq(op->flags, 2); /* centered = bit 0 (false), maximize = bit 1 */
    char *dump = tu_plan_dump(p, 1);
    ck_assert_msg(strstr(dump, "lr=0.5 alpha=0.8 eps=0.25 weight_decay=0.125 momentum=0.75 maximize") != NULL,
                  "dump lacks the hyperparameters:\n%s", dump);
    free(dump);
    tu_destroy(p);

    p = tu_compile_text("model m {\n input 3\n layers Linear(3, 2)\n loss MSE\n"
                        " optimizer Rprop(lr=0.5, etas=(0.25, 1.5), step_sizes=(0.125, 8))\n}\n");
    op = &p->ops[p->nops - 1];
    const double want2[] = {0.5, 0.25, 1.5, 0.125, 8};
    for (int i = 0; i < 5; i++)
        ck_assert_double_eq(op->p[i], want2[i]);
    ck_assert_int_eq(op->flags, 0);
    tu_destroy(p);
}
END_TEST

int main(void)
{
    ncases = tu_find_cases(GOLDEN_DIR, ".net", case_names, MAX_CASES);
    Suite *s = suite_create("optim");
    TCase *tc = tcase_create("catalog");
    tcase_add_test(tc, test_every_optimizer_has_golden);
    tcase_add_test(tc, test_optimizer_schemas);
    tcase_add_test(tc, test_state_buffers);
    tcase_add_test(tc, test_hyperparameters_in_op);
    suite_add_tcase(s, tc);
    TCase *traj = tcase_create("trajectory");
    tcase_set_timeout(traj, 60);
    tcase_add_loop_test(traj, test_trajectory, 0, ncases);
    tcase_add_loop_test(traj, test_update_bitwise, 0, ncases);
    suite_add_tcase(s, traj);
    return tu_run(s);
}
