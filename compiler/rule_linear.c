/* rule_linear.c — the rules of the layers that are a weight matrix:
 * Linear (x W^T + b over the last dim, with the activation after it
 * fused) and Embedding (rows of W looked up by the integer indices of the
 * data). */
#include "rule_util.h"

#include <math.h>
#include <stdio.h>

static int linear_shape(gram_source *src, comp_layer *l, const char *prev, int data_in)
{
    int in = comp_rule_int(l, "in_features"), out = comp_rule_int(l, "out_features"), ok = 1;
    if (l->in.rank == 0 || l->in.dims[l->in.rank - 1] != in) {
        gram_error(src, l->loc, "Linear(%d, %d) expects %d input features, but %s", in, out, in, prev);
        ok = 0;
    }
    /* Set even after an error, so later layers are checked against the
     * size meant. */
    if (l->out.rank == 0)
        l->out.rank = 1;
    l->out.dims[l->out.rank - 1] = out;
    return ok;
}

/* weight (out_features, in_features), bias (out_features), fans as
 * torch's for a 2-d weight. */
static int linear_tensors(const comp_layer *l, comp_tensor_spec *t)
{
    const int in = comp_rule_int(l, "in_features"), out = comp_rule_int(l, "out_features");
    t[0] = (comp_tensor_spec){.name = "weight", .rank = 2, .dims = {out, in}, .init = COMP_TINIT_WEIGHT,
                              .fan_in = in, .fan_out = out};
    if (!comp_rule_int(l, "bias"))
        return 1;
    t[1] = (comp_tensor_spec){.name = "bias", .rank = 1, .dims = {out}, .init = COMP_TINIT_BIAS, .fan_in = in,
                              .fan_out = out};
    return 2;
}

/* y = act(x W^T + b) in one op, over every row of the last dim; z keeps
 * the pre-activation when the activation's derivative needs it. */
static int linear_lower(comp_lowerer *L, const comp_lower_in *in)
{
    const comp_layer *l = in->l;
    size_t size = (size_t)comp_shape_size(&l->out);
    int y = comp_lower_batch_buf(L, size, &l->out, "h%d", in->out_index);
    int z = comp_act_needs_x[in->act] ? comp_lower_batch_buf(L, size, NULL, "z%d", l->index) : -1;
    comp_op *op = comp_lower_op(L, COMP_OP_LINEAR, l);
    if (y < 0 || (comp_act_needs_x[in->act] && z < 0) || !op)
        return -1;
    op->act = (uint8_t)in->act;
    op->p[0] = in->ab[0];
    op->p[1] = in->ab[1];
    op->buf[0] = y;
    op->buf[1] = z;
    op->buf[2] = in->x;
    op->buf[3] = in->tensors[0];
    op->buf[4] = comp_rule_int(l, "bias") ? in->tensors[1] : -1;
    op->k = comp_rule_int(l, "in_features");
    op->n = comp_rule_int(l, "out_features");
    op->m = (int32_t)(size / (size_t)op->n);
    return y;
}

/* The row padding_idx names, made non-negative as torch does
 * (num_embeddings + padding_idx when negative), or -1 for None; the
 * shape rule has bounded it. */
static long padding_row(const comp_layer *l)
{
    const double p = comp_arg_num(&comp_layers[l->kind], &l->args, "padding_idx");
    if (isnan(p))
        return -1;
    return p < 0 ? comp_rule_int(l, "num_embeddings") + (long)p : (long)p;
}

/* The input holds integer indices, which only the data has; each becomes
 * a row of embedding_dim floats, so the output has one dim more. */
static int embedding_shape(gram_source *src, comp_layer *l, const char *prev, int data_in)
{
    int ok = 1;
    if (!data_in) {
        gram_error(src, l->loc, "Embedding must be the first layer: its input is integer indices from the data, but %s",
                   prev);
        ok = 0;
    } else if (l->in.rank >= COMP_MAX_RANK) {
        gram_error(src, l->loc, "Embedding adds a dimension; its input may have at most %d", COMP_MAX_RANK - 1);
        ok = 0;
    } else {
        l->out.dims[l->out.rank++] = comp_rule_int(l, "embedding_dim");
    }
    /* torch: "Padding_idx must be within num_embeddings". */
    const double pad = comp_arg_num(&comp_layers[l->kind], &l->args, "padding_idx");
    const long rows = comp_rule_int(l, "num_embeddings");
    if (!isnan(pad) && (pad >= (double)rows || pad < -(double)rows)) {
        gram_error(src, l->loc, "Embedding padding_idx must be within num_embeddings: in [%ld, %ld], got %.0f", -rows,
                   rows - 1, pad);
        ok = 0;
    }
    return ok;
}

/* weight (num_embeddings, embedding_dim), fans as torch's for a 2-d
 * weight; the padding row starts at zero (COMP_TINIT_EMBEDDING). */
static int embedding_tensors(const comp_layer *l, comp_tensor_spec *t)
{
    const int rows = comp_rule_int(l, "num_embeddings"), dim = comp_rule_int(l, "embedding_dim");
    t[0] = (comp_tensor_spec){.name = "weight", .rank = 2, .dims = {rows, dim}, .init = COMP_TINIT_EMBEDDING,
                              .value = (double)padding_row(l), .fan_in = dim, .fan_out = rows};
    return 1;
}

/* One lookup op; the padding row in p[0] (the backward op copies p[]),
 * whose gradient stays zero. */
static int embedding_lower(comp_lowerer *L, const comp_lower_in *in)
{
    const comp_layer *l = in->l;
    int y = comp_lower_batch_buf(L, (size_t)comp_shape_size(&l->out), &l->out, "h%d", in->out_index);
    comp_op *op = comp_lower_op(L, COMP_OP_EMBEDDING, l);
    if (y < 0 || !op)
        return -1;
    op->buf[0] = y;
    op->buf[1] = in->x;
    op->buf[2] = in->tensors[0];
    op->m = (int32_t)comp_shape_size(&l->in);
    op->n = comp_rule_int(l, "embedding_dim");
    op->k = comp_rule_int(l, "num_embeddings");
    op->p[0] = (double)padding_row(l);
    return y;
}

const comp_rule comp_rule_linear = {
    .shape = linear_shape, .tensors = linear_tensors, .lower = linear_lower, .fuse_act = 1};
const comp_rule comp_rule_embedding = {
    .shape = embedding_shape, .tensors = embedding_tensors, .lower = embedding_lower, .sparse_grad = 1};
