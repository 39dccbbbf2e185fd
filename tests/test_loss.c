/* test_loss.c — every loss of the catalog against PyTorch, and a short
 * training run with each.
 *
 * scripts/gen_golden_loss.py ran torch.nn's losses on inputs chosen to
 * reach large magnitudes, breakpoints, clamps and ignored targets, and
 * stored in tests/golden/loss/<case>.safetensors the input, the target,
 * the loss and its gradient with respect to the input, with the loss as a
 * netc spec writes it in the metadata.  Each case goes through netc's
 * front end (a model whose chain is Identity, so the loss reads the input
 * buffer) and the plan interpreter: the real lowering of the arguments
 * onto the op and the real kernel.
 *
 * Tolerance: 1e-5 relative.  A gradient element a matches torch's b when
 * |a - b| <= 1e-5 * max(|b|, m), m the largest |value| in b's row (one
 * sample): a gradient element obtained by cancellation (softmax - 1 at
 * a near-certain target) is only as exact as the row's scale.  A NaN
 * matches only a NaN (torch's mean over no samples).
 *
 * Every test runs from the project root, where the golden files are. */
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "runtime/kernels.h"
#include "runtime/net.h"
#include "runtime/safetensors.h"
#include "runtime/train.h"

#define GOLDEN_DIR "tests/golden/loss/"
#define REL_TOL 1e-5
#define MAX_CASES 128

static char case_names[MAX_CASES][TU_CASE_NAME];
static int ncases;

static rt_st_file *load_case(const char *name)
{
    char path[256], err[256];
    if ((size_t)snprintf(path, sizeof path, GOLDEN_DIR "%s.safetensors", name) >= sizeof path)
        ck_abort_msg("golden case name too long: %s", name);
    rt_st_file *f = rt_st_load(path, err, sizeof err);
    ck_assert_msg(f != NULL, "%s: %s", name, err);
    return f;
}

/* Compile spec text; warnings (BCE after Identity, say) are expected here
 * and kept out of the test output, errors fail the test. */
static comp_plan *compile_quiet(const char *what, const char *text)
{
    gram_source *src = gram_source_from_string("loss.net", text);
    ck_assert_ptr_nonnull(src);
    char *out = NULL;
    size_t len = 0;
    src->out = open_memstream(&out, &len);
    comp_plan *p = comp_compile(src);
    fclose(src->out);
    src->out = stderr;
    ck_assert_msg(p != NULL, "%s: the spec does not compile:\n%s\n%s", what, text, out);
    free(out);
    return p;
}

static long count_of(const rt_tensor *t)
{
    long n = 1;
    for (int i = 0; i < t->rank; i++)
        n *= (long)t->shape[i];
    return n;
}

static int same_value(double a, double b, double scale)
{
    if (isnan(b))
        return isnan(a);
    return fabs(a - b) <= REL_TOL * fmax(fabs(b), scale);
}

/* One golden case through the whole pipeline: value and gradient. */
START_TEST(test_golden)
{
    const char *name = case_names[_i];
    rt_st_file *f = load_case(name);
    const char *spec = rt_st_meta(f, "spec");
    ck_assert_msg(spec != NULL, "%s: no 'spec' metadata", name);
    const rt_tensor *x = rt_st_find(f, "input"), *t = rt_st_find(f, "target");
    const rt_tensor *loss = rt_st_find(f, "loss"), *grad = rt_st_find(f, "grad");
    ck_assert_msg(x && t && loss && grad && x->rank == 2 && count_of(grad) == count_of(x) && count_of(loss) == 1,
                  "%s: golden file lacks input/target/loss/grad of the expected shapes", name);
    const int N = (int)x->shape[0], C = (int)x->shape[1];

    char text[512];
    snprintf(text, sizeof text, "model golden {\n    input %d\n    layers Identity\n    loss %s\n    optimizer SGD\n}\n",
             C, spec);
    comp_plan *p = compile_quiet(name, text);
    ck_assert_int_eq(p->nloss, 1);
    const comp_op *lop = &p->ops[p->nfwd];
    ck_assert_msg(count_of(t) == (long)N * (long)p->target_size, "%s: target has %ld floats, the plan wants %d x %zu",
                  name, count_of(t), N, p->target_size);

    rt_net *net = rt_net_new(p, N);
    ck_assert_ptr_nonnull(net);
    rt_net_set_batch(net, N, 1);
    memcpy(rt_net_buf(net, p->input), x->data, (size_t)count_of(x) * sizeof(float));
    memcpy(rt_net_buf(net, p->target), t->data, (size_t)count_of(t) * sizeof(float));
    const float got = rt_net_forward(net);
    ck_assert_msg(same_value(got, loss->data[0], 0.0), "%s: %s = %.9g, torch %.9g", name, spec, (double)got,
                  (double)loss->data[0]);

    const float *g = rt_net_buf(net, lop->buf[1]);
    int bad = 0;
    for (int r = 0; r < N; r++) {
        double m = 0.0;
        for (int c = 0; c < C; c++)
            m = fmax(m, fabs((double)grad->data[r * C + c]));
        for (int c = 0; c < C; c++) {
            const double a = g[r * C + c], b = grad->data[r * C + c];
            if (!same_value(a, b, m) && bad++ < 5)
                fprintf(stderr, "%s: grad[%d][%d]: netc %.9g, torch %.9g\n", name, r, c, a, b);
        }
    }
    ck_assert_msg(bad == 0, "%s: %s: %d gradient elements differ from torch's", name, spec, bad);

    /* Outside training the loss is the same and the gradient is not touched. */
    float *gw = rt_net_buf(net, lop->buf[1]);
    for (int i = 0; i < N * C; i++)
        gw[i] = 12345.0f;
    rt_net_set_batch(net, N, 0);
    const float again = rt_net_forward(net);
    ck_assert_msg(memcmp(&again, &got, sizeof got) == 0, "%s: eval loss %.9g, training loss %.9g", name,
                  (double)again, (double)got);
    for (int i = 0; i < N * C; i++)
        ck_assert_float_eq(gw[i], 12345.0f);

    rt_net_free(net);
    tu_destroy(p);
    rt_st_free(f);
}
END_TEST

