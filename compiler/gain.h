/* gain.h — torch.nn.init.calculate_gain: the nonlinearities of gains.def,
 * their names and gains.  Used by calculate_gain() in spec expressions,
 * by the `nonlinearity` choices of the kaiming inits and by the runtime's
 * kaiming draws, so all three agree by construction. */
#ifndef NETC_COMPILER_GAIN_H
#define NETC_COMPILER_GAIN_H

#include <math.h>

/* gains.def's PARAM for a nonlinearity that takes no param. */
#define COMP_GAIN_NO_PARAM NAN

typedef enum {
#define GAIN(id, name, param, gain) COMP_GAIN_##id,
#include "gains.def"
#undef GAIN
    COMP_GAIN_COUNT
} comp_gain_kind;

/* The names, indexed by comp_gain_kind. */
extern const char *const comp_gain_names[COMP_GAIN_COUNT];

/* "|linear|conv1d|...": every name, each after a '|'.  COMP_GAIN_CHOICES
 * skips the first bar, giving a choices string for catalog.def's ARG_S. */
extern const char comp_gain_choice_list[];
#define COMP_GAIN_CHOICES (comp_gain_choice_list + 1)

/* The nonlinearity named name (exact match, as torch compares), or -1. */
int comp_gain_lookup(const char *name);

/* Whether the nonlinearity uses calculate_gain's param (leaky_relu: its
 * negative slope); the others ignore it. */
int comp_gain_takes_param(comp_gain_kind k);

/* calculate_gain(k, param).  A NaN param stands for torch's param=None and
 * selects the default (leaky_relu: 0.01); nonlinearities without a param
 * ignore it. */
double comp_gain(comp_gain_kind k, double param);

#endif
