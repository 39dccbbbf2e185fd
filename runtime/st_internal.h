/* st_internal.h — private to the safetensors writer and reader
 * (safetensors.c, st_header.c, st_load.c): the loaded-file structure, the
 * header parser, and helpers both directions share. */
#ifndef NETC_RUNTIME_ST_INTERNAL_H
#define NETC_RUNTIME_ST_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "safetensors.h"

#include "errf.h"

/* One tensor of a file being read: its public view and its data_offsets
 * (bytes, relative to the start of the data section). */
typedef struct {
    rt_tensor t;
    uint64_t begin, end;
    int i64;        /* stored as I64 (torch's num_batches_tracked): read as floats */
    size_t slot;    /* where its elements start in the loaded data, in 4-byte words */
} rt_st_entry;

struct rt_st_file {
    char *hdr;      /* header text; names and metadata decoded in place */
    float *data;    /* every tensor in host order, each in a slot of 4 bytes
                     * per element starting on a 4-byte word (an I8 tensor
                     * uses the slot's first bytes) */
    rt_st_entry *e; /* tensors in header order */
    int n;
    const char **meta; /* key, value, key, value, ... (pointing into hdr) */
    int nmeta;
};

/* Parse the JSON header hdr[0..len) (NUL-terminated at len) into f's
 * tensor entries and metadata.  Strings are decoded in place, so hdr must
 * outlive f's use of them (it is f->hdr).  Checks syntax, field names and
 * types, and dtype F32, I8, I32 (or I64, which the loader turns into floats); not
 * names' uniqueness nor offsets.  Returns 0, or
 * -1 with a message naming path in err.  Not recursive: the grammar has a
 * fixed depth of three. */
int rt_st_parse_header(char *hdr, size_t len, rt_st_file *f, const char *path, char *err,
                       size_t errlen);


/* Is s[0..n) well-formed UTF-8 (no overlong forms, surrogates or code
 * points past U+10FFFF)?  The header is JSON text, which must be. */
int rt_st_utf8_valid(const unsigned char *s, size_t n);


#endif
