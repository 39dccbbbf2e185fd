/* rule_basic.c — the rules of the layers over a tensor of any shape:
 * Dropout, AlphaDropout, RReLU, PReLU, the softmax family (Softmax,
 * LogSoftmax, Softmin), GLU and Flatten.  Each is one op (Flatten none:
 * it is a view); dims are torch's, of the batched tensor. */
#include "rule_util.h"

#include <stdio.h>

/* The extents of a tensor of per-sample shape in viewed as (outer, n,
 * inner) around torch dim `dim` (of the batched tensor, which must be a
 * feature dim): outer and inner per sample. */
static void axis_extents(const comp_shape *in, int dim, int32_t *outer, int32_t *n, int32_t *inner)
{
    int axis = (dim < 0 ? dim + in->rank + 1 : dim) - 1; /* per-sample axis */
    long o = 1, k = 1;
    for (int d = 0; d < axis; d++)
        o *= in->dims[d];
    for (int d = axis + 1; d < in->rank; d++)
        k *= in->dims[d];
    *outer = (int32_t)o;
    *n = in->dims[axis];
    *inner = (int32_t)k;
}

/* The output buffer and the op of a layer whose op reads the input as
 * buf[1] (ACT's layout: y, x); NULL when out of memory. */
static comp_op *y_x_op(comp_lowerer *L, const comp_lower_in *in, comp_opcode code, int *y)
{
    const comp_layer *l = in->l;
    *y = comp_lower_batch_buf(L, (size_t)comp_shape_size(&l->out), &l->out, "h%d", in->out_index);
    comp_op *op = comp_lower_op(L, code, l);
    if (*y < 0 || !op)
        return NULL;
    op->buf[0] = *y;
    op->buf[1] = in->x;
    return op;
}

/* The mask of kept (scaled) elements is the backward's. */
static int dropout_lower(comp_lowerer *L, const comp_lower_in *in)
{
    const comp_layer *l = in->l;
    size_t size = (size_t)comp_shape_size(&l->out);
    int y = comp_lower_batch_buf(L, size, &l->out, "h%d", in->out_index);
    int mask = comp_lower_batch_buf(L, size, NULL, "mask%d", l->index);
    comp_op *op = comp_lower_op(L, COMP_OP_DROPOUT, l);
    if (y < 0 || mask < 0 || !op)
        return -1;
    op->p[0] = comp_arg_num(&comp_layers[l->kind], &l->args, "p");
    op->n = (int32_t)size;
    op->buf[0] = y;
    op->buf[1] = mask;
    op->buf[2] = in->x;
    return y;
}

static int rrelu_check_args(gram_source *src, const comp_layer *l)
{
    const comp_entry *e = &comp_layers[l->kind];
    double lower = comp_arg_num(e, &l->args, "lower"), upper = comp_arg_num(e, &l->args, "upper");
    if (lower > upper) {
        /* torch.rrelu rejects it too: the slopes are drawn from U(lower, upper). */
        gram_error(src, l->loc, "RReLU needs lower <= upper, got lower=%g upper=%g", lower, upper);
        return 0;
    }
    return 1;
}

/* RReLU and AlphaDropout keep what they drew for the backward: RReLU's
 * slopes, AlphaDropout's mask. */
static int drawn_lower(comp_lowerer *L, const comp_lower_in *in, int rrelu)
{
    const comp_layer *l = in->l;
    const comp_entry *e = &comp_layers[l->kind];
    size_t size = (size_t)comp_shape_size(&l->out);
    int y = comp_lower_batch_buf(L, size, &l->out, "h%d", in->out_index);
    int kept = comp_lower_batch_buf(L, size, NULL, rrelu ? "noise%d" : "mask%d", l->index);
    comp_op *op = comp_lower_op(L, rrelu ? COMP_OP_RRELU : COMP_OP_ALPHA_DROPOUT, l);
    if (y < 0 || kept < 0 || !op)
        return -1;
    op->p[0] = comp_arg_num(e, &l->args, rrelu ? "lower" : "p");
    op->p[1] = rrelu ? comp_arg_num(e, &l->args, "upper") : 0.0;
    op->n = (int32_t)size;
    op->buf[0] = y;
    op->buf[1] = kept;
    op->buf[2] = in->x;
    return y;
}

