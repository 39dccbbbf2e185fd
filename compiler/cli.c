/* cli.c — the netc command line: check, explain, train, compare, eval,
 * predict, emit, build; also the command line of the programs `netc build`
 * makes, whose spec is built in.
 *
 * Exit status: 0 success, 1 a problem with a spec, data or checkpoint
 * (reported with its location), 2 a usage error. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../runtime/blas.h"
#include "../runtime/checkpoint.h"
#include "../runtime/dist.h"
#include "../runtime/embedding.h"
#include "../runtime/lbfgs.h"
#include "../runtime/pool.h"
#include "../runtime/train.h"
#include "cli.h"
#include "compare.h"
#include "emit.h"
#include "plan.h"

#define NETC_VERSION "0.1.0"

/* The spec built into a program of `netc build` (NULL in netc itself): set
 * once by comp_cli_main before any command runs, read-only after. */
static const comp_cli_builtin *builtin;

/* Options common to the subcommands; each subcommand accepts a subset. */
typedef struct {
    const char *data, *test_data, *weights, *save, *input, *output;
    int epochs, batch, threads;
    double lr;
    long long seed;
    int no_shuffle;
    int stats;
    char *optimizers;            /* compare: the list as given */
    const char *plot;            /* compare: SVG file */
    double target;               /* compare: target cost, <= 0 for the default */
    int emit_train, emit_blas;   /* emit: --train, --blas */
    int explain_mcu;             /* explain: --mcu */
    const char *outdir;          /* emit: -o DIR */
    int averaged;                /* train: --save writes ASGD's averaged parameters */
} options;

enum { O_DATA = 1, O_TEST_DATA = 2, O_EPOCHS = 4, O_BATCH = 8, O_LR = 16, O_SEED = 32, O_NO_SHUFFLE = 64,
       O_WEIGHTS = 128, O_SAVE = 256, O_INPUT = 512, O_OUTPUT = 1024, O_THREADS = 2048, O_STATS = 4096,
       O_OPTIMIZERS = 8192, O_TARGET = 16384, O_PLOT = 32768,
       O_EMIT_TRAIN = 1 << 16, O_EMIT_BLAS = 1 << 17, O_OUTDIR = 1 << 18,
       O_AVERAGED = 1 << 19, O_MCU = 1 << 20 };

static const struct {
    const char *name;
    int flag;
    const char *arg; /* NULL for a switch */
} option_table[] = {
    {"--data", O_DATA, "DIR|FILE.csv"},   {"--test-data", O_TEST_DATA, "DIR|FILE.csv"},
    {"--epochs", O_EPOCHS, "N"},          {"--batch", O_BATCH, "N"},
    {"--lr", O_LR, "X"},                  {"--seed", O_SEED, "N"},
    {"--no-shuffle", O_NO_SHUFFLE, NULL}, {"--weights", O_WEIGHTS, "FILE"},
    {"--save", O_SAVE, "FILE"},           {"--input", O_INPUT, "FILE.csv"},
    {"--output", O_OUTPUT, "FILE.csv"},   {"--threads", O_THREADS, "N"},
    {"--stats", O_STATS, NULL},
    {"--optimizers", O_OPTIMIZERS, "LIST"}, {"--target", O_TARGET, "COST"},
    {"--plot", O_PLOT, "FILE.svg"},
    {"--train", O_EMIT_TRAIN, NULL},      {"--blas", O_EMIT_BLAS, NULL},
    {"-o", O_OUTDIR, "DIR"},
    {"--averaged", O_AVERAGED, NULL},
    {"--mcu", O_MCU, NULL},
};
#define NOPTIONS (int)(sizeof option_table / sizeof *option_table)

typedef struct {
    const char *name;
    int (*run)(int nspecs, char **specs, const options *o);
    int allowed;
    int min_specs, max_specs;
    const char *summary;
    const char *help;
} command;

/* runtime/pool.c's thread limit, spelled for messages. */
#define CLI_THREADS_MAX "64"
typedef char cli_threads_max_matches_pool[RT_POOL_MAX == 64 ? 1 : -1];

static int usage_error(const char *cmd, const char *fmt, const char *what)
{
    fprintf(stderr, "netc %s: ", cmd);
    fprintf(stderr, fmt, what);
    fprintf(stderr, "\nTry 'netc %s --help'.\n", cmd);
    return 2;
}

static int parse_int(const char *s, long long lo, long long hi, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return 0;
    *out = v;
    return 1;
}

