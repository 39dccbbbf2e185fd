/* test_grammar.c — the front end: diagnostics, lexer, parser, tree.
 *
 * Good specs are checked node by node; bad specs are checked against the
 * exact text of their diagnostics, because that text is the front end's
 * user interface.  A deterministic mutation run checks that no input,
 * however broken, crashes the parser or fails without saying why. */
#include <check.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "grammar/ast.h"

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

/* ---- helpers ---------------------------------------------------------- */

/* A source over n arbitrary bytes (NULs included), named t.net. */
static gram_source *src_bytes(const char *bytes, size_t n)
{
    gram_source *src = gram_source_from_string("t.net", "");
    ck_assert_ptr_nonnull(src);
    free(src->text);
    src->text = malloc(n + 1);
    ck_assert_ptr_nonnull(src->text);
    memcpy(src->text, bytes, n);
    src->text[n] = '\0';
    src->len = n;
    return src;
}

/* Diagnostics captured from one source. */
typedef struct {
    char *buf;
    size_t len;
} capture;

static void capture_start(gram_source *src, capture *c)
{
    c->buf = NULL;
    c->len = 0;
    src->out = open_memstream(&c->buf, &c->len);
    ck_assert_ptr_nonnull(src->out);
}

static void capture_end(gram_source *src)
{
    fclose(src->out);
    src->out = stderr;
}

/* Parse n bytes; return the spec and, in *diags, everything printed. */
static gram_spec *parse_bytes(const char *text, size_t n, gram_source **srcp, char **diags)
{
    gram_source *src = src_bytes(text, n);
    capture c;
    capture_start(src, &c);
    gram_spec *spec = gram_parse(src);
    capture_end(src);
    *diags = c.buf;
    *srcp = src;
    return spec;
}

static gram_spec *parse(const char *text, gram_source **srcp, char **diags)
{
    return parse_bytes(text, strlen(text), srcp, diags);
}

/* Parse a spec that must be valid. */
static gram_spec *parse_ok(const char *text, gram_source **srcp)
{
    char *diags;
    gram_spec *spec = parse(text, srcp, &diags);
    ck_assert_ptr_nonnull(spec);
    ck_assert_msg((*srcp)->nerrors == 0, "unexpected diagnostics:\n%s", diags);
    ck_assert_str_eq(diags, "");
    free(diags);
    return spec;
}

static void done(gram_spec *spec, gram_source *src)
{
    gram_spec_free(spec);
    gram_source_free(src);
}

static void assert_loc(gram_loc l, int fl, int fc, int ll, int lc)
{
    ck_assert_msg(l.first_line == fl && l.first_column == fc && l.last_line == ll && l.last_column == lc,
                  "location %d:%d-%d:%d, expected %d:%d-%d:%d", l.first_line, l.first_column, l.last_line,
                  l.last_column, fl, fc, ll, lc);
}

static void assert_num(const gram_expr *e, double v, int is_int)
{
    ck_assert_ptr_nonnull(e);
    ck_assert_int_eq(e->kind, GRAM_EXPR_NUM);
    ck_assert_msg(e->num == v, "number %g, expected %g", e->num, v);
    ck_assert_int_eq(e->is_int, is_int);
}

static void assert_name(const gram_expr *e, const char *name)
{
    ck_assert_ptr_nonnull(e);
    ck_assert_int_eq(e->kind, GRAM_EXPR_NAME);
    ck_assert_str_eq(e->str, name);
}

static void assert_arg(const gram_arg *a, const char *name)
{
    if (name) {
        ck_assert_ptr_nonnull(a->name);
        ck_assert_str_eq(a->name, name);
    } else {
        ck_assert_ptr_null(a->name);
    }
    ck_assert_ptr_nonnull(a->value);
}

static void assert_call(const gram_call *c, const char *name, int has_parens, int nargs)
{
    ck_assert_str_eq(c->name, name);
    ck_assert_int_eq(c->has_parens, has_parens);
    ck_assert_int_eq(c->nargs, nargs);
}

/* ---- good specs ------------------------------------------------------- */

static const char *mnist =
    "# comment to end of line\n"
    "model mnist_mlp {\n"
    "    let hidden = 256\n"
    "    input 784                                  # or a shape: input (1, 28, 28)\n"
    "    layers Linear(784, hidden) -> ReLU\n"
    "        -> Linear(hidden, hidden) -> ReLU -> Dropout(p=0.2)\n"
    "        -> repeat 2 { Linear(hidden, hidden) -> Tanh }\n"
    "        -> Linear(hidden, 10)\n"
    "    init normal(mean=0, std=1)\n"
    "    loss CrossEntropy\n"
    "    optimizer Adam(lr=0.001, betas=(0.9, 0.999))\n"
    "    train epochs=15 batch=100 shuffle=true seed=1\n"
    "    data \"data/mnist-10k\"\n"
    "}\n";

START_TEST(test_example_spec)
{
    gram_source *src;
    gram_spec *spec = parse_ok(mnist, &src);
    ck_assert_ptr_eq(spec->src, src);
    ck_assert_str_eq(spec->model_name, "mnist_mlp");
    assert_loc(spec->model_loc, 2, 7, 2, 15);
    ck_assert_int_eq(spec->nstmts, 8);
    static const gram_stmt_kind kinds[] = {GRAM_STMT_LET, GRAM_STMT_INPUT, GRAM_STMT_LAYERS,
                                           GRAM_STMT_INIT, GRAM_STMT_LOSS, GRAM_STMT_OPTIMIZER,
                                           GRAM_STMT_TRAIN, GRAM_STMT_DATA};
    for (int i = 0; i < 8; i++) {
        ck_assert_int_eq(spec->stmts[i].kind, kinds[i]);
        assert_loc(spec->stmts[i].loc, 3 + i + (i >= 3 ? 3 : 0), 5, 3 + i + (i >= 3 ? 3 : 0),
                   4 + (int)strlen(gram_stmt_keyword(kinds[i])));
    }

    const gram_stmt *let = &spec->stmts[0];
    ck_assert_str_eq(let->name, "hidden");
    assert_loc(let->name_loc, 3, 9, 3, 14);
    assert_num(let->value, 256, 1);
    assert_loc(let->value->loc, 3, 18, 3, 20);

    assert_num(spec->stmts[1].value, 784, 1);

    const gram_stmt *layers = &spec->stmts[2];
    ck_assert_int_eq(layers->nitems, 7);
    static const char *const names[] = {"Linear", "ReLU", "Linear", "ReLU", "Dropout", NULL, "Linear"};
    for (int i = 0; i < 7; i++) {
        const gram_item *it = &layers->items[i];
        ck_assert_int_eq(it->is_repeat, names[i] == NULL);
        if (names[i])
            ck_assert_str_eq(it->call.name, names[i]);
    }
    const gram_item *lin = &layers->items[0];
    assert_call(&lin->call, "Linear", 1, 2);
    assert_loc(lin->loc, 5, 12, 5, 17);
    assert_loc(lin->call.loc, 5, 12, 5, 17);
    assert_arg(&lin->call.args[0], NULL);
    assert_num(lin->call.args[0].value, 784, 1);
    assert_name(lin->call.args[1].value, "hidden");
    assert_call(&layers->items[1].call, "ReLU", 0, 0);
    ck_assert_ptr_null(layers->items[1].call.args);

    const gram_item *drop = &layers->items[4];
    assert_call(&drop->call, "Dropout", 1, 1);
    assert_loc(drop->loc, 6, 46, 6, 52);
    assert_arg(&drop->call.args[0], "p");
    assert_loc(drop->call.args[0].name_loc, 6, 54, 6, 54);
    assert_num(drop->call.args[0].value, 0.2, 0);
    assert_loc(drop->call.args[0].value->loc, 6, 56, 6, 58);

    const gram_item *rep = &layers->items[5];
    ck_assert_int_eq(rep->is_repeat, 1);
    assert_loc(rep->loc, 7, 12, 7, 17);
    assert_num(rep->count, 2, 1);
    assert_loc(rep->count->loc, 7, 19, 7, 19);
    ck_assert_int_eq(rep->nbody, 2);
    assert_call(&rep->body[0].call, "Linear", 1, 2);
    assert_call(&rep->body[1].call, "Tanh", 0, 0);
    assert_loc(rep->body[1].loc, 7, 49, 7, 52);
    assert_call(&layers->items[6].call, "Linear", 1, 2);
    assert_num(layers->items[6].call.args[1].value, 10, 1);

    const gram_call *init = &spec->stmts[3].call;
    assert_call(init, "normal", 1, 2);
    assert_arg(&init->args[0], "mean");
    assert_num(init->args[0].value, 0, 1);
    assert_arg(&init->args[1], "std");
    assert_num(init->args[1].value, 1, 1);

    assert_call(&spec->stmts[4].call, "CrossEntropy", 0, 0);

    const gram_call *opt = &spec->stmts[5].call;
    assert_call(opt, "Adam", 1, 2);
    assert_arg(&opt->args[0], "lr");
    assert_num(opt->args[0].value, 0.001, 0);
    assert_arg(&opt->args[1], "betas");
    assert_loc(opt->args[1].name_loc, 11, 30, 11, 34);
    const gram_expr *betas = opt->args[1].value;
    ck_assert_int_eq(betas->kind, GRAM_EXPR_TUPLE);
    ck_assert_int_eq(betas->nitems, 2);
    assert_loc(betas->loc, 11, 36, 11, 47);
    assert_num(betas->items[0], 0.9, 0);
    assert_num(betas->items[1], 0.999, 0);
    assert_loc(betas->items[1]->loc, 11, 42, 11, 46);

    const gram_stmt *train = &spec->stmts[6];
    ck_assert_int_eq(train->nargs, 4);
    static const char *const keys[] = {"epochs", "batch", "shuffle", "seed"};
    for (int i = 0; i < 4; i++)
        assert_arg(&train->args[i], keys[i]);
    assert_num(train->args[0].value, 15, 1);
    assert_num(train->args[1].value, 100, 1);
    ck_assert_int_eq(train->args[2].value->kind, GRAM_EXPR_BOOL);
    ck_assert(train->args[2].value->num == 1);
    assert_loc(train->args[3].name_loc, 12, 44, 12, 47);

    const gram_expr *data = spec->stmts[7].value;
    ck_assert_int_eq(data->kind, GRAM_EXPR_STR);
    ck_assert_str_eq(data->str, "data/mnist-10k");
    assert_loc(data->loc, 13, 10, 13, 25);
    done(spec, src);
}
END_TEST

