/* rule_norm.c — the rules of BatchNorm1d/2d, Dropout1d/2d, Softmax2d and
 * Unflatten: layers over channels that keep (or only reshape) their
 * input. */
#include "rule_util.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Channels and the floats per channel of a sample for a layer over
 * (C, ...) input of per-sample rank in [lo, hi]; reports torch's expected
 * shapes otherwise. */
static int channels(gram_source *src, const comp_layer *l, const char *prev, int lo, int hi, const char *want,
                    int *c, long *inner)
{
    if (l->in.rank < lo || l->in.rank > hi) {
        char call[128];
        comp_rule_call(l, call, sizeof call);
        gram_error(src, l->loc, "%s expects input of shape %s, but %s", call, want, prev);
        return 0;
    }
    *c = l->in.dims[0];
    *inner = comp_shape_size(&l->in) / *c;
    return 1;
}

static int bn_shape(gram_source *src, comp_layer *l, const char *prev, int data_in)
{
    int nd = comp_rule_nd(l), c, want = comp_rule_int(l, "num_features");
    long inner;
    if (!channels(src, l, prev, nd, nd + 1, nd == 1 ? "(N, C) or (N, C, L)" : "(N, C, H, W)", &c, &inner))
        return 0;
    if (nd == 2 && l->in.rank != 3) {
        gram_error(src, l->loc, "BatchNorm2d(%d) expects input of shape (N, C, H, W), but %s", want, prev);
        return 0;
    }
    if (c != want) {
        gram_error(src, l->loc, "%s(%d) expects %d channels, but %s", comp_layers[l->kind].name, want, want, prev);
        return 0;
    }
    l->g = (comp_geom){.c_in = c, .h_in = 1, .w_in = (int32_t)inner, .c_out = c, .h_out = 1,
                       .w_out = (int32_t)inner, .kh = 1, .kw = 1, .sh = 1, .sw = 1, .dh = 1, .dw = 1, .groups = 1};
    return 1;
}

/* nn.BatchNorm's reset_parameters: weight 1, bias 0, running_mean 0,
 * running_var 1, num_batches_tracked 0 (a 0-d tensor), in state_dict
 * order. */
static int bn_tensors(const comp_layer *l, comp_tensor_spec *t)
{
    const int c = l->g.c_in;
    int n = 0;
    if (comp_rule_int(l, "affine")) {
        t[n++] = (comp_tensor_spec){.name = "weight", .rank = 1, .dims = {c}, .init = COMP_TINIT_CONST, .value = 1};
        t[n++] = (comp_tensor_spec){.name = "bias", .rank = 1, .dims = {c}, .init = COMP_TINIT_CONST, .value = 0};
    }
    if (comp_rule_int(l, "track_running_stats")) {
        t[n++] = (comp_tensor_spec){.name = "running_mean", .state = 1, .rank = 1, .dims = {c},
                                    .init = COMP_TINIT_CONST, .value = 0};
        t[n++] = (comp_tensor_spec){.name = "running_var", .state = 1, .rank = 1, .dims = {c},
                                    .init = COMP_TINIT_CONST, .value = 1};
        t[n++] = (comp_tensor_spec){.name = "num_batches_tracked", .state = 1, .rank = 0,
                                    .init = COMP_TINIT_CONST, .value = 0};
    }
    return n;
}

/* One op, with the activation after it fused; the batch's mean and 1/std
 * stay in fixed-size buffers for the backward. */
static int bn_lower(comp_lowerer *L, const comp_lower_in *in)
{
    const comp_layer *l = in->l;
    const int c = l->g.c_in, affine = comp_rule_int(l, "affine") != 0;
    const int track = comp_rule_int(l, "track_running_stats") != 0;
    size_t size = (size_t)comp_shape_size(&l->out);
    int y = comp_lower_batch_buf(L, size, &l->out, "h%d", in->out_index);
    int z = comp_act_needs_x[in->act] ? comp_lower_batch_buf(L, size, &l->out, "z%d", l->index) : -1;
    int mean = comp_lower_fixed_buf(L, COMP_ARENA_SCALAR, (size_t)c, "mean%d", l->index);
    int invstd = comp_lower_fixed_buf(L, COMP_ARENA_SCALAR, (size_t)c, "invstd%d", l->index);
    comp_op *op = comp_lower_op(L, COMP_OP_BATCHNORM, l);
    if (y < 0 || mean < 0 || invstd < 0 || !op)
        return -1;
    const int *t = in->tensors;
    op->g = l->g;
    op->m = c;
    op->k = l->g.w_in;
    op->n = (int32_t)size;
    op->p[0] = comp_arg_num(&comp_layers[l->kind], &l->args, "eps");
    op->p[1] = comp_arg_num(&comp_layers[l->kind], &l->args, "momentum"); /* NaN: None */
    op->act = (uint8_t)in->act;
    op->p[2] = in->ab[0];
    op->p[3] = in->ab[1];
    op->buf[9] = z;
    op->buf[0] = y;
    op->buf[1] = in->x;
    op->buf[2] = affine ? t[0] : -1;
    op->buf[3] = affine ? t[1] : -1;
    op->buf[4] = track ? t[2 * affine] : -1;
    op->buf[5] = track ? t[2 * affine + 1] : -1;
    op->buf[6] = track ? t[2 * affine + 2] : -1;
    op->buf[7] = mean;
    op->buf[8] = invstd;
    return y;
}

