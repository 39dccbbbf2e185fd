/* rule.c — the table of layer rules, expanded from acts.def (every
 * activation has the one rule of rule_act.c) and catalog.def's RULE
 * column. */
#include "rule.h"

#define LAYER(id, name, rule, args) extern const comp_rule comp_rule_##rule;
#include "catalog.def"
#undef LAYER

extern const comp_rule comp_rule_act;

const comp_rule *const comp_layer_rules[COMP_LAYER_COUNT] = {
#define ACT(id, name, needs_x, fwd, deriv, args) [COMP_LAYER_##id] = &comp_rule_act,
#include "acts.def"
#undef ACT
#define LAYER(id, name, rule, args) [COMP_LAYER_##id] = &comp_rule_##rule,
#include "catalog.def"
#undef LAYER
};

int comp_layer_has_params(const comp_layer *l)
{
    const comp_rule *r = comp_layer_rules[l->kind];
    if (!r->tensors)
        return 0;
    comp_tensor_spec t[COMP_RULE_MAX_TENSORS];
    int n = r->tensors(l, t);
    for (int i = 0; i < n; i++)
        if (!t[i].state)
            return 1;
    return 0;
}
