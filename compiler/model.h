/* model.h — a checked model: every name resolved, every argument matched
 * to its schema, range-checked and evaluated, every layer's shape known.
 * This is what the planner lowers; nothing downstream re-validates. */
#ifndef NETC_COMPILER_MODEL_H
#define NETC_COMPILER_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "../grammar/ast.h"
#include "catalog.h"
#include "geom.h"

#define COMP_MAX_RANK 6

/* A per-sample shape (the batch dimension is implicit and comes first). */
typedef struct {
    int rank;
    int dims[COMP_MAX_RANK];
} comp_shape;

/* Resolved argument values, indexed like the entry's schema: numbers,
 * bools (0/1) and pairs in num, chosen strings in str (and the index of
 * the choice in num, so an activation can take it as a float argument),
 * and the items of the entry's list argument (COMP_T_LIST, at most one) in
 * list. */
typedef struct {
    double num[COMP_MAX_ARGS][2];
    int8_t ntuple[COMP_MAX_ARGS];   /* COMP_T_SIZE: items of the tuple given (0: an
                                     * integer, which num[i][0] and [1] both hold) */
    const char *str[COMP_MAX_ARGS];
    double list[COMP_MAX_LIST];
    int nlist;
    float vec[COMP_MAX_ARGS][COMP_MAX_VEC]; /* COMP_T_VEC: the items (float32, as
                                             * torch.as_tensor makes them),
                                             * ntuple[i] of them */
} comp_args;

/* An initializer with its arguments. */
typedef struct {
    comp_init_kind kind;
    comp_args args;
    gram_loc loc;
} comp_init;

/* One layer of the flattened chain (repeat blocks are expanded), so index
 * is also the layer's position in the equivalent nn.Sequential. */
/* One transform of the `transform` chain. */
typedef struct {
    comp_tf_kind kind;
    comp_args args;
    gram_loc loc;
} comp_transform;

/* Most transforms a chain may have. */
#define COMP_MAX_TRANSFORMS 16

typedef struct {
    comp_layer_kind kind;
    comp_args args;
    gram_loc loc;
    int index;
    comp_shape in, out;
    comp_geom g;         /* spatial layers: the geometry their shape rule computed */
    int has_init;        /* a layer-level init= overrides the model's */
    comp_init init;
} comp_layer;

typedef struct {
    gram_spec *spec;     /* owned: names and locations point into it */
    const char *name;
    uint64_t hash;       /* FNV-1a of the spec text: identifies checkpoints */
    comp_shape input;
    comp_layer *layers;
    int nlayers;
    comp_init init;      /* the model-wide weight init (default: PyTorch's) */
    comp_loss_kind loss;
    comp_args loss_args;
    gram_loc loss_loc;
    comp_optim_kind optim;
    comp_args optim_args;
    gram_loc optim_loc;
    comp_sched_kind sched;  /* the `schedule` statement, COMP_SCHED_COUNT if none */
    comp_args sched_args;
    gram_loc sched_loc;
    comp_clip_kind clip;    /* the `clip` statement, COMP_CLIP_COUNT if none */
    comp_args clip_args;
    gram_loc clip_loc;
    int has_train;       /* a `train` statement was given */
    int epochs, batch, shuffle;
    uint32_t seed;
    comp_stop_kind stop;    /* `train early_stop=`, COMP_STOP_COUNT if none */
    comp_args stop_args;
    gram_loc stop_loc;
    const char *data;    /* the `data` path or NULL */
    double val_fraction; /* `data ... validation=F`: the held-out fraction, or 0 */
    const char *val_path; /* `data ... validation="PATH"`, or NULL */
    comp_transform transforms[COMP_MAX_TRANSFORMS]; /* the `transform` chain, in order */
    int ntransforms;
    comp_mix_kind mix;   /* the `augment` statement, COMP_MIX_COUNT if none */
    comp_args mix_args;
    gram_loc mix_loc;
} comp_model;

/* Check a parsed spec: resolve names (unknown ones get the nearest valid
 * name), match and range-check arguments, expand repeats, infer shapes,
 * and report every problem found through gram_error() — all of them, not
 * just the first.  Returns the model (taking ownership of spec) when there
 * were no errors; otherwise NULL, and spec is freed. */
comp_model *comp_check(gram_spec *spec);

/* Free a model and the spec it owns (NULL allowed). */
void comp_model_free(comp_model *m);

/* Longest model name: C99 guarantees 63 significant characters of an
 * identifier, and the name prefixes those of the emitted C. */
#define COMP_MAX_MODEL_NAME 63

/* Whether name breaks the rule for model names (a letter, then letters,
 * digits and '_', at most COMP_MAX_MODEL_NAME characters, not one of
 * netc's own symbol prefixes rt, comp, gram, netc alone or before '_'):
 * 0 when it is fine, else 1 with the reason in why (size bytes). */
int comp_model_name_problem(const char *name, char *why, size_t size);

/* FNV-1a of the n bytes at p, continuing from h (COMP_FNV1A_INIT to
 * start): the spec hash, a checkpoint's file hash, the let table's. */
#define COMP_FNV1A_INIT 1469598103934665603ULL
uint64_t comp_fnv1a(uint64_t h, const void *p, size_t n);

/* A sample of shape s as an image (C, H, W): s itself when of rank 3;
 * (1, H, W) for (H, W); (1, 1, n) for a flat n; for a higher rank, the
 * leading dims' product as C. */
void comp_image_shape(const comp_shape *s, int *c, int *h, int *w);

/* Per-sample element count of a shape. */
long comp_shape_size(const comp_shape *s);

/* Format a shape with the batch dimension first, e.g. "(N, 256)". */
void comp_shape_format(const comp_shape *s, char *buf, int size);

/* A catalog call with every argument, defaults included, as a spec would
 * spell it: "StepLR(step_size=10, gamma=0.1)", "MaxPool2d(kernel_size=(2,
 * 2), ...)".  Init arguments (init=) are left out: they say how a layer
 * starts, not what it is.  Truncated to size bytes (always terminated). */
void comp_call_text(const comp_entry *e, const comp_args *a, char *buf, size_t size);

/* Argument i of a layer/loss/optimizer as a float (convenience). */
#define COMP_ARG(args, i) ((args).num[i][0])

/* Argument indices by name, resolved at compile time of netc itself via
 * comp_arg_index; these helpers keep call sites readable. */
double comp_arg_num(const comp_entry *e, const comp_args *a, const char *name);
const char *comp_arg_str(const comp_entry *e, const comp_args *a, const char *name);

#endif
