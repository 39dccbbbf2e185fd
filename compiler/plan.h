/* plan.h — the lowered model: a flat list of ops over numbered buffers.
 *
 * The plan is plain data.  The interpreter (runtime/exec.c) and any code
 * generator walk the same op list, so they cannot disagree about what the
 * model computes.  Every op carries the spec position it came from. */
#ifndef NETC_COMPILER_PLAN_H
#define NETC_COMPILER_PLAN_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "buf_align.h"
#include "geom.h"
#include "model.h"

typedef enum {
#define OP(id, name, phase, roles, call) COMP_OP_##id,
#include "ops.def"
#undef OP
    COMP_OP_COUNT
} comp_opcode;

typedef enum { COMP_PHASE_FWD, COMP_PHASE_LOSS, COMP_PHASE_BWD, COMP_PHASE_CLIP, COMP_PHASE_UPD } comp_phase;

/* Op names, phases and operand roles, expanded from ops.def. */
extern const char *const comp_op_names[COMP_OP_COUNT];
extern const comp_phase comp_op_phases[COMP_OP_COUNT];
extern const char *const comp_op_roles[COMP_OP_COUNT];

/* Flags of a loss op: X(NAME, bit); the C emitter resolves ops.def's
 * FLAG(NAME) words through this list.  An update op's flags are its
 * optimizer's bool arguments instead: bit i is the i-th bool argument in
 * catalog.def order (ops.def's BOOL(i)). */
#define COMP_OP_FLAGS(X)                                         \
    X(SUM, 1)      /* loss: reduction="sum" instead of "mean" */ \
    X(BATCHMEAN, 2) /* loss: reduction="batchmean" (KLDiv): the sum over the batch size */ \
    X(STRONG_WOLFE, 4) /* LBFGS (no bool arguments): line_search_fn="strong_wolfe" */ \
    X(SPARSE, 8)   /* EMBEDDING_BWD: only the rows the batch touched are written */ \
    X(PROBS, 16)   /* XENT: the target holds class probabilities (MixUp, CutMix), not indices */

enum {
#define X(name, bit) COMP_OPF_##name = bit,
    COMP_OP_FLAGS(X)
#undef X
};

/* One operand role of an op, parsed from ops.def's roles string. */
typedef struct {
    const char *name;      /* the role's name, len bytes (not NUL-terminated) */
    int len;
    int out;               /* '>' (or '~'): the op writes it */
    int scratch;           /* '~': the op's own scratch, written and read by that
                            * op alone: nothing in it before, nothing kept after */
    const char *cond;      /* "?ARG": kept only when the optimizer's argument */
    int cond_len;          /*   ARG is nonzero; cond_len 0 when unconditional */
    int scalar;            /* ":1": a one-float state buffer */
} comp_role;

/* Parse role i (0-based) of op code into *r; returns 0 (r untouched) when
 * the op has fewer roles. */
int comp_op_role(comp_opcode code, int i, comp_role *r);

/* The update op of every optimizer: the op with the optimizer's ID. */
extern const uint8_t comp_optim_ops[COMP_OPTIM_COUNT];
/* The plan op of every loss (catalog.def OP column). */
extern const uint8_t comp_loss_ops[COMP_LOSS_COUNT];

/* The optimizer whose update op code is, or -1 for other ops. */
int comp_op_optim(comp_opcode code);

#define COMP_OP_MAX_BUFS 12
#define COMP_OP_MAX_PARAMS 8

/* One op: fixed size, no pointers, so a plan can be copied, dumped and
 * compared as data. */
typedef struct {
    uint8_t code;                      /* comp_opcode */
    uint8_t act;                       /* comp_act of LINEAR, ACT and their backward */
    uint16_t flags;                    /* COMP_OPF_* */
    int32_t layer;                     /* index of the layer in the chain, -1 for updates */
    int32_t buf[COMP_OP_MAX_BUFS];     /* operands, roles as ops.def; -1 = absent */
    int32_t m, n, k;                   /* sizes, see ops.def */
    double p[COMP_OP_MAX_PARAMS];      /* float arguments */
    comp_geom g;                       /* integer geometry of a spatial op (zero elsewhere) */
    uint16_t line, col;                /* spec position */
} comp_op;

/* Where a buffer lives.  BATCH buffers hold `size` floats per sample and
 * are laid out for the batch size chosen at run time; the others have a
 * fixed size.  BATCH and STATE buffers start on 16-float boundaries
 * (buf_align.h).  Parameter gradients mirror the parameter arena's layout, so
 * the optimizer walks the two arenas in lockstep. */
