/* train_log.h — what `netc train` records per epoch beside its epoch
 * lines: a JSON Lines log (--log) and the curves of its plot (--plot). */
#ifndef NETC_COMPILER_TRAIN_LOG_H
#define NETC_COMPILER_TRAIN_LOG_H

#include <stdio.h>

#include "../runtime/train.h"

typedef struct {
    FILE *log;               /* --log, opened by the caller; NULL: none */
    const char *log_path;    /* named in the error when writing fails */
    const rt_dataset *test;  /* evaluated after each epoch when not NULL */
    int test_onehot;
    size_t samples;          /* training samples per epoch */
    double *costs, *test_losses; /* --plot: indexed by this run's epochs, or NULL */
    int nepochs;             /* epochs recorded so far */
    int failed;              /* writing the log failed (reported once) */
    double eval_seconds;     /* spent evaluating, left out of train's timing line */
} comp_train_log;

/* rt_train_opts.on_epoch with ctx a comp_train_log: evaluates the test
 * set when there is one, writes one line to the log,
 *   {"epoch": 1, "cost": 0.39, "lr": 0.001, "test_loss": 0.2,
 *    "test_accuracy": 0.95, "seconds": 0.07, "samples_per_second": 114000}
 * (test_accuracy for class data only; no test fields without test data),
 * flushed so that a reader sees each epoch as it ends, and records the
 * costs for the plot.  Numbers JSON cannot hold (a NaN cost) are null. */
void comp_train_log_epoch(void *ctx, rt_net *net, long epoch, double cost, double lr, double seconds);

#endif
