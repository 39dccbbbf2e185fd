/* ast.h — the syntax tree of a .net spec, as the parser builds it.
 *
 * The tree is purely syntactic: names are not resolved, arguments are not
 * matched to layers and no value is range-checked here.  The compiler does
 * all of that, so that every semantic error carries the location the parser
 * recorded.  All nodes of one parse live in one arena owned by the
 * gram_spec and are freed together by gram_spec_free(). */
#ifndef NETC_GRAMMAR_AST_H
#define NETC_GRAMMAR_AST_H

#include "diag.h"

/* Expression kinds: argument values, `let` values, `input` shapes. */
typedef enum {
    GRAM_EXPR_NUM,   /* number literal: num (is_int says whether it had no '.' or exponent) */
    GRAM_EXPR_STR,   /* "string": str */
    GRAM_EXPR_BOOL,  /* true/false/True/False: num is 0 or 1 */
    GRAM_EXPR_NAME,  /* identifier: str (a let constant, an init name, ...) */
    GRAM_EXPR_TUPLE, /* (a, b, ...): items, nitems */
    GRAM_EXPR_CALL,  /* name(args): str is the name, args/nargs (e.g. init=normal(std=0.1)) */
    GRAM_EXPR_BINOP, /* lhs op rhs with op one of + - * / : items[0], items[1], op */
    GRAM_EXPR_NEG    /* -items[0] */
} gram_expr_kind;

typedef struct gram_expr gram_expr;
typedef struct gram_arg gram_arg;

struct gram_expr {
    gram_expr_kind kind;
    gram_loc loc;
    double num;
    int is_int;
    const char *str;
    char op;
    gram_expr **items;
    int nitems;
    gram_arg *args;
    int nargs;
};

/* One argument of a call: positional when name is NULL. */
struct gram_arg {
    const char *name;
    gram_loc name_loc;
    gram_expr *value;
};

/* A call-like item: `ReLU`, `Linear(784, 256)`, `Adam(lr=0.001)`,
 * `normal(std=1)`.  has_parens distinguishes `ReLU` from `ReLU()`. */
typedef struct {
    const char *name;
    gram_loc loc;       /* location of the name */
    int has_parens;
    gram_arg *args;
    int nargs;
} gram_call;

/* A chain item: a call, or `repeat N { chain }`. */
typedef struct gram_item gram_item;
struct gram_item {
    int is_repeat;
    gram_call call;       /* when !is_repeat */
    gram_expr *count;     /* when is_repeat */
    gram_loc loc;         /* of the call name or of the `repeat` keyword */
    gram_item *body;      /* when is_repeat: the sub-chain */
    int nbody;
};

/* Statement kinds inside `model NAME { ... }`. */
typedef enum {
    GRAM_STMT_LET,       /* let NAME = expr: name, value */
    GRAM_STMT_INPUT,     /* input expr: value (a number or a tuple) */
    GRAM_STMT_LAYERS,    /* layers chain: items, nitems */
    GRAM_STMT_INIT,      /* init call */
    GRAM_STMT_LOSS,      /* loss call */
    GRAM_STMT_OPTIMIZER, /* optimizer call */
    GRAM_STMT_TRAIN,     /* train k=v k=v ...: args, nargs (all named) */
    GRAM_STMT_DATA,      /* data "path" k=v ...: value (a string expr), args, nargs (all named) */
    GRAM_STMT_SCHEDULE,  /* schedule call (a learning-rate scheduler) */
    GRAM_STMT_CLIP,      /* clip call (gradient clipping) */
    GRAM_STMT_TRANSFORM, /* transform chain (data transforms): items, nitems */
    GRAM_STMT_AUGMENT    /* augment call (batch mixing: MixUp, CutMix) */
} gram_stmt_kind;

/* The last statement kind, for tables indexed by kind. */
#define GRAM_STMT_LAST GRAM_STMT_AUGMENT

typedef struct {
    gram_stmt_kind kind;
    gram_loc loc;        /* location of the keyword */
    const char *name;    /* let */
    gram_loc name_loc;   /* let */
    gram_expr *value;    /* let, input, data */
    gram_call call;      /* init, loss, optimizer, schedule, clip, augment */
    gram_item *items;    /* layers, transform */
    int nitems;
    gram_arg *args;      /* train, data */
    int nargs;
} gram_stmt;

/* A parsed spec.  model_name is NULL when the parse failed before it. */
typedef struct {
    gram_source *src;
    const char *model_name;
    gram_loc model_loc;
    gram_stmt *stmts;
    int nstmts;
    struct gram_arena *arena;
} gram_spec;

/* Parse src into a spec.  Syntax errors are reported through gram_error()
 * (so src->nerrors counts them) and the parser recovers at statement
 * boundaries to report more than one.  Returns NULL only when memory runs
 * out; otherwise the caller owns the result and frees it with
 * gram_spec_free().  Check src->nerrors before using the tree. */
gram_spec *gram_parse(gram_source *src);

/* Free a spec returned by gram_parse() (NULL is allowed). */
void gram_spec_free(gram_spec *spec);

/* Name of a statement kind as written in specs ("layers", "optimizer"...). */
const char *gram_stmt_keyword(gram_stmt_kind kind);

#endif
