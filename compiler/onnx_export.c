/* onnx_export.c — a trained model as an ONNX graph (onnx.h).
 *
 * The chain becomes one node group per layer, in order, each named after
 * the layer's position ("3/Gemm_7"); parameters become initializers named
 * as their state_dict entries ("3.weight"), so the graph reads like torch's
 * export of the equivalent nn.Sequential.  Layers that only train
 * (Dropout and its kin) become ONNX Dropout, an identity at inference.
 * What the graph cannot hold — the loss, optimizer, inits, schedule,
 * clipping, train and data statements, BatchNorm's num_batches_tracked —
 * goes into metadata_props as spec text, so that import gives back the
 * whole spec. */
#include "onnx.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/atomic_file.h"
#include "../runtime/errf.h"
#include "argfmt.h"
#include "onnx_acts.h"
#include "onnx_pb.h"
#include "plan.h"

#define OPSET 17
#define IR_VERSION 8 /* the IR of opset 17 (ONNX 1.12) */

typedef struct {
    comp_pb_graph g;
    const comp_plan *p;
    const rt_net *net;
    const comp_layer *l;
    const char *cur;     /* the tensor flowing along the chain */
    char *err;
    size_t errlen;
    comp_pb_arena *a;
    Onnx__StringStringEntryProto **meta;
    size_t nmeta, capmeta;
} exporter;

static int layer_error(exporter *x, const char *what)
{
    const char *layer = x->l->kind < COMP_LAYER_COUNT ? comp_layers[x->l->kind].name : "?";
    return rt_errf(x->err, x->errlen, "%s:%d:%d: %s: %s", x->p->model->spec->src->name, x->l->loc.first_line,
                   x->l->loc.first_column, layer, what);
}

static int add_meta(exporter *x, const char *key, const char *value)
{
    Onnx__StringStringEntryProto *e = comp_pb_alloc(x->a, sizeof *e);
    if (!e)
        return -1;
    onnx__string_string_entry_proto__init(e);
    e->key = comp_pb_strf(x->a, "%s", key);
    e->value = comp_pb_strf(x->a, "%s", value);
    if (x->nmeta == x->capmeta) {
        size_t cap = x->capmeta ? 2 * x->capmeta : 16;
        Onnx__StringStringEntryProto **m = comp_pb_alloc(x->a, cap * sizeof *m);
        if (!m)
            return -1;
        if (x->nmeta)
            memcpy(m, x->meta, x->nmeta * sizeof *m);
        x->meta = m;
        x->capmeta = cap;
    }
    x->meta[x->nmeta++] = e;
    return x->a->oom ? -1 : 0;
}

/* Append a node over inputs and make its output the chain's tensor. */
static Onnx__NodeProto *node(exporter *x, const char *op, const char *const *in, int nin)
{
    Onnx__NodeProto *n = comp_pb_node(&x->g, op, in, nin);
    if (n)
        x->cur = n->output[0];
    return n;
}

static Onnx__NodeProto *node1(exporter *x, const char *op)
{
    const char *in[1] = {x->cur};
    return node(x, op, in, 1);
}

/* The layer's parameter or state tensor role ("weight") as an
 * initializer of its state_dict name, in its torch shape or as dims
 * (rank > 0) when ONNX wants another; NULL when absent or out of memory. */
static const char *param(exporter *x, const char *role, const int64_t *dims, int rank)
{
    char name[64];
    snprintf(name, sizeof name, "%d.%s", x->l->index, role);
    int b = comp_plan_find_buf(x->p, name);
    if (b < 0)
        return NULL;
    const comp_buf *buf = &x->p->bufs[b];
    int64_t own[COMP_MAX_RANK];
    if (rank == 0) {
        rank = buf->rank;
        for (int d = 0; d < rank; d++)
            own[d] = buf->dims[d];
        dims = own;
    }
    return comp_pb_init_float(&x->g, name, dims, rank, rt_net_buf(x->net, b));
}

