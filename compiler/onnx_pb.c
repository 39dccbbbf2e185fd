/* onnx_pb.c — ONNX messages built and read with protobuf-c (onnx_pb.h). */
#include "onnx_pb.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/errf.h"

void *comp_pb_alloc(comp_pb_arena *a, size_t size)
{
    if (a->oom)
        return NULL;
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 256;
        void **b = realloc(a->blocks, cap * sizeof *b);
        if (!b) {
            a->oom = 1;
            return NULL;
        }
        a->blocks = b;
        a->cap = cap;
    }
    void *p = calloc(1, size ? size : 1);
    if (!p) {
        a->oom = 1;
        return NULL;
    }
    a->blocks[a->n++] = p;
    return p;
}

char *comp_pb_strf(comp_pb_arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = n < 0 ? NULL : comp_pb_alloc(a, (size_t)n + 1);
    if (!s)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

void comp_pb_arena_free(comp_pb_arena *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->blocks[i]);
    free(a->blocks);
    memset(a, 0, sizeof *a);
}

/* Grow an arena-owned pointer array by one slot. */
static int push(comp_pb_arena *a, void ***arr, size_t *n, size_t *cap, void *item)
{
    if (!item)
        return -1;
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 16;
        void **b = comp_pb_alloc(a, c * sizeof *b);
        if (!b)
            return -1;
        if (*n)
            memcpy(b, *arr, *n * sizeof *b);
        *arr = b;
        *cap = c;
    }
    (*arr)[(*n)++] = item;
    return 0;
}

Onnx__NodeProto *comp_pb_node(comp_pb_graph *g, const char *op_type, const char *const *in, int nin)
{
    Onnx__NodeProto *n = comp_pb_alloc(g->a, sizeof *n);
    if (!n)
        return NULL;
    onnx__node_proto__init(n);
    n->op_type = comp_pb_strf(g->a, "%s", op_type);
    n->name = comp_pb_strf(g->a, "%s%s_%zu", g->prefix, op_type, g->nnodes);
    n->n_input = (size_t)nin;
    n->input = comp_pb_alloc(g->a, (size_t)(nin ? nin : 1) * sizeof *n->input);
    n->n_output = 1;
    n->output = comp_pb_alloc(g->a, sizeof *n->output);
    if (!n->op_type || !n->name || !n->input || !n->output)
        return NULL;
    for (int i = 0; i < nin; i++)
        n->input[i] = comp_pb_strf(g->a, "%s", in[i] ? in[i] : "");
    n->output[0] = comp_pb_strf(g->a, "%s%s_%zu:0", g->prefix, op_type, g->nnodes);
    if (push(g->a, (void ***)&g->nodes, &g->nnodes, &g->capnodes, n) != 0)
        return NULL;
    return g->a->oom ? NULL : n;
}

static Onnx__AttributeProto *new_attr(comp_pb_graph *g, Onnx__NodeProto *n, const char *name,
                                      Onnx__AttributeProto__AttributeType type)
{
    if (!n)
        return NULL;
    Onnx__AttributeProto *at = comp_pb_alloc(g->a, sizeof *at);
    if (!at)
        return NULL;
    onnx__attribute_proto__init(at);
    at->name = comp_pb_strf(g->a, "%s", name);
    at->has_type = 1;
    at->type = type;
    size_t cap = n->n_attribute; /* the node's array is re-made each time: nodes have few attributes */
    Onnx__AttributeProto **arr = comp_pb_alloc(g->a, (cap + 1) * sizeof *arr);
    if (!arr)
        return NULL;
    if (cap)
        memcpy(arr, n->attribute, cap * sizeof *arr);
    arr[cap] = at;
    n->attribute = arr;
    n->n_attribute = cap + 1;
    return at;
}

