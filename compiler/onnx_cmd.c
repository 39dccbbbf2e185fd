/* onnx_cmd.c — the ONNX functions netc's command line calls: the real
 * ones when netc is built with protobuf-c (NETC_ONNX), none otherwise.
 * Linked into the netc executable alone (Makefile). */
#include "onnx.h"

#ifdef NETC_ONNX
const comp_onnx_io comp_onnx = {comp_onnx_export, comp_onnx_import};
#else
const comp_onnx_io comp_onnx = {NULL, NULL};
#endif
