/* emit_select.c — the kernels' text cut into file-scope items, and the
 * closure of those an emitted model uses (emit_select.h).
 *
 * Names are matched as bare identifiers, blind to C's scopes and name
 * spaces: a local variable or a struct field spelt like a file-scope name
 * takes that name's items too.  That can only add code, never leave out
 * code that is needed; the kernel files keep their file-scope names
 * distinct anyway (they share one translation unit when embedded). */
#include "emit_select.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

typedef enum { TOK_END, TOK_IDENT, TOK_NUMBER, TOK_STRING, TOK_PUNCT, TOK_DIRECTIVE } tok_kind;

typedef struct {
    tok_kind kind;
    const char *s;
    size_t len;
} tok;

typedef struct {
    const char *s, *end;
    int bol; /* s is at the start of a line, where a '#' starts a directive */
} scanner;

static int ident_start(int c)
{
    return isalpha(c) || c == '_';
}

static int ident_char(int c)
{
    return isalnum(c) || c == '_';
}

/* The next token, or TOK_END at the end of the text. */
static tok next_tok(scanner *sc)
{
    const char *s = sc->s, *end = sc->end;
    while (s < end && isspace((unsigned char)*s)) {
        if (*s == '\n')
            sc->bol = 1;
        s++;
    }
    tok t = {TOK_END, s, 0};
    if (s == end) {
        sc->s = s;
        return t;
    }
    const unsigned char c = (unsigned char)*s;
    if (c == '#' && sc->bol) {
        while (s < end && *s != '\n')
            s++;
        t.kind = TOK_DIRECTIVE;
    } else if (ident_start(c)) {
        while (s < end && ident_char((unsigned char)*s))
            s++;
        t.kind = TOK_IDENT;
    } else if (isdigit(c) || (c == '.' && s + 1 < end && isdigit((unsigned char)s[1]))) {
        /* A preprocessing number (1.5e-3f, 0x1p-4): its letters are no names. */
        s++;
        while (s < end && (ident_char((unsigned char)*s) || *s == '.' ||
                           ((*s == '+' || *s == '-') && strchr("eEpP", s[-1]))))
            s++;
        t.kind = TOK_NUMBER;
    } else if (c == '"' || c == '\'') {
        s++;
        while (s < end && *s != (char)c && *s != '\n') {
            if (*s == '\\' && s + 1 < end)
                s++;
            s++;
        }
        if (s < end && *s == (char)c)
            s++;
        t.kind = TOK_STRING;
    } else {
        s++;
        t.kind = TOK_PUNCT;
    }
    sc->bol = 0;
    t.len = (size_t)(s - t.s);
    sc->s = s;
    return t;
}

static int is_punct(const tok *t, char c)
{
    return t->kind == TOK_PUNCT && t->s[0] == c;
}

static int is_word(const tok *t, const char *w)
{
    return t->kind == TOK_IDENT && t->len == strlen(w) && memcmp(t->s, w, t->len) == 0;
}

/* Words that are never a declared name, though one may precede '(' or
 * ';' at file scope. */
static int is_keyword(const tok *t)
{
    static const char *const words[] = {
        "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else", "enum",
        "extern", "float", "for", "goto", "if", "inline", "int", "long", "register", "restrict", "return",
        "short", "signed", "sizeof", "static", "struct", "switch", "typedef", "union", "unsigned", "void",
        "volatile", "while", "_Alignas", "_Alignof", "_Atomic", "_Bool", "_Complex", "_Generic",
        "_Imaginary", "_Noreturn", "_Static_assert", "_Thread_local", "__attribute__", "__restrict",
        "__restrict__", "__inline", "__inline__", "__extension__", "__asm__", "asm", "__typeof__", "typeof",
    };
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        if (is_word(t, words[i]))
            return 1;
    return 0;
}

static int is_tag_keyword(const tok *t)
{
    return is_word(t, "struct") || is_word(t, "union") || is_word(t, "enum");
}

