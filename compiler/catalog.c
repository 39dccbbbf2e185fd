/* catalog.c — the name tables and argument schemas, expanded from
 * acts.def and catalog.def. */
#include "catalog.h"
#include "plan.h"

#include <string.h>

/* One static schema array per entry, named after its list and ID. */
#define ACT(id, name, needs_x, fwd, deriv, args) \
    static const comp_arg_spec layer_args_##id[] = {args{0}};
#include "acts.def"
#undef ACT
#define LAYER(id, name, rule, args) static const comp_arg_spec layer_args_##id[] = {args{0}};
#define LOSS(id, name, op, target, input, args) static const comp_arg_spec loss_args_##id[] = {args{0}};
#define OPTIM(id, name, args) static const comp_arg_spec optim_args_##id[] = {args{0}};
#define INIT(id, name, args) static const comp_arg_spec init_args_##id[] = {args{0}};
#define TRAIN(args) static const comp_arg_spec train_args[] = {args{0}};
#define SCHED(id, name, args) static const comp_arg_spec sched_args_##id[] = {args{0}};
#define CLIP(id, name, args) static const comp_arg_spec clip_args_##id[] = {args{0}};
#define DATA(args) static const comp_arg_spec data_args[] = {args{0}};
#define STOP(id, name, args) static const comp_arg_spec stop_args_##id[] = {args{0}};
#include "catalog.def"
#undef LAYER
#undef LOSS
#undef OPTIM
#undef INIT
#undef TRAIN
#undef SCHED
#undef CLIP
#undef DATA
#undef STOP
#define TRANSFORM(id, name, kind, kernel, args) static const comp_arg_spec tf_args_##id[] = {args{0}};
#define MIX(id, name, kernel, args) static const comp_arg_spec mix_args_##id[] = {args{0}};
#include "transforms.def"
#undef TRANSFORM
#undef MIX

#define NARGS(a) ((int)(sizeof(a) / sizeof((a)[0])) - 1)

const comp_entry comp_layers[COMP_LAYER_COUNT] = {
#define ACT(id, name, needs_x, fwd, deriv, args) {name, layer_args_##id, NARGS(layer_args_##id)},
#include "acts.def"
#undef ACT
#define LAYER(id, name, rule, args) {name, layer_args_##id, NARGS(layer_args_##id)},
#include "catalog.def"
#undef LAYER
};

const comp_entry comp_losses[COMP_LOSS_COUNT] = {
#define LOSS(id, name, op, target, input, args) {name, loss_args_##id, NARGS(loss_args_##id)},
#include "catalog.def"
#undef LOSS
};

const comp_entry comp_optims[COMP_OPTIM_COUNT] = {
#define OPTIM(id, name, args) {name, optim_args_##id, NARGS(optim_args_##id)},
#include "catalog.def"
#undef OPTIM
};

const comp_entry comp_inits[COMP_INIT_COUNT] = {
#define INIT(id, name, args) {name, init_args_##id, NARGS(init_args_##id)},
#include "catalog.def"
#undef INIT
};

const comp_entry comp_scheds[COMP_SCHED_COUNT] = {
#define SCHED(id, name, args) {name, sched_args_##id, NARGS(sched_args_##id)},
#include "catalog.def"
#undef SCHED
};

const comp_entry comp_clips[COMP_CLIP_COUNT] = {
#define CLIP(id, name, args) {name, clip_args_##id, NARGS(clip_args_##id)},
#include "catalog.def"
#undef CLIP
};

/* The loss columns of catalog.def, and the plan ops of the losses and
 * optimizers (ops.def). */
const unsigned char comp_loss_target[COMP_LOSS_COUNT] = {
#define LOSS(id, name, op, target, input, args) COMP_TARGET_##target,
#include "catalog.def"
#undef LOSS
};

const unsigned char comp_loss_input[COMP_LOSS_COUNT] = {
#define LOSS(id, name, op, target, input, args) COMP_INPUT_##input,
#include "catalog.def"
#undef LOSS
};

const uint8_t comp_loss_ops[COMP_LOSS_COUNT] = {
#define LOSS(id, name, op, target, input, args) COMP_OP_##op,
#include "catalog.def"
#undef LOSS
};

