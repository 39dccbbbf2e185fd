/* test_sched.c — learning-rate schedules, gradient clipping and resumable
 * training state.
 *
 * The schedules and clippings are compared with what PyTorch 1.13 computed
 * (scripts/gen_golden_sched.py, files in tests/golden/sched/): every
 * schedule's lr over 30 epochs to 1e-12 relative, clip_grad_norm_ (norm
 * types 2, 1, inf, 3) and clip_grad_value_ on fixed gradients to 1e-6
 * relative, and two clipped, scheduled trainings over 25 steps to 1e-5
 * relative.  Resuming is checked against netc itself: E epochs in one run
 * must equal k epochs, a checkpoint and E - k more, bit for bit. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "compiler/plan.h"
#include "runtime/checkpoint.h"
#include "runtime/kernels.h"
#include "runtime/net.h"
#include "runtime/safetensors.h"
#include "runtime/train.h"

#define GOLDEN "tests/golden/sched/"
#define EPOCHS 30
#define MAX_CASES 64

/* ---- schedules --------------------------------------------------------- */

typedef struct {
    char name[64];
    char lr[64];          /* the base lr as written in the file */
    char call[512];       /* the schedule in netc's spelling */
    int has_metrics;
    double metrics[EPOCHS];
    double lrs[EPOCHS];
} sched_case;

static sched_case cases[MAX_CASES];
static int ncases;

static int read_doubles(const char *s, double *out, int n)
{
    for (int i = 0; i < n; i++) {
        char *end;
        out[i] = strtod(s, &end);
        if (end == s)
            return 0;
        s = end;
    }
    return 1;
}

/* Parse schedules.txt (see the generator for its format). */
static void load_cases(void)
{
    FILE *f = fopen(GOLDEN "schedules.txt", "r");
    static char line[16384];
    sched_case *c = NULL;
    if (!f) {
        fprintf(stderr, "test_sched: cannot open " GOLDEN "schedules.txt (run from the project root)\n");
        exit(EXIT_FAILURE);
    }
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        if (strncmp(line, "case ", 5) == 0 && ncases < MAX_CASES) {
            c = &cases[ncases++];
            memset(c, 0, sizeof *c);
            snprintf(c->name, sizeof c->name, "%.63s", line + 5);
        } else if (c && strncmp(line, "lr ", 3) == 0) {
            snprintf(c->lr, sizeof c->lr, "%.63s", line + 3);
        } else if (c && strncmp(line, "schedule ", 9) == 0) {
            snprintf(c->call, sizeof c->call, "%.511s", line + 9);
        } else if (c && strncmp(line, "metrics ", 8) == 0) {
            c->has_metrics = read_doubles(line + 8, c->metrics, EPOCHS);
        } else if (c && strncmp(line, "lrs ", 4) == 0) {
            if (!read_doubles(line + 4, c->lrs, EPOCHS)) {
                fprintf(stderr, "test_sched: case %s has fewer than %d lrs\n", c->name, EPOCHS);
                exit(EXIT_FAILURE);
            }
        }
    }
    fclose(f);
}

/* The lr of the first update op: what the spec's optimizer says. */
static double plan_lr(const comp_plan *p)
{
    for (int i = 0; i < p->nops; i++)
        if (comp_op_phases[p->ops[i].code] == COMP_PHASE_UPD)
            return p->ops[i].p[0];
    return 0;
}

START_TEST(test_schedule_matches_torch)
{
    const sched_case *c = &cases[_i];
    char spec[1024];
    snprintf(spec, sizeof spec,
             "model m {\n input 1\n layers Linear(1, 1)\n loss MSE\n optimizer SGD(lr=%s)\n schedule %s\n}\n", c->lr,
             c->call);
    comp_plan *p = tu_compile_text(spec);
    ck_assert_int_lt(p->model->sched, COMP_SCHED_COUNT);
    ck_assert_int_eq(!!c->has_metrics, p->model->sched == COMP_SCHED_REDUCE_LR_ON_PLATEAU);
    rt_sched s;
    rt_sched_init(&s, p, plan_lr(p));
    int changes = 0;
    for (int e = 0; e < EPOCHS; e++) {
        double want = c->lrs[e];
        ck_assert_msg(fabs(s.lr - want) <= 1e-12 * fabs(want), "%s (%s): epoch %d lr %.17g, torch %.17g", c->name,
                      c->call, e, s.lr, want);
        changes += e > 0 && c->lrs[e] != c->lrs[e - 1];
        rt_sched_step(&s, c->has_metrics ? c->metrics[e] : 0);
    }
    ck_assert_msg(changes > 0, "%s: the golden lr never changes; the case tests nothing", c->name);
    tu_destroy(p);
}
END_TEST

