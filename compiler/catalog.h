/* catalog.h — the names a spec may use, derived from acts.def and
 * catalog.def: enums, name tables and argument schemas.  Nothing here is
 * written by hand twice; add a layer, loss, optimizer, init, schedule or
 * clipping by adding one
 * entry to one of those lists. */
#ifndef NETC_COMPILER_CATALOG_H
#define NETC_COMPILER_CATALOG_H

#include <math.h>

#include "gain.h" /* COMP_GAIN_CHOICES, used by catalog.def */

/* Argument value types. */
typedef enum {
    COMP_T_INT,   /* integer number */
    COMP_T_FLOAT, /* any number */
    COMP_T_BOOL,  /* true/false */
    COMP_T_STR,   /* one of a '|'-separated list of choices */
    COMP_T_PAIR,  /* a tuple of two numbers, e.g. betas=(0.9, 0.999) */
    COMP_T_LIST,  /* a tuple of integers, e.g. milestones=(30, 80); at most
                   * one per entry, stored in comp_args.list */
    COMP_T_INIT,  /* an init name or call, e.g. init=kaiming_uniform(a=0) */
    COMP_T_SIZE,  /* an integer or a tuple of one or two, as torch's
                   * kernel_size=3 or (3, 5); with choices, also one of
                   * those strings (padding="same") */
    COMP_T_VEC    /* a number or a tuple of up to COMP_MAX_VEC numbers, one
                   * per channel (Normalize's mean=(0.5, 0.5, 0.5)),
                   * stored in comp_args.vec */
} comp_arg_type;

/* Which ends of [lo, hi] are allowed. */
typedef enum { ARG_ANY, ARG_CLOSED, ARG_OPEN_OPEN, ARG_CLOSED_OPEN, ARG_OPEN_CLOSED } comp_range;

/* One argument of a layer/loss/optimizer/init/train statement. */
typedef struct {
    const char *name;      /* PyTorch's argument name; NULL ends a list */
    comp_arg_type type;
    int required;
    double def[2];         /* default value(s) when not required */
    const char *sdef;      /* default choice for COMP_T_STR */
    const char *choices;   /* "a|b|c" for COMP_T_STR (NULL: any string) */
    double lo, hi;         /* allowed range for numbers (each pair member) */
    comp_range range;
    int none_is_default;   /* torch's default is None, which a spec may write
                            * too: None then means def/sdef, as omitted;
                            * 2: None is a value of its own, stored as NaN
                            * (BatchNorm's momentum=None) */
} comp_arg_spec;

/* The argument macros used by acts.def and catalog.def. */
#define ARG_NONE
#define ARG_I(n, d, lo, hi)      {n, COMP_T_INT, 0, {d, 0}, 0, 0, lo, hi, ARG_CLOSED, 0},
#define ARG_IREQ(n, lo, hi)      {n, COMP_T_INT, 1, {0, 0}, 0, 0, lo, hi, ARG_CLOSED, 0},
#define ARG_F(n, d, lo, hi, r)   {n, COMP_T_FLOAT, 0, {d, 0}, 0, 0, lo, hi, r, 0},
#define ARG_FREQ(n, lo, hi, r)   {n, COMP_T_FLOAT, 1, {0, 0}, 0, 0, lo, hi, r, 0},
#define ARG_B(n, d)              {n, COMP_T_BOOL, 0, {d, 0}, 0, 0, 0, 1, ARG_CLOSED, 0},
#define ARG_S(n, d, ch)          {n, COMP_T_STR, 0, {0, 0}, d, ch, 0, 0, ARG_ANY, 0},
/* A required string of no fixed choices: the caller resolves it. */
#define ARG_SREQ(n)              {n, COMP_T_STR, 1, {0, 0}, 0, 0, 0, 0, ARG_ANY, 0},
#define ARG_P(n, d0, d1, lo, hi, r) {n, COMP_T_PAIR, 0, {d0, d1}, 0, 0, lo, hi, r, 0},
#define ARG_INIT(n)              {n, COMP_T_INIT, 0, {0, 0}, 0, 0, 0, 0, ARG_ANY, 0},
#define ARG_LREQ(n, lo, hi)      {n, COMP_T_LIST, 1, {0, 0}, 0, 0, lo, hi, ARG_CLOSED, 0},
/* Arguments whose torch default is None: d (or the choice d) is netc's
 * value for it, and writing None gives the same as leaving it out. */
