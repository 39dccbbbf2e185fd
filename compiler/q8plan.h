/* q8plan.h — the int8 plan of a model: the forward ops of its float plan
 * lowered to the int8 ops of q8ops.def over int8 buffers, as TFLite's int8
 * scheme computes them (runtime/q8_math.h).
 *
 * The int8 plan is structure only: which float op each int8 op stands for,
 * what it reads and writes, which activations become clamps and which
 * lookup tables, where a BatchNorm folds.  The numbers (int8 weights,
 * scales, zero points) come from an int8 checkpoint (netc quantize), which
 * names its tensors after the float plan's parameters and the int8
 * buffers here. */
#ifndef NETC_COMPILER_Q8PLAN_H
#define NETC_COMPILER_Q8PLAN_H

#include "plan.h"

typedef enum {
#define Q8OP(id, name, roles) COMP_Q8_##id,
#include "q8ops.def"
#undef Q8OP
    COMP_Q8_COUNT
} comp_q8_opcode;

extern const char *const comp_q8_op_names[COMP_Q8_COUNT];

/* An int8 buffer: the int8 form of a float plan buffer (fbuf), or of a
 * fused op's pre-activation (pre: the float op writes no buffer for it;
 * its activation becomes a LUT op after it). */
typedef struct {
    char name[40];     /* the float buffer's name, "+pre" for a pre-activation */
    int fbuf;          /* the float plan buffer it stands for */
    int pre;           /* the pre-activation of float op src */
    int src;           /* the float op after which calibration reads it (-1: the input) */
    int same_as;       /* an int8 buffer whose scale and zero point it keeps (pooling,
                        * copy), or -1: its own, from calibration */
    size_t size;       /* elements per sample */
} comp_q8_buf;

typedef struct {
    uint8_t code;      /* comp_q8_opcode */
    uint8_t act;       /* LINEAR/CONV: the clamp's activation (IDENTITY, RELU, RELU6,
                        * HARDTANH); LUT: the activation tabulated */
    float a, b;        /* the activation's arguments */
    int src;           /* the float op it stands for (CONV: the convolution) */
    int bn;            /* CONV: the float BatchNorm op folded into it, or -1 */
    int in, out;       /* int8 buffers (QUANTIZE's in, DEQUANTIZE's out: float buffers) */
} comp_q8_op;

typedef struct {
    comp_q8_op *ops;
    int nops;
    comp_q8_buf *bufs;
    int nbufs;
    int input;         /* the int8 buffer of the float input */
    int tail;          /* the first float forward op run after the int8 ops (softmax at
                        * the output); nfwd when none */
    int *split;        /* per float forward op: 1 when its fused activation is a LUT
                        * op of its own here (calibration runs it apart) */
} comp_q8_plan;

/* Lower the forward ops of p to an int8 plan.  Linear and Conv (groups
 * and depthwise included) with ReLU, ReLU6, Hardtanh or nothing after them
 * fused as a clamp, any other activation as a LUT op; a BatchNorm right
 * after a convolution folded into it; max and average pooling (not
 * adaptive), inference dropout, views; softmax-family ops at the output
 * run in float after a DEQUANTIZE.  A layer that cannot be quantized is
 * reported through the spec's diagnostics (file:line:col, naming it) and
 * NULL is returned; NULL with no report: out of memory. */
comp_q8_plan *comp_q8_lower(const comp_plan *p);

/* Free an int8 plan (NULL allowed). */
void comp_q8_plan_free(comp_q8_plan *q);

#endif
