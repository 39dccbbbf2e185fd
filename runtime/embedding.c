/* embedding.c — torch.nn.Embedding: forward row gather, backward row
 * scatter-add, and the check that a data set's inputs are valid indices. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "embedding.h"
#include "errf.h"

void rt_embedding_forward(const float *idx, const float *W, float *y, size_t count, int dim)
{
    const size_t d = (size_t)dim;
    for (size_t i = 0; i < count; i++)
        memcpy(y + i * d, W + (size_t)idx[i] * d, d * sizeof *y);
}

/* torch's embedding_dense_backward_cpu adds the rows of dy into a zeroed
 * gradient in the order of the indices (grad_weight[k].add_(grad[i]));
 * the sparse path's coalesce() sums duplicates in the same order, so both
 * give these bits. */
void rt_embedding_backward(const float *dy, const float *idx, float *dW, size_t count, int dim, int rows,
                           int sparse)
{
    const size_t d = (size_t)dim;
    if (sparse) {
        for (size_t i = 0; i < count; i++)
            memset(dW + (size_t)idx[i] * d, 0, d * sizeof *dW);
    } else {
        memset(dW, 0, (size_t)rows * d * sizeof *dW);
    }
    for (size_t i = 0; i < count; i++) {
        float *row = dW + (size_t)idx[i] * d;
        const float *src = dy + i * d;
        for (size_t j = 0; j < d; j++)
            row[j] += src[j];
    }
}

int rt_embedding_check_data(const comp_plan *p, const rt_dataset *ds, const char *path, char *err, size_t errlen)
{
    for (int o = 0; o < p->nfwd; o++) {
        const comp_op *op = &p->ops[o];
        if (op->code != COMP_OP_EMBEDDING)
            continue;
        if (!ds->xf)
            return rt_errf(err, errlen,
                           "%s: the model starts with an Embedding, whose inputs are integer indices; they must come "
                           "from a CSV file, not IDX images",
                           path);
        for (size_t s = 0; s < ds->n; s++)
            for (size_t j = 0; j < ds->dim; j++) {
                const float v = ds->xf[s * ds->dim + j];
                if (v != floorf(v) || v < 0 || v >= (float)op->k)
                    return rt_errf(err, errlen,
                                   "%s: sample %zu, input %zu: %.9g is not an index of the Embedding at %d:%d "
                                   "(an integer from 0 to %d)",
                                   path, s + 1, j + 1, (double)v, op->line, op->col, op->k - 1);
            }
    }
    return 0;
}