/* Parse argv into specs and options; returns 0 or an exit status. */
static int parse_args(const command *c, int argc, char **argv, options *o, char **specs, int *nspecs)
{
    memset(o, 0, sizeof *o);
    o->seed = -1;
    o->lr = -1;
    o->threads = 0; /* the default: see start_compute */
    *nspecs = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || a[1] == 0) {
            specs[(*nspecs)++] = argv[i];
            continue;
        }
        int k;
        for (k = 0; k < NOPTIONS; k++)
            if (strcmp(a, option_table[k].name) == 0)
                break;
        if (k == NOPTIONS || !(c->allowed & option_table[k].flag))
            return usage_error(c->name, "unknown option '%s'", a);
        const char *v = NULL;
        if (option_table[k].arg) {
            if (i + 1 >= argc)
                return usage_error(c->name, "option '%s' needs a value", a);
            v = argv[++i];
        }
        long long n;
        switch (option_table[k].flag) {
        case O_DATA: o->data = v; break;
        case O_TEST_DATA: o->test_data = v; break;
        case O_WEIGHTS: o->weights = v; break;
        case O_SAVE: o->save = v; break;
        case O_INPUT: o->input = v; break;
        case O_OUTPUT: o->output = v; break;
        case O_NO_SHUFFLE: o->no_shuffle = 1; break;
        case O_EMIT_TRAIN: o->emit_train = 1; break;
        case O_EMIT_BLAS: o->emit_blas = 1; break;
        case O_MCU: o->explain_mcu = 1; break;
        case O_OUTDIR: o->outdir = v; break;
        case O_STATS: o->stats = 1; break;
        case O_OPTIMIZERS: o->optimizers = argv[i]; break;
        case O_PLOT: o->plot = v; break;
        case O_TARGET: {
            char *end;
            errno = 0;
            o->target = strtod(v, &end);
            if (errno || end == v || *end || !(o->target > 0) || o->target > 1e30)
                return usage_error(c->name, "--target needs a number > 0, got '%s'", v);
            break;
        }
        case O_AVERAGED: o->averaged = 1; break;
        case O_EPOCHS:
            if (!parse_int(v, 1, 1 << 30, &n))
                return usage_error(c->name, "--epochs needs an integer >= 1, got '%s'", v);
            o->epochs = (int)n;
            break;
        case O_BATCH:
            if (!parse_int(v, 1, 1 << 24, &n))
                return usage_error(c->name, "--batch needs an integer from 1 to 16777216, got '%s'", v);
            o->batch = (int)n;
            break;
        case O_THREADS:
            /* The pool's limit, so a larger count is refused, not cut. */
            if (!parse_int(v, 1, RT_POOL_MAX, &n))
                return usage_error(c->name, "--threads needs an integer from 1 to " CLI_THREADS_MAX ", got '%s'", v);
            o->threads = (int)n;
            break;
        case O_SEED:
            if (!parse_int(v, 0, 4294967295LL, &n))
                return usage_error(c->name, "--seed needs an integer from 0 to 4294967295, got '%s'", v);
            o->seed = n;
            break;
        case O_LR: {
            char *end;
            errno = 0;
            o->lr = strtod(v, &end);
            if (errno || end == v || *end || !(o->lr > 0) || o->lr > 1e30)
                return usage_error(c->name, "--lr needs a number > 0, got '%s'", v);
            break;
        }
        }
    }
    if (*nspecs < c->min_specs)
        return usage_error(c->name, "%s", c->min_specs == 1 && c->max_specs == 1 ? "needs one SPEC file" : "needs a SPEC file");
    if (c->max_specs > 0 && *nspecs > c->max_specs)
        return usage_error(c->name, "takes one SPEC file, got another: '%s'", specs[c->max_specs]);
    return 0;
}

/* Parse, check and lower a spec file.  Reports problems; NULL on any.
 * The plan owns its source: free both with free_plan(). */
static comp_plan *load_plan(const char *path)
{
    gram_source *src = builtin ? gram_source_from_string(builtin->name, builtin->text) : gram_source_open(path);
    if (!src) {
        fprintf(stderr, "netc: cannot read '%s': %s\n", path, strerror(errno));
        return NULL;
    }
    comp_plan *p = comp_compile(src);
    if (!p) {
        if (src->nerrors == 0)
            fprintf(stderr, "netc: out of memory compiling '%s'\n", path);
        gram_source_free(src);
    }
    return p;
}

static void free_plan(comp_plan *p)
{
    if (!p)
        return;
    gram_source *src = p->model->spec->src;
    comp_plan_destroy(p);
    gram_source_free(src);
}

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Load a data set for the plan: class labels for the class-index losses
 * (CrossEntropy, NLL), one-hot or CSV value targets for the others.  split picks train-* or t10k-* in a directory.
 * no_target loads inputs only (predict). */
static int load_data(const comp_plan *p, const char *path, rt_split split, int no_target, rt_dataset *ds,
                     int *onehot)
{
    char err[512];
    size_t out = p->bufs[p->output].size;
    int classes = comp_loss_target[p->model->loss] == COMP_TARGET_CLASS;
    rt_target_kind kind = no_target ? RT_TARGET_NONE : classes ? RT_TARGET_CLASS : RT_TARGET_VALUES;
    *onehot = 0;
    if (!no_target && !classes && is_dir(path)) /* a value loss on class data: one-hot targets */
        *onehot = (int)out;
    if (rt_data_load(path, split, p->bufs[p->input].size, kind, classes ? 1 : out,
                     classes || *onehot ? (int)out : 0, ds, err, sizeof err) != 0 ||
        rt_embedding_check_data(p, ds, path, err, sizeof err) != 0) {
        fprintf(stderr, "netc: %s\n", err);
        rt_data_free(ds);
        return -1;
    }
    return 0;
}

/* The batch size a command runs with: --batch, else the spec's. */
static int batch_of(const comp_plan *p, const options *o)
{
    return o->batch ? o->batch : p->model->has_train ? p->model->batch : 1;
}

/* Allocating the arenas failed: say how much they needed, and where to
 * look, rather than a bare "out of memory". */
static void out_of_memory(const char *cmd, const comp_plan *p, int batch)
{
    double floats = 0;
    for (int a = 0; a < COMP_ARENA_COUNT; a++)
        floats += (double)p->arena_size[a] * (a == COMP_ARENA_BATCH ? batch : 1);
    fprintf(stderr, "netc %s: out of memory: batch %d needs %.0f MiB of buffers ('netc explain --batch %d' shows them)\n",
            cmd, batch, floats * 4 / (1024.0 * 1024.0), batch);
}

