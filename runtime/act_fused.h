/* act_fused.h — the row-wise activation passes shared by the elementwise
 * activation kernels and the fused Linear (runtime-internal).
 *
 * Both passes are expanded from acts.def in act_kernels.c; this is the only
 * place the activation list turns into loops. */
#ifndef NETC_RUNTIME_ACT_FUSED_H
#define NETC_RUNTIME_ACT_FUSED_H

#include <stddef.h>

#include "../compiler/catalog.h"

/* For a rows x cols matrix whose rows are ld floats apart (ld >= cols, so
 * a block of columns of a wider matrix can be passed): v = src + bias (bias
 * of cols floats, broadcast over rows; NULL: no bias), z = v when z is not
 * NULL, y = act(v).  src may equal y or z; z must not equal y. */
void rt_act_rows_forward(comp_act act, float a, float b, const float *src, const float *bias,
                         float *z, float *y, size_t rows, size_t cols, size_t ld);

/* For a rows x cols matrix whose rows are ld floats apart: dx = dy *
 * act'(x, y) (x may be NULL when the activation does not need it, y may be
 * NULL when it does; dx may equal dy) and, when db is not NULL, db[j] =
 * sum over rows of dx[., j], accumulated in float in row order. */
void rt_act_rows_backward(comp_act act, float a, float b, const float *x, const float *y,
                          const float *dy, float *dx, float *db, size_t rows, size_t cols, size_t ld);

#endif
