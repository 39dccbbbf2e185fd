/* q8_lower.c — the int8 plan of a float plan (q8plan.h): its forward ops
 * mapped one by one to q8ops.def's, a BatchNorm after a convolution
 * folded into it, clampable activations fused, others tabulated. */
#include "q8plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "diag.h"

const char *const comp_q8_op_names[COMP_Q8_COUNT] = {
#define Q8OP(id, name, roles) name,
#include "q8ops.def"
#undef Q8OP
};

/* The activations TFLite fuses into the op before them as a clamp of its
 * int8 output. */
static int is_clamp(comp_act act)
{
    return act == COMP_ACT_IDENTITY || act == COMP_ACT_RELU || act == COMP_ACT_RELU6 || act == COMP_ACT_HARDTANH;
}

static int is_softmax(int code)
{
    return code == COMP_OP_SOFTMAX || code == COMP_OP_LOG_SOFTMAX || code == COMP_OP_SOFTMIN;
}

typedef struct {
    const comp_plan *p;
    comp_q8_plan *q;
    int *cur;      /* per float buffer: its int8 buffer so far, -1 */
    int oom;
} lowerer;

/* A new int8 buffer for float buffer fbuf, read by calibration after
 * float op src; -1 when out of memory. */
static int new_buf(lowerer *L, int fbuf, int pre, int src, int same_as)
{
    comp_q8_plan *q = L->q;
    comp_q8_buf *nb = realloc(q->bufs, ((size_t)q->nbufs + 1) * sizeof *nb);
    if (!nb) {
        L->oom = 1;
        return -1;
    }
    q->bufs = nb;
    comp_q8_buf *b = &q->bufs[q->nbufs];
    snprintf(b->name, sizeof b->name, "%s%s", L->p->bufs[fbuf].name, pre ? "+pre" : "");
    b->fbuf = fbuf;
    b->pre = pre;
    b->src = src;
    b->same_as = same_as;
    b->size = L->p->bufs[fbuf].size;
    if (!pre)
        L->cur[fbuf] = q->nbufs;
    return q->nbufs++;
}

static comp_q8_op *new_op(lowerer *L, comp_q8_opcode code, int src, int in, int out)
{
    comp_q8_plan *q = L->q;
    comp_q8_op *no = realloc(q->ops, ((size_t)q->nops + 1) * sizeof *no);
    if (!no) {
        L->oom = 1;
        return NULL;
    }
    q->ops = no;
    comp_q8_op *op = &q->ops[q->nops++];
    *op = (comp_q8_op){.code = (uint8_t)code, .act = COMP_ACT_IDENTITY, .src = src, .bn = -1, .in = in, .out = out};
    return op;
}

/* A weight op (LINEAR, CONV) from float op src reading int8 buffer x and
 * writing float buffer y, with activation act (arguments a, b) after it:
 * a clamp when TFLite fuses it, else a LUT op of its own (from the
 * pre-activation, an int8 buffer only), marked split on float op at. */
static void weight_op(lowerer *L, comp_q8_opcode code, int src, int bn, int x, int y, comp_act act, float a, float b,
                      int at)
{
    const int clamp = is_clamp(act);
    const int pre = clamp ? -1 : new_buf(L, y, 1, at, -1);
    const int out = clamp ? new_buf(L, y, 0, at, -1) : pre;
    comp_q8_op *op = new_op(L, code, src, x, out);
    if (L->oom)
        return;
    op->bn = bn;
    if (clamp) {
        op->act = (uint8_t)act;
        op->a = a;
        op->b = b;
        return;
    }
    L->q->split[at] = 1;
    const int post = new_buf(L, y, 0, at, -1);
    comp_q8_op *lut = new_op(L, COMP_Q8_LUT, at, pre, post);
    if (lut) {
        lut->act = (uint8_t)act;
        lut->a = a;
        lut->b = b;
    }
}

/* The layer of float op i cannot be quantized: say so at its place in the
 * spec. */
static void refuse(const comp_plan *p, int i, const char *why)
{
    const comp_model *m = p->model;
    const comp_layer *l = &m->layers[p->ops[i].layer];
    gram_error(m->spec->src, l->loc, "%s (layer %d) cannot be quantized to int8: %s", comp_layers[l->kind].name,
               l->index, why);
}

#define Q8_LAYERS "netc quantizes Linear, Conv1d/Conv2d, a BatchNorm right after a convolution, " \
                  "MaxPool/AvgPool, Dropout, Flatten, the elementwise activations and a softmax at the output"

/* Lower float op i (the next one too when it folds); returns the ops
 * consumed, 0 after a refusal. */
