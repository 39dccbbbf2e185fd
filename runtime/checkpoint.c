/* checkpoint.c — saving and loading a net's parameters and training state.
 *
 * One safetensors file holds both.  The parameters and the model state
 * (BatchNorm's running statistics) keep their state_dict names, so torch
 * loads them; the optimizer state goes under "optim." (one
 * tensor per STATE-arena buffer of the plan, whatever the optimizer), and
 * the scalars that make a resumed run continue exactly (step count, epochs
 * done, generator states, schedule position) are metadata strings. */
#include "checkpoint.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errf.h"
#include "safetensors.h"

#define STATE_PREFIX "optim."
#define STATE_VERSION "1"

static int is_state_name(const char *name)
{
    return strncmp(name, STATE_PREFIX, strlen(STATE_PREFIX)) == 0;
}

static const char *sched_name(const rt_net *net)
{
    return net->sched.kind < COMP_SCHED_COUNT ? comp_scheds[net->sched.kind].name : "none";
}

static const char *optim_name(const rt_net *net)
{
    comp_optim_kind k = (comp_optim_kind)net->plan->info.optim;
    return k < COMP_OPTIM_COUNT ? comp_optims[k].name : "none";
}

/* The training-state scalars, in the order they are saved. */
enum {
    M_STEP, M_EPOCH, M_SHUFFLE_RNG, M_DROPOUT_RNG, M_BASE_LR, M_LR, M_LAST_EPOCH, M_BEST, M_BAD_EPOCHS,
    M_COOLDOWN, M_COUNT
};
static const char *const meta_keys[M_COUNT] = {
    "netc.step", "netc.epoch", "netc.shuffle_rng", "netc.dropout_rng", "netc.sched.base_lr", "netc.sched.lr",
    "netc.sched.last_epoch", "netc.sched.best", "netc.sched.num_bad_epochs", "netc.sched.cooldown_counter",
};

/* Buffer k of the tensors a checkpoint holds by name: the parameters,
 * then the model state. */
static int model_tensor(const comp_plan *p, int k)
{
    return k < p->nparams ? p->params[k] : p->state[k - p->nparams];
}

/* Fill t with the parameters (their values from values) and the model
 * state, named as the state_dict; returns how many. */
static int model_tensors(const rt_net *net, const float *values, rt_tensor *t)
{
    const comp_plan *p = net->plan;
    int n = 0;
    for (int k = 0; k < p->nparams + p->nstate; k++, n++) {
        const comp_buf *b = &p->bufs[model_tensor(p, k)];
        t[n].name = b->name;
        t[n].rank = b->rank;
        for (int d = 0; d < b->rank; d++)
            t[n].shape[d] = b->dims[d];
        /* the parameters, or what replaces them (ASGD's average); the model state */
        t[n].data = k < p->nparams ? values + b->offset : rt_net_buf(net, model_tensor(p, k));
    }
    return n;
}

int rt_checkpoint_save_weights(const rt_net *net, const char *path, char *err, size_t errlen)
{
    const comp_plan *p = net->plan;
    rt_tensor *t = calloc((size_t)p->nparams + (size_t)p->nstate + 1, sizeof *t);
    if (!t)
        return rt_errf(err, errlen, "%s: out of memory", path);
    int n = model_tensors(net, net->arena[COMP_ARENA_PARAM], t);
    char hash[32];
    snprintf(hash, sizeof hash, "%016" PRIx64, p->info.hash);
    const char *keys[3] = {"format", "netc.model", "netc.spec_hash"};
    const char *vals[3] = {"pt", p->info.name, hash};
    int rc = rt_st_save(path, t, n, keys, vals, 3, err, errlen);
    free(t);
    return rc;
}

int rt_checkpoint_save(const rt_net *net, const char *path, char *err, size_t errlen)
{
    return rt_checkpoint_save_from(net, net->arena[COMP_ARENA_PARAM], path, err, errlen);
}

