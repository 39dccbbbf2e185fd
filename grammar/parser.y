/* parser.y — the grammar of a .net spec.
 *
 *     spec   : model                      exactly one model per file
 *     model  : "model" IDENT "{" stmt* "}"
 *     stmt   : "let" IDENT "=" expr | "input" expr | "layers" chain
 *            | "init" call | "loss" call | "optimizer" call
 *            | "train" (IDENT "=" expr)+ | "data" STRING (IDENT "=" expr)*
 *            | "schedule" call | "clip" call | "transform" chain | "augment" call
 *     chain  : item ("->" item)*
 *     item   : call | "repeat" expr "{" chain "}"
 *     call   : IDENT | IDENT "(" [args [","]] ")"
 *     arg    : expr | IDENT "=" expr | "init" "=" expr
 *     expr   : NUMBER | STRING | true | false | IDENT | IDENT "(" [args [","]] ")"
 *            | "(" expr ")" | "(" expr "," [expr ("," expr)* [","]] ")"
 *            | expr ("+" | "-" | "*" | "/") expr | "-" expr
 *
 * Newlines are white space, so statements are delimited by their leading
 * keyword.  That is also where the parser resynchronises after a syntax
 * error: the `error` alternative of stmt swallows tokens up to the next
 * statement keyword or the model's "}", so one run reports a mistake in
 * every statement, not just the first.  To tell the model's "}" from the
 * "}" of a `repeat` (which must not end the recovery), the lexer returns
 * the latter as RBRACE_IN, by bracket depth.
 *
 * The tree is built in the parse's arena (see astbuild.h); running out of
 * memory longjmps out of the whole parse, so actions never check for NULL. */

%code requires {
#include "ast.h"
#include "astbuild.h"

#ifndef YY_TYPEDEF_YY_SCANNER_T
#define YY_TYPEDEF_YY_SCANNER_T
typedef void *yyscan_t;
#endif

/* Semantic values that also carry the depth of the tree below them, so
 * that no expression can be deeper than GRAM_MAX_EXPR_DEPTH (whoever walks
 * the tree recursively can rely on that). */
typedef struct {
    gram_expr *e;
    int depth;
} gram_dexpr;

typedef struct {
    gram_arg a;
    int depth;
} gram_darg;

typedef struct {
    gram_vec v; /* of gram_arg */
    int depth;
} gram_dargs;
}

%code provides {
/* The lexer (lexer.l), under the prefix shared with the parser. */
int gram_yylex(GRAM_YYSTYPE *lval, gram_loc *lloc, yyscan_t scanner);

/* Lex and parse st->src, building into st; 0 when the parse completed
 * (possibly with reported errors), -1 when memory ran out. */
int gram_run(gram_pstate *st);
}

