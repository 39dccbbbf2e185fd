/* test_emit.c — emitted C against the interpreter.
 *
 * For every spec in tests/golden/parity and one trajectory spec per
 * optimizer in tests/golden/optim, a spec with every elementwise
 * activation, the Embedding specs (SparseAdam; padding_idx with Adam) and
 * the LBFGS and 1-d convolution specs of tests/specs/good and the clipping specs of
 * tests/golden/sched (together they use every op netc has), the test
 * initialises the
 * parameters, runs the interpreter's predict and one training step on a
 * random batch, then emits the model as C (`netc emit --weights --train`
 * with those parameters), compiles it with a small driver under
 * -std=c99 -Wall -Wextra -pedantic -Werror and -fsanitize=address,undefined,
 * with gcc and with clang, runs it on the same batch and compares:
 * (the sanitized builds are unoptimised, -O0: every access stays checked,
 * the results are the same, since the emitted code turns contraction off,
 * and they compile five to ten times faster than at -O1, which made this
 * test most of `make check`; the --blas build keeps -O1, so the warnings
 * that need the optimiser are still errors)
 *  - calling cblas_sgemm (--blas), emitted code runs the interpreter's
 *    kernels in the interpreter's order: outputs, loss and updated
 *    parameters must be bit-identical;
 *  - with the portable matrix products only the order of additions inside
 *    each dot product differs: predict must agree to 1e-6 and the training
 *    step to 1e-5, relative to each tensor's largest magnitude (the
 *    parity tests' definition), the tolerances the emitter promises.
 * Each run also exercises predict_batch's chunking: the batch is not a
 * multiple of the emitted NAME_MAX_BATCH. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "compiler/emit.h"
#include "runtime/kernels.h"
#include "runtime/net.h"

/* The specs: every parity case, and the first trajectory case of each
 * optimizer. */
static const struct {
    const char *dir, *suffix;
} case_sets[] = {{"tests/golden/parity/", ".net"},
                 {"tests/golden/optim/", "_1.net"},
                 {"tests/specs/good/", "activations.net"},
                 {"tests/specs/good/", "embedding_sparse_adam.net"},
                 {"tests/specs/good/", "embedding_padding.net"},
                 {"tests/specs/good/", "lbfgs_wolfe.net"},
                 {"tests/specs/good/", "conv1d_signal.net"},
                 {"tests/golden/sched/", ".net"}};
#define SEED 1234
#define PREDICT_BATCH 3

#define MAX_CASES 128
static char case_names[MAX_CASES][320]; /* paths */
static int ncases;

static void find_cases(void)
{
    static char names[MAX_CASES][TU_CASE_NAME];
    for (size_t k = 0; k < sizeof case_sets / sizeof *case_sets; k++) {
        int n = tu_find_cases(case_sets[k].dir, case_sets[k].suffix, names, MAX_CASES);
        for (int i = 0; i < n && ncases < MAX_CASES; i++)
            if (snprintf(case_names[ncases], sizeof case_names[0], "%s%s%s", case_sets[k].dir, names[i],
                         case_sets[k].suffix) < (int)sizeof case_names[0])
                ncases++;
    }
}

/* The driver: runs the emitted predict_batch and one train step on the
 * batch in in.bin/target.bin and writes out.bin and params.bin (the loss
 * appended).  Written for a model named by MODEL. */
