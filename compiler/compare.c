/* compare.c — `netc compare`: the same model and initial weights trained
 * with several optimizers.  Each optimizer's text replaces the spec's
 * `optimizer` call in the source, which is then compiled by the normal
 * front end, so its parsing, checking and diagnostics are the usual ones. */
#include "compare.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/train.h"
#include "svg.h"

static char *trim(char *s, char *end)
{
    while (s < end && isspace((unsigned char)*s))
        s++;
    while (end > s && isspace((unsigned char)end[-1]))
        end--;
    *end = 0;
    return s;
}

int comp_split_optimizers(char *list, char **items, int max, char *err, size_t errlen)
{
    int n = 0, depth = 0;
    char *start = list;
    for (char *s = list;; s++) {
        if (*s == '"') { /* a string argument: commas and parentheses inside do not count */
            for (s++; *s && *s != '"'; s++)
                if (*s == '\\' && s[1])
                    s++;
            if (!*s) {
                snprintf(err, errlen, "unterminated string in '%s'", start);
                return -1;
            }
            continue;
        }
        if (*s == '(')
            depth++;
        else if (*s == ')' && --depth < 0)
            break;
        if ((*s == ',' && depth == 0) || !*s) {
            int last = !*s;
            if (last && depth > 0)
                break;
            char *item = trim(start, s);
            if (!*item) {
                snprintf(err, errlen, "%s", "empty optimizer in the list");
                return -1;
            }
            if (n == max) {
                snprintf(err, errlen, "more than %d optimizers", max);
                return -1;
            }
            items[n++] = item;
            if (last)
                return n;
            start = s + 1;
        }
    }
    snprintf(err, errlen, "unbalanced parentheses in '%s'", start);
    return -1;
}

/* Byte offset of a 1-based line and column in text. */
static size_t offset_of(const char *text, size_t len, int line, int col)
{
    size_t i = 0;
    for (int l = 1; l < line && i < len; i++)
        if (text[i] == '\n')
            l++;
    i += (size_t)(col - 1);
    return i < len ? i : len;
}

/* Skip white space and comments from i. */
static size_t skip_blank(const char *t, size_t len, size_t i)
{
    while (i < len) {
        if (isspace((unsigned char)t[i]))
            i++;
        else if (t[i] == '#')
            while (i < len && t[i] != '\n')
                i++;
        else
            break;
    }
    return i;
}

char *comp_replace_optimizer(const gram_source *src, const comp_model *m, const char *call)
{
    const char *t = src->text;
    size_t len = src->len;
    size_t begin = offset_of(t, len, m->optim_loc.first_line, m->optim_loc.first_column), end = begin;
    while (end < len && (isalnum((unsigned char)t[end]) || t[end] == '_'))
        end++;
    size_t k = skip_blank(t, len, end);
    if (k < len && t[k] == '(') { /* the arguments, to the matching ')' */
        int depth = 0;
        for (; k < len; k++) {
            if (t[k] == '#')
                k = skip_blank(t, len, k) - 1;
            else if (t[k] == '"')
                for (k++; k < len && t[k] != '"' && t[k] != '\n'; k++)
                    k += t[k] == '\\';
            else if (t[k] == '(')
                depth++;
            else if (t[k] == ')' && --depth == 0)
                break;
        }
        end = k < len ? k + 1 : len;
    }
    size_t n = strlen(call);
    char *out = malloc(begin + n + (len - end) + 1);
    if (!out)
        return NULL;
    memcpy(out, t, begin);
    memcpy(out + begin, call, n);
    memcpy(out + begin + n, t + end, len - end);
    out[begin + n + (len - end)] = 0;
    return out;
}

/* One optimizer's run. */
typedef struct {
    const char *text;      /* the optimizer call as given (or the catalog name) */
    int from_all;          /* expanded from "all": skip it if the model rejects it */
    gram_source *src;
    comp_plan *plan;
    char *skipped;         /* why a catalog entry was skipped (malloc'd), or NULL */
    double *costs;         /* epochs entries */
    double secs;
    rt_eval_result eval;
} run;

/* The first error message in captured diagnostics, without its position. */
static char *first_error(const char *diag)
{
    const char *e = diag ? strstr(diag, "error: ") : NULL;
    if (!e)
        return strdup("rejected by the compiler");
    e += strlen("error: ");
    size_t n = strcspn(e, "\n");
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, e, n);
        s[n] = 0;
    }
    return s;
}