typedef enum {
    COMP_ARENA_BATCH,  /* inputs, targets, activations, their gradients, masks */
    COMP_ARENA_PARAM,  /* weights and biases, one contiguous block */
    COMP_ARENA_GRAD,   /* parameter gradients, same offsets as PARAM */
    COMP_ARENA_STATE,  /* optimizer state, k blocks the size of PARAM (aligned, buf_align.h) */
    COMP_ARENA_SCALAR, /* fixed-size scratch: the loss, BatchNorm's batch statistics */
    COMP_ARENA_MODEL   /* model state that is not trained: BatchNorm's running
                        * statistics; saved with the parameters, shared with
                        * inference nets, never touched by the optimizer */
} comp_arena;

#define COMP_ARENA_COUNT 6

/* How a PARAM or MODEL tensor starts (rt_net_init_params). */
typedef enum {
    COMP_TINIT_WEIGHT, /* the layer's init=, else the model's init statement, with fan_in/fan_out */
    COMP_TINIT_BIAS,   /* uniform in +-1/sqrt(fan_in), as torch's layers init their biases */
    COMP_TINIT_CONST,  /* every element init_value (BatchNorm's weight 1, running_var 1, ...) */
    COMP_TINIT_PRELU,  /* nn.PReLU: init_value, whatever the weight init */
    COMP_TINIT_EMBEDDING /* nn.Embedding: normal(0, 1) and the padding row (init_value) zeroed
                          * under the default init, else as WEIGHT */
} comp_tinit;

typedef struct {
    char name[32];       /* "x", "h3", "0.weight", "adam.m", ... */
    comp_arena arena;
    size_t offset;       /* floats into the arena (BATCH: per sample) */
    size_t size;         /* floats (BATCH: per sample) */
    size_t fwd_size;     /* BATCH scratch: floats per sample that the forward
                          * ops alone use of it (inference), 0 for size */
    int layer;           /* PARAM/GRAD/MODEL: the chain index of the owning layer */
    int rank;            /* PARAM/GRAD/MODEL: the tensor's shape (torch layout);
                          * BATCH: the per-sample shape, 0 when it has none */
    int dims[COMP_MAX_RANK];
    /* PARAM/MODEL: how the tensor starts.  init_index picks the weight
     * init in comp_plan.inits (COMP_TINIT_WEIGHT); fans as
     * torch.nn.init computes them for this tensor. */
    uint8_t init;        /* comp_tinit */
    int16_t init_index;
    double init_value, fan_in, fan_out;
} comp_buf;

/* One layer of the chain as the runtime reports it (--stats). */
typedef struct {
    int32_t kind;        /* comp_layer_kind */
    int32_t index;       /* position in the equivalent nn.Sequential */
    float act_a, act_b;  /* an activation's float arguments (acts.def), else 0 */
} comp_plan_layer;

/* What the runtime needs of the model besides the ops, so that it never
 * reads the compiler's model: names for checkpoints and messages, the
 * optimizer and schedule, the layers for --stats. */
typedef struct {
    char *name;          /* the model's name (owned) */
    uint64_t hash;       /* the spec's hash: identifies checkpoints */
    int optim;           /* comp_optim_kind, COMP_OPTIM_COUNT for none */
    int sched;           /* comp_sched_kind, COMP_SCHED_COUNT for none */
    comp_args sched_args;/* the schedule's arguments (numbers and list only are read) */
    int nlayers;
    comp_plan_layer *layers;
    /* What the model is, as a checkpoint records it to recognise the model
     * it fits (owned): the input shape, "(N, 784)", and every layer's call
     * with all its arguments, joined by " -> ".  Training settings (epochs,
     * optimizer, init) are not part of it. */
    char *input_text, *layers_text;
    int ntransforms;     /* the `transform` chain (transforms.def), in order */
    comp_transform transforms[COMP_MAX_TRANSFORMS];
    int img_c, img_h, img_w; /* a sample as the transforms see it: input (C, H, W),
                              * (1, H, W) for (H, W), (1, 1, n) for a flat n */
    int mix;             /* the `augment` batch mixing (comp_mix_kind), COMP_MIX_COUNT for none */
    comp_args mix_args;
} comp_plan_info;

typedef struct {
    const comp_model *model;  /* the compiler's; the runtime reads info instead */
    comp_plan_info info;
    comp_op *ops;
    int nops;
    int nfwd, nloss, nbwd, nclip, nupd; /* the ops come in this order */
    comp_buf *bufs;
    int nbufs;
    size_t arena_size[COMP_ARENA_COUNT]; /* floats (BATCH: per sample) */
    int input, target, output, loss;    /* buffer indices */
    size_t target_size;                 /* target floats per sample: 1 (class) or output size */
    int nparams;                        /* parameter tensors: buffers params[0..nparams) */
    int *params;                        /* buffer indices of the weights/biases, chain order */
    int nstate;                         /* model-state tensors (MODEL arena) */
    int *state;                         /* their buffer indices, chain order */
    comp_init *inits;                   /* the weight inits the PARAM buffers name: [0] the
                                           model's, then one per layer with init= */
    int ninits;
    int *layer_out;                     /* per chain layer: the BATCH buffer holding its output
                                           (a view's is its input's), or -1 for a Linear whose
                                           output is fused into the activation after it */
} comp_plan;