/* The golden data covers the catalog: every loss with every reduction it
 * accepts, and every other argument of it at a non-default value.  A loss
 * added to catalog.def without golden data fails here. */
START_TEST(test_golden_covers_catalog)
{
    static char specs[MAX_CASES][256], losses[MAX_CASES][64], reductions[MAX_CASES][32];
    for (int i = 0; i < ncases; i++) {
        rt_st_file *f = load_case(case_names[i]);
        const char *s = rt_st_meta(f, "spec"), *l = rt_st_meta(f, "loss"), *r = rt_st_meta(f, "reduction");
        ck_assert_msg(s && l && r, "%s: metadata lacks spec, loss or reduction", case_names[i]);
        snprintf(specs[i], sizeof specs[i], "%s", s);
        snprintf(losses[i], sizeof losses[i], "%s", l);
        snprintf(reductions[i], sizeof reductions[i], "%s", r);
        rt_st_free(f);
    }
    int missing = 0;
    for (int k = 0; k < COMP_LOSS_COUNT; k++) {
        const comp_entry *e = &comp_losses[k];
        for (int a = 0; a < e->nargs; a++) {
            const comp_arg_spec *arg = &e->args[a];
            if (strcmp(arg->name, "reduction") == 0) {
                /* each choice of "mean|sum|..." */
                for (const char *c = arg->choices; *c;) {
                    size_t len = strcspn(c, "|");
                    int found = 0;
                    for (int i = 0; i < ncases && !found; i++)
                        found = strcmp(losses[i], e->name) == 0 && strlen(reductions[i]) == len &&
                                strncmp(reductions[i], c, len) == 0;
                    if (!found) {
                        fprintf(stderr, "no golden case for %s(reduction=\"%.*s\")\n", e->name, (int)len, c);
                        missing++;
                    }
                    c += len + (c[len] == '|');
                }
                continue;
            }
            char needle[64];
            snprintf(needle, sizeof needle, "%s=", arg->name);
            int found = 0;
            for (int i = 0; i < ncases && !found; i++)
                found = strcmp(losses[i], e->name) == 0 && strstr(specs[i], needle) != NULL;
            if (!found) {
                fprintf(stderr, "no golden case sets %s's argument %s\n", e->name, arg->name);
                missing++;
            }
        }
    }
    ck_assert_msg(missing == 0, "%d loss variants have no golden data (scripts/gen_golden_loss.py)", missing);
}
END_TEST

/* A short training run with every loss on synthetic data: 4 classes
 * given by a fixed linear map of 6 inputs, the chain ending as the loss
 * expects (Sigmoid for probabilities, LogSoftmax for log-probabilities),
 * targets as the data path gives them (class indices, or one-hot rows).
 * The epoch cost `netc train` prints must fall. */