/* Compile the spec with r->text as its optimizer.  Returns 0, or -1 when
 * the text does not compile (reported, or recorded in r->skipped for a
 * catalog entry) or memory ran out. */
static int compile_run(const comp_compare_opts *o, run *r)
{
    const comp_model *m = o->base->model;
    char *text = comp_replace_optimizer(m->spec->src, m, r->text);
    char *diag = NULL;
    size_t dlen = 0;
    FILE *mem = NULL;
    if (!text || !(r->src = gram_source_from_string(o->spec_path, text))) {
        free(text);
        fprintf(stderr, "netc compare: out of memory\n");
        return -1;
    }
    free(text);
    if (r->from_all && (mem = open_memstream(&diag, &dlen)) != NULL)
        r->src->out = mem;
    r->plan = comp_compile(r->src);
    if (mem)
        fclose(mem);
    if (!r->plan && r->src->nerrors == 0)
        fprintf(stderr, "netc compare: out of memory compiling '%s'\n", o->spec_path);
    else if (!r->plan && r->from_all)
        r->skipped = first_error(diag);
    else if (r->plan && r->plan->arena_size[COMP_ARENA_PARAM] != o->base->arena_size[COMP_ARENA_PARAM]) {
        fprintf(stderr, "netc compare: with %s the model has other parameters\n", r->text);
        free(diag);
        return -1;
    }
    free(diag);
    return r->plan ? 0 : -1;
}

/* The runs of o's list, "all" expanded; NULL when out of memory. */
static run *expand(const comp_compare_opts *o, int *nruns)
{
    int n = 0;
    for (int i = 0; i < o->noptims; i++)
        n += strcmp(o->optims[i], "all") == 0 ? COMP_OPTIM_COUNT : 1;
    run *runs = calloc((size_t)n, sizeof *runs);
    double *costs = calloc((size_t)n * (size_t)o->epochs, sizeof *costs);
    if (!runs || !costs) {
        free(runs);
        free(costs);
        return NULL;
    }
    for (int i = 0, k = 0; i < o->noptims; i++) {
        if (strcmp(o->optims[i], "all") == 0) {
            for (int j = 0; j < COMP_OPTIM_COUNT; j++, k++) {
                runs[k].text = comp_optims[j].name;
                runs[k].from_all = 1;
            }
        } else {
            runs[k++].text = o->optims[i];
        }
    }
    for (int k = 0; k < n; k++)
        runs[k].costs = costs + (size_t)k * (size_t)o->epochs;
    *nruns = n;
    return runs;
}

static void free_runs(run *runs, int n)
{
    if (!runs)
        return;
    for (int k = 0; k < n; k++) {
        comp_plan_destroy(runs[k].plan);
        gram_source_free(runs[k].src);
        free(runs[k].skipped);
    }
    free(runs[0].costs);
    free(runs);
}

/* Train every compiled run from a copy of params. */
static int train_runs(const comp_compare_opts *o, run *runs, int n, const float *params)
{
    for (int k = 0; k < n; k++) {
        run *r = &runs[k];
        if (!r->plan)
            continue;
        rt_net *net = rt_net_new(r->plan, o->batch);
        if (!net) {
            fprintf(stderr, "netc compare: out of memory for batch %d\n", o->batch);
            return -1;
        }
        memcpy(net->arena[COMP_ARENA_PARAM], params, o->base->arena_size[COMP_ARENA_PARAM] * sizeof *params);
        rt_train_opts t = {o->epochs, o->shuffle, o->seed, o->onehot, NULL, 0, NULL, r->costs, NULL, NULL};
        double t0 = rt_now_seconds();
        if (rt_train(net, o->train, &t) != 0) {
            rt_net_free(net);
            fprintf(stderr, "netc compare: out of memory\n");
            return -1;
        }
        r->secs = rt_now_seconds() - t0;
        fprintf(stderr, "compare: %s: %d epochs in %.2f s\n", r->text, o->epochs, r->secs);
        if (o->test)
            rt_evaluate(net, o->test, o->test_onehot, &r->eval);
        rt_net_free(net);
    }
    return 0;
}

