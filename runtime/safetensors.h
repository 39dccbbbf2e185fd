/* safetensors.h — reading and writing checkpoints in the safetensors
 * format (https://huggingface.co/docs/safetensors): an 8-byte little-endian
 * header length, a JSON header mapping tensor names to dtype, shape and
 * byte offsets (plus a "__metadata__" object of strings), then the raw
 * little-endian data.  netc writes and reads float32 ("F32") and, for
 * int8 checkpoints (netc quantize), int8 ("I8") and int32 ("I32"). */
#ifndef NETC_RUNTIME_SAFETENSORS_H
#define NETC_RUNTIME_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#define RT_ST_MAX_RANK 8

/* A tensor's element type; F32 is 0, so a tensor written as {name, rank,
 * shape, data} is float32. */
typedef enum { RT_ST_F32, RT_ST_I8, RT_ST_I32 } rt_st_dtype;

typedef struct {
    const char *name;
    int rank;
    int64_t shape[RT_ST_MAX_RANK];
    const float *data;   /* F32: rank-product floats; NULL for the others */
    rt_st_dtype dtype;
    const void *ints;    /* I8: int8_t, I32: int32_t elements, host order; NULL for F32 */
} rt_tensor;

/* Bytes of t's data (product of the shape times the dtype's size), or -1 for a
 * rank outside 0..RT_ST_MAX_RANK, a negative dimension, or a product past
 * INT64_MAX bytes. */
int64_t rt_st_tensor_bytes(const rt_tensor *t);

/* Write tensors t[0..n) and metadata pairs keys[i] = vals[i] (i < nmeta)
 * to path, atomically and durably (atomic_file.h: a temporary file in the
 * same directory, fsynced and renamed into place, so a failed save never
 * leaves a half-written checkpoint and keeps the previous one).  Tensors are laid out in the order given; data is
 * written little-endian on any host.  Tensor names must be unique,
 * non-empty, valid UTF-8 and not "__metadata__"; metadata keys unique;
 * ranks within 0..RT_ST_MAX_RANK; data may be NULL only for a tensor with
 * no elements.  With nmeta == 0 no "__metadata__" is written.  Returns 0,
 * or -1 with a message in err. */
int rt_st_save(const char *path, const rt_tensor *t, int n, const char *const *keys,
               const char *const *vals, int nmeta, char *err, size_t errlen);

/* A loaded file: every F32 (and I64) tensor converted to float32 in host
 * order, I8 and I32 ones to host int8_t / int32_t (rt_tensor.ints). */
typedef struct rt_st_file rt_st_file;

/* Read and validate a whole file (header JSON, offsets inside the data,
 * shapes matching sizes, dtype F32, I8, I32 (or I64, read as floats), tensors covering the data exactly
 * with neither gap nor overlap as the reference implementation requires,
 * no duplicate names or unknown fields).  Returns NULL with a one-line
 * message naming path in err on any problem, e.g. "x.safetensors: tensor
 * '0.weight' has dtype F64; netc reads F32 only"; never crashes or reads
 * out of bounds on malformed input.  Names, metadata and data stay valid
 * until rt_st_free. */
rt_st_file *rt_st_load(const char *path, char *err, size_t errlen);

/* Number of tensors, and tensor i (0 <= i < count; NULL otherwise), in
 * the order of the file's header. */
int rt_st_count(const rt_st_file *f);
const rt_tensor *rt_st_tensor(const rt_st_file *f, int i);

/* The tensor called name, or NULL. */
const rt_tensor *rt_st_find(const rt_st_file *f, const char *name);

/* The metadata value for key, or NULL. */
const char *rt_st_meta(const rt_st_file *f, const char *key);

/* Free a loaded file (NULL allowed). */
void rt_st_free(rt_st_file *f);

/* Longest name or value quoted in a message. */
#define RT_ST_SHOW_MAX 64

/* s (a name or metadata value read from a file) made fit for a one-line
 * message in out: at most RT_ST_SHOW_MAX bytes (then "..."), control
 * characters as '?' (a name decoded from \u escapes may hold a newline).
 * Returns out. */
const char *rt_st_show(const char *s, char out[RT_ST_SHOW_MAX + 4]);

#endif
