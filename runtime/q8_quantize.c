/* q8_quantize.c — post-training quantization: calibration of a float net
 * on sample data and the int8 checkpoint it gives (see q8_net.h). */
#include "q8_net.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errf.h"
#include "kernels.h"
#include "q8_math.h"
#include "q8_names.h"
#include "safetensors.h"

/* Widen [lo[b], hi[b]] of every int8 buffer of q that calibration reads
 * after float op `after` (-1: the input) with the float values of net's
 * current batch; pre picks the pre-activations or the others. */
static void record(const rt_net *net, const comp_q8_plan *q, int after, int pre, float *lo, float *hi)
{
    for (int b = 0; b < q->nbufs; b++) {
        const comp_q8_buf *qb = &q->bufs[b];
        if (qb->src != after || qb->pre != pre || qb->same_as >= 0)
            continue;
        const float *x = rt_net_buf(net, qb->fbuf);
        const size_t n = qb->size * (size_t)net->batch;
        for (size_t i = 0; i < n; i++) {
            lo[b] = x[i] < lo[b] ? x[i] : lo[b];
            hi[b] = x[i] > hi[b] ? x[i] : hi[b];
        }
    }
}

/* The float arguments of the activation fused into forward op o. */
static void fused_args(const comp_op *o, float *a, float *b)
{
    const int k = o->code == COMP_OP_BATCHNORM ? 2 : 0;
    *a = (float)o->p[k];
    *b = (float)o->p[k + 1];
}

/* The range of every int8 buffer over the first n samples of ds: the
 * float forward ops batch by batch; an op whose activation is a LUT op
 * of the int8 plan runs without it, so that its pre-activation is seen,
 * and the activation is applied after. */
static void calibrate(rt_net *net, const comp_q8_plan *q, const rt_dataset *ds, size_t n, float *lo, float *hi)
{
    const comp_plan *p = net->plan;
    for (size_t start = 0; start < n; start += (size_t)net->max_batch) {
        const int count = n - start < (size_t)net->max_batch ? (int)(n - start) : net->max_batch;
        rt_net_set_batch(net, count, 0);
        rt_data_gather_run(ds, start, (size_t)count, rt_net_buf(net, p->input), NULL, 0);
        record(net, q, -1, 0, lo, hi);
        for (int i = 0; i < q->tail; i++) {
            comp_op *o = &net->ops[i];
            const comp_act act = (comp_act)o->act;
            if (q->split[i])
                o->act = COMP_ACT_IDENTITY;
            rt_exec_op(net, i);
            o->act = (uint8_t)act;
            if (q->split[i]) {
                float a, b;
                float *y = rt_net_buf(net, o->buf[0]);
                record(net, q, i, 1, lo, hi);
                fused_args(o, &a, &b);
                rt_act_forward(act, a, b, y, y, p->bufs[o->buf[0]].size * (size_t)count);
            }
            record(net, q, i, 0, lo, hi);
        }
    }
}

/* The int8 checkpoint's tensors, and the storage their names and data
 * take. */
typedef struct {
    rt_tensor *t;
    int n;
    char (*names)[64];
    void **owned;
    int nowned;
} tensors;

static void *own(tensors *T, size_t bytes)
{
    void *p = T->owned ? calloc(1, bytes ? bytes : 1) : NULL;
    if (p)
        T->owned[T->nowned++] = p;
    return p;
}

static rt_tensor *add(tensors *T, const char *name, rt_st_dtype dtype, const void *data, int rank,
                      const int64_t *shape)
{
    rt_tensor *t = &T->t[T->n];
    snprintf(T->names[T->n], sizeof T->names[0], "%s", name);
    *t = (rt_tensor){.name = T->names[T->n], .rank = rank, .dtype = dtype};
    for (int d = 0; d < rank; d++)
        t->shape[d] = shape[d];
    if (dtype == RT_ST_F32)
        t->data = data;
    else
        t->ints = data;
    T->n++;
    return t;
}

/* Weight op op's float weight and bias with the BatchNorm folded into
 * it, if any (W' = W * gamma / sqrt(var + eps), b' = (b - mean) * gamma /
 * sqrt(var + eps) + beta, in double), into w and b. */
static void folded_weights(const rt_net *net, const comp_q8_op *op, int channels, float *w, float *b)
{
    const comp_plan *p = net->plan;
    const comp_op *src = &p->ops[op->src];
    const size_t size = p->bufs[src->buf[3]].size, per = size / (size_t)channels;
    const float *W = rt_net_buf(net, src->buf[3]), *B = src->buf[4] >= 0 ? rt_net_buf(net, src->buf[4]) : NULL;
    memcpy(w, W, size * sizeof *w);
    for (int c = 0; c < channels; c++)
        b[c] = B ? B[c] : 0.0f;
    if (op->bn < 0)
        return;
    const comp_op *bn = &p->ops[op->bn];
    const float *gamma = bn->buf[2] >= 0 ? rt_net_buf(net, bn->buf[2]) : NULL;
    const float *beta = bn->buf[3] >= 0 ? rt_net_buf(net, bn->buf[3]) : NULL;
    const float *mean = rt_net_buf(net, bn->buf[4]), *var = rt_net_buf(net, bn->buf[5]);
    for (int c = 0; c < channels; c++) {
        const double k = (gamma ? (double)gamma[c] : 1.0) / sqrt((double)var[c] + bn->p[0]);
        for (size_t i = 0; i < per; i++)
            w[(size_t)c * per + i] = (float)((double)w[(size_t)c * per + i] * k);
        b[c] = (float)(((double)b[c] - (double)mean[c]) * k + (beta ? (double)beta[c] : 0.0));
    }
}