static void print_table(const comp_compare_opts *o, const run *runs, int n, double target, int default_target)
{
    FILE *out = o->out;
    int w = (int)strlen("optimizer");
    for (int k = 0; k < n; k++)
        if (runs[k].plan && (int)strlen(runs[k].text) > w)
            w = (int)strlen(runs[k].text);
    const char *test_col = !o->test ? "test" : o->test->labels ? "test accuracy" : "test loss";
    char reach[64];
    snprintf(reach, sizeof reach, "epochs to %.4g", target);
    fprintf(out, "%zu training samples, %d epochs, batch %d, seed %llu; every run starts from the same weights\n",
            o->train->n, o->epochs, o->batch, o->seed);
    fprintf(out, "target cost %.4g (%s)\n\n", target,
            default_target ? "twice the lowest final cost; --target sets it" : "--target");
    fprintf(out, "%-*s  %12s  %13s  %14s  %8s\n", w, "optimizer", "final cost", test_col, reach, "time (s)");
    for (int k = 0; k < n; k++) {
        const run *r = &runs[k];
        if (!r->plan)
            continue;
        int e = 0;
        while (e < o->epochs && !(r->costs[e] <= target))
            e++;
        char test[32] = "-", epochs[16] = "-";
        if (o->test && r->eval.has_accuracy)
            snprintf(test, sizeof test, "%.4f", (double)r->eval.correct / (double)r->eval.n);
        else if (o->test)
            snprintf(test, sizeof test, "%.6f", r->eval.loss);
        if (e < o->epochs)
            snprintf(epochs, sizeof epochs, "%d", e + 1);
        fprintf(out, "%-*s  %12.9f  %13s  %14s  %8.3f\n", w, r->text, r->costs[o->epochs - 1], test, epochs, r->secs);
    }
    for (int k = 0; k < n; k++)
        if (runs[k].skipped)
            fprintf(out, "note: skipped %s: %s\n", runs[k].text, runs[k].skipped);
}

static int write_plot(const comp_compare_opts *o, const run *runs, int n)
{
    const char **names = calloc((size_t)n, sizeof *names);
    double *values = calloc((size_t)n * (size_t)o->epochs, sizeof *values);
    int ns = 0, status = -1;
    FILE *f = NULL;
    char title[160];
    if (!names || !values) {
        fprintf(stderr, "netc compare: out of memory\n");
        goto done;
    }
    for (int k = 0; k < n; k++)
        if (runs[k].plan) {
            names[ns] = runs[k].text;
            memcpy(values + (size_t)ns * (size_t)o->epochs, runs[k].costs, (size_t)o->epochs * sizeof *values);
            ns++;
        }
    snprintf(title, sizeof title, "%s: training cost per epoch", o->base->model->name);
    comp_plot pl = {title, "epoch", "mean training cost", ns, names, values, o->epochs};
    if (!(f = fopen(o->plot, "w"))) {
        fprintf(stderr, "netc compare: cannot write '%s'\n", o->plot);
        goto done;
    }
    status = comp_svg_write(f, o->plot, &pl, "compare");
    f = NULL;
done:
    if (f)
        fclose(f);
    free(names);
    free(values);
    return status;
}

int comp_compare(const comp_compare_opts *o)
{
    int n = 0, status = 1, ntrained = 0;
    rt_net *init = NULL;
    run *runs = expand(o, &n);
    if (!runs) {
        fprintf(stderr, "netc compare: out of memory\n");
        return 1;
    }
    /* Every text is compiled before anything trains, so a typo costs no time. */
    int failed = 0;
    for (int k = 0; k < n; k++)
        if (compile_run(o, &runs[k]) != 0 && !runs[k].skipped)
            failed = 1;
    for (int k = 0; k < n; k++)
        ntrained += runs[k].plan != NULL;
    if (failed || ntrained == 0) {
        if (!failed)
            fprintf(stderr, "netc compare: no optimizer of the list can train this model\n");
        goto done;
    }
    /* One initialisation from the spec's seed, copied into every run. */
    if (!(init = rt_net_new(o->base, 1))) {
        fprintf(stderr, "netc compare: out of memory\n");
        goto done;
    }
    rt_net_init_params(init, o->seed);
    if (train_runs(o, runs, n, init->arena[COMP_ARENA_PARAM]) != 0)
        goto done;
    double target = o->target;
    if (target <= 0) {
        double best = INFINITY;
        for (int k = 0; k < n; k++)
            if (runs[k].plan && runs[k].costs[o->epochs - 1] < best)
                best = runs[k].costs[o->epochs - 1];
        target = 2 * best;
    }
    print_table(o, runs, n, target, o->target <= 0);
    if (o->plot && write_plot(o, runs, n) != 0)
        goto done;
    status = 0;
done:
    rt_net_free(init);
    free_runs(runs, n);
    return status;
}
