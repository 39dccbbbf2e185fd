/* rule_conv.c — the rules of Conv1d/2d and ConvTranspose1d/2d: shapes
 * and errors as torch's, weights in torch's layout with torch's fans,
 * lowered to one CONV / CONV_T op with the activation after it fused. */
#include "rule_util.h"

#include "../runtime/spatial.h"

#include <stdio.h>
#include <string.h>

/* The arguments both kinds share, read and checked: channels, groups and
 * the kernel, stride, padding (numbers only) and dilation. */
typedef struct {
    int nd, cin, cout, groups, k[2], s[2], p[2], d[2], chw[3];
    char call[128];
} conv_args;

static int read_args(gram_source *src, comp_layer *l, const char *prev, conv_args *a)
{
    a->nd = comp_rule_nd(l);
    a->cin = comp_rule_int(l, "in_channels");
    a->cout = comp_rule_int(l, "out_channels");
    a->groups = comp_rule_int(l, "groups");
    comp_rule_call(l, a->call, sizeof a->call);
    int ok = comp_rule_size(src, l, "kernel_size", 1, a->k) & comp_rule_size(src, l, "stride", 1, a->s) &
             comp_rule_size(src, l, "padding", 0, a->p) & comp_rule_size(src, l, "dilation", 1, a->d);
    /* torch's messages, which name the channel counts. */
    if (a->cin % a->groups) {
        gram_error(src, l->loc, "%s: in_channels (%d) must be divisible by groups (%d)", a->call, a->cin, a->groups);
        ok = 0;
    }
    if (a->cout % a->groups) {
        gram_error(src, l->loc, "%s: out_channels (%d) must be divisible by groups (%d)", a->call, a->cout,
                   a->groups);
        ok = 0;
    }
    if (!ok || !comp_rule_chw(src, l, prev, a->nd, a->chw))
        return 0;
    if (a->chw[0] != a->cin) {
        gram_error(src, l->loc, "%s expects %d input channel%s, but %s", a->call, a->cin, a->cin == 1 ? "" : "s",
                   prev);
        return 0;
    }
    return 1;
}

/* "5x5" or "5" (1-d). */
static void size_text(int nd, const int *v, char *buf, size_t size)
{
    if (nd == 1)
        snprintf(buf, size, "%d", v[1]);
    else
        snprintf(buf, size, "%dx%d", v[0], v[1]);
}

static int conv_shape(gram_source *src, comp_layer *l, const char *prev, int data_in)
{
    conv_args a;
    if (!read_args(src, l, prev, &a))
        return 0;
    comp_geom *g = &l->g;
    memset(g, 0, sizeof *g);
    const comp_entry *e = &comp_layers[l->kind];
    const char *pad = comp_arg_str(e, &l->args, "padding");
    g->mode = comp_choice_index("zeros|reflect|replicate|circular", comp_arg_str(e, &l->args, "padding_mode"));
    int before[2] = {a.p[0], a.p[1]}, after[2] = {a.p[0], a.p[1]};
    if (pad && strcmp(pad, "valid") == 0) {
        before[0] = before[1] = after[0] = after[1] = 0;
    } else if (pad) { /* "same": torch puts the odd one of an even dilated kernel after */
        if (a.s[0] != 1 || a.s[1] != 1) {
            gram_error(src, l->loc, "%s: padding=\"same\" is not supported for strided convolutions (as in torch)",
                       a.call);
            return 0;
        }
        for (int i = 0; i < 2; i++) {
            int total = a.d[i] * (a.k[i] - 1);
            before[i] = total / 2;
            after[i] = total - before[i];
        }
    }
    const int in[2] = {a.chw[1], a.chw[2]};
    for (int i = 2 - a.nd; i < 2; i++) {
        int most = before[i] > after[i] ? before[i] : after[i];
        if (g->mode == COMP_PAD_REFLECT && most >= in[i]) {
            gram_error(src, l->loc, "%s: padding_mode=\"reflect\" needs padding (%d) smaller than the input (%d) "
                       "along each dim, as torch; %s", a.call, most, in[i], prev);
            return 0;
        }
        if (g->mode == COMP_PAD_CIRCULAR && most > in[i]) {
            gram_error(src, l->loc, "%s: padding_mode=\"circular\" needs padding (%d) at most the input (%d) along "
                       "each dim, as torch; %s", a.call, most, in[i], prev);
            return 0;
        }
    }
    int out[2];
    for (int i = 0; i < 2; i++) {
        int padded = in[i] + before[i] + after[i], span = a.d[i] * (a.k[i] - 1) + 1;
        out[i] = padded < span ? 0 : (padded - span) / a.s[i] + 1;
    }
    if (out[0] < 1 || out[1] < 1) {
        char k[32], p[32];
        const int padded[2] = {in[0] + before[0] + after[0], in[1] + before[1] + after[1]};
        size_text(a.nd, a.k, k, sizeof k);
        size_text(a.nd, padded, p, sizeof p);
        gram_error(src, l->loc, "%s: the kernel (%s, dilation %d) is larger than the padded input (%s); %s", a.call,
                   k, a.d[1], p, prev);
        return 0;
    }
    *g = (comp_geom){.c_in = a.cin, .h_in = in[0], .w_in = in[1], .c_out = a.cout, .h_out = out[0],
                     .w_out = out[1], .kh = a.k[0], .kw = a.k[1], .sh = a.s[0], .sw = a.s[1], .ph = before[0],
                     .pw = before[1], .ph_end = after[0], .pw_end = after[1], .dh = a.d[0], .dw = a.d[1],
                     .groups = a.groups, .mode = g->mode};
    comp_rule_set_out(l, a.nd, a.cout, out[0], out[1]);
    return 1;
}

