/* data_formats.h — private to runtime/data.c, idx.c and csv.c: the format
 * readers behind rt_data_load() and their shared error formatter.  Nothing
 * outside the data loader should include this. */
#ifndef NETC_RUNTIME_DATA_FORMATS_H
#define NETC_RUNTIME_DATA_FORMATS_H

#include <stddef.h>

#include "data.h"

#include "errf.h"

/* Load split of the IDX directory dir into out (x8 and labels), with the
 * contract of rt_data_load().  out is zeroed first and left zeroed on
 * failure. */
int rt_idx_load(const char *dir, rt_split split, size_t dim, int nclasses, rt_dataset *out,
                char *err, size_t errlen);

/* Load the CSV file path into out (xf, plus labels or targets per kind),
 * with the contract of rt_data_load().  out is zeroed first and left zeroed
 * on failure. */
int rt_csv_load(const char *path, size_t dim, rt_target_kind kind, size_t ntarget, int nclasses,
                rt_dataset *out, char *err, size_t errlen);

/* Whether dir holds split's NumPy images (NAME-images.npy), which makes it
 * a NumPy directory rather than an IDX one. */
int rt_npy_is_dir(const char *dir, rt_split split);

/* Load split of the NumPy directory dir (NAME-images.npy: uint8 or float32,
 * shape (N, ...) with dim values per sample, C order; NAME-labels.npy:
 * integers of shape (N,)) into out, with the contract of rt_data_load().
 * out is zeroed first and left zeroed on failure. */
int rt_npy_load(const char *dir, rt_split split, size_t dim, int nclasses, rt_dataset *out,
                char *err, size_t errlen);

#endif
