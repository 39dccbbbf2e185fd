/* cli.c — the netc command line: check, explain, train, compare, eval,
 * predict, emit, build, export, import; also the command line of the programs `netc build`
 * makes, whose spec is built in.
 *
 * Exit status: 0 success, 1 a problem with a spec, data or checkpoint
 * (reported with its location), 2 a usage error. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../runtime/atomic_file.h"
#include "../runtime/blas.h"
#include "../runtime/anomaly.h"
#include "../runtime/checkpoint.h"
#include "../runtime/dist.h"
#include "../runtime/embedding.h"
#include "../runtime/interrupt.h"
#include "../runtime/lbfgs.h"
#include "../runtime/pool.h"
#include "../runtime/q8_net.h"
#include "../runtime/train.h"
#include "cli.h"
#include "compare.h"
#include "fmt_file.h"
#include "home.h"
#include "svg.h"
#include "train_log.h"
#include "emit.h"
#include "onnx.h"
#include "plan.h"
#include "preflight.h"
#include "train_report.h"
#include "q8plan.h"

#define NETC_VERSION "0.1.0"

/* The spec built into a program of `netc build` (NULL in netc itself): set
 * once by comp_cli_main before any command runs, read-only after. */
static const comp_cli_builtin *builtin;

/* The errors a spec's diagnostics show at most (--max-errors): set once by
 * comp_cli_main before any command runs, read-only after. */
static int max_errors = GRAM_MAX_ERRORS_DEFAULT;

/* The ONNX functions, when the executable has them (comp_cli_set_onnx). */
static const comp_onnx_io *onnx_io;

void comp_cli_set_onnx(const struct comp_onnx_io *io)
{
    onnx_io = io;
}

/* Options common to the subcommands; each subcommand accepts a subset. */
typedef struct {
    const char *data, *test_data, *weights, *save, *input, *output;
    const char *calibrate;       /* quantize: the calibration data */
    long long samples;           /* quantize: calibration samples, 0 for the default */
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
    int max_errors;              /* check, explain, emit, build: --max-errors */
    int detect_anomaly;          /* train: check every op's outputs on every batch */
    int checkpoint_every;        /* train: save every N epochs (0: at the end only) */
    int force;                   /* --weights of another model: load them anyway */
    int json;                    /* explain: --json */
    const char *log;             /* train: --log FILE.jsonl */
    int check;                   /* fmt: --check */
} options;

enum { O_DATA = 1, O_TEST_DATA = 2, O_EPOCHS = 4, O_BATCH = 8, O_LR = 16, O_SEED = 32, O_NO_SHUFFLE = 64,
       O_WEIGHTS = 128, O_SAVE = 256, O_INPUT = 512, O_OUTPUT = 1024, O_THREADS = 2048, O_STATS = 4096,
       O_OPTIMIZERS = 8192, O_TARGET = 16384, O_PLOT = 32768,
       O_EMIT_TRAIN = 1 << 16, O_EMIT_BLAS = 1 << 17, O_OUTDIR = 1 << 18,
       O_AVERAGED = 1 << 19, O_MAX_ERRORS = 1 << 20,
       O_DETECT_ANOMALY = 1 << 21, O_CHECKPOINT_EVERY = 1 << 22, O_FORCE = 1 << 23,
       O_CALIBRATE = 1 << 24, O_SAMPLES = 1 << 25,
       O_JSON = 1 << 26, O_LOG = 1 << 27, O_CHECK = 1 << 28, O_MCU = 1 << 29 };

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
    {"--max-errors", O_MAX_ERRORS, "N"},
    {"--detect-anomaly", O_DETECT_ANOMALY, NULL}, {"--checkpoint-every", O_CHECKPOINT_EVERY, "N"},
    {"--force", O_FORCE, NULL},
    {"--calibrate", O_CALIBRATE, "DIR|FILE.csv"}, {"--samples", O_SAMPLES, "N"},
    {"--json", O_JSON, NULL},             {"--log", O_LOG, "FILE.jsonl"},
    {"--check", O_CHECK, NULL},
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
    o->max_errors = GRAM_MAX_ERRORS_DEFAULT;
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
        case O_MAX_ERRORS:
            if (!parse_int(v, 0, 1 << 30, &n))
                return usage_error(c->name, "--max-errors needs an integer >= 0 (0: no limit), got '%s'", v);
            o->max_errors = (int)n;
            break;
        case O_DETECT_ANOMALY: o->detect_anomaly = 1; break;
        case O_CHECKPOINT_EVERY:
            if (!parse_int(v, 1, 1 << 30, &n))
                return usage_error(c->name, "--checkpoint-every needs an integer >= 1, got '%s'", v);
            o->checkpoint_every = (int)n;
            break;
        case O_FORCE: o->force = 1; break;
        case O_CALIBRATE: o->calibrate = v; break;
        case O_SAMPLES:
            if (!parse_int(v, 1, 1LL << 40, &n))
                return usage_error(c->name, "--samples needs an integer >= 1, got '%s'", v);
            o->samples = n;
            break;
        case O_JSON: o->json = 1; break;
        case O_LOG: o->log = v; break;
        case O_CHECK: o->check = 1; break;
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
    /* import's file argument is a model, the others' a spec */
    int model = strcmp(c->name, "import") == 0;
    if (*nspecs < c->min_specs)
        return usage_error(c->name, "%s", model ? "needs one MODEL.onnx file"
                                          : c->min_specs == 1 && c->max_specs == 1 ? "needs one SPEC file"
                                                                                   : "needs a SPEC file");
    if (c->max_specs > 0 && *nspecs > c->max_specs)
        return usage_error(c->name, model ? "takes one MODEL.onnx file, got another: '%s'"
                                          : "takes one SPEC file, got another: '%s'", specs[c->max_specs]);
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
    src->max_errors = max_errors;
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
    /* A value loss on class data, or mixed batches (MixUp, CutMix: class
     * probabilities): one-hot targets. */
    if (!no_target && ((!classes && is_dir(path)) || (classes && p->target_size == out)))
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
static void out_of_memory(const char *cmd, const comp_plan *p, int batch, int inference)
{
    fprintf(stderr, "netc %s: out of memory: batch %d needs %.0f MiB of buffers ('netc explain --batch %d' shows them)\n",
            cmd, batch, rt_net_bytes(p, batch, inference) / (1024.0 * 1024.0), batch);
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
    if (o->json) {
        comp_plan_dump_json(p, batch_of(p, o), stdout);
        free_plan(p);
        return 0;
    }
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
    rt_dataset train, test, val;
    int onehot, test_onehot, val_onehot;
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
    /* The validation set: held out of the training split (shuffled first
     * as training shuffles, from the run's seed), or a data set of its own,
     * read as eval reads one (a directory's t10k-* files). */
    if (m->val_fraction > 0) {
        char err[512];
        const uint64_t seed = o->seed >= 0 ? (uint64_t)o->seed : m->seed;
        if (rt_data_split(&t->train, m->val_fraction, m->shuffle && !o->no_shuffle, seed, &t->val, err,
                          sizeof err) != 0) {
            fprintf(stderr, "netc %s: %s: %s\n", cmd, data, err);
            return -1;
        }
        t->val_onehot = t->onehot;
    } else if (m->val_path && load_data(p, m->val_path, RT_SPLIT_TEST, 0, &t->val, &t->val_onehot) != 0) {
        return -1;
    }
    t->test_path = o->test_data ? o->test_data : is_dir(data) ? data : NULL;
    if (t->test_path && load_data(p, t->test_path, RT_SPLIT_TEST, 0, &t->test, &t->test_onehot) != 0)
        return -1;
    return 0;
}

