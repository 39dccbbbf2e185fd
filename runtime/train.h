/* train.h — the training loop, evaluation and prediction over data sets. */
#ifndef NETC_RUNTIME_TRAIN_H
#define NETC_RUNTIME_TRAIN_H

#include <stdio.h>

#include "anomaly.h"
#include "data.h"
#include "net.h"
#include "stats.h"

/* Why and where rt_train stopped before its last epoch. */
typedef struct {
    long epoch;            /* the epoch it stopped in, numbered as the epoch lines */
    size_t batch, batches; /* its batch (1-based) and the epoch's batches; batch 0:
                            * at the end of the epoch */
    double loss;           /* RT_TRAIN_NONFINITE: the batch's (or epoch's) loss */
    int located;           /* RT_TRAIN_NONFINITE: anomaly says where the first
                            * non-finite value was (0: not found) */
    rt_anomaly anomaly;
    int signo;             /* RT_TRAIN_INTERRUPTED: the signal */
} rt_train_stop;

/* rt_train's results besides 0 (done) and -1 (out of memory). */
enum { RT_TRAIN_NONFINITE = 1, RT_TRAIN_INTERRUPTED = 2, RT_TRAIN_HALTED = 3 };

/* The factor over the lowest cost so far at which an epoch's cost draws
 * rt_train's warning (o->watch), and the cost below which it never does
 * (a cost of 1e-9 that becomes 1e-5 is not a run going wrong). */
#define RT_TRAIN_GROWTH 1000.0
#define RT_TRAIN_GROWTH_FLOOR 1.0

typedef struct {
    int epochs;
    int shuffle;
    uint64_t seed;   /* shuffling and dropout streams of a fresh net derive from it */
    int onehot;      /* > 0: class labels become one-hot targets of this width (MSE) */
    FILE *log;       /* epoch lines go here (NULL: print nothing) */
    int progress;    /* redraw a progress line on stderr during each epoch */
    rt_stats *stats; /* per-layer statistics printed after each epoch line (NULL: off) */
    double *costs;   /* when not NULL, costs[e] = the cost of epoch e + 1 (epochs entries) */
    /* What netc train asks for; 0 / NULL (compare) trains on whatever comes. */
    int watch;          /* stop at the first non-finite batch loss; warn on warn once
                         * when an epoch's cost is RT_TRAIN_GROWTH times the lowest */
    int detect_anomaly; /* check every op's outputs on every batch; stop at the first
                         * non-finite one */
    int interruptible;  /* stop after the batch in which rt_interrupt_signal() turns
                         * nonzero (interrupt.h) */
    FILE *warn;         /* warnings (NULL: none) */
    int (*epoch_end)(void *ctx, rt_net *net); /* after every epoch but the last of the
                                               * call; nonzero stops the run */
    void *ctx;
    rt_train_stop *stop; /* filled when rt_train returns RT_TRAIN_* (NULL allowed) */
    const rt_dataset *val; /* evaluated after every epoch (NULL: none) */
    int val_onehot;        /* rt_evaluate's onehot for val */
    int early_stop;        /* stop by an rt_early_stop rule on val (needs val) */
    long patience;         /* its arguments (early_stop.h) */
    double min_delta;
    int monitor_accuracy;  /* watch val accuracy (larger is better), else val loss */
    int restore_best;      /* end with the best epoch's weights */
    /* When not NULL, called after each epoch's line (and statistics) with
     * the epoch's number, cost, lr and training seconds (from its shuffle
     * to its last step); it may evaluate the net, which does not change
     * the training that follows. */
    void (*on_epoch)(void *ctx, rt_net *net, long epoch, double cost, double lr, double seconds);
    void *on_epoch_ctx;
} rt_train_opts;

