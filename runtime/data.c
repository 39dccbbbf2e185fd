/* data.c — the data-set entry points: picks the format reader (a directory
 * of NAME-images.npy files is NumPy, any other directory IDX, anything else
 * CSV), frees data sets, and gathers mini-batches. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data.h"
#include "data_formats.h"
#include "pool.h"
#include "transform.h"

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
    if (S_ISDIR(st.st_mode) && rt_npy_is_dir(path, split))
        return rt_npy_load(path, split, dim, nclasses, out, err, errlen);
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

/* n pixel bytes to floats in [0, 1].  A division, not a multiplication by
 * 1/255: PyTorch's ToTensor divides, and b * (1/255.0f) differs from
 * b / 255.0f in the last bit for 126 of the 256 bytes.  The blocks of 32
 * have a constant trip count, so gcc -O2 turns each into vector code
 * (its cost model leaves a loop of unknown length scalar); IEEE division
 * is correctly rounded either way, so the bits do not depend on it.
 * Measured on 7.84 million bytes (10,000 images) with gcc 12 -O2
 * -march=native: 5.8 ms as a plain loop, 1.4 ms in blocks of 16 (128-bit
 * vectors), 0.7 ms in blocks of 32 (256-bit). */
static void bytes_to_floats(const uint8_t *restrict src, float *restrict dst, size_t n)
{
    size_t j = 0;
    for (; j + 32 <= n; j += 32)
        for (size_t l = 0; l < 32; l++)
            dst[j + l] = (float)src[j + l] / 255.0f;
    for (; j < n; j++)
        dst[j] = (float)src[j] / 255.0f;
}

/* The targets of count samples into t, sample i being idx[i], or first + i
 * when idx is NULL; the contract of rt_data_gather. */
static void gather_targets(const rt_dataset *ds, const uint32_t *idx, size_t first, size_t count, float *t,
                           int onehot)
{
#define SAMPLE(i) (idx ? (size_t)idx[i] : first + (i))
    if (ds->labels && onehot > 0) {
        const size_t w = (size_t)onehot;
        memset(t, 0, count * w * sizeof *t);
        for (size_t i = 0; i < count; i++) {
            const int32_t c = ds->labels[SAMPLE(i)];
            if (c >= 0 && c < onehot)
                t[i * w + (size_t)c] = 1.0f;
        }
    } else if (ds->labels) {
        for (size_t i = 0; i < count; i++)
            t[i] = (float)ds->labels[SAMPLE(i)];
    } else if (ds->targets) {
        const size_t nt = ds->ntarget;
        for (size_t i = 0; i < count; i++)
            memcpy(t + i * nt, ds->targets + SAMPLE(i) * nt, nt * sizeof *t);
    }
#undef SAMPLE
}

/* The inputs are converted by the runtime's threads (runtime/pool.c) in
 * tasks of a fixed size, so the conversion's share of a step shrinks with
 * --threads as the products' does.  Each float is computed the same way
 * whichever thread writes it.  Tasks of GATHER_TASK_ROWS samples, or of
 * GATHER_TASK_VALUES values for a run of adjacent samples (a multiple of
 * bytes_to_floats' block of 32), by rt_pool_chunks. */
#define GATHER_TASK_ROWS 32
#define GATHER_TASK_VALUES 65536
/* Shuffled samples are scattered over the whole set (47 MB for
 * Fashion-MNIST, far out of cache), and the hardware prefetcher cannot
 * guess the next one: each task asks for the sample after next while one
 * converts. */
#define PREFETCH_AHEAD 2

typedef struct {
    const rt_dataset *ds;
    const uint32_t *idx; /* NULL: the run first, first + 1, ... */
    size_t first, count;
    float *x;
    const rt_tf_batch *tf; /* applied to each row once converted, or NULL */
} gather_job;

/* Samples [lo, hi) of the job's index list into their rows of x. */
static void gather_rows(void *ctx, size_t lo, size_t hi)
{
    const gather_job *j = ctx;
    const rt_dataset *ds = j->ds;
    const size_t dim = ds->dim;
    for (size_t i = lo; i < hi; i++) {
        const size_t s = j->idx[i];
        float *xi = j->x + i * dim;
#if defined(__GNUC__) || defined(__clang__)
        if (ds->x8 && i + PREFETCH_AHEAD < hi)
            for (size_t o = 0; o < dim; o += 64)
                __builtin_prefetch(ds->x8 + (size_t)j->idx[i + PREFETCH_AHEAD] * dim + o);
#endif
        if (ds->x8)
            bytes_to_floats(ds->x8 + s * dim, xi, dim);
        else if (ds->xf)
            memcpy(xi, ds->xf + s * dim, dim * sizeof *xi);
        if (j->tf)
            rt_tf_sample(j->tf, i, xi);
    }
}

/* The transforms of rows [lo, hi) of a gathered run. */
static void transform_rows(void *ctx, size_t lo, size_t hi)
{
    const gather_job *j = ctx;
    for (size_t i = lo; i < hi; i++)
        rt_tf_sample(j->tf, i, j->x + i * j->ds->dim);
}

/* Values [lo, hi) of the run's count * dim inputs. */
static void gather_values(void *ctx, size_t lo, size_t hi)
{
    const gather_job *j = ctx;
    const size_t base = j->first * j->ds->dim;
    if (j->ds->x8)
        bytes_to_floats(j->ds->x8 + base + lo, j->x + lo, hi - lo);
    else if (j->ds->xf)
        memcpy(j->x + lo, j->ds->xf + base + lo, (hi - lo) * sizeof *j->x);
}

/* See data.h.  Runs once per mini-batch inside the training loop, so it
 * only copies: no allocation, no checks beyond what keeps it in bounds.
 * Labels were validated at load time; a label outside [0, onehot) (a caller
 * passing a width smaller than the class count) gives an all-zero row
 * rather than a write out of bounds.  With no labels and no targets (a
 * RT_TARGET_NONE CSV) t is left untouched. */
void rt_data_gather_tf(const rt_dataset *ds, const uint32_t *idx, size_t count, float *x, float *t, int onehot,
                       const rt_tf_batch *tf)
{
    gather_job j = {ds, idx, 0, count, x, rt_tf_active(tf) ? tf : NULL};
    rt_pool_chunks(gather_rows, &j, count, GATHER_TASK_ROWS);
    if (t)
        gather_targets(ds, idx, 0, count, t, onehot);
}

void rt_data_gather(const rt_dataset *ds, const uint32_t *idx, size_t count, float *x, float *t,
                    int onehot)
{
    rt_data_gather_tf(ds, idx, count, x, t, onehot, NULL);
}

/* See data.h.  The samples of a run are adjacent in the data set, so the
 * inputs are one conversion (or one copy) of count * dim values. */
void rt_data_gather_run_tf(const rt_dataset *ds, size_t first, size_t count, float *x, float *t, int onehot,
                           const rt_tf_batch *tf)
{
    gather_job j = {ds, NULL, first, count, x, rt_tf_active(tf) ? tf : NULL};
    rt_pool_chunks(gather_values, &j, count * ds->dim, GATHER_TASK_VALUES);
    /* A transform works on whole samples: a second pass, by rows. */
    if (j.tf)
        rt_pool_chunks(transform_rows, &j, count, GATHER_TASK_ROWS);
    if (t)
        gather_targets(ds, NULL, first, count, t, onehot);
}

void rt_data_gather_run(const rt_dataset *ds, size_t first, size_t count, float *x, float *t, int onehot)
{
    rt_data_gather_run_tf(ds, first, count, x, t, onehot, NULL);
}
