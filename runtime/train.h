/* train.h — the training loop, evaluation and prediction over data sets. */
#ifndef NETC_RUNTIME_TRAIN_H
#define NETC_RUNTIME_TRAIN_H

#include <stdio.h>

#include "data.h"
#include "net.h"
#include "stats.h"

typedef struct {
    int epochs;
    int shuffle;
    uint64_t seed;   /* shuffling and dropout streams of a fresh net derive from it */
    int onehot;      /* > 0: class labels become one-hot targets of this width (MSE) */
    FILE *log;       /* epoch lines go here (NULL: print nothing) */
    int progress;    /* redraw a progress line on stderr during each epoch */
    rt_stats *stats; /* per-layer statistics printed after each epoch line (NULL: off) */
    double *costs;   /* when not NULL, costs[e] = the cost of epoch e + 1 (epochs entries) */
    /* When not NULL, called after each epoch's line (and statistics) with
     * the epoch's number, cost, lr and training seconds (from its shuffle
     * to its last step); it may evaluate the net, which does not change
     * the training that follows. */
    void (*on_epoch)(void *ctx, rt_net *net, long epoch, double cost, double lr, double seconds);
    void *ctx;
} rt_train_opts;

/* Train net (batch size net->max_batch) on ds for o->epochs epochs: each
 * epoch sets the schedule's lr, shuffles (when asked), runs forward,
 * backward, clipping and the optimizer on every batch (the last one may be
 * smaller, as torch's DataLoader with drop_last=False), prints
 * `Epoch: 0001 cost = 0.396514893` (the mean per-sample training loss of
 * the epoch, then ` lr = 0.01` when the spec has a schedule), and steps
 * the schedule (ReduceLROnPlateau with that cost); the layer statistics
 * follow each epoch line when o->stats is set (their definitions once,
 * before the first epoch).  A fresh net
 * (net->epoch == 0) seeds its shuffling and dropout streams from o->seed;
 * a net resumed from a checkpoint continues its own streams, epoch count
 * and schedule, so k epochs then E-k more equal E in one go.  Allocates
 * only before the first epoch.  Returns 0, or -1 when out of memory. */
int rt_train(rt_net *net, const rt_dataset *ds, const rt_train_opts *o);

typedef struct {
    double loss;         /* mean per-sample loss */
    size_t correct, n;   /* arg-max predictions equal to the label (class data only) */
    int has_accuracy;
} rt_eval_result;

/* Evaluate net (dropout off) on every sample of ds, in order, in batches
 * of net->max_batch (the last may be smaller).  With several pool threads
 * (rt_pool_set_threads), each runs whole batches on a net of its own that
 * shares net's parameters (allocated before the first batch: in net's
 * batch arena when net is a training net, rt_net_new_borrowing, which
 * overwrites its batch buffers; else rt_net_new_sharing); the results are
 * the same bits at every thread count. */
void rt_evaluate(rt_net *net, const rt_dataset *ds, int onehot, rt_eval_result *r);

/* Write one CSV row of model outputs per sample of ds to out, each value
 * with 9 significant digits (enough to round-trip a float32).  Runs the
 * data set in order, net->max_batch samples per forward pass (the last
 * pass may be smaller), passes shared among the pool threads as
 * rt_evaluate's batches are.  First writes zeros over the buffers a
 * forward pass writes, so that their pages are mapped before the clock
 * starts.  Returns the seconds spent gathering inputs into the input
 * buffer and running the forward ops, on a monotonic clock; writing the
 * rows is not counted. */
double rt_predict(rt_net *net, const rt_dataset *ds, FILE *out);

/* The rows of one inference pass (eval, predict) when batch samples are
 * asked for: batch, or fewer when the buffers a forward pass writes (its
 * input and every forward op's outputs) would take more than
 * RT_INFER_PASS_BYTES, but never below RT_INFER_MIN_ROWS; a multiple of
 * 16 when cut.  A pass whose activations stay in the caches runs faster
 * than one whose every op streams them through memory: on the MNIST MLP
 * (5.2 KB of activations per sample) 1,600-row passes ran 22% faster than
 * one 10,000-row pass (docs/performance.md).  With OpenBLAS's SkylakeX
 * kernels the outputs are the same bits either way; with others they can
 * differ in the last bit, as between any two batch sizes. */
#define RT_INFER_PASS_BYTES (8u << 20)
#define RT_INFER_MIN_ROWS 64
int rt_inference_rows(const comp_plan *p, int batch);

/* A monotonic clock in seconds, for timing lines (train, predict,
 * compare): differences are elapsed wall time. */
double rt_now_seconds(void);

#endif