/* Train net (batch size net->max_batch) on ds for o->epochs epochs: each
 * epoch sets the schedule's lr, shuffles (when asked), runs forward,
 * backward, clipping and the optimizer on every batch (the last one may be
 * smaller, as torch's DataLoader with drop_last=False), prints
 * `Epoch: 0001 cost = 0.396514893` (the mean per-sample training loss of
 * the epoch, then ` lr = 0.01` when the spec has a schedule), and steps
 * the schedule (ReduceLROnPlateau with that cost); the layer statistics
 * follow each epoch line when o->stats is set (their definitions once,
 * before the first epoch).
 *
 * The plan's transforms (info.transforms) apply to each sample as the
 * batch is gathered, the random ones from the sample's stream of the
 * epoch (runtime/transform.h); its `augment` (info.mix) then mixes the
 * batch (runtime/mix.h) from the batch's stream.
 *
 * With o->val, each epoch then evaluates the net on it (rt_evaluate), the
 * epoch line goes on with ` val_loss = 0.412345678 val_accuracy = 0.8512`
 * (the accuracy for class data), and ReduceLROnPlateau watches val_loss
 * instead of the cost.  With o->early_stop, the rule of early_stop.h
 * watches val_loss or val_accuracy: when it says stop, a line
 * `Early stopping after epoch 0007: val_loss has not improved on epoch
 * 0004's 0.301234567 by more than min_delta=0 for 3 epochs` ends training;
 * whether it stopped or ran all epochs, `Best epoch: 0004 val_loss =
 * 0.301234567` follows, and with o->restore_best the parameters and the
 * model state (BatchNorm's running statistics) are put back to the best
 * epoch's (the optimizer's state, step and epoch count stay the last
 * epoch's).  A fresh net
 * (net->epoch == 0) seeds its shuffling and dropout streams from o->seed;
 * a net resumed from a checkpoint continues its own streams, epoch count
 * and schedule, so k epochs then E-k more equal E in one go (the early
 * stopping rule starts afresh); a net
 * stopped mid-epoch (net->epoch_samples > 0) first finishes that epoch,
 * which counts as one of o->epochs, with the samples, order and loss sum
 * of the run that stopped, so the bits are those of a run never stopped.
 *
 * Stops early, filling *o->stop: RT_TRAIN_NONFINITE (o->watch, before the
 * batch's backward pass; o->detect_anomaly, after the phase that wrote
 * the value) with the first non-finite value located by rt_anomaly_locate
 * or by the ops' checks; RT_TRAIN_INTERRUPTED (o->interruptible) after
 * the batch of the signal, with net->epoch_samples, epoch_loss and
 * shuffle_rng set for a checkpoint to resume that epoch exactly (0, at an
 * epoch's end); RT_TRAIN_HALTED when o->epoch_end asks.  Under several
 * processes (dist.h) a signal is not watched and the loss is checked per
 * epoch, on the summed cost all processes share, unlocated.  Allocates
 * only before the first epoch, and, once per epoch, rt_evaluate's nets
 * for the validation set.  Returns 0, -1 when out of memory, or the
 * RT_TRAIN_* code. */
int rt_train(rt_net *net, const rt_dataset *ds, const rt_train_opts *o);

typedef struct {
    double loss;         /* mean per-sample loss */
    size_t correct, n;   /* arg-max predictions equal to the label (class data only) */
    int has_accuracy;
} rt_eval_result;

/* Evaluate net (dropout off, the plan's deterministic transforms applied
 * to each sample, no random ones) on every sample of ds, in order, in batches
 * of net->max_batch (the last may be smaller).  With several pool threads
 * (rt_pool_set_threads), each runs whole batches on a net of its own that
 * shares net's parameters (allocated before the first batch: in net's
 * batch arena when net is a training net, rt_net_new_borrowing, which
 * overwrites its batch buffers; else rt_net_new_sharing); the results are
 * the same bits at every thread count. */
void rt_evaluate(rt_net *net, const rt_dataset *ds, int onehot, rt_eval_result *r);

/* Write one CSV row of model outputs per sample of ds (transformed as
 * rt_evaluate's) to out, each value with 9 significant digits (enough to
 * round-trip a float32).  Runs the
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