START_TEST(test_expressions)
{
    gram_source *src;
    gram_spec *spec = parse_ok("model e {\n"
                               "  input (1, 28*2 - 1, -(3 + 4) / 2, .5, 1e-3, 1.5E+2, 7.,)\n"
                               "  let a = 1 + 2 * 3\n"
                               "  let b = 8 - 2 - 1\n"
                               "  let c = - -x\n"
                               "  let d = (5,)\n"
                               "  let e = \"tab\\t\\\"q\\\" \\\\ nl\\n\"\n"
                               "  let f = False\n"
                               "  let g = True\n"
                               "  let h = (((2)))\n"
                               "}",
                               &src);
    ck_assert_int_eq(spec->nstmts, 9);
    const gram_expr *t = spec->stmts[0].value;
    ck_assert_int_eq(t->kind, GRAM_EXPR_TUPLE);
    ck_assert_int_eq(t->nitems, 7);
    assert_num(t->items[0], 1, 1);
    const gram_expr *sub = t->items[1];
    ck_assert_int_eq(sub->kind, GRAM_EXPR_BINOP);
    ck_assert_int_eq(sub->op, '-');
    ck_assert_int_eq(sub->items[0]->op, '*');
    assert_num(sub->items[1], 1, 1);
    assert_loc(sub->loc, 2, 13, 2, 20);
    const gram_expr *div = t->items[2];
    ck_assert_int_eq(div->op, '/');
    ck_assert_int_eq(div->items[0]->kind, GRAM_EXPR_NEG);
    assert_loc(div->items[0]->loc, 2, 23, 2, 30);
    ck_assert_int_eq(div->items[0]->items[0]->op, '+');
    assert_num(t->items[3], 0.5, 0);
    assert_num(t->items[4], 1e-3, 0);
    assert_num(t->items[5], 150, 0);
    assert_num(t->items[6], 7, 0);

    const gram_expr *a = spec->stmts[1].value; /* 1 + (2 * 3) */
    ck_assert_int_eq(a->op, '+');
    assert_num(a->items[0], 1, 1);
    ck_assert_int_eq(a->items[1]->op, '*');
    const gram_expr *b = spec->stmts[2].value; /* (8 - 2) - 1 */
    ck_assert_int_eq(b->op, '-');
    ck_assert_int_eq(b->items[0]->op, '-');
    assert_num(b->items[1], 1, 1);
    const gram_expr *c = spec->stmts[3].value;
    ck_assert_int_eq(c->kind, GRAM_EXPR_NEG);
    ck_assert_int_eq(c->nitems, 1);
    ck_assert_int_eq(c->items[0]->kind, GRAM_EXPR_NEG);
    assert_name(c->items[0]->items[0], "x");
    assert_loc(c->loc, 5, 11, 5, 14);
    assert_loc(c->items[0]->loc, 5, 13, 5, 14);
    const gram_expr *d = spec->stmts[4].value;
    ck_assert_int_eq(d->kind, GRAM_EXPR_TUPLE);
    ck_assert_int_eq(d->nitems, 1);
    assert_num(d->items[0], 5, 1);
    ck_assert_int_eq(spec->stmts[5].value->kind, GRAM_EXPR_STR);
    ck_assert_str_eq(spec->stmts[5].value->str, "tab\t\"q\" \\ nl\n");
    ck_assert_int_eq(spec->stmts[6].value->kind, GRAM_EXPR_BOOL);
    ck_assert(spec->stmts[6].value->num == 0);
    ck_assert(spec->stmts[7].value->num == 1);
    assert_num(spec->stmts[8].value, 2, 1);
    done(spec, src);
}
END_TEST

