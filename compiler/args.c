/* args.c — expression evaluation and argument matching for every call. */
#include "args.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *vkind_name(comp_vkind k)
{
    switch (k) {
    case COMP_V_NUM: return "a number";
    case COMP_V_BOOL: return "a boolean";
    case COMP_V_STR: return "a string";
    case COMP_V_TUPLE: return "a tuple";
    case COMP_V_NAME: return "a name";
    case COMP_V_CALL: return "a call";
    }
    return "a value";
}

/* Arithmetic is only defined on numbers; report anything else once. */
static int want_num(comp_env *env, const gram_expr *e, const comp_value *v)
{
    if (v->kind == COMP_V_NUM)
        return 1;
    gram_error(env->src, e->loc, "arithmetic needs a number, but this is %s", vkind_name(v->kind));
    return 0;
}

/* Recursion depth is bounded by the parser's expression depth cap
 * (GRAM_MAX_EXPR_DEPTH): a name bound by a let is not evaluated again but
 * reads the value stored when the let was checked. */
int comp_eval(comp_env *env, const gram_expr *e, comp_value *out)
{
    memset(out, 0, sizeof *out);
    out->expr = e;
    switch (e->kind) {
    case GRAM_EXPR_NUM:
        if (isnan(e->num))
            return 0; /* a malformed number, reported by the lexer */
        out->kind = COMP_V_NUM;
        out->num[0] = e->num;
        out->is_int = e->is_int;
        return 1;
    case GRAM_EXPR_BOOL:
        out->kind = COMP_V_BOOL;
        out->num[0] = e->num;
        return 1;
    case GRAM_EXPR_STR:
        out->kind = COMP_V_STR;
        out->str = e->str;
        return 1;
    case GRAM_EXPR_NAME: {
        const comp_let *let = comp_env_find(env, e->str);
        if (!let) {
            out->kind = COMP_V_NAME;
            out->str = e->str;
            return 1;
        }
        if (!let->ok)
            return 0; /* its definition's error is reported */
        *out = let->value;
        out->expr = e;
        return 1;
    }
    case GRAM_EXPR_CALL:
        return comp_eval_call(env, e, out);
    case GRAM_EXPR_TUPLE: {
        out->kind = COMP_V_TUPLE;
        out->is_int = 1;
        if (e->nitems > COMP_MAX_RANK) {
            gram_error(env->src, e->loc, "tuple has %d items; at most %d are allowed", e->nitems,
                       COMP_MAX_RANK);
            return 0;
        }
        int ok = 1;
        for (int i = 0; i < e->nitems; i++) {
            comp_value item;
            if (!comp_eval(env, e->items[i], &item)) {
                ok = 0;
                continue;
            }
            if (item.kind != COMP_V_NUM) {
                gram_error(env->src, e->items[i]->loc, "tuple items must be numbers, but this is %s",
                           vkind_name(item.kind));
                ok = 0;
                continue;
            }
            out->num[i] = item.num[0];
            out->is_int &= item.is_int;
        }
        out->n = e->nitems;
        return ok;
    }
    case GRAM_EXPR_NEG: {
        if (!comp_eval(env, e->items[0], out) || !want_num(env, e->items[0], out))
            return 0;
        out->num[0] = -out->num[0];
        out->expr = e;
        return 1;
    }
    case GRAM_EXPR_BINOP: {
        comp_value l, r;
        int okl = comp_eval(env, e->items[0], &l) && want_num(env, e->items[0], &l);
        int okr = comp_eval(env, e->items[1], &r) && want_num(env, e->items[1], &r);
        if (!okl || !okr)
            return 0;
        out->kind = COMP_V_NUM;
        double a = l.num[0], b = r.num[0];
        switch (e->op) {
        case '+': out->num[0] = a + b; out->is_int = l.is_int && r.is_int; break;
        case '-': out->num[0] = a - b; out->is_int = l.is_int && r.is_int; break;
        case '*': out->num[0] = a * b; out->is_int = l.is_int && r.is_int; break;
        default:
            if (b == 0) {
                gram_error(env->src, e->items[1]->loc, "division by zero");
                return 0;
            }
            /* Integer operands divide exactly or the result is a float,
             * as Python's true division. */
            out->num[0] = a / b;
            out->is_int = l.is_int && r.is_int && floor(a / b) == a / b;
            break;
        }
        if (!isfinite(out->num[0])) {
            gram_error(env->src, e->loc, "arithmetic overflow");
            return 0;
        }
        return 1;
    }
    }
    return 0;
}