%code {
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lexer.h"

/* The parser's stack never grows: nesting is capped by the lexer at
 * GRAM_MAX_DEPTH, which keeps the stack well under this many entries.  A
 * fixed stack also means an out-of-memory longjmp leaks nothing. */
#define YYINITDEPTH 1024
#define YYMAXDEPTH 1024

static void yyerror(const gram_loc *loc, yyscan_t scanner, gram_pstate *st, const char *msg);

static void add_stmt(gram_pstate *st, gram_stmt s)
{
    gram_vec_push(st->arena, &st->stmts, &s, sizeof s);
}

static gram_stmt stmt_of(gram_stmt_kind kind, gram_loc loc)
{
    gram_stmt s;
    memset(&s, 0, sizeof s);
    s.kind = kind;
    s.loc = loc;
    return s;
}

static gram_vec vec_of(gram_pstate *st, const void *elem, size_t size)
{
    gram_vec v = {0, 0, 0};
    gram_vec_push(st->arena, &v, elem, size);
    return v;
}

static int max(int a, int b)
{
    return a > b ? a : b;
}

static gram_dexpr dexpr(gram_expr *e, int depth)
{
    gram_dexpr d = {e, depth};
    return d;
}

/* Whether a node deepest child depth `below` would make the tree deeper
 * than GRAM_MAX_EXPR_DEPTH.  Reports it once: a child of depth
 * GRAM_MAX_EXPR_DEPTH + 1 is one that was cut short and reported already.
 * Callers then return a shallower tree marked that way, so that the tree
 * never is deeper than the cap, whatever the input. */
static int too_deep(gram_pstate *st, int below, gram_loc loc)
{
    if (below < GRAM_MAX_EXPR_DEPTH)
        return 0;
    if (below == GRAM_MAX_EXPR_DEPTH)
        gram_parse_error(st, loc, "expression nested deeper than %d levels", GRAM_MAX_EXPR_DEPTH);
    return 1;
}

static gram_dexpr cut(gram_dexpr d)
{
    d.depth = GRAM_MAX_EXPR_DEPTH + 1;
    return d;
}

/* l op r (past the cap: just l). */
static gram_dexpr binop(gram_pstate *st, char op, gram_dexpr l, gram_dexpr r, gram_loc loc,
                        gram_loc op_loc)
{
    if (too_deep(st, max(l.depth, r.depth), op_loc))
        return cut(l);
    return dexpr(gram_new_binop(st->arena, op, l.e, r.e, loc), 1 + max(l.depth, r.depth));
}

/* -...-e for the minus signs at locs (past the cap: just e). */
static gram_dexpr negate(gram_pstate *st, const gram_vec *locs, gram_dexpr e, gram_loc e_loc)
{
    for (int i = locs->n - 1; i >= 0; i--) {
        gram_loc at = ((const gram_loc *)locs->data)[i];
        if (too_deep(st, e.depth, at))
            return cut(e);
        at.last_line = e_loc.last_line;
        at.last_column = e_loc.last_column;
        e = dexpr(gram_new_neg(st->arena, e.e, at), e.depth + 1);
    }
    return e;
}

/* name(args) (past the cap: name()). */
static gram_dexpr call_expr(gram_pstate *st, const char *name, gram_dargs args, gram_loc loc)
{
    if (too_deep(st, args.depth, loc)) {
        gram_vec none = {0, 0, 0};
        return cut(dexpr(gram_new_call_expr(st->arena, name, &none, loc), 1));
    }
    return dexpr(gram_new_call_expr(st->arena, name, &args.v, loc), args.depth + 1);
}

/* The tuple (first, rest...); rest holds gram_dexpr and may be NULL
 * (past the cap: just first). */
static gram_dexpr tuple(gram_pstate *st, gram_dexpr first, const gram_vec *rest, gram_loc loc)
{
    int n = 1 + (rest ? rest->n : 0), depth = first.depth;
    gram_vec items = {0, 0, 0};
    gram_vec_push(st->arena, &items, &first.e, sizeof first.e);
    for (int i = 1; i < n; i++) {
        const gram_dexpr *d = (const gram_dexpr *)rest->data + (i - 1);
        gram_vec_push(st->arena, &items, &d->e, sizeof d->e);
        depth = max(depth, d->depth);
    }
    if (too_deep(st, depth, loc))
        return cut(first);
    return dexpr(gram_new_tuple(st->arena, &items, loc), depth + 1);
}
}

%define api.prefix {gram_yy}
%define api.pure full
%define api.location.type {gram_loc}
/* `custom` is bison's `detailed` error reporting with our own wording:
 * yyreport_syntax_error gets the same expected-token list, and can name
 * groups of tokens ("expecting a layer", "a statement") instead of listing
 * every keyword.  LAC makes that list exact after default reductions. */
%define parse.error custom
%define parse.lac full
%locations
%expect 0
%param {yyscan_t scanner}
%parse-param {gram_pstate *st}

%union {
    const char *str;
    struct { double v; int is_int; } num;
    gram_dexpr ex;
    gram_darg arg;
    gram_dargs args;
    gram_call *call;
    gram_item *item;
    gram_vec vec;
}

/* Declared in the order the "expecting ..." lists of syntax errors name
 * them (see describe_expected). */
%token ARROW "->"
%token MODEL "model" LET "let" INPUT "input" LAYERS "layers" INIT "init"
       LOSS "loss" OPTIMIZER "optimizer" TRAIN "train" DATA "data"
       SCHEDULE "schedule" CLIP "clip" TRANSFORM "transform" AUGMENT "augment"
       REPEAT "repeat" TRUE "true" FALSE "false"
%token <str> IDENT "identifier"
%token <num> NUMBER "number"
%token <str> STRING "string"
%token LPAREN "(" COMMA "," EQ "=" RPAREN ")" LBRACE "{" RBRACE "}"
       PLUS "+" MINUS "-" STAR "*" SLASH "/"
%token RBRACE_IN    /* a "}" closing a nested brace (shown as "}") */
%token COMMENT      /* only when the lexer keeps comments (gram_tokenize): never parsed */

%left "+" "-"
%left "*" "/"

%nterm <ex> expr unary primary
%nterm <arg> arg targ
%nterm <args> callargs args
%nterm <call> call
%nterm <item> item
%nterm <vec> chain targs minuses exprlist