typedef struct {
    size_t start, end; /* bytes of the text: leading blank lines, the item, its line's end */
    int always;        /* defines no name: taken whatever the model uses */
    int taken;
} item;

typedef struct {
    const char *name;
    size_t len;
    int item;
    int seen; /* the closure has reached this name */
} def;

typedef struct {
    const char *text;
    item *items;
    int nitems, items_cap;
    def *defs;
    int ndefs, defs_cap;
} cut;

static int add_def(cut *k, const tok *t)
{
    if (k->ndefs == k->defs_cap) {
        int cap = k->defs_cap ? 2 * k->defs_cap : 256;
        def *d = realloc(k->defs, (size_t)cap * sizeof *d);
        if (!d)
            return -1;
        k->defs = d;
        k->defs_cap = cap;
    }
    k->defs[k->ndefs++] = (def){t->s, t->len, k->nitems, 0};
    return 0;
}

/* Close the item [start, end), end just past its last token: it runs on
 * through the blanks that end its line. */
static int add_item(cut *k, size_t start, size_t end, int ndefs_before, size_t text_len)
{
    if (k->nitems == k->items_cap) {
        int cap = k->items_cap ? 2 * k->items_cap : 128;
        item *it = realloc(k->items, (size_t)cap * sizeof *it);
        if (!it)
            return -1;
        k->items = it;
        k->items_cap = cap;
    }
    while (end < text_len && (k->text[end] == ' ' || k->text[end] == '\t'))
        end++;
    if (end < text_len && k->text[end] == '\n')
        end++;
    k->items[k->nitems++] = (item){start, end, k->ndefs == ndefs_before, 0};
    return 0;
}

/* Cut the text into items and note the names each defines.  An item ends
 * at a ';' outside every bracket, or at the '}' closing a function body
 * (a '{' at file scope right after a ')'). */
static int split(cut *k)
{
    const size_t text_len = strlen(k->text);
    scanner sc = {k->text, k->text + text_len, 1};
    size_t start = 0;
    int depth = 0, body = 0, ntok = 0, ndefs_before = 0;
    int enum_depth = -1; /* depth inside the enum body being read */
    tok prev2 = {TOK_END, k->text, 0}, prev = prev2, t = next_tok(&sc);
    while (t.kind != TOK_END) {
        const tok next = next_tok(&sc);
        size_t after = (size_t)(t.s + t.len - k->text);
        if (t.kind == TOK_DIRECTIVE && ntok == 0) {
            if (add_item(k, start, after, k->ndefs, text_len) != 0)
                return -1;
            k->items[k->nitems - 1].always = 1;
            start = k->items[k->nitems - 1].end;
            prev2 = prev = (tok){TOK_END, t.s, 0};
            t = next;
            continue;
        }
        ntok++;
        if (t.kind == TOK_IDENT && !is_keyword(&t)) {
            int defines = 0;
            if (depth == 0 && (is_punct(&next, '(') || is_punct(&next, '[') || is_punct(&next, '=') ||
                               is_punct(&next, ',') || is_punct(&next, ';')))
                defines = 1; /* a declarator's name: function, variable, typedef */
            else if (depth == 1 && is_punct(&prev, '*') && is_punct(&prev2, '(') && is_punct(&next, ')'))
                defines = 1; /* (*name): a function pointer or its typedef */
            else if (is_tag_keyword(&prev) && (is_punct(&next, '{') || is_punct(&next, ';')))
                defines = 1; /* a struct, union or enum tag defined or declared */
            else if (depth == enum_depth && (is_punct(&prev, '{') || is_punct(&prev, ',')))
                defines = 1; /* an enum constant */
            if (defines && add_def(k, &t) != 0)
                return -1;
        }
        int ends = 0;
        if (is_punct(&t, '{')) {
            if (depth == 0 && is_punct(&prev, ')'))
                body = 1;
            if (is_word(&prev, "enum") || (is_word(&prev2, "enum") && prev.kind == TOK_IDENT))
                enum_depth = depth + 1;
            depth++;
        } else if (is_punct(&t, '(') || is_punct(&t, '[')) {
            depth++;
        } else if (is_punct(&t, ')') || is_punct(&t, ']') || is_punct(&t, '}')) {
            if (depth > 0)
                depth--;
            if (depth < enum_depth)
                enum_depth = -1;
            ends = depth == 0 && body && is_punct(&t, '}');
        } else if (is_punct(&t, ';') && depth == 0) {
            ends = 1;
        }
        if (ends) {
            if (add_item(k, start, after, ndefs_before, text_len) != 0)
                return -1;
            start = k->items[k->nitems - 1].end;
            ndefs_before = k->ndefs;
            body = ntok = 0;
            enum_depth = -1;
            prev2 = prev = (tok){TOK_END, t.s, 0};
        } else {
            prev2 = prev;
            prev = t;
        }
        t = next;
    }
    if (ntok > 0) { /* an unterminated tail: keep it, the compiler will judge it */
        if (add_item(k, start, text_len, k->ndefs, text_len) != 0)
            return -1;
        k->items[k->nitems - 1].always = 1;
    }
    return 0;
}