static const char driver_text[] =
    "#include <stdio.h>\n"
    "#include <stdlib.h>\n"
    "#define CAT2(a, b) a##_##b\n"
    "#define CAT(a, b) CAT2(a, b)\n"
    "#define F(x) CAT(MODEL, x)\n"
    "static float *readf(const char *path, size_t n)\n"
    "{\n"
    "    FILE *f = fopen(path, \"rb\");\n"
    "    float *v = malloc(n * sizeof *v + 1);\n"
    "    if (!f || !v || fread(v, sizeof *v, n, f) != n)\n"
    "        exit(3);\n"
    "    fclose(f);\n"
    "    return v;\n"
    "}\n"
    "static void writef(const char *path, const float *v, size_t n, float extra, int with_extra)\n"
    "{\n"
    "    FILE *f = fopen(path, \"wb\");\n"
    "    if (!f || fwrite(v, sizeof *v, n, f) != n || (with_extra && fwrite(&extra, sizeof extra, 1, f) != 1))\n"
    "        exit(4);\n"
    "    fclose(f);\n"
    "}\n"
    "int main(int argc, char **argv)\n"
    "{\n"
    "    int n = argc > 1 ? atoi(argv[1]) : 1;\n"
    "    unsigned long long seed = argc > 2 ? strtoull(argv[2], NULL, 10) : 0;\n"
    "    float *in = readf(\"in.bin\", (size_t)n * F(INPUT_SIZE));\n"
    "    float *tg = readf(\"target.bin\", (size_t)n * F(TARGET_SIZE));\n"
    "    float *out = malloc((size_t)n * F(OUTPUT_SIZE) * sizeof *out);\n"
    "    void *ws = malloc(F(WORKSPACE_BYTES));\n"
    "    F(params) *params = malloc(sizeof *params);\n"
    "    F(train_state) *state = malloc(sizeof *state);\n"
    "    void *tws = malloc(F(TRAIN_WORKSPACE_BYTES));\n"
    "    if (!out || !ws || !params || !state || !tws)\n"
    "        return 5;\n"
    "    F(predict_batch)(n, in, out, ws);\n"
    "    writef(\"out.bin\", out, (size_t)n * F(OUTPUT_SIZE), 0.0f, 0);\n"
    "    F(load_weights)(params);\n"
    "    F(train_init)(state, seed);\n"
    "    float loss = F(train_step)(n, in, tg, params, state, tws);\n"
    "    writef(\"params.bin\", (const float *)params, F(PARAM_COUNT), loss, 1);\n"
    "#ifdef HAS_MODEL_STATE\n"
    "    writef(\"state.bin\", state->model, F(MODEL_STATE_COUNT), 0.0f, 0);\n"
    "#endif\n"
    "    free(in); free(tg); free(out); free(ws); free(params); free(state); free(tws);\n"
    "    return 0;\n"
    "}\n";

static void write_file(const char *path, const void *data, size_t bytes)
{
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "cannot write %s", path);
    ck_assert(fwrite(data, 1, bytes, f) == bytes);
    ck_assert(fclose(f) == 0);
}

static float *read_floats(const char *path, size_t n)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "emitted program wrote no %s", path);
    float *v = malloc(n * sizeof *v);
    ck_assert(v != NULL);
    ck_assert_msg(fread(v, sizeof *v, n, f) == n, "%s is short", path);
    fclose(f);
    return v;
}

/* Largest |value| of a tensor: the scale tolerances are relative to. */
static double scale_of(const float *v, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs((double)v[i]));
    return m;
}

/* Every element within tol of the reference, relative to the larger of
 * its own magnitude and the tensor's scale (tol 0: bit-identical). */
static void compare(const char *what, const char *name, const float *ref, const float *got, size_t n, double tol)
{
    double s = scale_of(ref, n);
    for (size_t i = 0; i < n; i++) {
        if (tol == 0) {
            ck_assert_msg(memcmp(&ref[i], &got[i], sizeof(float)) == 0,
                          "%s: %s[%zu] interpreter %.9g, emitted %.9g (must be bit-identical)", name, what, i,
                          (double)ref[i], (double)got[i]);
            continue;
        }
        double lim = tol * fmax(fabs((double)ref[i]), s);
        ck_assert_msg(fabs((double)ref[i] - (double)got[i]) <= lim,
                      "%s: %s[%zu] interpreter %.9g, emitted %.9g (limit %.3g)", name, what, i, (double)ref[i],
                      (double)got[i], lim);
    }
}