START_TEST(test_calls_and_init_args)
{
    gram_source *src;
    gram_spec *spec = parse_ok("model c {\n"
                               "  layers Linear(784, 256, init=kaiming_uniform) -> ReLU()\n"
                               "      -> Linear(256, 10, init = normal(std=0.1),)\n"
                               "      -> Conv(1, 2, init # a comment between\n"
                               "              = zeros) -> repeat n * 2 { repeat 3 { A } -> B }\n"
                               "  init uniform(a=-1, b=1)\n"
                               "  init xavier\n" /* duplicates are the compiler's business */
                               "  optimizer SGD()\n"
                               "}\n",
                               &src);
    ck_assert_int_eq(spec->nstmts, 4);
    const gram_stmt *layers = &spec->stmts[0];
    ck_assert_int_eq(layers->nitems, 5);
    const gram_call *l0 = &layers->items[0].call;
    assert_call(l0, "Linear", 1, 3);
    assert_arg(&l0->args[2], "init");
    assert_loc(l0->args[2].name_loc, 2, 27, 2, 30);
    assert_name(l0->args[2].value, "kaiming_uniform");
    assert_call(&layers->items[1].call, "ReLU", 1, 0);
    const gram_call *l2 = &layers->items[2].call;
    assert_call(l2, "Linear", 1, 3);
    const gram_expr *normal = l2->args[2].value;
    ck_assert_int_eq(normal->kind, GRAM_EXPR_CALL);
    ck_assert_str_eq(normal->str, "normal");
    assert_loc(normal->loc, 3, 33, 3, 38);
    ck_assert_int_eq(normal->nargs, 1);
    assert_arg(&normal->args[0], "std");
    assert_num(normal->args[0].value, 0.1, 0);
    const gram_call *l3 = &layers->items[3].call;
    assert_arg(&l3->args[2], "init");
    assert_name(l3->args[2].value, "zeros");
    const gram_item *rep = &layers->items[4];
    ck_assert_int_eq(rep->is_repeat, 1);
    ck_assert_int_eq(rep->count->kind, GRAM_EXPR_BINOP);
    ck_assert_int_eq(rep->nbody, 2);
    ck_assert_int_eq(rep->body[0].is_repeat, 1);
    assert_num(rep->body[0].count, 3, 1);
    ck_assert_int_eq(rep->body[0].nbody, 1);
    assert_call(&rep->body[0].body[0].call, "A", 0, 0);
    assert_call(&rep->body[1].call, "B", 0, 0);
    ck_assert_int_eq(spec->stmts[1].kind, GRAM_STMT_INIT);
    const gram_expr *neg = spec->stmts[1].call.args[0].value;
    ck_assert_int_eq(neg->kind, GRAM_EXPR_NEG);
    assert_num(neg->items[0], 1, 1);
    ck_assert_int_eq(spec->stmts[2].kind, GRAM_STMT_INIT);
    assert_call(&spec->stmts[3].call, "SGD", 1, 0);
    done(spec, src);
}
END_TEST

START_TEST(test_layout_variants)
{
    /* CRLF line ends, tabs, no final newline, everything on one line, an
     * empty model and statements in any order. */
    gram_source *src;
    gram_spec *spec = parse_ok("model\tw\r\n{\r\n\tdata \"x\"\r\n\tinput 3\r\n\tlayers A\r\n}", &src);
    ck_assert_int_eq(spec->nstmts, 3);
    ck_assert_int_eq(spec->stmts[0].kind, GRAM_STMT_DATA);
    assert_loc(spec->stmts[1].loc, 4, 2, 4, 6);
    done(spec, src);

    spec = parse_ok("model m { input 1 layers A->B loss L train a=1 b=-2 }", &src);
    ck_assert_int_eq(spec->nstmts, 4);
    ck_assert_int_eq(spec->stmts[1].nitems, 2);
    ck_assert_int_eq(spec->stmts[3].nargs, 2);
    done(spec, src);

    spec = parse_ok("model empty {}", &src);
    ck_assert_str_eq(spec->model_name, "empty");
    ck_assert_int_eq(spec->nstmts, 0);
    done(spec, src);
}
END_TEST

START_TEST(test_nesting_limit_ok)
{
    /* 63 parentheses plus the model's brace: exactly the limit. */
    char text[1024];
    int n = sprintf(text, "model m { input ");
    for (int i = 0; i < 63; i++)
        n += sprintf(text + n, "(");
    n += sprintf(text + n, "1");
    for (int i = 0; i < 63; i++)
        n += sprintf(text + n, ")");
    sprintf(text + n, " }");
    gram_source *src;
    gram_spec *spec = parse_ok(text, &src);
    assert_num(spec->stmts[0].value, 1, 1);
    done(spec, src);
}
END_TEST

START_TEST(test_stmt_keyword)
{
    ck_assert_str_eq(gram_stmt_keyword(GRAM_STMT_LET), "let");
    ck_assert_str_eq(gram_stmt_keyword(GRAM_STMT_INPUT), "input");
    ck_assert_str_eq(gram_stmt_keyword(GRAM_STMT_LAYERS), "layers");
    ck_assert_str_eq(gram_stmt_keyword(GRAM_STMT_INIT), "init");
    ck_assert_str_eq(gram_stmt_keyword(GRAM_STMT_LOSS), "loss");
    ck_assert_str_eq(gram_stmt_keyword(GRAM_STMT_OPTIMIZER), "optimizer");
    ck_assert_str_eq(gram_stmt_keyword(GRAM_STMT_TRAIN), "train");
    ck_assert_str_eq(gram_stmt_keyword(GRAM_STMT_DATA), "data");
    ck_assert_str_eq(gram_stmt_keyword(GRAM_STMT_SCHEDULE), "schedule");
    ck_assert_str_eq(gram_stmt_keyword(GRAM_STMT_CLIP), "clip");
}
END_TEST

/* `schedule` and `clip` take a call, like `optimizer`, with tuples among
 * its arguments. */
START_TEST(test_schedule_clip_statements)
{
    gram_source *src;
    gram_spec *spec = parse_ok("model m {\n"
                               "  schedule MultiStepLR(milestones=(30, 80), other=())\n"
                               "  clip grad_norm(max_norm=1.0, norm_type=inf)\n"
                               "}\n",
                               &src);
    ck_assert_int_eq(spec->nstmts, 2);
    ck_assert_int_eq(spec->stmts[0].kind, GRAM_STMT_SCHEDULE);
    assert_loc(spec->stmts[0].loc, 2, 3, 2, 10);
    ck_assert_str_eq(spec->stmts[0].call.name, "MultiStepLR");
    ck_assert_int_eq(spec->stmts[0].call.nargs, 2);
    ck_assert_str_eq(spec->stmts[0].call.args[0].name, "milestones");
    ck_assert_int_eq(spec->stmts[0].call.args[0].value->kind, GRAM_EXPR_TUPLE);
    ck_assert_int_eq(spec->stmts[0].call.args[0].value->nitems, 2);
    ck_assert_int_eq(spec->stmts[0].call.args[1].value->kind, GRAM_EXPR_TUPLE); /* () */
    ck_assert_int_eq(spec->stmts[0].call.args[1].value->nitems, 0);
    ck_assert_int_eq(spec->stmts[1].kind, GRAM_STMT_CLIP);
    assert_loc(spec->stmts[1].loc, 3, 3, 3, 6);
    ck_assert_str_eq(spec->stmts[1].call.name, "grad_norm");
    ck_assert_int_eq(spec->stmts[1].call.args[1].value->kind, GRAM_EXPR_NAME);
    ck_assert_str_eq(spec->stmts[1].call.args[1].value->str, "inf");
    gram_spec_free(spec);
    gram_source_free(src);
}
END_TEST

/* ---- bad specs -------------------------------------------------------- */

typedef struct {
    const char *what;
    const char *text;
    size_t len; /* 0: strlen(text); else the text has NUL bytes */
    const char *diags;
} bad_case;

