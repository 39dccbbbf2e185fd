/* data_split.c — holding out the validation part of a training split. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "data_formats.h"
#include "kernels.h"

/* Copy samples idx[0..count) of src into out, which owns new memory.
 * Returns 0, or -1 when out of memory (out zeroed). */
static int subset(const rt_dataset *src, const uint32_t *idx, size_t count, rt_dataset *out)
{
    memset(out, 0, sizeof *out);
    out->n = count;
    out->dim = src->dim;
    out->ntarget = src->ntarget;
    const size_t dim = src->dim, nt = src->ntarget;
    if ((src->x8 && !(out->x8 = malloc(count * dim))) || (src->xf && !(out->xf = malloc(count * dim * sizeof(float)))) ||
        (src->labels && !(out->labels = malloc(count * sizeof(int32_t)))) ||
        (src->targets && !(out->targets = malloc(count * nt * sizeof(float))))) {
        rt_data_free(out);
        return -1;
    }
    for (size_t i = 0; i < count; i++) {
        const size_t s = idx[i];
        if (src->x8)
            memcpy(out->x8 + i * dim, src->x8 + s * dim, dim);
        if (src->xf)
            memcpy(out->xf + i * dim, src->xf + s * dim, dim * sizeof(float));
        if (src->labels)
            out->labels[i] = src->labels[s];
        if (src->targets)
            memcpy(out->targets + i * nt, src->targets + s * nt, nt * sizeof(float));
    }
    return 0;
}

/* See data.h.  Keras's validation_split cuts at floor(n * (1 - fraction));
 * the shuffle is rt_train's Fisher-Yates on a stream of its own, so the
 * held-out samples do not depend on the epochs' order. */
int rt_data_split(rt_dataset *ds, double fraction, int shuffle, uint64_t seed, rt_dataset *val, char *err,
                  size_t errlen)
{
    memset(val, 0, sizeof *val);
    const size_t n = ds->n;
    const size_t ntrain = (size_t)floor((double)n * (1.0 - fraction));
    if (ntrain == 0 || ntrain >= n)
        return rt_errf(err, errlen, "validation=%g of %zu training samples leaves %s", fraction, n,
                       ntrain == 0 ? "no sample to train on" : "no validation sample");
    uint32_t *order = malloc(n * sizeof *order);
    if (!order)
        return rt_errf(err, errlen, "out of memory splitting %zu samples", n);
    for (size_t k = 0; k < n; k++)
        order[k] = (uint32_t)k;
    if (shuffle) {
        uint64_t rng = rt_rng_seed(seed, RT_STREAM_SPLIT);
        for (size_t k = n - 1; k > 0; k--) {
            size_t j = (size_t)(rt_rng_next(&rng) % (k + 1));
            uint32_t t = order[k];
            order[k] = order[j];
            order[j] = t;
        }
    }
    rt_dataset train;
    if (subset(ds, order, ntrain, &train) != 0 || subset(ds, order + ntrain, n - ntrain, val) != 0) {
        rt_data_free(&train);
        free(order);
        return rt_errf(err, errlen, "out of memory splitting %zu samples", n);
    }
    free(order);
    rt_data_free(ds);
    *ds = train;
    return 0;
}
