/* rule.h — what a layer kind does, one row per kind.
 *
 * catalog.def gives every layer its arguments and names its rule; the
 * rule gives the rest, so that a new layer is a catalog row, a rule (or a
 * row sharing one) and its kernels, and nothing in check.c or lower.c:
 *
 *   check_args  constraints between the layer's own arguments (Hardtanh's
 *               min_val < max_val), checked as the chain is read
 *   shape       check the arguments against the input shape l->in
 *               (channel counts, kernel sizes against the padded input,
 *               groups, ...), set l->out and, for a spatial layer, the
 *               geometry l->g
 *   tensors     the layer's parameters and model state with their shapes,
 *               fans and initial values, in state_dict order
 *   lower       the layer's forward ops over numbered buffers (the
 *               backward ops follow from ops.def's roles: see lower.c)
 *   produces    what the output holds, for the loss's expectations
 *
 * A rule sees one layer and what it is handed, never the chain: shape()
 * is told whether its input is the data rather than where in a chain the
 * layer stands, and a layer with several inputs (residual blocks) is a
 * rule whose lower() takes several x. */
#ifndef NETC_COMPILER_RULE_H
#define NETC_COMPILER_RULE_H

#include "plan.h"

/* Most tensors (parameters and state) one layer has. */
#define COMP_RULE_MAX_TENSORS 6

/* One parameter or state tensor of a layer. */
typedef struct {
    const char *name;     /* the state_dict suffix: "weight", "running_mean", ... */
    int state;            /* 0: trainable (PARAM arena), 1: model state (MODEL arena) */
    int rank;
    int dims[COMP_MAX_RANK];
    comp_tinit init;
    double value;         /* COMP_TINIT_CONST/PRELU/EMBEDDING */
    double fan_in, fan_out;
} comp_tensor_spec;

/* The lowering's state, for the rules' lower(): lower.c's. */
typedef struct comp_lowerer comp_lowerer;

/* What lower() is handed: the layer, its tensors' buffers (in tensors()
 * order), its input, and the activation fused after it (rules with
 * fuse_act; COMP_ACT_IDENTITY otherwise). */
typedef struct {
    const comp_layer *l;
    const int *tensors;
    int x;
    comp_act act;
    double ab[2];        /* the activation's float arguments */
    int out_index;       /* the chain index the output buffer is named after */
} comp_lower_in;

/* An activation layer's float arguments a, b (acts.def; 0 when absent):
 * the p[0], p[1] of its ACT op, or of the op it is fused into. */
void comp_rule_act_args(const comp_layer *l, double ab[2]);

/* What a layer's output holds, as far as the loss cares: check.c warns
 * about a chain that cannot produce what the loss expects (catalog.def's
 * INPUT). */
typedef enum {
    COMP_OUTPUT_VALUES,    /* arbitrary values (Dropout's too: it scales by 1/(1-p)) */
    COMP_OUTPUT_PROBS,     /* probabilities in [0, 1] */
    COMP_OUTPUT_LOG_PROBS, /* log-probabilities */
    COMP_OUTPUT_INPUT      /* its input's values, at most reshaped (the views) */
} comp_output;

typedef struct {
    /* Constraints between the layer's arguments and values torch rejects
     * that a range cannot express, checked as the chain is read, before
     * any shape: 0 after reporting.  NULL: none. */
    int (*check_args)(gram_source *src, const comp_layer *l);
    /* l->out starts as l->in; 0 after reporting, l->out then being what
     * later layers are checked against.  data_in: the layer's input is the
     * model's input (the data), not another layer's output.  NULL: the
     * output has the input's shape. */
    int (*shape)(gram_source *src, comp_layer *l, const char *prev, int data_in);
    /* NULL: no tensors. */
    int (*tensors)(const comp_layer *l, comp_tensor_spec *t);
    /* Returns the output buffer, -1 when out of memory; in->x itself for a
     * view, whose output is its input's storage (no op, no buffer). */
    int (*lower)(comp_lowerer *L, const comp_lower_in *in);
    /* NULL: COMP_OUTPUT_VALUES. */
    comp_output (*produces)(const comp_layer *l);
    int fuse_act;        /* an activation right after is fused into the op */
    int sparse_grad;     /* its parameters' gradients are row-sparse: SparseAdam can train them */
} comp_rule;

/* The rule of each layer kind. */
extern const comp_rule *const comp_layer_rules[COMP_LAYER_COUNT];

/* Whether layer l has trainable parameters (non-state tensors of its
 * rule); the checker asks, e.g. for SparseAdam. */
int comp_layer_has_params(const comp_layer *l);

/* For the rules' lower(): a BATCH buffer of `size` floats per sample with
 * per-sample shape s (NULL: none), named by fmt; a fixed-size buffer of
 * arena a; an op of code for layer l.  -1 / NULL when out of memory. */
int comp_lower_batch_buf(comp_lowerer *L, size_t size, const comp_shape *s, const char *fmt, int index);
int comp_lower_fixed_buf(comp_lowerer *L, comp_arena a, size_t size, const char *fmt, int index);
comp_op *comp_lower_op(comp_lowerer *L, comp_opcode code, const comp_layer *l);
/* Scratch buffer b (from comp_lower_batch_buf) needs only fwd_size floats
 * per sample when the forward ops run alone (inference layouts). */
void comp_lower_scratch_fwd_size(comp_lowerer *L, int b, size_t fwd_size);

/* "(the previous layer) produces (N, 16, 4, 4)"-style text is built by
 * check.c and handed to shape() as prev, so every rule words its errors
 * the same way: "<Layer>(args) expects ..., but <prev>". */

#endif
