/* test_check.c — the checker's diagnostics, pinned as golden files.
 *
 * Every tests/specs/bad/NAME.net must produce exactly the diagnostics in
 * tests/specs/bad/NAME.err (the file is named NAME.net in messages); every
 * tests/specs/good/NAME.net must check with no diagnostic at all.  After an
 * intended change to a message, regenerate with NETC_UPDATE_GOLDEN=1 and
 * review the diff. */
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "compiler/args.h"
#include "compiler/plan.h"

#define MAX_CASES 256

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The .net files of dir, sorted, without extension. */
static int list_specs(const char *dir, char **names)
{
    DIR *d = opendir(dir);
    int n = 0;
    ck_assert_msg(d != NULL, "cannot open %s", dir);
    for (struct dirent *e; (e = readdir(d)) && n < MAX_CASES;) {
        size_t len = strlen(e->d_name);
        if (len > 4 && strcmp(e->d_name + len - 4, ".net") == 0)
            names[n++] = strndup(e->d_name, len - 4);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, by_name);
    return n;
}

/* Check a spec file; return the diagnostics it produced and whether a
 * model came out. */
static char *diagnostics_of(const char *dir, const char *name, int *checked)
{
    char path[512], shown[256];
    snprintf(path, sizeof path, "%s/%s.net", dir, name);
    snprintf(shown, sizeof shown, "%s.net", name);
    char *text = tu_read_file(path);
    ck_assert_msg(text != NULL, "cannot read %s", path);
    gram_source *src = gram_source_from_string(shown, text);
    char *out = NULL;
    size_t len = 0;
    src->out = open_memstream(&out, &len);
    comp_plan *p = comp_compile(src);
    *checked = p != NULL;
    comp_plan_destroy(p);
    fclose(src->out);
    gram_source_free(src);
    free(text);
    return out;
}

START_TEST(test_bad_specs)
{
    char *names[MAX_CASES];
    int n = list_specs("tests/specs/bad", names), failures = 0;
    ck_assert_int_gt(n, 10);
    for (int i = 0; i < n; i++) {
        int checked;
        char *got = diagnostics_of("tests/specs/bad", names[i], &checked);
        char path[512];
        snprintf(path, sizeof path, "tests/specs/bad/%s.err", names[i]);
        if (getenv("NETC_UPDATE_GOLDEN")) {
            FILE *f = fopen(path, "w");
            fputs(got, f);
            fclose(f);
        }
        char *want = tu_read_file(path);
        if (!want || strcmp(got, want) != 0) {
            fprintf(stderr, "%s: diagnostics differ from %s; got:\n%s\n", names[i], path, got);
            failures++;
        }
        /* A spec with an error must not produce a model; warnings may. */
        if (strstr(got, ": error: ") && checked) {
            fprintf(stderr, "%s: errors reported but a model was produced\n", names[i]);
            failures++;
        }
        if (!strstr(got, ": error: ") && !strstr(got, ": warning: ")) {
            fprintf(stderr, "%s: a bad spec produced no diagnostic\n", names[i]);
            failures++;
        }
        free(want);
        free(got);
        free(names[i]);
    }
    ck_assert_int_eq(failures, 0);
}
END_TEST

START_TEST(test_good_specs)
{
    const char *dirs[] = {"tests/specs/good", "specs", "tests/golden/parity"};
    for (size_t d = 0; d < sizeof dirs / sizeof *dirs; d++) {
        char *names[MAX_CASES];
        int n = list_specs(dirs[d], names);
        ck_assert_int_gt(n, 0);
        for (int i = 0; i < n; i++) {
            int checked;
            char *got = diagnostics_of(dirs[d], names[i], &checked);
            ck_assert_msg(checked && got[0] == 0, "%s/%s.net should check cleanly:\n%s", dirs[d], names[i], got);
            free(got);
            free(names[i]);
        }
    }
}
END_TEST