static int cmd_check(int nspecs, char **specs, const options *o)
{
    int status = 0;
    for (int i = 0; i < nspecs; i++) {
        comp_plan *p = load_plan(specs[i]);
        if (!p)
            status = 1;
        free_plan(p);
    }
    return status;
}

/* explain --mcu: what `netc emit` code needs, byte for byte, as its
 * header's macros say (compiler/emit.h comp_emit_memory_of). */
static int explain_mcu(const comp_plan *p, const options *o)
{
    comp_emit_opts eo = {0};
    eo.predict_batch = o->batch ? o->batch : 8;
    eo.train_batch = o->batch;
    comp_emit_memory m;
    if (comp_emit_memory_of(p, &eo, &m) != 0) {
        fprintf(stderr, "netc explain: out of memory\n");
        return 1;
    }
    const char *n = p->model->name;
    char what[128];
    printf("emitted C for model %s (netc emit%s), bytes:\n", n, o->batch ? " --batch N" : "");
#define LINE(...) (snprintf(what, sizeof what, __VA_ARGS__), printf("  %-62s %10zu\n", what, value))
    size_t value = m.weights_bytes;
    LINE("flash: weights, running statistics (%s_WEIGHTS_BYTES)", n);
    value = m.sample_workspace_floats * sizeof(float);
    LINE("RAM: %s_predict workspace, one sample", n);
    value *= (size_t)m.max_batch;
    LINE("RAM: %s_predict_batch workspace, %d samples", n, m.max_batch);
    value = m.stack_bytes;
    LINE("stack: at most (%s_STACK_BYTES)", n);
    if (o->emit_train && p->model->has_train) {
        value = m.train_workspace_floats * sizeof(float);
        LINE("RAM: %s_train_step workspace, %d samples (with gradients)", n, m.train_batch);
        value = m.params_bytes;
        LINE("RAM: parameters trained (%s_PARAMS_BYTES)", n);
        value = m.state_floats * sizeof(float);
        LINE("RAM: optimizer state, running statistics");
    }
#undef LINE
    printf("code (flash) comes on top: see docs/microcontrollers.md for measured sizes.\n");
    return 0;
}

static int cmd_explain(int nspecs, char **specs, const options *o)
{
    comp_plan *p = load_plan(specs[0]);
    if (!p)
        return 1;
    if (o->explain_mcu) {
        const int status = explain_mcu(p, o);
        free_plan(p);
        return status;
    }
    comp_plan_dump(p, batch_of(p, o), stdout);
    const char *why;
    const char *core = rt_blas_choice(&why);
    printf("\nmatrix products: OpenBLAS, core %s (%s)\n", core, why);
    free_plan(p);
    return 0;
}

/* Without --threads: the CPUs online, at most 4.  Layers are cut into 4
 * blocks (runtime/linear.c), so more threads would idle; and since the
 * results are the same bits for any count, nothing is lost by using the
 * cores there are. */
static int default_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 4 ? 4 : (int)n;
}

/* Before a command computes: loads OpenBLAS (choosing its kernels for the
 * CPU) and starts the threads --threads asks for.  Returns 0, or 1 with a
 * message when OpenBLAS cannot be loaded. */
static int start_compute(const options *o, const char *cmd)
{
    char err[512];
    if (rt_blas_load(err, sizeof err) != 0) {
        fprintf(stderr, "netc %s: error: %s\n", cmd, err);
        return 1;
    }
    rt_pool_set_threads(o->threads ? o->threads : default_threads());
    return 0;
}

static const char *data_of(const comp_plan *p, const options *o, const char *cmd)
{
    const char *d = o->data ? o->data : p->model->data;
    if (!d)
        fprintf(stderr, "netc %s: model '%s' names no data; add a `data \"DIR\"` statement or pass --data\n", cmd,
                p->model->name);
    return d;
}

/* The data train and compare both run on. */
typedef struct {
    int epochs;          /* --epochs, else the spec's `train epochs=N` */
    rt_dataset train, test;
    int onehot, test_onehot;
    const char *test_path; /* --test-data, the IDX directory's t10k split, or NULL */
} training_data;

/* Fill t for command cmd: the epochs, a check that the model has
 * parameters, the training data and the test data when there is some.
 * Returns 0, or -1 after saying why; t's data sets are the caller's to
 * free either way (rt_data_free). */
static int load_training(const comp_plan *p, const options *o, const char *cmd, training_data *t)
{
    const comp_model *m = p->model;
    t->epochs = o->epochs ? o->epochs : m->has_train ? m->epochs : 0;
    if (!t->epochs) {
        fprintf(stderr, "netc %s: model '%s' has no `train epochs=N` statement; pass --epochs N\n", cmd, m->name);
        return -1;
    }
    if (p->nparams == 0) {
        fprintf(stderr, "netc %s: model '%s' has no parameters to train\n", cmd, m->name);
        return -1;
    }
    const char *data = data_of(p, o, cmd);
    if (!data || load_data(p, data, RT_SPLIT_TRAIN, 0, &t->train, &t->onehot) != 0)
        return -1;
    t->test_path = o->test_data ? o->test_data : is_dir(data) ? data : NULL;
    if (t->test_path && load_data(p, t->test_path, RT_SPLIT_TEST, 0, &t->test, &t->test_onehot) != 0)
        return -1;
    return 0;
}