%%

spec
    : model
    ;

model
    : "model" IDENT
        { st->spec->model_name = $2; st->spec->model_loc = @2; }
      "{" stmts "}"
        { yyerrok; /* so text after the model is reported at once */ }
    ;

stmts
    : %empty
    | stmts stmt
    ;

stmt
    : stmt_start "let" IDENT "=" expr
        { gram_stmt s = stmt_of(GRAM_STMT_LET, @2); s.name = $3; s.name_loc = @3; s.value = $5.e; add_stmt(st, s); }
    | stmt_start "input" expr
        { gram_stmt s = stmt_of(GRAM_STMT_INPUT, @2); s.value = $3.e; add_stmt(st, s); }
    | stmt_start "layers" chain
        { gram_stmt s = stmt_of(GRAM_STMT_LAYERS, @2); s.items = $3.data; s.nitems = $3.n; add_stmt(st, s); }
    | stmt_start "init" call
        { gram_stmt s = stmt_of(GRAM_STMT_INIT, @2); s.call = *$3; add_stmt(st, s); }
    | stmt_start "loss" call
        { gram_stmt s = stmt_of(GRAM_STMT_LOSS, @2); s.call = *$3; add_stmt(st, s); }
    | stmt_start "optimizer" call
        { gram_stmt s = stmt_of(GRAM_STMT_OPTIMIZER, @2); s.call = *$3; add_stmt(st, s); }
    | stmt_start "train" targs
        { gram_stmt s = stmt_of(GRAM_STMT_TRAIN, @2); s.args = $3.data; s.nargs = $3.n; add_stmt(st, s); }
    | stmt_start "data" STRING
        { gram_stmt s = stmt_of(GRAM_STMT_DATA, @2); s.value = gram_new_str(st->arena, GRAM_EXPR_STR, $3, @3); add_stmt(st, s); }
    | stmt_start "data" STRING targs
        { gram_stmt s = stmt_of(GRAM_STMT_DATA, @2); s.value = gram_new_str(st->arena, GRAM_EXPR_STR, $3, @3);
          s.args = $4.data; s.nargs = $4.n; add_stmt(st, s); }
    | stmt_start "schedule" call
        { gram_stmt s = stmt_of(GRAM_STMT_SCHEDULE, @2); s.call = *$3; add_stmt(st, s); }
    | stmt_start "clip" call
        { gram_stmt s = stmt_of(GRAM_STMT_CLIP, @2); s.call = *$3; add_stmt(st, s); }
    | stmt_start "transform" chain
        { gram_stmt s = stmt_of(GRAM_STMT_TRANSFORM, @2); s.items = $3.data; s.nitems = $3.n; add_stmt(st, s); }
    | stmt_start "augment" call
        { gram_stmt s = stmt_of(GRAM_STMT_AUGMENT, @2); s.call = *$3; add_stmt(st, s); }
    | error
    ;

/* Reached at every statement keyword: after an error, the parser is back
 * in step here, so the next error (in this statement) is reported rather
 * than swallowed by bison's three-token quiet period. */
stmt_start
    : %empty { yyerrok; }
    ;

targs
    : targ          { $$ = vec_of(st, &$1.a, sizeof $1.a); }
    | targs targ    { $$ = $1; gram_vec_push(st->arena, &$$, &$2.a, sizeof $2.a); }
    ;

targ
    : IDENT "=" expr    { $$.a.name = $1; $$.a.name_loc = @1; $$.a.value = $3.e; $$.depth = $3.depth; }
    ;

chain
    : item              { $$ = vec_of(st, $1, sizeof *$1); }
    | chain "->" item   { $$ = $1; gram_vec_push(st->arena, &$$, $3, sizeof *$3); }
    ;

item
    : call
        { $$ = gram_arena_alloc(st->arena, sizeof *$$); $$->call = *$1; $$->loc = $1->loc; }
    | "repeat" expr "{" chain RBRACE_IN
        { $$ = gram_new_repeat(st->arena, $2.e, &$4, @1); }
    ;

call
    : IDENT             { $$ = gram_new_call(st->arena, $1, @1, NULL); }
    | IDENT callargs    { $$ = gram_new_call(st->arena, $1, @1, &$2.v); }
    ;

callargs
    : "(" ")"           { $$.v = (gram_vec){0, 0, 0}; $$.depth = 0; }
    | "(" args ")"      { $$ = $2; }
    | "(" args "," ")"  { $$ = $2; }
    ;