/* Describe the allowed range the way the error message shows it.  Upper
 * bounds past 1e9 are sanity caps, not meaningful limits: say ">= lo". */
static void range_text(const comp_arg_spec *s, char *buf, size_t size)
{
    int unbounded = s->hi > 1e9;
    int open_lo = s->range == ARG_OPEN_OPEN || s->range == ARG_OPEN_CLOSED;
    int open_hi = s->range == ARG_OPEN_OPEN || s->range == ARG_CLOSED_OPEN;
    if (unbounded)
        snprintf(buf, size, "%s %.15g", open_lo ? ">" : ">=", s->lo);
    else
        snprintf(buf, size, "in %c%.15g, %.15g%c", open_lo ? '(' : '[', s->lo, s->hi, open_hi ? ')' : ']');
}

/* "a|b|c" as "\"a\", \"b\" or \"c\"" for messages. */
static void choices_text(const char *choices, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = 0;
    for (const char *p = choices; *p && len < size;) {
        const char *bar = strchr(p, '|');
        int n = bar ? (int)(bar - p) : (int)strlen(p);
        const char *sep = p == choices ? "" : bar ? ", " : " or ";
        len += (size_t)snprintf(buf + len, size - len, "%s\"%.*s\"", sep, n, p);
        p += n + (bar != NULL);
    }
}

static int in_range(const comp_arg_spec *s, double v)
{
    switch (s->range) {
    case ARG_ANY: return 1;
    case ARG_OPEN_OPEN: return v > s->lo && v < s->hi;
    case ARG_CLOSED_OPEN: return v >= s->lo && v < s->hi;
    case ARG_OPEN_CLOSED: return v > s->lo && v <= s->hi;
    case ARG_CLOSED: return v >= s->lo && v <= s->hi;
    }
    return 0;
}

static int check_number(comp_env *env, const char *what, const comp_arg_spec *s, gram_loc loc,
                        double v, int is_int)
{
    if ((s->type == COMP_T_INT || s->type == COMP_T_SIZE) && !is_int) {
        gram_error(env->src, loc, "%s argument '%s' must be an integer, got %.15g", what, s->name, v);
        return 0;
    }
    if (!in_range(s, v)) {
        char r[64];
        range_text(s, r, sizeof r);
        gram_error(env->src, loc, "%s argument '%s' must be %s, got %.15g", what, s->name, r, v);
        return 0;
    }
    return 1;
}

/* A list argument: a tuple of integers (a let constant may name it),
 * each range-checked, into out->list.  Tuples are read item by item
 * here, so a list may be longer than a shape tuple. */
static int store_list(comp_env *env, const char *what, const comp_arg_spec *s, const gram_expr *e,
                      comp_args *out)
{
    const gram_expr *at = e; /* where the argument is written */
    if (e->kind == GRAM_EXPR_NAME) {
        const comp_let *let = comp_env_find(env, e->str);
        if (let && !let->ok)
            return 0; /* its definition's error is reported */
        if (let)
            e = let->def;
    }
    if (e->kind != GRAM_EXPR_TUPLE) {
        gram_error(env->src, at->loc, "%s argument '%s' must be a tuple of integers such as (30, 80)", what,
                   s->name);
        return 0;
    }
    if (e->nitems > COMP_MAX_LIST) {
        gram_error(env->src, e->loc, "%s argument '%s' has %d items; at most %d are allowed", what, s->name,
                   e->nitems, COMP_MAX_LIST);
        return 0;
    }
    int ok = 1;
    for (int k = 0; k < e->nitems; k++) {
        comp_value v;
        if (!comp_eval(env, e->items[k], &v)) {
            ok = 0;
            continue;
        }
        if (v.kind != COMP_V_NUM) {
            gram_error(env->src, e->items[k]->loc, "%s argument '%s' must hold integers, but this is %s", what,
                       s->name, vkind_name(v.kind));
            ok = 0;
            continue;
        }
        if (!v.is_int) {
            gram_error(env->src, e->items[k]->loc, "%s argument '%s' must hold integers, got %.15g", what, s->name,
                       v.num[0]);
            ok = 0;
            continue;
        }
        ok &= check_number(env, what, s, e->items[k]->loc, v.num[0], v.is_int);
        out->list[k] = v.num[0];
    }
    out->nlist = e->nitems;
    return ok;
}