/* The "everything" spec resolves to the values it spells out. */
START_TEST(test_everything_values)
{
    comp_plan *p = tu_compile_file("tests/specs/good/everything.net");
    const comp_model *m = p->model;
    ck_assert_int_eq(m->input.rank, 3);
    ck_assert_int_eq(m->nlayers, 1 + 2 + 2 * 3 + 2 + 3 + 1 + 1);
    ck_assert_int_eq(m->layers[0].kind, COMP_LAYER_FLATTEN);
    ck_assert_int_eq(m->layers[0].out.rank, 1);
    ck_assert_int_eq(m->layers[0].out.dims[0], 64);
    ck_assert_int_eq(m->layers[1].has_init, 1);
    ck_assert_int_eq(m->layers[1].init.kind, COMP_INIT_KAIMING_UNIFORM);
    ck_assert_str_eq(comp_arg_str(&comp_inits[COMP_INIT_KAIMING_UNIFORM], &m->layers[1].init.args, "nonlinearity"),
                     "relu");
    /* the repeat body was expanded twice, with its own indices */
    ck_assert_int_eq(m->layers[3].kind, COMP_LAYER_LINEAR);
    ck_assert_int_eq(m->layers[6].kind, COMP_LAYER_LINEAR);
    ck_assert_int_eq(m->layers[6].index, 6);
    ck_assert_double_eq(m->layers[4].args.num[0][0], 0.2);
    ck_assert_int_eq(m->layers[9].out.dims[0], 16); /* half = hidden / 2 */
    ck_assert_int_eq(m->layers[m->nlayers - 2].args.num[2][0], 0); /* bias=false */
    ck_assert_int_eq(m->init.kind, COMP_INIT_NORMAL);
    ck_assert_int_eq(m->loss, COMP_LOSS_MSE);
    ck_assert_int_eq(m->optim, COMP_OPTIM_ADAM);
    ck_assert_double_eq_tol(m->optim_args.num[0][0], 2e-3, 1e-18);
    ck_assert_double_eq(m->optim_args.num[1][0], 0.8);
    ck_assert_double_eq(m->optim_args.num[1][1], 0.99);
    ck_assert_int_eq(m->epochs, 2);
    ck_assert_int_eq(m->batch, 16);
    ck_assert_int_eq(m->shuffle, 0);
    ck_assert_uint_eq(m->seed, 42);
    ck_assert_str_eq(m->data, "data/mnist-10k");
    tu_destroy(p);
}
END_TEST

/* None, where torch's default is None, resolves exactly as the argument
 * left out: the same optimizer, loss and init values, the same plan. */
START_TEST(test_none_means_default)
{
    char *text = tu_read_file("tests/specs/good/none_defaults.net");
    ck_assert_ptr_nonnull(text);
    /* The same spec with every None argument removed. */
    static const char *const cuts[][2] = {
        {", None)", ")"}, {"(pos_weight=None)", ""}, {"(max_eval=no_limit, line_search_fn=None)", ""}};
    char *bare = strdup(text);
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        char *at = strstr(bare, cuts[i][0]);
        ck_assert_msg(at != NULL, "'%s' not in none_defaults.net", cuts[i][0]);
        size_t from = strlen(cuts[i][0]), to = strlen(cuts[i][1]);
        memmove(at + to, at + from, strlen(at + from) + 1);
        memcpy(at, cuts[i][1], to);
    }
    ck_assert_ptr_null(strstr(bare, "=None"));
    ck_assert_ptr_null(strstr(bare, ", None"));
    comp_plan *with = tu_compile_text(text), *without = tu_compile_text(bare);
    ck_assert_ptr_nonnull(with);
    ck_assert_ptr_nonnull(without);
    const comp_model *a = with->model, *b = without->model;
    ck_assert_mem_eq(a->optim_args.num, b->optim_args.num, sizeof a->optim_args.num);
    ck_assert_mem_eq(a->loss_args.num, b->loss_args.num, sizeof a->loss_args.num);
    ck_assert_mem_eq(a->layers[0].init.args.num, b->layers[0].init.args.num, sizeof a->layers[0].init.args.num);
    /* calculate_gain("leaky_relu") = sqrt(2 / (1 + 0.01^2)) */
    ck_assert_double_eq_tol(comp_arg_num(&comp_inits[COMP_INIT_NORMAL], &a->layers[0].init.args, "std"),
                            sqrt(2.0 / (1 + 0.01 * 0.01)), 1e-15);
    ck_assert_str_eq(comp_arg_str(&comp_optims[COMP_OPTIM_LBFGS], &a->optim_args, "line_search_fn"), "none");
    char *da = tu_plan_dump(with, 4), *db = tu_plan_dump(without, 4);
    ck_assert_str_eq(da, db);
    free(da);
    free(db);
    tu_destroy(with);
    tu_destroy(without);
    free(bare);
    free(text);
}
END_TEST