/* Save path from values (the parameters, or ASGD's average) once they
 * are found finite: a checkpoint of NaN weights must not replace a good
 * one.  Returns 0, or -1 after saying why nothing was saved. */
static int save_checkpoint(const rt_net *net, const float *values, const char *path)
{
    char err[512];
    rt_anomaly a;
    if (rt_anomaly_params(net, values, &a)) {
        comp_param_text(net->plan, &a, err, sizeof err);
        fprintf(stderr, "netc train: not saved: %s; '%s' is left as it was\n", err, path);
        return -1;
    }
    if (rt_checkpoint_save_from(net, values, path, err, sizeof err) != 0) {
        fprintf(stderr, "netc: %s\n", err);
        return -1;
    }
    return 0;
}

/* --checkpoint-every N: rt_train's epoch_end. */
typedef struct {
    const float *values;
    const char *path;
    int every;
} periodic_save;

static int save_every(void *ctx, rt_net *net)
{
    const periodic_save *ps = ctx;
    if (net->epoch % ps->every != 0)
        return 0;
    if (save_checkpoint(net, ps->values, ps->path) != 0) {
        fprintf(stderr, "netc train: stopped after epoch %ld: its checkpoint could not be saved\n", net->epoch);
        return -1;
    }
    fprintf(stderr, "netc train: saved '%s' after epoch %ld\n", ps->path, net->epoch);
    return 0;
}

/* Open path for writing before training starts, so that a bad path costs
 * no training time; NULL after saying why. */
static FILE *open_early(const char *path, const char *cmd)
{
    FILE *f = fopen(path, "w");
    if (!f)
        fprintf(stderr, "netc %s: cannot write '%s': %s\n", cmd, path, strerror(errno));
    return f;
}

/* train --plot: the training cost per epoch, and the test loss when there
 * is test data. */
static int write_train_plot(FILE *f, const char *path, const comp_plan *p, const comp_train_log *tl)
{
    const char *names[2] = {"training cost", "test loss"};
    double *values = malloc(2 * (size_t)tl->nepochs * sizeof *values);
    char title[160];
    if (!values) {
        fclose(f);
        fprintf(stderr, "netc train: out of memory\n");
        return -1;
    }
    memcpy(values, tl->costs, (size_t)tl->nepochs * sizeof *values);
    if (tl->test)
        memcpy(values + tl->nepochs, tl->test_losses, (size_t)tl->nepochs * sizeof *values);
    snprintf(title, sizeof title, "%s: cost per epoch", p->model->name);
    comp_plot pl = {title, "epoch", "mean cost", tl->test ? 2 : 1, names, values, tl->nepochs};
    int rc = comp_svg_write(f, path, &pl, "train");
    free(values);
    return rc;
}

