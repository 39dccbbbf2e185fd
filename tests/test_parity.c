/* test_parity.c — netc against PyTorch, number for number.
 *
 * scripts/gen_golden.py ran each case's nn.Sequential under PyTorch and
 * stored, in tests/golden/parity/<case>.safetensors, the initial parameters, a
 * batch, the output, loss and gradients of the first step and the
 * parameters after three optimizer steps.  Here each case's spec,
 * tests/golden/parity/<case>.net, goes through netc's whole pipeline (parse,
 * check, lower, run), starts from the same parameters and the same batch,
 * and every tensor torch produced is compared with netc's.
 *
 * A model whose state_dict holds buffers besides its parameters
 * (BatchNorm's running_mean, running_var and num_batches_tracked; the
 * golden file lists them in its "buffer_keys" metadata) must have a plan
 * buffer of the same name (comp_plan_find_buf: "1.running_mean", ...)
 * that is not a parameter: the test loads torch's initial values into it,
 * compares it after every step, then runs one eval-mode forward, which
 * must normalise with those statistics (eval/output) and leave them as
 * they are.  A missing buffer fails the case: a BatchNorm without its
 * running statistics would train the same and predict differently.
 *
 * Tolerance: testutil.h's tu_compare_golden(), 1e-5 relative to the
 * element or to the tensor's largest element, whichever is larger.
 *
 * Every test runs from the project root, where the golden files are. */
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "compiler/model.h"
#include "compiler/plan.h"
#include "grammar/ast.h"
#include "grammar/diag.h"
#include "runtime/net.h"
#include "runtime/safetensors.h"

#define GOLDEN_DIR "tests/golden/parity/"
#define STEPS 3
/* Buffers of one state_dict (three per BatchNorm) and their name length. */
#define MAX_BUFFERS 32
#define NAME_LEN 32

/* The cases: every tests/golden/parity/<case>.net, in name order, so a new
 * case is a spec and a CASES entry in the generator, nothing here. */
#define MAX_CASES 128
static char case_names[MAX_CASES][TU_CASE_NAME];
static int ncases;

/* One case loaded: the golden file and netc's plan for the spec. */
typedef struct {
    const char *name;
    rt_st_file *golden;
    const comp_model *model;
    comp_plan *plan;
    int batch;
    int nbuffers;                         /* the golden file's buffer_keys */
    char buffers[MAX_BUFFERS][NAME_LEN];
} golden_case;

/* The next string of a JSON list of plain names ("[\"a\", \"b\"]": no
 * escapes occur in state_dict names), copied into out; *s moves past it.
 * Returns 0 at the end of the list; aborts on a malformed list. */
static int next_name(const char *label, const char **s, char *out, size_t outlen)
{
    const char *b = strchr(*s, '"');
    if (!b)
        return 0;
    const char *e = strchr(b + 1, '"');
    ck_assert_msg(e != NULL, "%s: malformed name list: %s", label, *s);
    const size_t len = (size_t)(e - b - 1);
    ck_assert_msg(len < outlen, "%s: name '%.*s' is too long", label, (int)len, b + 1);
    memcpy(out, b + 1, len);
    out[len] = 0;
    *s = e + 1;
    return 1;
}

/* The index of name among the golden state_dict's buffers, or -1. */
static int buffer_index(const golden_case *c, const char *name)
{
    for (int i = 0; i < c->nbuffers; i++)
        if (strcmp(c->buffers[i], name) == 0)
            return i;
    return -1;
}

static void case_free(golden_case *c)
{
    if (c->plan)
        tu_destroy(c->plan);
    rt_st_free(c->golden);
    memset(c, 0, sizeof *c);
}

/* Load the golden file and compile the spec; any failure aborts the test
 * (check runs each test in its own process, so nothing leaks across). */
