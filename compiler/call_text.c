/* call_text.c — a resolved catalog call spelled as a spec would write it,
 * for explain's listing and the layer signature a checkpoint stores. */
#include <stdio.h>

#include "model.h"

/* See model.h. */
void comp_call_text(const comp_entry *e, const comp_args *a, char *buf, size_t size)
{
    size_t len = (size_t)snprintf(buf, size, "%s(", e->name);
    int first = 1;
    for (int i = 0; i < e->nargs && len < size; i++) {
        const comp_arg_spec *s = &e->args[i];
        if (s->type == COMP_T_INIT)
            continue;
        len += (size_t)snprintf(buf + len, size - len, "%s%s=", first ? "" : ", ", s->name);
        first = 0;
        if (len >= size)
            break;
        if (s->type == COMP_T_STR) {
            len += (size_t)snprintf(buf + len, size - len, "\"%s\"", a->str[i] ? a->str[i] : "");
        } else if (s->type == COMP_T_LIST) {
            /* Python's tuple spelling: (), (3,), (3, 5) */
            len += (size_t)snprintf(buf + len, size - len, "(");
            for (int k = 0; k < a->nlist && len < size; k++)
                len += (size_t)snprintf(buf + len, size - len, "%s%g", k ? ", " : "", a->list[k]);
            if (len < size)
                len += (size_t)snprintf(buf + len, size - len, a->nlist == 1 ? ",)" : ")");
        } else if (s->type == COMP_T_BOOL) {
            len += (size_t)snprintf(buf + len, size - len, "%s", a->num[i][0] != 0 ? "true" : "false");
        } else if (s->type == COMP_T_PAIR || (s->type == COMP_T_SIZE && a->ntuple[i] == 2)) {
            len += (size_t)snprintf(buf + len, size - len, "(%g, %g)", a->num[i][0], a->num[i][1]);
        } else {
            len += (size_t)snprintf(buf + len, size - len, "%g", a->num[i][0]);
        }
    }
    if (len < size)
        snprintf(buf + len, size - len, ")");
}
