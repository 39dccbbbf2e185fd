/* test_acts.c — every activation of compiler/acts.def against PyTorch and
 * through whole plans.
 *
 * - golden: tests/golden/acts/<Name>.safetensors (scripts/gen_golden_acts.py)
 *   holds, per argument set, torch's output and input gradient on a dense
 *   grid with every breakpoint, tiny and huge inputs.  Each case's layer
 *   call is compiled as a spec would be (so argument handling, GELU's
 *   approximate="tanh" included, is part of what is checked) and the
 *   kernels must match torch to 1e-6 absolute or 1e-5 relative.  An
 *   acts.def entry without a golden file fails, so a new activation
 *   needs its vectors.
 * - fd: each activation inside Linear(3, 4) -> act -> Linear(4, 2), fused
 *   with the first Linear and as a standalone op, compiled from a spec
 *   string and run through the plan; every parameter gradient and the
 *   input gradient against finite differences of the loss.
 * - train: a short training run on synthetic data lowers the loss.
 *
 * The fd and train tests loop over the activation entries of comp_layers
 * (plus a few non-default argument sets), building the spec text from the
 * name, so an activation added to acts.def is covered without a change
 * here.  Only required arguments come from a table. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fdcheck.h"
#include "testutil.h"
#include "compiler/plan.h"
#include "runtime/kernels.h"
#include "runtime/net.h"
#include "runtime/safetensors.h"
#include "runtime/train.h"

#define GOLDEN_DIR "tests/golden/acts/"

/* ------------------------------------------------------------ the layers */

/* Values for arguments that have no default (torch requires them). */
static const struct {
    const char *name, *args;
} required_args[] = {
    {"Threshold", "0.1, -0.3"},
};

/* Argument sets tested besides the defaults. */
static const struct {
    const char *name, *args;
} variants[] = {
    {"LeakyReLU", "negative_slope=0.2"},
    {"ELU", "alpha=0.5"},
    {"CELU", "alpha=2"},
    {"GELU", "approximate=\"tanh\""},
    {"Hardshrink", "lambd=1"},
    {"Hardtanh", "-0.5, 2"},
    {"Softplus", "beta=2, threshold=5"},
    {"Softshrink", "lambd=0.25"},
    {"Threshold", "threshold=-0.5, value=2"},
};

#define NVARIANTS ((int)(sizeof variants / sizeof *variants))
#define NCALLS (COMP_ACT_COUNT + NVARIANTS)

/* Call i of the tests: activation i at its defaults for i < COMP_ACT_COUNT
 * (activations lead comp_layers), then the variants.  Writes the layer
 * call as a spec spells it. */
static void act_call(int i, char *buf, size_t size)
{
    if (i >= COMP_ACT_COUNT) {
        snprintf(buf, size, "%s(%s)", variants[i - COMP_ACT_COUNT].name, variants[i - COMP_ACT_COUNT].args);
        return;
    }
    const char *name = comp_layers[i].name;
    for (size_t k = 0; k < sizeof required_args / sizeof *required_args; k++)
        if (strcmp(required_args[k].name, name) == 0) {
            snprintf(buf, size, "%s(%s)", name, required_args[k].args);
            return;
        }
    snprintf(buf, size, "%s", name);
}

/* The op that applies the activation: the fused LINEAR carries it (op->act,
 * op->p), or a standalone ACT does. */
static const comp_op *act_op(const comp_plan *p, comp_opcode code)
{
    for (int i = 0; i < p->nfwd; i++)
        if (p->ops[i].code == code)
            return &p->ops[i];
    return NULL;
}

/* ---------------------------------------------------------- golden data */

/* Whether netc's value a matches torch's b: 1e-6 absolute or 1e-5
 * relative, infinities equal (same sign), NaN only where torch has NaN. */
static int close_to(float a, float b)
{
    if (isnan(b) || isnan(a))
        return isnan(a) && isnan(b);
    if (isinf(b) || isinf(a))
        return a == b;
    const double d = fabs((double)a - b);
    return d <= 1e-6 || d <= 1e-5 * fabs((double)b);
}

static const rt_tensor *need_tensor(const rt_st_file *f, const char *file, int i, const char *what, int64_t n)
{
    char name[32];
    snprintf(name, sizeof name, "%d/%s", i, what);
    const rt_tensor *t = rt_st_find(f, name);
    ck_assert_msg(t != NULL, "%s: no tensor %s", file, name);
    ck_assert_msg(t->rank == 1 && (n < 0 || t->shape[0] == n), "%s: %s has the wrong shape", file, name);
    return t;
}