/* Emit activation row pat with the layer's arguments a, b. */
static int emit_pattern(exporter *x, const comp_pat *pat, double a, double b)
{
    const char *outs[COMP_ONNX_PAT_NODES];
    const char *in0 = x->cur;
    for (int k = 0; k < pat->nnodes; k++) {
        const comp_pat_node *pn = &pat->nodes[k];
        const char *in[COMP_ONNX_PAT_ARGS];
        for (int i = 0; i < pn->nin; i++) {
            const comp_pat_ref *r = &pn->in[i];
            in[i] = r->kind == COMP_PAT_X      ? in0
                    : r->kind == COMP_PAT_NODE ? outs[r->node]
                                               : comp_pb_const(&x->g, (float)(r->kind == COMP_PAT_A   ? a
                                                                              : r->kind == COMP_PAT_B ? b
                                                                                                      : r->num));
        }
        Onnx__NodeProto *n = node(x, pn->op, in, pn->nin);
        if (!n)
            return -1;
        for (int i = 0; i < pn->nattr; i++) {
            const comp_pat_ref *r = &pn->attr[i];
            comp_pb_attr_float(&x->g, n, pn->attr_name[i],
                               (float)(r->kind == COMP_PAT_A ? a : r->kind == COMP_PAT_B ? b : r->num));
        }
        outs[k] = n->output[0];
    }
    return 0;
}

static int export_act(exporter *x, comp_act act)
{
    int slots[2], n = comp_act_float_args(act, slots);
    double v[2] = {0, 0};
    for (int i = 0; i < n; i++)
        v[i] = x->l->args.num[slots[i]][0];
    int npats;
    const comp_pat *pats = comp_onnx_act_pats(&npats);
    for (int r = 0; r < npats; r++) {
        const comp_pat *pat = &pats[r];
        if (pat->act == act && (!pat->has[0] || pat->val[0] == v[0]) && (!pat->has[1] || pat->val[1] == v[1]))
            return emit_pattern(x, pat, v[0], v[1]);
    }
    return layer_error(x, "no ONNX form (a missing row of compiler/onnx_acts.def)");
}

/* The spatial attributes of a conv or pool over nd = 1 or 2 dims. */
static void spatial_attrs(exporter *x, Onnx__NodeProto *n, int kernel, int stride, int dilation, int pads)
{
    const comp_geom *g = &x->l->g;
    int nd = x->l->in.rank - 1;
    int64_t v[4];
    if (kernel) {
        v[0] = nd == 2 ? g->kh : g->kw, v[1] = g->kw;
        comp_pb_attr_ints(&x->g, n, "kernel_shape", v, nd);
    }
    if (stride) {
        v[0] = nd == 2 ? g->sh : g->sw, v[1] = g->sw;
        comp_pb_attr_ints(&x->g, n, "strides", v, nd);
    }
    if (dilation) {
        v[0] = nd == 2 ? g->dh : g->dw, v[1] = g->dw;
        comp_pb_attr_ints(&x->g, n, "dilations", v, nd);
    }
    if (pads) {
        if (nd == 2)
            v[0] = g->ph, v[1] = g->pw, v[2] = g->ph_end, v[3] = g->pw_end;
        else
            v[0] = g->pw, v[1] = g->pw_end;
        comp_pb_attr_ints(&x->g, n, "pads", v, 2 * nd);
    }
}

/* x[start:end] along axis: a Slice node's output. */
static const char *slice(exporter *x, const char *in0, int axis, int64_t start, int64_t end)
{
    int64_t v[3] = {start, end, axis};
    const char *in[4] = {in0};
    for (int i = 0; i < 3; i++)
        in[i + 1] = comp_pb_init_int64(&x->g, comp_pb_strf(x->a, "%sints_%d", x->g.prefix, x->g.nconst++), &v[i], 1);
    Onnx__NodeProto *n = comp_pb_node(&x->g, "Slice", in, 4);
    return n ? n->output[0] : NULL;
}

/* torch's circular padding along axis (ONNX's Pad wraps only from opset
 * 19): the last `before` entries, the tensor, its first `after`, joined. */