static const bad_case bad[] = {
    {"empty file", "", 0,
     "t.net: error: empty spec; expected \"model NAME { ... }\"\n"},
    {"only comments and blanks", "# nothing here\n\n   \n", 0,
     "t.net: error: empty spec; expected \"model NAME { ... }\"\n"},
    {"missing model", "input 784\nlayers Linear(784, 10)\n", 0,
     "t.net:1:1: error: expected \"model NAME {\" at the start of the spec, found \"input\"\n"
     "    1 | input 784\n"
     "      | ^~~~~\n"},
    {"missing name", "model {\n  input 784\n}\n", 0,
     "t.net:1:7: error: expected a model name after \"model\", found \"{\"\n"
     "    1 | model {\n"
     "      |       ^\n"},
    {"keyword as name", "model data {}", 0,
     "t.net:1:7: error: expected a model name after \"model\", found \"data\"\n"
     "    1 | model data {}\n"
     "      |       ^~~~\n"},
    {"missing {", "model m\n  input 784\n}\n", 0,
     "t.net:2:3: error: expected \"{\" after \"model m\", found \"input\"\n"
     "    2 |   input 784\n"
     "      |   ^~~~~\n"},
    {"missing }", "model m {\n  input 784\n  loss CrossEntropy\n", 0,
     "t.net:3:20: error: missing \"}\" at end of file\n"
     "    3 |   loss CrossEntropy\n"
     "      |                    ^\n"
     "t.net:1:9: note: to match this \"{\"\n"},
    {"missing } of a repeat", "model m {\n  layers repeat 2 { A -> B\n", 0,
     "t.net:2:27: error: missing \"}\" at end of file\n"
     "    2 |   layers repeat 2 { A -> B\n"
     "      |                           ^\n"
     "t.net:2:19: note: to match this \"{\"\n"},
    {"unterminated string", "model m {\n  data \"data/mnist\n}\n", 0,
     "t.net:2:8: error: unterminated string\n"
     "    2 |   data \"data/mnist\n"
     "      |        ^\n"},
    {"string at end of file", "model m { data \"abc\\", 0,
     "t.net:1:16: error: unterminated string\n"
     "    1 | model m { data \"abc\\\n"
     "      |                ^\n"
     "t.net:1:21: error: missing \"}\" at end of file\n"
     "    1 | model m { data \"abc\\\n"
     "      |                     ^\n"
     "t.net:1:9: note: to match this \"{\"\n"},
    {"bad escape", "model m { data \"a\\qb\" }", 0,
     "t.net:1:18: error: unknown escape sequence '\\q' in string\n"
     "    1 | model m { data \"a\\qb\" }\n"
     "      |                  ^~\n"},
    {"stray character", "model m {\n\tinput 78$4\n}\n", 0,
     "t.net:2:10: error: stray '$' in spec\n"
     "    2 | \tinput 78$4\n"
     "      | \t        ^\n"
     "t.net:2:11: error: unexpected number '4', expecting a statement or \"}\"\n"
     "    2 | \tinput 78$4\n"
     "      | \t         ^\n"},
    {"stray character alone", "model m { input 784 ` }", 0,
     "t.net:1:21: error: stray '`' in spec\n"
     "    1 | model m { input 784 ` }\n"
     "      |                     ^\n"},
    {"NUL byte", "model m {\n  input 784\0\n}\n", 25,
     "t.net:2:12: error: stray '\\x00' in spec\n"
     "    2 |   input 784?\n"
     "      |            ^\n"},
    {"NUL byte in a string", "model m { data \"a\0b\" }", 22,
     "t.net:1:18: error: stray '\\x00' in string\n"
     "    1 | model m { data \"a?b\" }\n"
     "      |                  ^\n"},
    {"non-ASCII", "model m {\n  input 784 \xc3\xa9\xff\n}\n", 0,
     "t.net:2:13: error: stray '\\xC3\\xA9' in spec\n"
     "    2 |   input 784 \xc3\xa9?\n"
     "      |             ^\n"
     "t.net:2:15: error: stray '\\xFF' in spec\n"
     "    2 |   input 784 \xc3\xa9?\n"
     "      |              ^\n"},
    {"single quotes", "model m { data 'x' }", 0,
     "t.net:1:16: error: strings are written in double quotes\n"
     "    1 | model m { data 'x' }\n"
     "      |                ^~~\n"},
    {"lone single quote", "model m { input 1 ' }", 0,
     "t.net:1:19: error: stray ''' in spec; strings are written in double quotes\n"
     "    1 | model m { input 1 ' }\n"
     "      |                   ^\n"},
    {"init as a statement with =", "model m {\n  init = normal\n}\n", 0,
     "t.net:2:3: error: expected an init name after \"init\", found \"=\"\n"
     "    2 |   init = normal\n"
     "      |   ^~~~\n"},
    {"arrow with nothing after it", "model m {\n  layers Linear(784, 10) ->\n  loss CrossEntropy\n}\n", 0,
     "t.net:3:3: error: unexpected \"loss\", expecting a layer\n"
     "    3 |   loss CrossEntropy\n"
     "      |   ^~~~\n"},
    {"arrow at end of file", "model m {\n  layers A ->", 0,
     "t.net:2:14: error: unexpected end of file, expecting a layer\n"
     "    2 |   layers A ->\n"
     "      |              ^\n"},
    {"arrow before }", "model m { layers A -> }", 0,
     "t.net:1:23: error: unexpected \"}\", expecting a layer\n"
     "    1 | model m { layers A -> }\n"
     "      |                       ^\n"},
    {"unclosed parenthesis", "model m {\n  layers Linear(784, 256 -> ReLU\n}\n", 0,
     "t.net:2:26: error: unexpected \"->\", expecting \",\" or \")\"\n"
     "    2 |   layers Linear(784, 256 -> ReLU\n"
     "      |                          ^~\n"},
    {"extra parenthesis", "model m {\n  layers Linear(784, 256)) -> ReLU\n}\n", 0,
     "t.net:2:26: error: unexpected \")\", expecting \"->\", a statement or \"}\"\n"
     "    2 |   layers Linear(784, 256)) -> ReLU\n"
     "      |                          ^\n"},
    {"unclosed parenthesis at end of file", "model m { input (1, 2", 0,
     "t.net:1:22: error: missing \")\" at end of file\n"
     "    1 | model m { input (1, 2\n"
     "      |                      ^\n"
     "t.net:1:17: note: to match this \"(\"\n"},
    {"double comma", "model m {\n  layers Linear(784,,256)\n}\n", 0,
     "t.net:2:21: error: unexpected \",\", expecting an expression or \")\"\n"
     "    2 |   layers Linear(784,,256)\n"
     "      |                     ^\n"},
    {"errors in two statements",
     "model m {\n  input (1,,2)\n  layers Linear(1, 2) -> -> ReLU\n  loss = 3\n}\n", 0,
     "t.net:2:12: error: unexpected \",\", expecting an expression or \")\"\n"
     "    2 |   input (1,,2)\n"
     "      |            ^\n"
     "t.net:3:26: error: unexpected \"->\", expecting a layer\n"
     "    3 |   layers Linear(1, 2) -> -> ReLU\n"
     "      |                          ^~\n"
     "t.net:4:8: error: unexpected \"=\", expecting identifier\n"
     "    4 |   loss = 3\n"
     "      |        ^\n"},
    {"error then init= argument",
     "model m {\n  layers Linear(784,,256, init=normal(std=1)) -> ReLU\n  loss CrossEntropy\n}\n", 0,
     "t.net:2:21: error: unexpected \",\", expecting an expression or \")\"\n"
     "    2 |   layers Linear(784,,256, init=normal(std=1)) -> ReLU\n"
     "      |                     ^\n"},
    {"error inside a repeat", "model m {\n  layers repeat 2 { A(1,,2) } -> B\n  loss L\n}\n", 0,
     "t.net:2:25: error: unexpected \",\", expecting an expression or \")\"\n"
     "    2 |   layers repeat 2 { A(1,,2) } -> B\n"
     "      |                         ^\n"},
    {"misspelt statement", "model m {\n  layer Linear(784, 10)\n}\n", 0,
     "t.net:2:3: error: unknown statement 'layer'; did you mean 'layers'?\n"
     "    2 |   layer Linear(784, 10)\n"
     "      |   ^~~~~\n"
     "t.net:2:3: note: valid statements: let, input, layers, init, loss, optimizer, train, data, schedule, clip, transform, augment\n"},
    {"unknown statement", "model m {\n  input 1\n  banana 3\n}\n", 0,
     "t.net:3:3: error: unknown statement 'banana'\n"
     "    3 |   banana 3\n"
     "      |   ^~~~~~\n"
     "t.net:3:3: note: valid statements: let, input, layers, init, loss, optimizer, train, data, schedule, clip, transform, augment\n"},
    {"missing arrow", "model m {\n  layers A B\n}\n", 0,
     "t.net:2:12: error: unexpected identifier 'B', expecting \"->\", a statement or \"}\"\n"
     "    2 |   layers A B\n"
     "      |            ^\n"},
    {"trailing garbage", "model m {\n  input 1\n}\nextra stuff\n", 0,
     "t.net:4:1: error: unexpected identifier 'extra' after the end of model 'm'\n"
     "    4 | extra stuff\n"
     "      | ^~~~~\n"},
    {"second model", "model a {}\nmodel b {}\n", 0,
     "t.net:2:1: error: a spec holds exactly one model; found a second \"model\" after model 'a'\n"
     "    2 | model b {}\n"
     "      | ^~~~~\n"},
    {"extra closing brace", "model m { input 1 }}", 0,
     "t.net:1:20: error: unexpected \"}\" after the end of model 'm'\n"
     "    1 | model m { input 1 }}\n"
     "      |                    ^\n"},
    {"invalid numbers", "model m { input 2x let y = 1.5.3 }", 0,
     "t.net:1:17: error: invalid number '2x'\n"
     "    1 | model m { input 2x let y = 1.5.3 }\n"
     "      |                 ^~\n"
     "t.net:1:28: error: invalid number '1.5.3'\n"
     "    1 | model m { input 2x let y = 1.5.3 }\n"
     "      |                            ^~~~~\n"},
    {"number too large", "model m { input 1e999 }", 0,
     "t.net:1:17: error: number '1e999' is too large\n"
     "    1 | model m { input 1e999 }\n"
     "      |                 ^~~~~\n"},
    {"train with commas", "model m {\n  train epochs=1, batch=2\n}\n", 0,
     "t.net:2:17: error: unexpected \",\", expecting a statement, identifier or \"}\"\n"
     "    2 |   train epochs=1, batch=2\n"
     "      |                 ^\n"},
    {"data without a string", "model m { data mnist }", 0,
     "t.net:1:16: error: unexpected identifier 'mnist', expecting string\n"
     "    1 | model m { data mnist }\n"
     "      |                ^~~~~\n"},
    {"nested model", "model m {\n  model n {}\n}\n", 0,
     "t.net:2:3: error: unexpected \"model\", expecting a statement or \"}\"\n"
     "    2 |   model n {}\n"
     "      |   ^~~~~\n"},
    {"deep parentheses", "model m { input ((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((1 }", 0,
     "t.net:1:80: error: nesting deeper than 64 levels\n"
     "    1 | model m { input ((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((1 }\n"
     "      |                                                                                ^\n"},
    {"long run of minus signs", "model m { input -----------------------------------------------------------------1 }", 0,
     "t.net:1:81: error: nesting deeper than 64 levels\n"
     "    1 | model m { input -----------------------------------------------------------------1 }\n"
     "      |                                                                                 ^\n"},
};