/* No schedule: the lr stays the base lr, whatever the metric. */
START_TEST(test_no_schedule)
{
    comp_plan *p = tu_compile_text("model m { input 1 layers Linear(1, 1) loss MSE optimizer Adam(lr=0.02) }");
    rt_sched s;
    rt_sched_init(&s, p, plan_lr(p));
    for (int e = 0; e < 5; e++) {
        ck_assert_double_eq(s.lr, 0.02);
        rt_sched_step(&s, 1.0 / (e + 1));
    }
    tu_destroy(p);
}
END_TEST

/* MultiStepLR(milestones=()): torch accepts an empty list, and the lr
 * then never decays. */
START_TEST(test_multistep_no_milestones)
{
    comp_plan *p = tu_compile_text("model m { input 1 layers Linear(1, 1) loss MSE optimizer SGD(lr=0.02)"
                                   " schedule MultiStepLR(milestones=(), gamma=0.5) }");
    rt_sched s;
    rt_sched_init(&s, p, plan_lr(p));
    for (int e = 0; e < 5; e++) {
        ck_assert_double_eq(s.lr, 0.02);
        rt_sched_step(&s, 0);
    }
    char *dump = tu_plan_dump(p, 1);
    ck_assert_msg(strstr(dump, "schedule: MultiStepLR(milestones=(), gamma=0.5)"), "%s", dump);
    free(dump);
    tu_destroy(p);
}
END_TEST

/* ---- clipping ------------------------------------------------------------ */

static int nclips;

/* The golden tolerance of test_parity: relative to the element, with the
 * tensor's largest magnitude as the floor near zero. */
static void compare(const char *what, const float *got, const rt_tensor *want, long n, double rel)
{
    double m = 0;
    for (long i = 0; i < n; i++)
        m = fmax(m, fabs((double)want->data[i]));
    for (long i = 0; i < n; i++) {
        double a = got[i], b = want->data[i];
        ck_assert_msg(fabs(a - b) <= rel * fmax(fabs(b), m), "%s[%ld]: netc %.9g, torch %.9g", what, i, a, b);
    }
}

static rt_st_file *load_golden(const char *path)
{
    char err[256];
    rt_st_file *f = rt_st_load(path, err, sizeof err);
    ck_assert_msg(f != NULL, "%s", err);
    return f;
}

START_TEST(test_clip_matches_torch)
{
    rt_st_file *g = load_golden(GOLDEN "clip.safetensors");
    char key[32], spec[1024], name[96];
    snprintf(key, sizeof key, "clip.%d", _i);
    const char *call = rt_st_meta(g, key), *layers = rt_st_meta(g, "layers");
    ck_assert_ptr_nonnull(call);
    ck_assert_ptr_nonnull(layers);
    snprintf(spec, sizeof spec, "model c { input 6 layers %s loss MSE optimizer SGD clip %s }", layers, call);
    comp_plan *p = tu_compile_text(spec);
    /* One clipping op, between backward and update, over every gradient. */
    ck_assert_int_eq(p->nclip, 1);
    const comp_op *op = &p->ops[p->nfwd + p->nloss + p->nbwd];
    ck_assert_int_eq(comp_op_phases[op->code], COMP_PHASE_CLIP);
    ck_assert_int_eq(comp_op_phases[p->ops[p->nops - 1].code], COMP_PHASE_UPD);
    ck_assert_int_eq((size_t)op->n, comp_plan_param_count(p));
    rt_net *net = rt_net_new(p, 1);
    ck_assert_ptr_nonnull(net);
    for (int k = 0; k < p->nparams; k++) {
        const comp_buf *b = &p->bufs[p->params[k]];
        snprintf(name, sizeof name, "grad/%s", b->name);
        const rt_tensor *t = rt_st_find(g, name);
        ck_assert_msg(t != NULL, "no %s", name);
        memcpy(net->arena[COMP_ARENA_GRAD] + b->offset, t->data, b->size * sizeof(float));
    }
    /* torch's returned total norm, from netc's norm kernel */
    snprintf(name, sizeof name, "%d/total_norm", _i);
    const rt_tensor *total = rt_st_find(g, name);
    if (op->code == COMP_OP_CLIP_GRAD_NORM) {
        ck_assert_ptr_nonnull(total);
        float norms[16];
        ck_assert_int_le(p->nparams, 16);
        for (int k = 0; k < p->nparams; k++) {
            const comp_buf *b = &p->bufs[p->params[k]];
            norms[k] = rt_norm(net->arena[COMP_ARENA_GRAD] + b->offset, b->size, op->p[1]);
        }
        float n = rt_norm(norms, (size_t)p->nparams, op->p[1]);
        ck_assert_msg(fabs(n - total->data[0]) <= 1e-6 * total->data[0], "%s: total norm %.9g, torch %.9g", call,
                      (double)n, (double)total->data[0]);
    } else {
        ck_assert_ptr_null(total);
    }
    rt_net_run_phase(net, COMP_PHASE_CLIP);
    for (int k = 0; k < p->nparams; k++) {
        const comp_buf *b = &p->bufs[p->params[k]];
        snprintf(name, sizeof name, "%d/%s", _i, b->name);
        const rt_tensor *t = rt_st_find(g, name);
        ck_assert_msg(t != NULL, "no %s", name);
        snprintf(name, sizeof name, "%s: %s", call, b->name);
        compare(name, net->arena[COMP_ARENA_GRAD] + b->offset, t, (long)b->size, 1e-6);
    }
    rt_net_free(net);
    tu_destroy(p);
    rt_st_free(g);
}
END_TEST

