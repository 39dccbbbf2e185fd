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

#include "model.h"

typedef enum {
#define OP(id, name, phase, roles) COMP_OP_##id,
#include "ops.def"
#undef OP
    COMP_OP_COUNT
} comp_opcode;

typedef enum { COMP_PHASE_FWD, COMP_PHASE_LOSS, COMP_PHASE_BWD, COMP_PHASE_CLIP, COMP_PHASE_UPD } comp_phase;

/* Op names, phases and operand roles, expanded from ops.def. */
extern const char *const comp_op_names[COMP_OP_COUNT];
extern const comp_phase comp_op_phases[COMP_OP_COUNT];
extern const char *const comp_op_roles[COMP_OP_COUNT];

/* Flags of an op. */
enum {
    COMP_OPF_SUM = 1,      /* loss: reduction="sum" instead of "mean" */
    COMP_OPF_NESTEROV = 2, /* SGD */
    COMP_OPF_AMSGRAD = 4,  /* Adam */
    COMP_OPF_MAXIMIZE = 8  /* SGD, Adam */
};

#define COMP_OP_MAX_BUFS 8
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
    uint16_t line, col;                /* spec position */
} comp_op;

/* Where a buffer lives.  BATCH buffers hold `size` floats per sample and
 * are laid out for the batch size chosen at run time; the others have a
 * fixed size.  Parameter gradients mirror the parameter arena's layout, so
 * the optimizer walks the two arenas in lockstep. */
typedef enum {
    COMP_ARENA_BATCH,  /* inputs, targets, activations, their gradients, masks */
    COMP_ARENA_PARAM,  /* weights and biases, one contiguous block */
    COMP_ARENA_GRAD,   /* parameter gradients, same offsets as PARAM */
    COMP_ARENA_STATE,  /* optimizer state, k blocks the size of PARAM */
    COMP_ARENA_SCALAR  /* the loss */
} comp_arena;

#define COMP_ARENA_COUNT 5

typedef struct {
    char name[32];       /* "x", "h3", "0.weight", "adam.m", ... */
    comp_arena arena;
    size_t offset;       /* floats into the arena (BATCH: per sample) */
    size_t size;         /* floats (BATCH: per sample) */
    int layer;           /* PARAM/GRAD: the chain index of the owning layer */
    int rank;            /* shape for PARAM/GRAD buffers (torch layout) */
    int dims[2];
} comp_buf;

typedef struct {
    const comp_model *model;
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
} comp_plan;

/* Lower a checked model to a plan: one fused LINEAR per Linear and the
 * activation that follows it, softmax fused into the cross-entropy loss,
 * a backward op per forward op in reverse, the clipping op of a `clip`
 * statement over the whole gradient arena, one optimizer op over the whole
 * parameter arena.  Returns NULL only when out of memory. */
comp_plan *comp_lower(const comp_model *m);

/* Free a plan (NULL allowed); its model stays the caller's. */
void comp_plan_free(comp_plan *p);

/* The whole front end for one source: parse, check and lower.
 * Diagnostics go to src->out; src stays the caller's and must outlive the
 * plan.  Returns NULL when an error was reported (src->nerrors > 0) or
 * memory ran out (src->nerrors == 0).  Free the result with
 * comp_plan_destroy(). */
comp_plan *comp_compile(gram_source *src);

/* Free a plan from comp_compile() together with its model and spec (NULL
 * allowed). */
void comp_plan_destroy(comp_plan *p);

/* Total number of trainable parameters. */
size_t comp_plan_param_count(const comp_plan *p);

/* Print the plan in fixed columns, as `netc explain` shows it: one line per
 * op grouped by phase, then the buffers and the size of every arena at the
 * given batch size. */
void comp_plan_dump(const comp_plan *p, int batch, FILE *out);

#endif