START_TEST(test_bad_specs)
{
    const bad_case *c = &bad[_i];
    size_t len = c->len ? c->len : strlen(c->text);
    gram_source *src;
    char *diags;
    gram_spec *spec = parse_bytes(c->text, len, &src, &diags);
    ck_assert_ptr_nonnull(spec);
    ck_assert_msg(strcmp(diags, c->diags) == 0, "%s:\n--- got\n%s--- expected\n%s", c->what, diags,
                  c->diags);
    ck_assert_int_gt(src->nerrors, 0);
    free(diags);
    done(spec, src);
}
END_TEST

/* A statement that parsed survives the errors around it. */
START_TEST(test_recovery_keeps_good_statements)
{
    gram_source *src;
    char *diags;
    gram_spec *spec = parse("model m {\n  input 784\n  layers A(1,,2) -> B\n  loss L\n  train x=\n}\n",
                            &src, &diags);
    ck_assert_int_eq(src->nerrors, 2);
    ck_assert_str_eq(spec->model_name, "m");
    ck_assert_int_eq(spec->nstmts, 2);
    ck_assert_int_eq(spec->stmts[0].kind, GRAM_STMT_INPUT);
    ck_assert_int_eq(spec->stmts[1].kind, GRAM_STMT_LOSS);
    free(diags);
    done(spec, src);
}
END_TEST

START_TEST(test_error_limit)
{
    gram_source *src;
    char *diags;
    gram_spec *spec = parse("model m { input @@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@ 1 }", &src, &diags);
    ck_assert_int_eq(src->nerrors, 20);
    const char *tail = "t.net: note: too many errors; giving up\n";
    ck_assert(strlen(diags) > strlen(tail));
    ck_assert_str_eq(diags + strlen(diags) - strlen(tail), tail);
    free(diags);
    done(spec, src);
}
END_TEST

static int expr_depth(const gram_expr *e)
{
    int d = 0;
    for (int i = 0; i < e->nitems; i++) {
        int k = expr_depth(e->items[i]);
        d = k > d ? k : d;
    }
    for (int i = 0; i < e->nargs; i++) {
        int k = expr_depth(e->args[i].value);
        d = k > d ? k : d;
    }
    return d + 1;
}

START_TEST(test_expression_depth_limit)
{
    /* A flat sum 300 terms long is a tree 300 deep: refused once, and the
     * tree kept within the cap. */
    char text[2048];
    int n = sprintf(text, "model m { let s = 1");
    for (int i = 0; i < 300; i++)
        n += sprintf(text + n, "+1");
    sprintf(text + n, " }");
    gram_source *src;
    char *diags;
    gram_spec *spec = parse(text, &src, &diags);
    ck_assert_int_eq(src->nerrors, 1);
    ck_assert_ptr_nonnull(strstr(diags, "t.net:1:530: error: expression nested deeper than 256 levels\n"));
    ck_assert_int_le(expr_depth(spec->stmts[0].value), 256);
    free(diags);
    done(spec, src);

    /* Ten brackets, each holding 60 minus signs: 600 deep. */
    n = sprintf(text, "model m { input ");
    for (int i = 0; i < 10; i++)
        n += sprintf(text + n, "------------------------------------------------------------(");
    n += sprintf(text + n, "f(x=(1, 2))");
    for (int i = 0; i < 10; i++)
        n += sprintf(text + n, ")");
    sprintf(text + n, " }");
    spec = parse(text, &src, &diags);
    ck_assert_int_eq(src->nerrors, 1);
    ck_assert_ptr_nonnull(strstr(diags, "error: expression nested deeper than 256 levels\n"));
    ck_assert_int_le(expr_depth(spec->stmts[0].value), 256);
    free(diags);
    done(spec, src);
}
END_TEST

/* ---- the diagnostic printer ------------------------------------------- */

static char *diag_text(gram_source *src, gram_severity sev, gram_loc loc, const char *msg)
{
    capture c;
    capture_start(src, &c);
    gram_diag(src, sev, loc, "%s", msg);
    capture_end(src);
    return c.buf;
}

static void assert_diag(gram_source *src, gram_severity sev, gram_loc loc, const char *msg,
                        const char *expected)
{
    char *got = diag_text(src, sev, loc, msg);
    ck_assert_msg(strcmp(got, expected) == 0, "--- got\n%s--- expected\n%s", got, expected);
    free(got);
}

