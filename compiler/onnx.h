/* onnx.h — a model as an ONNX graph (opset 17, float32), both ways.
 *
 * The functions exist when netc is built with protobuf-c (Makefile:
 * ONNX_FOUND); compiler/onnx_cmd.c hands them to the command line, which
 * says how to get them when they are absent.  They are linked into the
 * netc executable alone, as MPI is, so that the library that programs of
 * `netc build` link needs no protobuf-c. */
#ifndef NETC_COMPILER_ONNX_H
#define NETC_COMPILER_ONNX_H

#include <stddef.h>

#include "../runtime/net.h"

/* Write plan p's model with net's parameters and model state to path as
 * an ONNX model: one graph input "input" (N, per-sample shape) and one
 * output "output", every layer as standard ops (docs/onnx.md has the
 * table), the spec's name, hash and its training statements (which the
 * graph cannot hold) in metadata_props.  Returns 0, or -1 with a message
 * in err (a layer ONNX cannot express is named with its spec position). */
int comp_onnx_export(const comp_plan *p, const rt_net *net, const char *path, char *err, size_t errlen);

/* Read the ONNX model at path and, when it is a chain netc can express,
 * write DIR/NAME.net and DIR/NAME.safetensors (NAME: the model's netc name
 * from the metadata, else the file's name made an identifier), their
 * paths in spec_path and weights_path (pathlen bytes each).  Returns 0, or
 * -1 with a message in err naming the node, its op type and the ops netc
 * reads; nothing is written then. */
int comp_onnx_import(const char *path, const char *dir, char *spec_path, char *weights_path, size_t pathlen,
                     char *err, size_t errlen);

/* What the command line calls: NULL members when netc was built without
 * protobuf-c. */
typedef struct comp_onnx_io {
    int (*export_model)(const comp_plan *p, const rt_net *net, const char *path, char *err, size_t errlen);
    int (*import_model)(const char *path, const char *dir, char *spec_path, char *weights_path, size_t pathlen,
                        char *err, size_t errlen);
} comp_onnx_io;

extern const comp_onnx_io comp_onnx;

#endif