static int cmd_train(int nspecs, char **specs, const options *o)
{
    comp_plan *p = load_plan(specs[0]);
    training_data td = {0};
    rt_net *net = NULL;
    rt_stats *stats = NULL;
    int status = 1;
    char err[512];
    if (!p)
        return 1;
    const comp_model *m = p->model;
    /* --averaged saves ASGD's running average of the parameters. */
    int averaged = o->averaged ? comp_plan_find_buf(p, "asgd.ax") : -1;
    if (o->averaged && (!o->save || averaged < 0)) {
        status = usage_error("train", "%s",
                             !o->save ? "--averaged needs --save FILE"
                                      : "--averaged saves ASGD's averaged parameters; the model's optimizer is not ASGD");
        goto done;
    }
    if (load_training(p, o, "train", &td) != 0)
        goto done;
    if (o->lr > 0) /* the update op's lr is p[0] for every optimizer */
        for (int i = 0; i < p->nops; i++)
            if (comp_op_phases[p->ops[i].code] == COMP_PHASE_UPD)
                p->ops[i].p[0] = o->lr;
    if (start_compute(o, "train") != 0)
        goto done;
    net = rt_net_new(p, batch_of(p, o));
    if (net && builtin)
        net->run_op = builtin->run_op;
    if (!net) {
        out_of_memory("train", p, batch_of(p, o));
        goto done;
    }
    uint64_t seed = o->seed >= 0 ? (uint64_t)o->seed : m->seed;
    if (o->weights) {
        char note[512];
        if (rt_checkpoint_resume(net, o->weights, note, sizeof note, err, sizeof err) != 0) {
            fprintf(stderr, "netc: %s\n", err);
            goto done;
        }
        if (note[0])
            fprintf(stderr, "netc: note: %s\n", note);
    } else if (rt_net_init_params(net, seed) != 0) {
        fprintf(stderr, "netc train: out of memory initialising the weights\n");
        goto done;
    }
    if (o->stats && !(stats = rt_stats_new(p))) {
        fprintf(stderr, "netc train: out of memory\n");
        goto done;
    }
    /* Under MPI, process 0 alone prints, evaluates and saves. */
    const int lead = rt_dist_rank() == 0;
    for (int i = 0; lead && rt_dist_size() > 1 && i < p->nfwd; i++)
        if (p->ops[i].code == COMP_OP_BATCHNORM || p->ops[i].code == COMP_OP_DROPOUT) {
            /* Said, not silent: such a net trains differently from one process. */
            fprintf(stderr, "netc train: note: under %d processes BatchNorm's batch statistics and dropout masks are "
                            "each process's shard's, not the global batch's (docs/distributed.md)\n",
                    rt_dist_size());
            break;
        }
    rt_train_opts topts = {td.epochs, m->shuffle && !o->no_shuffle, seed, td.onehot,
                           lead ? stdout : NULL, lead && isatty(2), stats, NULL};
    double t0 = rt_now_seconds();
    if (rt_train(net, &td.train, &topts) != 0) {
        fprintf(stderr, "netc train: out of memory\n");
        goto done;
    }
    if (!lead) {
        status = 0;
        goto done;
    }
    /* Timing goes to stderr so stdout stays identical run after run. */
    double secs = rt_now_seconds() - t0;
    if (rt_dist_size() > 1)
        fprintf(stderr, "train: %d processes, %.0f bytes sent by process 0 per step\n", rt_dist_size(),
                net->step ? (double)rt_dist_bytes_sent() / (double)net->step : 0.0);
    fprintf(stderr, "train: %zu samples x %d epochs in %.3f s (%.0f samples/s)\n", td.train.n, td.epochs, secs,
            (double)td.train.n * td.epochs / (secs > 0 ? secs : 1e-9));
    fprintf(stderr, "train: OpenBLAS core %s (%s), %d thread%s\n", rt_blas_core(), rt_blas_reason(),
            rt_pool_threads(), rt_pool_threads() == 1 ? "" : "s");
    long evals = rt_lbfgs_func_evals(net);
    if (evals >= 0) /* an LBFGS step evaluates the loss several times */
        fprintf(stderr, "train: LBFGS evaluated the loss %ld times in %ld steps\n", evals, net->step);
    if (td.test_path) {
        rt_eval_result r;
        rt_evaluate(net, &td.test, td.test_onehot, &r);
        if (r.has_accuracy)
            printf("Test accuracy: %.4f (%zu/%zu)\n", (double)r.correct / (double)r.n, r.correct, r.n);
        else
            printf("Test loss: %.9f\n", r.loss);
    }
    if (o->save) {
        const float *values = averaged >= 0 ? rt_net_buf(net, averaged) : net->arena[COMP_ARENA_PARAM];
        if (rt_checkpoint_save_from(net, values, o->save, err, sizeof err) != 0) {
            fprintf(stderr, "netc: %s\n", err);
            goto done;
        }
        printf("Saved %s\n", o->save);
    }
    status = 0;
done:
    rt_stats_free(stats);
    rt_net_free(net);
    rt_data_free(&td.train);
    rt_data_free(&td.test);
    free_plan(p);
    return status;
}

