/* ast.c — the arena the syntax tree lives in, the node builders the parser
 * calls, and gram_parse(), which ties the lexer and parser together.
 *
 * One parse allocates many small nodes that all die together, so they come
 * from a bump arena: no per-node frees, no leaks on error paths, and one
 * call frees a whole spec. */
#include "astbuild.h"

#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parser.h"

/* ---- arena ------------------------------------------------------------ */

#define BLOCK_SIZE 16384

typedef struct block {
    struct block *next;
    size_t used, size;
    max_align_t data[]; /* aligns the payload for any type */
} block;

struct gram_arena {
    block *head;
    jmp_buf *oom;
};

/* A new empty arena; NULL when out of memory. */
struct gram_arena *gram_arena_new(void)
{
    return calloc(1, sizeof(struct gram_arena));
}

/* Free the arena and all its blocks (NULL is allowed). */
void gram_arena_free(struct gram_arena *a)
{
    if (!a)
        return;
    for (block *b = a->head, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    free(a);
}

/* Set where running out of memory longjmps (NULL: return NULL). */
void gram_arena_on_oom(struct gram_arena *a, jmp_buf *oom)
{
    a->oom = oom;
}

static void *out_of_memory(struct gram_arena *a)
{
    if (a->oom)
        longjmp(*a->oom, 1);
    return NULL;
}

/* size zeroed bytes aligned for any type, from the current block or a new
 * one (a dedicated one for requests bigger than a block). */
void *gram_arena_alloc(struct gram_arena *a, size_t size)
{
    const size_t align = sizeof(max_align_t);
    if (size > SIZE_MAX / 2)
        return out_of_memory(a);
    size = (size + align - 1) / align * align;
    if (size == 0)
        size = align;
    block *b = a->head;
    if (!b || b->size - b->used < size) {
        size_t payload = size > BLOCK_SIZE ? size : BLOCK_SIZE;
        b = malloc(sizeof *b + payload);
        if (!b)
            return out_of_memory(a);
        b->used = 0;
        b->size = payload;
        /* Keep filling the current block when the new one is a big
         * dedicated one: it would be full at once. */
        if (a->head && payload > BLOCK_SIZE) {
            b->next = a->head->next;
            a->head->next = b;
        } else {
            b->next = a->head;
            a->head = b;
        }
    }
    char *p = (char *)b->data + b->used;
    b->used += size;
    memset(p, 0, size);
    return p;
}

/* A NUL-terminated copy of the n bytes at s. */
char *gram_arena_strndup(struct gram_arena *a, const char *s, size_t n)
{
    if (n == SIZE_MAX)
        return out_of_memory(a);
    char *p = gram_arena_alloc(a, n + 1);
    if (p)
        memcpy(p, s, n);
    return p;
}

/* Append elem to v, doubling its storage when full. */
void gram_vec_push(struct gram_arena *a, gram_vec *v, const void *elem, size_t size)
{
    if (v->n == v->cap) {
        if (v->cap > INT_MAX / 2 || (size_t)(v->cap ? v->cap * 2 : 4) > SIZE_MAX / size) {
            out_of_memory(a);
            return;
        }
        int cap = v->cap ? v->cap * 2 : 4;
        void *data = gram_arena_alloc(a, (size_t)cap * size);
        if (!data)
            return;
        if (v->n)
            memcpy(data, v->data, (size_t)v->n * size);
        v->data = data;
        v->cap = cap;
    }
    memcpy((char *)v->data + (size_t)v->n * size, elem, size);
    v->n++;
}

/* ---- node builders ---------------------------------------------------- */

/* A zeroed expression of kind at loc. */
gram_expr *gram_new_expr(struct gram_arena *a, gram_expr_kind kind, gram_loc loc)
{
    gram_expr *e = gram_arena_alloc(a, sizeof *e);
    if (e) {
        e->kind = kind;
        e->loc = loc;
    }
    return e;
}

/* A number literal. */
gram_expr *gram_new_num(struct gram_arena *a, double num, int is_int, gram_loc loc)
{
    gram_expr *e = gram_new_expr(a, GRAM_EXPR_NUM, loc);
    if (e) {
        e->num = num;
        e->is_int = is_int;
    }
    return e;
}

/* A string or name expression (kind GRAM_EXPR_STR or GRAM_EXPR_NAME); s
 * must already live in the arena. */
gram_expr *gram_new_str(struct gram_arena *a, gram_expr_kind kind, const char *s, gram_loc loc)
{
    gram_expr *e = gram_new_expr(a, kind, loc);
    if (e)
        e->str = s;
    return e;
}

/* l op r. */
gram_expr *gram_new_binop(struct gram_arena *a, char op, gram_expr *l, gram_expr *r, gram_loc loc)
{
    gram_expr *e = gram_new_expr(a, GRAM_EXPR_BINOP, loc);
    gram_expr **items = gram_arena_alloc(a, 2 * sizeof *items);
    if (!e || !items)
        return NULL;
    items[0] = l;
    items[1] = r;
    e->op = op;
    e->items = items;
    e->nitems = 2;
    return e;
}

/* -e. */
gram_expr *gram_new_neg(struct gram_arena *a, gram_expr *operand, gram_loc loc)
{
    gram_expr *e = gram_new_expr(a, GRAM_EXPR_NEG, loc);
    gram_expr **items = gram_arena_alloc(a, sizeof *items);
    if (!e || !items)
        return NULL;
    items[0] = operand;
    e->op = '-';
    e->items = items;
    e->nitems = 1;
    return e;
}

/* A tuple of the gram_expr * in items. */
gram_expr *gram_new_tuple(struct gram_arena *a, const gram_vec *items, gram_loc loc)
{
    gram_expr *e = gram_new_expr(a, GRAM_EXPR_TUPLE, loc);
    if (e) {
        e->items = items->data;
        e->nitems = items->n;
    }
    return e;
}

/* A call value name(args) such as normal(std=0.1); args holds gram_arg. */
gram_expr *gram_new_call_expr(struct gram_arena *a, const char *name, const gram_vec *args, gram_loc loc)
{
    gram_expr *e = gram_new_str(a, GRAM_EXPR_CALL, name, loc);
    if (e) {
        e->args = args->data;
        e->nargs = args->n;
    }
    return e;
}

/* A call item: `name` when args is NULL, `name(args...)` otherwise. */
gram_call *gram_new_call(struct gram_arena *a, const char *name, gram_loc loc, const gram_vec *args)
{
    gram_call *c = gram_arena_alloc(a, sizeof *c);
    if (c) {
        c->name = name;
        c->loc = loc;
        c->has_parens = args != NULL;
        c->args = args ? args->data : NULL;
        c->nargs = args ? args->n : 0;
    }
    return c;
}

/* `repeat count { body }`, body holding gram_item. */
gram_item *gram_new_repeat(struct gram_arena *a, gram_expr *count, const gram_vec *body, gram_loc loc)
{
    gram_item *it = gram_arena_alloc(a, sizeof *it);
    if (it) {
        it->is_repeat = 1;
        it->count = count;
        it->loc = loc;
        it->body = body->data;
        it->nbody = body->n;
    }
    return it;
}

/* ---- error budget ----------------------------------------------------- */

/* Whether another error may be reported. */
int gram_pstate_may_report(const gram_pstate *st)
{
    return !st->gave_up;
}

/* Count an error just reported; at the source's error limit (the errors
 * it shows), stop the parse: what follows would not be shown anyway. */
void gram_pstate_reported(gram_pstate *st)
{
    int limit = st->src->max_errors;
    if (!st->gave_up && limit > 0 && st->src->nerrors - st->errors0 >= limit) {
        st->gave_up = 1;
        gram_note(st->src, GRAM_NO_LOC, "too many errors; giving up");
    }
}

/* Report a lexer or parser error unless the parse gave up. */
void gram_parse_error(gram_pstate *st, gram_loc loc, const char *fmt, ...)
{
    if (!gram_pstate_may_report(st))
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    gram_error(st->src, loc, "%s", msg);
    gram_pstate_reported(st);
}

/* ---- entry points ----------------------------------------------------- */

/* Parse src (see ast.h): NULL only when memory runs out. */
gram_spec *gram_parse(gram_source *src)
{
    if (!src)
        return NULL;
    struct gram_arena *a = gram_arena_new();
    gram_pstate *st = calloc(1, sizeof *st);
    gram_spec *spec = a ? gram_arena_alloc(a, sizeof *spec) : NULL;
    if (!st || !spec) {
        free(st);
        gram_arena_free(a);
        return NULL;
    }
    spec->src = src;
    spec->arena = a;
    if (src->len > GRAM_MAX_SOURCE) {
        gram_error(src, GRAM_NO_LOC, "spec is larger than %d bytes (%d MiB), the most netc reads", GRAM_MAX_SOURCE,
                   GRAM_MAX_SOURCE >> 20);
        free(st);
        return spec; /* empty: no model */
    }
    st->src = src;
    st->arena = a;
    st->spec = spec;
    st->errors0 = src->nerrors;
    st->line = st->col = 1;

    gram_arena_on_oom(a, &st->oom);
    int r = gram_run(st);
    gram_arena_on_oom(a, NULL);
    if (r < 0) {
        free(st);
        gram_arena_free(a);
        return NULL;
    }
    spec->stmts = st->stmts.data;
    spec->nstmts = st->stmts.n;
    free(st);
    return spec;
}

/* Free spec and every node of it (NULL is allowed). */
void gram_spec_free(gram_spec *spec)
{
    if (spec)
        gram_arena_free(spec->arena); /* spec itself lives in the arena */
}

/* The keyword that starts a statement of kind. */
const char *gram_stmt_keyword(gram_stmt_kind kind)
{
    switch (kind) {
    case GRAM_STMT_LET: return "let";
    case GRAM_STMT_INPUT: return "input";
    case GRAM_STMT_LAYERS: return "layers";
    case GRAM_STMT_INIT: return "init";
    case GRAM_STMT_LOSS: return "loss";
    case GRAM_STMT_OPTIMIZER: return "optimizer";
    case GRAM_STMT_TRAIN: return "train";
    case GRAM_STMT_DATA: return "data";
    case GRAM_STMT_SCHEDULE: return "schedule";
    case GRAM_STMT_CLIP: return "clip";
    case GRAM_STMT_TRANSFORM: return "transform";
    case GRAM_STMT_AUGMENT: return "augment";
    }
    return "?";
}