/* NaN passes through clipping by value; a NaN norm makes every gradient
 * NaN, as torch's multiply by a NaN coefficient does. */
START_TEST(test_clip_nan)
{
    float g[4] = {1.0f, NAN, -3.0f, 0.5f};
    rt_clip_value(g, 4, 0.75);
    ck_assert_float_eq(g[0], 0.75f);
    ck_assert(isnan(g[1]));
    ck_assert_float_eq(g[2], -0.75f);
    ck_assert_float_eq(g[3], 0.5f);
    float h[3] = {1.0f, NAN, 2.0f};
    ck_assert(isnan(rt_norm(h, 3, INFINITY)));
    ck_assert(isnan(rt_norm(h, 3, 2.0)));
    rt_clip_scale(h, 3, rt_norm(h, 3, 2.0), 1.0);
    ck_assert(isnan(h[0]) && isnan(h[2]));
    float u[2] = {3.0f, -4.0f};
    rt_clip_scale(u, 2, rt_norm(u, 2, 2.0), 100.0); /* coef clamped to 1: unchanged */
    ck_assert_float_eq(u[0], 3.0f);
    ck_assert_float_eq(u[1], -4.0f);
}
END_TEST

/* ---- training trajectories ------------------------------------------------ */

static const char *const trajectories[] = {"sgd_norm_step", "adam_value_cosine"};

