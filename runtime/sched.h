/* sched.h — learning-rate schedules as torch.optim.lr_scheduler (1.13)
 * computes them, stepped once per epoch. */
#ifndef NETC_RUNTIME_SCHED_H
#define NETC_RUNTIME_SCHED_H

#include "../compiler/plan.h"

/* A schedule's arguments (resolved once from the spec) and its position.
 * The position fields are what a checkpoint saves: with them restored, the
 * schedule continues exactly. */
typedef struct {
    comp_sched_kind kind;   /* COMP_SCHED_COUNT: no schedule, lr stays base_lr */
    /* arguments */
    double gamma, eta_min, start_factor, end_factor, factor, threshold, min_lr, eps;
    long step_size, t_max, total_iters, patience, cooldown;
    int mode_max, threshold_abs;
    int nmilestones;
    long milestones[COMP_MAX_LIST];
    /* position */
    double base_lr;         /* torch's initial_lr */
    double lr;              /* the lr of the coming epoch (param_group['lr']) */
    long last_epoch;
    double best;            /* ReduceLROnPlateau */
    long num_bad_epochs, cooldown_counter;
} rt_sched;

/* Set s up for plan p's schedule (p->info: or none) with base lr base_lr,
 * as torch constructs the scheduler: the LR schedulers take their initial
 * step (last_epoch 0), so s->lr is the first epoch's lr. */
void rt_sched_init(rt_sched *s, const comp_plan *p, double base_lr);

/* The end of an epoch: scheduler.step(), or scheduler.step(metric) for
 * ReduceLROnPlateau.  s->lr becomes the next epoch's lr. */
void rt_sched_step(rt_sched *s, double metric);

#endif
