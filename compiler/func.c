/* func.c — the functions a spec may call where it writes a value:
 * calculate_gain(nonlinearity, param=None), as torch.nn.init has it. */
#include "args.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* The expression given for argument slot of entry in the call e, or the
 * call itself when the argument was left to its default. */
static const gram_expr *given_arg(const gram_expr *e, const comp_entry *entry, int slot)
{
    for (int i = 0; i < e->nargs; i++) {
        const gram_arg *a = &e->args[i];
        if (a->name ? strcmp(a->name, entry->args[slot].name) == 0 : i == slot)
            return a->value;
    }
    return e;
}

/* torch's calculate_gain: the nonlinearity must be one it knows.  torch
 * ignores param for a nonlinearity without one; netc reports it, since
 * writing it can only be a mistake.  A param left out is NaN (torch's
 * None), for which the table supplies leaky_relu's default slope. */
static int eval_calculate_gain(comp_env *env, const comp_entry *entry, const gram_expr *call,
                               const comp_args *args, comp_value *out)
{
    const char *name = args->str[0];
    int k = comp_gain_lookup(name);
    if (k < 0) {
        gram_unknown_name(env->src, given_arg(call, entry, 0)->loc, "nonlinearity", name, comp_gain_names,
                          COMP_GAIN_COUNT);
        return 0;
    }
    double param = args->num[1][0];
    if (!isnan(param) && !comp_gain_takes_param((comp_gain_kind)k)) {
        char users[256] = "";
        size_t len = 0;
        for (int i = 0; i < COMP_GAIN_COUNT && len < sizeof users; i++)
            if (comp_gain_takes_param((comp_gain_kind)i))
                len += (size_t)snprintf(users + len, sizeof users - len, "%s\"%s\"", len ? ", " : "",
                                        comp_gain_names[i]);
        gram_error(env->src, given_arg(call, entry, 1)->loc,
                   "calculate_gain(\"%s\") takes no param; only %s uses one", name, users);
        return 0;
    }
    out->kind = COMP_V_NUM;
    out->num[0] = comp_gain((comp_gain_kind)k, param);
    out->is_int = 0;
    return 1;
}

static const comp_arg_spec calculate_gain_args[] = {
    ARG_SREQ("nonlinearity")
    ARG_F_NONE("param", NAN, -HUGE_VAL, HUGE_VAL, ARG_ANY) /* NaN: not given */
    {0},
};

const comp_func comp_funcs[] = {
    {{"calculate_gain", calculate_gain_args, 2}, eval_calculate_gain},
};
const int comp_nfuncs = (int)(sizeof comp_funcs / sizeof *comp_funcs);

int comp_eval_call(comp_env *env, const gram_expr *e, comp_value *out)
{
    memset(out, 0, sizeof *out);
    out->expr = e;
    const char *names[sizeof comp_funcs / sizeof *comp_funcs];
    for (int i = 0; i < comp_nfuncs; i++) {
        const comp_func *f = &comp_funcs[i];
        names[i] = f->entry.name;
        if (strcmp(f->entry.name, e->str) != 0)
            continue;
        comp_args args;
        if (!comp_match_args(env, &f->entry, f->entry.name, e->loc, e->args, e->nargs, &args, NULL))
            return 0;
        return f->eval(env, &f->entry, e, &args, out);
    }
    if (comp_lookup(comp_inits, COMP_INIT_COUNT, e->str) >= 0) {
        gram_error(env->src, e->loc, "'%s' is an init, not a value; inits go in the init statement or a "
                                     "Linear's init= argument", e->str);
        return 0;
    }
    gram_unknown_name(env->src, e->loc, "function", e->str, names, comp_nfuncs);
    return 0;
}
