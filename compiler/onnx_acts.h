/* onnx_acts.h — the rows of onnx_acts.def, parsed for the exporter and
 * the importer (the activations as ONNX node patterns). */
#ifndef NETC_COMPILER_ONNX_ACTS_H
#define NETC_COMPILER_ONNX_ACTS_H

#include "catalog.h"

#define COMP_ONNX_PAT_NODES 10 /* most nodes of a pattern */
#define COMP_ONNX_PAT_ARGS 4   /* most inputs, and attributes, of a node */

/* One token of a pattern: the layer input x, node k's output, argument a
 * or b, or a number. */
typedef enum { COMP_PAT_X, COMP_PAT_NODE, COMP_PAT_A, COMP_PAT_B, COMP_PAT_NUM } comp_pat_kind;
typedef struct {
    comp_pat_kind kind;
    int node;            /* COMP_PAT_NODE */
    double num;          /* COMP_PAT_NUM */
} comp_pat_ref;

typedef struct {
    char op[24];
    int nin, nattr;
    comp_pat_ref in[COMP_ONNX_PAT_ARGS];
    char attr_name[COMP_ONNX_PAT_ARGS][12];
    comp_pat_ref attr[COMP_ONNX_PAT_ARGS];
} comp_pat_node;

/* A parsed row: the activation, its guard (has[i]: argument a / b fixed
 * to val[i]) and its nodes. */
typedef struct {
    comp_act act;
    int has[2];
    double val[2];
    int nnodes;
    comp_pat_node nodes[COMP_ONNX_PAT_NODES];
} comp_pat;

/* Every row of onnx_acts.def in order, parsed once (the table is constant
 * text; a malformed row is a bug caught by the tests). */
const comp_pat *comp_onnx_act_pats(int *n);

#endif