static void case_load(golden_case *c, const char *name)
{
    char path[256], err[256];
    memset(c, 0, sizeof *c);
    c->name = name;

    snprintf(path, sizeof path, GOLDEN_DIR "%s.safetensors", name);
    c->golden = rt_st_load(path, err, sizeof err);
    ck_assert_msg(c->golden != NULL, "%s: cannot load golden file: %s", name, err);

    snprintf(path, sizeof path, GOLDEN_DIR "%s.net", name);
    c->plan = tu_compile_file(path);
    c->model = c->plan->model;

    /* The batch is the input's leading dimension. */
    const rt_tensor *x = rt_st_find(c->golden, "input");
    ck_assert_msg(x != NULL && x->rank >= 1 && x->shape[0] > 0, "%s: golden file has no usable 'input'",
                  name);
    c->batch = (int)x->shape[0];
    /* The spec's train statement documents the golden batch; keep them in step. */
    ck_assert_msg(c->model->batch == c->batch, "%s: spec says batch=%d, golden batch is %d", name, c->model->batch,
                  c->batch);

    const char *keys = rt_st_meta(c->golden, "buffer_keys");
    if (keys)
        while (next_name(name, &keys, c->buffers[c->nbuffers], NAME_LEN))
            ck_assert_msg(++c->nbuffers < MAX_BUFFERS, "%s: more than %d buffers", name, MAX_BUFFERS - 1);
}

static long tensor_count(const rt_tensor *t)
{
    long n = 1;
    for (int i = 0; i < t->rank; i++)
        n *= (long)t->shape[i];
    return n;
}

/* The golden tensor called name; aborts when it is missing or does not
 * hold exactly count floats. */
static const rt_tensor *golden_tensor(const golden_case *c, const char *name, long count)
{
    const rt_tensor *t = rt_st_find(c->golden, name);
    ck_assert_msg(t != NULL, "%s: golden file has no tensor '%s'", c->name, name);
    ck_assert_msg(tensor_count(t) == count, "%s: golden '%s' has %ld floats, netc's buffer %ld", c->name, name,
                  tensor_count(t), count);
    return t;
}

/* The plan buffer called name, or -1. */
static int plan_buf(const comp_plan *p, const char *name)
{
    for (int b = 0; b < p->nbufs; b++)
        if (strcmp(p->bufs[b].name, name) == 0)
            return b;
    return -1;
}

/* A golden parameter-shaped tensor must have the parameter's torch shape
 * (a conv weight's four dims too, as far as comp_buf holds them). */
static void check_param_shape(const golden_case *c, const comp_buf *pb, const rt_tensor *t)
{
    const int maxdims = (int)(sizeof pb->dims / sizeof pb->dims[0]);
    int same = t->rank == pb->rank && pb->rank <= maxdims;
    for (int i = 0; same && i < pb->rank; i++)
        same = t->shape[i] == pb->dims[i];
    if (same)
        return;
    char want[96] = "", got[96] = "";
    size_t w = 0, g = 0;
    for (int i = 0; i < t->rank && w < sizeof want; i++)
        w += (size_t)snprintf(want + w, sizeof want - w, "%s%lld", i ? ", " : "", (long long)t->shape[i]);
    for (int i = 0; i < pb->rank && i < maxdims && g < sizeof got; i++)
        g += (size_t)snprintf(got + g, sizeof got - g, "%s%d", i ? ", " : "", pb->dims[i]);
    ck_abort_msg("%s: '%s' has shape (%s) in the golden file, netc's parameter '%s' rank %d (%s)", c->name,
                 t->name, want, pb->name, pb->rank, got);
}

/* The plan buffer of golden buffer i (a BatchNorm running statistic):
 * it must exist under torch's state_dict name, hold the golden tensor's
 * floats, be model state (not per-sample, not a gradient) and not be a
 * parameter, which the optimizer would update. */