static int conv_t_shape(gram_source *src, comp_layer *l, const char *prev, int data_in)
{
    conv_args a;
    int op[2];
    if (!read_args(src, l, prev, &a) || !comp_rule_size(src, l, "output_padding", 0, op))
        return 0;
    int out[2];
    for (int i = 2 - a.nd; i < 2; i++)
        if (op[i] >= a.s[i] && op[i] >= a.d[i]) {
            gram_error(src, l->loc, "%s: output_padding (%d) must be smaller than either stride (%d) or dilation "
                       "(%d), as torch", a.call, op[i], a.s[i], a.d[i]);
            return 0;
        }
    const int in[2] = {a.chw[1], a.chw[2]};
    for (int i = 0; i < 2; i++)
        out[i] = (in[i] - 1) * a.s[i] - 2 * a.p[i] + a.d[i] * (a.k[i] - 1) + op[i] + 1;
    if (out[0] < 1 || out[1] < 1) {
        gram_error(src, l->loc, "%s: the output would be empty (%dx%d): padding %d takes more than the transposed "
                   "convolution produces; %s", a.call, out[0], out[1], a.p[1], prev);
        return 0;
    }
    l->g = (comp_geom){.c_in = a.cin, .h_in = in[0], .w_in = in[1], .c_out = a.cout, .h_out = out[0],
                       .w_out = out[1], .kh = a.k[0], .kw = a.k[1], .sh = a.s[0], .sw = a.s[1], .ph = a.p[0],
                       .pw = a.p[1], .ph_end = a.p[0], .pw_end = a.p[1], .dh = a.d[0], .dw = a.d[1],
                       .oph = op[0], .opw = op[1], .groups = a.groups};
    comp_rule_set_out(l, a.nd, a.cout, out[0], out[1]);
    return 1;
}

/* torch's weight (out, in/groups, k...) for Conv, (in, out/groups, k...)
 * for ConvTranspose, and fans as _calculate_fan_in_and_fan_out computes
 * them from it: fan_in = size(1) * receptive field, fan_out = size(0) *
 * receptive field.  The bias takes the weight's fan_in. */
static int tensors(const comp_layer *l, comp_tensor_spec *t, int transposed)
{
    const comp_geom *g = &l->g;
    int nd = comp_rule_nd(l), n = 0;
    int d0 = transposed ? g->c_in : g->c_out, d1 = (transposed ? g->c_out : g->c_in) / g->groups;
    double rf = (double)g->kh * g->kw;
    t[n] = (comp_tensor_spec){.name = "weight", .rank = nd + 2, .dims = {d0, d1, g->kh, g->kw},
                              .init = COMP_TINIT_WEIGHT, .fan_in = d1 * rf, .fan_out = d0 * rf};
    if (nd == 1)
        t[n].dims[2] = g->kw;
    n++;
    if (comp_rule_int(l, "bias"))
        t[n++] = (comp_tensor_spec){.name = "bias", .rank = 1, .dims = {g->c_out}, .init = COMP_TINIT_BIAS,
                                    .fan_in = d1 * rf, .fan_out = d0 * rf};
    return n;
}

static int conv_tensors(const comp_layer *l, comp_tensor_spec *t)
{
    return tensors(l, t, 0);
}

static int conv_t_tensors(const comp_layer *l, comp_tensor_spec *t)
{
    return tensors(l, t, 1);
}

/* y = act(conv(x) + b) in one op; z keeps the pre-activation when the
 * activation's derivative needs it; col is the kernels' scratch. */
static int lower(comp_lowerer *L, const comp_lower_in *in, int transposed)
{
    const comp_layer *l = in->l;
    size_t size = (size_t)comp_shape_size(&l->out);
    int y = comp_lower_batch_buf(L, size, &l->out, "h%d", in->out_index);
    int z = comp_act_needs_x[in->act] ? comp_lower_batch_buf(L, size, &l->out, "z%d", l->index) : -1;
    int col = comp_lower_batch_buf(L, (size_t)comp_geom_conv_scratch(&l->g, transposed), NULL, "col%d", l->index);
    comp_op *op = comp_lower_op(L, transposed ? COMP_OP_CONV_T : COMP_OP_CONV, l);
    if (y < 0 || col < 0 || !op)
        return -1;
    /* Inference runs the forward alone, which may need far less of the
     * scratch than the backward (comp_batch_layout lays it out so). */
    comp_lower_scratch_fwd_size(L, col, rt_conv_forward_scratch(&l->g, transposed));
    op->act = (uint8_t)in->act;
    op->p[0] = in->ab[0];
    op->p[1] = in->ab[1];
    op->g = l->g;
    op->n = (int32_t)size;
    op->buf[0] = y;
    op->buf[1] = z;
    op->buf[2] = in->x;
    op->buf[3] = in->tensors[0];
    op->buf[4] = comp_rule_int(l, "bias") ? in->tensors[1] : -1;
    op->buf[5] = col;
    return y;
}

static int conv_lower(comp_lowerer *L, const comp_lower_in *in)
{
    return lower(L, in, 0);
}

static int conv_t_lower(comp_lowerer *L, const comp_lower_in *in)
{
    return lower(L, in, 1);
}

const comp_rule comp_rule_conv = {.shape = conv_shape, .tensors = conv_tensors, .lower = conv_lower, .fuse_act = 1};
const comp_rule comp_rule_conv_transpose = {
    .shape = conv_t_shape, .tensors = conv_t_tensors, .lower = conv_t_lower, .fuse_act = 1};