/* The arenas' names as `netc explain` prints them ("batch", "params", ...). */
extern const char *const comp_arena_names[COMP_ARENA_COUNT];

/* The most floats an arena may hold (the BATCH arena: per sample).  Ops
 * count their elements in 32 bits (op->n over the whole parameter arena),
 * so a larger model is refused rather than computed wrong. */
#define COMP_MAX_ARENA 2147483647u

/* Lower a checked model to a plan: one fused LINEAR per Linear and the
 * activation that follows it, softmax fused into the cross-entropy loss,
 * a backward op per forward op in reverse, the clipping op of a `clip`
 * statement over the whole gradient arena, one optimizer op over the whole
 * parameter arena.  Returns NULL when out of memory (nothing reported), or
 * after reporting, at the model's name, an arena larger than
 * COMP_MAX_ARENA floats. */
comp_plan *comp_lower(const comp_model *m);

/* Free a plan (NULL allowed); its model stays the caller's. */
void comp_plan_free(comp_plan *p);

/* The whole front end for one source: parse, check and lower.
 * Diagnostics go to src->out; src stays the caller's and must outlive the
 * plan.  Returns NULL when an error was reported (src->nerrors > 0) or
 * memory ran out (src->nerrors == 0).  Errors past src->max_errors are
 * counted, not shown, and a closing note says how many.  Free the result
 * with comp_plan_destroy(). */
comp_plan *comp_compile(gram_source *src);

/* Free a plan from comp_compile() together with its model and spec (NULL
 * allowed). */
void comp_plan_destroy(comp_plan *p);

/* The index of the buffer called name (e.g. an optimizer state buffer,
 * "asgd.ax"), or -1. */
int comp_plan_find_buf(const comp_plan *p, const char *name);

/* Total number of trainable parameters. */
size_t comp_plan_param_count(const comp_plan *p);

/* Which ops a batch layout serves: the forward ops alone (predict,
 * emitted inference), the forward and loss ops (eval), or the whole
 * training step (the plan's own layout). */
typedef enum { COMP_LAYOUT_FORWARD, COMP_LAYOUT_EVAL, COMP_LAYOUT_TRAIN } comp_layout_kind;

/* A layout of the batch buffers that the ops of kind touch: offsets[b]
 * (floats per sample, a multiple of COMP_BUF_ALIGN; p->nbufs entries,
 * SIZE_MAX for a buffer those ops do not touch), where buffers share
 * floats when no op has both live.  A buffer is live from the op that
 * first touches it (the caller, for the input and the targets) to the last
 * (the caller, for the output); a scratch operand (ops.def's '~') only at
 * the ops that use it; for TRAIN, what the forward and loss ops write is
 * kept at least until the backward starts, for callers that read it
 * between the phases.  Returns the floats per sample of the whole layout,
 * 0 when out of memory. */
size_t comp_batch_layout(const comp_plan *p, comp_layout_kind kind, size_t *offsets);

/* Floats per sample that batch buffer b takes in a layout of kind: its
 * size, or for a scratch that the forward ops alone use less of, its
 * fwd_size when no backward op runs. */
size_t comp_layout_buf_size(const comp_plan *p, comp_layout_kind kind, int b);

/* comp_batch_layout(p, COMP_LAYOUT_FORWARD, offsets). */
size_t comp_forward_layout(const comp_plan *p, size_t *offsets);

/* Print the plan in fixed columns, as `netc explain` shows it: one line per
 * op grouped by phase, then the buffers and the size of every arena at the
 * given batch size. */
void comp_plan_dump(const comp_plan *p, int batch, FILE *out);

/* The same plan as one JSON object (`netc explain --json`, for tools):
 * the model and batch, every op (address, phase, opcode, its output and
 * input buffers by role, spec line and column, the details explain
 * prints), the schedule, every buffer (arena, offset and floats at that
 * batch, shape with the batch first for batch buffers), the parameter
 * count and the floats and bytes of every arena.  Ends with a newline. */
void comp_plan_dump_json(const comp_plan *p, int batch, FILE *out);

/* The names explain gives arenas and op phases, indexed by comp_arena
 * and comp_phase. */
extern const char *const comp_arena_names[COMP_ARENA_COUNT];
extern const char *const comp_phase_titles[];

/* What explain's details column says of an op: sizes, activation,
 * hyperparameters ("120x400 ReLU", "lr=0.001 betas=(0.9,0.999) ..."). */
void comp_op_details(const comp_op *op, char *buf, size_t size);

#endif