/* Slot k as when its argument is left out: the schema's default. */
static void store_default(const comp_arg_spec *s, int k, comp_args *out)
{
    out->num[k][0] = s->type == COMP_T_STR ? (s->choices && s->sdef ? comp_choice_index(s->choices, s->sdef) : 0)
                                           : s->def[0];
    out->num[k][1] = s->def[1];
    out->str[k] = s->sdef;
}

int comp_value_is_none(const comp_value *v)
{
    return v->kind == COMP_V_NAME && strcmp(v->str, "None") == 0;
}

/* Check one value against its schema entry and store it in slot i. */
static int store_value(comp_env *env, const char *what, const comp_arg_spec *s, int i,
                       const gram_expr *e, comp_args *out, const gram_expr **init_expr)
{
    if (s->type == COMP_T_INIT) {
        if (e->kind != GRAM_EXPR_NAME && e->kind != GRAM_EXPR_CALL) {
            gram_error(env->src, e->loc, "%s argument '%s' must be an init name such as kaiming_uniform",
                       what, s->name);
            return 0;
        }
        if (init_expr)
            *init_expr = e;
        return 1;
    }
    if (s->type == COMP_T_LIST)
        return store_list(env, what, s, e, out);
    comp_value v;
    if (!comp_eval(env, e, &v))
        return 0;
    /* None where torch's default is None means that default, as in torch. */
    if (comp_value_is_none(&v) && s->none_is_default == 2) {
        out->num[i][0] = NAN;
        return 1;
    }
    if (comp_value_is_none(&v) && s->none_is_default) {
        store_default(s, i, out);
        return 1;
    }
    /* `inf` is Python's float('inf') where a number is taken (norm_type=inf). */
    if (s->type == COMP_T_FLOAT && v.kind == COMP_V_NAME && strcmp(v.str, "inf") == 0) {
        v.kind = COMP_V_NUM;
        v.num[0] = HUGE_VAL;
    }
    switch (s->type) {
    case COMP_T_INT:
    case COMP_T_FLOAT:
        if (v.kind != COMP_V_NUM)
            break;
        out->num[i][0] = v.num[0];
        return check_number(env, what, s, e->loc, v.num[0], v.is_int);
    case COMP_T_BOOL:
        if (v.kind != COMP_V_BOOL)
            break;
        out->num[i][0] = v.num[0];
        return 1;
    case COMP_T_STR:
        if (v.kind != COMP_V_STR)
            break;
        out->num[i][0] = s->choices ? comp_choice_index(s->choices, v.str) : 0;
        if (out->num[i][0] < 0) {
            char ch[512];
            choices_text(s->choices, ch, sizeof ch);
            gram_error(env->src, e->loc, "%s argument '%s' must be %s%s, got \"%s\"", what, s->name,
                       s->none_is_default ? "None, " : "", ch, v.str);
            return 0;
        }
        out->str[i] = v.str;
        return 1;
    case COMP_T_PAIR:
        if (v.kind != COMP_V_TUPLE || v.n != 2)
            break;
        for (int k = 0; k < 2; k++) {
            out->num[i][k] = v.num[k];
            if (!check_number(env, what, s, e->items[k]->loc, v.num[k], 1))
                return 0;
        }
        return 1;
    case COMP_T_SIZE:
        if (v.kind == COMP_V_STR && s->choices) {
            if (comp_choice_index(s->choices, v.str) < 0) {
                char ch[512];
                choices_text(s->choices, ch, sizeof ch);
                gram_error(env->src, e->loc, "%s argument '%s' must be an integer, a tuple of integers or %s, "
                           "got \"%s\"", what, s->name, ch, v.str);
                return 0;
            }
            out->num[i][0] = out->num[i][1] = -1;
            out->str[i] = v.str;
            return 1;
        }
        if (v.kind == COMP_V_NUM) {
            out->num[i][0] = out->num[i][1] = v.num[0];
            return check_number(env, what, s, e->loc, v.num[0], v.is_int);
        }
        if (v.kind != COMP_V_TUPLE || v.n < 1 || v.n > 2)
            break;
        out->ntuple[i] = (int8_t)v.n;
        for (int k = 0; k < v.n; k++) {
            out->num[i][k] = v.num[k];
            if (!check_number(env, what, s, e->kind == GRAM_EXPR_TUPLE ? e->items[k]->loc : e->loc, v.num[k],
                              v.num[k] == floor(v.num[k])))
                return 0;
        }
        return 1;
    case COMP_T_VEC:
        if (v.kind == COMP_V_NUM) {
            out->ntuple[i] = 1;
            out->vec[i][0] = (float)v.num[0];
            return check_number(env, what, s, e->loc, v.num[0], 1);
        }
        if (v.kind != COMP_V_TUPLE || v.n < 1 || v.n > COMP_MAX_VEC)
            break;
        out->ntuple[i] = (int8_t)v.n;
        for (int k = 0; k < v.n; k++) {
            out->vec[i][k] = (float)v.num[k];
            if (!check_number(env, what, s, e->kind == GRAM_EXPR_TUPLE ? e->items[k]->loc : e->loc, v.num[k], 1))
                return 0;
        }
        return 1;
    case COMP_T_INIT:
    case COMP_T_LIST:
        break;
    }
    static const char *const expected[] = {
        [COMP_T_INT] = "an integer", [COMP_T_FLOAT] = "a number", [COMP_T_BOOL] = "true or false",
        [COMP_T_STR] = "a string", [COMP_T_PAIR] = "a pair of numbers such as (0.9, 0.999)",
        [COMP_T_INIT] = "an init", [COMP_T_LIST] = "a tuple of integers",
        [COMP_T_SIZE] = "an integer or a tuple of integers such as (3, 3)",
        [COMP_T_VEC] = "a number or a tuple of one number per channel such as (0.5, 0.5, 0.5)",
    };
    if (comp_value_is_none(&v))
        gram_error(env->src, e->loc, "%s argument '%s' must be %s, not None",
                   what, s->name, expected[s->type]);
    else if (v.kind == COMP_V_NAME)
        gram_error(env->src, e->loc, "%s argument '%s' must be %s; '%s' is not a defined constant", what,
                   s->name, expected[s->type], v.str);
    else
        gram_error(env->src, e->loc, "%s argument '%s' must be %s, not %s", what, s->name,
                   expected[s->type], vkind_name(v.kind));
    return 0;
}