const uint8_t comp_optim_ops[COMP_OPTIM_COUNT] = {
#define OPTIM(id, name, args) [COMP_OPTIM_##id] = COMP_OP_##id,
#include "catalog.def"
#undef OPTIM
};

const comp_entry comp_stops[COMP_STOP_COUNT] = {
#define STOP(id, name, args) {name, stop_args_##id, NARGS(stop_args_##id)},
#include "catalog.def"
#undef STOP
};

const comp_entry comp_transforms[COMP_TF_COUNT] = {
#define TRANSFORM(id, name, kind, kernel, args) {name, tf_args_##id, NARGS(tf_args_##id)},
#include "transforms.def"
#undef TRANSFORM
};

const comp_entry comp_mixes[COMP_MIX_COUNT] = {
#define MIX(id, name, kernel, args) {name, mix_args_##id, NARGS(mix_args_##id)},
#include "transforms.def"
#undef MIX
};

#define TF_RANDOM_DET 0
#define TF_RANDOM_RANDOM 1
const unsigned char comp_tf_random[COMP_TF_COUNT] = {
#define TRANSFORM(id, name, kind, kernel, args) TF_RANDOM_##kind,
#include "transforms.def"
#undef TRANSFORM
};

const comp_entry comp_train_stmt = {"train", train_args, NARGS(train_args)};
const comp_entry comp_data_stmt = {"data", data_args, NARGS(data_args)};

/* catalog.def's TORCH_ONLY lines, one array per table they name. */
#define TORCH_ONLY(table, id, names) TORCH_ONLY_##table(id, names)
#define TORCH_ONLY_LOSS(id, names)
#define TORCH_ONLY_LAYER(id, names) [COMP_LAYER_##id] = names,
static const char *const layer_torch_only[COMP_LAYER_COUNT] = {
#include "catalog.def"
};
#undef TORCH_ONLY_LAYER
#undef TORCH_ONLY_LOSS
#define TORCH_ONLY_LAYER(id, names)
#define TORCH_ONLY_LOSS(id, names) [COMP_LOSS_##id] = names,
static const char *const loss_torch_only[COMP_LOSS_COUNT] = {
#include "catalog.def"
};
#undef TORCH_ONLY_LAYER
#undef TORCH_ONLY_LOSS
#undef TORCH_ONLY

int comp_torch_only_arg(const comp_entry *entry, const char *name)
{
    const char *names = NULL;
    for (int i = 0; i < COMP_LAYER_COUNT; i++)
        if (entry == &comp_layers[i])
            names = layer_torch_only[i];
    for (int i = 0; i < COMP_LOSS_COUNT; i++)
        if (entry == &comp_losses[i])
            names = loss_torch_only[i];
    return names && comp_choice_index(names, name) >= 0;
}

const unsigned char comp_act_needs_x[COMP_ACT_COUNT] = {
#define ACT(id, name, needs_x, fwd, deriv, args) needs_x,
#include "acts.def"
#undef ACT
};

int comp_act_float_args(comp_act act, int slots[2])
{
    const comp_entry *e = &comp_layers[act]; /* activations lead the layer list */
    int n = 0;
    for (int i = 0; i < e->nargs && n < 2; i++)
        if (e->args[i].type == COMP_T_FLOAT || e->args[i].type == COMP_T_STR)
            slots[n++] = i;
    return n;
}

int comp_choice_index(const char *choices, const char *str)
{
    size_t n = strlen(str);
    int index = 0;
    for (const char *p = choices; *p; index++) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, str, n) == 0)
            return index;
        p += len + (bar != NULL);
    }
    return -1;
}

int comp_lookup(const comp_entry *table, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(table[i].name, name) == 0)
            return i;
    return -1;
}

int comp_arg_index(const comp_entry *entry, const char *name)
{
    for (int i = 0; i < entry->nargs; i++)
        if (strcmp(entry->args[i].name, name) == 0)
            return i;
    return -1;
}

int comp_names(const comp_entry *table, int n, const char **names)
{
    for (int i = 0; i < n; i++)
        names[i] = table[i].name;
    return n;
}