int rt_checkpoint_save_from(const rt_net *net, const float *values, const char *path, char *err, size_t errlen)
{
    const comp_plan *p = net->plan;
    rt_tensor *t = calloc((size_t)p->nparams + (size_t)p->nstate + (size_t)p->nbufs + 1, sizeof *t);
    char (*names)[sizeof p->bufs[0].name + sizeof STATE_PREFIX] = calloc((size_t)p->nbufs + 1, sizeof *names);
    if (!t || !names) {
        free(t);
        free(names);
        return rt_errf(err, errlen, "%s: out of memory", path);
    }
    int n = model_tensors(net, values, t);
    for (int b = 0; b < p->nbufs; b++) {
        if (p->bufs[b].arena != COMP_ARENA_STATE)
            continue;
        snprintf(names[b], sizeof names[b], STATE_PREFIX "%s", p->bufs[b].name);
        t[n].name = names[b];
        t[n].rank = 1;
        t[n].shape[0] = (int64_t)p->bufs[b].size;
        t[n].data = rt_net_buf(net, b);
        n++;
    }
    char hash[32], v[M_COUNT][48];
    const rt_sched *s = &net->sched;
    snprintf(hash, sizeof hash, "%016" PRIx64, p->info.hash);
    snprintf(v[M_STEP], sizeof v[0], "%ld", net->step);
    snprintf(v[M_EPOCH], sizeof v[0], "%ld", net->epoch);
    snprintf(v[M_SHUFFLE_RNG], sizeof v[0], "%016" PRIx64, net->shuffle_rng);
    snprintf(v[M_DROPOUT_RNG], sizeof v[0], "%016" PRIx64, net->dropout_rng);
    /* %.17g: every double reads back as itself. */
    snprintf(v[M_BASE_LR], sizeof v[0], "%.17g", s->base_lr);
    snprintf(v[M_LR], sizeof v[0], "%.17g", s->lr);
    snprintf(v[M_LAST_EPOCH], sizeof v[0], "%ld", s->last_epoch);
    snprintf(v[M_BEST], sizeof v[0], "%.17g", s->best);
    snprintf(v[M_BAD_EPOCHS], sizeof v[0], "%ld", s->num_bad_epochs);
    snprintf(v[M_COOLDOWN], sizeof v[0], "%ld", s->cooldown_counter);
    const char *keys[6 + M_COUNT] = {"format", "netc.model", "netc.spec_hash", "netc.state", "netc.optimizer",
                                     "netc.schedule"};
    const char *vals[6 + M_COUNT] = {"pt", p->info.name, hash, STATE_VERSION, optim_name(net), sched_name(net)};
    for (int i = 0; i < M_COUNT; i++) {
        keys[6 + i] = meta_keys[i];
        vals[6 + i] = v[i];
    }
    int rc = rt_st_save(path, t, n, keys, vals, 6 + M_COUNT, err, errlen);
    free(t);
    free(names);
    return rc;
}

static void shape_text(const int64_t *shape, int rank, char *buf, size_t size)
{
    size_t len = (size_t)snprintf(buf, size, "[");
    for (int d = 0; d < rank && len < size; d++)
        len += (size_t)snprintf(buf + len, size - len, "%s%" PRId64, d ? ", " : "", shape[d]);
    if (len < size)
        snprintf(buf + len, size - len, "]");
}

/* Check that f holds exactly the plan's parameters and model state
 * (optimizer state aside) with their shapes, then copy them into net. */
