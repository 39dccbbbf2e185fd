/* gain.c — calculate_gain's table, expanded from gains.def. */
#include "gain.h"

#include <string.h>

const char *const comp_gain_names[COMP_GAIN_COUNT] = {
#define GAIN(id, name, param, gain) name,
#include "gains.def"
#undef GAIN
};

const char comp_gain_choice_list[] = ""
#define GAIN(id, name, param, gain) "|" name
#include "gains.def"
#undef GAIN
    ;

static const double default_param[COMP_GAIN_COUNT] = {
#define GAIN(id, name, param, gain) param,
#include "gains.def"
#undef GAIN
};

int comp_gain_lookup(const char *name)
{
    for (int i = 0; i < COMP_GAIN_COUNT; i++)
        if (strcmp(comp_gain_names[i], name) == 0)
            return i;
    return -1;
}

int comp_gain_takes_param(comp_gain_kind k)
{
    return !isnan(default_param[k]);
}

double comp_gain(comp_gain_kind k, double param)
{
    double p = isnan(param) ? default_param[k] : param;
    (void)p; /* only some gains use it */
    switch (k) {
#define GAIN(id, name, param_, gain) \
    case COMP_GAIN_##id:             \
        return gain;
#include "gains.def"
#undef GAIN
    case COMP_GAIN_COUNT:
        break;
    }
    return NAN;
}