/* Every case of activation _i's golden file: the layer call compiles to
 * this activation, and forward and backward match torch on every point. */
START_TEST(test_golden)
{
    const comp_act act = (comp_act)_i;
    const char *name = comp_layers[act].name;
    char path[256], err[256];
    snprintf(path, sizeof path, GOLDEN_DIR "%s.safetensors", name);
    rt_st_file *f = rt_st_load(path, err, sizeof err);
    ck_assert_msg(f != NULL, "activation %s has no golden vectors (%s); add it to scripts/gen_golden_acts.py "
                  "and run make golden", name, err);
    const char *ncases = rt_st_meta(f, "cases");
    ck_assert_msg(ncases && atoi(ncases) > 0, "%s: no cases", path);
    int bad = 0;
    for (int c = 0; c < atoi(ncases); c++) {
        char key[16], spec[512];
        snprintf(key, sizeof key, "%d", c);
        const char *call = rt_st_meta(f, key);
        ck_assert_msg(call != NULL, "%s: case %d has no layer call", path, c);
        snprintf(spec, sizeof spec,
                 "model golden {\n    input 1\n    layers Linear(1, 1) -> %s\n    loss MSE\n    optimizer SGD\n}\n",
                 call);
        comp_plan *p = tu_compile_text(spec);
        const comp_op *op = act_op(p, COMP_OP_LINEAR);
        ck_assert_msg(op && op->act == act, "%s: '%s' does not compile to %s", path, call, name);
        const float a = (float)op->p[0], b = (float)op->p[1];

        const rt_tensor *tx = need_tensor(f, path, c, "x", -1);
        const int64_t n = tx->shape[0];
        const float *x = tx->data, *dy = need_tensor(f, path, c, "dy", n)->data;
        const float *want_y = need_tensor(f, path, c, "y", n)->data;
        const float *want_dx = need_tensor(f, path, c, "dx", n)->data;
        float *y = malloc((size_t)n * sizeof *y), *dx = malloc((size_t)n * sizeof *dx);
        ck_assert(y && dx);
        rt_act_forward(act, a, b, x, y, (size_t)n);
        /* The backward gets what the plan keeps for it (acts.def NEEDS_X). */
        const int nx = comp_act_needs_x[act];
        rt_act_backward(act, a, b, nx ? x : NULL, nx ? NULL : y, dy, dx, (size_t)n);
        for (int64_t i = 0; i < n; i++) {
            if (!close_to(y[i], want_y[i]) && bad++ < 10)
                fprintf(stderr, "%s at x = %.9g: y = %.9g, torch %.9g\n", call, x[i], y[i], want_y[i]);
            if (!close_to(dx[i], want_dx[i]) && bad++ < 10)
                fprintf(stderr, "%s at x = %.9g (dy %g): dx = %.9g, torch %.9g\n", call, x[i], dy[i], dx[i],
                        want_dx[i]);
            /* torch's activations give finite results on finite input
             * (the grids avoid Softplus thresholds past exp's range), and
             * so must netc's. */
            if (isfinite(x[i]) && (!isfinite(y[i]) || !isfinite(dx[i])) && bad++ < 10)
                fprintf(stderr, "%s at x = %.9g: y = %g, dx = %g\n", call, x[i], y[i], dx[i]);
        }
        free(y);
        free(dx);
        tu_destroy(p);
    }
    rt_st_free(f);
    ck_assert_msg(bad == 0, "%s: %d mismatches with torch", name, bad);
}
END_TEST

/* No golden file without its acts.def entry (a renamed or removed
 * activation leaves none behind). */
START_TEST(test_golden_files_have_entries)
{
    DIR *d = opendir(GOLDEN_DIR);
    ck_assert_msg(d != NULL, "cannot open " GOLDEN_DIR " (run from the project root)");
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        size_t len = strlen(e->d_name);
        const char *ext = ".safetensors";
        if (len <= strlen(ext) || strcmp(e->d_name + len - strlen(ext), ext) != 0)
            continue;
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)(len - strlen(ext)), e->d_name);
        int k = comp_lookup(comp_layers, COMP_ACT_COUNT, name);
        ck_assert_msg(k >= 0, GOLDEN_DIR "%s is not an activation of acts.def", e->d_name);
        n++;
    }
    closedir(d);
    ck_assert_int_eq(n, COMP_ACT_COUNT);
}
END_TEST