START_TEST(test_trajectory_matches_torch)
{
    char path[256], name[96];
    snprintf(path, sizeof path, GOLDEN "trajectory_%s.safetensors", trajectories[_i]);
    rt_st_file *g = load_golden(path);
    snprintf(path, sizeof path, GOLDEN "trajectory_%s.net", trajectories[_i]);
    comp_plan *p = tu_compile_file(path);
    const rt_tensor *x = rt_st_find(g, "input"), *y = rt_st_find(g, "target");
    const rt_tensor *loss = rt_st_find(g, "loss"), *lr = rt_st_find(g, "lr");
    ck_assert(x && y && loss && lr);
    int n = (int)x->shape[0], epochs = (int)loss->shape[0];
    ck_assert_int_eq(n, p->model->batch);      /* one batch per epoch: an epoch is a step */
    ck_assert_int_eq(epochs, p->model->epochs);
    rt_net *net = rt_net_new(p, n);
    for (int k = 0; k < p->nparams; k++) {
        const comp_buf *b = &p->bufs[p->params[k]];
        snprintf(name, sizeof name, "init/%s", b->name);
        ck_assert_ptr_nonnull(rt_st_find(g, name));
        memcpy(rt_net_buf(net, p->params[k]), rt_st_find(g, name)->data, b->size * sizeof(float));
    }
    int32_t *labels = malloc((size_t)n * sizeof *labels);
    for (int i = 0; i < n; i++)
        labels[i] = (int32_t)y->data[i];
    rt_dataset ds = {.n = (size_t)n, .dim = (size_t)x->shape[1], .xf = (float *)x->data, .labels = labels};
    char *log = NULL;
    size_t loglen = 0;
    FILE *out = open_memstream(&log, &loglen);
    rt_train_opts o = {.epochs = epochs, .seed = 1, .log = out};
    ck_assert_int_eq(rt_train(net, &ds, &o), 0);
    fclose(out);
    /* Every epoch line: the cost torch had at that step, and the lr. */
    const char *line = log;
    for (int e = 0; e < epochs; e++) {
        int num;
        double cost, l;
        ck_assert_msg(line && sscanf(line, "Epoch: %d cost = %lf lr = %lf", &num, &cost, &l) == 3, "bad line in:\n%s",
                      log);
        ck_assert_int_eq(num, e + 1);
        ck_assert_msg(fabs(cost - loss->data[e]) <= 1e-5 * fabs(loss->data[e]), "%s epoch %d: cost %.9g, torch %.9g",
                      trajectories[_i], e + 1, cost, (double)loss->data[e]);
        ck_assert_msg(fabs(l - lr->data[e]) <= 1e-6 * lr->data[e], "%s epoch %d: lr %.9g, torch %.9g",
                      trajectories[_i], e + 1, l, (double)lr->data[e]);
        line = strchr(line, '\n');
        line = line ? line + 1 : NULL;
    }
    for (int k = 0; k < p->nparams; k++) {
        const comp_buf *b = &p->bufs[p->params[k]];
        snprintf(name, sizeof name, "final/%s", b->name);
        ck_assert_ptr_nonnull(rt_st_find(g, name));
        compare(name, rt_net_buf(net, p->params[k]), rt_st_find(g, name), (long)b->size, 1e-5);
    }
    free(log);
    free(labels);
    rt_net_free(net);
    tu_destroy(p);
    rt_st_free(g);
}
END_TEST

/* ---- resuming ------------------------------------------------------------ */

#define RESUME_SAMPLES 60
#define RESUME_EPOCHS 6

static const char *const resume_specs[] = {
    /* Adam, a schedule, shuffling, dropout and clipping by norm */
    "model r { input 5 layers Linear(5, 12) -> ReLU -> Dropout(p=0.25) -> Linear(12, 3) loss CrossEntropy"
    " optimizer Adam(lr=0.01) schedule StepLR(step_size=2, gamma=0.5) clip grad_norm(max_norm=0.5)"
    " train epochs=6 batch=8 shuffle=true seed=5 }",
    /* SGD with Nesterov momentum, ReduceLROnPlateau (in max mode a falling cost is never better, so its
     * counters run across every resume point), clipping by value */
    "model r { input 5 layers Linear(5, 12) -> Tanh -> Linear(12, 3) loss CrossEntropy"
    " optimizer SGD(lr=0.2, momentum=0.9, nesterov=true)"
    " schedule ReduceLROnPlateau(mode=\"max\", factor=0.5, patience=1, cooldown=1)"
    " clip grad_value(clip_value=0.1) train epochs=6 batch=7 shuffle=true seed=6 }",
    /* SGD with momentum and dampening, cosine annealing, no clipping */
    "model r { input 5 layers Linear(5, 12) -> Sigmoid -> Linear(12, 3) loss CrossEntropy"
    " optimizer SGD(lr=0.5, momentum=0.8, dampening=0.1) schedule CosineAnnealingLR(T_max=4, eta_min=0.01)"
    " train epochs=6 batch=16 shuffle=true seed=7 }",
    /* AMSGrad Adam with a warm-up, no shuffling */
    "model r { input 5 layers Linear(5, 12) -> ReLU -> Linear(12, 3) loss CrossEntropy"
    " optimizer Adam(lr=0.02, amsgrad=true) schedule LinearLR(start_factor=0.25, total_iters=3)"
    " train epochs=6 batch=10 seed=8 }",
};

/* A fixed, learnable data set: the class is the largest of three sums. */
static void make_data(rt_dataset *ds, float *x, int32_t *labels)
{
    uint64_t s = 42;
    for (int i = 0; i < RESUME_SAMPLES; i++) {
        for (int j = 0; j < 5; j++)
            x[i * 5 + j] = (float)rt_rng_uniform(&s) * 2.0f - 1.0f;
        float a = x[i * 5] + x[i * 5 + 1], b = x[i * 5 + 2] - x[i * 5 + 3], c = x[i * 5 + 4];
        labels[i] = a > b && a > c ? 0 : b > c ? 1 : 2;
    }
    *ds = (rt_dataset){.n = RESUME_SAMPLES, .dim = 5, .xf = x, .labels = labels};
}