/* One case with one compiler and one kind of matrix product. */
static void run_case(const char *name, const char *cc, int blas, int sanitize)
{
    char cmd[4096];
    const char *path = name;
    comp_plan *p = tu_compile_file(path);
    const int n = p->model->batch > PREDICT_BATCH ? p->model->batch : PREDICT_BATCH + 2;
    const size_t in_size = p->bufs[p->input].size, out_size = p->bufs[p->output].size;
    const size_t nparams = comp_plan_param_count(p);

    /* The interpreter: initial parameters, predict, one training step. */
    rt_net *net = rt_net_new(p, n);
    ck_assert(net != NULL);
    rt_net_init_params(net, SEED);
    float *params0 = malloc(nparams * sizeof *params0);
    float *in = malloc((size_t)n * in_size * sizeof *in);
    float *target = malloc((size_t)n * p->target_size * sizeof *target);
    float *out = malloc((size_t)n * out_size * sizeof *out);
    ck_assert(params0 && in && target && out);
    memcpy(params0, net->arena[COMP_ARENA_PARAM], nparams * sizeof *params0);
    /* The running statistics as they start, embedded with the weights. */
    const size_t nmodel = p->arena_size[COMP_ARENA_MODEL];
    float *model0 = malloc((nmodel + 1) * sizeof *model0);
    ck_assert(model0 != NULL);
    memcpy(model0, net->arena[COMP_ARENA_MODEL], nmodel * sizeof *model0);
    uint64_t rng = rt_rng_seed(SEED, 99);
    /* An Embedding model reads row indices; others values in [-1, 1). */
    const int rows = p->ops[0].code == COMP_OP_EMBEDDING ? p->ops[0].k : 0;
    for (size_t i = 0; i < (size_t)n * in_size; i++)
        in[i] = rows ? (float)(rt_rng_next(&rng) % (uint64_t)rows) : (float)(2 * rt_rng_uniform(&rng) - 1);
    /* A class index when the target is one number per sample for a wider
     * output (class losses), else values in [0, 1) (valid for every
     * regression and probability loss). */
    for (size_t i = 0; i < (size_t)n * p->target_size; i++)
        target[i] = p->target_size == 1 && out_size > 1 ? (float)(rt_rng_next(&rng) % out_size)
                                                         : (float)rt_rng_uniform(&rng);
    /* In chunks as the emitted predict_batch works: a BLAS may sum in a
     * different order for a different number of rows. */
    for (int s = 0; s < n; s += PREDICT_BATCH) {
        int m = n - s < PREDICT_BATCH ? n - s : PREDICT_BATCH;
        rt_net_set_batch(net, m, 0);
        memcpy(rt_net_buf(net, p->input), in + (size_t)s * in_size, (size_t)m * in_size * sizeof *in);
        rt_net_infer(net);
        memcpy(out + (size_t)s * out_size, rt_net_buf(net, p->output), (size_t)m * out_size * sizeof *out);
    }
    rt_net_set_batch(net, n, 1);
    net->dropout_rng = rt_rng_seed(SEED, RT_STREAM_DROPOUT);
    memcpy(rt_net_buf(net, p->input), in, (size_t)n * in_size * sizeof *in);
    memcpy(rt_net_buf(net, p->target), target, (size_t)n * p->target_size * sizeof *target);
    float loss = rt_net_forward(net);
    rt_net_backward(net);
    rt_net_update(net);

    /* Emit, compile, run. */
    char dir[256];
    tu_mkdtemp(dir, sizeof dir, "emit");
    comp_emit_opts eo = {params0, path, "(test parameters)", 0, 1, blas, PREDICT_BATCH, model0, 0};
    char hp[600], cp[600];
    snprintf(hp, sizeof hp, "%s/%s.h", dir, p->model->name);
    snprintf(cp, sizeof cp, "%s/%s.c", dir, p->model->name);
    FILE *h = fopen(hp, "w"), *c = fopen(cp, "w");
    ck_assert(h && c);
    ck_assert_int_eq(comp_emit(p, &eo, h, c), 0);
    fclose(h);
    fclose(c);
    char drv[600], buf[600];
    snprintf(drv, sizeof drv, "%s/driver.c", dir);
    snprintf(buf, sizeof buf, "#define MODEL %s\n%s#include \"%s.h\"\n", p->model->name,
             nmodel ? "#define HAS_MODEL_STATE 1\n" : "", p->model->name);
    FILE *d = fopen(drv, "w");
    ck_assert(d != NULL);
    fputs(buf, d);
    fputs(driver_text, d);
    fclose(d);
    snprintf(buf, sizeof buf, "%s/in.bin", dir);
    write_file(buf, in, (size_t)n * in_size * sizeof *in);
    snprintf(buf, sizeof buf, "%s/target.bin", dir);
    write_file(buf, target, (size_t)n * p->target_size * sizeof *target);
    snprintf(cmd, sizeof cmd,
             "cd %s && %s -std=c99 -Wall -Wextra -pedantic -Werror %s -o prog %s.c driver.c %s -lm 2>&1 && "
             "./prog %d %d 2>&1",
             dir, cc, sanitize ? "-O0 -g -fsanitize=address,undefined -fno-sanitize-recover=all" : "-O1",
             p->model->name, blas ? "$(pkg-config --libs openblas 2>/dev/null || echo -lopenblas)" : "",
             n, SEED);
    int rc = system(cmd);
    ck_assert_msg(rc == 0, "%s: compiling or running the emitted code with %s failed (%s)", name, cc, cmd);

    snprintf(buf, sizeof buf, "%s/out.bin", dir);
    float *eout = read_floats(buf, (size_t)n * out_size);
    snprintf(buf, sizeof buf, "%s/params.bin", dir);
    float *eparams = read_floats(buf, nparams + 1);
    compare("predict output", name, out, eout, (size_t)n * out_size, blas ? 0 : 1e-6);
    compare("loss", name, &loss, &eparams[nparams], 1, blas ? 0 : 1e-5);
    compare("parameters after one step", name, net->arena[COMP_ARENA_PARAM], eparams, nparams, blas ? 0 : 1e-5);
    if (nmodel) { /* the running statistics the training step's forward updated */
        snprintf(buf, sizeof buf, "%s/state.bin", dir);
        float *estate = read_floats(buf, nmodel);
        compare("running statistics after one step", name, net->arena[COMP_ARENA_MODEL], estate, nmodel,
                blas ? 0 : 1e-5);
        free(estate);
    }

    free(eout);
    free(eparams);
    tu_rmdtemp(dir);
    rt_net_free(net);
    free(params0);
    free(model0);
    free(in);
    free(target);
    free(out);
    tu_destroy(p);
}

/* Both compilers with the sanitizers on the portable code, the code that
 * goes to devices; the BLAS variant once, for bit-identity. */
START_TEST(test_gcc_portable)
{
    run_case(case_names[_i], "gcc", 0, 1);
}
END_TEST

START_TEST(test_clang_portable)
{
    run_case(case_names[_i], "clang", 0, 1);
}
END_TEST

START_TEST(test_gcc_blas)
{
    run_case(case_names[_i], "gcc", 1, 0);
}
END_TEST

static Suite *emit_suite(void)
{
    Suite *s = suite_create("emit");
    TCase *t = tcase_create("emitted_vs_interpreter");
    tcase_set_timeout(t, 120);
    tcase_add_loop_test(t, test_gcc_portable, 0, ncases);
    tcase_add_loop_test(t, test_clang_portable, 0, ncases);
    tcase_add_loop_test(t, test_gcc_blas, 0, ncases);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    find_cases();
    return tu_run(emit_suite());
}