/* GELU's approximate is a string in the spec and the index of its choice
 * in the op (the expressions see floats); the plan dump shows the choice,
 * and numbers as numbers. */
START_TEST(test_string_argument_in_plan)
{
    comp_plan *p = tu_compile_text("model m {\n    input 2\n    layers Linear(2, 3) -> GELU(approximate=\"tanh\") "
                                   "-> Linear(3, 3) -> GELU -> Identity -> Hardtanh(-2, 0.5)\n"
                                   "    loss MSE\n    optimizer SGD\n}\n");
    ck_assert_int_eq(p->ops[0].act, COMP_ACT_GELU);
    ck_assert(p->ops[0].p[0] == 1.0);
    ck_assert_int_eq(p->ops[1].act, COMP_ACT_GELU);
    ck_assert(p->ops[1].p[0] == 0.0);
    char *dump = tu_plan_dump(p, 1);
    ck_assert_msg(strstr(dump, "3x2 GELU(\"tanh\")") && strstr(dump, "3x3 GELU(\"none\")") &&
                      strstr(dump, "Hardtanh(-2, 0.5) n=3"),
                  "plan dump:\n%s", dump);
    free(dump);
    tu_destroy(p);
}
END_TEST

/* --------------------------------------------------- finite differences */

enum { B = 4, IN = 3, HID = 4, OUT = 2 };

typedef struct {
    rt_net *net;
    const comp_plan *p;
    comp_act act;
    float a, b;
    const float *target;
    float *x, *W1, *b1, *W2, *b2;
} net_ctx;

static float *param(const net_ctx *c, int i)
{
    return rt_net_buf(c->net, c->p->params[i]);
}

/* The loss L = sum (o - t)^2 (MSE with reduction="sum") in double from the
 * plan's float output.  Its rounding noise comes from the outputs o: each
 * is within K eps Mo of exact, Mo = |b2| + sum_j |W2_j| (|h_j| + |act'(z_j)|
 * (|b1_j| + sum_k |W1_jk x_k|)), the magnitudes rounded on the way (first
 * GEMM and bias, the activation, second GEMM and bias), so
 * M = sum 2 |o - t| Mo bounds the noise in L over K eps. */
static double net_loss(void *p, double *mag)
{
    net_ctx *c = p;
    rt_net_infer(c->net);
    const float *o = rt_net_buf(c->net, c->p->output);
    float z[HID], h[HID], d[HID], one[HID] = {1.0f, 1.0f, 1.0f, 1.0f};
    double L = 0.0, M = 0.0;
    for (int s = 0; s < B; s++) {
        double zmag[HID];
        rt_linear_forward(c->x + s * IN, c->W1, c->b1, NULL, z, 1, IN, HID, COMP_ACT_IDENTITY, 0.0f, 0.0f);
        rt_act_forward(c->act, c->a, c->b, z, h, HID);
        rt_act_backward(c->act, c->a, c->b, z, h, one, d, HID);
        for (int j = 0; j < HID; j++) {
            zmag[j] = fabs((double)c->b1[j]);
            for (int k = 0; k < IN; k++)
                zmag[j] += fabs((double)c->W1[j * IN + k] * c->x[s * IN + k]);
        }
        for (int i = 0; i < OUT; i++) {
            const double r = (double)o[s * OUT + i] - c->target[s * OUT + i];
            double Mo = fabs((double)c->b2[i]);
            for (int j = 0; j < HID; j++)
                Mo += fabs((double)c->W2[i * HID + j]) * (fabs((double)h[j]) + fabs((double)d[j]) * zmag[j]);
            L += r * r;
            M += 2.0 * fabs(r) * Mo;
        }
    }
    *mag = M;
    return L;
}