args
    : arg               { $$.v = vec_of(st, &$1.a, sizeof $1.a); $$.depth = $1.depth; }
    | args "," arg
        { $$ = $1; gram_vec_push(st->arena, &$$.v, &$3.a, sizeof $3.a); $$.depth = max($1.depth, $3.depth); }
    ;

arg
    : expr              { $$.a.name = NULL; $$.a.name_loc = GRAM_NO_LOC; $$.a.value = $1.e; $$.depth = $1.depth; }
    | IDENT "=" expr    { $$.a.name = $1; $$.a.name_loc = @1; $$.a.value = $3.e; $$.depth = $3.depth; }
    | "init" "=" expr   { $$.a.name = "init"; $$.a.name_loc = @1; $$.a.value = $3.e; $$.depth = $3.depth; }
    ;

/* Unary minus is a prefix run (`- - x`) reduced as it is read, so however
 * long the run, it takes one slot of the parser's stack; the lexer caps the
 * run at GRAM_MAX_DEPTH. */
expr
    : unary
    | expr "+" expr     { $$ = binop(st, '+', $1, $3, @$, @2); }
    | expr "-" expr     { $$ = binop(st, '-', $1, $3, @$, @2); }
    | expr "*" expr     { $$ = binop(st, '*', $1, $3, @$, @2); }
    | expr "/" expr     { $$ = binop(st, '/', $1, $3, @$, @2); }
    ;

unary
    : primary
    | minuses primary   { $$ = negate(st, &$1, $2, @2); }
    ;

minuses
    : "-"               { $$ = vec_of(st, &@1, sizeof @1); }
    | minuses "-"       { $$ = $1; gram_vec_push(st->arena, &$$, &@2, sizeof @2); }
    ;

primary
    : NUMBER            { $$ = dexpr(gram_new_num(st->arena, $1.v, $1.is_int, @1), 1); }
    | STRING            { $$ = dexpr(gram_new_str(st->arena, GRAM_EXPR_STR, $1, @1), 1); }
    | "true"            { $$ = dexpr(gram_new_expr(st->arena, GRAM_EXPR_BOOL, @1), 1); $$.e->num = 1; }
    | "false"           { $$ = dexpr(gram_new_expr(st->arena, GRAM_EXPR_BOOL, @1), 1); $$.e->num = 0; }
    | IDENT             { $$ = dexpr(gram_new_str(st->arena, GRAM_EXPR_NAME, $1, @1), 1); }
    | IDENT callargs    { $$ = call_expr(st, $1, $2, @1); }
    | "(" ")"           { gram_vec none = {0, 0, 0}; $$ = dexpr(gram_new_tuple(st->arena, &none, @$), 1); }
    | "(" expr ")"      { $$ = $2; }
    | "(" expr "," ")"                  { $$ = tuple(st, $2, NULL, @$); }
    | "(" expr "," exprlist ")"         { $$ = tuple(st, $2, &$4, @$); }
    | "(" expr "," exprlist "," ")"     { $$ = tuple(st, $2, &$4, @$); }
    ;

/* The items (gram_dexpr) of a tuple after its first. */
exprlist
    : expr              { $$ = vec_of(st, &$1, sizeof $1); }
    | exprlist "," expr { $$ = $1; gram_vec_push(st->arena, &$$, &$3, sizeof $3); }
    ;

%%

/* ---- syntax error messages ---------------------------------------------
 *
 * bison only knows which tokens would have been valid; these turn that set
 * into a sentence a spec writer can act on, with dedicated wording for the
 * mistakes that are easy to make (no model header, a misspelt statement,
 * an unclosed bracket, text after the model). */

static const yysymbol_kind_t stmt_syms[] = {
    YYSYMBOL_LET, YYSYMBOL_INPUT, YYSYMBOL_LAYERS, YYSYMBOL_INIT,
    YYSYMBOL_LOSS, YYSYMBOL_OPTIMIZER, YYSYMBOL_TRAIN, YYSYMBOL_DATA,
    YYSYMBOL_SCHEDULE, YYSYMBOL_CLIP, YYSYMBOL_TRANSFORM, YYSYMBOL_AUGMENT,
};
static const char *const stmt_names[] = {
    "let", "input", "layers", "init", "loss", "optimizer", "train", "data", "schedule", "clip", "transform", "augment",
};
static const yysymbol_kind_t expr_syms[] = {
    YYSYMBOL_NUMBER, YYSYMBOL_STRING, YYSYMBOL_TRUE, YYSYMBOL_FALSE,
    YYSYMBOL_IDENT, YYSYMBOL_LPAREN, YYSYMBOL_MINUS,
};
static const yysymbol_kind_t op_syms[] = {
    YYSYMBOL_PLUS, YYSYMBOL_MINUS, YYSYMBOL_STAR, YYSYMBOL_SLASH,
};
#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