static int load_weights(rt_net *net, const rt_st_file *f, const char *path, char *err, size_t errlen)
{
    const comp_plan *p = net->plan;
    const int ntensors = p->nparams + p->nstate;
    /* Validate everything before copying anything. */
    for (int k = 0; k < ntensors; k++) {
        const comp_buf *b = &p->bufs[model_tensor(p, k)];
        const rt_tensor *t = rt_st_find(f, b->name);
        int64_t want[COMP_MAX_RANK];
        char have_s[96], want_s[96];
        if (!t)
            return rt_errf(err, errlen, "%s: no tensor '%s'; the checkpoint does not fit model '%s'", path, b->name,
                           p->info.name);
        int same = t->rank == b->rank;
        for (int d = 0; d < b->rank; d++) {
            want[d] = b->dims[d];
            same = same && t->shape[d] == want[d];
        }
        if (!same) {
            shape_text(t->shape, t->rank, have_s, sizeof have_s);
            shape_text(want, b->rank, want_s, sizeof want_s);
            return rt_errf(err, errlen,
                           "%s: tensor '%s' has shape %s but model '%s' needs %s; the checkpoint does not fit", path,
                           b->name, have_s, p->info.name, want_s);
        }
    }
    for (int i = 0; i < rt_st_count(f); i++) {
        const char *name = rt_st_tensor(f, i)->name;
        int known = is_state_name(name);
        for (int k = 0; k < ntensors && !known; k++)
            known = strcmp(p->bufs[model_tensor(p, k)].name, name) == 0;
        if (!known)
            return rt_errf(err, errlen, "%s: tensor '%s' is not a parameter of model '%s'; the checkpoint does not fit",
                           path, name, p->info.name);
    }
    for (int k = 0; k < ntensors; k++) {
        const comp_buf *b = &p->bufs[model_tensor(p, k)];
        memcpy(rt_net_buf(net, model_tensor(p, k)), rt_st_find(f, b->name)->data, b->size * sizeof(float));
    }
    return 0;
}

int rt_checkpoint_load(rt_net *net, const char *path, char *err, size_t errlen)
{
    rt_st_file *f = rt_st_load(path, err, errlen);
    if (!f)
        return -1;
    int rc = load_weights(net, f, path, err, errlen);
    rt_st_free(f);
    return rc;
}

/* Whether the state in f is for this net's optimizer and schedule, with a
 * tensor of the right size for every STATE buffer and nothing else; if
 * not, why, in note. */
static int state_fits(const rt_net *net, const rt_st_file *f, const char *path, char *note, size_t notelen)
{
    const comp_plan *p = net->plan;
    const char *optim = rt_st_meta(f, "netc.optimizer"), *sched = rt_st_meta(f, "netc.schedule");
    if (!optim || strcmp(optim, optim_name(net)) != 0 || !sched || strcmp(sched, sched_name(net)) != 0) {
        snprintf(note, notelen, "%s holds the state of %s with schedule %s, not of %s with schedule %s", path,
                 optim ? optim : "?", sched ? sched : "?", optim_name(net), sched_name(net));
        return 0;
    }
    int nstate = 0;
    for (int b = 0; b < p->nbufs; b++) {
        if (p->bufs[b].arena != COMP_ARENA_STATE)
            continue;
        char name[sizeof p->bufs[0].name + sizeof STATE_PREFIX];
        snprintf(name, sizeof name, STATE_PREFIX "%s", p->bufs[b].name);
        const rt_tensor *t = rt_st_find(f, name);
        nstate++;
        if (!t || t->rank != 1 || t->shape[0] != (int64_t)p->bufs[b].size) {
            snprintf(note, notelen, "%s: optimizer state '%s' is missing or has another size", path, name);
            return 0;
        }
    }
    int have = 0;
    for (int i = 0; i < rt_st_count(f); i++)
        have += is_state_name(rt_st_tensor(f, i)->name);
    if (have != nstate) {
        snprintf(note, notelen, "%s holds %d optimizer state tensors; %s here has %d", path, have, optim_name(net),
                 nstate);
        return 0;
    }
    return 1;
}

static int parse_long(const char *s, long *out)
{
    char *end;
    errno = 0;
    long v = s ? strtol(s, &end, 10) : 0;
    if (!s || errno || end == s || *end || v < 0)
        return 0;
    *out = v;
    return 1;
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = s ? strtoull(s, &end, 16) : 0;
    if (!s || errno || end == s || *end)
        return 0;
    *out = (uint64_t)v;
    return 1;
}

