/* fmt.c — laying a spec's tokens out again (see fmt.h). */
#include "fmt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "astbuild.h"
#include "tokens.h"

/* The text is written to a memory stream (open_memstream): positions are
 * ftell's. */
static size_t pos(FILE *f)
{
    long p = ftell(f);
    return p < 0 ? 0 : (size_t)p;
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
    char *buf = NULL;
    FILE *out = open_memstream(&buf, outlen);
    if (!out)
        return NULL;
    size_t at = 0;
    for (int i = 0; i < ntr;) {
        int j = i, width = 0;
        while (j < ntr && tr[j].run == tr[i].run) {
            if (tr[j].width > width)
                width = tr[j].width;
            j++;
        }
        for (int k = i; k < j; k++) {
            fwrite(s + at, 1, tr[k].line_start + (size_t)tr[k].width - at, out);
            fprintf(out, "%*s", width - tr[k].width + 2, "");
            at = tr[k].comment;
        }
        i = j;
    }
    fwrite(s + at, 1, len - at, out);
    int bad = ferror(out);
    if (fclose(out) != 0 || bad) {
        free(buf);
        return NULL;
    }
    return buf;
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
    char *buf = NULL;
    size_t buflen = 0;
    FILE *t = open_memstream(&buf, &buflen);
    trailing *tr = calloc((size_t)n + 1, sizeof *tr);
    open_bracket stack[64 + 2];
    int depth = 0;          /* brackets open besides the model's braces */
    int in_model = 0;
    int stmt_is_let = 0;
    int line_indent = 0;    /* indent of the current output line */
    size_t line_start = 0;
    int ntr = 0, run = 0, last_trailing_line = -2, out_line = 0;
    int failed = (!toks && n) || !tr || !t;
    for (int i = 0; i < n && !failed; i++) {
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
            fputc('\n', t);
            out_line++;
            if (blank) {
                fputc('\n', t);
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
            line_start = pos(t);
            fprintf(t, "%*s", line_indent, "");
        } else if (p) {
            int space;
            if (k->kind == GRAM_TOK_COMMENT) {
                /* A trailing comment: aligned later. */
                if (out_line != last_trailing_line + 1)
                    run++;
                last_trailing_line = out_line;
                tr[ntr].line_start = line_start;
                tr[ntr].width = (int)(pos(t) - line_start);
                tr[ntr].comment = pos(t);
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
                fputc(' ', t);
        }
        if (k->kind == GRAM_TOK_COMMENT) {
            fwrite(k->text, 1, (size_t)comment_len(k), t);
        } else {
            fwrite(k->text, 1, (size_t)k->len, t);
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
    char *out = NULL;
    if (t) {
        fputc('\n', t);
        failed |= ferror(t);
        failed |= fclose(t) != 0;
    }
    free(toks);
    if (!failed)
        out = align(buf, buflen, tr, ntr, len);
    free(buf);
    free(tr);
    return out;
}