START_TEST(test_training_decreases_cost)
{
    const int k = _i;
    const comp_entry *e = &comp_losses[k];
    enum { DIM = 6, CLASSES = 4, SAMPLES = 96, EPOCHS = 8 };
    static const char *const heads[] = {"", "", " -> Sigmoid", " -> LogSoftmax(dim=1)"};
    char text[512];
    snprintf(text, sizeof text,
             "model synth {\n    input %d\n    layers Linear(%d, 16) -> Tanh -> Linear(16, %d)%s\n"
             "    loss %s%s\n    optimizer Adam(lr=0.02)\n    train epochs=%d batch=16 shuffle=true seed=3\n}\n",
             DIM, DIM, CLASSES, heads[comp_loss_input[k]], e->name,
             k == COMP_LOSS_KL_DIV ? "(reduction=\"batchmean\")" : "", EPOCHS);
    comp_plan *p = compile_quiet(e->name, text);

    rt_dataset ds = {0};
    ds.n = SAMPLES;
    ds.dim = DIM;
    ds.xf = malloc(SAMPLES * DIM * sizeof *ds.xf);
    ds.labels = malloc(SAMPLES * sizeof *ds.labels);
    ck_assert(ds.xf && ds.labels);
    uint64_t rng = rt_rng_seed(7, 0);
    for (int i = 0; i < SAMPLES; i++) {
        float *x = ds.xf + i * DIM, best = -INFINITY;
        for (int j = 0; j < DIM; j++)
            x[j] = (float)(2.0 * rt_rng_uniform(&rng) - 1.0);
        for (int c = 0; c < CLASSES; c++) {
            float s = 0.0f;
            for (int j = 0; j < DIM; j++)
                s += x[j] * (float)(((c + 1) * (j + 2)) % 5 - 2);
            if (s > best) {
                best = s;
                ds.labels[i] = c;
            }
        }
    }

    rt_net *net = rt_net_new(p, p->model->batch);
    ck_assert_ptr_nonnull(net);
    rt_net_init_params(net, p->model->seed);
    char *log = NULL;
    size_t loglen = 0;
    FILE *logf = open_memstream(&log, &loglen);
    const int onehot = comp_loss_target[k] == COMP_TARGET_VALUES ? CLASSES : 0;
    rt_train_opts o = {.epochs = EPOCHS, .shuffle = 1, .seed = p->model->seed, .onehot = onehot, .log = logf};
    ck_assert_int_eq(rt_train(net, &ds, &o), 0);
    fclose(logf);

    double cost[EPOCHS];
    int n = 0;
    for (const char *s = log; (s = strstr(s, "cost = ")) != NULL && n < EPOCHS; s += 7)
        cost[n++] = strtod(s + 7, NULL);
    ck_assert_msg(n == EPOCHS, "%s: %d epoch lines in:\n%s", e->name, n, log);
    for (int i = 0; i < n; i++)
        ck_assert_msg(isfinite(cost[i]), "%s: epoch %d cost %g", e->name, i + 1, cost[i]);
    ck_assert_msg(cost[n - 1] < 0.8 * cost[0], "%s: cost went from %.6f to %.6f:\n%s", e->name, cost[0],
                  cost[n - 1], log);

    free(log);
    rt_net_free(net);
    rt_data_free(&ds);
    tu_destroy(p);
}
END_TEST

/* `netc explain` shows each loss op with the arguments lowered onto it;
 * arguments at their defaults are left out of CrossEntropy's and NLL's
 * line (so existing plan dumps keep their shape). */
START_TEST(test_explain_shows_arguments)
{
    static const struct {
        const char *loss, *head, *want;
    } cases[] = {
        {"CrossEntropy", "", "softmax_xent"},
        {"CrossEntropy(ignore_index=1, label_smoothing=0.25)", "", "classes=3 mean ignore_index=1 label_smoothing=0.25"},
        {"NLL(ignore_index=-1, reduction=\"sum\")", " -> LogSoftmax(dim=1)", "nll "},
        {"NLL(ignore_index=-1, reduction=\"sum\")", " -> LogSoftmax(dim=1)", "classes=3 sum ignore_index=-1"},
        {"L1", "", "l1 "},
        {"SmoothL1(beta=0.5)", "", "n=3 mean beta=0.5"},
        {"Huber(reduction=\"sum\", delta=2)", "", "n=3 sum delta=2"},
        {"BCE", " -> Sigmoid", "logits=h1"}, /* not: BCE reads probabilities */
        {"BCE", " -> Sigmoid", "p=h1 target=target"},
        {"BCEWithLogits(pos_weight=3)", "", "logits=h0 target=target"},
        {"BCEWithLogits(pos_weight=3)", "", "n=3 mean pos_weight=3"},
        {"KLDiv(reduction=\"batchmean\", log_target=true)", " -> LogSoftmax(dim=1)", "n=3 batchmean log_target"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char text[512];
        snprintf(text, sizeof text, "model e {\n    input 4\n    layers Linear(4, 3)%s\n    loss %s\n    optimizer SGD\n}\n",
                 cases[i].head, cases[i].loss);
        comp_plan *p = compile_quiet(cases[i].loss, text);
        char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);
        comp_plan_dump(p, 2, f);
        fclose(f);
        const int negate = strcmp(cases[i].want, "logits=h1") == 0;
        ck_assert_msg((strstr(out, cases[i].want) != NULL) != negate, "loss %s: the plan dump %s '%s':\n%s",
                      cases[i].loss, negate ? "shows" : "lacks", cases[i].want, out);
        free(out);
        tu_destroy(p);
    }
}
END_TEST

int main(void)
{
    ncases = tu_find_cases(GOLDEN_DIR, ".safetensors", case_names, MAX_CASES);
    Suite *s = suite_create("loss");
    TCase *tc = tcase_create("golden");
    tcase_add_loop_test(tc, test_golden, 0, ncases);
    tcase_add_test(tc, test_golden_covers_catalog);
    tcase_add_test(tc, test_explain_shows_arguments);
    suite_add_tcase(s, tc);
    tc = tcase_create("training");
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, test_training_decreases_cost, 0, COMP_LOSS_COUNT);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
