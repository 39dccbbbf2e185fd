/* stats.h — per-layer training statistics (`netc train --stats`): the
 * gradient norm of each layer's weights, the mean |activation| of its
 * output and, for layers that are exactly zero for negative inputs (the
 * ReLU family), the fraction of dead units.
 *
 * Everything is sized when the collector is made; collecting allocates
 * nothing.  Training without a collector pays one pointer test per batch. */
#ifndef NETC_RUNTIME_STATS_H
#define NETC_RUNTIME_STATS_H

#include <stdio.h>

#include "net.h"

typedef struct rt_stats rt_stats;

/* One layer's statistics over one epoch.  A has_* flag of 0 means the
 * statistic is not defined for the layer (printed as "-"). */
typedef struct {
    int has_grad, has_act, has_dead;
    double grad_norm;  /* L2 norm of the weight gradient, mean over the epoch's batches */
    double mean_abs;   /* mean |output| over every sample and unit of the epoch */
    double dead;       /* fraction of units that were exactly 0 for every sample */
} rt_layer_stats;

/* Whether activation act with float arguments a, b is exactly 0 at every
 * probe point of the negative half-line (-2^-24 ... -2^24, powers of two):
 * true for ReLU and LeakyReLU(negative_slope=0), false for Sigmoid, Tanh,
 * LeakyReLU(0.01) and any function that is merely small there.  This is
 * the one definition of "ReLU family" for the dead-unit statistic; it is
 * derived from the activation's forward kernel, so a new activation is
 * classified without being listed anywhere. */
int rt_act_zero_for_negative(comp_act act, float a, float b);

/* A collector for plan p's layers (p->info.nlayers of them), with every
 * accumulator zero.  NULL when out of memory.  Free with rt_stats_free. */
rt_stats *rt_stats_new(const comp_plan *p);
void rt_stats_free(rt_stats *s);

/* Accumulate one training batch: rt_stats_forward after the forward and
 * loss ops (reads every layer's output buffer for net->batch samples),
 * rt_stats_backward after the backward ops and before the update (reads
 * every weight gradient).  Neither allocates. */
void rt_stats_forward(rt_stats *s, const rt_net *net);
void rt_stats_backward(rt_stats *s, const rt_net *net);

/* Print the definitions of the statistics and the column names. */
void rt_stats_header(FILE *out);

/* Close the epoch: compute every layer's statistics from the accumulators,
 * print one line per layer to out (NULL: print nothing) and clear the
 * accumulators for the next epoch. */
void rt_stats_end_epoch(rt_stats *s, FILE *out);

/* The statistics of layer i (chain index) for the last closed epoch. */
void rt_stats_get(const rt_stats *s, int i, rt_layer_stats *out);

#endif