static int cmp_name(const char *a, size_t la, const char *b, size_t lb)
{
    int c = memcmp(a, b, la < lb ? la : lb);
    return c ? c : (la > lb) - (la < lb);
}

/* By name, then by item: the sort is not stable, the order must be fixed. */
static int cmp_def(const void *pa, const void *pb)
{
    const def *a = pa, *b = pb;
    int c = cmp_name(a->name, a->len, b->name, b->len);
    return c ? c : (a->item > b->item) - (a->item < b->item);
}

/* Take every item defining name (len bytes), pushing the newly taken on
 * stack. */
static void reach(cut *k, const char *name, size_t len, int *stack, int *top)
{
    int lo = 0, hi = k->ndefs;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (cmp_name(k->defs[mid].name, k->defs[mid].len, name, len) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (int i = lo; i < k->ndefs && cmp_name(k->defs[i].name, k->defs[i].len, name, len) == 0; i++) {
        if (k->defs[i].seen)
            return;
        k->defs[i].seen = 1;
        item *it = &k->items[k->defs[i].item];
        if (!it->taken) {
            it->taken = 1;
            stack[(*top)++] = k->defs[i].item;
        }
    }
}

/* Reach every name the code [s, s + len) mentions. */
static void reach_all(cut *k, const char *s, size_t len, int *stack, int *top)
{
    scanner sc = {s, s + len, 1};
    for (tok t = next_tok(&sc); t.kind != TOK_END; t = next_tok(&sc))
        if (t.kind == TOK_IDENT)
            reach(k, t.s, t.len, stack, top);
}

int comp_emit_select(FILE *out, const char *kernels, const char *use, size_t use_len)
{
    cut k = {kernels, NULL, 0, 0, NULL, 0, 0};
    int status = -1;
    int *stack = NULL;
    if (split(&k) != 0)
        goto done;
    if (k.ndefs > 0)
        qsort(k.defs, (size_t)k.ndefs, sizeof *k.defs, cmp_def);
    stack = malloc(((size_t)k.nitems + 1) * sizeof *stack);
    if (!stack)
        goto done;
    int top = 0;
    for (int i = 0; i < k.nitems; i++)
        if (k.items[i].always) {
            k.items[i].taken = 1;
            stack[top++] = i;
        }
    reach_all(&k, use, use_len, stack, &top);
    while (top > 0) {
        const item *it = &k.items[stack[--top]];
        reach_all(&k, kernels + it->start, it->end - it->start, stack, &top);
    }
    for (int i = 0; i < k.nitems; i++)
        if (k.items[i].taken)
            fwrite(kernels + k.items[i].start, 1, k.items[i].end - k.items[i].start, out);
    status = 0;
done:
    free(stack);
    free(k.items);
    free(k.defs);
    return status;
}