/* A spec larger than GRAM_MAX_SOURCE gets one error, whatever it holds,
 * and no model; reading a file stops just past the limit. */
START_TEST(test_source_limit)
{
    size_t n = (size_t)GRAM_MAX_SOURCE + 1;
    char *text = malloc(n + 1);
    ck_assert_ptr_nonnull(text);
    memset(text, ' ', n);
    memcpy(text, "model m {", 9);
    text[n] = 0;
    gram_source *src = gram_source_from_string("big.net", text);
    char *out = NULL;
    size_t len = 0;
    src->out = open_memstream(&out, &len);
    comp_plan *p = comp_compile(src);
    fclose(src->out);
    ck_assert_ptr_null(p);
    ck_assert_int_eq(src->nerrors, 1);
    ck_assert_str_eq(out, "big.net: error: spec is larger than 4194304 bytes (4 MiB), the most netc reads\n");
    gram_source_free(src);
    free(out);

    const char *path = "build/tests/big.net";
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    for (int i = 0; i < 3; i++)
        fwrite(text, 1, n, f);
    fclose(f);
    src = gram_source_open(path);
    ck_assert_ptr_nonnull(src);
    ck_assert_uint_eq(src->len, (size_t)GRAM_MAX_SOURCE + 1);
    gram_source_free(src);
    unlink(path);
    free(text);
}
END_TEST

/* A let is evaluated once, where it is defined: 40 lets each squaring the
 * one before (2^40 evaluations if every use re-evaluated its definition)
 * and 50,000 lets each naming the one before (a recursion 50,000 deep, a
 * quadratic search) check at once, with the values they define. */
START_TEST(test_let_chains)
{
    enum { NCHAIN = 50000, NSQUARE = 40 };
    size_t cap = (size_t)(NCHAIN + NSQUARE) * 48 + 512, len = 0;
    char *text = malloc(cap);
    ck_assert_ptr_nonnull(text);
    len += (size_t)snprintf(text + len, cap - len, "model m {\n    let s0 = 1\n    let c0 = 1\n");
    for (int i = 1; i < NSQUARE; i++)
        len += (size_t)snprintf(text + len, cap - len, "    let s%d = s%d * s%d\n", i, i - 1, i - 1);
    for (int i = 1; i < NCHAIN; i++)
        len += (size_t)snprintf(text + len, cap - len, "    let c%d = c%d\n", i, i - 1);
    snprintf(text + len, cap - len,
             "    input 4\n    layers Linear(4, s%d + c%d + 1)\n    loss CrossEntropy\n    optimizer SGD(lr=0.1)\n}\n",
             NSQUARE - 1, NCHAIN - 1);
    comp_plan *p = tu_compile_text(text);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(p->model->layers[0].out.dims[0], 3);
    tu_destroy(p);
    free(text);
}
END_TEST

/* No input crashes the checker or the planner: thousands of deterministic
 * mutations of a spec that uses every construct (byte flips, deletions,
 * duplications, inserted tokens) go through parse, check and lowering.  A
 * mutant either checks cleanly or reports at least one error. */