/* Weight op op's three tensors: int8 weight, weight scales, int32 bias. */
static int add_weight_op(tensors *T, const rt_net *net, const comp_q8_op *op, const float *scale)
{
    const comp_plan *p = net->plan;
    const comp_buf *wb = &p->bufs[p->ops[op->src].buf[3]];
    const int channels = rt_q8_weight_channels(p, op);
    float *w = own(T, wb->size * sizeof *w), *b = own(T, (size_t)channels * sizeof *b);
    float *sw = own(T, (size_t)channels * sizeof *sw);
    int8_t *qw = own(T, wb->size);
    int32_t *qb = own(T, (size_t)channels * sizeof *qb);
    if (!w || !b || !sw || !qw || !qb)
        return -1;
    folded_weights(net, op, channels, w, b);
    rt_q8_quantize_weights(w, channels, wb->size / (size_t)channels, qw, sw);
    for (int c = 0; c < channels; c++)
        qb[c] = rt_q8_quantize_bias(b[c], scale[op->in], sw[c]);
    int64_t shape[COMP_MAX_RANK], ch = channels;
    for (int d = 0; d < wb->rank; d++)
        shape[d] = wb->dims[d];
    char name[64];
    add(T, wb->name, RT_ST_I8, qw, wb->rank, shape);
    rt_q8_tensor_name(p, op, "weight_scale", name, sizeof name);
    add(T, name, RT_ST_F32, sw, 1, &ch);
    rt_q8_tensor_name(p, op, "bias", name, sizeof name);
    add(T, name, RT_ST_I32, qb, 1, &ch);
    return 0;
}

int rt_q8_quantize_net(rt_net *net, const comp_q8_plan *q, const rt_dataset *ds, size_t nsamples, const char *path,
                       size_t *bytes, char *err, size_t errlen)
{
    const comp_plan *p = net->plan;
    const size_t n = nsamples < ds->n ? nsamples : ds->n;
    if (n == 0)
        return rt_errf(err, errlen, "no calibration samples");
    const int cap = 2 * q->nbufs + 3 * q->nops;
    tensors T = {calloc((size_t)cap + 1, sizeof *T.t), 0, calloc((size_t)cap + 1, sizeof *T.names),
                 calloc(5 * (size_t)q->nops + 2 * (size_t)q->nbufs + 4, sizeof *T.owned), 0};
    float *lo = own(&T, (size_t)q->nbufs * sizeof *lo), *hi = own(&T, (size_t)q->nbufs * sizeof *hi);
    float *scale = own(&T, (size_t)q->nbufs * sizeof *scale);
    int32_t *zp = own(&T, (size_t)q->nbufs * sizeof *zp);
    int rc = -1;
    if (!T.t || !T.names || !T.owned || !lo || !hi || !scale || !zp) {
        rt_errf(err, errlen, "out of memory");
        goto done;
    }
    for (int b = 0; b < q->nbufs; b++) {
        lo[b] = INFINITY;
        hi[b] = -INFINITY;
    }
    calibrate(net, q, ds, n, lo, hi);
    for (int b = 0; b < q->nbufs; b++) {
        const int same = q->bufs[b].same_as;
        if (same >= 0) {
            scale[b] = scale[same];
            zp[b] = zp[same];
        } else if (!(lo[b] <= hi[b]) || !isfinite(lo[b]) || !isfinite(hi[b])) {
            rt_errf(err, errlen, "calibration saw %s values in '%s'", lo[b] <= hi[b] ? "infinite" : "NaN",
                    q->bufs[b].name);
            goto done;
        } else {
            rt_q8_choose_params(lo[b], hi[b], &scale[b], &zp[b]);
        }
        char name[64];
        snprintf(name, sizeof name, "%s.scale", q->bufs[b].name);
        add(&T, name, RT_ST_F32, &scale[b], 0, NULL);
        snprintf(name, sizeof name, "%s.zero_point", q->bufs[b].name);
        add(&T, name, RT_ST_I32, &zp[b], 0, NULL);
    }
    for (int i = 0; i < q->nops; i++)
        if ((q->ops[i].code == COMP_Q8_LINEAR || q->ops[i].code == COMP_Q8_CONV) &&
            add_weight_op(&T, net, &q->ops[i], scale) != 0) {
            rt_errf(err, errlen, "out of memory");
            goto done;
        }
    char hash[32], samples[32];
    snprintf(hash, sizeof hash, "%016" PRIx64, p->info.hash);
    snprintf(samples, sizeof samples, "%zu", n);
    const char *keys[] = {"format", "netc.model", "netc.spec_hash", RT_Q8_META_KEY, "netc.calibration_samples"};
    const char *vals[] = {"pt", p->info.name, hash, RT_Q8_META_VALUE, samples};
    *bytes = 0;
    for (int i = 0; i < T.n; i++)
        *bytes += (size_t)rt_st_tensor_bytes(&T.t[i]);
    rc = rt_st_save(path, T.t, T.n, keys, vals, 5, err, errlen);
done:
    for (int i = 0; i < T.nowned; i++)
        free(T.owned[i]);
    free(T.owned);
    free(T.t);
    free(T.names);
    return rc;
}