static int circular_pad(exporter *x, int axis, int before, int after)
{
    if (!before && !after)
        return 0;
    const char *parts[3], *in0 = x->cur;
    int n = 0;
    if (before)
        parts[n++] = slice(x, in0, axis, -before, INT64_MAX);
    parts[n++] = in0;
    if (after)
        parts[n++] = slice(x, in0, axis, 0, after);
    Onnx__NodeProto *c = node(x, "Concat", parts, n);
    comp_pb_attr_int(&x->g, c, "axis", axis);
    return c ? 0 : -1;
}

static int export_conv(exporter *x, int transposed)
{
    const comp_layer *l = x->l;
    const comp_entry *e = &comp_layers[l->kind];
    const comp_geom *g = &l->g;
    int nd = l->in.rank - 1;
    const char *padding = transposed ? NULL : comp_arg_str(e, &l->args, "padding");
    int pads_in_pad = g->mode != COMP_PAD_ZEROS;
    if (g->mode == COMP_PAD_CIRCULAR) { /* along H (2-d), then W */
        if ((nd == 2 && circular_pad(x, 2, g->ph, g->ph_end) != 0) || circular_pad(x, nd + 1, g->pw, g->pw_end) != 0)
            return -1;
    } else if (pads_in_pad) { /* torch pads by mode, then convolves unpadded */
        int64_t pads[8] = {0};
        if (nd == 2)
            pads[2] = g->ph, pads[3] = g->pw, pads[6] = g->ph_end, pads[7] = g->pw_end;
        else
            pads[2] = g->pw, pads[5] = g->pw_end;
        const char *in[2] = {x->cur, comp_pb_init_int64(&x->g, comp_pb_strf(x->a, "%d.pads", l->index), pads,
                                                        2 * (nd + 2))};
        Onnx__NodeProto *n = node(x, "Pad", in, 2);
        comp_pb_attr_string(&x->g, n, "mode", g->mode == COMP_PAD_REFLECT ? "reflect" : "edge");
    }
    const char *w = param(x, "weight", NULL, 0), *b = param(x, "bias", NULL, 0);
    const char *in[3] = {x->cur, w, b};
    Onnx__NodeProto *n = node(x, transposed ? "ConvTranspose" : "Conv", in, b ? 3 : 2);
    if (!n)
        return -1;
    /* "same" as auto_pad, but explicit pads for a dilated kernel, which
     * ONNX Runtime refuses with auto_pad */
    int same = padding && strcmp(padding, "same") == 0 && g->dh == 1 && g->dw == 1;
    int valid = padding && strcmp(padding, "valid") == 0;
    spatial_attrs(x, n, 1, 1, 1, !pads_in_pad && !same && !valid);
    if (same || valid)
        comp_pb_attr_string(&x->g, n, "auto_pad", same && !pads_in_pad ? "SAME_UPPER" : "VALID");
    else if (pads_in_pad)
        comp_pb_attr_string(&x->g, n, "auto_pad", "VALID");
    comp_pb_attr_int(&x->g, n, "group", g->groups);
    if (transposed && (g->oph || g->opw)) {
        int64_t op[2] = {nd == 2 ? g->oph : g->opw, g->opw};
        comp_pb_attr_ints(&x->g, n, "output_padding", op, nd);
    }
    return 0;
}

static int export_pool(exporter *x, int is_max)
{
    const comp_layer *l = x->l;
    const comp_geom *g = &l->g;
    if (g->divisor)
        return layer_error(x, "divisor_override has no ONNX form");
    Onnx__NodeProto *n = node1(x, is_max ? "MaxPool" : "AveragePool");
    if (!n)
        return -1;
    spatial_attrs(x, n, 1, 1, is_max, 1);
    if (g->flags & COMP_GEOM_CEIL)
        comp_pb_attr_int(&x->g, n, "ceil_mode", 1);
    if (!is_max)
        comp_pb_attr_int(&x->g, n, "count_include_pad", (g->flags & COMP_GEOM_COUNT_INCLUDE_PAD) != 0);
    return 0;
}