START_TEST(test_mutations_never_crash)
{
    static const char *const tokens[] = {"->", "(", ")", "{", "}", ",", "=", "-", "*", "/", "0", "-1", "1e999",
                                         "repeat 4000 {", "Linear(", "dim=", "\"", "#", "\n", "let", "input",
                                         "layers", "1.5", "99999999", "Flatten", "Softmax(dim=3)", "()", "None"};
    char *base = tu_read_file("tests/specs/good/everything.net");
    ck_assert_ptr_nonnull(base);
    size_t n = strlen(base);
    uint64_t state = 12345;
    int checked = 0, bad = 0;
    for (int iter = 0; iter < 3000; iter++) {
        char *text = malloc(2 * n + 64);
        memcpy(text, base, n + 1);
        size_t len = n;
        for (int k = 0; k < 1 + iter % 3; k++) {
            state = state * 6364136223846793005ULL + 1442695040888963407ULL;
            uint64_t r = state >> 33;
            size_t at = (size_t)(r % (len + 1)), span = (size_t)((r >> 8) % 12);
            if (at + span > len)
                span = len - at;
            switch (r % 4) {
            case 0: /* flip a byte */
                if (at < len)
                    text[at] = (char)(text[at] ^ (char)(1 + (r >> 16) % 127));
                break;
            case 1: /* delete a span */
                memmove(text + at, text + at + span, len - at - span + 1);
                len -= span;
                break;
            case 2: /* duplicate a span */
                if (len + span < 2 * n + 32) {
                    memmove(text + at + span, text + at, len - at + 1);
                    len += span;
                }
                break;
            default: { /* insert a token */
                const char *t = tokens[(r >> 20) % (sizeof tokens / sizeof *tokens)];
                size_t tl = strlen(t);
                if (len + tl < 2 * n + 32) {
                    memmove(text + at + tl, text + at, len - at + 1);
                    memcpy(text + at, t, tl);
                    len += tl;
                }
            }
            }
        }
        gram_source *src = gram_source_from_string("m.net", text);
        char *out = NULL;
        size_t olen = 0;
        src->out = open_memstream(&out, &olen);
        comp_plan *p = comp_compile(src);
        if (p) {
            FILE *sink = fopen("/dev/null", "w");
            comp_plan_dump(p, 3, sink);
            fclose(sink);
            checked++;
            if (src->nerrors)
                bad++;
        } else if (src->nerrors == 0) {
            bad++;
        }
        comp_plan_destroy(p);
        fclose(src->out);
        free(out);
        gram_source_free(src);
        free(text);
    }
    free(base);
    ck_assert_int_eq(bad, 0);
    ck_assert_int_gt(checked, 0); /* some mutants are still valid specs */
}
END_TEST

/* docs/language.md documents every name of the catalog: a layer, loss,
 * optimizer, init, schedule or clipping added to the lists without a line in the reference
 * fails here. */
START_TEST(test_docs_cover_catalog)
{
    char *doc = tu_read_file("docs/language.md");
    ck_assert_ptr_nonnull(doc);
    const struct {
        const comp_entry *table;
        int n;
    } tables[] = {{comp_layers, COMP_LAYER_COUNT}, {comp_losses, COMP_LOSS_COUNT}, {comp_optims, COMP_OPTIM_COUNT},
                  {comp_inits, COMP_INIT_COUNT}, {&comp_train_stmt, 1}, {comp_scheds, COMP_SCHED_COUNT},
                  {comp_clips, COMP_CLIP_COUNT}};
    for (size_t t = 0; t < sizeof tables / sizeof *tables; t++)
        for (int i = 0; i < tables[t].n; i++) {
            const comp_entry *e = &tables[t].table[i];
            char quoted[96];
            snprintf(quoted, sizeof quoted, "`%s`", e->name);
            ck_assert_msg(strstr(doc, quoted), "docs/language.md does not document %s", quoted);
            for (int a = 0; a < e->nargs; a++)
                ck_assert_msg(strstr(doc, e->args[a].name), "docs/language.md does not mention %s's argument %s",
                              e->name, e->args[a].name);
        }
    /* the functions of expressions and calculate_gain's nonlinearities */
    for (int i = 0; i < comp_nfuncs; i++) {
        const comp_entry *e = &comp_funcs[i].entry;
        char head[96];
        snprintf(head, sizeof head, "### %s", e->name);
        ck_assert_msg(strstr(doc, head), "docs/language.md has no section on the function %s", e->name);
        for (int a = 0; a < e->nargs; a++)
            ck_assert_msg(strstr(doc, e->args[a].name), "docs/language.md does not mention %s's argument %s",
                          e->name, e->args[a].name);
    }
    for (int k = 0; k < COMP_GAIN_COUNT; k++) {
        char quoted[96];
        snprintf(quoted, sizeof quoted, "`\"%s\"", comp_gain_names[k]);
        ck_assert_msg(strstr(doc, quoted), "docs/language.md does not give the gain of %s", comp_gain_names[k]);
    }
    free(doc);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("check");
    TCase *tc = tcase_create("check");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_bad_specs);
    tcase_add_test(tc, test_good_specs);
    tcase_add_test(tc, test_everything_values);
    tcase_add_test(tc, test_let_chains);
    tcase_add_test(tc, test_source_limit);
    tcase_add_test(tc, test_none_means_default);
    tcase_add_test(tc, test_docs_cover_catalog);
    tcase_add_test(tc, test_mutations_never_crash);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