static int cmd_train(int nspecs, char **specs, const options *o)
{
    comp_plan *p = load_plan(specs[0]);
    training_data td = {0};
    rt_net *net = NULL;
    rt_stats *stats = NULL;
    comp_train_log tl = {0};
    FILE *plot = NULL;
    int status = 1, lock = -1;
    char err[4700];
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
    if (o->checkpoint_every && !o->save) {
        status = usage_error("train", "%s", "--checkpoint-every needs --save FILE");
        goto done;
    }
    /* Before any work: a checkpoint that cannot be written, or buffers
     * the machine cannot hold, would fail only after it. */
    if ((o->save && comp_preflight_output("train", "--save", o->save, 1) != 0) ||
        comp_preflight_memory("train", p, batch_of(p, o), 0) != 0)
        goto done;
    /* Held to the end: a second run saving to the same checkpoint stops
     * here, before its training is lost.  Under MPI process 0 alone saves,
     * so it alone locks. */
    if (o->save && rt_dist_rank() == 0 && (lock = rt_af_lock(o->save, err, sizeof err)) < 0) {
        fprintf(stderr, "netc train: %s\n", err);
        goto done;
    }
    if (load_training(p, o, "train", &td) != 0)
        goto done;
    if (o->log && !(tl.log = open_early(o->log, "train")))
        goto done;
    if (o->plot && !(plot = open_early(o->plot, "train")))
        goto done;
    tl.log_path = o->log;
    tl.test = (o->log || o->plot) && td.test_path ? &td.test : NULL;
    tl.test_onehot = td.test_onehot;
    tl.samples = td.train.n;
    if (o->plot && (!(tl.costs = calloc((size_t)td.epochs, sizeof *tl.costs)) ||
                    !(tl.test_losses = calloc((size_t)td.epochs, sizeof *tl.test_losses)))) {
        fprintf(stderr, "netc train: out of memory\n");
        goto done;
    }
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
        out_of_memory("train", p, batch_of(p, o), 0);
        goto done;
    }
    uint64_t seed = o->seed >= 0 ? (uint64_t)o->seed : m->seed;
    if (o->weights) {
        char note[4700];
        if (rt_checkpoint_resume(net, o->weights, o->force, note, sizeof note, err, sizeof err) != 0) {
            fprintf(stderr, "netc: %s\n", err);
            goto done;
        }
        if (note[0])
            fprintf(stderr, "netc: note: %s\n", note);
        if ((size_t)net->epoch_samples >= td.train.n) {
            fprintf(stderr, "netc train: %s stopped %ld samples into epoch %ld, but the training data has %zu\n",
                    o->weights, net->epoch_samples, net->epoch + 1, td.train.n);
            goto done;
        }
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
    if (rt_dist_size() > 1 && rt_lbfgs_func_evals(net) >= 0) {
        /* Its closure re-evaluates the loss inside the step, which the
         * gradient sum between backward and update does not cover. */
        if (lead)
            fprintf(stderr, "netc train: LBFGS cannot train across processes (%d here); run it as one process\n",
                    rt_dist_size());
        /* Every process fails; the others wait here until process 0 has
         * said why, so that the job's end does not cut its message. */
        rt_dist_sum(0.0);
        goto done;
    }
    if (o->detect_anomaly && rt_dist_size() > 1 && lead)
        fprintf(stderr, "netc train: note: under %d processes --detect-anomaly is off; the loss is checked per "
                        "epoch\n", rt_dist_size());
    const float *values = averaged >= 0 ? rt_net_buf(net, averaged) : net->arena[COMP_ARENA_PARAM];
    periodic_save ps = {values, o->save, o->checkpoint_every};
    rt_train_stop stop = {0};
    rt_train_opts topts = {.epochs = td.epochs, .shuffle = m->shuffle && !o->no_shuffle, .seed = seed,
                           .onehot = td.onehot, .log = lead ? stdout : NULL, .progress = lead && isatty(2),
                           .stats = stats, .watch = 1, .detect_anomaly = o->detect_anomaly, .interruptible = 1,
                           .warn = lead ? stderr : NULL, .epoch_end = lead && o->checkpoint_every ? save_every : NULL,
                           .ctx = &ps, .stop = &stop,
                           .on_epoch = lead && (o->log || o->plot) ? comp_train_log_epoch : NULL, .on_epoch_ctx = &tl};
    if (td.val.n) {
        topts.val = &td.val;
        topts.val_onehot = td.val_onehot;
    }
    if (m->stop != COMP_STOP_COUNT) {
        const comp_entry *e = &comp_stops[m->stop];
        topts.early_stop = 1;
        topts.patience = (long)comp_arg_num(e, &m->stop_args, "patience");
        topts.min_delta = comp_arg_num(e, &m->stop_args, "min_delta");
        topts.monitor_accuracy = strcmp(comp_arg_str(e, &m->stop_args, "monitor"), "val_accuracy") == 0;
        topts.restore_best = comp_arg_num(e, &m->stop_args, "restore_best_weights") != 0;
        if (topts.monitor_accuracy && !td.val.labels) {
            fprintf(stderr, "netc train: early_stop monitors val_accuracy, but the validation set has no class labels\n");
            goto done;
        }
    }
    double t0 = rt_now_seconds();
    if (rt_dist_size() == 1) /* see rt_train: several processes leave signals to kill */
        rt_interrupt_install();
    int rc = rt_train(net, &td.train, &topts);
    if (rc < 0) {
        fprintf(stderr, "netc train: out of memory\n");
        goto done;
    }
    if (rc == RT_TRAIN_NONFINITE) {
        if (lead)
            comp_report_nonfinite(p, &stop, o->save);
        goto done;
    }
    if (rc == RT_TRAIN_HALTED)
        goto done;
    if (rc == 0 && rt_interrupt_signal()) { /* during the last batch: the run is complete */
        stop = (rt_train_stop){.epoch = net->epoch, .signo = rt_interrupt_signal()};
        rc = RT_TRAIN_INTERRUPTED;
    }
    if (rc == RT_TRAIN_INTERRUPTED) {
        if (lead && (!o->save || save_checkpoint(net, values, o->save) == 0))
            status = comp_report_interrupt(&stop, o->save);
        goto done;
    }
    if (!lead) {
        status = 0;
        goto done;
    }
    /* Timing goes to stderr so stdout stays identical run after run. */
    double secs = rt_now_seconds() - t0 - tl.eval_seconds;
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
        if (save_checkpoint(net, values, o->save) != 0)
            goto done;
        printf("Saved %s\n", o->save);
    }
    if (plot) {
        FILE *f = plot;
        plot = NULL;
        if (write_train_plot(f, o->plot, p, &tl) != 0)
            goto done;
    }
    status = tl.failed;
    /* A signal during the evaluation or the save: the work is saved. */
    if (rt_interrupt_signal())
        status = 128 + rt_interrupt_signal();