static int cmd_compare(int nspecs, char **specs, const options *o)
{
    char *items[256], err[256];
    if (!o->optimizers)
        return usage_error("compare", "%s", "needs --optimizers LIST (e.g. 'SGD(lr=0.1),Adam' or 'all')");
    int nitems = comp_split_optimizers(o->optimizers, items, 256, err, sizeof err);
    if (nitems < 0)
        return usage_error("compare", "--optimizers: %s", err);
    comp_plan *p = load_plan(specs[0]);
    training_data td = {0};
    int status = 1;
    if (!p)
        return 1;
    const comp_model *m = p->model;
    if (load_training(p, o, "compare", &td) != 0)
        goto done;
    if (start_compute(o, "compare") != 0)
        goto done;
    comp_compare_opts co = {p, specs[0], items, nitems, &td.train, td.test_path ? &td.test : NULL, td.onehot,
                            td.test_onehot, td.epochs, batch_of(p, o), m->shuffle && !o->no_shuffle,
                            o->seed >= 0 ? (unsigned long long)o->seed : m->seed, o->target, o->plot, stdout};
    status = comp_compare(&co);
done:
    rt_data_free(&td.train);
    rt_data_free(&td.test);
    free_plan(p);
    return status;
}

/* A net for eval/predict: parameters from --weights (the callers have
 * checked it was given).  Its batch is --batch, else the spec's but at
 * least 256 (a training batch is small for the optimizer's sake, and
 * inference runs faster in bigger products), cut to rows whose
 * activations fit the caches (rt_inference_rows). */
static rt_net *inference_net(comp_plan *p, const options *o, const char *cmd)
{
    char err[512];
    if (start_compute(o, cmd) != 0)
        return NULL;
    int batch = rt_inference_rows(p, o->batch ? o->batch : batch_of(p, o) < 256 ? 256 : batch_of(p, o));
    /* Generated code addresses the buffers where the plan puts them. */
    rt_net *net = builtin ? rt_net_new(p, batch) : rt_net_new_inference(p, batch);
    if (net && builtin)
        net->run_op = builtin->run_op;
    if (!net) {
        out_of_memory(cmd, p, batch);
        return NULL;
    }
    if (rt_checkpoint_load(net, o->weights, err, sizeof err) != 0) {
        fprintf(stderr, "netc: %s\n", err);
        rt_net_free(net);
        return NULL;
    }
    return net;
}

static int cmd_eval(int nspecs, char **specs, const options *o)
{
    if (!o->weights)
        return usage_error("eval", "%s", "needs --weights FILE");
    comp_plan *p = load_plan(specs[0]);
    rt_dataset ds = {0};
    rt_net *net = NULL;
    int status = 1, onehot;
    if (!p)
        return 1;
    const char *data = data_of(p, o, "eval");
    if (!data || load_data(p, data, RT_SPLIT_TEST, 0, &ds, &onehot) != 0 || !(net = inference_net(p, o, "eval")))
        goto done;
    rt_eval_result r;
    rt_evaluate(net, &ds, onehot, &r);
    printf("loss = %.9f\n", r.loss);
    if (r.has_accuracy)
        printf("accuracy = %.4f (%zu/%zu)\n", (double)r.correct / (double)r.n, r.correct, r.n);
    status = 0;
done:
    rt_net_free(net);
    rt_data_free(&ds);
    free_plan(p);
    return status;
}

static int cmd_predict(int nspecs, char **specs, const options *o)
{
    if (!o->input == !o->data)
        return usage_error("predict", "%s",
                           o->input ? "takes --input FILE.csv or --data DIR|FILE.csv, not both"
                                    : "needs --input FILE.csv (inputs only) or --data DIR|FILE.csv (test data)");
    if (!o->weights)
        return usage_error("predict", "%s", "needs --weights FILE");
    comp_plan *p = load_plan(specs[0]);
    rt_dataset ds = {0};
    rt_net *net = NULL;
    FILE *out = stdout;
    int status = 1, onehot;
    if (!p)
        return 1;
    /* --input holds inputs alone; --data is read as eval reads it (an IDX
     * directory's t10k-* split, or a CSV with its target columns first),
     * and its targets are left unused. */
    if (load_data(p, o->input ? o->input : o->data, RT_SPLIT_TEST, o->input != NULL, &ds, &onehot) != 0 ||
        !(net = inference_net(p, o, "predict")))
        goto done;
    if (o->output && !(out = fopen(o->output, "w"))) {
        fprintf(stderr, "netc: cannot write '%s': %s\n", o->output, strerror(errno));
        out = stdout;
        goto done;
    }
    double secs = rt_predict(net, &ds, out);
    if (out != stdout && fclose(out) != 0) {
        fprintf(stderr, "netc: error writing '%s': %s\n", o->output, strerror(errno));
        out = stdout;
        goto done;
    }
    out = stdout;
    /* On stderr, as train's line: the outputs on stdout stay comparable. */
    fprintf(stderr, "predict: %zu samples in %.3f s (%.0f samples/s)\n", ds.n, secs,
            (double)ds.n / (secs > 0 ? secs : 1e-9));
    status = 0;
done:
    if (out != stdout)
        fclose(out);
    rt_net_free(net);
    rt_data_free(&ds);
    free_plan(p);
    return status;
}

/* FNV-1a of a file's bytes (identifies the checkpoint in emitted code);
 * 0 when it cannot be read. */
static uint64_t file_hash(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint64_t h = 1469598103934665603ULL;
    if (!f)
        return 0;
    for (int ch; (ch = getc(f)) != EOF;)
        h = (h ^ (uint64_t)(unsigned char)ch) * 1099511628211ULL;
    fclose(f);
    return h;
}

/* Open DIR/NAME.EXT for writing; reports failure. */
static FILE *open_out(const char *dir, const char *name, const char *ext, char *path, size_t size)
{
    snprintf(path, size, "%s/%s.%s", dir, name, ext);
    FILE *f = fopen(path, "w");
    if (!f)
        fprintf(stderr, "netc emit: cannot write '%s': %s\n", path, strerror(errno));
    return f;
}

