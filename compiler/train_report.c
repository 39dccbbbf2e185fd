/* train_report.c — see train_report.h. */
#include "train_report.h"

#include <math.h>
#include <signal.h>
#include <string.h>

#include "catalog.h"

const char *comp_value_text(double v, char *buf, size_t size)
{
    if (isnan(v))
        return "nan";
    if (isinf(v))
        return v > 0 ? "inf" : "-inf";
    snprintf(buf, size, "%g", v);
    return buf;
}

void comp_param_text(const comp_plan *p, const rt_anomaly *a, char *buf, size_t size)
{
    char v[32];
    snprintf(buf, size, "parameter '%s' is %s (element %zu)", p->bufs[a->buf].name,
             comp_value_text(a->value, v, sizeof v), a->elem);
}

/* The kind of chain layer i, as the spec spells it. */
static const char *layer_name(const comp_plan *p, int i)
{
    const int kind = i >= 0 && i < p->info.nlayers ? p->info.layers[i].kind : -1;
    return kind >= 0 && kind < COMP_LAYER_COUNT ? comp_layers[kind].name : "?";
}

/* What op i is, for a message: "op 'linear' of layer 0 (Linear), forward". */
static void op_text(const comp_plan *p, int i, char *buf, size_t size)
{
    static const char *const phases[] = {"forward", "loss", "backward", "gradient clipping", "optimizer update"};
    const comp_op *op = &p->ops[i];
    const comp_phase ph = comp_op_phases[op->code];
    if (op->layer >= 0 && ph != COMP_PHASE_LOSS)
        snprintf(buf, size, "op '%s' of layer %d (%s), %s", comp_op_names[op->code], op->layer,
                 layer_name(p, op->layer), phases[ph]);
    else
        snprintf(buf, size, "op '%s', %s", comp_op_names[op->code], phases[ph]);
}

/* Where buffer b's element e is: "row 3, element 17 of 'h1'" for a batch
 * buffer (a row is a sample of the batch), else "element 17 of 'x'". */
static void elem_text(const comp_plan *p, int b, size_t e, char *buf, size_t size)
{
    const comp_buf *cb = &p->bufs[b];
    if (cb->arena == COMP_ARENA_BATCH && cb->size > 0)
        snprintf(buf, size, "row %zu, element %zu of '%s'", e / cb->size, e % cb->size, cb->name);
    else
        snprintf(buf, size, "element %zu of '%s'", e, cb->name);
}

/* The spec position of op i, or of the first op of the layer a parameter
 * belongs to. */
static gram_loc op_loc(const comp_op *op)
{
    return (gram_loc){op->line, op->col, op->line, op->col};
}

static gram_loc layer_loc(const comp_plan *p, int layer)
{
    for (int i = 0; i < p->nops; i++)
        if (p->ops[i].layer == layer)
            return op_loc(&p->ops[i]);
    return (gram_loc){0, 0, 0, 0};
}

void comp_report_nonfinite(const comp_plan *p, const rt_train_stop *s, const char *save)
{
    gram_source *src = p->model->spec->src;
    const rt_anomaly *a = &s->anomaly;
    char when[96], loss[160], v[32], what[160], where[160];
    if (s->batch > 0)
        snprintf(when, sizeof when, "epoch %ld, batch %zu of %zu", s->epoch, s->batch, s->batches);
    else
        snprintf(when, sizeof when, "epoch %ld", s->epoch);
    loss[0] = 0;
    if (!isfinite(s->loss))
        snprintf(loss, sizeof loss, "the %s is %s; ", s->batch > 0 ? "loss" : "cost", comp_value_text(s->loss, v, sizeof v));
    if (!s->located) {
        fprintf(stderr, "netc train: error: %s: %s%s\n", when, loss,
                s->batch > 0 ? "no op wrote a non-finite value when the batch ran again"
                             : "under several processes the op is not located (one process with "
                               "--detect-anomaly finds it)");
    } else if (a->param >= 0) {
        const int layer = p->bufs[a->buf].layer;
        gram_error(src, layer_loc(p, layer),
                   "%s: %sparameter '%s' of layer %d (%s) was already %s (element %zu) when the batch began "
                   "(--detect-anomaly finds the op that first writes a non-finite value)",
                   when, loss, p->bufs[a->buf].name, layer, layer_name(p, layer),
                   comp_value_text(a->value, v, sizeof v), a->elem);
    } else {
        op_text(p, a->op, what, sizeof what);
        elem_text(p, a->buf, a->elem, where, sizeof where);
        gram_error(src, op_loc(&p->ops[a->op]), "%s: %sthe first non-finite value, %s at %s, was written by %s",
                   when, loss, comp_value_text(a->value, v, sizeof v), where, what);
    }
    if (save)
        fprintf(stderr, "netc train: nothing saved: '%s' is left as it was\n", save);
}

int comp_report_interrupt(const rt_train_stop *s, const char *saved)
{
    const char *sig = s->signo == SIGINT ? "SIGINT" : s->signo == SIGTERM ? "SIGTERM" : "a signal";
    char at[96];
    if (s->batch > 0)
        snprintf(at, sizeof at, "in epoch %ld after batch %zu of %zu", s->epoch, s->batch, s->batches);
    else
        snprintf(at, sizeof at, "after epoch %ld", s->epoch);
    if (saved)
        fprintf(stderr, "netc train: stopped by %s %s; saved '%s' (--weights '%s' resumes there)\n", sig, at, saved,
                saved);
    else
        fprintf(stderr, "netc train: stopped by %s %s; nothing saved (no --save)\n", sig, at);
    return 128 + s->signo;
}