done:
    rt_interrupt_restore();
    rt_af_unlock(lock);
    if (tl.log && fclose(tl.log) != 0 && status == 0) {
        fprintf(stderr, "netc train: error writing '%s': %s\n", o->log, strerror(errno));
        status = 1;
    }
    if (plot)
        fclose(plot);
    free(tl.costs);
    free(tl.test_losses);
    rt_stats_free(stats);
    rt_net_free(net);
    rt_data_free(&td.train);
    rt_data_free(&td.val);
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
    if ((o->plot && comp_preflight_output("compare", "--plot", o->plot, 0) != 0) ||
        comp_preflight_memory("compare", p, batch_of(p, o), 0) != 0 || load_training(p, o, "compare", &td) != 0)
        goto done;
    if (start_compute(o, "compare") != 0)
        goto done;
    comp_compare_opts co = {p, specs[0], items, nitems, &td.train, td.test_path ? &td.test : NULL, td.onehot,
                            td.test_onehot, td.epochs, batch_of(p, o), m->shuffle && !o->no_shuffle,
                            o->seed >= 0 ? (unsigned long long)o->seed : m->seed, o->target, o->plot, stdout};
    status = comp_compare(&co);
done:
    rt_data_free(&td.train);
    rt_data_free(&td.val);
    rt_data_free(&td.test);
    free_plan(p);
    return status;
}

/* Make net run the int8 checkpoint at path (netc quantize) for its
 * forward ops; on failure, report, free net and return -1. */
static int int8_net(comp_plan *p, rt_net *net, const char *path)
{
    char err[512];
    comp_q8_plan *q = comp_q8_lower(p);
    rt_q8_model *m = NULL;
    if (!q) {
        if (p->model->spec->src->nerrors == 0)
            fprintf(stderr, "netc: out of memory\n");
    } else if (!(m = rt_q8_model_load(p, q, path, err, sizeof err))) {
        fprintf(stderr, "netc: %s\n", err);
    } else if (rt_q8_attach(net, m, 1) != 0) {
        fprintf(stderr, "netc: out of memory\n");
        rt_q8_model_free(m);
        m = NULL;
    }
    if (!m)
        rt_net_free(net);
    return m ? 0 : -1;
}

/* Load net's weights from --weights (--force: even those of another
 * model, with a warning); returns 0, or -1 after saying why. */
static int load_weights(rt_net *net, const options *o)
{
    char err[600], note[600];
    if (rt_checkpoint_load(net, o->weights, o->force, note, sizeof note, err, sizeof err) != 0) {
        fprintf(stderr, "netc: %s\n", err);
        return -1;
    }
    if (note[0])
        fprintf(stderr, "netc: warning: %s\n", note);
    return 0;
}

/* A net for eval/predict: parameters from --weights, float or int8 (the
 * callers have checked it was given).  Its batch is --batch, else the spec's but at
 * least 256 (a training batch is small for the optimizer's sake, and
 * inference runs faster in bigger products), cut to rows whose
 * activations fit the caches (rt_inference_rows). */