static int cmd_emit(int nspecs, char **specs, const options *o)
{
    comp_plan *p = load_plan(specs[0]);
    rt_net *net = NULL;
    FILE *h = NULL, *c = NULL;
    char hpath[4096], cpath[4096], err[512];
    int status = 1;
    if (!p)
        return 1;
    const char *dir = o->outdir ? o->outdir : ".";
    comp_emit_opts eo = {0};
    eo.spec_path = specs[0];
    eo.train = o->emit_train;
    eo.blas = o->emit_blas;
    eo.predict_batch = o->batch ? o->batch : 8;
    eo.train_batch = o->batch; /* 0: the spec's */
    if (eo.train && !p->model->has_train) {
        fprintf(stderr, "netc emit: --train needs the spec's `train` statement (its optimizer and loss)\n");
        goto done;
    }
    if (o->weights) {
        if (!(net = rt_net_new(p, 1))) {
            out_of_memory("emit", p, 1);
            goto done;
        }
        if (rt_checkpoint_load(net, o->weights, err, sizeof err) != 0) {
            fprintf(stderr, "netc: %s\n", err);
            goto done;
        }
        eo.weights = net->arena[COMP_ARENA_PARAM];
        eo.model_state = net->arena[COMP_ARENA_MODEL];
        eo.weights_path = o->weights;
        eo.weights_hash = file_hash(o->weights);
    }
    if (!(h = open_out(dir, p->model->name, "h", hpath, sizeof hpath)) ||
        !(c = open_out(dir, p->model->name, "c", cpath, sizeof cpath)))
        goto done;
    if (comp_emit(p, &eo, h, c) != 0)
        goto done;
    status = 0;
done:
    if (h && fclose(h) != 0 && status == 0) {
        fprintf(stderr, "netc emit: error writing '%s': %s\n", hpath, strerror(errno));
        status = 1;
    }
    if (c && fclose(c) != 0 && status == 0) {
        fprintf(stderr, "netc emit: error writing '%s': %s\n", cpath, strerror(errno));
        status = 1;
    }
    if (status == 0)
        printf("Wrote %s and %s\n", hpath, cpath);
    rt_net_free(net);
    free_plan(p);
    return status;
}

/* The netc source tree (with build/libnetc.a and the headers) a program of
 * `netc build` compiles against: $NETC_HOME, else the directory of the
 * running netc executable, as in a build from a clone.  Writes it to dir;
 * returns 0, or -1 after saying what is missing. */
static int netc_home(char *dir, size_t size)
{
    const char *env = getenv("NETC_HOME");
    char exe[4096], probe[4600];
    if (env && *env) {
        snprintf(dir, size, "%s", env);
    } else {
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n <= 0) {
            fprintf(stderr, "netc build: cannot find the netc executable's directory; set NETC_HOME\n");
            return -1;
        }
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash)
            *slash = '\0';
        snprintf(dir, size, "%s", exe);
    }
    snprintf(probe, sizeof probe, "%s/build/libnetc.a", dir);
    if (access(probe, R_OK) != 0) {
        fprintf(stderr, "netc build: %s is missing: a program is linked against netc's library (run 'make' in the "
                        "netc tree, or set NETC_HOME to it)\n", probe);
        return -1;
    }
    if (strchr(dir, '\'') || strchr(dir, '\n')) {
        fprintf(stderr, "netc build: cannot quote the path '%s' for the shell\n", dir);
        return -1;
    }
    return 0;
}

static int cmd_build(int nspecs, char **specs, const options *o)
{
    char home[4096], dir[] = "/tmp/netc-build-XXXXXX", cfile[4200], cmd[16384];
    const char *cc = getenv("CC"), *cflags = getenv("CFLAGS");
    int status = 1;
    if (!o->outdir)
        return usage_error("build", "%s", "needs -o PROGRAM");
    if (strchr(o->outdir, '\'') || strchr(specs[0], '"') || strchr(specs[0], '\\'))
        return usage_error("build", "cannot use the name '%s'", strchr(o->outdir, '\'') ? o->outdir : specs[0]);
    if (netc_home(home, sizeof home) != 0)
        return 1;
    comp_plan *p = load_plan(specs[0]);
    if (!p)
        return 1;
    if (!mkdtemp(dir)) {
        fprintf(stderr, "netc build: cannot make a scratch directory: %s\n", strerror(errno));
        free_plan(p);
        return 1;
    }
    snprintf(cfile, sizeof cfile, "%s/%s_program.c", dir, p->model->name);
    FILE *c = fopen(cfile, "w");
    if (!c) {
        fprintf(stderr, "netc build: cannot write '%s': %s\n", cfile, strerror(errno));
        goto done;
    }
    int rc = comp_emit_program(p, specs[0], p->model->spec->src->text, c);
    if (fclose(c) != 0 || rc != 0)
        goto done;
    /* ISO C mode, as netc itself is built: no a*b+c contracted into an FMA,
     * so the program computes netc's bits. */
    int len = snprintf(cmd, sizeof cmd,
             "%s %s -std=c11 -D_POSIX_C_SOURCE=200809L -I'%s' -I'%s/grammar' -I'%s/build/grammar' "
             "-o '%s' '%s' '%s/build/libnetc.a' -lz -lm -lpthread -ldl",
             cc && *cc ? cc : "cc", cflags ? cflags : "-O2 -march=native", home, home, home, o->outdir, cfile, home);
    if (len < 0 || (size_t)len >= sizeof cmd) {
        fprintf(stderr, "netc build: paths too long for the compiler command\n");
        goto done;
    }
    if (system(cmd) != 0) {
        fprintf(stderr, "netc build: compiling failed: %s\n", cmd);
        goto done;
    }
    printf("Built %s\n", o->outdir);
    status = 0;
done:
    unlink(cfile);
    rmdir(dir);
    free_plan(p);
    return status;
}

