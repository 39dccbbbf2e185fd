/* sched.c — the chainable get_lr() of torch 1.13's schedulers, in double
 * as Python computes them: each epoch's lr derives from the previous one
 * (group['lr']), not from the closed forms, whose roundings differ. */
#include "sched.h"

#include <math.h>
#include <string.h>

/* Whether choice argument name of e holds the choice `choice` (the plan
 * keeps a choice as its index). */
static int chose(const comp_entry *e, const comp_args *a, const char *name, const char *choice)
{
    int i = comp_arg_index(e, name);
    return i >= 0 && (int)a->num[i][0] == comp_choice_index(e->args[i].choices, choice);
}

void rt_sched_init(rt_sched *s, const comp_plan *p, double base_lr)
{
    memset(s, 0, sizeof *s);
    s->kind = (comp_sched_kind)p->info.sched;
    s->base_lr = s->lr = base_lr;
    if (s->kind >= COMP_SCHED_COUNT)
        return;
    const comp_entry *e = &comp_scheds[s->kind];
    const comp_args *a = &p->info.sched_args;
    /* Arguments a schedule does not have read as 0. */
    s->gamma = comp_arg_num(e, a, "gamma");
    s->eta_min = comp_arg_num(e, a, "eta_min");
    s->start_factor = comp_arg_num(e, a, "start_factor");
    s->end_factor = comp_arg_num(e, a, "end_factor");
    s->factor = comp_arg_num(e, a, "factor");
    s->threshold = comp_arg_num(e, a, "threshold");
    s->min_lr = comp_arg_num(e, a, "min_lr");
    s->eps = comp_arg_num(e, a, "eps");
    s->step_size = (long)comp_arg_num(e, a, "step_size");
    s->t_max = (long)comp_arg_num(e, a, "T_max");
    s->total_iters = (long)comp_arg_num(e, a, "total_iters");
    s->patience = (long)comp_arg_num(e, a, "patience");
    s->cooldown = (long)comp_arg_num(e, a, "cooldown");
    s->mode_max = chose(e, a, "mode", "max");
    s->threshold_abs = chose(e, a, "threshold_mode", "abs");
    s->nmilestones = a->nlist;
    for (int i = 0; i < a->nlist; i++)
        s->milestones[i] = (long)a->list[i];
    if (s->kind == COMP_SCHED_REDUCE_LR_ON_PLATEAU) {
        /* No initial step: _reset() and last_epoch = 0. */
        s->best = s->mode_max ? -INFINITY : INFINITY;
        return;
    }
    s->last_epoch = -1;
    rt_sched_step(s, 0);
}

/* Python's a % b for b > 0: never negative. */
static long py_mod(long a, long b)
{
    long r = a % b;
    return r < 0 ? r + b : r;
}

static int is_better(const rt_sched *s, double a)
{
    if (!s->mode_max)
        return s->threshold_abs ? a < s->best - s->threshold : a < s->best * (1.0 - s->threshold);
    return s->threshold_abs ? a > s->best + s->threshold : a > s->best * (s->threshold + 1.0);
}

static void plateau_step(rt_sched *s, double current)
{
    s->last_epoch++;
    if (is_better(s, current)) {
        s->best = current;
        s->num_bad_epochs = 0;
    } else {
        s->num_bad_epochs++;
    }
    if (s->cooldown_counter > 0) {
        s->cooldown_counter--;
        s->num_bad_epochs = 0; /* bad epochs in cooldown do not count */
    }
    if (s->num_bad_epochs > s->patience) {
        const double old_lr = s->lr;
        const double reduced = old_lr * s->factor;
        const double new_lr = s->min_lr > reduced ? s->min_lr : reduced; /* Python's max(reduced, min_lr) */
        if (old_lr - new_lr > s->eps)
            s->lr = new_lr;
        s->cooldown_counter = s->cooldown;
        s->num_bad_epochs = 0;
    }
}

void rt_sched_step(rt_sched *s, double metric)
{
    if (s->kind >= COMP_SCHED_COUNT)
        return;
    if (s->kind == COMP_SCHED_REDUCE_LR_ON_PLATEAU) {
        plateau_step(s, metric);
        return;
    }
    const long t = ++s->last_epoch;
    const double lr = s->lr;
    switch (s->kind) {
    case COMP_SCHED_STEP_LR:
        if (t != 0 && t % s->step_size == 0)
            s->lr = lr * s->gamma;
        break;
    case COMP_SCHED_MULTI_STEP_LR: {
        /* Counter(milestones): a milestone listed twice applies gamma twice. */
        long count = 0;
        for (int i = 0; i < s->nmilestones; i++)
            count += s->milestones[i] == t;
        if (count)
            s->lr = lr * pow(s->gamma, (double)count);
        break;
    }
    case COMP_SCHED_EXPONENTIAL_LR:
        if (t != 0)
            s->lr = lr * s->gamma;
        break;
    case COMP_SCHED_COSINE_ANNEALING_LR: {
        const double pi = 3.141592653589793, tm = (double)s->t_max;
        if (t == 0)
            break;
        if (py_mod(t - 1 - s->t_max, 2 * s->t_max) == 0)
            s->lr = lr + (s->base_lr - s->eta_min) * (1.0 - cos(pi / tm)) / 2.0;
        else
            s->lr = (1.0 + cos(pi * (double)t / tm)) / (1.0 + cos(pi * (double)(t - 1) / tm)) * (lr - s->eta_min) +
                    s->eta_min;
        break;
    }
    case COMP_SCHED_LINEAR_LR:
        if (t == 0)
            s->lr = lr * s->start_factor;
        else if (t <= s->total_iters)
            s->lr = lr * (1.0 + (s->end_factor - s->start_factor) /
                                    ((double)s->total_iters * s->start_factor +
                                     (double)(t - 1) * (s->end_factor - s->start_factor)));
        break;
    default:
        break;
    }
}
