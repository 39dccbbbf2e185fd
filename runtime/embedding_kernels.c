/* embedding_kernels.c — torch.nn.Embedding: forward row gather, backward
 * row scatter-add. */
#include <string.h>

#include "kernels.h"

void rt_embedding_forward(const float *idx, const float *W, float *y, size_t count, int dim)
{
    const size_t d = (size_t)dim;
    for (size_t i = 0; i < count; i++)
        memcpy(y + i * d, W + (size_t)idx[i] * d, d * sizeof *y);
}

/* torch's embedding_dense_backward_cpu adds the rows of dy into a zeroed
 * gradient in the order of the indices (grad_weight[k].add_(grad[i])),
 * skipping padding_idx; the sparse path drops the padding indices and its
 * coalesce() sums duplicates in the same order, so both give these bits. */
void rt_embedding_backward(const float *dy, const float *idx, float *dW, size_t count, int dim, int rows, long padding,
                           int sparse)
{
    const size_t d = (size_t)dim;
    if (sparse) {
        for (size_t i = 0; i < count; i++)
            if ((long)idx[i] != padding)
                memset(dW + (size_t)idx[i] * d, 0, d * sizeof *dW);
    } else {
        memset(dW, 0, (size_t)rows * d * sizeof *dW);
    }
    for (size_t i = 0; i < count; i++) {
        if ((long)idx[i] == padding)
            continue;
        float *row = dW + (size_t)idx[i] * d;
        const float *src = dy + i * d;
        for (size_t j = 0; j < d; j++)
            row[j] += src[j];
    }
}
