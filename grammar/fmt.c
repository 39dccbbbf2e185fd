/* fmt.c — laying a spec's tokens out again (see fmt.h). */
#include "fmt.h"

#include <stdlib.h>
#include <string.h>

#include "astbuild.h"
#include "tokens.h"

/* A growable text. */
typedef struct {
    char *s;
    size_t len, cap;
    int oom;
} text;

static void put(text *t, const char *s, size_t n)
{
    if (t->oom)
        return;
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 1024;
        while (cap < t->len + n + 1)
            cap *= 2;
        char *grown = realloc(t->s, cap);
        if (!grown) {
            t->oom = 1;
            return;
        }
        t->s = grown;
        t->cap = cap;
    }
    memcpy(t->s + t->len, s, n);
    t->len += n;
    t->s[t->len] = 0;
}

static void spaces(text *t, int n)
{
    for (int i = 0; i < n; i++)
        put(t, " ", 1);
}

static int is(const gram_token *t, char punct)
{
    return t && t->kind == GRAM_TOK_PUNCT && t->punct == punct;
}

/* A value that an operator can follow: whatever ends an operand. */
static int ends_operand(const gram_token *t)
{
    return t->kind == GRAM_TOK_WORD || t->kind == GRAM_TOK_NUMBER || t->kind == GRAM_TOK_STRING || is(t, ')');
}

/* Whether toks[i] is a minus sign with no operand before it. */
static int unary_minus(const gram_token *toks, int i)
{
    return is(&toks[i], '-') && !(i >= 1 && ends_operand(&toks[i - 1]));
}

/* Where the author's line break may stay. */
static int breakable(const gram_token *p, const gram_token *t)
{
    return is(t, '>') || is(p, '>') || is(p, '(') || is(p, '{') || is(p, ',') || is(t, ')') || is(t, '}');
}

/* The next token that is not a comment, from i on; NULL at the end. */
static const gram_token *next_code(const gram_token *toks, int n, int i)
{
    for (; i < n; i++)
        if (toks[i].kind != GRAM_TOK_COMMENT)
            return &toks[i];
    return NULL;
}

/* One open bracket: the indent of the line it opened on. */
typedef struct {
    int indent;
} open_bracket;

/* A line holding a trailing comment: where the code ends and where the
 * comment starts in the text, for the alignment pass. */
typedef struct {
    size_t line_start, comment;
    int width, run;
} trailing;

/* Pad trailing comments of consecutive lines to one column. */
static char *align(const char *s, size_t len, const trailing *tr, int ntr, size_t *outlen)
{
    text out = {0};
    size_t pos = 0;
    for (int i = 0; i < ntr;) {
        int j = i, width = 0;
        while (j < ntr && tr[j].run == tr[i].run) {
            if (tr[j].width > width)
                width = tr[j].width;
            j++;
        }
        for (int k = i; k < j; k++) {
            put(&out, s + pos, tr[k].line_start + (size_t)tr[k].width - pos);
            spaces(&out, width - tr[k].width + 2);
            pos = tr[k].comment;
        }
        i = j;
    }
    put(&out, s + pos, len - pos);
    *outlen = out.len;
    if (out.oom) {
        free(out.s);
        return NULL;
    }
    return out.s ? out.s : calloc(1, 1);
}

/* A comment's text without trailing white space. */
static int comment_len(const gram_token *k)
{
    int l = k->len;
    while (l > 1 && (k->text[l - 1] == ' ' || k->text[l - 1] == '\t' || k->text[l - 1] == '\r'))
        l--;
    return l;
}

/* Whether text has src's tokens, in order, comments compared without
 * their trailing white space: what the layout promises.  -1 when out of
 * memory. */
static int same_tokens(gram_source *src, const char *out)
{
    gram_source *o = gram_source_from_string(src->name, out);
    int na, nb, same = -1;
    gram_token *a = gram_tokenize(src, &na), *b = o ? gram_tokenize(o, &nb) : NULL;
    if ((a || na == 0) && (b || (o && nb == 0))) {
        same = na == nb;
        for (int i = 0; same && i < na; i++) {
            int la = a[i].kind == GRAM_TOK_COMMENT ? comment_len(&a[i]) : a[i].len;
            int lb = b[i].kind == GRAM_TOK_COMMENT ? comment_len(&b[i]) : b[i].len;
            same = a[i].kind == b[i].kind && la == lb && memcmp(a[i].text, b[i].text, (size_t)la) == 0;
        }
    }
    free(a);
    free(b);
    gram_source_free(o);
    return same;
}

static char *layout(gram_source *src, size_t *len);

