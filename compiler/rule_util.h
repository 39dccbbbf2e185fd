/* rule_util.h — what the layer rules (rule_*.c) share: reading
 * arguments, naming layers in messages, the lowering and output of a
 * view. */
#ifndef NETC_COMPILER_RULE_UTIL_H
#define NETC_COMPILER_RULE_UTIL_H

#include "../grammar/diag.h"
#include "rule.h"

/* The spatial rank of a layer kind, from torch's name: 1 for "...1d", 2
 * for "...2d" (catalog.def's 1-d and 2-d rows share one rule). */
int comp_rule_nd(const comp_layer *l);

/* Argument name of l as an integer. */
int comp_rule_int(const comp_layer *l, const char *name);

/* Size argument name of l as (h, w): an integer is both; a tuple must
 * have one item per spatial dim (reported at l, returning 0).  A 1-d
 * layer's size is (unit, v), unit being what the H axis a 1-d op does
 * not have takes (1 for a kernel or stride, 0 for a padding).  hw gets
 * (-1, -1) for a string ("same"). */
int comp_rule_size(gram_source *src, const comp_layer *l, const char *name, int unit, int hw[2]);

/* The layer's call as the spec spelled its required arguments, for
 * messages: "Conv2d(1, 6, kernel_size=5)" -> "Conv2d(1, 6)". */
void comp_rule_call(const comp_layer *l, char *buf, size_t size);

/* The input's channels and extent (c, h, w) for a layer of spatial rank
 * nd, which needs per-sample rank nd + 1; reports and returns 0
 * otherwise, naming the shape torch expects. */
int comp_rule_chw(gram_source *src, const comp_layer *l, const char *prev, int nd, int chw[3]);

/* A PyTorch dim (of the batched tensor, negative from the end) for an
 * input of per-sample rank `rank`, made non-negative: in [0, rank], 0
 * being the batch; -1 when out of range. */
int comp_rule_batched_dim(int dim, int rank);

/* Set l->out to (c, h, w) for spatial rank nd. */
void comp_rule_set_out(comp_layer *l, int nd, int c, int h, int w);

/* A view's lower(): the output is the input's storage, with the layer's
 * shape (Flatten, Unflatten). */
int comp_rule_lower_view(comp_lowerer *L, const comp_lower_in *in);

/* A view's produces(): its input's values. */
comp_output comp_rule_produces_input(const comp_layer *l);

#endif