static int all_in(const char *set, const yysymbol_kind_t *syms, int n)
{
    for (int i = 0; i < n; i++)
        if (!set[syms[i]])
            return 0;
    return 1;
}

/* Append printf-style text to the n-byte buffer buf, truncating. */
static void append(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void append(char *buf, size_t n, const char *fmt, ...)
{
    size_t used = strlen(buf);
    if (used + 1 >= n)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + used, n - used, fmt, ap);
    va_end(ap);
}

/* A token as messages name it: "->", identifier 'foo' (when its text is
 * given), end of file. */
static void describe_token(char *buf, size_t n, yysymbol_kind_t k, const char *text)
{
    int len = text ? (int)strlen(text) : 0, max = 40;
    switch (k) {
    case YYSYMBOL_IDENT:
    case YYSYMBOL_NUMBER:
        if (text) {
            append(buf, n, "%s '%.*s%s'", yysymbol_name(k), len > max ? max : len, text,
                   len > max ? "..." : "");
            break;
        }
        /* fall through */
    case YYSYMBOL_YYEOF:
    case YYSYMBOL_STRING:
    case YYSYMBOL_YYUNDEF:
    case YYSYMBOL_YYerror:
        append(buf, n, "%s", yysymbol_name(k));
        break;
    case YYSYMBOL_RBRACE_IN:
        append(buf, n, "\"}\"");
        break;
    default:
        append(buf, n, "\"%s\"", yysymbol_name(k));
        break;
    }
}

/* The tokens of set as a phrase: `"," or ")"`, `a statement or "}"`.
 * Groups are named as a whole, and the arithmetic operators, which are
 * valid after any expression, are left out when anything else is valid.
 * Also lists the tokens valid only after default reductions: the parser
 * uses LAC, so the set is exact.
 * Empty when the set is too large to be a useful hint. */
static void describe_expected(char *buf, size_t n, char *set, const gram_pstate *st)
{
    const char *groups[YYNTOKENS] = {0};
    if (set[YYSYMBOL_RBRACE])
        set[YYSYMBOL_RBRACE_IN] = 0; /* both read "}" */
    /* "(" after a bare name (`ReLU` -> `ReLU(...)`) is always possible and
     * rarely what was meant. */
    if (set[YYSYMBOL_LPAREN] && st->prev_tok == IDENT)
        set[YYSYMBOL_LPAREN] = 0;
    if (all_in(set, stmt_syms, COUNT(stmt_syms))) {
        for (int i = 0; i < COUNT(stmt_syms); i++)
            set[stmt_syms[i]] = 0;
        groups[YYSYMBOL_LET] = "a statement";
    }
    if (all_in(set, expr_syms, COUNT(expr_syms))) {
        for (int i = 0; i < COUNT(expr_syms); i++)
            set[expr_syms[i]] = 0;
        set[YYSYMBOL_INIT] = 0; /* `init=` is one more named argument */
        groups[YYSYMBOL_IDENT] = "an expression";
    } else if (set[YYSYMBOL_IDENT] && set[YYSYMBOL_REPEAT]) {
        set[YYSYMBOL_IDENT] = set[YYSYMBOL_REPEAT] = 0;
        groups[YYSYMBOL_REPEAT] = "a layer";
    }
    int count = 0;
    for (int k = 0; k < YYNTOKENS; k++)
        count += set[k] || groups[k];
    if (all_in(set, op_syms, COUNT(op_syms)) && count > COUNT(op_syms))
        for (int i = 0; i < COUNT(op_syms); i++) {
            set[op_syms[i]] = 0;
            count--;
        }
    if (count > 6)
        return;
    int done = 0;
    for (int k = 0; k < YYNTOKENS; k++) {
        if (!set[k] && !groups[k])
            continue;
        done++;
        append(buf, n, "%s", done == 1 ? "" : done == count ? " or " : ", ");
        if (groups[k])
            append(buf, n, "%s", groups[k]);
        else
            describe_token(buf, n, (yysymbol_kind_t)k, NULL);
    }
}

