/* argfmt.c — resolved arguments written back as spec text (argfmt.h). */
#include "argfmt.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void comp_text_printf(comp_text *t, const char *fmt, ...)
{
    if (t->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->s ? t->s + t->len : NULL, t->s ? t->cap - t->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->oom = 1;
            return;
        }
        if (t->s && t->len + (size_t)n < t->cap) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = (t->cap ? t->cap * 2 : 256) + (size_t)n;
        char *s = realloc(t->s, cap);
        if (!s) {
            t->oom = 1;
            return;
        }
        t->s = s;
        t->cap = cap;
    }
}

void comp_text_free(comp_text *t)
{
    free(t->s);
    memset(t, 0, sizeof *t);
}

void comp_fmt_number(double v, int as_float, char *buf, size_t size)
{
    if (isnan(v)) {
        snprintf(buf, size, "None");
        return;
    }
    if (isinf(v)) { /* the lexer reads `inf` (norm_type=inf) */
        snprintf(buf, size, "%sinf", v < 0 ? "-" : "");
        return;
    }
    for (int digits = 1; digits <= 17; digits++) {
        snprintf(buf, size, "%.*g", digits, v);
        double back = strtod(buf, NULL);
        if (as_float ? (float)back == (float)v : back == v)
            break;
    }
    /* "1e-05" is a number the lexer reads; a spec would write 1e-5, but
     * both compile to the same value. */
}

void comp_args_defaults(const comp_entry *entry, comp_args *a)
{
    memset(a, 0, sizeof *a);
    for (int i = 0; i < entry->nargs; i++) {
        const comp_arg_spec *s = &entry->args[i];
        a->num[i][0] = s->def[0];
        a->num[i][1] = s->def[1];
        if (s->type == COMP_T_STR) {
            a->str[i] = s->sdef;
            a->num[i][0] = comp_choice_index(s->choices, s->sdef);
        }
    }
}

/* Whether argument i of a differs from the schema's default. */
static int not_default(const comp_arg_spec *s, const comp_args *a, int i)
{
    switch (s->type) {
    case COMP_T_STR:
        return strcmp(a->str[i], s->sdef) != 0;
    case COMP_T_LIST:
        return 1;
    case COMP_T_PAIR:
        return a->num[i][0] != s->def[0] || a->num[i][1] != s->def[1];
    case COMP_T_SIZE:
        return a->str[i] || a->num[i][0] != s->def[0] || a->num[i][1] != s->def[1];
    case COMP_T_INIT:
        return 0;
    default:
        /* NaN (None) differs from a numeric default, and equals a NaN one */
        return isnan(a->num[i][0]) ? !isnan(s->def[0]) : a->num[i][0] != s->def[0];
    }
}

static void fmt_value(comp_text *t, const comp_arg_spec *s, const comp_args *a, int i)
{
    char n0[40], n1[40];
    switch (s->type) {
    case COMP_T_BOOL:
        comp_text_printf(t, "%s", a->num[i][0] != 0 ? "true" : "false");
        break;
    case COMP_T_STR:
        comp_text_printf(t, "\"%s\"", a->str[i]);
        break;
    case COMP_T_PAIR:
        comp_fmt_number(a->num[i][0], 0, n0, sizeof n0);
        comp_fmt_number(a->num[i][1], 0, n1, sizeof n1);
        comp_text_printf(t, "(%s, %s)", n0, n1);
        break;
    case COMP_T_LIST:
        comp_text_printf(t, "(");
        for (int k = 0; k < a->nlist; k++) {
            comp_fmt_number(a->list[k], 0, n0, sizeof n0);
            comp_text_printf(t, "%s%s", k ? ", " : "", n0);
        }
        comp_text_printf(t, a->nlist == 1 ? ",)" : ")");
        break;
    case COMP_T_SIZE:
        if (a->str[i]) {
            comp_text_printf(t, "\"%s\"", a->str[i]);
        } else if (a->ntuple[i] == 1) {
            comp_text_printf(t, "(%.0f,)", a->num[i][0]);
        } else if (a->ntuple[i] == 2) {
            comp_text_printf(t, "(%.0f, %.0f)", a->num[i][0], a->num[i][1]);
        } else {
            comp_text_printf(t, "%.0f", a->num[i][0]);
        }
        break;
    default:
        comp_fmt_number(a->num[i][0], 0, n0, sizeof n0);
        comp_text_printf(t, "%s", n0);
    }
}

void comp_fmt_call(comp_text *t, const comp_entry *entry, const comp_args *a, const comp_init *init)
{
    int n = 0;
    comp_text_printf(t, "%s", entry->name);
    for (int i = 0; i < entry->nargs; i++) {
        const comp_arg_spec *s = &entry->args[i];
        if (s->type == COMP_T_INIT) {
            if (!init)
                continue;
            comp_text_printf(t, "%s%s=", n++ ? ", " : "(", s->name);
            comp_fmt_call(t, &comp_inits[init->kind], &init->args, NULL);
            continue;
        }
        /* Positional while every argument before was written too. */
        if (s->required && n == i) {
            comp_text_printf(t, "%s", n++ ? ", " : "(");
            fmt_value(t, s, a, i);
        } else if (s->required || not_default(s, a, i)) {
            comp_text_printf(t, "%s%s=", n++ ? ", " : "(", s->name);
            fmt_value(t, s, a, i);
        }
    }
    if (n)
        comp_text_printf(t, ")");
}
