/* embedding.h — the Embedding layer's data check (its kernels are in
 * kernels.h).
 * Indices arrive as floats in the input buffer (the data sets hold
 * floats); rt_embedding_check_data validates them once, when the data is
 * loaded, so the kernels can trust them. */
#ifndef NETC_RUNTIME_EMBEDDING_H
#define NETC_RUNTIME_EMBEDDING_H

#include <stddef.h>

#include "../compiler/plan.h"
#include "data.h"

/* When plan p has an Embedding, check that every input value of ds is an
 * index of it: an integer in [0, num_embeddings), from a CSV (not IDX
 * bytes).  Returns 0, or -1 with a message naming path, the sample and
 * the column in err. */
int rt_embedding_check_data(const comp_plan *p, const rt_dataset *ds, const char *path, char *err, size_t errlen);

#endif
