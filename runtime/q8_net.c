/* q8_net.c — an int8 checkpoint read into an int8 model, and its forward
 * pass in place of a net's float forward ops (see q8_net.h). */
#include "q8_net.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errf.h"
#include "kernels.h"
#include "q8_kernels.h"
#include "q8_math.h"
#include "q8_names.h"
#include "safetensors.h"

/* What an int8 op needs besides the plan: its weights (pointing into the
 * loaded file), fixed-point multipliers, clamp and table. */
typedef struct {
    const int8_t *w;
    const int32_t *bias;
    int32_t *mult;
    int *shift;
    int32_t lo, hi;
    int8_t lut[256];
} q8_layer;

struct rt_q8_model {
    const comp_plan *plan;
    comp_q8_plan *q;
    float *scale;        /* per int8 buffer */
    int32_t *zp;
    size_t *offset;      /* per int8 buffer: bytes per sample before it */
    size_t bytes;        /* per sample, all int8 buffers */
    q8_layer *layers;    /* per int8 op */
    rt_st_file *file;
};

int rt_q8_is_checkpoint(const char *path)
{
    char err[256];
    rt_st_file *f = rt_st_load(path, err, sizeof err);
    const char *v = rt_st_meta(f, RT_Q8_META_KEY);
    const int yes = v && strcmp(v, RT_Q8_META_VALUE) == 0;
    rt_st_free(f);
    return yes;
}

void rt_q8_model_free(rt_q8_model *m)
{
    if (!m)
        return;
    for (int i = 0; m->layers && i < m->q->nops; i++) {
        free(m->layers[i].mult);
        free(m->layers[i].shift);
    }
    free(m->layers);
    free(m->scale);
    free(m->zp);
    free(m->offset);
    rt_st_free(m->file);
    comp_q8_plan_free(m->q);
    free(m);
}

/* The tensor name of file f, checked for dtype and element count; NULL
 * with a message in err otherwise. */
static const rt_tensor *need(const rt_st_file *f, const char *name, rt_st_dtype dtype, int64_t count,
                             const char *path, char *err, size_t errlen)
{
    static const char *const dtypes[] = {"F32", "I8", "I32"};
    const rt_tensor *t = rt_st_find(f, name);
    if (!t) {
        rt_errf(err, errlen, "%s: no tensor '%s'; the int8 checkpoint does not fit", path, name);
        return NULL;
    }
    int64_t n = 1;
    for (int d = 0; d < t->rank; d++)
        n *= t->shape[d];
    if (t->dtype != dtype || n != count) {
        rt_errf(err, errlen, "%s: tensor '%s' should be %" PRId64 " %s values; the int8 checkpoint does not fit", path,
                name, count, dtypes[dtype]);
        return NULL;
    }
    return t;
}

/* The weights, multipliers and clamp of weight op i from the file. */
static int load_weight_op(rt_q8_model *m, int i, const char *path, char *err, size_t errlen)
{
    const comp_q8_op *op = &m->q->ops[i];
    q8_layer *L = &m->layers[i];
    const comp_op *src = &m->plan->ops[op->src];
    const comp_buf *wb = &m->plan->bufs[src->buf[3]];
    const int channels = rt_q8_weight_channels(m->plan, op);
    char name[64];
    const rt_tensor *t;
    if (!(t = need(m->file, wb->name, RT_ST_I8, (int64_t)wb->size, path, err, errlen)))
        return -1;
    L->w = t->ints;
    rt_q8_tensor_name(m->plan, op, "bias", name, sizeof name);
    if (!(t = need(m->file, name, RT_ST_I32, channels, path, err, errlen)))
        return -1;
    L->bias = t->ints;
    rt_q8_tensor_name(m->plan, op, "weight_scale", name, sizeof name);
    if (!(t = need(m->file, name, RT_ST_F32, channels, path, err, errlen)))
        return -1;
    L->mult = malloc(sizeof *L->mult * (size_t)channels);
    L->shift = malloc(sizeof *L->shift * (size_t)channels);
    if (!L->mult || !L->shift)
        return rt_errf(err, errlen, "%s: out of memory", path);
    /* TFLite's effective scale, in double: s_in * s_w[c] / s_out. */
    for (int c = 0; c < channels; c++)
        rt_q8_quantize_multiplier((double)m->scale[op->in] * (double)t->data[c] / (double)m->scale[op->out],
                                  &L->mult[c], &L->shift[c]);
    rt_q8_clamp_range((comp_act)op->act, op->a, op->b, m->scale[op->out], m->zp[op->out], &L->lo, &L->hi);
    return 0;
}

/* The scale and zero point of every int8 buffer, then each op's
 * parameters; every tensor of the file must have been asked for. */
static int load_params(rt_q8_model *m, const char *path, char *err, size_t errlen)
{
    const comp_q8_plan *q = m->q;
    int used = 0;
    for (int b = 0; b < q->nbufs; b++) {
        char name[64];
        const rt_tensor *t;
        snprintf(name, sizeof name, "%s.scale", q->bufs[b].name);
        if (!(t = need(m->file, name, RT_ST_F32, 1, path, err, errlen)))
            return -1;
        m->scale[b] = t->data[0];
        if (!(m->scale[b] > 0) || m->scale[b] > 1e30f)
            return rt_errf(err, errlen, "%s: tensor '%s' is not a positive scale", path, name);
        snprintf(name, sizeof name, "%s.zero_point", q->bufs[b].name);
        if (!(t = need(m->file, name, RT_ST_I32, 1, path, err, errlen)))
            return -1;
        m->zp[b] = ((const int32_t *)t->ints)[0];
        if (m->zp[b] < -128 || m->zp[b] > 127)
            return rt_errf(err, errlen, "%s: tensor '%s' is outside [-128, 127]", path, name);
        used += 2;
    }
    for (int i = 0; i < q->nops; i++) {
        const comp_q8_op *op = &q->ops[i];
        if (op->code == COMP_Q8_LINEAR || op->code == COMP_Q8_CONV) {
            if (load_weight_op(m, i, path, err, errlen) != 0)
                return -1;
            used += 3;
        } else if (op->code == COMP_Q8_LUT) {
            rt_q8_lut_build((comp_act)op->act, op->a, op->b, m->scale[op->in], m->zp[op->in], m->scale[op->out],
                            m->zp[op->out], m->layers[i].lut);
        }
    }
    if (used != rt_st_count(m->file))
        return rt_errf(err, errlen, "%s: holds %d tensors where model '%s' quantized has %d; the int8 checkpoint "
                       "does not fit", path, rt_st_count(m->file), m->plan->info.name, used);
    return 0;
}

