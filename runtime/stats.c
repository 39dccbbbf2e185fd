/* stats.c — per-layer training statistics for `netc train --stats`. */
#include "stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"

/* Accumulators of one chain layer for the current epoch. */
typedef struct {
    int grad;              /* weight gradient buffer, or -1 */
    int out;               /* output buffer (plan->layer_out), or -1 */
    int track_dead;        /* ReLU family: keep the alive flags */
    size_t units;          /* output floats per sample */
    unsigned char *alive;  /* units flags: nonzero for some sample this epoch */
    double grad_sum;       /* sum over batches of the gradient's L2 norm */
    long batches;
    double abs_sum;        /* sum of |output| over samples and units */
    double samples;
    rt_layer_stats last;   /* the last closed epoch */
} layer_acc;

struct rt_stats {
    const comp_plan *plan;
    int n;
    layer_acc *layers;
    unsigned char *flags;  /* one block for every layer's alive flags */
};

#define PROBES 49

int rt_act_zero_for_negative(comp_act act, float a, float b)
{
    float x[PROBES], y[PROBES];
    for (int i = 0; i < PROBES; i++)
        x[i] = -ldexpf(1.0f, i - 24);
    rt_act_forward(act, a, b, x, y, PROBES);
    for (int i = 0; i < PROBES; i++)
        if (y[i] != 0.0f)
            return 0;
    return 1;
}

/* Whether chain layer l is an activation that is exactly 0 for x < 0,
 * with the arguments the spec gave it. */
static int relu_family(const comp_plan_layer *l)
{
    if ((int)l->kind >= COMP_ACT_COUNT)
        return 0;
    return rt_act_zero_for_negative((comp_act)l->kind, l->act_a, l->act_b);
}

/* The weight gradient of chain layer i: the GRAD buffer of rank 2 or more
 * (a Linear, Embedding or convolution weight) it owns. */
static int weight_grad(const comp_plan *p, int i)
{
    for (int b = 0; b < p->nbufs; b++)
        if (p->bufs[b].arena == COMP_ARENA_GRAD && p->bufs[b].rank >= 2 && p->bufs[b].layer == i)
            return b;
    return -1;
}

rt_stats *rt_stats_new(const comp_plan *p)
{
    const comp_plan_info *m = &p->info;
    rt_stats *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->plan = p;
    s->n = m->nlayers;
    s->layers = calloc((size_t)s->n, sizeof *s->layers);
    size_t nflags = 0;
    for (int i = 0; s->layers && i < s->n; i++) {
        layer_acc *L = &s->layers[i];
        L->grad = weight_grad(p, i);
        L->out = p->layer_out[i];
        L->units = L->out >= 0 ? p->bufs[L->out].size : 0;
        L->track_dead = L->out >= 0 && relu_family(&m->layers[i]);
        if (L->track_dead)
            nflags += L->units;
    }
    s->flags = calloc(nflags ? nflags : 1, 1);
    if (!s->layers || !s->flags) {
        rt_stats_free(s);
        return NULL;
    }
    for (int i = 0, off = 0; i < s->n; i++)
        if (s->layers[i].track_dead) {
            s->layers[i].alive = s->flags + off;
            off += (int)s->layers[i].units;
        }
    return s;
}

void rt_stats_free(rt_stats *s)
{
    if (!s)
        return;
    free(s->layers);
    free(s->flags);
    free(s);
}

void rt_stats_forward(rt_stats *s, const rt_net *net)
{
    for (int i = 0; i < s->n; i++) {
        layer_acc *L = &s->layers[i];
        if (L->out < 0)
            continue;
        const float *y = rt_net_buf(net, L->out);
        double sum = 0;
        for (int r = 0; r < net->batch; r++, y += L->units) {
            for (size_t j = 0; j < L->units; j++)
                sum += fabsf(y[j]);
            if (L->track_dead)
                for (size_t j = 0; j < L->units; j++)
                    L->alive[j] |= y[j] != 0.0f;
        }
        L->abs_sum += sum;
        L->samples += net->batch;
    }
}

void rt_stats_backward(rt_stats *s, const rt_net *net)
{
    for (int i = 0; i < s->n; i++) {
        layer_acc *L = &s->layers[i];
        if (L->grad < 0)
            continue;
        const float *g = rt_net_buf(net, L->grad);
        double sq = 0;
        for (size_t j = 0; j < net->plan->bufs[L->grad].size; j++)
            sq += (double)g[j] * g[j];
        L->grad_sum += sqrt(sq);
        L->batches++;
    }
}

void rt_stats_header(FILE *out)
{
    fputs("Layer statistics per epoch (--stats), one line per layer of the chain:\n"
          "  grad_norm  L2 norm of the layer's weight gradient, mean over the epoch's batches\n"
          "  mean|act|  mean |output| over every training sample and unit of the epoch\n"
          "  dead       fraction of units whose output was exactly 0 for every training sample\n"
          "             of the epoch (ReLU family: activations exactly 0 for all x < 0)\n"
          "  -          not defined: no weights, no output of its own (a Linear or convolution\n"
          "             fused with the activation after it), or not of the ReLU family\n",
          out);
}

/* A statistic in a fixed-width column, or "-" when undefined. */
static void column(FILE *out, int has, const char *fmt, double v, int width)
{
    if (has)
        fprintf(out, fmt, width, v);
    else
        fprintf(out, "%*s", width, "-");
}

void rt_stats_end_epoch(rt_stats *s, FILE *out)
{
    const comp_plan_info *m = &s->plan->info;
    if (out)
        fprintf(out, "  %-20s %10s %10s %7s\n", "layer", "grad_norm", "mean|act|", "dead");
    for (int i = 0; i < s->n; i++) {
        layer_acc *L = &s->layers[i];
        rt_layer_stats *r = &L->last;
        memset(r, 0, sizeof *r);
        r->has_grad = L->batches > 0;
        r->grad_norm = r->has_grad ? L->grad_sum / (double)L->batches : 0;
        r->has_act = L->samples > 0 && L->units > 0;
        r->mean_abs = r->has_act ? L->abs_sum / (L->samples * (double)L->units) : 0;
        r->has_dead = L->track_dead && L->samples > 0;
        if (r->has_dead) {
            size_t dead = 0;
            for (size_t j = 0; j < L->units; j++)
                dead += !L->alive[j];
            r->dead = (double)dead / (double)L->units;
            memset(L->alive, 0, L->units);
        }
        L->grad_sum = L->abs_sum = L->samples = 0;
        L->batches = 0;
        if (!out)
            continue;
        char name[32];
        snprintf(name, sizeof name, "%-3d%s", m->layers[i].index, comp_layers[m->layers[i].kind].name);
        fprintf(out, "  %-20s ", name);
        column(out, r->has_grad, "%*.3e", r->grad_norm, 10);
        fputc(' ', out);
        column(out, r->has_act, "%*.3e", r->mean_abs, 10);
        fputc(' ', out);
        column(out, r->has_dead, "%*.4f", r->dead, 7);
        fputc('\n', out);
    }
    if (out)
        fflush(out);
}

void rt_stats_get(const rt_stats *s, int i, rt_layer_stats *out)
{
    *out = s->layers[i].last;
}