static const command commands[] = {
    {"check", cmd_check, 0, 1, 0, "parse and check specs; print nothing when all is well",
     "usage: netc check SPEC...\n\n"
     "Parse and check each spec: names, arguments, shapes.  Prints nothing and\n"
     "exits 0 when all are well; otherwise prints every problem as\n"
     "file:line:col: error: message and exits 1.\n"},
    {"explain", cmd_explain, O_BATCH | O_MCU | O_EMIT_TRAIN, 1, 1, "print the plan: ops, buffers, memory",
     "usage: netc explain SPEC [--batch N] [--mcu [--train]]\n\n"
     "Print the lowered plan: the forward, loss, backward and update ops in\n"
     "fixed columns with their operands and spec positions, then every buffer\n"
     "and the memory of each arena at the spec's batch size (or --batch).\n"
     "With --mcu, print instead the bytes the code of `netc emit` (with the\n"
     "same --batch and --train) needs: the weights in flash, the workspace of\n"
     "one sample and of NAME_MAX_BATCH samples, the stack bound, and with\n"
     "--train the training step's RAM; the emitted header's macros say the\n"
     "same.\n"},
    {"train", cmd_train,
     O_DATA | O_TEST_DATA | O_EPOCHS | O_BATCH | O_LR | O_SEED | O_NO_SHUFFLE | O_WEIGHTS | O_SAVE | O_THREADS |
         O_STATS | O_AVERAGED, 1, 1,
     "train a model, report test accuracy, save a checkpoint",
     "usage: netc train SPEC [--data DIR|FILE.csv] [--test-data DIR|FILE.csv]\n"
     "                       [--epochs N] [--batch N] [--lr X] [--seed N] [--no-shuffle]\n"
     "                       [--weights FILE] [--save FILE [--averaged]] [--threads N] [--stats]\n\n"
     "Train on the spec's data (or --data): an IDX directory (its train-* files;\n"
     "the t10k-* files are the test set) or a CSV file (target column(s) first).\n"
     "Prints `Epoch: 0001 cost = ...` per epoch (mean training loss), then the\n"
     "test accuracy.  With a schedule, each epoch line ends with its lr.\n"
     "Options override the spec's train statement; --lr the optimizer's (base)\n"
     "lr.  --save writes a safetensors checkpoint with the training state (with\n"
     "--averaged and optimizer ASGD, ASGD's averaged parameters as the weights);\n"
     "--weights resumes from one: weights, optimizer state, schedule and epoch\n"
     "count continue where it stopped, and --epochs counts the epochs to add\n"
     "(a checkpoint without state gives the weights only).  --threads sets the\n"
     "threads that share the matrix products and the optimizer (default: the\n"
     "CPUs online, at most 4); every count gives the same bits.  --stats prints\n"
     "after each epoch, per layer, the mean L2 norm of its weight gradient, its\n"
     "mean |activation| and, for the ReLU family, the fraction of dead units\n"
     "(the output states the exact definitions).\n"},
    {"compare", cmd_compare,
     O_OPTIMIZERS | O_TARGET | O_PLOT | O_DATA | O_TEST_DATA | O_EPOCHS | O_BATCH | O_SEED | O_NO_SHUFFLE | O_THREADS,
     1, 1, "train one model with several optimizers, tabulate and plot",
     "usage: netc compare SPEC --optimizers LIST [--target COST] [--plot FILE.svg]\n"
     "                         [--data DIR|FILE.csv] [--test-data DIR|FILE.csv]\n"
     "                         [--epochs N] [--batch N] [--seed N] [--no-shuffle] [--threads N]\n\n"
     "Train the spec once per optimizer of LIST, each from the same initial weights\n"
     "(initialised once from the seed).  LIST is comma-separated optimizer calls,\n"
     "e.g. 'SGD,SGD(lr=0.1, momentum=0.9),Adam': each replaces the spec's\n"
     "optimizer, with PyTorch's defaults for arguments not given.  'all' stands\n"
     "for every optimizer netc knows; those the model rejects are skipped with a\n"
     "note.  Prints, per optimizer, the final training cost, the test accuracy\n"
     "(test loss for value targets), the first epoch whose cost is <= the target\n"
     "(--target; default twice the lowest final cost; '-' if never) and the\n"
     "training time.  --plot writes the cost-per-epoch curves as an SVG file.\n"},
    {"eval", cmd_eval, O_DATA | O_WEIGHTS | O_BATCH | O_THREADS, 1, 1, "evaluate a checkpoint on test data",
     "usage: netc eval SPEC --weights FILE [--data DIR|FILE.csv] [--batch N] [--threads N]\n\n"
     "Print the mean loss and, for class data, the accuracy of the checkpoint on\n"
     "the test split of an IDX directory (t10k-*) or on a whole CSV file.\n"
     "--batch and --threads as for predict.\n"},
    {"predict", cmd_predict, O_WEIGHTS | O_INPUT | O_DATA | O_OUTPUT | O_BATCH | O_THREADS, 1, 1,
     "write the model's outputs for CSV inputs or test data",
     "usage: netc predict SPEC --weights FILE (--input FILE.csv | --data DIR|FILE.csv)\n"
     "                         [--output FILE.csv] [--batch N] [--threads N]\n\n"
     "Write one CSV row of model outputs per input, with 9 significant digits (a\n"
     "float32 round-trips), to stdout or --output.  The inputs are the rows of\n"
     "--input (inputs only, no target column; a header line is allowed) or the\n"
     "samples of --data, read as eval reads it: an IDX directory's test split\n"
     "(t10k-*) or a CSV file with its target column(s) first, which are ignored.\n"
     "Outputs are the last layer's values: logits for a CrossEntropy model.\n"
     "--batch sets the samples per forward pass (default: the spec's batch, at\n"
     "least 256); a pass is cut to fewer when its activations would take more\n"
     "than 8 MiB, so that they stay in the caches (1,600 samples of a\n"
     "784-256-256-10 MLP).  --threads sets the threads (default as for train),\n"
     "which run one pass each at a time; every count gives the same bits.\n"
     "Prints on stderr `predict: N samples in S s (R samples/s)`, S being the\n"
     "wall time of the forward passes and of converting their inputs to floats\n"
     "(loading the data, mapping the buffers' memory and writing the outputs\n"
     "excluded).\n"},
    {"emit", cmd_emit, O_WEIGHTS | O_EMIT_TRAIN | O_EMIT_BLAS | O_OUTDIR | O_BATCH, 1, 1,
     "generate standalone C99 for embedding the model",
     "usage: netc emit SPEC [--weights FILE] [--train] [--blas] [--batch N] [-o DIR]\n\n"
     "Write NAME.h and NAME.c (NAME: the spec's model name) into DIR (default .):\n"
     "C99 that needs only libm, allocates nothing and prints nothing.  With\n"
     "--weights the checkpoint's weights are embedded as const arrays and\n"
     "NAME_predict(input, output, workspace) uses them; without, the header\n"
     "declares NAME_params and the predict functions take one.  --train adds\n"
     "NAME_train_step: forward, backward and the spec's optimizer on a batch.\n"
     "--blas calls cblas_sgemm instead of the portable loops.  --batch sets how\n"
     "many samples NAME_predict_batch processes per pass (NAME_MAX_BATCH,\n"
     "default 8) and, with --train, how many NAME_train_step takes at most\n"
     "(default the spec's batch): the workspaces are sized for them.  The\n"
     "header gives every byte the model needs (docs/microcontrollers.md).\n"},
    {"build", cmd_build, O_OUTDIR, 1, 1, "compile a spec into a program that trains and runs it",
     "usage: netc build SPEC -o PROGRAM\n\n"
     "Generate a C program for the spec and compile it: the spec is built in, and\n"
     "each op of its plan is one kernel call with the spec's sizes and buffer\n"
     "offsets as constants.  PROGRAM train|eval|predict|explain take netc's\n"
     "options (PROGRAM train --data DIR --save FILE, ...) and print what netc's\n"
     "commands print: the same epoch lines and checkpoints, bit for bit.  The\n"
     "compiler is $CC (default cc) with $CFLAGS (default -O2 -march=native); the\n"
     "program links with netc's library (build/libnetc.a next to this netc, or\n"
     "$NETC_HOME) and OpenBLAS.\n"},
};
#define NCOMMANDS (int)(sizeof commands / sizeof *commands)