/* An adaptive pool is a plain one when every output cell covers the same
 * number of inputs (the input divides evenly), a global one for 1x1. */
static int export_adaptive(exporter *x, int is_max)
{
    const comp_geom *g = &x->l->g;
    if (g->h_in % g->h_out || g->w_in % g->w_out)
        return layer_error(x, "an adaptive pool whose output size does not divide the input has no single ONNX op");
    if (g->h_out == 1 && g->w_out == 1)
        return node1(x, is_max ? "GlobalMaxPool" : "GlobalAveragePool") ? 0 : -1;
    Onnx__NodeProto *n = node1(x, is_max ? "MaxPool" : "AveragePool");
    int nd = x->l->in.rank - 1;
    int64_t k[2] = {nd == 2 ? g->h_in / g->h_out : g->w_in / g->w_out, g->w_in / g->w_out};
    comp_pb_attr_ints(&x->g, n, "kernel_shape", k, nd);
    comp_pb_attr_ints(&x->g, n, "strides", k, nd);
    return n ? 0 : -1;
}

static int export_batchnorm(exporter *x)
{
    const comp_layer *l = x->l;
    const comp_entry *e = &comp_layers[l->kind];
    if (!comp_arg_num(e, &l->args, "track_running_stats"))
        return layer_error(x, "track_running_stats=false normalises with the batch's statistics at inference, "
                              "which ONNX's BatchNormalization does not do");
    if (!comp_arg_num(e, &l->args, "affine"))
        return layer_error(x, "affine=false is not exported (ONNX's BatchNormalization always takes a scale and "
                              "bias; export an affine one)");
    const char *in[5] = {x->cur, param(x, "weight", NULL, 0), param(x, "bias", NULL, 0),
                         param(x, "running_mean", NULL, 0), param(x, "running_var", NULL, 0)};
    Onnx__NodeProto *n = node(x, "BatchNormalization", in, 5);
    comp_pb_attr_float(&x->g, n, "epsilon", (float)comp_arg_num(e, &l->args, "eps"));
    double mom = comp_arg_num(e, &l->args, "momentum");
    if (!isnan(mom)) /* ONNX's momentum weighs the running value, torch's the batch's */
        comp_pb_attr_float(&x->g, n, "momentum", (float)(1.0 - mom));
    char key[64], val[40];
    snprintf(key, sizeof key, "netc.%d.num_batches_tracked", l->index);
    int b = comp_plan_find_buf(x->p, key + 5);
    comp_fmt_number(b >= 0 ? rt_net_buf(x->net, b)[0] : 0, 1, val, sizeof val);
    return n && add_meta(x, key, val) == 0 ? 0 : -1;
}

/* Reshape to the layer's output shape (the batch dim kept). */
static int export_reshape(exporter *x)
{
    int64_t shape[COMP_MAX_RANK + 1] = {-1};
    for (int d = 0; d < x->l->out.rank; d++)
        shape[d + 1] = x->l->out.dims[d];
    const char *in[2] = {x->cur, comp_pb_init_int64(&x->g, comp_pb_strf(x->a, "%d.shape", x->l->index), shape,
                                                    x->l->out.rank + 1)};
    return node(x, "Reshape", in, 2) ? 0 : -1;
}

static int export_dropout(exporter *x, double p)
{
    const char *in[2] = {x->cur, comp_pb_const(&x->g, (float)p)};
    return node(x, "Dropout", in, 2) ? 0 : -1;
}