/* Gradients of the plan for Linear(3, 4) -> [Identity ->] act -> Linear(4, 2)
 * against 4th-order central differences (fdcheck.h, h = 1/16, with its
 * tolerance 4.5 K eps M / h + 2e-5 (1 + |g|)).  K = 16 roundings per term
 * bounds the path to an output: a length-3 dot product and the bias (4),
 * the activation (a few libm calls and arithmetic, <= 6 as in
 * test_kernels), a length-4 dot product and the bias (5), with margin.
 * Every value the stencil moves shifts a pre-activation by at most
 * 2h * max(|x|, |W1|, 1) = 0.125, so inputs are drawn until every
 * pre-activation is 0.14 clear of the activation's breakpoints; then no
 * point may be skipped as non-smooth. */
static void fd_case(int call, int standalone)
{
    char name[128], spec[512];
    act_call(call, name, sizeof name);
    snprintf(spec, sizeof spec,
             "model fd {\n    input %d\n    layers Linear(%d, %d) -> %s%s -> Linear(%d, %d)\n"
             "    loss MSE(reduction=\"sum\")\n    optimizer SGD\n}\n",
             IN, IN, HID, standalone ? "Identity -> " : "", name, HID, OUT);
    comp_plan *p = tu_compile_text(spec);
    const comp_op *op = act_op(p, standalone ? COMP_OP_ACT : COMP_OP_LINEAR);
    ck_assert_int_eq(p->nparams, 4);
    rt_net *net = rt_net_new(p, B);
    ck_assert_ptr_nonnull(net);
    rt_net_set_batch(net, B, 1);

    net_ctx c = {.net = net, .p = p};
    c.act = op ? (comp_act)op->act : COMP_ACT_IDENTITY; /* a standalone Identity is a view: no op */
    c.a = op ? (float)op->p[0] : 0.0f;
    c.b = op ? (float)op->p[1] : 0.0f;
    c.x = rt_net_buf(net, p->input);
    c.W1 = param(&c, 0);
    c.b1 = param(&c, 1);
    c.W2 = param(&c, 2);
    c.b2 = param(&c, 3);
    float *target = rt_net_buf(net, p->target);
    c.target = target;
    uint64_t rng = rt_rng_seed(99, (uint64_t)call * 2 + (uint64_t)standalone);
    fill_uniform(c.W1, IN * HID, &rng, -1.0, 1.0);
    fill_uniform(c.b1, HID, &rng, -1.0, 1.0);
    fill_uniform(c.W2, HID * OUT, &rng, -1.0, 1.0);
    fill_uniform(c.b2, OUT, &rng, -1.0, 1.0);
    fill_uniform(target, B * OUT, &rng, -1.0, 1.0);
    for (int s = 0; s < B; s++) {
        for (int tries = 0;; tries++) {
            ck_assert_msg(tries < 1000, "%s: no input clear of breakpoints", name);
            fill_uniform(c.x + s * IN, IN, &rng, -1.0, 1.0);
            float z[HID];
            rt_linear_forward(c.x + s * IN, c.W1, c.b1, NULL, z, 1, IN, HID, COMP_ACT_IDENTITY, 0.0f, 0.0f);
            int clear = 1;
            for (int j = 0; j < HID && clear; j++)
                clear = fd_act_smooth(c.act, c.a, c.b, z[j], 0.14);
            if (clear)
                break;
        }
    }

    rt_net_forward(net);
    rt_net_backward(net);
    /* Parameter gradients mirror the parameter arena's offsets. */
    const float *grads[4];
    for (int i = 0; i < 4; i++)
        grads[i] = net->arena[COMP_ARENA_GRAD] + p->bufs[p->params[i]].offset;
    float g[4][IN * HID];
    for (int i = 0; i < 4; i++)
        memcpy(g[i], grads[i], p->bufs[p->params[i]].size * sizeof(float));
    /* The input gradient dL/dx = dL/dz W1, dL/dz being what the standalone
     * act_bwd op wrote (the fused op keeps it internal). */
    double gx[B * IN] = {0};
    const comp_op *bwd = NULL;
    if (standalone && op) {
        for (int i = p->nfwd + p->nloss; i < p->nops && !bwd; i++)
            if (p->ops[i].code == COMP_OP_ACT_BWD)
                bwd = &p->ops[i];
        ck_assert_ptr_nonnull(bwd);
        const float *dz = rt_net_buf(net, bwd->buf[0]);
        for (int s = 0; s < B; s++)
            for (int k = 0; k < IN; k++)
                for (int j = 0; j < HID; j++)
                    gx[s * IN + k] += (double)dz[s * HID + j] * c.W1[j * IN + k];
    }

    const double K = 16.0;
    fd_stats st = {0, 0};
    static const char *const what[4] = {"dW1", "db1", "dW2", "db2"};
    for (int i = 0; i < 4; i++) {
        float *pv = param(&c, i);
        for (size_t k = 0; k < p->bufs[p->params[i]].size; k++)
            fd_check(net_loss, &c, &pv[k], g[i][k], K, &st, what[i], (int)k);
    }
    if (bwd)
        for (int k = 0; k < B * IN; k++)
            fd_check(net_loss, &c, &c.x[k], gx[k], K, &st, "dx", k);
    ck_assert_int_gt(st.checked, 0);
    ck_assert_msg(st.skipped == 0, "%s (%s): %d of %d points not smooth despite inputs clear of breakpoints", name,
                  standalone ? "standalone" : "fused", st.skipped, st.checked + st.skipped);
    rt_net_free(net);
    tu_destroy(p);
}

