/* embedding.c — the check that a data set's inputs are valid indices of
 * the model's Embedding (the kernels are in embedding_kernels.c). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "embedding.h"
#include "errf.h"

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