#define ARG_I_NONE(n, d, lo, hi)    {n, COMP_T_INT, 0, {d, 0}, 0, 0, lo, hi, ARG_CLOSED, 1},
#define ARG_F_NONE(n, d, lo, hi, r) {n, COMP_T_FLOAT, 0, {d, 0}, 0, 0, lo, hi, r, 1},
#define ARG_S_NONE(n, d, ch)        {n, COMP_T_STR, 0, {0, 0}, d, ch, 0, 0, ARG_ANY, 1},
/* A number that may also be None, which is not the default: NaN. */
#define ARG_F_OR_NONE(n, d, lo, hi, r) {n, COMP_T_FLOAT, 0, {d, 0}, 0, 0, lo, hi, r, 2},
/* Sizes: an integer or a tuple (one item per spatial dim), each in
 * [lo, hi]; _NONE: torch's None (stride of a pool: the kernel size) is 0;
 * _S: or one of the strings ch (padding="valid|same"), stored as -1. */
#define ARG_SZREQ(n, lo, hi)        {n, COMP_T_SIZE, 1, {0, 0}, 0, 0, lo, hi, ARG_CLOSED, 0},
#define ARG_SZ(n, d, lo, hi)        {n, COMP_T_SIZE, 0, {d, d}, 0, 0, lo, hi, ARG_CLOSED, 0},
#define ARG_SZ_NONE(n, lo, hi)      {n, COMP_T_SIZE, 0, {0, 0}, 0, 0, lo, hi, ARG_CLOSED, 1},
#define ARG_SZ_S(n, d, lo, hi, ch)  {n, COMP_T_SIZE, 0, {d, d}, 0, ch, lo, hi, ARG_CLOSED, 0},
/* A required per-channel vector, each item in [lo, hi] by r. */
#define ARG_VECREQ(n, lo, hi, r)    {n, COMP_T_VEC, 1, {0, 0}, 0, 0, lo, hi, r, 0},

/* Most arguments any entry has; resolved values are stored in arrays of
 * this size indexed like the schema. */
#define COMP_MAX_ARGS 12

/* Most items a list argument (COMP_T_LIST) may have. */
#define COMP_MAX_LIST 32

/* Most items of a per-channel vector (COMP_T_VEC): RGBA. */
#define COMP_MAX_VEC 4

/* Activations. */
typedef enum {
#define ACT(id, name, needs_x, fwd, deriv, args) COMP_ACT_##id,
#include "acts.def"
#undef ACT
    COMP_ACT_COUNT
} comp_act;

/* Layers: the activations first (same order as comp_act), then the rest. */
typedef enum {
#define ACT(id, name, needs_x, fwd, deriv, args) COMP_LAYER_##id,
#include "acts.def"
#undef ACT
#define LAYER(id, name, rule, args) COMP_LAYER_##id,
#include "catalog.def"
#undef LAYER
    COMP_LAYER_COUNT
} comp_layer_kind;

typedef enum {
#define LOSS(id, name, op, target, input, args) COMP_LOSS_##id,
#include "catalog.def"
#undef LOSS
    COMP_LOSS_COUNT
} comp_loss_kind;

typedef enum {
#define OPTIM(id, name, args) COMP_OPTIM_##id,
#include "catalog.def"
#undef OPTIM
    COMP_OPTIM_COUNT
} comp_optim_kind;

typedef enum {
#define INIT(id, name, args) COMP_INIT_##id,
#include "catalog.def"
#undef INIT
    COMP_INIT_COUNT
} comp_init_kind;

/* Learning-rate schedules; COMP_SCHED_COUNT stands for "none". */
typedef enum {
#define SCHED(id, name, args) COMP_SCHED_##id,
#include "catalog.def"
#undef SCHED
    COMP_SCHED_COUNT
} comp_sched_kind;

/* Gradient clippings; COMP_CLIP_COUNT stands for "none". */
typedef enum {
#define CLIP(id, name, args) COMP_CLIP_##id,
#include "catalog.def"
#undef CLIP
    COMP_CLIP_COUNT
} comp_clip_kind;

