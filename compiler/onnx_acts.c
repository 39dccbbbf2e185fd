/* onnx_acts.c — onnx_acts.def's rows parsed into node patterns. */
#include "onnx_acts.h"

#include <stdlib.h>
#include <string.h>

static const struct {
    comp_act act;
    const char *guard, *pattern;
} rows[] = {
#define ONNX_ACT(id, guard, pattern) {COMP_ACT_##id, guard, pattern},
#include "onnx_acts.def"
#undef ONNX_ACT
};
#define NROWS (int)(sizeof rows / sizeof *rows)

static const char *skip_space(const char *s)
{
    while (*s == ' ')
        s++;
    return s;
}

/* One token: x, #k, a, b or a number; returns the text after it. */
static const char *parse_ref(const char *s, comp_pat_ref *r)
{
    char *end;
    s = skip_space(s);
    if (*s == 'x' || *s == 'a' || *s == 'b') {
        r->kind = *s == 'x' ? COMP_PAT_X : *s == 'a' ? COMP_PAT_A : COMP_PAT_B;
        return s + 1;
    }
    if (*s == '#') {
        r->kind = COMP_PAT_NODE;
        r->node = (int)strtol(s + 1, &end, 10);
        return end;
    }
    r->kind = COMP_PAT_NUM;
    r->num = strtod(s, &end);
    return end;
}

static void parse_row(int i, comp_pat *p)
{
    memset(p, 0, sizeof *p);
    p->act = rows[i].act;
    for (const char *g = rows[i].guard; *g;) { /* "a=V,b=W" */
        int k = *g == 'a' ? 0 : 1;
        char *end;
        p->has[k] = 1;
        p->val[k] = strtod(g + 2, &end);
        g = *end == ',' ? end + 1 : end;
    }
    const char *s = rows[i].pattern;
    while (*s && p->nnodes < COMP_ONNX_PAT_NODES) {
        comp_pat_node *n = &p->nodes[p->nnodes++];
        s = skip_space(s);
        size_t len = strcspn(s, "[ ;");
        memcpy(n->op, s, len < sizeof n->op - 1 ? len : sizeof n->op - 1);
        s += len;
        if (*s == '[') { /* attributes name=value, comma-separated */
            s++;
            while (*s && *s != ']' && n->nattr < COMP_ONNX_PAT_ARGS) {
                size_t nl = strcspn(s, "=");
                memcpy(n->attr_name[n->nattr], s, nl < 11 ? nl : 11);
                s = parse_ref(s + nl + 1, &n->attr[n->nattr++]);
                if (*s == ',')
                    s++;
            }
            s += *s == ']';
        }
        for (s = skip_space(s); *s && *s != ';' && n->nin < COMP_ONNX_PAT_ARGS; s = skip_space(s))
            s = parse_ref(s, &n->in[n->nin++]);
        s += *s == ';';
    }
}

const comp_pat *comp_onnx_act_pats(int *n)
{
    /* Parsed on first use, by export and import, which run on netc's main
     * thread alone. */
    static comp_pat pats[NROWS];
    static int parsed;
    if (!parsed) {
        for (int i = 0; i < NROWS; i++)
            parse_row(i, &pats[i]);
        parsed = 1;
    }
    *n = NROWS;
    return pats;
}