static int export_layer(exporter *x)
{
    const comp_layer *l = x->l;
    const comp_entry *e = &comp_layers[l->kind];
    if (l->kind < (comp_layer_kind)COMP_ACT_COUNT)
        return export_act(x, (comp_act)l->kind);
    switch (l->kind) {
    case COMP_LAYER_LINEAR: {
        const char *b = param(x, "bias", NULL, 0);
        if (l->in.rank == 1) { /* (N, in): Gemm with the weight as torch keeps it */
            const char *in[3] = {x->cur, param(x, "weight", NULL, 0), b};
            Onnx__NodeProto *n = node(x, "Gemm", in, b ? 3 : 2);
            comp_pb_attr_int(&x->g, n, "transB", 1);
            return n ? 0 : -1;
        }
        /* (N, ..., in): MatMul with the weight transposed, as torch exports it */
        int wb = comp_plan_find_buf(x->p, comp_pb_strf(x->a, "%d.weight", l->index));
        const comp_buf *buf = &x->p->bufs[wb];
        int out = buf->dims[0], inf = buf->dims[1];
        float *wt = comp_pb_alloc(x->a, (size_t)out * (size_t)inf * sizeof *wt);
        if (!wt)
            return -1;
        const float *w = rt_net_buf(x->net, wb);
        for (int o = 0; o < out; o++)
            for (int i = 0; i < inf; i++)
                wt[(size_t)i * out + o] = w[(size_t)o * inf + i];
        int64_t dims[2] = {inf, out};
        const char *in[2] = {x->cur, comp_pb_init_float(&x->g, comp_pb_strf(x->a, "%d.weight", l->index), dims, 2,
                                                        wt)};
        if (!node(x, "MatMul", in, 2))
            return -1;
        if (b) {
            const char *in2[2] = {x->cur, b};
            return node(x, "Add", in2, 2) ? 0 : -1;
        }
        return 0;
    }
    case COMP_LAYER_DROPOUT:
    case COMP_LAYER_ALPHA_DROPOUT:
    case COMP_LAYER_DROPOUT1D:
    case COMP_LAYER_DROPOUT2D:
        return export_dropout(x, comp_arg_num(e, &l->args, "p"));
    case COMP_LAYER_SOFTMAX:
    case COMP_LAYER_LOG_SOFTMAX:
    case COMP_LAYER_SOFTMIN: {
        if (l->kind == COMP_LAYER_SOFTMIN && !node1(x, "Neg"))
            return -1;
        Onnx__NodeProto *n = node1(x, l->kind == COMP_LAYER_LOG_SOFTMAX ? "LogSoftmax" : "Softmax");
        comp_pb_attr_int(&x->g, n, "axis", (int64_t)comp_arg_num(e, &l->args, "dim"));
        return n ? 0 : -1;
    }
    case COMP_LAYER_SOFTMAX2D: {
        Onnx__NodeProto *n = node1(x, "Softmax");
        comp_pb_attr_int(&x->g, n, "axis", -3);
        return n ? 0 : -1;
    }
    case COMP_LAYER_FLATTEN:
        if (l->out.rank == 1) { /* everything after the batch dim: ONNX's Flatten */
            Onnx__NodeProto *n = node1(x, "Flatten");
            comp_pb_attr_int(&x->g, n, "axis", 1);
            return n ? 0 : -1;
        }
        return export_reshape(x);
    case COMP_LAYER_UNFLATTEN:
        return export_reshape(x);
    case COMP_LAYER_PRELU: {
        /* the slopes broadcast over the channel dim (dim 1) */
        int64_t dims[COMP_MAX_RANK] = {(int64_t)comp_arg_num(e, &l->args, "num_parameters")};
        int rank = dims[0] == 1 ? 1 : l->in.rank;
        for (int d = 1; d < rank; d++)
            dims[d] = 1;
        const char *in[2] = {x->cur, param(x, "weight", dims, rank)};
        return node(x, "PRelu", in, 2) ? 0 : -1;
    }
    case COMP_LAYER_RRELU: { /* at inference, the mean slope */
        Onnx__NodeProto *n = node1(x, "LeakyRelu");
        comp_pb_attr_float(&x->g, n, "alpha",
                           (float)((comp_arg_num(e, &l->args, "lower") + comp_arg_num(e, &l->args, "upper")) / 2));
        return n ? 0 : -1;
    }
    case COMP_LAYER_GLU: {
        const char *in0 = x->cur;
        Onnx__NodeProto *s = comp_pb_node(&x->g, "Split", &in0, 1);
        if (!s)
            return -1;
        comp_pb_attr_int(&x->g, s, "axis", (int64_t)comp_arg_num(e, &l->args, "dim"));
        /* two outputs: the halves */
        char **outs = comp_pb_alloc(x->a, 2 * sizeof *outs);
        if (!outs)
            return -1;
        outs[0] = s->output[0];
        outs[1] = comp_pb_strf(x->a, "%s1", s->output[0]);
        s->output = outs;
        s->n_output = 2;
        x->cur = outs[1];
        if (!node1(x, "Sigmoid"))
            return -1;
        const char *in[2] = {outs[0], x->cur};
        return node(x, "Mul", in, 2) ? 0 : -1;
    }
    case COMP_LAYER_EMBEDDING: {
        Onnx__NodeProto *c = node1(x, "Cast");
        comp_pb_attr_int(&x->g, c, "to", ONNX__TENSOR_PROTO__DATA_TYPE__INT64);
        const char *in[2] = {param(x, "weight", NULL, 0), x->cur};
        Onnx__NodeProto *n = node(x, "Gather", in, 2);
        comp_pb_attr_int(&x->g, n, "axis", 0);
        return c && n ? 0 : -1;
    }
    case COMP_LAYER_CONV1D:
    case COMP_LAYER_CONV2D:
        return export_conv(x, 0);
    case COMP_LAYER_CONV_TRANSPOSE1D:
    case COMP_LAYER_CONV_TRANSPOSE2D:
        return export_conv(x, 1);
    case COMP_LAYER_MAXPOOL1D:
    case COMP_LAYER_MAXPOOL2D:
        return export_pool(x, 1);
    case COMP_LAYER_AVGPOOL1D:
    case COMP_LAYER_AVGPOOL2D:
        return export_pool(x, 0);
    case COMP_LAYER_ADAPTIVE_AVGPOOL1D:
    case COMP_LAYER_ADAPTIVE_AVGPOOL2D:
        return export_adaptive(x, 0);
    case COMP_LAYER_ADAPTIVE_MAXPOOL1D:
    case COMP_LAYER_ADAPTIVE_MAXPOOL2D:
        return export_adaptive(x, 1);
    case COMP_LAYER_BATCHNORM1D:
    case COMP_LAYER_BATCHNORM2D:
        return export_batchnorm(x);
    default:
        return layer_error(x, "has no ONNX form in netc");
    }
}

