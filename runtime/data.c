/* data.c — the data-set entry points: picks the format reader (a directory
 * is IDX, anything else CSV), frees data sets, and gathers mini-batches. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data.h"
#include "data_formats.h"

/* See data.h.  The format is chosen by what path is, not by its name, so a
 * CSV file may be called anything. */
int rt_data_load(const char *path, rt_split split, size_t dim, rt_target_kind kind, size_t ntarget,
                 int nclasses, rt_dataset *out, char *err, size_t errlen)
{
    if (out)
        memset(out, 0, sizeof *out);
    if (!path || !out)
        return rt_errf(err, errlen, "rt_data_load: no path or no output");
    if (dim == 0)
        return rt_errf(err, errlen, "%s: the model's input dimension is 0", path);

    struct stat st;
    if (stat(path, &st) != 0)
        return rt_errf(err, errlen, "%s: cannot open data: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return rt_idx_load(path, split, dim, nclasses, out, err, errlen);
    return rt_csv_load(path, dim, kind, ntarget, nclasses, out, err, errlen);
}

/* See data.h. */
void rt_data_free(rt_dataset *ds)
{
    if (!ds)
        return;
    free(ds->x8);
    free(ds->xf);
    free(ds->labels);
    free(ds->targets);
    memset(ds, 0, sizeof *ds);
}

/* Pixel bytes to floats in [0, 1].  A division, not a multiplication by
 * 1/255: PyTorch's ToTensor divides, and b * (1/255.0f) differs from
 * b / 255.0f in the last bit for some bytes.  restrict lets the loop
 * vectorise (bytes may alias anything, and without it the loop stayed
 * scalar: 8% of a training epoch). */
static void bytes_to_unit(const uint8_t *restrict src, float *restrict dst, size_t n)
{
    for (size_t j = 0; j < n; j++)
        dst[j] = (float)src[j] / 255.0f;
}

/* See data.h.  Runs once per mini-batch inside the training loop, so it
 * only copies: no allocation, no checks beyond what keeps it in bounds.
 * Labels were validated at load time; a label outside [0, onehot) (a caller
 * passing a width smaller than the class count) gives an all-zero row
 * rather than a write out of bounds.  With no labels and no targets (a
 * RT_TARGET_NONE CSV) t is left untouched. */
void rt_data_gather(const rt_dataset *ds, const uint32_t *idx, size_t count, float *x, float *t,
                    int onehot)
{
    const size_t dim = ds->dim;

    for (size_t i = 0; i < count; i++) {
        const size_t s = idx[i];
        float *xi = x + i * dim;
        if (ds->x8) {
            bytes_to_unit(ds->x8 + s * dim, xi, dim);
        } else if (ds->xf) {
            memcpy(xi, ds->xf + s * dim, dim * sizeof *xi);
        }
    }

    if (!t)
        return;
    if (ds->labels && onehot > 0) {
        const size_t w = (size_t)onehot;
        memset(t, 0, count * w * sizeof *t);
        for (size_t i = 0; i < count; i++) {
            const int32_t c = ds->labels[idx[i]];
            if (c >= 0 && c < onehot)
                t[i * w + (size_t)c] = 1.0f;
        }
    } else if (ds->labels) {
        for (size_t i = 0; i < count; i++)
            t[i] = (float)ds->labels[idx[i]];
    } else if (ds->targets) {
        const size_t nt = ds->ntarget;
        for (size_t i = 0; i < count; i++)
            memcpy(t + i * nt, ds->targets + (size_t)idx[i] * nt, nt * sizeof *t);
    }
}
