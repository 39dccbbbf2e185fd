/* early_stop.h — Keras's EarlyStopping rule over one value per epoch. */
#ifndef NETC_RUNTIME_EARLY_STOP_H
#define NETC_RUNTIME_EARLY_STOP_H

/* The rule's arguments and its position. */
typedef struct {
    long patience;     /* epochs without improvement tolerated */
    double min_delta;  /* an improvement must beat best by more than this */
    int mode_max;      /* 1: larger is better (accuracy), 0: smaller (loss) */
    double best;       /* best value so far (+-inf before the first epoch) */
    long best_epoch;   /* the epoch that gave it (0: none yet) */
    long wait;         /* epochs since the last improvement */
} rt_early_stop;

/* What an epoch's value means for training. */
typedef enum {
    RT_STOP_IMPROVED, /* a new best: keep this epoch's weights */
    RT_STOP_CONTINUE, /* no improvement, still within patience */
    RT_STOP_STOP      /* patience epochs without improvement: stop */
} rt_stop_verdict;

/* Set s up with no epoch seen yet. */
void rt_early_stop_init(rt_early_stop *s, long patience, double min_delta, int mode_max);

/* The end of epoch `epoch` (counted from 1) with the monitored value:
 * Keras's on_epoch_end.  An improvement is value < best - min_delta
 * (value > best + min_delta with mode_max); NaN never improves.  wait
 * counts the epochs since the last improvement; the verdict is STOP once
 * wait >= patience, so patience 0 stops at the first epoch that does not
 * improve. */
rt_stop_verdict rt_early_stop_step(rt_early_stop *s, long epoch, double value);

#endif