/* The statements a graph cannot hold, as spec text, one per line. */
static void training_statements(const comp_model *m, comp_text *t)
{
    char n[40];
    if (m->init.kind != COMP_INIT_DEFAULT) {
        comp_text_printf(t, "init ");
        comp_fmt_call(t, &comp_inits[m->init.kind], &m->init.args, NULL);
        comp_text_printf(t, "\n");
    }
    comp_text_printf(t, "loss ");
    comp_fmt_call(t, &comp_losses[m->loss], &m->loss_args, NULL);
    comp_text_printf(t, "\noptimizer ");
    comp_fmt_call(t, &comp_optims[m->optim], &m->optim_args, NULL);
    comp_text_printf(t, "\n");
    if (m->sched < COMP_SCHED_COUNT) {
        comp_text_printf(t, "schedule ");
        comp_fmt_call(t, &comp_scheds[m->sched], &m->sched_args, NULL);
        comp_text_printf(t, "\n");
    }
    if (m->clip < COMP_CLIP_COUNT) {
        comp_text_printf(t, "clip ");
        comp_fmt_call(t, &comp_clips[m->clip], &m->clip_args, NULL);
        comp_text_printf(t, "\n");
    }
    if (m->has_train) {
        comp_fmt_number(m->seed, 0, n, sizeof n);
        comp_text_printf(t, "train epochs=%d batch=%d shuffle=%s seed=%s\n", m->epochs, m->batch,
                         m->shuffle ? "true" : "false", n);
    }
    if (m->data)
        comp_text_printf(t, "data \"%s\"\n", m->data);
}

