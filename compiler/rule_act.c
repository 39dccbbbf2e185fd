/* rule_act.c — the rule every activation of acts.def shares: the
 * constraints torch puts on their arguments, the shape kept, one ACT op
 * running the acts.def expression (Identity: none, it is a view). */
#include "rule_util.h"

void comp_rule_act_args(const comp_layer *l, double ab[2])
{
    int slots[2];
    int n = comp_act_float_args((comp_act)l->kind, slots);
    ab[0] = ab[1] = 0;
    for (int i = 0; i < n; i++)
        ab[i] = l->args.num[slots[i]][0];
}

/* Values torch rejects (or turns into nonsense) that a range cannot
 * express. */
static int constraints(gram_source *src, const comp_layer *l)
{
    const comp_entry *e = &comp_layers[l->kind];
    switch (l->kind) {
    case COMP_LAYER_HARDTANH: {
        double lo = comp_arg_num(e, &l->args, "min_val"), hi = comp_arg_num(e, &l->args, "max_val");
        if (!(hi > lo)) { /* torch asserts max_val > min_val */
            gram_error(src, l->loc, "Hardtanh needs min_val < max_val, got min_val=%.15g max_val=%.15g", lo, hi);
            return 0;
        }
        return 1;
    }
    case COMP_LAYER_CELU:
        if (comp_arg_num(e, &l->args, "alpha") == 0) {
            gram_error(src, l->loc, "CELU alpha must not be 0 (it divides by alpha; torch raises ZeroDivisionError)");
            return 0;
        }
        return 1;
    case COMP_LAYER_SOFTPLUS:
        /* torch accepts it and returns log1p(exp(0)) / 0 = inf for every
         * input; no spec means that. */
        if (comp_arg_num(e, &l->args, "beta") == 0) {
            gram_error(src, l->loc, "Softplus beta must not be 0 (it divides by beta: every output would be infinite)");
            return 0;
        }
        return 1;
    default:
        return 1;
    }
}

/* torch's in-place ELU, CELU and LeakyReLU backward recover the slope from
 * the output and refuse a negative one; netc ignores inplace, but a spec
 * that torch cannot train is rejected alike. */
static int inplace_slope(gram_source *src, const comp_layer *l)
{
    const char *slope = l->kind == COMP_LAYER_LEAKY_RELU                             ? "negative_slope"
                        : l->kind == COMP_LAYER_ELU || l->kind == COMP_LAYER_CELU ? "alpha"
                                                                                     : NULL;
    const comp_entry *e = &comp_layers[l->kind];
    if (!slope || comp_arg_num(e, &l->args, "inplace") == 0 || comp_arg_num(e, &l->args, slope) >= 0)
        return 1;
    gram_error(src, l->loc, "%s with inplace=true needs %s >= 0, got %.15g (torch's in-place backward "
               "rejects a negative slope; use inplace=false)", e->name, slope, comp_arg_num(e, &l->args, slope));
    return 0;
}

static int act_check_args(gram_source *src, const comp_layer *l)
{
    return constraints(src, l) && inplace_slope(src, l);
}

/* y = f(x) elementwise, f the acts.def expression the op's act names.  A
 * Linear or convolution before the activation takes it instead (their
 * rules' fuse_act), so this op is for an activation after anything
 * else. */
static int act_lower(comp_lowerer *L, const comp_lower_in *in)
{
    const comp_layer *l = in->l;
    if (l->kind == COMP_LAYER_IDENTITY)
        return comp_rule_lower_view(L, in);
    size_t size = (size_t)comp_shape_size(&l->out);
    int y = comp_lower_batch_buf(L, size, &l->out, "h%d", in->out_index);
    comp_op *op = comp_lower_op(L, COMP_OP_ACT, l);
    if (y < 0 || !op)
        return -1;
    double ab[2];
    comp_rule_act_args(l, ab);
    op->act = (uint8_t)l->kind;
    op->p[0] = ab[0];
    op->p[1] = ab[1];
    op->n = (int32_t)size;
    op->buf[0] = y;
    op->buf[1] = in->x;
    return y;
}

static comp_output act_produces(const comp_layer *l)
{
    switch (l->kind) {
    case COMP_LAYER_SIGMOID: return COMP_OUTPUT_PROBS;
    case COMP_LAYER_IDENTITY: return COMP_OUTPUT_INPUT;
    default: return COMP_OUTPUT_VALUES;
    }
}

const comp_rule comp_rule_act = {.check_args = act_check_args, .lower = act_lower, .produces = act_produces};
