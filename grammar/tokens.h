/* tokens.h — a spec as the lexer sees it, comments included: the tokens
 * `netc fmt` lays out again.  Produced by the same flex lexer the parser
 * reads from, so the formatter can never split or join a token otherwise
 * than the parser would. */
#ifndef NETC_GRAMMAR_TOKENS_H
#define NETC_GRAMMAR_TOKENS_H

#include "diag.h"

typedef enum {
    GRAM_TOK_MODEL,      /* model */
    GRAM_TOK_STATEMENT,  /* a statement keyword: let input layers init loss optimizer train data schedule clip */
    GRAM_TOK_REPEAT,     /* repeat */
    GRAM_TOK_WORD,       /* an identifier, true/false/True/False, or `init` naming an argument */
    GRAM_TOK_NUMBER,
    GRAM_TOK_STRING,
    GRAM_TOK_COMMENT,    /* # to the end of the line, the newline excluded */
    GRAM_TOK_PUNCT       /* -> ( ) { } , = + - * / : see punct */
} gram_tok_kind;

typedef struct {
    gram_tok_kind kind;
    char punct;          /* PUNCT: the character; '>' for "->" */
    int line, col;       /* where it starts (1-based) */
    const char *text;    /* into the source's text */
    int len;
} gram_token;

/* The tokens of src in order, in a malloc'd array (*n of them), or NULL
 * when memory runs out (*n is 0 then).  The lexer reports what it would
 * report while parsing (stray characters, bad numbers) through src; a
 * caller that needs a well-formed spec parses it first. */
gram_token *gram_tokenize(gram_source *src, int *n);

#endif
