/* rule_pool.c — the rules of MaxPool1d/2d, AvgPool1d/2d and the adaptive
 * pools: output sizes and errors as torch's pooling_output_shape and its
 * checks, lowered to one op each. */
#include "rule_util.h"

#include <stdio.h>
#include <string.h>

static int is_max(const comp_layer *l)
{
    return l->kind == COMP_LAYER_MAXPOOL1D || l->kind == COMP_LAYER_MAXPOOL2D ||
           l->kind == COMP_LAYER_ADAPTIVE_MAXPOOL1D || l->kind == COMP_LAYER_ADAPTIVE_MAXPOOL2D;
}

/* torch's pooling_output_shape: floor or ceil of the window count, and in
 * ceil mode no window may start in the right padding. */
static int out_size(int in, int k, int pad, int stride, int dil, int ceil)
{
    long num = (long)in + 2L * pad - (long)dil * (k - 1) - 1 + (ceil ? stride - 1 : 0);
    if (num < 0)
        return 0;
    long out = num / stride + 1;
    if (ceil && (out - 1) * stride >= (long)in + pad)
        out--;
    return (int)out;
}

static int pool_shape(gram_source *src, comp_layer *l, const char *prev, int data_in)
{
    const comp_entry *e = &comp_layers[l->kind];
    int nd = comp_rule_nd(l), chw[3], k[2], s[2], p[2], d[2] = {1, 1};
    char call[128];
    comp_rule_call(l, call, sizeof call);
    int ok = comp_rule_size(src, l, "kernel_size", 1, k) & comp_rule_size(src, l, "stride", 1, s) &
             comp_rule_size(src, l, "padding", 0, p);
    if (comp_arg_index(e, "dilation") >= 0)
        ok &= comp_rule_size(src, l, "dilation", 1, d);
    if (!ok || !comp_rule_chw(src, l, prev, nd, chw))
        return 0;
    if (s[1] == 0) /* stride=None: the kernel size */
        s[0] = k[0], s[1] = k[1];
    for (int i = 2 - nd; i < 2; i++)
        if (p[i] > k[i] / 2) {
            gram_error(src, l->loc, "%s: padding (%d) should be at most half the kernel size (%d), as torch requires",
                       call, p[i], k[i]);
            return 0;
        }
    const int ceil = comp_rule_int(l, "ceil_mode") != 0;
    const int in[2] = {chw[1], chw[2]};
    int out[2];
    for (int i = 0; i < 2; i++)
        out[i] = out_size(in[i], k[i], p[i], s[i], d[i], ceil);
    if (out[0] < 1 || out[1] < 1) {
        gram_error(src, l->loc, "%s: the window (%d, dilation %d) is larger than the padded input (%d); %s", call,
                   k[1], d[1], in[1] + 2 * p[1], prev);
        return 0;
    }
    int flags = ceil ? COMP_GEOM_CEIL : 0, divisor = 0;
    if (comp_arg_index(e, "count_include_pad") >= 0 && comp_rule_int(l, "count_include_pad"))
        flags |= COMP_GEOM_COUNT_INCLUDE_PAD;
    if (comp_arg_index(e, "divisor_override") >= 0)
        divisor = comp_rule_int(l, "divisor_override");
    l->g = (comp_geom){.c_in = chw[0], .h_in = in[0], .w_in = in[1], .c_out = chw[0], .h_out = out[0],
                       .w_out = out[1], .kh = k[0], .kw = k[1], .sh = s[0], .sw = s[1], .ph = p[0], .pw = p[1],
                       .ph_end = p[0], .pw_end = p[1], .dh = d[0], .dw = d[1], .groups = 1, .flags = flags,
                       .divisor = divisor};
    comp_rule_set_out(l, nd, chw[0], out[0], out[1]);
    return 1;
}

static int adaptive_shape(gram_source *src, comp_layer *l, const char *prev, int data_in)
{
    int nd = comp_rule_nd(l), chw[3], o[2];
    if (!comp_rule_size(src, l, "output_size", 1, o) || !comp_rule_chw(src, l, prev, nd, chw))
        return 0;
    l->g = (comp_geom){.c_in = chw[0], .h_in = chw[1], .w_in = chw[2], .c_out = chw[0], .h_out = o[0],
                       .w_out = o[1], .kh = 1, .kw = 1, .sh = 1, .sw = 1, .dh = 1, .dw = 1, .groups = 1};
    comp_rule_set_out(l, nd, chw[0], o[0], o[1]);
    return 1;
}

/* One op; the max pools keep the chosen positions for the backward. */
static int pool_lower(comp_lowerer *L, const comp_lower_in *in)
{
    const comp_layer *l = in->l;
    const int adaptive = l->kind == COMP_LAYER_ADAPTIVE_AVGPOOL1D || l->kind == COMP_LAYER_ADAPTIVE_AVGPOOL2D ||
                         l->kind == COMP_LAYER_ADAPTIVE_MAXPOOL1D || l->kind == COMP_LAYER_ADAPTIVE_MAXPOOL2D;
    const comp_opcode code = is_max(l) ? (adaptive ? COMP_OP_ADAPTIVE_MAXPOOL : COMP_OP_MAXPOOL)
                                       : (adaptive ? COMP_OP_ADAPTIVE_AVGPOOL : COMP_OP_AVGPOOL);
    size_t size = (size_t)comp_shape_size(&l->out);
    int y = comp_lower_batch_buf(L, size, &l->out, "h%d", in->out_index);
    int idx = is_max(l) ? comp_lower_batch_buf(L, size, &l->out, "idx%d", l->index) : -1;
    comp_op *op = comp_lower_op(L, code, l);
    if (y < 0 || !op || (is_max(l) && idx < 0))
        return -1;
    op->g = l->g;
    op->n = (int32_t)size;
    op->buf[0] = y;
    if (is_max(l)) {
        op->buf[1] = idx;
        op->buf[2] = in->x;
    } else {
        op->buf[1] = in->x;
    }
    return y;
}

const comp_rule comp_rule_pool = {.shape = pool_shape, .lower = pool_lower};
const comp_rule comp_rule_adaptive_pool = {.shape = adaptive_shape, .lower = pool_lower};