START_TEST(test_diag_format)
{
    gram_source *src = gram_source_from_string("specs/x.net",
                                               "model m {\n"
                                               "    layers Linear(784, 256) -> Relu -> Linear(256, 10)\n"
                                               "\tx\t= 1\r\n"
                                               "}");
    ck_assert_ptr_nonnull(src);
    assert_diag(src, GRAM_ERROR, (gram_loc){2, 32, 2, 35}, "unknown layer 'Relu'; did you mean 'ReLU'?",
                "specs/x.net:2:32: error: unknown layer 'Relu'; did you mean 'ReLU'?\n"
                "    2 |     layers Linear(784, 256) -> Relu -> Linear(256, 10)\n"
                "      |                                ^~~~\n");
    /* tabs are copied into the caret line; the \r of CRLF is not shown */
    assert_diag(src, GRAM_WARNING, (gram_loc){3, 4, 3, 6}, "w",
                "specs/x.net:3:4: warning: w\n"
                "    3 | \tx\t= 1\n"
                "      | \t \t^~~\n");
    /* the last line has no newline; a caret past its end still shows */
    assert_diag(src, GRAM_ERROR, (gram_loc){4, 2, 4, 2}, "end",
                "specs/x.net:4:2: error: end\n"
                "    4 | }\n"
                "      |  ^\n");
    assert_diag(src, GRAM_ERROR, (gram_loc){4, 50, 4, 60}, "far",
                "specs/x.net:4:50: error: far\n"
                "    4 | }\n"
                "      |  ^\n");
    /* a range over several lines is marked to the end of its first line */
    assert_diag(src, GRAM_ERROR, (gram_loc){1, 7, 3, 2}, "multi",
                "specs/x.net:1:7: error: multi\n"
                "    1 | model m {\n"
                "      |       ^~~\n");
    /* lines that do not exist: no source shown, no crash */
    assert_diag(src, GRAM_ERROR, (gram_loc){5, 1, 5, 1}, "past the end", "specs/x.net:5:1: error: past the end\n");
    assert_diag(src, GRAM_ERROR, (gram_loc){999999, 1, 999999, 1}, "far",
                "specs/x.net:999999:1: error: far\n");
    assert_diag(src, GRAM_ERROR, (gram_loc){-3, -1, -3, -1}, "negative", "specs/x.net: error: negative\n");
    assert_diag(src, GRAM_NOTE, (gram_loc){2, 5, 2, 10}, "a note", "specs/x.net:2:5: note: a note\n");
    assert_diag(src, GRAM_NOTE, (gram_loc){0, 0, 0, 0}, "whole file", "specs/x.net: note: whole file\n");
    assert_diag(src, GRAM_ERROR, (gram_loc){0, 0, 0, 0}, "whole file", "specs/x.net: error: whole file\n");
    ck_assert_int_eq(src->nerrors, 8);
    ck_assert_int_eq(src->nwarnings, 1);
    gram_source_free(src);

    /* an empty text, and a text that ends with a newline */
    src = gram_source_from_string("e.net", "");
    assert_diag(src, GRAM_ERROR, (gram_loc){1, 1, 1, 1}, "empty",
                "e.net:1:1: error: empty\n"
                "    1 | \n"
                "      | ^\n");
    gram_source_free(src);
    src = gram_source_from_string("n.net", "a\n");
    assert_diag(src, GRAM_ERROR, (gram_loc){2, 1, 2, 1}, "after", "n.net:2:1: error: after\n");
    gram_source_free(src);
}
END_TEST

START_TEST(test_diag_wide_line_numbers)
{
    size_t n = 123456;
    char *text = malloc(n * 2 + 1);
    for (size_t i = 0; i < n; i++) {
        text[2 * i] = 'x';
        text[2 * i + 1] = '\n';
    }
    text[2 * n] = '\0';
    gram_source *src = gram_source_from_string("big.net", text);
    free(text);
    assert_diag(src, GRAM_ERROR, (gram_loc){123456, 1, 123456, 1}, "deep",
                "big.net:123456:1: error: deep\n"
                "123456 | x\n"
                "       | ^\n");
    gram_source_free(src);
}
END_TEST

START_TEST(test_unknown_name)
{
    static const char *const layers[] = {"Linear", "ReLU", "Tanh", "Dropout"};
    gram_source *src = gram_source_from_string("specs/x.net", "layers Linear(784, 256) -> Relu\n");
    capture c;
    capture_start(src, &c);
    gram_unknown_name(src, (gram_loc){1, 28, 1, 31}, "layer", "Relu", layers, 4);
    gram_unknown_name(src, (gram_loc){1, 28, 1, 31}, "layer", "Sigmoid", layers, 4);
    capture_end(src);
    ck_assert_str_eq(c.buf, "specs/x.net:1:28: error: unknown layer 'Relu'; did you mean 'ReLU'?\n"
                            "    1 | layers Linear(784, 256) -> Relu\n"
                            "      |                            ^~~~\n"
                            "specs/x.net:1:28: note: valid layers: Linear, ReLU, Tanh, Dropout\n"
                            "specs/x.net:1:28: error: unknown layer 'Sigmoid'\n"
                            "    1 | layers Linear(784, 256) -> Relu\n"
                            "      |                            ^~~~\n"
                            "specs/x.net:1:28: note: valid layers: Linear, ReLU, Tanh, Dropout\n");
    ck_assert_int_eq(src->nerrors, 2);
    free(c.buf);
    gram_source_free(src);
}
END_TEST

START_TEST(test_nearest)
{
    static const char *const c[] = {"Linear", "ReLU", "Tanh", "Dropout", "relu", "Conv2d", "x"};
    ck_assert_str_eq(gram_nearest("Relu", c, 7), "ReLU");  /* equal ignoring case; first wins */
    ck_assert_str_eq(gram_nearest("RELU", c, 7), "ReLU");
    ck_assert_str_eq(gram_nearest("Linaer", c, 7), "Linear"); /* 2 edits, 6/3 = 2 allowed */
    ck_assert_ptr_null(gram_nearest("Lnaer", c, 7));          /* 3 edits */
    ck_assert_str_eq(gram_nearest("Tan", c, 7), "Tanh");      /* short names allow one edit */
    ck_assert_ptr_null(gram_nearest("Ta", c, 7));
    ck_assert_str_eq(gram_nearest("Droput", c, 7), "Dropout");
    ck_assert_str_eq(gram_nearest("conv2D", c, 7), "Conv2d");
    ck_assert_str_eq(gram_nearest("y", c, 7), "x");
    /* Keras's and torch's names of one init family find each other, where
     * edit distance alone would take he_uniform for uniform. */
    const char *const torch_inits[] = {"normal", "uniform", "xavier_uniform", "xavier_normal", "kaiming_uniform",
                                       "kaiming_normal"};
    ck_assert_str_eq(gram_nearest("he_uniform", torch_inits, 6), "kaiming_uniform");
    ck_assert_str_eq(gram_nearest("He_Normal", torch_inits, 6), "kaiming_normal");
    ck_assert_str_eq(gram_nearest("glorot_uniform", torch_inits, 6), "xavier_uniform");
    const char *const keras_inits[] = {"uniform", "he_uniform", "glorot_normal"};
    ck_assert_str_eq(gram_nearest("kaiming_uniform", keras_inits, 3), "he_uniform");
    ck_assert_str_eq(gram_nearest("xavier_normal", keras_inits, 3), "glorot_normal");
    ck_assert_ptr_null(gram_nearest("Sigmoid", c, 7));
    /* torch's class name extends netc's: "LinearLoss" is far by edits */
    ck_assert_str_eq(gram_nearest("LinearLossLayer", c, 7), "Linear");
    ck_assert_ptr_null(gram_nearest("Relu", c, 0));
    ck_assert_ptr_null(gram_nearest("Relu", NULL, 3));
    static const char *const holes[] = {NULL, "Tanh", NULL};
    ck_assert_str_eq(gram_nearest("tanh", holes, 3), "Tanh");
}
END_TEST

/* ---- deterministic randomness ----------------------------------------- */

typedef struct {
    uint64_t s;
} rng;

static uint64_t next(rng *r)
{
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return r->s;
}

static size_t below(rng *r, size_t n)
{
    return n ? (size_t)(next(r) % n) : 0;
}

/* Reference case-insensitive Levenshtein distance, the textbook way. */
static int ref_distance(const char *a, const char *b)
{
    int la = (int)strlen(a), lb = (int)strlen(b);
    int d[16][16];
    for (int i = 0; i <= la; i++)
        for (int j = 0; j <= lb; j++) {
            if (i == 0 || j == 0) {
                d[i][j] = i + j;
                continue;
            }
            int sub = d[i - 1][j - 1] + (tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]));
            int del = d[i - 1][j] + 1, ins = d[i][j - 1] + 1;
            d[i][j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
    return d[la][lb];
}