static int dropout_ch_shape(gram_source *src, comp_layer *l, const char *prev, int data_in)
{
    int nd = comp_rule_nd(l), c;
    long inner;
    if (!channels(src, l, prev, nd + 1, nd + 1, nd == 1 ? "(N, C, L)" : "(N, C, H, W)", &c, &inner))
        return 0;
    l->g = (comp_geom){.c_in = c, .h_in = 1, .w_in = (int32_t)inner, .c_out = c, .h_out = 1,
                       .w_out = (int32_t)inner};
    return 1;
}

/* Zeroes whole channels; the mask is per element, so DROPOUT_BWD serves. */
static int dropout_ch_lower(comp_lowerer *L, const comp_lower_in *in)
{
    const comp_layer *l = in->l;
    size_t size = (size_t)comp_shape_size(&l->out);
    int y = comp_lower_batch_buf(L, size, &l->out, "h%d", in->out_index);
    int mask = comp_lower_batch_buf(L, size, &l->out, "mask%d", l->index);
    comp_op *op = comp_lower_op(L, COMP_OP_DROPOUT_CH, l);
    if (y < 0 || mask < 0 || !op)
        return -1;
    op->m = l->g.c_in;
    op->k = l->g.w_in;
    op->n = (int32_t)size;
    op->p[0] = comp_arg_num(&comp_layers[l->kind], &l->args, "p");
    op->buf[0] = y;
    op->buf[1] = mask;
    op->buf[2] = in->x;
    return y;
}

static int softmax2d_shape(gram_source *src, comp_layer *l, const char *prev, int data_in)
{
    int c;
    long inner;
    return channels(src, l, prev, 3, 3, "(N, C, H, W)", &c, &inner);
}

/* A softmax over the channels of every position: outer 1, axis C, inner
 * H*W (ops.def's SOFTMAX layout). */
static int softmax2d_lower(comp_lowerer *L, const comp_lower_in *in)
{
    const comp_layer *l = in->l;
    size_t size = (size_t)comp_shape_size(&l->out);
    int y = comp_lower_batch_buf(L, size, &l->out, "h%d", in->out_index);
    comp_op *op = comp_lower_op(L, COMP_OP_SOFTMAX, l);
    if (y < 0 || !op)
        return -1;
    op->m = 1;
    op->n = l->in.dims[0];
    op->k = (int32_t)(size / (size_t)l->in.dims[0]);
    op->buf[0] = y;
    op->buf[1] = in->x;
    return y;
}

/* torch's Unflatten: per-sample dim d becomes the given sizes, one of
 * which may be -1 (inferred). */
static int unflatten_shape(gram_source *src, comp_layer *l, const char *prev, int data_in)
{
    int dim = comp_rule_int(l, "dim"), full = l->in.rank + 1;
    int d = dim < 0 ? dim + full : dim;
    if (dim < -full || dim >= full || d == 0) {
        gram_error(src, l->loc, "Unflatten dim=%d must name a feature dim of its input (1..%d or -1..-%d), but %s",
                   dim, l->in.rank, l->in.rank, prev);
        return 0;
    }
    const int n = l->args.nlist;
    if (l->in.rank - 1 + n > COMP_MAX_RANK) {
        gram_error(src, l->loc, "Unflatten would make %d dims per sample; at most %d are supported",
                   l->in.rank - 1 + n, COMP_MAX_RANK);
        return 0;
    }
    long prod = 1;
    int infer = -1;
    for (int i = 0; i < n; i++) {
        if (l->args.list[i] == -1) {
            if (infer >= 0) {
                gram_error(src, l->loc, "Unflatten unflattened_size may hold -1 only once");
                return 0;
            }
            infer = i;
        } else if (l->args.list[i] < 1) {
            gram_error(src, l->loc, "Unflatten unflattened_size must hold sizes of at least 1 (or one -1)");
            return 0;
        } else {
            prod *= (long)l->args.list[i];
        }
    }
    const int have = l->in.dims[d - 1];
    if (n == 0 || (infer < 0 && prod != have) || (infer >= 0 && have % prod != 0)) {
        gram_error(src, l->loc, "Unflatten: unflattened_size must multiply to the size of dim %d (%d), but %s", dim,
                   have, prev);
        return 0;
    }
    comp_shape o = {0};
    for (int i = 0; i < d - 1; i++)
        o.dims[o.rank++] = l->in.dims[i];
    for (int i = 0; i < n; i++)
        o.dims[o.rank++] = i == infer ? (int)(have / prod) : (int)l->args.list[i];
    for (int i = d; i < l->in.rank; i++)
        o.dims[o.rank++] = l->in.dims[i];
    l->out = o;
    return 1;
}

static comp_output softmax2d_produces(const comp_layer *l)
{
    return COMP_OUTPUT_PROBS;
}

const comp_rule comp_rule_batchnorm = {
    .shape = bn_shape, .tensors = bn_tensors, .lower = bn_lower, .fuse_act = 1};
const comp_rule comp_rule_dropout_channels = {.shape = dropout_ch_shape, .lower = dropout_ch_lower};
const comp_rule comp_rule_softmax2d = {
    .shape = softmax2d_shape, .lower = softmax2d_lower, .produces = softmax2d_produces};
const comp_rule comp_rule_unflatten = {
    .shape = unflatten_shape, .lower = comp_rule_lower_view, .produces = comp_rule_produces_input};