rt_q8_model *rt_q8_model_load(const comp_plan *p, comp_q8_plan *q, const char *path, char *err, size_t errlen)
{
    rt_q8_model *m = calloc(1, sizeof *m);
    if (!m) {
        comp_q8_plan_free(q);
        rt_errf(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    m->plan = p;
    m->q = q;
    if (!(m->file = rt_st_load(path, err, errlen)))
        goto fail;
    const char *v = rt_st_meta(m->file, RT_Q8_META_KEY), *hash = rt_st_meta(m->file, "netc.spec_hash");
    char want[32];
    snprintf(want, sizeof want, "%016" PRIx64, p->info.hash);
    if (!v || strcmp(v, RT_Q8_META_VALUE) != 0) {
        rt_errf(err, errlen, "%s: not an int8 checkpoint (no %s = %s)", path, RT_Q8_META_KEY, RT_Q8_META_VALUE);
        goto fail;
    }
    if (!hash || strcmp(hash, want) != 0) {
        rt_errf(err, errlen, "%s: quantized from another spec than '%s' (spec hash %s, this one %s); quantize "
                "again", path, p->info.name, hash ? hash : "missing", want);
        goto fail;
    }
    m->scale = calloc((size_t)q->nbufs + 1, sizeof *m->scale);
    m->zp = calloc((size_t)q->nbufs + 1, sizeof *m->zp);
    m->offset = calloc((size_t)q->nbufs + 1, sizeof *m->offset);
    m->layers = calloc((size_t)q->nops + 1, sizeof *m->layers);
    if (!m->scale || !m->zp || !m->offset || !m->layers) {
        rt_errf(err, errlen, "%s: out of memory", path);
        goto fail;
    }
    for (int b = 0; b < q->nbufs; b++) {
        m->offset[b] = m->bytes;
        m->bytes += q->bufs[b].size;
    }
    if (load_params(m, path, err, errlen) != 0)
        goto fail;
    return m;
fail:
    rt_q8_model_free(m);
    return NULL;
}

int rt_q8_attach(rt_net *net, rt_q8_model *m, int owns)
{
    int8_t *a = malloc(m->bytes * (size_t)net->max_batch + 1);
    if (!a)
        return -1;
    free(net->q8_act);
    net->q8_act = a;
    net->q8 = m;
    net->owns_q8 = owns;
    return 0;
}

/* Int8 buffer b of net for the current batch. */
static int8_t *qbuf(const rt_net *net, int b)
{
    return net->q8_act + net->q8->offset[b] * (size_t)net->batch;
}

int rt_q8_forward(rt_net *net)
{
    const rt_q8_model *m = net->q8;
    const comp_q8_plan *q = m->q;
    const comp_plan *p = m->plan;
    const int batch = net->batch;
    for (int i = 0; i < q->nops; i++) {
        const comp_q8_op *op = &q->ops[i];
        const q8_layer *L = &m->layers[i];
        const comp_op *src = op->src >= 0 && op->src < p->nfwd ? &p->ops[op->src] : NULL;
        switch ((comp_q8_opcode)op->code) {
        case COMP_Q8_QUANTIZE:
            rt_q8_quantize_n(rt_net_buf(net, op->in), q->bufs[op->out].size * (size_t)batch, m->scale[op->out],
                             m->zp[op->out], qbuf(net, op->out));
            break;
        case COMP_Q8_LINEAR:
            rt_q8_linear(qbuf(net, op->in), batch * src->m, src->k, m->zp[op->in], L->w, L->bias, src->n, L->mult,
                         L->shift, m->zp[op->out], L->lo, L->hi, qbuf(net, op->out));
            break;
        case COMP_Q8_CONV:
            rt_q8_conv(&src->g, qbuf(net, op->in), batch, m->zp[op->in], L->w, L->bias, L->mult, L->shift,
                       m->zp[op->out], L->lo, L->hi, qbuf(net, op->out));
            break;
        case COMP_Q8_LUT:
            rt_q8_lut(L->lut, qbuf(net, op->in), qbuf(net, op->out), q->bufs[op->out].size * (size_t)batch);
            break;
        case COMP_Q8_MAXPOOL:
            rt_q8_maxpool(&src->g, qbuf(net, op->in), qbuf(net, op->out), batch);
            break;
        case COMP_Q8_AVGPOOL:
            rt_q8_avgpool(&src->g, qbuf(net, op->in), m->zp[op->in], qbuf(net, op->out), batch);
            break;
        case COMP_Q8_DEQUANTIZE:
            rt_q8_dequantize_n(qbuf(net, op->in), q->bufs[op->in].size * (size_t)batch, m->scale[op->in],
                               m->zp[op->in], rt_net_buf(net, op->out));
            break;
        case COMP_Q8_COUNT:
            break;
        }
    }
    return q->tail;
}