/* The token that closes the innermost open bracket. */
static yysymbol_kind_t closer(const gram_pstate *st)
{
    if (st->open[st->depth - 1].ch == '(')
        return YYSYMBOL_RPAREN;
    return st->depth > 1 ? YYSYMBOL_RBRACE_IN : YYSYMBOL_RBRACE;
}

static int yyreport_syntax_error(const yypcontext_t *ctx, yyscan_t scanner, gram_pstate *st)
{
    (void)scanner;
    if (!gram_pstate_may_report(st))
        return 0;
    gram_loc loc = *yypcontext_location(ctx);
    yysymbol_kind_t la = yypcontext_token(ctx);
    yysymbol_kind_t list[YYNTOKENS];
    int n = yypcontext_expected_tokens(ctx, list, YYNTOKENS);
    char set[YYNTOKENS] = {0};
    for (int i = 0; i < n; i++)
        set[list[i]] = 1;
    char found[128] = "";
    describe_token(found, sizeof found, la, st->tok_text);
    const char *model = st->spec->model_name;

    if (la == YYSYMBOL_YYEOF && st->ntokens == 0) {
        gram_error(st->src, GRAM_NO_LOC, "empty spec; expected \"model NAME { ... }\"");
    } else if (n == 1 && set[YYSYMBOL_MODEL]) {
        gram_error(st->src, loc, "expected \"model NAME {\" at the start of the spec, found %s", found);
    } else if (n == 1 && set[YYSYMBOL_IDENT] && st->prev_tok == MODEL) {
        gram_error(st->src, loc, "expected a model name after \"model\", found %s", found);
    } else if (n == 1 && set[YYSYMBOL_LBRACE] && model) {
        gram_error(st->src, loc, "expected \"{\" after \"model %s\", found %s", model, found);
    } else if (n == 1 && set[YYSYMBOL_YYEOF]) {
        if (la == YYSYMBOL_MODEL)
            gram_error(st->src, loc, "a spec holds exactly one model; found a second \"model\" after model '%s'",
                       model ? model : "?");
        else
            gram_error(st->src, loc, "unexpected %s after the end of model '%s'", found, model ? model : "?");
    } else if (la == YYSYMBOL_YYEOF && st->depth > 0 && set[closer(st)]) {
        const gram_bracket *b = &st->open[st->depth - 1];
        gram_error(st->src, loc, "missing \"%c\" at end of file", b->ch == '(' ? ')' : '}');
        gram_note(st->src, b->loc, "to match this \"%c\"", b->ch);
    } else if (la == YYSYMBOL_IDENT && st->tok_text && strcmp(st->tok_text, "init") == 0) {
        /* the lexer calls `init` an argument name when "=" follows */
        gram_error(st->src, loc, "expected an init name after \"init\", found \"=\"");
    } else if (la == YYSYMBOL_IDENT && all_in(set, stmt_syms, COUNT(stmt_syms)) && !set[YYSYMBOL_ARROW]
               && !set[YYSYMBOL_IDENT]) {
        gram_unknown_name(st->src, loc, "statement", st->tok_text ? st->tok_text : "", stmt_names,
                          COUNT(stmt_names));
    } else {
        char expected[256] = "";
        describe_expected(expected, sizeof expected, set, st);
        if (expected[0])
            gram_error(st->src, loc, "unexpected %s, expecting %s", found, expected);
        else
            gram_error(st->src, loc, "unexpected %s", found);
    }
    gram_pstate_reported(st);
    return 0;
}

/* bison's own messages: only "memory exhausted", should the fixed stack
 * ever fill (the nesting caps are meant to prevent that). */
static void yyerror(const gram_loc *loc, yyscan_t scanner, gram_pstate *st, const char *msg)
{
    (void)scanner;
    if (strcmp(msg, "memory exhausted") == 0)
        msg = "spec nested too deeply";
    gram_parse_error(st, *loc, "%s", msg);
}

int gram_run(gram_pstate *st)
{
    if (st->src->len > INT_MAX - 2) {
        gram_error(st->src, GRAM_NO_LOC, "spec is too large");
        return 0;
    }
    if (setjmp(st->oom)) {
        if (st->scanner)
            gram_yylex_destroy(st->scanner);
        st->scanner = NULL;
        return -1;
    }
    if (gram_yylex_init_extra(st, &st->scanner)) {
        st->scanner = NULL;
        return -1;
    }
    gram_yy_scan_bytes(st->src->text ? st->src->text : "", (int)st->src->len, st->scanner);
    yyparse(st->scanner, st);
    gram_yylex_destroy(st->scanner);
    st->scanner = NULL;
    return 0;
}