void comp_pb_attr_int(comp_pb_graph *g, Onnx__NodeProto *n, const char *name, int64_t v)
{
    Onnx__AttributeProto *at = new_attr(g, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    if (at) {
        at->has_i = 1;
        at->i = v;
    }
}

void comp_pb_attr_float(comp_pb_graph *g, Onnx__NodeProto *n, const char *name, float v)
{
    Onnx__AttributeProto *at = new_attr(g, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    if (at) {
        at->has_f = 1;
        at->f = v;
    }
}

void comp_pb_attr_ints(comp_pb_graph *g, Onnx__NodeProto *n, const char *name, const int64_t *v, int count)
{
    Onnx__AttributeProto *at = new_attr(g, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    int64_t *copy = comp_pb_alloc(g->a, (size_t)count * sizeof *copy);
    if (at && copy) {
        memcpy(copy, v, (size_t)count * sizeof *copy);
        at->n_ints = (size_t)count;
        at->ints = copy;
    }
}

void comp_pb_attr_string(comp_pb_graph *g, Onnx__NodeProto *n, const char *name, const char *v)
{
    Onnx__AttributeProto *at = new_attr(g, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
    char *copy = comp_pb_strf(g->a, "%s", v);
    if (at && copy) {
        at->has_s = 1;
        at->s.data = (uint8_t *)copy;
        at->s.len = strlen(copy);
    }
}

static Onnx__TensorProto *new_init(comp_pb_graph *g, const char *name, const int64_t *dims, int rank, int type,
                                   size_t bytes)
{
    Onnx__TensorProto *t = comp_pb_alloc(g->a, sizeof *t);
    if (!t)
        return NULL;
    onnx__tensor_proto__init(t);
    t->name = comp_pb_strf(g->a, "%s", name);
    t->has_data_type = 1;
    t->data_type = type;
    t->n_dims = (size_t)rank;
    t->dims = comp_pb_alloc(g->a, (size_t)(rank ? rank : 1) * sizeof *t->dims);
    t->has_raw_data = 1;
    t->raw_data.len = bytes;
    t->raw_data.data = comp_pb_alloc(g->a, bytes);
    if (!t->dims || !t->raw_data.data || !t->name)
        return NULL;
    if (rank)
        memcpy(t->dims, dims, (size_t)rank * sizeof *dims);
    if (push(g->a, (void ***)&g->inits, &g->ninits, &g->capinits, t) != 0)
        return NULL;
    return t;
}

/* raw_data is little-endian whatever the host. */
static void put_le(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

const char *comp_pb_init_float(comp_pb_graph *g, const char *name, const int64_t *dims, int rank,
                               const float *data)
{
    size_t count = 1;
    for (int d = 0; d < rank; d++)
        count *= (size_t)dims[d];
    Onnx__TensorProto *t = new_init(g, name, dims, rank, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, count * 4);
    if (!t)
        return NULL;
    for (size_t i = 0; i < count; i++) {
        uint32_t u;
        memcpy(&u, &data[i], 4);
        put_le(t->raw_data.data + 4 * i, u, 4);
    }
    return t->name;
}

const char *comp_pb_init_int64(comp_pb_graph *g, const char *name, const int64_t *v, int count)
{
    int64_t dim = count;
    Onnx__TensorProto *t = new_init(g, name, &dim, 1, ONNX__TENSOR_PROTO__DATA_TYPE__INT64, (size_t)count * 8);
    if (!t)
        return NULL;
    for (int i = 0; i < count; i++)
        put_le(t->raw_data.data + 8 * i, (uint64_t)v[i], 8);
    return t->name;
}

const char *comp_pb_const(comp_pb_graph *g, float v)
{
    char *name = comp_pb_strf(g->a, "%sconst_%d", g->prefix, g->nconst++);
    return name ? comp_pb_init_float(g, name, NULL, 0, &v) : NULL;
}

const Onnx__AttributeProto *comp_pb_attr(const Onnx__NodeProto *n, const char *name)
{
    for (size_t i = 0; i < n->n_attribute; i++)
        if (n->attribute[i]->name && strcmp(n->attribute[i]->name, name) == 0)
            return n->attribute[i];
    return NULL;
}

long comp_pb_tensor_count(const Onnx__TensorProto *t, long limit)
{
    long count = 1;
    for (size_t d = 0; d < t->n_dims; d++) {
        if (t->dims[d] < 0 || (t->dims[d] > 0 && count > limit / t->dims[d]))
            return -1;
        count *= (long)t->dims[d];
    }
    return count;
}

/* Check t's type and count and find its data: raw bytes (elem bytes each)
 * or n_typed elements of its typed field. */
static long tensor_data(const Onnx__TensorProto *t, int type, const char *type_name, long max, size_t n_typed,
                        int elem, char *err, size_t errlen)
{
    const char *name = t->name ? t->name : "?";
    if (!t->has_data_type || t->data_type != type)
        return rt_errf(err, errlen, "tensor '%s' is not %s (data type %d)", name, type_name, (int)t->data_type);
    if (t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
        return rt_errf(err, errlen, "tensor '%s' keeps its data in an external file, which netc does not read",
                       name);
    long count = comp_pb_tensor_count(t, max);
    if (count < 0)
        return rt_errf(err, errlen, "tensor '%s' has a negative dim or more than %ld elements", name, max);
    size_t have = t->has_raw_data ? t->raw_data.len / (size_t)elem : n_typed;
    if ((t->has_raw_data && t->raw_data.len % (size_t)elem) || have != (size_t)count)
        return rt_errf(err, errlen, "tensor '%s' holds %zu elements where its dims say %ld", name, have, count);
    return count;
}

static uint64_t get_le(const uint8_t *p, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

long comp_pb_tensor_floats(const Onnx__TensorProto *t, float *out, long max, char *err, size_t errlen)
{
    long n = tensor_data(t, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, "float32", max, t->n_float_data, 4, err, errlen);
    for (long i = 0; out && i < n; i++) {
        if (t->has_raw_data) {
            uint32_t u = (uint32_t)get_le(t->raw_data.data + 4 * i, 4);
            memcpy(&out[i], &u, 4);
        } else {
            out[i] = t->float_data[i];
        }
    }
    return n;
}

long comp_pb_tensor_int64s(const Onnx__TensorProto *t, int64_t *out, long max, char *err, size_t errlen)
{
    long n = tensor_data(t, ONNX__TENSOR_PROTO__DATA_TYPE__INT64, "int64", max, t->n_int64_data, 8, err, errlen);
    for (long i = 0; i < n; i++)
        out[i] = t->has_raw_data ? (int64_t)get_le(t->raw_data.data + 8 * i, 8) : t->int64_data[i];
    return n;
}