static int rrelu_lower(comp_lowerer *L, const comp_lower_in *in)
{
    return drawn_lower(L, in, 1);
}

static int alpha_dropout_lower(comp_lowerer *L, const comp_lower_in *in)
{
    return drawn_lower(L, in, 0);
}

/* torch's channel is dim 1 of (N, C, ...): per-sample dim 0. */
static int prelu_shape(gram_source *src, comp_layer *l, const char *prev, int data_in)
{
    int np = comp_rule_int(l, "num_parameters");
    if (np != 1 && np != l->in.dims[0]) {
        char shape[128];
        comp_shape_format(&l->in, shape, sizeof shape);
        gram_error(src, l->loc,
                   "PReLU(num_parameters=%d) needs 1 or one weight per channel, but its input %s has %d "
                   "channels (dim 1)",
                   np, shape, l->in.dims[0]);
        return 0;
    }
    return 1;
}

/* nn.PReLU's weight: one slope, or one per channel, all `init`. */
static int prelu_tensors(const comp_layer *l, comp_tensor_spec *t)
{
    t[0] = (comp_tensor_spec){.name = "weight", .rank = 1, .dims = {comp_rule_int(l, "num_parameters")},
                              .init = COMP_TINIT_PRELU,
                              .value = comp_arg_num(&comp_layers[l->kind], &l->args, "init")};
    return 1;
}

/* k: the floats per channel a weight covers (all of them for one). */
static int prelu_lower(comp_lowerer *L, const comp_lower_in *in)
{
    const comp_layer *l = in->l;
    int y;
    comp_op *op = y_x_op(L, in, COMP_OP_PRELU, &y);
    if (!op)
        return -1;
    size_t size = (size_t)comp_shape_size(&l->out);
    op->m = comp_rule_int(l, "num_parameters");
    op->n = (int32_t)size;
    op->k = op->m > 1 ? (int32_t)(size / (size_t)l->in.dims[0]) : (int32_t)size;
    op->buf[2] = in->tensors[0];
    return y;
}

/* Softmax, LogSoftmax, Softmin: along a feature dim, never the batch. */
static int softmax_shape(gram_source *src, comp_layer *l, const char *prev, int data_in)
{
    const char *name = comp_layers[l->kind].name;
    int dim = comp_rule_int(l, "dim"), d = comp_rule_batched_dim(dim, l->in.rank);
    if (d < 0) {
        char shape[128];
        comp_shape_format(&l->in, shape, sizeof shape);
        gram_error(src, l->loc, "%s dim=%d is out of range for its input %s (expected %d..%d)", name, dim, shape,
                   -(l->in.rank + 1), l->in.rank);
        return 0;
    }
    if (d == 0) {
        gram_error(src, l->loc, "%s dim=%d runs across the batch; use dim=1 (or -1) for the features", name, dim);
        return 0;
    }
    return 1;
}

static int softmax_lower(comp_lowerer *L, const comp_lower_in *in)
{
    const comp_layer *l = in->l;
    comp_opcode code = l->kind == COMP_LAYER_SOFTMAX   ? COMP_OP_SOFTMAX
                       : l->kind == COMP_LAYER_SOFTMIN ? COMP_OP_SOFTMIN
                                                       : COMP_OP_LOG_SOFTMAX;
    int y;
    comp_op *op = y_x_op(L, in, code, &y);
    if (!op)
        return -1;
    axis_extents(&l->in, comp_rule_int(l, "dim"), &op->m, &op->n, &op->k);
    return y;
}

/* Softmax's output counts as probabilities, LogSoftmax's as
 * log-probabilities, Softmin's (a softmax of -x) as arbitrary values. */