/* Early-stopping rules; COMP_STOP_COUNT stands for "none". */
typedef enum {
#define STOP(id, name, args) COMP_STOP_##id,
#include "catalog.def"
#undef STOP
    COMP_STOP_COUNT
} comp_stop_kind;

/* Data transforms (transforms.def). */
typedef enum {
#define TRANSFORM(id, name, kind, kernel, args) COMP_TF_##id,
#include "transforms.def"
#undef TRANSFORM
    COMP_TF_COUNT
} comp_tf_kind;

/* Batch mixings (transforms.def MIX); COMP_MIX_COUNT stands for "none". */
typedef enum {
#define MIX(id, name, kernel, args) COMP_MIX_##id,
#include "transforms.def"
#undef MIX
    COMP_MIX_COUNT
} comp_mix_kind;

/* What a loss's target holds per sample (catalog.def TARGET). */
typedef enum {
    COMP_TARGET_CLASS,  /* one class index, stored as a float */
    COMP_TARGET_VALUES  /* one value per output element */
} comp_target_kind;

/* What a loss expects the chain to produce (catalog.def INPUT). */
typedef enum {
    COMP_INPUT_ANY,       /* any real values */
    COMP_INPUT_LOGITS,    /* unnormalised scores: the loss normalises them itself */
    COMP_INPUT_PROBS,     /* probabilities in [0, 1] */
    COMP_INPUT_LOG_PROBS  /* log-probabilities */
} comp_input_kind;

/* A catalog entry: a name and its argument schema. */
typedef struct {
    const char *name;
    const comp_arg_spec *args;  /* terminated by an entry with name NULL */
    int nargs;
} comp_entry;

/* The tables, indexed by the enums above. */
extern const comp_entry comp_layers[COMP_LAYER_COUNT];
extern const comp_entry comp_losses[COMP_LOSS_COUNT];
extern const comp_entry comp_optims[COMP_OPTIM_COUNT];
extern const comp_entry comp_inits[COMP_INIT_COUNT];
extern const comp_entry comp_scheds[COMP_SCHED_COUNT];
extern const comp_entry comp_clips[COMP_CLIP_COUNT];
extern const comp_entry comp_stops[COMP_STOP_COUNT];
extern const comp_entry comp_transforms[COMP_TF_COUNT];
extern const comp_entry comp_mixes[COMP_MIX_COUNT];
/* Per transform: 1 when it is random (training only), 0 when
 * deterministic (transforms.def KIND). */
extern const unsigned char comp_tf_random[COMP_TF_COUNT];
extern const comp_entry comp_train_stmt;
extern const comp_entry comp_data_stmt;

/* Per loss, indexed by comp_loss_kind: its target and input kinds. */
extern const unsigned char comp_loss_target[COMP_LOSS_COUNT];
extern const unsigned char comp_loss_input[COMP_LOSS_COUNT];

/* Whether an activation's derivative needs its input (acts.def NEEDS_X). */
extern const unsigned char comp_act_needs_x[COMP_ACT_COUNT];

/* The schema slots of an activation's expression arguments a and b
 * (acts.def: its first two float or string arguments), in slots[0..n);
 * returns n (0 to 2).  A string argument's value is the index of its
 * choice (comp_choice_index), which resolved arguments hold in num. */
int comp_act_float_args(comp_act act, int slots[2]);

/* Index of str in a '|'-separated list of choices ("none|tanh"), or -1. */
int comp_choice_index(const char *choices, const char *str);

/* Index of the entry named name in table (n entries), or -1.  Names are
 * matched exactly: PyTorch's names are case-sensitive. */
int comp_lookup(const comp_entry *table, int n, const char *name);

/* Index of argument name in entry's schema, or -1. */
int comp_arg_index(const comp_entry *entry, const char *name);

/* Whether name is an argument torch's version of entry takes and netc does
 * not implement (catalog.def's TORCH_ONLY), for the error that says so. */
int comp_torch_only_arg(const comp_entry *entry, const char *name);

/* The names of a table, for "did you mean" suggestions: fills names (at
 * least n slots) and returns n. */
int comp_names(const comp_entry *table, int n, const char **names);

#endif
