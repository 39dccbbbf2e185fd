/* astbuild.h — internal to grammar/: the arena, the node builders the
 * parser calls, and the state one parse shares between gram_parse(), the
 * lexer and the parser.  Nothing outside grammar/ includes this. */
#ifndef NETC_GRAMMAR_ASTBUILD_H
#define NETC_GRAMMAR_ASTBUILD_H

#include <setjmp.h>
#include <stddef.h>

#include "ast.h"

/* Deepest nesting of brackets (and longest run of unary minus signs) a
 * spec may use.  Bounding it bounds the parser's stack, so no input can
 * overflow it. */
#define GRAM_MAX_DEPTH 64

/* Deepest expression tree (operators, brackets, unary minus): a sum of
 * 10000 terms would otherwise be a tree 10000 deep. */
#define GRAM_MAX_EXPR_DEPTH 256

/* Longest name (identifier) and string literal: bounded so that a
 * message quoting one stays short; a path fits in a string. */
#define GRAM_MAX_NAME 255
#define GRAM_MAX_STRING 4096

/* "No position": diagnostics about the whole file. */
#define GRAM_NO_LOC ((gram_loc){0, 0, 0, 0})

/* ---- arena ------------------------------------------------------------ */

/* A bump allocator: every node of a parse lives in one arena and is freed
 * with it.  When oom is set, running out of memory longjmps there instead
 * of returning NULL, so the parser's actions need no checks. */
struct gram_arena;

/* A new empty arena; NULL when out of memory. */
struct gram_arena *gram_arena_new(void);

/* Free the arena and everything allocated from it (NULL is allowed). */
void gram_arena_free(struct gram_arena *a);

/* Where to longjmp when memory runs out (NULL: return NULL instead). */
void gram_arena_on_oom(struct gram_arena *a, jmp_buf *oom);

/* size zeroed bytes aligned for any type. */
void *gram_arena_alloc(struct gram_arena *a, size_t size);

/* A NUL-terminated copy of the n bytes at s. */
char *gram_arena_strndup(struct gram_arena *a, const char *s, size_t n);

/* A growable array whose storage lives in the arena (outgrown storage is
 * simply abandoned to the arena).  Element size is given at each push. */
typedef struct {
    void *data;
    int n, cap;
} gram_vec;

/* Append the size bytes at elem to v. */
void gram_vec_push(struct gram_arena *a, gram_vec *v, const void *elem, size_t size);

/* ---- node builders ---------------------------------------------------- */

/* Constructors of the tree's nodes, all allocated in the arena (so they
 * longjmp or return NULL as the arena does).  Strings and vectors passed
 * in must already live in the same arena: nodes point into them. */
gram_expr *gram_new_expr(struct gram_arena *a, gram_expr_kind kind, gram_loc loc);
gram_expr *gram_new_num(struct gram_arena *a, double num, int is_int, gram_loc loc);
gram_expr *gram_new_str(struct gram_arena *a, gram_expr_kind kind, const char *s, gram_loc loc);
gram_expr *gram_new_binop(struct gram_arena *a, char op, gram_expr *l, gram_expr *r, gram_loc loc);
gram_expr *gram_new_neg(struct gram_arena *a, gram_expr *e, gram_loc loc);
/* A tuple or call holding the gram_expr * items or gram_arg args of v. */
gram_expr *gram_new_tuple(struct gram_arena *a, const gram_vec *items, gram_loc loc);
gram_expr *gram_new_call_expr(struct gram_arena *a, const char *name, const gram_vec *args,
                              gram_loc loc);
/* A call item: args is NULL for a bare name. */
gram_call *gram_new_call(struct gram_arena *a, const char *name, gram_loc loc, const gram_vec *args);
gram_item *gram_new_repeat(struct gram_arena *a, gram_expr *count, const gram_vec *body, gram_loc loc);

/* ---- parse state ------------------------------------------------------ */

/* One open bracket, for "missing ')'" messages. */
typedef struct {
    char ch;
    gram_loc loc;
} gram_bracket;

/* Shared by gram_parse(), the lexer (as its yyextra) and the parser. */
typedef struct gram_pstate {
    gram_source *src;
    struct gram_arena *arena;
    gram_spec *spec;
    gram_vec stmts;          /* gram_stmt, moved into spec at the end */
    jmp_buf oom;             /* where running out of memory lands */
    int errors0;             /* src->nerrors when the parse began */
    int gave_up;             /* too many errors or too deep: report no more */

    /* lexer position: the next character's line and column */
    int line, col;
    gram_loc end;            /* end of the last token (for end-of-file errors) */
    int ntokens;             /* tokens returned so far */
    int tok, prev_tok;       /* kinds of the last two tokens returned */
    const char *tok_text;    /* text of the last identifier/number token */
    int minus_run;           /* consecutive '-' tokens */
    gram_bracket open[GRAM_MAX_DEPTH + 1];
    int depth;               /* brackets open */
    void *scanner;           /* the flex scanner, while it exists */
    int keep_comments;       /* return comments as COMMENT tokens (gram_tokenize) */
} gram_pstate;

/* Whether one more error may be reported: false once the parse gave up. */
int gram_pstate_may_report(const gram_pstate *st);

/* Call after reporting an error: gives up (with a note saying so) once
 * the source's max_errors errors were reported by this parse. */
void gram_pstate_reported(gram_pstate *st);

/* Report an error at loc unless the parse gave up (both steps above). */
void gram_parse_error(gram_pstate *st, gram_loc loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
