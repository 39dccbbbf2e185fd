/* tokens.c — running the lexer alone, comments kept. */
#include "tokens.h"

#include <stdlib.h>
#include <string.h>

#include "astbuild.h"
#include "parser.h"
#include "lexer.h"

/* What a lexer token kind is for the formatter. */
static gram_tok_kind kind_of(int tok, char *punct)
{
    static const struct {
        int tok;
        char ch;
    } puncts[] = {{ARROW, '>'}, {LPAREN, '('}, {RPAREN, ')'}, {LBRACE, '{'}, {RBRACE, '}'}, {RBRACE_IN, '}'},
                  {COMMA, ','}, {EQ, '='},     {PLUS, '+'},   {MINUS, '-'},  {STAR, '*'},   {SLASH, '/'}};
    *punct = 0;
    for (size_t i = 0; i < sizeof puncts / sizeof *puncts; i++)
        if (puncts[i].tok == tok) {
            *punct = puncts[i].ch;
            return GRAM_TOK_PUNCT;
        }
    switch (tok) {
    case MODEL: return GRAM_TOK_MODEL;
    case LET: case INPUT: case LAYERS: case INIT: case LOSS: case OPTIMIZER: case TRAIN: case DATA:
    case SCHEDULE: case CLIP: case TRANSFORM: case AUGMENT:
        return GRAM_TOK_STATEMENT;
    case REPEAT: return GRAM_TOK_REPEAT;
    case NUMBER: return GRAM_TOK_NUMBER;
    case STRING: return GRAM_TOK_STRING;
    case COMMENT: return GRAM_TOK_COMMENT;
    default: return GRAM_TOK_WORD; /* IDENT, TRUE, FALSE */
    }
}

gram_token *gram_tokenize(gram_source *src, int *n)
{
    *n = 0;
    /* Byte offset of each line's start: locations are line and column. */
    int nlines = 1;
    for (size_t i = 0; i < src->len; i++)
        nlines += src->text[i] == '\n';
    size_t *starts = malloc((size_t)nlines * sizeof *starts);
    struct gram_arena *a = gram_arena_new();
    gram_pstate *st = calloc(1, sizeof *st);
    gram_token *toks = NULL;
    int cap = 0, count = 0, ok = 0;
    if (!starts || !a || !st)
        goto done;
    starts[0] = 0;
    for (size_t i = 0, l = 1; i < src->len; i++)
        if (src->text[i] == '\n')
            starts[l++] = i + 1;
    st->src = src;
    st->arena = a;
    st->errors0 = src->nerrors;
    st->line = st->col = 1;
    st->keep_comments = 1;
    if (gram_yylex_init_extra(st, &st->scanner))
        goto done;
    gram_yy_scan_bytes(src->text ? src->text : "", (int)src->len, st->scanner);
    for (;;) {
        GRAM_YYSTYPE lval;
        gram_loc loc;
        int tok = gram_yylex(&lval, &loc, st->scanner);
        if (tok == GRAM_YYEOF || tok <= 0)
            break;
        if (count == cap) {
            cap = cap ? 2 * cap : 256;
            gram_token *grown = realloc(toks, (size_t)cap * sizeof *toks);
            if (!grown)
                goto destroy;
            toks = grown;
        }
        gram_token *t = &toks[count++];
        t->kind = kind_of(tok, &t->punct);
        t->line = loc.first_line;
        t->col = loc.first_column;
        t->text = src->text + starts[loc.first_line - 1] + (size_t)(loc.first_column - 1);
        /* Every token lies on one line (strings and comments stop at a newline). */
        t->len = loc.last_column - loc.first_column + 1;
    }
    ok = 1;
destroy:
    gram_yylex_destroy(st->scanner);
done:
    free(starts);
    free(st);
    gram_arena_free(a);
    if (!ok) {
        free(toks);
        return NULL;
    }
    *n = count;
    return toks;
}
