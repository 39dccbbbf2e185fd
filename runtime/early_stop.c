/* early_stop.c — the stopping rule of Keras 2.x's EarlyStopping callback
 * (keras/callbacks.py), without baseline and start_from_epoch. */
#include "early_stop.h"

#include <math.h>

void rt_early_stop_init(rt_early_stop *s, long patience, double min_delta, int mode_max)
{
    s->patience = patience;
    s->min_delta = min_delta;
    s->mode_max = mode_max;
    s->best = mode_max ? -INFINITY : INFINITY;
    s->best_epoch = 0;
    s->wait = 0;
}

/* Keras's _is_improvement: monitor_op(value - min_delta, best), where
 * min mode negates min_delta and compares with less. */
static int improves(const rt_early_stop *s, double value)
{
    return s->mode_max ? value - s->min_delta > s->best : value + s->min_delta < s->best;
}

rt_stop_verdict rt_early_stop_step(rt_early_stop *s, long epoch, double value)
{
    s->wait++;
    if (improves(s, value)) {
        s->best = value;
        s->best_epoch = epoch;
        s->wait = 0;
        return RT_STOP_IMPROVED;
    }
    return s->wait >= s->patience ? RT_STOP_STOP : RT_STOP_CONTINUE;
}