static Onnx__ValueInfoProto *value_info(comp_pb_arena *a, const char *name, const comp_shape *s)
{
    Onnx__ValueInfoProto *v = comp_pb_alloc(a, sizeof *v);
    Onnx__TypeProto *tp = comp_pb_alloc(a, sizeof *tp);
    Onnx__TypeProto__Tensor *tt = comp_pb_alloc(a, sizeof *tt);
    Onnx__TensorShapeProto *sh = comp_pb_alloc(a, sizeof *sh);
    Onnx__TensorShapeProto__Dimension **dims = comp_pb_alloc(a, (size_t)(s->rank + 1) * sizeof *dims);
    if (!v || !tp || !tt || !sh || !dims)
        return NULL;
    onnx__value_info_proto__init(v);
    onnx__type_proto__init(tp);
    onnx__type_proto__tensor__init(tt);
    onnx__tensor_shape_proto__init(sh);
    for (int d = 0; d <= s->rank; d++) {
        dims[d] = comp_pb_alloc(a, sizeof *dims[d]);
        if (!dims[d])
            return NULL;
        onnx__tensor_shape_proto__dimension__init(dims[d]);
        if (d == 0) {
            dims[d]->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            dims[d]->dim_param = comp_pb_strf(a, "N");
        } else {
            dims[d]->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            dims[d]->dim_value = s->dims[d - 1];
        }
    }
    sh->n_dim = (size_t)s->rank + 1;
    sh->dim = dims;
    tt->has_elem_type = 1;
    tt->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    tt->shape = sh;
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    v->name = comp_pb_strf(a, "%s", name);
    v->type = tp;
    return v;
}

/* Pack the model and write it to path atomically (runtime/atomic_file.h:
 * a failed write leaves no partial model and keeps an older one). */
static int write_model(const Onnx__ModelProto *model, const char *path, char *err, size_t errlen)
{
    size_t len = onnx__model_proto__get_packed_size(model);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf)
        return rt_errf(err, errlen, "%s: out of memory packing %zu bytes", path, len);
    onnx__model_proto__pack(model, buf);
    rt_af *f = rt_af_begin(path, err, errlen);
    if (!f) {
        free(buf);
        return -1;
    }
    if (fwrite(buf, 1, len, rt_af_stream(f)) != len)
        rt_af_error(f, errno);
    free(buf);
    return rt_af_commit(f, err, errlen);
}

/* The spec's deterministic transforms, which netc's eval and predict
 * apply to every input (Normalize: (x - mean[c]) / std[c] in float, as
 * runtime/transform.c), as the graph's first nodes, so that the graph
 * computes from the raw input what netc does.  The random transforms are
 * training-time augmentation and have no place in the graph. */
static int export_transforms(exporter *x)
{
    const comp_plan_info *in = &x->p->info;
    const comp_buf *ib = &x->p->bufs[x->p->input];
    for (int k = 0; k < in->ntransforms; k++) {
        const comp_transform *t = &in->transforms[k];
        const comp_entry *e = &comp_transforms[t->kind];
        if (comp_tf_random[t->kind])
            continue;
        if (t->kind != COMP_TF_NORMALIZE)
            return rt_errf(x->err, x->errlen, "transform %s is not exported to ONNX", e->name);
        const int C = in->img_c, ms = comp_arg_index(e, "mean"), ss = comp_arg_index(e, "std");
        float *mean = comp_pb_alloc(x->a, (size_t)C * sizeof *mean), *std = comp_pb_alloc(x->a, (size_t)C * sizeof *std);
        if (!mean || !std)
            return -1;
        for (int c = 0; c < C; c++) {
            mean[c] = t->args.vec[ms][t->args.ntuple[ms] == 1 ? 0 : c];
            std[c] = t->args.vec[ss][t->args.ntuple[ss] == 1 ? 0 : c];
        }
        /* (C, 1, 1) against a sample (C, H, W): one value per channel */
        int64_t dims[COMP_MAX_RANK] = {C};
        const int rank = C > 1 && ib->rank > 1 ? ib->rank : 1;
        for (int d = 1; d < rank; d++)
            dims[d] = 1;
        const char *m = comp_pb_init_float(&x->g, comp_pb_strf(x->a, "transform.%d.mean", k), dims, rank, mean);
        const char *sd = comp_pb_init_float(&x->g, comp_pb_strf(x->a, "transform.%d.std", k), dims, rank, std);
        const char *sub[2] = {x->cur, m};
        if (!m || !sd || !node(x, "Sub", sub, 2))
            return -1;
        const char *div[2] = {x->cur, sd};
        if (!node(x, "Div", div, 2))
            return -1;
    }
    return 0;
}

