/* rule_util.c — helpers shared by the layer rules. */
#include "rule_util.h"

#include <stdio.h>
#include <string.h>

int comp_rule_nd(const comp_layer *l)
{
    const char *name = comp_layers[l->kind].name;
    size_t n = strlen(name);
    return n > 2 && name[n - 1] == 'd' && name[n - 2] == '1' ? 1 : 2;
}

int comp_rule_int(const comp_layer *l, const char *name)
{
    return (int)comp_arg_num(&comp_layers[l->kind], &l->args, name);
}

int comp_rule_size(gram_source *src, const comp_layer *l, const char *name, int unit, int hw[2])
{
    const comp_entry *e = &comp_layers[l->kind];
    int i = comp_arg_index(e, name), nd = comp_rule_nd(l);
    const int n = l->args.ntuple[i];
    if (n != 0 && n != nd) {
        gram_error(src, l->loc, "%s %s must be an integer or a tuple of %d, got a tuple of %d", e->name, name, nd,
                   n);
        return 0;
    }
    hw[0] = nd == 1 ? unit : (int)l->args.num[i][0];
    hw[1] = nd == 1 ? (int)l->args.num[i][0] : (int)l->args.num[i][n == 0 ? 0 : 1];
    if (l->args.num[i][0] < 0) /* a string choice */
        hw[0] = hw[1] = -1;
    return 1;
}

void comp_rule_call(const comp_layer *l, char *buf, size_t size)
{
    const comp_entry *e = &comp_layers[l->kind];
    size_t len = (size_t)snprintf(buf, size, "%s(", e->name);
    for (int i = 0, k = 0; i < e->nargs && len < size; i++) {
        if (!e->args[i].required)
            continue;
        if (e->args[i].type == COMP_T_SIZE && l->args.ntuple[i] == 2)
            len += (size_t)snprintf(buf + len, size - len, "%s%s=(%g, %g)", k++ ? ", " : "", e->args[i].name,
                                    l->args.num[i][0], l->args.num[i][1]);
        else if (e->args[i].type == COMP_T_SIZE)
            len += (size_t)snprintf(buf + len, size - len, "%s%s=%g", k++ ? ", " : "", e->args[i].name,
                                    l->args.num[i][0]);
        else
            len += (size_t)snprintf(buf + len, size - len, "%s%g", k++ ? ", " : "", l->args.num[i][0]);
    }
    if (len < size)
        snprintf(buf + len, size - len, ")");
}

int comp_rule_chw(gram_source *src, const comp_layer *l, const char *prev, int nd, int chw[3])
{
    if (l->in.rank != nd + 1) {
        char call[128];
        comp_rule_call(l, call, sizeof call);
        gram_error(src, l->loc, "%s expects input of shape %s, but %s", call,
                   nd == 1 ? "(N, C, L)" : "(N, C, H, W)", prev);
        return 0;
    }
    chw[0] = l->in.dims[0];
    chw[1] = nd == 1 ? 1 : l->in.dims[1];
    chw[2] = l->in.dims[nd];
    return 1;
}

int comp_rule_batched_dim(int dim, int rank)
{
    int full = rank + 1;
    if (dim < -full || dim >= full)
        return -1;
    return dim < 0 ? dim + full : dim;
}

void comp_rule_set_out(comp_layer *l, int nd, int c, int h, int w)
{
    l->out.rank = nd + 1;
    l->out.dims[0] = c;
    if (nd == 2)
        l->out.dims[1] = h;
    l->out.dims[nd] = w;
}

int comp_rule_lower_view(comp_lowerer *L, const comp_lower_in *in)
{
    return in->x;
}

comp_output comp_rule_produces_input(const comp_layer *l)
{
    return COMP_OUTPUT_INPUT;
}