int comp_match_args(comp_env *env, const comp_entry *entry, const char *what, gram_loc call_loc,
                    const gram_arg *args, int nargs, comp_args *out, const gram_expr **init_expr)
{
    const gram_arg *given[COMP_MAX_ARGS] = {0};
    int ok = 1, seen_named = 0;

    memset(out, 0, sizeof *out);
    if (init_expr)
        *init_expr = NULL;
    for (int i = 0; i < nargs; i++) {
        const gram_arg *a = &args[i];
        int slot;
        if (!a->name) {
            if (seen_named) {
                gram_error(env->src, a->value->loc, "positional argument after a named one");
                ok = 0;
                continue;
            }
            if (i >= entry->nargs) {
                if (entry->nargs == 0)
                    gram_error(env->src, a->value->loc, "%s takes no arguments", what);
                else
                    gram_error(env->src, a->value->loc, "%s takes at most %d argument%s, got %d", what,
                               entry->nargs, entry->nargs == 1 ? "" : "s", nargs);
                ok = 0;
                break;
            }
            slot = i;
        } else {
            seen_named = 1;
            slot = comp_arg_index(entry, a->name);
            if (slot < 0) {
                if (entry->nargs == 0) {
                    gram_error(env->src, a->name_loc, "%s takes no arguments", what);
                } else {
                    const char *names[COMP_MAX_ARGS];
                    char kind[96];
                    for (int k = 0; k < entry->nargs; k++)
                        names[k] = entry->args[k].name;
                    snprintf(kind, sizeof kind, "%s argument", what);
                    if (comp_torch_only_arg(entry, a->name)) {
                        /* "unknown" would mislead someone who knows torch */
                        gram_error(env->src, a->name_loc, "netc does not implement torch's '%s' argument of %s",
                                   a->name, what);
                        gram_note_names(env->src, a->name_loc, kind, names, entry->nargs);
                    } else {
                        gram_unknown_name(env->src, a->name_loc, kind, a->name, names, entry->nargs);
                    }
                }
                ok = 0;
                continue;
            }
        }
        if (given[slot]) {
            gram_error(env->src, a->name ? a->name_loc : a->value->loc, "%s argument '%s' given twice", what,
                       entry->args[slot].name);
            ok = 0;
            continue;
        }
        given[slot] = a;
        ok &= store_value(env, what, &entry->args[slot], slot, a->value, out, init_expr);
    }
    for (int k = 0; k < entry->nargs; k++) {
        const comp_arg_spec *s = &entry->args[k];
        if (given[k])
            continue;
        if (s->required) {
            gram_error(env->src, call_loc, "%s needs argument '%s'", what, s->name);
            ok = 0;
        }
        store_default(s, k, out);
    }
    return ok;
}