static comp_output softmax_produces(const comp_layer *l)
{
    return l->kind == COMP_LAYER_SOFTMAX       ? COMP_OUTPUT_PROBS
           : l->kind == COMP_LAYER_LOG_SOFTMAX ? COMP_OUTPUT_LOG_PROBS
                                               : COMP_OUTPUT_VALUES;
}

/* Halves dim: the first half gates through the sigmoid of the second. */
static int glu_shape(gram_source *src, comp_layer *l, const char *prev, int data_in)
{
    int dim = comp_rule_int(l, "dim"), d = comp_rule_batched_dim(dim, l->in.rank);
    char shape[128];
    comp_shape_format(&l->in, shape, sizeof shape);
    if (d < 0) {
        gram_error(src, l->loc, "GLU dim=%d is out of range for its input %s (expected %d..%d)", dim, shape,
                   -(l->in.rank + 1), l->in.rank);
        return 0;
    }
    if (d == 0) {
        gram_error(src, l->loc, "GLU dim=%d would halve the batch; use a feature dim (1..%d or -1)", dim,
                   l->in.rank);
        return 0;
    }
    l->out.dims[d - 1] /= 2; /* for an odd size the size meant, most likely: later layers are checked against it */
    if (l->in.dims[d - 1] % 2 != 0) {
        gram_error(src, l->loc, "GLU halves dim %d, but its input %s has odd size %d there", dim, shape,
                   l->in.dims[d - 1]);
        return 0;
    }
    return 1;
}

static int glu_lower(comp_lowerer *L, const comp_lower_in *in)
{
    const comp_layer *l = in->l;
    int y;
    comp_op *op = y_x_op(L, in, COMP_OP_GLU, &y);
    if (!op)
        return -1;
    axis_extents(&l->in, comp_rule_int(l, "dim"), &op->m, &op->n, &op->k);
    return y;
}

/* Batched dims start_dim..end_dim become one; the batch stays apart. */
static int flatten_shape(gram_source *src, comp_layer *l, const char *prev, int data_in)
{
    int start = comp_rule_int(l, "start_dim"), end = comp_rule_int(l, "end_dim");
    int s = comp_rule_batched_dim(start, l->in.rank), e = comp_rule_batched_dim(end, l->in.rank);
    if (s < 0 || e < 0 || s > e) {
        char shape[128];
        comp_shape_format(&l->in, shape, sizeof shape);
        gram_error(src, l->loc, "Flatten(start_dim=%d, end_dim=%d) does not fit its input %s", start, end, shape);
        return 0;
    }
    if (s == 0) {
        gram_error(src, l->loc, "Flatten with start_dim=0 would merge the batch dimension");
        return 0;
    }
    /* dims are per sample: batched dim d is per-sample dim d-1. */
    comp_shape o = {0};
    for (int d = 1; d < s; d++)
        o.dims[o.rank++] = l->in.dims[d - 1];
    long prod = 1;
    for (int d = s; d <= e; d++)
        prod *= l->in.dims[d - 1];
    o.dims[o.rank++] = (int)prod;
    for (int d = e + 1; d <= l->in.rank; d++)
        o.dims[o.rank++] = l->in.dims[d - 1];
    l->out = o;
    return 1;
}

const comp_rule comp_rule_dropout = {.lower = dropout_lower};
const comp_rule comp_rule_alpha_dropout = {.lower = alpha_dropout_lower};
const comp_rule comp_rule_rrelu = {.check_args = rrelu_check_args, .lower = rrelu_lower};
const comp_rule comp_rule_prelu = {.shape = prelu_shape, .tensors = prelu_tensors, .lower = prelu_lower};
const comp_rule comp_rule_softmax = {.shape = softmax_shape, .lower = softmax_lower, .produces = softmax_produces};
const comp_rule comp_rule_glu = {.shape = glu_shape, .lower = glu_lower};
const comp_rule comp_rule_flatten = {
    .shape = flatten_shape, .lower = comp_rule_lower_view, .produces = comp_rule_produces_input};
