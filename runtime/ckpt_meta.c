/* ckpt_meta.c — a checkpoint's metadata: the training-state scalars as
 * strings that read back exactly, every value range-checked on the way
 * in (a checkpoint is input like any other), and the model signature. */
#include "ckpt_meta.h"

#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errf.h"

/* What a scalar is, and so how it is written and which values it takes. */
typedef enum {
    K_COUNT, /* a non-negative integer, at most max */
    K_RNG,   /* a generator state: any 64 bits, as 16 hex digits */
    K_LR,    /* a learning rate: finite, in [0, FLT_MAX] (above, every update overflows float32) */
    K_BASE_LR, /* as K_LR, but > 0: the spec's lr, which is */
    K_REAL,  /* any double but NaN (ReduceLROnPlateau's best starts at +-inf) */
    K_FINITE /* a finite double */
} kind;

/* The largest step count a double (the optimizers' bias corrections) counts exactly: 2^53. */
#define MAX_STEPS 9007199254740992.0

static const struct {
    const char *key;
    kind k;
    size_t off;
    double max; /* K_COUNT */
    int optional; /* absent (an older checkpoint): 0 */
} fields[RT_CKPT_NSCALARS] = {
    {"netc.step", K_COUNT, offsetof(rt_ckpt_scalars, step), MAX_STEPS, 0},
    {"netc.epoch", K_COUNT, offsetof(rt_ckpt_scalars, epoch), INT_MAX, 0},
    {"netc.shuffle_rng", K_RNG, offsetof(rt_ckpt_scalars, shuffle_rng), 0, 0},
    {"netc.dropout_rng", K_RNG, offsetof(rt_ckpt_scalars, dropout_rng), 0, 0},
    {"netc.sched.base_lr", K_BASE_LR, offsetof(rt_ckpt_scalars, base_lr), 0, 0},
    {"netc.sched.lr", K_LR, offsetof(rt_ckpt_scalars, lr), 0, 0},
    /* never -1: a scheduler has taken its initial step before any save */
    {"netc.sched.last_epoch", K_COUNT, offsetof(rt_ckpt_scalars, last_epoch), INT_MAX, 0},
    {"netc.sched.best", K_REAL, offsetof(rt_ckpt_scalars, best), 0, 0},
    {"netc.sched.num_bad_epochs", K_COUNT, offsetof(rt_ckpt_scalars, bad_epochs), INT_MAX, 0},
    {"netc.sched.cooldown_counter", K_COUNT, offsetof(rt_ckpt_scalars, cooldown), INT_MAX, 0},
    {"netc.epoch_samples", K_COUNT, offsetof(rt_ckpt_scalars, epoch_samples), INT_MAX, 1},
    {"netc.epoch_loss", K_FINITE, offsetof(rt_ckpt_scalars, epoch_loss), 0, 1},
};

void rt_ckpt_scalars_of(const rt_net *net, rt_ckpt_scalars *s)
{
    const rt_sched *c = &net->sched;
    *s = (rt_ckpt_scalars){net->step,      net->epoch,      c->last_epoch,      c->num_bad_epochs,
                           c->cooldown_counter, net->shuffle_rng, net->dropout_rng, c->base_lr,
                           c->lr,          c->best,         net->epoch_samples, net->epoch_loss};
}

void rt_ckpt_scalars_apply(rt_net *net, const rt_ckpt_scalars *s)
{
    rt_sched *c = &net->sched;
    net->step = s->step;
    net->epoch = s->epoch;
    net->shuffle_rng = s->shuffle_rng;
    net->dropout_rng = s->dropout_rng;
    c->base_lr = s->base_lr;
    c->lr = s->lr;
    c->last_epoch = s->last_epoch;
    c->best = s->best;
    c->num_bad_epochs = s->bad_epochs;
    c->cooldown_counter = s->cooldown;
    net->epoch_samples = s->epoch_samples;
    net->epoch_loss = s->epoch_loss;
}

void rt_ckpt_scalars_format(const rt_ckpt_scalars *s, const char *keys[RT_CKPT_NSCALARS],
                            char vals[RT_CKPT_NSCALARS][RT_CKPT_VALUE_MAX])
{
    const char *base = (const char *)s;
    for (int i = 0; i < RT_CKPT_NSCALARS; i++) {
        const void *v = base + fields[i].off;
        keys[i] = fields[i].key;
        if (fields[i].k == K_COUNT)
            snprintf(vals[i], RT_CKPT_VALUE_MAX, "%ld", *(const long *)v);
        else if (fields[i].k == K_RNG)
            snprintf(vals[i], RT_CKPT_VALUE_MAX, "%016" PRIx64, *(const uint64_t *)v);
        else /* %.17g: every double reads back as itself */
            snprintf(vals[i], RT_CKPT_VALUE_MAX, "%.17g", *(const double *)v);
    }
}