static int lower_op(lowerer *L, int i)
{
    const comp_plan *p = L->p;
    const comp_op *op = &p->ops[i];
    switch (op->code) {
    case COMP_OP_LINEAR:
        weight_op(L, COMP_Q8_LINEAR, i, -1, L->cur[op->buf[2]], op->buf[0], (comp_act)op->act, (float)op->p[0],
                  (float)op->p[1], i);
        return 1;
    case COMP_OP_CONV: {
        if (op->g.mode != COMP_PAD_ZEROS) {
            refuse(p, i, "only zero padding (padding_mode='zeros') is quantized");
            return 0;
        }
        const comp_op *next = i + 1 < p->nfwd ? &p->ops[i + 1] : NULL;
        if (next && next->code == COMP_OP_BATCHNORM && next->buf[1] == op->buf[0] && op->act == COMP_ACT_IDENTITY) {
            weight_op(L, COMP_Q8_CONV, i, i + 1, L->cur[op->buf[2]], next->buf[0], (comp_act)next->act,
                      (float)next->p[2], (float)next->p[3], i + 1);
            return 2;
        }
        weight_op(L, COMP_Q8_CONV, i, -1, L->cur[op->buf[2]], op->buf[0], (comp_act)op->act, (float)op->p[0],
                  (float)op->p[1], i);
        return 1;
    }
    case COMP_OP_ACT: {
        const int x = L->cur[op->buf[1]];
        comp_q8_op *lut = new_op(L, COMP_Q8_LUT, i, x, -1);
        if (lut) {
            lut->act = op->act;
            lut->a = (float)op->p[0];
            lut->b = (float)op->p[1];
            lut->out = new_buf(L, op->buf[0], 0, i, -1);
        }
        return 1;
    }
    case COMP_OP_MAXPOOL:
    case COMP_OP_AVGPOOL: {
        const int x = L->cur[op->buf[2 - (op->code == COMP_OP_AVGPOOL)]];
        new_op(L, op->code == COMP_OP_MAXPOOL ? COMP_Q8_MAXPOOL : COMP_Q8_AVGPOOL, i, x,
               new_buf(L, op->buf[0], 0, i, x));
        return 1;
    }
    case COMP_OP_DROPOUT:
    case COMP_OP_DROPOUT_CH:
    case COMP_OP_ALPHA_DROPOUT:
        /* The identity at inference: the output is the input's int8 buffer. */
        L->cur[op->buf[0]] = L->cur[op->buf[2]];
        return 1;
    case COMP_OP_BATCHNORM:
        refuse(p, i, "a BatchNorm is folded into the convolution right before it, and this one follows none");
        return 0;
    default:
        refuse(p, i, Q8_LAYERS);
        return 0;
    }
}

comp_q8_plan *comp_q8_lower(const comp_plan *p)
{
    comp_q8_plan *q = calloc(1, sizeof *q);
    lowerer L = {p, q, malloc(((size_t)p->nbufs + 1) * sizeof *L.cur), 0};
    if (!q || !L.cur || !(q->split = calloc((size_t)p->nfwd + 1, sizeof *q->split))) {
        free(L.cur);
        comp_q8_plan_free(q);
        return NULL;
    }
    for (int b = 0; b < p->nbufs; b++)
        L.cur[b] = -1;
    q->input = new_buf(&L, p->input, 0, -1, -1);
    new_op(&L, COMP_Q8_QUANTIZE, -1, p->input, q->input);
    q->tail = p->nfwd;
    int ok = 1;
    for (int i = 0; i < p->nfwd && ok && !L.oom;) {
        if (is_softmax(p->ops[i].code)) {
            /* Softmax at the output runs in float on the dequantized input. */
            int j = i;
            while (j < p->nfwd && is_softmax(p->ops[j].code))
                j++;
            if (j < p->nfwd) {
                refuse(p, i, "a softmax is quantized only at the output");
                ok = 0;
                break;
            }
            q->tail = i;
            new_op(&L, COMP_Q8_DEQUANTIZE, i, L.cur[p->ops[i].buf[1]], p->ops[i].buf[1]);
            break;
        }
        const int used = lower_op(&L, i);
        ok = used > 0;
        i += used;
    }
    if (ok && !L.oom && q->tail == p->nfwd)
        new_op(&L, COMP_Q8_DEQUANTIZE, p->nfwd, L.cur[p->output], p->output);
    free(L.cur);
    if (!ok || L.oom) {
        comp_q8_plan_free(q);
        return NULL;
    }
    return q;
}

void comp_q8_plan_free(comp_q8_plan *q)
{
    if (!q)
        return;
    free(q->ops);
    free(q->bufs);
    free(q->split);
    free(q);
}
