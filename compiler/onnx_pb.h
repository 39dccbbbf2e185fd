/* onnx_pb.h — building and reading ONNX messages with protobuf-c (the C
 * that protoc-c generates from ONNX's onnx.proto, build/onnx/onnx.pb-c.h).
 * Shared by the exporter and the importer; compiled only when protobuf-c
 * is installed (Makefile: ONNX_FOUND). */
#ifndef NETC_COMPILER_ONNX_PB_H
#define NETC_COMPILER_ONNX_PB_H

#include <stddef.h>
#include <stdint.h>

#include "onnx.pb-c.h"

/* Every block the builder allocates, freed together (a model being
 * written is one tree of small messages). */
typedef struct {
    void **blocks;
    size_t n, cap;
    int oom;             /* an allocation failed: the result is unusable */
} comp_pb_arena;

/* Zeroed memory owned by a (NULL, and a->oom set, when out of memory). */
void *comp_pb_alloc(comp_pb_arena *a, size_t size);
/* A copy of printf-formatted text owned by a. */
char *comp_pb_strf(comp_pb_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void comp_pb_arena_free(comp_pb_arena *a);

/* A graph under construction: nodes and initializers appended in order. */
typedef struct {
    comp_pb_arena *a;
    Onnx__NodeProto **nodes;
    size_t nnodes, capnodes;
    Onnx__TensorProto **inits;
    size_t ninits, capinits;
    int nconst;          /* scalar constants made so far, for their names */
    const char *prefix;  /* names of new nodes and constants start with it ("3/") */
} comp_pb_graph;

/* Append a node op_type with inputs in[0..nin) (NULL or "" for an absent
 * optional input) and one output, named after g->prefix; returns it (its
 * output is node->output[0]), NULL when out of memory. */
Onnx__NodeProto *comp_pb_node(comp_pb_graph *g, const char *op_type, const char *const *in, int nin);
/* Attributes of a node. */
void comp_pb_attr_int(comp_pb_graph *g, Onnx__NodeProto *n, const char *name, int64_t v);
void comp_pb_attr_float(comp_pb_graph *g, Onnx__NodeProto *n, const char *name, float v);
void comp_pb_attr_ints(comp_pb_graph *g, Onnx__NodeProto *n, const char *name, const int64_t *v, int count);
void comp_pb_attr_string(comp_pb_graph *g, Onnx__NodeProto *n, const char *name, const char *v);

/* Append a float32 initializer (raw little-endian data) of the given
 * dims; returns its name, NULL when out of memory. */
const char *comp_pb_init_float(comp_pb_graph *g, const char *name, const int64_t *dims, int rank,
                               const float *data);
/* Append an int64 initializer of one dim. */
const char *comp_pb_init_int64(comp_pb_graph *g, const char *name, const int64_t *v, int count);
/* A float scalar initializer holding v, named after g->prefix. */
const char *comp_pb_const(comp_pb_graph *g, float v);

/* Reading (the importer): the attribute called name of n, or NULL. */
const Onnx__AttributeProto *comp_pb_attr(const Onnx__NodeProto *n, const char *name);

/* The elements of a FLOAT or INT64 tensor, checked against its dims: at
 * most max elements, data from raw_data or the typed field, of exactly the
 * dims' product.  Returns the count, or -1 with a message in err; with
 * out NULL (floats) only checks, so a caller can allocate for the count a
 * file's data backs rather than the count its dims claim. */
long comp_pb_tensor_floats(const Onnx__TensorProto *t, float *out, long max, char *err, size_t errlen);
long comp_pb_tensor_int64s(const Onnx__TensorProto *t, int64_t *out, long max, char *err, size_t errlen);
/* The element count of t's dims, or -1 when a dim is negative or the
 * product exceeds limit. */
long comp_pb_tensor_count(const Onnx__TensorProto *t, long limit);

#endif