/* Train epochs epochs of net on ds; the epoch lines are appended to *log. */
static void train_some(rt_net *net, const rt_dataset *ds, int epochs, uint64_t seed, char **log, size_t *len)
{
    FILE *out = open_memstream(log, len);
    rt_train_opts o = {.epochs = epochs, .shuffle = net->plan->model->shuffle, .seed = seed, .log = out};
    ck_assert_int_eq(rt_train(net, ds, &o), 0);
    fclose(out);
}

static rt_net *fresh_net(const comp_plan *p)
{
    rt_net *net = rt_net_new(p, p->model->batch);
    ck_assert_ptr_nonnull(net);
    rt_net_init_params(net, p->model->seed);
    return net;
}

static void assert_same_arena(const rt_net *a, const rt_net *b, comp_arena arena, const char *what)
{
    size_t n = a->plan->arena_size[arena];
    ck_assert_msg(memcmp(a->arena[arena], b->arena[arena], n * sizeof(float)) == 0,
                  "%s differ between one run and a resumed one", what);
}

START_TEST(test_resume_is_exact)
{
    float x[RESUME_SAMPLES * 5];
    int32_t labels[RESUME_SAMPLES];
    rt_dataset ds;
    make_data(&ds, x, labels);
    comp_plan *p = tu_compile_text(resume_specs[_i]);
    const uint64_t seed = p->model->seed;
    char *whole = NULL;
    size_t whole_len = 0;
    rt_net *one = fresh_net(p);
    train_some(one, &ds, RESUME_EPOCHS, seed, &whole, &whole_len);
    for (int k = 1; k < RESUME_EPOCHS; k += 2) {
        char dir[256], path[300], note[512], err[512];
        tu_mkdtemp(dir, sizeof dir, "sched");
        snprintf(path, sizeof path, "%s/k.safetensors", dir);
        char *first = NULL, *rest = NULL;
        size_t first_len = 0, rest_len = 0;
        rt_net *a = fresh_net(p);
        train_some(a, &ds, k, seed, &first, &first_len);
        ck_assert_int_eq(rt_checkpoint_save(a, path, err, sizeof err), 0);
        /* The resumed net starts from other weights and another seed: all of it must come from the file. */
        rt_net *b = rt_net_new(p, p->model->batch);
        rt_net_init_params(b, seed + 100);
        ck_assert_msg(rt_checkpoint_resume(b, path, 0, note, sizeof note, err, sizeof err) == 0, "%s", err);
        ck_assert_msg(note[0] == 0, "unexpected note: %s", note);
        ck_assert_int_eq(b->epoch, k);
        ck_assert_int_eq(b->step, a->step);
        train_some(b, &ds, RESUME_EPOCHS - k, seed + 100, &rest, &rest_len);
        size_t n = first_len + rest_len;
        char *joined = malloc(n + 1);
        memcpy(joined, first, first_len);
        memcpy(joined + first_len, rest, rest_len + 1);
        ck_assert_msg(strcmp(joined, whole) == 0, "k=%d: epoch lines differ:\n%s\nvs one run:\n%s", k, joined, whole);
        assert_same_arena(one, b, COMP_ARENA_PARAM, "parameters");
        assert_same_arena(one, b, COMP_ARENA_STATE, "optimizer states");
        ck_assert_int_eq(b->step, one->step);
        ck_assert_double_eq(b->sched.lr, one->sched.lr);
        free(joined);
        free(first);
        free(rest);
        rt_net_free(a);
        rt_net_free(b);
        tu_rmdtemp(dir);
    }
    /* A schedule that changes nothing would make this test weaker: make sure the lr moved. */
    ck_assert_double_ne(one->sched.lr, one->sched.base_lr);
    free(whole);
    rt_net_free(one);
    tu_destroy(p);
}
END_TEST

/* The file --save names is exactly an nn.Sequential state_dict: its
 * tensors are the parameters, with their torch names and shapes, and
 * nothing else, so a strict load takes it; the optimizer state, one
 * "optim." tensor per state buffer, is in the companion its netc.pair
 * names, with the same id. */