/* The commands a program of `netc build` runs on its built-in spec. */
static int builtin_command(const char *name)
{
    return strcmp(name, "train") == 0 || strcmp(name, "eval") == 0 || strcmp(name, "predict") == 0 ||
           strcmp(name, "explain") == 0;
}

static const command *find_command(const char *name)
{
    for (int i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static void main_usage(FILE *out)
{
    fprintf(out, "usage: netc COMMAND [ARGS]\n\nnetc compiles declarative neural-network specs (.net files)\n"
                 "and trains them.  Commands:\n\n");
    for (int i = 0; i < NCOMMANDS; i++)
        fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n'netc COMMAND --help' describes a command.  'netc --version' prints the version.\n");
}

int comp_cli_main(int argc, char **argv, const comp_cli_builtin *b)
{
    builtin = b;
    if (argc < 2) {
        main_usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        const command *c = argc > 2 ? find_command(argv[2]) : NULL;
        if (c)
            fputs(c->help, stdout);
        else
            main_usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("netc %s\n", NETC_VERSION);
        return 0;
    }
    const command *c = find_command(argv[1]);
    if (!c) {
        fprintf(stderr, "netc: unknown command '%s'\n", argv[1]);
        main_usage(stderr);
        return 2;
    }
    for (int i = 2; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(c->help, stdout);
            return 0;
        }
    options o;
    char **specs = calloc((size_t)argc, sizeof *specs);
    int nspecs, rc;
    if (!specs)
        return 1;
    if (builtin && !builtin_command(c->name)) {
        fprintf(stderr, "%s: '%s' is a netc command; this program runs train, eval, predict and explain\n", argv[0],
                argv[1]);
        free(specs);
        return 2;
    }
    if (builtin) {
        /* The built-in spec is the command's SPEC argument. */
        char **args = calloc((size_t)argc, sizeof *args);
        if (!args) {
            free(specs);
            return 1;
        }
        memcpy(args, argv + 2, (size_t)(argc - 2) * sizeof *args);
        args[argc - 2] = (char *)builtin->name;
        rc = parse_args(c, argc - 1, args, &o, specs, &nspecs);
        free(args);
    } else {
        rc = parse_args(c, argc - 2, argv + 2, &o, specs, &nspecs);
    }
    if (rc == 0)
        rc = c->run(nspecs, specs, &o);
    free(specs);
    return rc;
}
