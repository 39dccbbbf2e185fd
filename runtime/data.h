/* data.h — data sets: IDX directories (MNIST layout, optionally gzipped)
 * and CSV files, loaded whole into memory.
 *
 * IDX pixels stay bytes (n * dim uint8, a quarter of the memory of floats)
 * and are scaled to [0, 1] when a batch is gathered. */
#ifndef NETC_RUNTIME_DATA_H
#define NETC_RUNTIME_DATA_H

#include <stddef.h>
#include <stdint.h>

/* Which part of an IDX directory to read: train-* or t10k-* files.  A CSV
 * file is always read whole. */
typedef enum { RT_SPLIT_TRAIN, RT_SPLIT_TEST } rt_split;

/* What the target columns of a CSV hold. */
typedef enum {
    RT_TARGET_NONE,   /* no target column (predict input) */
    RT_TARGET_CLASS,  /* one column: a class index in [0, nclasses) */
    RT_TARGET_VALUES  /* ntarget columns of floats (regression, MSE) */
} rt_target_kind;

typedef struct {
    size_t n;          /* samples */
    size_t dim;        /* input features per sample */
    uint8_t *x8;       /* n * dim bytes (IDX) or NULL */
    float *xf;         /* n * dim floats (CSV) or NULL */
    int32_t *labels;   /* n class indices, or NULL */
    float *targets;    /* n * ntarget floats (CSV with RT_TARGET_VALUES), or NULL */
    size_t ntarget;    /* target floats per sample when targets != NULL */
} rt_dataset;

/* Load a data set from path: a directory holding the IDX files of split
 * (NAME-images-idx3-ubyte and NAME-labels-idx1-ubyte, each optionally with
 * .gz, NAME being "train" or "t10k"), a directory holding NumPy arrays
 * (NAME-images.npy, uint8 or float32 in C order, and NAME-labels.npy,
 * integers; runtime/npy.c), or a regular file read as CSV.
 *
 * dim is the number of input features the model expects; IDX images must
 * have rows*cols == dim, CSV rows must have exactly ntarget(+1 for classes)
 * + dim columns.  For a CSV, kind says what its leading columns are
 * (RT_TARGET_VALUES with ntarget columns); for IDX the labels are always
 * read.  nclasses > 0 bounds class labels (IDX and CSV).  A first CSV line
 * that does not parse as numbers is a header and skipped.
 *
 * A data set without samples (an IDX count of 0, a CSV without data rows)
 * is an error, as is anything malformed: IDX magic, sizes, truncation,
 * trailing bytes, gzip damage; CSV column counts, non-numbers, NaN and
 * infinities, non-integer classes.
 *
 * Returns 0 on success; on failure returns -1, leaves *out zeroed and
 * writes a one-line message naming the file (and CSV line/column) into
 * err, e.g. "data.csv:17: expected 785 columns (1 target + 784 inputs),
 * found 784". */
int rt_data_load(const char *path, rt_split split, size_t dim, rt_target_kind kind, size_t ntarget,
                 int nclasses, rt_dataset *out, char *err, size_t errlen);

/* Hold out the validation part of the training set ds: the last
 * fraction of its samples (0 < fraction < 1), after a Fisher-Yates
 * shuffle seeded by seed when shuffle is set.  ds keeps the first
 * floor(n * (1 - fraction)) samples, in that order; val gets the others.
 * A split that leaves either part empty is an error ("validation=0.001 of
 * 100 training samples leaves no validation sample"), as is running out
 * of memory; ds is then unchanged and val zeroed.  Returns 0 or -1. */
int rt_data_split(rt_dataset *ds, double fraction, int shuffle, uint64_t seed, rt_dataset *val, char *err,
                  size_t errlen);

/* Release a data set's memory and zero it. */
void rt_data_free(rt_dataset *ds);

/* Copy samples idx[0..count) into x (count * dim floats, IDX bytes scaled
 * as (float)byte / 255.0f, bit-identical to PyTorch's ToTensor).  When t
 * is not NULL, write their targets: the class index as a float
 * (onehot == 0, count floats), a one-hot row of width onehot (onehot > 0,
 * count * onehot floats, for MSE on class data; a label >= onehot gives a
 * row of zeros), or the ntarget CSV values (count * ntarget floats).  With
 * no targets at all (RT_TARGET_NONE) t is left untouched.  Every idx[i]
 * must be < n.  Does not allocate: it runs once per mini-batch. */
void rt_data_gather(const rt_dataset *ds, const uint32_t *idx, size_t count, float *x, float *t,
                    int onehot);

/* rt_data_gather, then the transforms of tf (runtime/transform.h) on each
 * sample, in the pool's threads as the sample is converted (NULL or
 * nothing to apply: as rt_data_gather).  Row i is the batch's sample i
 * for tf's streams and spare rows.  Does not allocate. */
struct rt_tf_batch_s;
void rt_data_gather_tf(const rt_dataset *ds, const uint32_t *idx, size_t count, float *x, float *t, int onehot,
                       const struct rt_tf_batch_s *tf);

/* rt_data_gather for the adjacent samples first .. first + count - 1 (eval
 * and predict walk a data set in order): the same floats and targets, with
 * no index array.  first + count must be <= n.  Does not allocate. */
void rt_data_gather_run(const rt_dataset *ds, size_t first, size_t count, float *x, float *t, int onehot);

/* rt_data_gather_run, then tf's transforms on each sample (eval and
 * predict: the deterministic ones). */
void rt_data_gather_run_tf(const rt_dataset *ds, size_t first, size_t count, float *x, float *t, int onehot,
                           const struct rt_tf_batch_s *tf);

#endif