START_TEST(test_nearest_fuzz)
{
    rng r = {0x9E3779B97F4A7C15u};
    static const char alphabet[] = "abcABC_1";
    char cands[8][16], name[16];
    const char *ptrs[8];
    for (int iter = 0; iter < 20000; iter++) {
        int n = (int)below(&r, 8);
        for (int i = 0; i < n; i++) {
            size_t len = below(&r, 10);
            for (size_t k = 0; k < len; k++)
                cands[i][k] = alphabet[below(&r, sizeof alphabet - 1)];
            cands[i][len] = '\0';
            ptrs[i] = cands[i];
        }
        size_t len = below(&r, 12);
        for (size_t k = 0; k < len; k++)
            name[k] = alphabet[below(&r, sizeof alphabet - 1)];
        name[len] = '\0';

        /* expected: first candidate of least distance, if within bounds */
        int limit = (int)len / 3 > 1 ? (int)len / 3 : 1;
        const char *want = NULL, *prefix = NULL;
        int best = limit + 1;
        for (int i = 0; i < n; i++) {
            int d = ref_distance(name, ptrs[i]);
            if (d < best) {
                best = d;
                want = ptrs[i];
            }
        }
        /* failing that, the first longest candidate (2+ chars) name extends */
        for (int i = 0; !want && i < n; i++) {
            size_t lc = strlen(ptrs[i]);
            if (lc >= 2 && lc < len && strncasecmp(name, ptrs[i], lc) == 0 && (!prefix || lc > strlen(prefix)))
                prefix = ptrs[i];
        }
        if (!want)
            want = prefix;
        const char *got = gram_nearest(name, ptrs, n);
        ck_assert_msg(got == want, "nearest(%s): got %s, expected %s", name, got ? got : "NULL",
                      want ? want : "NULL");
    }
}
END_TEST

/* ---- robustness --------------------------------------------------------- */

/* Check the tree is well formed: every pointer a node promises is there. */
static void walk_expr(const gram_expr *e, int depth)
{
    ck_assert_ptr_nonnull(e);
    ck_assert_int_le(depth, 256); /* the parser caps expression depth */
    ck_assert(e->loc.first_line >= 1);
    switch (e->kind) {
    case GRAM_EXPR_NUM:
    case GRAM_EXPR_BOOL:
        break;
    case GRAM_EXPR_STR:
    case GRAM_EXPR_NAME:
        ck_assert_ptr_nonnull(e->str);
        break;
    case GRAM_EXPR_CALL:
        ck_assert_ptr_nonnull(e->str);
        for (int i = 0; i < e->nargs; i++)
            walk_expr(e->args[i].value, depth + 1);
        break;
    case GRAM_EXPR_TUPLE:
        ck_assert_int_ge(e->nitems, 1);
        for (int i = 0; i < e->nitems; i++)
            walk_expr(e->items[i], depth + 1);
        break;
    case GRAM_EXPR_BINOP:
        ck_assert_int_eq(e->nitems, 2);
        ck_assert_ptr_nonnull(strchr("+-*/", e->op));
        walk_expr(e->items[0], depth + 1);
        walk_expr(e->items[1], depth + 1);
        break;
    case GRAM_EXPR_NEG:
        ck_assert_int_eq(e->nitems, 1);
        walk_expr(e->items[0], depth + 1);
        break;
    default:
        ck_abort_msg("bad expression kind %d", (int)e->kind);
    }
}

static void walk_call(const gram_call *c)
{
    ck_assert_ptr_nonnull(c->name);
    ck_assert_int_ge(c->nargs, 0);
    for (int i = 0; i < c->nargs; i++)
        walk_expr(c->args[i].value, 1);
}

static void walk_items(const gram_item *items, int n, int depth)
{
    ck_assert_int_ge(n, 1);
    ck_assert_int_le(depth, 64);
    for (int i = 0; i < n; i++) {
        if (items[i].is_repeat) {
            walk_expr(items[i].count, 1);
            walk_items(items[i].body, items[i].nbody, depth + 1);
        } else {
            walk_call(&items[i].call);
        }
    }
}

static void walk_spec(const gram_spec *spec)
{
    for (int i = 0; i < spec->nstmts; i++) {
        const gram_stmt *s = &spec->stmts[i];
        switch (s->kind) {
        case GRAM_STMT_LET:
            ck_assert_ptr_nonnull(s->name);
            walk_expr(s->value, 1);
            break;
        case GRAM_STMT_INPUT:
        case GRAM_STMT_DATA:
            walk_expr(s->value, 1);
            break;
        case GRAM_STMT_LAYERS:
            walk_items(s->items, s->nitems, 1);
            break;
        case GRAM_STMT_INIT:
        case GRAM_STMT_LOSS:
        case GRAM_STMT_OPTIMIZER:
        case GRAM_STMT_SCHEDULE:
        case GRAM_STMT_CLIP:
            walk_call(&s->call);
            break;
        case GRAM_STMT_TRAIN:
            ck_assert_int_ge(s->nargs, 1);
            for (int k = 0; k < s->nargs; k++) {
                ck_assert_ptr_nonnull(s->args[k].name);
                walk_expr(s->args[k].value, 1);
            }
            break;
        default:
            ck_abort_msg("bad statement kind %d", (int)s->kind);
        }
    }
}

/* Every line printed must be a diagnostic header or a source/caret line,
 * and the error headers must match the error count. */
static void check_diag_shape(const char *diags, int nerrors)
{
    int errors = 0;
    for (const char *p = diags; *p;) {
        const char *nl = strchr(p, '\n');
        ck_assert_msg(nl != NULL, "unterminated diagnostic line: %s", p);
        if (strncmp(p, "t.net", 5) == 0) {
            const char *q = p + 5;
            if (*q == ':' && isdigit((unsigned char)q[1])) {
                do
                    q++;
                while (isdigit((unsigned char)*q));
                ck_assert(*q == ':');
                do
                    q++;
                while (isdigit((unsigned char)*q));
            }
            ck_assert_msg(strncmp(q, ": error: ", 9) == 0 || strncmp(q, ": note: ", 8) == 0,
                          "bad header: %.*s", (int)(nl - p), p);
            errors += strncmp(q, ": error: ", 9) == 0;
        } else {
            /* "%5d | source" or "      | caret" */
            const char *q = p;
            while (*q == ' ')
                q++;
            int digits = 0;
            while (isdigit((unsigned char)*q)) {
                q++;
                digits++;
            }
            int ok = digits ? strncmp(q, " | ", 3) == 0 : q - p >= 6 && strncmp(q, "| ", 2) == 0;
            ck_assert_msg(ok, "bad source line: %.*s", (int)(nl - p), p);
        }
        p = nl + 1;
    }
    ck_assert_int_eq(errors, nerrors);
}

static const char *const noise[] = {
    "(", ")", "{", "}", ",", "=", "->", "-", "+", "*", "/", "model", "layers", "repeat", "init", "init=",
    "let", "train", "data", "loss", "\"", "\"abc", "\\", "#", "\n", "\t", "\r", " ", "1e", ".5", "1.5.3",
    "x", "true", "((((", "}}}}", "----", "@", "\xff", "\xc3\xa9", "\xc3", "1e999", "Linear(1,",
};