static rt_net *inference_net(comp_plan *p, const options *o, const char *cmd)
{
    if (start_compute(o, cmd) != 0)
        return NULL;
    int batch = rt_inference_rows(p, o->batch ? o->batch : batch_of(p, o) < 256 ? 256 : batch_of(p, o));
    if (comp_preflight_memory(cmd, p, batch, !builtin) != 0)
        return NULL;
    /* Generated code addresses the buffers where the plan puts them. */
    rt_net *net = builtin ? rt_net_new(p, batch) : rt_net_new_inference(p, batch);
    if (net && builtin)
        net->run_op = builtin->run_op;
    if (!net) {
        out_of_memory(cmd, p, batch, !builtin);
        return NULL;
    }
    if (rt_q8_is_checkpoint(o->weights))
        return int8_net(p, net, o->weights) == 0 ? net : NULL;
    if (load_weights(net, o) != 0) {
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
    rt_af *out = NULL;
    char err[600];
    int status = 1, onehot;
    if (!p)
        return 1;
    if (o->output && comp_preflight_output("predict", "--output", o->output, 0) != 0)
        goto done;
    /* --input holds inputs alone; --data is read as eval reads it (an IDX
     * directory's t10k-* split, or a CSV with its target columns first),
     * and its targets are left unused. */
    if (load_data(p, o->input ? o->input : o->data, RT_SPLIT_TEST, o->input != NULL, &ds, &onehot) != 0 ||
        !(net = inference_net(p, o, "predict")))
        goto done;
    if (o->output && !(out = rt_af_begin(o->output, err, sizeof err))) {
        fprintf(stderr, "netc: %s\n", err);
        goto done;
    }
    double secs = rt_predict(net, &ds, out ? rt_af_stream(out) : stdout);
    int rc = out ? rt_af_commit(out, err, sizeof err) : 0;
    out = NULL;
    if (rc != 0) {
        fprintf(stderr, "netc: %s\n", err);
        goto done;
    }
    /* On stderr, as train's line: the outputs on stdout stay comparable. */
    fprintf(stderr, "predict: %zu samples in %.3f s (%.0f samples/s)\n", ds.n, secs,
            (double)ds.n / (secs > 0 ? secs : 1e-9));
    status = 0;
done:
    rt_af_abort(out);
    rt_net_free(net);
    rt_data_free(&ds);
    free_plan(p);
    return status;
}

/* The calibration samples of quantize without --samples: TFLite's
 * converter is commonly given a few hundred; a thousand MNIST images take
 * well under a second of float passes. */
#define CLI_CALIBRATION_SAMPLES 1000

static int cmd_quantize(int nspecs, char **specs, const options *o)
{
    if (!o->weights)
        return usage_error("quantize", "%s", "needs --weights FILE (the float checkpoint)");
    if (!o->calibrate)
        return usage_error("quantize", "%s", "needs --calibrate DIR|FILE.csv (samples of the inputs)");
    if (!o->outdir)
        return usage_error("quantize", "%s", "needs -o FILE (the int8 checkpoint to write)");
    comp_plan *p = load_plan(specs[0]);
    comp_q8_plan *q = NULL;
    rt_dataset ds = {0};
    rt_net *net = NULL;
    int status = 1, onehot;
    char err[512];
    if (!p)
        return 1;
    if (!(q = comp_q8_lower(p))) {
        if (p->model->spec->src->nerrors == 0)
            fprintf(stderr, "netc: out of memory\n");
        goto done;
    }
    /* A directory's training split: calibration data is not test data. */
    if (load_data(p, o->calibrate, RT_SPLIT_TRAIN, 1, &ds, &onehot) != 0 || start_compute(o, "quantize") != 0)
        goto done;
    const size_t n = o->samples ? (size_t)o->samples : CLI_CALIBRATION_SAMPLES;
    const int batch = rt_inference_rows(p, 256);
    if (!(net = rt_net_new_inference(p, batch))) {
        out_of_memory("quantize", p, batch, 1);
        goto done;
    }
    size_t bytes = 0;
    if (load_weights(net, o) != 0)
        goto done;
    if (rt_q8_quantize_net(net, q, &ds, n, o->outdir, &bytes, err, sizeof err) != 0) {
        fprintf(stderr, "netc: %s\n", err);
        goto done;
    }
    const double fbytes = (double)comp_plan_param_count(p) * sizeof(float);
    printf("quantize: %zu calibration samples; int8 weights, biases and scales %zu bytes (%.1f%% of float's %.0f) "
           "-> %s\n", n < ds.n ? n : ds.n, bytes, fbytes > 0 ? 100.0 * (double)bytes / fbytes : 0.0, fbytes,
           o->outdir);
    status = 0;
done:
    rt_net_free(net);
    comp_q8_plan_free(q);
    rt_data_free(&ds);
    free_plan(p);
    return status;
}

/* FNV-1a of a file's bytes (identifies the checkpoint in emitted code);
 * 0 when it cannot be read. */
static uint64_t file_hash(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint64_t h = COMP_FNV1A_INIT;
    if (!f)
        return 0;
    char buf[65536];
    for (size_t n; (n = fread(buf, 1, sizeof buf, f)) > 0;)
        h = comp_fnv1a(h, buf, n);
    fclose(f);
    return h;
}

/* Write the len bytes at data to path, replacing it atomically (a
 * temporary file renamed over it: rt_af_*).  On failure, says why and
 * leaves path as it was. */
static int write_whole(const char *cmd, const char *path, const char *data, size_t len)
{
    char err[4700];
    rt_af *f = rt_af_begin(path, err, sizeof err);
    if (!f) {
        fprintf(stderr, "netc %s: %s\n", cmd, err);
        return -1;
    }
    if (fwrite(data, 1, len, rt_af_stream(f)) != len)
        rt_af_error(f, errno);
    if (rt_af_commit(f, err, sizeof err) != 0) {
        fprintf(stderr, "netc %s: %s\n", cmd, err);
        return -1;
    }
    return 0;
}

static int cmd_emit(int nspecs, char **specs, const options *o)
{
    comp_plan *p = load_plan(specs[0]);
    rt_net *net = NULL;
    FILE *h = NULL, *c = NULL;
    char *htext = NULL, *ctext = NULL;
    size_t hlen = 0, clen = 0;
    char hpath[4096], cpath[4096];
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
    int hn = snprintf(hpath, sizeof hpath, "%s/%s.h", dir, p->model->name);
    int cn = snprintf(cpath, sizeof cpath, "%s/%s.c", dir, p->model->name);
    if (hn < 0 || cn < 0 || (size_t)hn >= sizeof hpath || (size_t)cn >= sizeof cpath) {
        fprintf(stderr, "netc emit: the output directory's name is too long\n");
        goto done;
    }
    if (o->weights) {
        if (comp_preflight_memory("emit", p, 1, 0) != 0)
            goto done;
        if (!(net = rt_net_new(p, 1))) {
            out_of_memory("emit", p, 1, 0);
            goto done;
        }
        if (load_weights(net, o) != 0)
            goto done;
        eo.weights = net->arena[COMP_ARENA_PARAM];
        eo.model_state = net->arena[COMP_ARENA_MODEL];
        eo.weights_path = o->weights;
        eo.weights_hash = file_hash(o->weights);
    }
    /* Everything is generated in memory first: a plan the emitter refuses
     * (or memory running out) leaves the output files as they were. */
    if (!(h = open_memstream(&htext, &hlen)) || !(c = open_memstream(&ctext, &clen))) {
        fprintf(stderr, "netc emit: out of memory\n");
        goto done;
    }
    int rc = comp_emit(p, &eo, h, c);
    int hc = fclose(h), cc = fclose(c);
    h = c = NULL;
    if (rc != 0)
        goto done;
    if (hc != 0 || cc != 0) {
        fprintf(stderr, "netc emit: out of memory\n");
        goto done;
    }
    if (write_whole("emit", hpath, htext, hlen) != 0)
        goto done;
    if (write_whole("emit", cpath, ctext, clen) != 0) {
        unlink(hpath); /* a header without its source is no use */
        goto done;
    }
    printf("Wrote %s and %s\n", hpath, cpath);
    status = 0;
done:
    if (h)
        fclose(h);
    if (c)
        fclose(c);
    free(htext);
    free(ctext);
    rt_net_free(net);
    free_plan(p);
    return status;
}

/* No shell quoting: paths with a quote or a newline are refused. */
static int shell_safe(const char *s)
{
    return !strchr(s, '\'') && !strchr(s, '\n');
}

static int cmd_build(int nspecs, char **specs, const options *o)
{
    char dir[] = "/tmp/netc-build-XXXXXX", cfile[4200], cmd[32768], err[9000];
    comp_home home;
    const char *cc = getenv("CC"), *cflags = getenv("CFLAGS");
    int status = 1;
    if (!o->outdir)
        return usage_error("build", "%s", "needs -o PROGRAM");
    if (strchr(o->outdir, '\''))
        return usage_error("build", "cannot use the name '%s'", o->outdir);
    if (comp_find_home(&home, err, sizeof err) != 0) {
        fprintf(stderr, "netc build: %s\n", err);
        return 1;
    }
    if (!shell_safe(home.lib) || !shell_safe(home.inc[0])) {
        fprintf(stderr, "netc build: cannot quote the path '%s' for the shell\n", home.lib);
        return 1;
    }
    comp_plan *p = load_plan(specs[0]);
    if (!p)
        return 1;
    if (!mkdtemp(dir)) {
        fprintf(stderr, "netc build: cannot make a scratch directory: %s\n", strerror(errno));
        free_plan(p);
        return 1;
    }
    snprintf(cfile, sizeof cfile, "%s/%s_program.c", dir, p->model->name);
    rt_af *c = rt_af_begin(cfile, err, sizeof err);
    if (!c) {
        fprintf(stderr, "netc build: %s\n", err);
        goto done;
    }
    if (comp_emit_program(p, specs[0], p->model->spec->src->text, rt_af_stream(c)) != 0) {
        rt_af_abort(c);
        goto done;
    }
    if (rt_af_commit(c, err, sizeof err) != 0) {
        fprintf(stderr, "netc build: %s\n", err);
        goto done;
    }
    /* ISO C mode, as netc itself is built: no a*b+c contracted into an FMA,
     * so the program computes netc's bits. */
    char incs[13000] = "";
    for (int k = 0; k < 3 && home.inc[k][0]; k++)
        snprintf(incs + strlen(incs), sizeof incs - strlen(incs), " -I'%s'", home.inc[k]);
    int len = snprintf(cmd, sizeof cmd,
             "%s %s -std=c11 -D_POSIX_C_SOURCE=200809L%s -o '%s' '%s' '%s' -lz -lm -lpthread -ldl",
             cc && *cc ? cc : "cc", cflags ? cflags : "-O2 -march=native", incs, o->outdir, cfile, home.lib);
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

/* Whether this netc has ONNX support; says what to install when not. */
static int have_onnx(const char *cmd)
{
    if (onnx_io && onnx_io->export_model && onnx_io->import_model)
        return 1;
    fprintf(stderr, "netc %s: this netc was built without ONNX support, which needs protobuf-c: install "
                    "protobuf-c-compiler and libprotobuf-c-dev (scripts/install-deps.sh) and rebuild (make clean && "
                    "make)\n", cmd);
    return 0;
}

static int cmd_export(int nspecs, char **specs, const options *o)
{
    if (!o->weights)
        return usage_error("export", "%s", "needs --weights FILE");
    if (!o->outdir)
        return usage_error("export", "%s", "needs -o FILE.onnx");
    if (!have_onnx("export"))
        return 1;
    comp_plan *p = load_plan(specs[0]);
    rt_net *net = NULL;
    char err[1024];
    int status = 1;
    if (!p)
        return 1;
    if (!(net = rt_net_new_inference(p, 1))) {
        out_of_memory("export", p, 1, 1);
        goto done;
    }
    if (load_weights(net, o) != 0)
        goto done;
    if (onnx_io->export_model(p, net, o->outdir, err, sizeof err) != 0) {
        fprintf(stderr, "netc export: %s\n", err);
        goto done;
    }
    printf("Wrote %s\n", o->outdir);
    status = 0;
done:
    rt_net_free(net);
    free_plan(p);
    return status;
}

static int cmd_import(int nspecs, char **specs, const options *o)
{
    char err[2048], spec[4200], weights[4200];
    if (!have_onnx("import"))
        return 1;
    if (onnx_io->import_model(specs[0], o->outdir ? o->outdir : ".", spec, weights, sizeof spec, err,
                              sizeof err) != 0) {
        fprintf(stderr, "netc import: %s\n", err);
        return 1;
    }
    printf("Wrote %s and %s\n", spec, weights);
    return 0;
}

static int cmd_fmt(int nspecs, char **specs, const options *o)
{
    int status = 0, unformatted = 0;
    for (int i = 0; i < nspecs; i++) {
        int rc = comp_fmt_file(specs[i], o->check);
        if (rc == 3)
            unformatted = 1;
        else if (rc != 0)
            status = 1;
    }
    return status || unformatted;
}

static const command commands[] = {
    {"check", cmd_check, O_MAX_ERRORS, 1, 0, "parse and check specs; print nothing when all is well",
     "usage: netc check SPEC... [--max-errors N]\n\n"
     "Parse and check each spec: names, arguments, shapes.  Prints nothing and\n"
     "exits 0 when all are well; otherwise prints every problem as\n"
     "file:line:col: error: message and exits 1: the first 20 errors of a\n"
     "spec (--max-errors N; 0 shows all), then how many more there were.\n"},
    {"explain", cmd_explain, O_BATCH | O_MAX_ERRORS | O_JSON | O_MCU | O_EMIT_TRAIN, 1, 1, "print the plan: ops, buffers, memory",
     "usage: netc explain SPEC [--batch N] [--json] [--mcu [--train]]\n\n"
     "Print the lowered plan: the forward, loss, backward and update ops in\n"
     "fixed columns with their operands and spec positions, then every buffer\n"
     "and the memory of each arena at the spec's batch size (or --batch).\n"
     "--json writes the same as one JSON object (ops with their buffers by\n"
     "role, buffers with arena, offset, floats and shape, memory per arena).\n"
     "With --mcu, print instead the bytes the code of `netc emit` (with the\n"
     "same --batch and --train) needs: the weights in flash, the workspace of\n"
     "one sample and of NAME_MAX_BATCH samples, the stack bound, and with\n"
     "--train the training step's RAM; the emitted header's macros say the\n"
     "same.\n"},
    {"train", cmd_train,
     O_DATA | O_TEST_DATA | O_EPOCHS | O_BATCH | O_LR | O_SEED | O_NO_SHUFFLE | O_WEIGHTS | O_SAVE | O_THREADS |
         O_STATS | O_AVERAGED | O_DETECT_ANOMALY | O_CHECKPOINT_EVERY | O_FORCE | O_LOG | O_PLOT, 1, 1,
     "train a model, report test accuracy, save a checkpoint",
     "usage: netc train SPEC [--data DIR|FILE.csv] [--test-data DIR|FILE.csv]\n"
     "                       [--epochs N] [--batch N] [--lr X] [--seed N] [--no-shuffle]\n"
     "                       [--weights FILE [--force]] [--save FILE [--averaged]] [--checkpoint-every N]\n"
     "                       [--threads N] [--stats] [--detect-anomaly]\n"
     "                       [--log FILE.jsonl] [--plot FILE.svg]\n\n"
     "Train on the spec's data (or --data): an IDX directory (its train-* files;\n"
     "the t10k-* files are the test set) or a CSV file (target column(s) first).\n"
     "Prints `Epoch: 0001 cost = ...` per epoch (mean training loss), then the\n"
     "test accuracy.  With a schedule, each epoch line ends with its lr.\n"
     "Options override the spec's train statement; --lr the optimizer's (base)\n"
     "lr.  --save FILE writes the model's state_dict to FILE (safetensors, as\n"
     "torch's load_state_dict(strict=True) takes it) and the training state to\n"
     "STEM.train-ID.safetensors beside it, atomically, while holding FILE.lock\n"
     "(with --averaged and optimizer ASGD, ASGD's averaged parameters as the\n"
     "weights); --weights resumes from one: weights, optimizer state, schedule\n"
     "and epoch count continue where it stopped, and --epochs counts the epochs\n"
     "to add (a checkpoint without state gives the weights only).  A checkpoint\n"
     "of another model is refused with what differs; --force loads its weights\n"
     "anyway (names and shapes must fit), with a warning.  --threads sets the\n"
     "threads that share the matrix products and the optimizer (default: the\n"
     "CPUs online, at most 4); every count gives the same bits.  --stats prints\n"
     "after each epoch, per layer, the mean L2 norm of its weight gradient, its\n"
     "mean |activation| and, for the ReLU family, the fraction of dead units\n"
     "(the output states the exact definitions).  --log writes one JSON object\n"
     "per epoch, a line each, flushed as the epoch ends: epoch, cost, lr,\n"
     "test_loss and test_accuracy (evaluated after every epoch when there is\n"
     "test data), seconds and samples_per_second of the epoch's training.\n"
     "--plot draws the cost per epoch (and the test loss) as an SVG file.\n\n"
     "The first non-finite loss stops the run with an error at the spec position\n"
     "of the op that first wrote a non-finite value (found by running the batch\n"
     "again op by op); nothing is saved, and an existing --save file is kept.  An\n"
     "epoch cost 1000 times the lowest before it draws a warning.\n"
     "--detect-anomaly checks every op's outputs on every batch.  SIGINT or\n"
     "SIGTERM finishes the batch, saves --save (a checkpoint that resumes in the\n"
     "middle of the epoch, bit for bit) and exits 130 or 143; a second signal\n"
     "ends netc at once.  --checkpoint-every N also saves after every N-th epoch.\n"},
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
    {"eval", cmd_eval, O_DATA | O_WEIGHTS | O_BATCH | O_THREADS | O_FORCE, 1, 1, "evaluate a checkpoint on test data",
     "usage: netc eval SPEC --weights FILE [--force] [--data DIR|FILE.csv] [--batch N] [--threads N]\n\n"
     "Print the mean loss and, for class data, the accuracy of the checkpoint on\n"
     "the test split of an IDX directory (t10k-*) or on a whole CSV file.\n"
     "--batch, --threads and --force as for predict.\n"},
    {"predict", cmd_predict, O_WEIGHTS | O_INPUT | O_DATA | O_OUTPUT | O_BATCH | O_THREADS | O_FORCE, 1, 1,
     "write the model's outputs for CSV inputs or test data",
     "usage: netc predict SPEC --weights FILE (--input FILE.csv | --data DIR|FILE.csv)\n"
     "                         [--output FILE.csv] [--batch N] [--threads N] [--force]\n\n"
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
     "excluded).  --output is written atomically: the file is replaced whole\n"
     "or, on an error such as a full disk, kept as it was.  --force loads the\n"
     "weights of a checkpoint of another model (names and shapes must fit).\n"},
    {"quantize", cmd_quantize, O_WEIGHTS | O_CALIBRATE | O_SAMPLES | O_OUTDIR | O_THREADS, 1, 1,
     "write an int8 checkpoint from a float one (post-training quantization)",
     "usage: netc quantize SPEC --weights FILE --calibrate DIR|FILE.csv [--samples N] -o FILE\n\n"
     "Run the float model of checkpoint --weights on the first N samples (default\n"
     "1000) of --calibrate (an IDX directory's training split, or a CSV file read\n"
     "as predict --input reads it), record the range of every activation, and\n"
     "write FILE: an int8 checkpoint after TensorFlow Lite's int8 scheme (int8\n"
     "weights per output channel, int32 biases, activations int8 with a scale and\n"
     "a zero point; BatchNorm folded into the convolution before it).  eval and\n"
     "predict take FILE in place of the float checkpoint and compute in int8\n"
     "what a device does.  A layer that cannot be quantized is an error naming\n"
     "it.  See docs/quantization.md.\n"},
    {"emit", cmd_emit, O_WEIGHTS | O_EMIT_TRAIN | O_EMIT_BLAS | O_OUTDIR | O_BATCH | O_MAX_ERRORS | O_FORCE, 1, 1,
     "generate standalone C99 for embedding the model",
     "usage: netc emit SPEC [--weights FILE [--force]] [--train] [--blas] [--batch N] [-o DIR]\n\n"
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
    {"build", cmd_build, O_OUTDIR | O_MAX_ERRORS, 1, 1, "compile a spec into a program that trains and runs it",
     "usage: netc build SPEC -o PROGRAM\n\n"
     "Generate a C program for the spec and compile it: the spec is built in, and\n"
     "each op of its plan is one kernel call with the spec's sizes and buffer\n"
     "offsets as constants.  PROGRAM train|eval|predict|explain take netc's\n"
     "options (PROGRAM train --data DIR --save FILE, ...) and print what netc's\n"
     "commands print: the same epoch lines and checkpoints, bit for bit.  The\n"
     "compiler is $CC (default cc) with $CFLAGS (default -O2 -march=native); the\n"
     "program links with netc's library: build/libnetc.a next to this netc (a\n"
     "build in its source tree), PREFIX/lib/netc/libnetc.a for a netc installed\n"
     "as PREFIX/bin/netc, or the one under $NETC_HOME (either layout); and\n"
     "OpenBLAS, loaded at run time.\n"},
    {"export", cmd_export, O_WEIGHTS | O_OUTDIR, 1, 1, "write a trained model as an ONNX graph",
     "usage: netc export SPEC --weights FILE -o MODEL.onnx\n\n"
     "Write the model with the checkpoint's weights as an ONNX model (opset 17,\n"
     "float32) for ONNX Runtime and other ONNX tools: input \"input\" of shape\n"
     "(N, per-sample shape), output \"output\", every layer as standard ONNX ops\n"
     "(docs/onnx.md), the spec's name, hash and training statements in the\n"
     "model's metadata.  A layer ONNX cannot express is an error naming it.\n"},
    {"import", cmd_import, O_OUTDIR, 1, 1, "turn an ONNX model into a spec and a checkpoint",
     "usage: netc import MODEL.onnx [-o DIR]\n\n"
     "Write NAME.net and NAME.safetensors into DIR (default .) for an ONNX graph\n"
     "that is a chain of layers netc has: what torch.onnx.export writes for an\n"
     "nn.Sequential of such layers, and what netc export writes.  NAME is the\n"
     "model's netc name when netc exported it, else the file's name.  A node\n"
     "netc cannot express is an error naming the node, its op type and the ops\n"
     "netc reads; nothing is written then.\n"},
    {"fmt", cmd_fmt, O_CHECK, 1, 0, "rewrite specs in the canonical layout, keeping comments",
     "usage: netc fmt SPEC... [--check]\n\n"
     "Rewrite each spec in netc's one layout, as gofmt does for Go: a statement\n"
     "per line indented 4, continuation lines 4 more, one space around -> and\n"
     "after commas, none around the = of named arguments.  Line breaks in a\n"
     "chain or an argument list stay, and so do comments (trailing ones\n"
     "aligned).  The tokens are unchanged, so the spec means what it meant.\n"
     "A file whose layout changes is replaced whole (a new file renamed over\n"
     "it).  A spec with syntax errors is reported as check reports it and\n"
     "left as it was.  --check writes nothing: it prints the name of each\n"
     "file that is not formatted and exits 1 if there is one.\n"},
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
    /* A write past the file-size limit (ulimit -f) then fails with EFBIG,
     * which the writer reports, rather than killing netc mid-save. */
    signal(SIGXFSZ, SIG_IGN);
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
    if (rc == 0) {
        max_errors = o.max_errors;
        rc = c->run(nspecs, specs, &o);
    }
    free(specs);
    return rc;
}
