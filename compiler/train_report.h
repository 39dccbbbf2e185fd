/* train_report.h — what `netc train` says when a run stops on its own:
 * at a non-finite value (where it came from, at its spec position), at a
 * signal, or before saving parameters that are not finite. */
#ifndef NETC_COMPILER_TRAIN_REPORT_H
#define NETC_COMPILER_TRAIN_REPORT_H

#include "../runtime/train.h"
#include "plan.h"

/* Report the stop RT_TRAIN_NONFINITE s of a run of plan p: one error at
 * the spec position of the op that first wrote a non-finite value (or of
 * the layer whose parameter already held one), naming the epoch, the
 * batch, the op, its layer and the value; a plain error when the value
 * was not located.  save: the --save file, which is left as it was
 * (NULL: none). */
void comp_report_nonfinite(const comp_plan *p, const rt_train_stop *s, const char *save);

/* The exit status of a run stopped by signal signo (128 + signo, as a
 * shell reports a process the signal killed), after saying where it
 * stopped and what was saved: saved is the checkpoint written, or NULL. */
int comp_report_interrupt(const rt_train_stop *s, const char *saved);

/* "nan", "inf" or "-inf" (a non-finite value as the messages spell it;
 * printf's "-nan" says nothing more), else "%g" into buf. */
const char *comp_value_text(double v, char *buf, size_t size);

/* A message for parameter tensor a->param of p holding a non-finite value
 * (a from rt_anomaly_params), e.g. "parameter '0.weight' is nan
 * (element 17)", into buf. */
void comp_param_text(const comp_plan *p, const rt_anomaly *a, char *buf, size_t size);

#endif