static size_t mutate(rng *r, char *buf, size_t len, size_t cap)
{
    switch (below(r, 6)) {
    case 0: /* flip a byte */
        if (len)
            buf[below(r, len)] = (char)below(r, 256);
        break;
    case 1: /* truncate */
        len = below(r, len + 1);
        break;
    case 2: { /* delete a slice */
        size_t at = below(r, len + 1), n = below(r, 12);
        if (n > len - at)
            n = len - at;
        memmove(buf + at, buf + at + n, len - at - n);
        len -= n;
        break;
    }
    case 3: { /* duplicate a slice */
        size_t at = below(r, len + 1), n = below(r, 40);
        if (n > len - at)
            n = len - at;
        if (len + n <= cap) {
            size_t to = below(r, len + 1);
            char tmp[40];
            memcpy(tmp, buf + at, n);
            memmove(buf + to + n, buf + to, len - to);
            memcpy(buf + to, tmp, n);
            len += n;
        }
        break;
    }
    default: { /* insert a token */
        const char *t = noise[below(r, sizeof noise / sizeof noise[0])];
        size_t n = strlen(t), at = below(r, len + 1);
        if (below(r, 8) == 0) { /* or a NUL */
            t = "\0";
            n = 1;
        }
        if (len + n <= cap) {
            memmove(buf + at + n, buf + at, len - at);
            memcpy(buf + at, t, n);
            len += n;
        }
        break;
    }
    }
    return len;
}

START_TEST(test_mutations)
{
    rng r = {0x2545F4914F6CDD1Du};
    size_t base = strlen(mnist), cap = base * 4;
    char *buf = malloc(cap);
    int failed = 0, clean = 0;
    for (int iter = 0; iter < 4000; iter++) {
        size_t len = base;
        memcpy(buf, mnist, base);
        int k = 1 + (int)below(&r, 4);
        for (int m = 0; m < k; m++)
            len = mutate(&r, buf, len, cap);
        gram_source *src;
        char *diags;
        gram_spec *spec = parse_bytes(buf, len, &src, &diags);
        ck_assert_ptr_nonnull(spec);
        if (!spec->model_name)
            ck_assert_msg(src->nerrors > 0, "no model and no error for:\n%.*s", (int)len, buf);
        if (src->nerrors == 0) {
            ck_assert_ptr_nonnull(spec->model_name);
            ck_assert_str_eq(diags, "");
            clean++;
        } else {
            failed++;
        }
        check_diag_shape(diags, src->nerrors);
        walk_spec(spec);
        free(diags);
        done(spec, src);
    }
    /* the mutations must exercise both outcomes */
    ck_assert_int_gt(failed, 1000);
    ck_assert_int_gt(clean, 50);
    free(buf);
}
END_TEST

START_TEST(test_source_open)
{
    errno = 0;
    ck_assert_ptr_null(gram_source_open("tests/no/such/file.net"));
    ck_assert_int_eq(errno, ENOENT);

    const char *dir = getenv("TMPDIR");
    char path[512];
    snprintf(path, sizeof path, "%s/netc_grammar_XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    static const char bytes[] = "model m {\r\n\0}";
    ck_assert_int_eq(write(fd, bytes, sizeof bytes - 1), (ssize_t)sizeof bytes - 1);
    close(fd);
    gram_source *src = gram_source_open(path);
    unlink(path);
    ck_assert_ptr_nonnull(src);
    ck_assert_str_eq(src->name, path);
    ck_assert_uint_eq(src->len, sizeof bytes - 1);
    ck_assert(memcmp(src->text, bytes, sizeof bytes) == 0);
    ck_assert_ptr_eq(src->out, stderr);
    capture c;
    capture_start(src, &c);
    gram_spec *spec = gram_parse(src);
    capture_end(src);
    ck_assert_int_eq(src->nerrors, 1);
    ck_assert_ptr_nonnull(strstr(c.buf, ":2:1: error: stray '\\x00' in spec\n    2 | ?}\n      | ^\n"));
    free(c.buf);
    done(spec, src);

    gram_source_free(NULL);
    gram_spec_free(NULL);
    ck_assert_ptr_null(gram_parse(NULL));
}
END_TEST

#if !TU_ASAN
/* Map 512 KiB of stack below the caller, so that a later address-space
 * limit starves the heap but not the stack. */
__attribute__((noinline)) static void grow_stack(void)
{
    volatile char stack[1 << 19];
    for (size_t i = sizeof stack; i > 0; i -= 512)
        stack[i - 1] = 1;
}
#endif

/* Running out of memory at any point must give NULL or a spec, never a
 * crash: parse a large spec under a range of address-space limits. */
START_TEST(test_out_of_memory)
{
#if TU_ASAN
    return; /* the sanitizer's shadow memory cannot live under a limit */
#else
    if (RUNNING_ON_VALGRIND)
        return;
    size_t n = 0, cap = 1 << 20;
    char *text = malloc(cap);
    n += (size_t)sprintf(text, "model big {\n  layers A");
    while (n + 64 < cap)
        n += (size_t)sprintf(text + n, " -> Linear(%zu, init=normal(std=0.5))", n);
    sprintf(text + n, "\n}\n");
    gram_source *src = gram_source_from_string("big.net", text);
    free(text);
    src->out = fopen("/dev/null", "w");
    ck_assert_ptr_nonnull(src->out);

    long page = sysconf(_SC_PAGESIZE);
    unsigned long pages = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f || fscanf(f, "%lu", &pages) != 1) {
        if (f)
            fclose(f);
        fclose(src->out);
        gram_source_free(src);
        return; /* no way to measure the address space here */
    }
    fclose(f);
    int got_null = 0, got_spec = 0;
    for (int i = 0; i < 24; i++) {
        size_t extra = (size_t)i * ((2u << 20) + 37 * 1024); /* odd steps: varied failure points */
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            grow_stack();
            struct rlimit lim;
            lim.rlim_cur = lim.rlim_max = (rlim_t)pages * (rlim_t)page + (rlim_t)extra;
            setrlimit(RLIMIT_AS, &lim);
            gram_spec *spec = gram_parse(src);
            _exit(spec ? (src->nerrors ? 4 : 0) : 3);
        }
        int status;
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFEXITED(status), "crashed with %zu bytes to spare (signal %d)", extra,
                      WIFSIGNALED(status) ? WTERMSIG(status) : 0);
        ck_assert_msg(WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 3, "exit %d", WEXITSTATUS(status));
        got_null |= WEXITSTATUS(status) == 3;
        got_spec |= WEXITSTATUS(status) == 0;
    }
    ck_assert(got_null);
    ck_assert(got_spec);
    fclose(src->out);
    gram_source_free(src);
#endif
}
END_TEST

static Suite *grammar_suite(void)
{
    Suite *s = suite_create("grammar");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, test_example_spec);
    tcase_add_test(tc, test_expressions);
    tcase_add_test(tc, test_calls_and_init_args);
    tcase_add_test(tc, test_layout_variants);
    tcase_add_test(tc, test_nesting_limit_ok);
    tcase_add_test(tc, test_stmt_keyword);
    tcase_add_test(tc, test_schedule_clip_statements);
    tcase_add_loop_test(tc, test_bad_specs, 0, (int)(sizeof bad / sizeof bad[0]));
    tcase_add_test(tc, test_recovery_keeps_good_statements);
    tcase_add_test(tc, test_error_limit);
    tcase_add_test(tc, test_expression_depth_limit);
    suite_add_tcase(s, tc);

    TCase *td = tcase_create("diag");
    tcase_add_test(td, test_diag_format);
    tcase_add_test(td, test_diag_wide_line_numbers);
    tcase_add_test(td, test_unknown_name);
    tcase_add_test(td, test_nearest);
    tcase_add_test(td, test_nearest_fuzz);
    tcase_add_test(td, test_source_open);
    suite_add_tcase(s, td);

    TCase *tr = tcase_create("robustness");
    tcase_set_timeout(tr, 300); /* slow under valgrind */
    tcase_add_test(tr, test_mutations);
    tcase_add_test(tr, test_out_of_memory);
    suite_add_tcase(s, tr);
    return s;
}

int main(void)
{
    return tu_run(grammar_suite());
}