START_TEST(test_checkpoint_layout)
{
    comp_plan *p = tu_compile_text(resume_specs[0]);
    rt_net *net = fresh_net(p);
    char dir[256], path[300], companion[400], err[512];
    tu_mkdtemp(dir, sizeof dir, "sched");
    snprintf(path, sizeof path, "%s/c.safetensors", dir);
    ck_assert_int_eq(rt_checkpoint_save(net, path, err, sizeof err), 0);
    rt_st_file *f = load_golden(path);
    ck_assert_int_eq(rt_st_count(f), p->nparams);
    for (int i = 0; i < rt_st_count(f); i++) {
        const rt_tensor *t = rt_st_tensor(f, i);
        int found = 0;
        for (int k = 0; k < p->nparams; k++)
            found += strcmp(p->bufs[p->params[k]].name, t->name) == 0;
        ck_assert_msg(found == 1, "tensor %s is not a parameter", t->name);
    }
    ck_assert_str_eq(rt_st_meta(f, "format"), "pt");
    ck_assert_ptr_null(rt_st_meta(f, "netc.optimizer"));
    ck_assert_str_eq(rt_st_meta(f, "netc.input"), "(N, 5)");
    ck_assert_str_eq(rt_st_meta(f, "netc.layers"),
                     "Linear(in_features=5, out_features=12, bias=true) -> ReLU(inplace=false) -> Dropout(p=0.25, inplace=false)"
                     " -> Linear(in_features=12, out_features=3, bias=true)");
    uint64_t id = strtoull(rt_st_meta(f, "netc.pair"), NULL, 16);
    ck_assert_int_eq(rt_checkpoint_companion(path, id, companion, sizeof companion), 0);
    rt_st_file *g = load_golden(companion);
    ck_assert_str_eq(rt_st_meta(g, "netc.pair"), rt_st_meta(f, "netc.pair"));
    ck_assert_int_eq(rt_st_count(g), 2); /* Adam: exp_avg, exp_avg_sq */
    ck_assert_ptr_nonnull(rt_st_find(g, "optim.adam.exp_avg"));
    ck_assert_str_eq(rt_st_meta(g, "netc.optimizer"), "Adam");
    ck_assert_str_eq(rt_st_meta(g, "netc.schedule"), "StepLR");
    rt_st_free(f);
    rt_st_free(g);
    /* the pair only: no temporary file left */
    ck_assert_int_eq(tu_scan_dir(dir, 0), 2);
    /* eval and predict read the weights */
    rt_net *other = rt_net_new(p, 4);
    ck_assert_msg(rt_checkpoint_load(other, path, 0, err, sizeof err, err, sizeof err) == 0, "%s", err);
    assert_same_arena(net, other, COMP_ARENA_PARAM, "loaded parameters");
    rt_net_free(other);
    rt_net_free(net);
    tu_rmdtemp(dir);
    tu_destroy(p);
}
END_TEST

/* A checkpoint without training state (an older netc's) still resumes, as
 * weights only, and says so; so does one for another optimizer. */