START_TEST(test_fd_fused)
{
    fd_case(_i, 0);
}
END_TEST

START_TEST(test_fd_standalone)
{
    fd_case(_i, 1);
}
END_TEST

/* ------------------------------------------------------------- training */

/* A full training run (rt_train: shuffled mini-batches, Adam) of
 * Linear(4, 16) -> act -> Linear(16, 1) on 128 synthetic samples of
 * t = x0 - 0.5 x1 + 0.5 sin(3 x2) + 0.3 x3 x0, x uniform in [-1.5, 1.5]:
 * the mean loss must at least halve.  The linear part dominates, so even
 * Identity gets there; a wrong derivative sends Adam the wrong way and
 * does not. */
START_TEST(test_training_lowers_loss)
{
    enum { N = 128, DIM = 4 };
    char name[128], spec[512];
    act_call(_i, name, sizeof name);
    snprintf(spec, sizeof spec,
             "model t {\n    input %d\n    layers Linear(%d, 16) -> %s -> Linear(16, 1)\n    loss MSE\n"
             "    optimizer Adam(lr=0.01)\n    train epochs=40 batch=16 shuffle=true seed=3\n}\n",
             DIM, DIM, name);
    comp_plan *p = tu_compile_text(spec);
    static float xs[N * DIM], ts[N];
    uint64_t rng = rt_rng_seed(17, 0);
    for (int i = 0; i < N; i++) {
        float *x = xs + i * DIM;
        for (int k = 0; k < DIM; k++)
            x[k] = (float)(-1.5 + 3.0 * rt_rng_uniform(&rng));
        ts[i] = (float)(x[0] - 0.5 * x[1] + 0.5 * sin(3.0 * x[2]) + 0.3 * x[3] * x[0]);
    }
    rt_dataset ds = {.n = N, .dim = DIM, .xf = xs, .targets = ts, .ntarget = 1};
    rt_net *net = rt_net_new(p, p->model->batch);
    ck_assert_ptr_nonnull(net);
    rt_net_init_params(net, p->model->seed);
    rt_eval_result before, after;
    rt_evaluate(net, &ds, 0, &before);
    FILE *log = fopen("/dev/null", "w");
    ck_assert_ptr_nonnull(log);
    rt_train_opts o = {.epochs = p->model->epochs, .shuffle = p->model->shuffle, .seed = p->model->seed, .log = log};
    ck_assert_int_eq(rt_train(net, &ds, &o), 0);
    fclose(log);
    rt_evaluate(net, &ds, 0, &after);
    ck_assert_msg(isfinite(after.loss) && after.loss <= 0.5 * before.loss, "%s: loss %g -> %g", name, before.loss,
                  after.loss);
    rt_net_free(net);
    tu_destroy(p);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("acts");
    TCase *tc = tcase_create("golden");
    tcase_add_loop_test(tc, test_golden, 0, COMP_ACT_COUNT);
    tcase_add_test(tc, test_golden_files_have_entries);
    tcase_add_test(tc, test_string_argument_in_plan);
    suite_add_tcase(s, tc);
    tc = tcase_create("fd");
    tcase_add_loop_test(tc, test_fd_fused, 0, NCALLS);
    tcase_add_loop_test(tc, test_fd_standalone, 0, NCALLS);
    suite_add_tcase(s, tc);
    tc = tcase_create("train");
    tcase_add_loop_test(tc, test_training_lowers_loss, 0, NCALLS);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
