/* test_lbfgs.c — LBFGS, SparseAdam and Embedding against PyTorch, 25 steps
 * each, plus the Embedding and SparseAdam kernels and plans.
 *
 * scripts/gen_golden_lbfgs.py ran every case under torch and stored, in a
 * self-contained safetensors file, the netc spec of the model (metadata
 * "spec"), the initial parameters, the batches, and after each step the
 * parameters, the loss and (LBFGS) state['func_evals'].  Here the spec goes
 * through netc's pipeline, starts from the same parameters, trains on the
 * same batches through the same calls as `netc train` (forward, backward,
 * update; LBFGS re-evaluates inside the update), and every step is
 * compared: parameters and loss to 1e-5 relative (tests/test_parity.c's
 * definition), 1e-4 with the strong-Wolfe line search, and the number of
 * loss evaluations exactly. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "compiler/plan.h"
#include "grammar/ast.h"
#include "runtime/embedding.h"
#include "runtime/kernels.h"
#include "runtime/lbfgs.h"
#include "runtime/net.h"
#include "runtime/safetensors.h"

#define STEPS 25

static const char *const cases[] = {
    "optim/LBFGS_1",      "optim/LBFGS_2",      "optim/LBFGS_3",      "optim/LBFGS_4",
    "optim/LBFGS_5",      "optim/LBFGS_6",      "optim/SparseAdam_1", "optim/SparseAdam_2",
    "optim/SparseAdam_3", "embedding/adam_embedding",
};
#define NCASES ((int)(sizeof cases / sizeof *cases))

static const rt_tensor *need(const rt_st_file *g, const char *name, long count, const char *c)
{
    const rt_tensor *t = rt_st_find(g, name);
    ck_assert_msg(t != NULL, "%s: golden file has no '%s'", c, name);
    long n = 1;
    for (int i = 0; i < t->rank; i++)
        n *= (long)t->shape[i];
    ck_assert_msg(n == count, "%s: '%s' has %ld floats, netc expects %ld", c, name, n, count);
    return t;
}

static void set_batch(rt_net *net, const rt_st_file *g, const char *prefix, const char *c)
{
    const comp_plan *p = net->plan;
    char name[64];
    snprintf(name, sizeof name, "%sinput", prefix);
    const rt_tensor *x = need(g, name, (long)net->batch * (long)p->bufs[p->input].size, c);
    memcpy(rt_net_buf(net, p->input), x->data, (size_t)net->batch * p->bufs[p->input].size * sizeof(float));
    snprintf(name, sizeof name, "%starget", prefix);
    const rt_tensor *y = need(g, name, (long)net->batch * (long)p->target_size, c);
    memcpy(rt_net_buf(net, p->target), y->data, (size_t)net->batch * p->target_size * sizeof(float));
}

START_TEST(test_replay)
{
    const char *c = cases[_i];
    char path[256], err[256], msg[768], name[384];
    snprintf(path, sizeof path, "tests/golden/%s.safetensors", c);
    rt_st_file *g = rt_st_load(path, err, sizeof err);
    ck_assert_msg(g != NULL, "%s", err);
    const char *spec = rt_st_meta(g, "spec");
    ck_assert_msg(spec != NULL, "%s: no spec in the metadata", c);
    comp_plan *p = tu_compile_text(spec);
    const comp_op *upd = &p->ops[p->nops - 1];
    const int is_lbfgs = upd->code == COMP_OP_LBFGS;
    const double rel = is_lbfgs && (upd->flags & COMP_OPF_STRONG_WOLFE) ? 1e-4 : 1e-5;
    const int batch = p->model->batch;
    const int per_step = rt_st_find(g, "step1/input") != NULL;

    rt_net *net = rt_net_new(p, batch);
    ck_assert_ptr_nonnull(net);
    rt_net_set_batch(net, batch, 1);
    for (int i = 0; i < p->nparams; i++) {
        const comp_buf *pb = &p->bufs[p->params[i]];
        snprintf(name, sizeof name, "init/%s", pb->name);
        memcpy(rt_net_buf(net, p->params[i]), need(g, name, (long)pb->size, c)->data, pb->size * sizeof(float));
    }
    if (!per_step)
        set_batch(net, g, "", c);
    for (int s = 1; s <= STEPS; s++) {
        char prefix[16];
        snprintf(prefix, sizeof prefix, "step%d/", s);
        if (per_step)
            set_batch(net, g, prefix, c);
        float loss = rt_net_forward(net);
        rt_net_backward(net);
        rt_net_update(net);
        snprintf(name, sizeof name, "%s: %sloss", c, prefix);
        snprintf(path, sizeof path, "%sloss", prefix);
        ck_assert_msg(tu_close(name, &loss, need(g, path, 1, c)->data, 1, rel, msg, sizeof msg), "%s", msg);
        for (int i = 0; i < p->nparams; i++) {
            const comp_buf *pb = &p->bufs[p->params[i]];
            snprintf(path, sizeof path, "%s%s", prefix, pb->name);
            snprintf(name, sizeof name, "%s: %s", c, path);
            ck_assert_msg(tu_close(name, rt_net_buf(net, p->params[i]), need(g, path, (long)pb->size, c)->data,
                                   (long)pb->size, rel, msg, sizeof msg),
                          "%s", msg);
        }
        if (is_lbfgs) {
            snprintf(path, sizeof path, "%sfunc_evals", prefix);
            long want = (long)need(g, path, 1, c)->data[0];
            ck_assert_msg(rt_lbfgs_func_evals(net) == want, "%s: step %d: %ld loss evaluations, torch %ld", c, s,
                          rt_lbfgs_func_evals(net), want);
        }
    }
    rt_net_free(net);
    tu_destroy(p);
    rt_st_free(g);
}
END_TEST

static Suite *lbfgs_suite(void)
{
    Suite *s = suite_create("lbfgs");
    TCase *tc = tcase_create("replay");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_replay, 0, NCASES);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(lbfgs_suite());
}