char *gram_format(gram_source *src, size_t *len)
{
    char *out = layout(src, len);
    if (!out)
        return NULL;
    int same = same_tokens(src, out);
    if (same != 1) {
        if (same == 0) /* a bug of the layout, never the author's */
            gram_error(src, GRAM_NO_LOC, "internal error: the canonical layout would change the spec's tokens; "
                                         "the file is left as it was");
        free(out);
        return NULL;
    }
    return out;
}

/* The layout itself: NULL when src does not parse or memory runs out. */
static char *layout(gram_source *src, size_t *len)
{
    gram_spec *spec = gram_parse(src);
    int errors = src->nerrors;
    gram_spec_free(spec);
    if (!spec || errors)
        return NULL;
    int n;
    gram_token *toks = gram_tokenize(src, &n);
    text t = {0};
    trailing *tr = calloc((size_t)n + 1, sizeof *tr);
    open_bracket stack[64 + 2];
    int depth = 0;          /* brackets open besides the model's braces */
    int in_model = 0;
    int stmt_is_let = 0;
    int line_indent = 0;    /* indent of the current output line */
    size_t line_start = 0;
    int ntr = 0, run = 0, last_trailing_line = -2, out_line = 0;
    if ((!toks && n) || !tr)
        t.oom = 1;
    for (int i = 0; i < n && !t.oom; i++) {
        const gram_token *k = &toks[i], *p = i ? &toks[i - 1] : NULL;
        int newline = 0, blank = 0;
        if (p) {
            int gap = k->line - p->line; /* every token lies on one line */
            if (p->kind == GRAM_TOK_COMMENT)
                newline = 1;
            else if (k->kind == GRAM_TOK_COMMENT)
                newline = gap > 0;
            else if (k->kind == GRAM_TOK_STATEMENT || k->kind == GRAM_TOK_MODEL)
                newline = 1;
            else if (in_model && depth == 0 && (is(k, '}') || is(p, '{')))
                newline = 1;
            else
                newline = gap > 0 && breakable(p, k);
            blank = newline && gap > 1 && depth == 0;
        }
        /* The statement a keyword starts: only a let's = is spaced. */
        if (k->kind == GRAM_TOK_STATEMENT)
            stmt_is_let = k->len == 3 && memcmp(k->text, "let", 3) == 0;
        if (newline) {
            put(&t, "\n", 1);
            out_line++;
            if (blank) {
                put(&t, "\n", 1);
                out_line++;
            }
            /* The indent: the statement level, or a continuation of it.  A
             * comment line takes the indent of the code after it. */
            const gram_token *c = k->kind == GRAM_TOK_COMMENT ? next_code(toks, n, i) : k;
            int closes = c && (is(c, ')') || is(c, '}')) && k == c;
            if (depth > 0)
                line_indent = stack[depth - 1].indent + (closes ? 0 : 4);
            else if (!in_model)
                line_indent = 0;
            else if (closes)
                line_indent = 0;
            else if (!c || is(c, '}') || c->kind == GRAM_TOK_STATEMENT)
                line_indent = 4;
            else
                line_indent = 8;
            line_start = t.len;
            spaces(&t, line_indent);
        } else if (p) {
            int space;
            if (k->kind == GRAM_TOK_COMMENT) {
                /* A trailing comment: aligned later. */
                if (out_line != last_trailing_line + 1)
                    run++;
                last_trailing_line = out_line;
                tr[ntr].line_start = line_start;
                tr[ntr].width = (int)(t.len - line_start);
                tr[ntr].comment = t.len;
                tr[ntr].run = run;
                ntr++;
                space = 0;
            } else if (is(k, ',') || is(k, ')') || is(p, '('))
                space = 0;
            else if (is(k, '=') || is(p, '='))
                space = stmt_is_let && depth == 0;
            else if (is(k, '('))
                space = !(p->kind == GRAM_TOK_WORD || unary_minus(toks, i - 1));
            else if (unary_minus(toks, i - 1))
                space = 0;
            else
                space = 1;
            if (space)
                put(&t, " ", 1);
        }
        if (k->kind == GRAM_TOK_COMMENT) {
            put(&t, k->text, (size_t)comment_len(k));
        } else {
            put(&t, k->text, (size_t)k->len);
        }
        /* Brackets: the model's braces set the statement level. */
        if (is(k, '{') && !in_model) {
            in_model = 1;
        } else if (is(k, '(') || is(k, '{')) {
            if (depth < 64)
                stack[depth++].indent = line_indent;
        } else if (is(k, ')') || is(k, '}')) {
            if (depth > 0)
                depth--;
            else if (is(k, '}'))
                in_model = 0;
        }
    }
    put(&t, "\n", 1);
    free(toks);
    char *out = NULL;
    if (!t.oom)
        out = align(t.s, t.len, tr, ntr, len);
    free(t.s);
    free(tr);
    return out;
}