static int buffer_buf(const golden_case *c, int i, const rt_tensor *t)
{
    const comp_plan *p = c->plan;
    const char *name = c->buffers[i];
    const int b = comp_plan_find_buf(p, name);
    ck_assert_msg(b >= 0,
                  "%s: netc's plan has no buffer '%s'; torch's state_dict holds it (the BatchNorm's running "
                  "statistics must be plan buffers named as torch names them, so that training updates them, "
                  "eval uses them and checkpoints carry them)",
                  c->name, name);
    for (int k = 0; k < p->nparams; k++)
        ck_assert_msg(p->params[k] != b, "%s: '%s' is a parameter in netc's plan; in torch it is a buffer, which "
                      "no gradient or optimizer touches", c->name, name);
    ck_assert_msg(p->bufs[b].arena != COMP_ARENA_BATCH && p->bufs[b].arena != COMP_ARENA_GRAD,
                  "%s: buffer '%s' is in arena %d; running statistics are model state, one copy per model",
                  c->name, name, (int)p->bufs[b].arena);
    if (t)
        ck_assert_msg(tensor_count(t) == (long)p->bufs[b].size, "%s: golden '%s' has %ld floats, netc's buffer %zu",
                      c->name, t->name, tensor_count(t), p->bufs[b].size);
    return b;
}

/* Compare netc's floats with a golden tensor (tu_compare_golden). */
static int compare(const golden_case *c, const char *what, const float *got, const rt_tensor *want, char *msg,
                   size_t msglen)
{
    return tu_compare_golden(c->name, what, got, want->data, tensor_count(want), msg, msglen);
}

/* Compare every parameter (prefix "stepS/") or every parameter gradient
 * (prefix "grad/") with the golden file; all are compared before the test
 * fails, so one run shows every tensor that is off. */
static void compare_params(const golden_case *c, const rt_net *net, const char *prefix, int grads)
{
    const comp_plan *p = c->plan;
    char name[96], msg[512] = "", first[512] = "";
    int ok = 1;
    for (int i = 0; i < p->nparams; i++) {
        const comp_buf *pb = &p->bufs[p->params[i]];
        int b = p->params[i];
        if (grads) {
            char gname[40];
            snprintf(gname, sizeof gname, "d%s", pb->name);
            b = plan_buf(p, gname);
            ck_assert_msg(b >= 0, "%s: plan has no gradient buffer '%s'", c->name, gname);
        }
        snprintf(name, sizeof name, "%s%s", prefix, pb->name);
        const rt_tensor *t = golden_tensor(c, name, (long)pb->size);
        check_param_shape(c, pb, t);
        if (!compare(c, name, rt_net_buf(net, b), t, msg, sizeof msg) && ok) {
            ok = 0;
            memcpy(first, msg, sizeof first);
        }
    }
    ck_assert_msg(ok, "%s", first);
}

/* Compare every buffer of the state_dict with its golden tensor
 * "<prefix><name>" (prefix "stepS/"); all are compared before the test
 * fails. */
static void compare_buffers(const golden_case *c, const rt_net *net, const char *prefix, const char *when)
{
    char name[96], what[160], msg[512] = "", first[512] = "";
    int ok = 1;
    for (int i = 0; i < c->nbuffers; i++) {
        snprintf(name, sizeof name, "%s%s", prefix, c->buffers[i]);
        const rt_tensor *t = rt_st_find(c->golden, name);
        ck_assert_msg(t != NULL, "%s: golden file has no tensor '%s'", c->name, name);
        const int b = buffer_buf(c, i, t);
        snprintf(what, sizeof what, "%s%s", name, when);
        if (!compare(c, what, rt_net_buf(net, b), t, msg, sizeof msg) && ok) {
            ok = 0;
            memcpy(first, msg, sizeof first);
        }
    }
    ck_assert_msg(ok, "%s", first);
}

/* Compare a loss value with the one-element golden tensor called name;
 * what names the value in messages. */
static void compare_loss(const golden_case *c, const char *name, const char *what, float loss)
{
    char msg[512] = "";
    const rt_tensor *t = golden_tensor(c, name, 1);
    ck_assert_msg(compare(c, what, &loss, t, msg, sizeof msg), "%s", msg);
}