/* Shared by both spellings of an init: the name, then the arguments. */
static int resolve_init(comp_env *env, const char *name, gram_loc loc, const gram_arg *args, int nargs,
                        comp_init *out)
{
    const char *names[COMP_INIT_COUNT];
    int k = comp_lookup(comp_inits, COMP_INIT_COUNT, name);
    if (k < 0) {
        comp_names(comp_inits, COMP_INIT_COUNT, names);
        gram_unknown_name(env->src, loc, "init", name, names, COMP_INIT_COUNT);
        return 0;
    }
    out->kind = (comp_init_kind)k;
    out->loc = loc;
    if (!comp_match_args(env, &comp_inits[k], comp_inits[k].name, loc, args, nargs, &out->args, NULL))
        return 0;
    if (k == COMP_INIT_UNIFORM && out->args.num[0][0] > out->args.num[1][0]) {
        gram_error(env->src, loc, "uniform needs a <= b, got a=%g b=%g", out->args.num[0][0],
                   out->args.num[1][0]);
        return 0;
    }
    if (k == COMP_INIT_TRUNC_NORMAL) {
        const comp_entry *e = &comp_inits[k];
        double mean = comp_arg_num(e, &out->args, "mean"), std = comp_arg_num(e, &out->args, "std");
        double a = comp_arg_num(e, &out->args, "a"), b = comp_arg_num(e, &out->args, "b");
        if (a >= b) {
            gram_error(env->src, loc, "trunc_normal needs a < b, got a=%g b=%g", a, b);
            return 0;
        }
        /* torch warns alike: so far into a tail, the inverse-CDF method
         * loses accuracy. */
        if (mean < a - 2 * std || mean > b + 2 * std)
            gram_warning(env->src, loc,
                         "trunc_normal mean=%g is more than 2 std from [a, b] = [%g, %g]; the values may not "
                         "follow the truncated distribution",
                         mean, a, b);
    }
    return 1;
}

int comp_resolve_init_expr(comp_env *env, const gram_expr *e, comp_init *out)
{
    return resolve_init(env, e->str, e->loc, e->kind == GRAM_EXPR_CALL ? e->args : NULL,
                        e->kind == GRAM_EXPR_CALL ? e->nargs : 0, out);
}

int comp_resolve_init_call(comp_env *env, const gram_call *call, comp_init *out)
{
    return resolve_init(env, call->name, call->loc, call->args, call->nargs, out);
}