int comp_onnx_export(const comp_plan *p, const rt_net *net, const char *path, char *err, size_t errlen)
{
    comp_pb_arena a = {0};
    exporter x = {.p = p, .net = net, .err = err, .errlen = errlen, .a = &a, .cur = "input"};
    x.g.a = &a;
    x.g.prefix = "";
    const comp_model *m = p->model;
    int rc = -1;
    comp_text stmts = {0};
    if (export_transforms(&x) != 0) {
        if (a.oom)
            goto oom;
        goto done;
    }
    for (int i = 0; i < m->nlayers; i++) {
        x.l = &m->layers[i];
        x.g.prefix = comp_pb_strf(&a, "%d/", x.l->index);
        if (!x.g.prefix || export_layer(&x) != 0)
            goto done;
        if (x.l->has_init) { /* a layer's own init: training only, kept as text */
            comp_text t = {0};
            comp_fmt_call(&t, &comp_inits[x.l->init.kind], &x.l->init.args, NULL);
            int bad = t.oom || add_meta(&x, comp_pb_strf(&a, "netc.%d.init", x.l->index), t.s);
            comp_text_free(&t);
            if (bad)
                goto oom;
        }
    }
    /* The last node's output is renamed "output", the graph's output. */
    if (x.g.nnodes == 0 || strcmp(x.cur, "input") == 0) {
        const char *in[1] = {x.cur};
        if (!node(&x, "Identity", in, 1))
            goto oom;
    }
    Onnx__NodeProto *last = x.g.nodes[x.g.nnodes - 1];
    last->output[0] = comp_pb_strf(&a, "output");
    char hash[24];
    snprintf(hash, sizeof hash, "%016" PRIx64, m->hash);
    training_statements(m, &stmts);
    if (stmts.oom || add_meta(&x, "netc.name", m->name) || add_meta(&x, "netc.spec_hash", hash) ||
        add_meta(&x, "netc.statements", stmts.s))
        goto oom;

    Onnx__GraphProto graph;
    onnx__graph_proto__init(&graph);
    graph.name = (char *)m->name;
    graph.n_node = x.g.nnodes;
    graph.node = x.g.nodes;
    graph.n_initializer = x.g.ninits;
    graph.initializer = x.g.inits;
    Onnx__ValueInfoProto *gin = value_info(&a, "input", &m->input);
    Onnx__ValueInfoProto *gout = value_info(&a, "output", &m->layers[m->nlayers - 1].out);
    if (!gin || !gout || a.oom)
        goto oom;
    graph.n_input = graph.n_output = 1;
    graph.input = &gin;
    graph.output = &gout;
    Onnx__OperatorSetIdProto opset;
    onnx__operator_set_id_proto__init(&opset);
    opset.domain = (char *)"";
    opset.has_version = 1;
    opset.version = OPSET;
    Onnx__OperatorSetIdProto *opsets = &opset;
    Onnx__ModelProto model;
    onnx__model_proto__init(&model);
    model.has_ir_version = 1;
    model.ir_version = IR_VERSION;
    model.n_opset_import = 1;
    model.opset_import = &opsets;
    model.producer_name = (char *)"netc";
    model.graph = &graph;
    model.n_metadata_props = x.nmeta;
    model.metadata_props = x.meta;
    rc = write_model(&model, path, err, errlen);
    goto done;
oom:
    rc = rt_errf(err, errlen, "out of memory building the ONNX graph");
done:
    comp_text_free(&stmts);
    comp_pb_arena_free(&a);
    return rc;
}