int rt_ckpt_parse_id(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    if (!s || strlen(s) != 16)
        return 0;
    for (int i = 0; i < 16; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return 0;
        v = v << 4 | (uint64_t)d;
    }
    *out = v;
    return 1;
}

/* A count: decimal digits only (no sign, space or exponent), <= max. */
static int parse_count(const char *s, double max, long *out)
{
    if (!*s || strspn(s, "0123456789") != strlen(s))
        return 0;
    errno = 0;
    unsigned long long v = strtoull(s, NULL, 10);
    if (errno || v > (unsigned long long)max) /* exact: every max is an integer below 2^64 */
        return 0;
    *out = (long)v;
    return 1;
}

int rt_ckpt_scalars_read(const rt_st_file *f, const char *path, rt_ckpt_scalars *s, char *err, size_t errlen)
{
    char *base = (char *)s, shown[RT_ST_SHOW_MAX + 4];
    for (int i = 0; i < RT_CKPT_NSCALARS; i++) {
        const char *key = fields[i].key, *text = rt_st_meta(f, key);
        void *v = base + fields[i].off;
        if (!text && fields[i].optional) {
            memset(v, 0, fields[i].k == K_COUNT ? sizeof(long) : sizeof(double));
            continue;
        }
        if (!text)
            return rt_errf(err, errlen, "%s: the training state has no %s; it is damaged", path, key);
        rt_st_show(text, shown);
        if (fields[i].k == K_COUNT) {
            if (!parse_count(text, fields[i].max, v))
                return rt_errf(err, errlen, "%s: %s = '%s' is out of range: it must be a whole number from 0 to %.0f",
                               path, key, shown, fields[i].max);
            continue;
        }
        if (fields[i].k == K_RNG) {
            if (!rt_ckpt_parse_id(text, v))
                return rt_errf(err, errlen, "%s: %s = '%s' is not a generator state (16 hex digits)", path, key,
                               shown);
            continue;
        }
        char *end;
        double d = strtod(text, &end);
        if (end == text || *end || isnan(d))
            return rt_errf(err, errlen, "%s: %s = '%s' is not a number", path, key, shown);
        if (fields[i].k == K_LR && !(d >= 0 && d <= FLT_MAX))
            return rt_errf(err, errlen, "%s: %s = '%s' is out of range: an lr must be from 0 to %.9g (float32's largest)",
                           path, key, shown, (double)FLT_MAX);
        if (fields[i].k == K_BASE_LR && !(d > 0 && d <= FLT_MAX))
            return rt_errf(err, errlen,
                           "%s: %s = '%s' is out of range: a base lr must be above 0 and at most %.9g (float32's largest)",
                           path, key, shown, (double)FLT_MAX);
        if (fields[i].k == K_FINITE && !isfinite(d))
            return rt_errf(err, errlen, "%s: %s = '%s' is out of range: it must be finite", path, key, shown);
        *(double *)v = d;
    }
    return 0;
}

/* The next " -> "-separated item of *s (advanced past it) into buf. */
static void next_item(const char **s, char *buf, size_t size)
{
    const char *e = strstr(*s, " -> ");
    size_t n = e ? (size_t)(e - *s) : strlen(*s);
    snprintf(buf, size, "%.*s", (int)n, *s);
    for (char *c = buf; *c; c++) /* the file's text, shown on one line */
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = '?';
    *s += n + (e ? 4 : 0);
}

static int count_items(const char *s)
{
    int n = *s ? 1 : 0;
    for (const char *e; (e = strstr(s, " -> ")) != NULL; s = e + 4)
        n++;
    return n;
}

int rt_ckpt_same_model(const comp_plan *p, const rt_st_file *f, char *why, size_t whylen)
{
    const char *input = rt_st_meta(f, "netc.input"), *layers = rt_st_meta(f, "netc.layers");
    char shown[RT_ST_SHOW_MAX + 4], theirs[256], ours[256];
    if (input && strcmp(input, p->info.input_text) != 0) {
        snprintf(why, whylen, "its input is %s, this model's %s", rt_st_show(input, shown), p->info.input_text);
        return 0;
    }
    if (!layers || strcmp(layers, p->info.layers_text) == 0)
        return 1;
    int nt = count_items(layers), no = count_items(p->info.layers_text);
    const char *t = layers, *o = p->info.layers_text;
    for (int i = 0; i < nt && i < no; i++) {
        next_item(&t, theirs, sizeof theirs);
        next_item(&o, ours, sizeof ours);
        if (strcmp(theirs, ours) != 0) {
            snprintf(why, whylen, "layer %d is %s in it but %s here", i, theirs, ours);
            return 0;
        }
    }
    snprintf(why, whylen, "it has %d layers, this model %d", nt, no);
    return 0;
}