/* The whole replay of one case: initial parameters and batch from the
 * golden file, then forward, backward and three updates, each compared. */
static void replay(const char *name)
{
    golden_case c;
    case_load(&c, name);
    const comp_plan *p = c.plan;
    const int N = c.batch;
    char msg[512] = "", tname[96];

    rt_net *net = rt_net_new(p, N);
    ck_assert_msg(net != NULL, "%s: out of memory", name);
    rt_net_set_batch(net, N, 1);

    /* Parameters, by name: every parameter of the plan must be in the
     * golden file with torch's shape. */
    for (int i = 0; i < p->nparams; i++) {
        const comp_buf *pb = &p->bufs[p->params[i]];
        snprintf(tname, sizeof tname, "init/%s", pb->name);
        ck_assert_msg(rt_st_find(c.golden, tname) != NULL, "%s: plan parameter '%s' is not in the golden file",
                      name, pb->name);
        const rt_tensor *t = golden_tensor(&c, tname, (long)pb->size);
        check_param_shape(&c, pb, t);
        memcpy(rt_net_buf(net, p->params[i]), t->data, pb->size * sizeof(float));
    }

    /* The state_dict's buffers, by name, as torch built them. */
    for (int i = 0; i < c.nbuffers; i++) {
        snprintf(tname, sizeof tname, "init/%s", c.buffers[i]);
        const rt_tensor *t = rt_st_find(c.golden, tname);
        ck_assert_msg(t != NULL, "%s: golden file has no tensor '%s'", name, tname);
        const int b = buffer_buf(&c, i, t);
        memcpy(rt_net_buf(net, b), t->data, p->bufs[b].size * sizeof(float));
    }

    /* ... and nothing else: an init/ tensor the plan lacks means the spec
     * is not torch's model (a layer or a bias missing). */
    for (int i = 0; i < rt_st_count(c.golden); i++) {
        const char *tn = rt_st_tensor(c.golden, i)->name;
        const int b = strncmp(tn, "init/", 5) != 0 || buffer_index(&c, tn + 5) >= 0 ? -2 : plan_buf(p, tn + 5);
        ck_assert_msg(b == -2 || (b >= 0 && p->bufs[b].arena == COMP_ARENA_PARAM),
                      "%s: torch parameter '%s' has no counterpart in netc's plan", name, tn + 5);
    }

    /* The batch: input (N x input size) and target (N x target_size). */
    const rt_tensor *x = golden_tensor(&c, "input", (long)N * (long)p->bufs[p->input].size);
    memcpy(rt_net_buf(net, p->input), x->data, (size_t)tensor_count(x) * sizeof(float));
    const rt_tensor *y = golden_tensor(&c, "target", (long)N * (long)p->target_size);
    memcpy(rt_net_buf(net, p->target), y->data, (size_t)tensor_count(y) * sizeof(float));

    /* Step 1, phase by phase: output and loss, gradients, parameters. */
    float loss = rt_net_forward(net);
    const rt_tensor *out = golden_tensor(&c, "output", (long)N * (long)p->bufs[p->output].size);
    ck_assert_msg(compare(&c, "output", rt_net_buf(net, p->output), out, msg, sizeof msg), "%s", msg);
    compare_loss(&c, "loss", "loss", loss);
    /* The loss buffer is what training reports; it must hold the same. */
    compare_loss(&c, "loss", "loss buffer", rt_net_buf(net, p->loss)[0]);
    compare_loss(&c, "step1/loss", "step1/loss", loss);
    rt_net_backward(net);
    compare_params(&c, net, "grad/", 1);
    rt_net_update(net);
    compare_params(&c, net, "step1/", 0);
    compare_buffers(&c, net, "step1/", "");

    /* Steps 2 and 3 on the same batch. */
    for (int s = 2; s <= STEPS; s++) {
        char prefix[16];
        snprintf(prefix, sizeof prefix, "step%d/", s);
        loss = rt_net_forward(net);
        snprintf(tname, sizeof tname, "step%d/loss", s);
        compare_loss(&c, tname, tname, loss);
        rt_net_backward(net);
        rt_net_update(net);
        compare_params(&c, net, prefix, 0);
        compare_buffers(&c, net, prefix, "");
    }

    /* Eval mode after the steps: BatchNorm normalises with the running
     * statistics instead of the batch's.  Required when the model has
     * buffers, since only eval mode reads them. */
    const rt_tensor *eval_out = rt_st_find(c.golden, "eval/output");
    ck_assert_msg(eval_out != NULL || c.nbuffers == 0, "%s: golden file has buffers but no 'eval/output'", name);
    if (eval_out) {
        rt_net_set_batch(net, N, 0);
        loss = rt_net_forward(net);
        eval_out = golden_tensor(&c, "eval/output", (long)N * (long)p->bufs[p->output].size);
        ck_assert_msg(compare(&c, "eval/output", rt_net_buf(net, p->output), eval_out, msg, sizeof msg), "%s", msg);
        compare_loss(&c, "eval/loss", "eval/loss", loss);
        /* An eval forward reads the running statistics and writes none. */
        snprintf(tname, sizeof tname, "step%d/", STEPS);
        compare_buffers(&c, net, tname, " (after the eval forward)");
    }

    rt_net_free(net);
    case_free(&c);
}