START_TEST(test_resume_weights_only)
{
    comp_plan *p = tu_compile_text(resume_specs[0]);
    comp_plan *q = tu_compile_text("model r { input 5 layers Linear(5, 12) -> ReLU -> Dropout(p=0.25) -> Linear(12, 3)"
                                   " loss CrossEntropy optimizer SGD(lr=0.1, momentum=0.5) }");
    rt_net *net = fresh_net(p);
    char dir[256], old[300], cur[300], note[512], err[512];
    tu_mkdtemp(dir, sizeof dir, "sched");
    snprintf(old, sizeof old, "%s/old.safetensors", dir);
    snprintf(cur, sizeof cur, "%s/cur.safetensors", dir);
    /* the old format: parameters and model metadata only */
    rt_tensor t[8];
    for (int k = 0; k < p->nparams; k++) {
        const comp_buf *b = &p->bufs[p->params[k]];
        t[k] = (rt_tensor){.name = b->name, .rank = b->rank, .data = rt_net_buf(net, p->params[k])};
        for (int d = 0; d < b->rank; d++)
            t[k].shape[d] = b->dims[d];
    }
    const char *keys[] = {"format", "netc.model"}, *vals[] = {"pt", "r"};
    ck_assert_int_eq(rt_st_save(old, t, p->nparams, keys, vals, 2, err, sizeof err), 0);
    rt_net *b = rt_net_new(p, 8);
    ck_assert_int_eq(rt_checkpoint_resume(b, old, 0, note, sizeof note, err, sizeof err), 0);
    ck_assert_msg(strstr(note, "weights only"), "note: %s", note);
    ck_assert_int_eq(b->epoch, 0);
    assert_same_arena(net, b, COMP_ARENA_PARAM, "parameters");
    rt_net_free(b);

    /* state for Adam offered to SGD: weights only, with a note */
    float x[RESUME_SAMPLES * 5];
    int32_t labels[RESUME_SAMPLES];
    rt_dataset ds;
    char *log = NULL;
    size_t len = 0;
    make_data(&ds, x, labels);
    train_some(net, &ds, 1, 5, &log, &len);
    ck_assert_int_eq(rt_checkpoint_save(net, cur, err, sizeof err), 0);
    rt_net *s = rt_net_new(q, 8);
    ck_assert_int_eq(rt_checkpoint_resume(s, cur, 0, note, sizeof note, err, sizeof err), 0);
    ck_assert_msg(strstr(note, "not of SGD") && strstr(note, "only the weights"), "note: %s", note);
    ck_assert_int_eq(s->epoch, 0);
    ck_assert_int_eq(s->step, 0);
    ck_assert_int_eq(memcmp(s->arena[COMP_ARENA_PARAM], net->arena[COMP_ARENA_PARAM],
                            q->arena_size[COMP_ARENA_PARAM] * sizeof(float)), 0);
    rt_net_free(s);
    free(log);
    rt_net_free(net);
    tu_rmdtemp(dir);
    tu_destroy(p);
    tu_destroy(q);
}
END_TEST

/* `netc explain` shows the schedule with every argument, and the clipping op. */
START_TEST(test_explain_shows_schedule)
{
    comp_plan *p = tu_compile_file(GOLDEN "trajectory_sgd_norm_step.net");
    char *dump = tu_plan_dump(p, 20);
    ck_assert_msg(strstr(dump, "schedule: StepLR(step_size=5, gamma=0.5) at 10:14"), "%s", dump);
    ck_assert_msg(strstr(dump, "-- gradient clipping"), "%s", dump);
    ck_assert_msg(strstr(dump, "clip_grad_norm   grads=grads"), "%s", dump);
    ck_assert_msg(strstr(dump, "max_norm=0.2 norm_type=2 n=83"), "%s", dump);
    free(dump);
    tu_destroy(p);
    p = tu_compile_text("model m { input 1 layers Linear(1, 1) loss MSE optimizer SGD"
                        " schedule MultiStepLR(milestones=(3,), gamma=0.5) }");
    dump = tu_plan_dump(p, 1);
    ck_assert_msg(strstr(dump, "schedule: MultiStepLR(milestones=(3,), gamma=0.5)"), "%s", dump);
    ck_assert_int_eq(p->nclip, 0);
    free(dump);
    tu_destroy(p);
}
END_TEST

int main(void)
{
    load_cases();
    char key[32], err[256];
    rt_st_file *g = rt_st_load(GOLDEN "clip.safetensors", err, sizeof err);
    if (!g) {
        fprintf(stderr, "test_sched: %s\n", err);
        return EXIT_FAILURE;
    }
    for (nclips = 0;; nclips++) {
        snprintf(key, sizeof key, "clip.%d", nclips);
        if (!rt_st_meta(g, key))
            break;
    }
    rt_st_free(g);
    if (ncases < 15 || nclips < 5) {
        fprintf(stderr, "test_sched: only %d schedule and %d clipping cases in " GOLDEN "\n", ncases, nclips);
        return EXIT_FAILURE;
    }
    Suite *s = suite_create("sched");
    TCase *tc = tcase_create("sched");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_schedule_matches_torch, 0, ncases);
    tcase_add_test(tc, test_no_schedule);
    tcase_add_loop_test(tc, test_clip_matches_torch, 0, nclips);
    tcase_add_test(tc, test_clip_nan);
    tcase_add_loop_test(tc, test_trajectory_matches_torch, 0, (int)(sizeof trajectories / sizeof *trajectories));
    tcase_add_loop_test(tc, test_resume_is_exact, 0, (int)(sizeof resume_specs / sizeof *resume_specs));
    tcase_add_test(tc, test_checkpoint_layout);
    tcase_add_test(tc, test_resume_weights_only);
    tcase_add_test(tc, test_explain_shows_schedule);
    tcase_add_test(tc, test_multistep_no_milestones);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
