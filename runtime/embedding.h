/* embedding.h — the Embedding layer's kernels and its data check.
 * Indices arrive as floats in the input buffer (the data sets hold
 * floats); rt_embedding_check_data validates them once, when the data is
 * loaded, so the kernels can trust them. */
#ifndef NETC_RUNTIME_EMBEDDING_H
#define NETC_RUNTIME_EMBEDDING_H

#include <stddef.h>

#include "../compiler/plan.h"
#include "data.h"

/* y (count x dim) = rows idx[0..count) of W (rows x dim), as
 * torch.nn.functional.embedding.  Every idx[i] must be an integer in
 * [0, rows). */
void rt_embedding_forward(const float *idx, const float *W, float *y, size_t count, int dim);

/* The weight gradient: row r of dW is the sum of the rows of dy (count x
 * dim) whose index is r, added in index order.  sparse = 0 writes all rows
 * (zero where no index points: a dense gradient, as torch's sparse=False);
 * sparse = 1 writes only the rows the indices touch, the rest keep stale
 * values (for SparseAdam, which reads only those rows). */
void rt_embedding_backward(const float *dy, const float *idx, float *dW, size_t count, int dim, int rows,
                           int sparse);

/* When plan p has an Embedding, check that every input value of ds is an
 * index of it: an integer in [0, num_embeddings), from a CSV (not IDX
 * bytes).  Returns 0, or -1 with a message naming path, the sample and
 * the column in err. */
int rt_embedding_check_data(const comp_plan *p, const rt_dataset *ds, const char *path, char *err, size_t errlen);

#endif