static int parse_double(const char *s, double *out)
{
    char *end;
    if (!s)
        return 0;
    double v = strtod(s, &end);
    if (end == s || *end)
        return 0;
    *out = v;
    return 1;
}

int rt_checkpoint_resume(rt_net *net, const char *path, char *note, size_t notelen, char *err, size_t errlen)
{
    const comp_plan *p = net->plan;
    note[0] = 0;
    rt_st_file *f = rt_st_load(path, err, errlen);
    if (!f)
        return -1;
    if (load_weights(net, f, path, err, errlen) != 0)
        goto fail;
    if (!rt_st_meta(f, "netc.state")) {
        snprintf(note, notelen, "%s holds weights only (no training state); the optimizer and schedule start afresh",
                 path);
        rt_st_free(f);
        return 0;
    }
    if (strcmp(rt_st_meta(f, "netc.state"), STATE_VERSION) != 0) {
        rt_errf(err, errlen, "%s: training state version %s is not one this netc reads (%s)", path,
                rt_st_meta(f, "netc.state"), STATE_VERSION);
        goto fail;
    }
    /* Parse every scalar before changing anything. */
    long step, epoch, last_epoch, bad, cooldown;
    uint64_t shuffle_rng, dropout_rng;
    double base_lr, lr, best;
    if (!parse_long(rt_st_meta(f, meta_keys[M_STEP]), &step) || !parse_long(rt_st_meta(f, meta_keys[M_EPOCH]), &epoch) ||
        !parse_u64(rt_st_meta(f, meta_keys[M_SHUFFLE_RNG]), &shuffle_rng) ||
        !parse_u64(rt_st_meta(f, meta_keys[M_DROPOUT_RNG]), &dropout_rng) ||
        !parse_double(rt_st_meta(f, meta_keys[M_BASE_LR]), &base_lr) ||
        !parse_double(rt_st_meta(f, meta_keys[M_LR]), &lr) ||
        !parse_double(rt_st_meta(f, meta_keys[M_BEST]), &best) ||
        !parse_long(rt_st_meta(f, meta_keys[M_BAD_EPOCHS]), &bad) ||
        !parse_long(rt_st_meta(f, meta_keys[M_COOLDOWN]), &cooldown) ||
        /* never -1: a scheduler has taken its initial step before any save */
        !parse_long(rt_st_meta(f, meta_keys[M_LAST_EPOCH]), &last_epoch)) {
        rt_errf(err, errlen, "%s: the training state's metadata is damaged", path);
        goto fail;
    }
    if (!state_fits(net, f, path, note, notelen)) {
        size_t len = strlen(note);
        snprintf(note + len, notelen - len, "; only the weights are loaded, training starts afresh");
        rt_st_free(f);
        return 0;
    }
    for (int b = 0; b < p->nbufs; b++) {
        if (p->bufs[b].arena != COMP_ARENA_STATE)
            continue;
        char name[sizeof p->bufs[0].name + sizeof STATE_PREFIX];
        snprintf(name, sizeof name, STATE_PREFIX "%s", p->bufs[b].name);
        memcpy(rt_net_buf(net, b), rt_st_find(f, name)->data, p->bufs[b].size * sizeof(float));
    }
    net->step = step;
    net->epoch = epoch;
    net->shuffle_rng = shuffle_rng;
    net->dropout_rng = dropout_rng;
    net->sched.base_lr = base_lr;
    net->sched.lr = lr;
    net->sched.last_epoch = last_epoch;
    net->sched.best = best;
    net->sched.num_bad_epochs = bad;
    net->sched.cooldown_counter = cooldown;
    rt_st_free(f);
    return 0;
fail:
    rt_st_free(f);
    return -1;
}