START_TEST(test_replay)
{
    replay(case_names[_i]);
}
END_TEST

/* The plan's parameters are exactly torch's state_dict, in order: the
 * golden file's "state_dict_keys" metadata is the JSON list of
 * model.state_dict().keys().  Its buffers (listed in "buffer_keys") are
 * plan buffers of the same names that are not parameters. */
START_TEST(test_state_dict_names)
{
    golden_case c;
    case_load(&c, case_names[_i]);
    const char *keys = rt_st_meta(c.golden, "state_dict_keys");
    ck_assert_msg(keys != NULL, "%s: golden file has no state_dict_keys metadata", c.name);

    int k = 0, nbuf = 0;
    char key[NAME_LEN];
    const char *s = keys;
    while (next_name(c.name, &s, key, sizeof key)) {
        const int bi = buffer_index(&c, key);
        if (bi >= 0) {
            buffer_buf(&c, bi, NULL);
            nbuf++;
            continue;
        }
        ck_assert_msg(k < c.plan->nparams, "%s: torch has parameter '%s' beyond netc's %d", c.name, key,
                      c.plan->nparams);
        const char *mine = c.plan->bufs[c.plan->params[k]].name;
        ck_assert_msg(strcmp(mine, key) == 0, "%s: parameter %d is '%s' in netc, '%s' in torch's state_dict", c.name,
                      k, mine, key);
        k++;
    }
    ck_assert_msg(nbuf == c.nbuffers, "%s: buffer_keys lists %d buffers, state_dict_keys holds %d of them", c.name,
                  c.nbuffers, nbuf);
    ck_assert_msg(k == c.plan->nparams, "%s: torch's state_dict has %d entries, netc's plan %d parameters", c.name,
                  k, c.plan->nparams);
    case_free(&c);
}
END_TEST

static Suite *parity_suite(void)
{
    Suite *s = suite_create("parity");
    TCase *names = tcase_create("state_dict_names");
    tcase_add_loop_test(names, test_state_dict_names, 0, ncases);
    suite_add_tcase(s, names);
    TCase *replays = tcase_create("replay");
    /* The MNIST case does a few 784-wide GEMMs; generous for slow machines. */
    tcase_set_timeout(replays, 60);
    tcase_add_loop_test(replays, test_replay, 0, ncases);
    suite_add_tcase(s, replays);
    return s;
}

int main(void)
{
    ncases = tu_find_cases(GOLDEN_DIR, ".net", case_names, MAX_CASES);
    return tu_run(parity_suite());
}
