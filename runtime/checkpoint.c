/* checkpoint.c — saving and loading a net's parameters and training state
 * as a model file (the state_dict) and its companion (the training state);
 * see checkpoint.h for the layout and the order of the writes. */
#include "checkpoint.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "atomic_file.h"
#include "ckpt_meta.h"
#include "errf.h"
#include "safetensors.h"

#define STATE_PREFIX "optim."
/* The training state's layout: "1" in a single file (older netc), "2" in
 * a companion file. */
#define STATE_V1 "1"
#define STATE_V2 "2"
#define EXT ".safetensors"
#define COMPANION_MARK ".train-"

/* Longest path of a companion, and the name of a STATE buffer's tensor. */
#define PATH_MAX_LEN 4096
typedef char state_name[sizeof ((comp_buf *)0)->name + sizeof STATE_PREFIX];

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

/* Buffer k of the tensors a model file holds: the parameters, then the
 * model state. */
static int model_tensor(const comp_plan *p, int k)
{
    return k < p->nparams ? p->params[k] : p->state[k - p->nparams];
}

/* path's length without a final ".safetensors". */
static size_t stem_len(const char *path)
{
    size_t n = strlen(path), e = strlen(EXT);
    return n > e && strcmp(path + n - e, EXT) == 0 ? n - e : n;
}

int rt_checkpoint_companion(const char *path, uint64_t id, char *buf, size_t size)
{
    int n = snprintf(buf, size, "%.*s" COMPANION_MARK "%016" PRIx64 EXT, (int)stem_len(path), path, id);
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

static uint64_t fnv(uint64_t h, const void *data, size_t n)
{
    const unsigned char *b = data;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ULL;
    return h;
}

/* The pair's id: FNV-1a of every tensor's name and data and every
 * metadata value, so the same state always gets the same id (and the
 * same files, bit for bit) and another state another id. */
static uint64_t pair_id(const rt_tensor *t, int n, const char *const *vals, int nvals)
{
    uint64_t h = 1469598103934665603ULL;
    for (int i = 0; i < n; i++) {
        size_t count = 1;
        for (int d = 0; d < t[i].rank; d++)
            count *= (size_t)t[i].shape[d];
        h = fnv(h, t[i].name, strlen(t[i].name) + 1);
        h = fnv(h, t[i].data, count * sizeof(float));
    }
    for (int i = 0; i < nvals; i++)
        h = fnv(h, vals[i], strlen(vals[i]) + 1);
    return h;
}

/* Companions of the checkpoint being saved that are not the current one
 * (an earlier save's), and temporary files of companions whose writer was
 * killed.  ctx is the current companion's suffix. */
static int stale_companion(const char *suffix, void *ctx)
{
    const size_t mark = strlen(COMPANION_MARK), ext = strlen(EXT);
    uint64_t id;
    char hex[17];
    if (strncmp(suffix, COMPANION_MARK, mark) != 0 || strlen(suffix) < mark + 16 + ext)
        return 0;
    memcpy(hex, suffix + mark, 16);
    hex[16] = '\0';
    if (!rt_ckpt_parse_id(hex, &id) || strncmp(suffix + mark + 16, EXT, ext) != 0)
        return 0;
    const char *rest = suffix + mark + 16 + ext;
    if (*rest)
        return rt_af_stale_tmp(rest);
    return strcmp(suffix, (const char *)ctx) != 0;
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
    const int nmodel = p->nparams + p->nstate;
    rt_tensor *t = calloc((size_t)nmodel + (size_t)p->nbufs + 1, sizeof *t);
    state_name *names = calloc((size_t)p->nbufs + 1, sizeof *names);
    char *companion = malloc(PATH_MAX_LEN), *stem = strndup(path, stem_len(path));
    int rc = -1;
    if (!t || !names || !companion || !stem) {
        rt_errf(err, errlen, "%s: out of memory", path);
        goto done;
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
    /* The companion's metadata: what the state is for, then the scalars. */
    enum { CM_PAIR, CM_MODEL, CM_HASH, CM_STATE, CM_OPTIM, CM_SCHED, CM_FIXED };
    const char *ckeys[CM_FIXED + RT_CKPT_NSCALARS] = {"netc.pair", "netc.model", "netc.spec_hash", "netc.state",
                                                      "netc.optimizer", "netc.schedule"};
    const char *cvals[CM_FIXED + RT_CKPT_NSCALARS];
    char hash[20], id_text[20], v[RT_CKPT_NSCALARS][RT_CKPT_VALUE_MAX];
    rt_ckpt_scalars s;
    rt_ckpt_scalars_of(net, &s);
    rt_ckpt_scalars_format(&s, ckeys + CM_FIXED, v);
    snprintf(hash, sizeof hash, "%016" PRIx64, p->info.hash);
    cvals[CM_MODEL] = p->info.name;
    cvals[CM_HASH] = hash;
    cvals[CM_STATE] = STATE_V2;
    cvals[CM_OPTIM] = optim_name(net);
    cvals[CM_SCHED] = sched_name(net);
    for (int i = 0; i < RT_CKPT_NSCALARS; i++)
        cvals[CM_FIXED + i] = v[i];
    const uint64_t id = pair_id(t, n, cvals + CM_MODEL, CM_FIXED + RT_CKPT_NSCALARS - CM_MODEL);
    snprintf(id_text, sizeof id_text, "%016" PRIx64, id);
    cvals[CM_PAIR] = id_text;
    if (rt_checkpoint_companion(path, id, companion, PATH_MAX_LEN) != 0) {
        rt_errf(err, errlen, "%s: path too long", path);
        goto done;
    }
    const char *mkeys[] = {"format", "netc.model", "netc.spec_hash", "netc.input", "netc.layers", "netc.pair"};
    const char *mvals[] = {"pt", p->info.name, hash, p->info.input_text, p->info.layers_text, id_text};
    const int nmeta = (int)(sizeof mkeys / sizeof *mkeys);
    /* The companion first: until the model file is renamed into place, the
     * old model file and its own companion are the checkpoint. */
    if (rt_st_save(companion, t + nmodel, n - nmodel, ckeys, cvals, CM_FIXED + RT_CKPT_NSCALARS, err, errlen) != 0 ||
        rt_st_save(path, t, nmodel, mkeys, mvals, nmeta, err, errlen) != 0)
        goto done;
    /* The old pair's companion and killed saves' temporary files: the
     * directory keeps one pair per checkpoint. */
    rt_af_sweep(stem, stale_companion, companion + stem_len(path));
    rc = 0;
done:
    free(t);
    free(names);
    free(companion);
    free(stem);
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

/* Check that f holds exactly the plan's parameters and model state (an
 * older netc's optimizer state aside) with their shapes. */
static int check_weights(const rt_net *net, const rt_st_file *f, const char *path, char *err, size_t errlen)
{
    const comp_plan *p = net->plan;
    const int ntensors = p->nparams + p->nstate;
    if (rt_st_meta(f, "netc.quantized"))
        return rt_errf(err, errlen, "%s: an int8 checkpoint (netc quantize), which only eval and predict read", path);
    for (int k = 0; k < ntensors; k++) {
        const comp_buf *b = &p->bufs[model_tensor(p, k)];
        const rt_tensor *t = rt_st_find(f, b->name);
        int64_t want[COMP_MAX_RANK];
        char have_s[96], want_s[96];
        if (!t)
            return rt_errf(err, errlen, "%s: no tensor '%s'; the checkpoint does not fit model '%s'", path, b->name,
                           p->info.name);
        if (t->dtype != RT_ST_F32)
            return rt_errf(err, errlen, "%s: tensor '%s' is not float32; the checkpoint does not fit model '%s'", path,
                           b->name, p->info.name);
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
    int old_state = rt_st_meta(f, "netc.state") != NULL;
    for (int i = 0; i < rt_st_count(f); i++) {
        const char *name = rt_st_tensor(f, i)->name;
        int known = old_state && is_state_name(name);
        for (int k = 0; k < ntensors && !known; k++)
            known = strcmp(p->bufs[model_tensor(p, k)].name, name) == 0;
        if (!known) {
            char shown[RT_ST_SHOW_MAX + 4];
            return rt_errf(err, errlen, "%s: tensor '%s' is not a parameter of model '%s'; the checkpoint does not fit",
                           path, rt_st_show(name, shown), p->info.name);
        }
    }
    return 0;
}

static void copy_weights(rt_net *net, const rt_st_file *f)
{
    const comp_plan *p = net->plan;
    for (int k = 0; k < p->nparams + p->nstate; k++) {
        const comp_buf *b = &p->bufs[model_tensor(p, k)];
        memcpy(rt_net_buf(net, model_tensor(p, k)), rt_st_find(f, b->name)->data, b->size * sizeof(float));
    }
}

/* Open the model file path and check that it fits net: its signature (or
 * force, with a warning in note), its metadata, its tensors.  *forced
 * says whether force was needed. */
static rt_st_file *open_model(const rt_net *net, const char *path, int force, int *forced, char *note,
                              size_t notelen, char *err, size_t errlen)
{
    char why[600];
    uint64_t id;
    *forced = 0;
    note[0] = '\0';
    rt_st_file *f = rt_st_load(path, err, errlen);
    if (!f)
        return NULL;
    const char *pair = rt_st_meta(f, "netc.pair");
    if (pair && !rt_ckpt_parse_id(pair, &id)) {
        char shown[RT_ST_SHOW_MAX + 4];
        rt_errf(err, errlen, "%s: netc.pair = '%s' is not a checkpoint id (16 hex digits)", path,
                rt_st_show(pair, shown));
        goto fail;
    }
    if (!rt_ckpt_same_model(net->plan, f, why, sizeof why)) {
        if (!force) {
            rt_errf(err, errlen, "%s: the checkpoint is of another model: %s (--force loads its weights anyway)",
                    path, why);
            goto fail;
        }
        *forced = 1;
        snprintf(note, notelen, "%s is of another model (%s); loading its weights anyway (--force)", path, why);
    }
    if (check_weights(net, f, path, err, errlen) != 0)
        goto fail;
    return f;
fail:
    rt_st_free(f);
    return NULL;
}

int rt_checkpoint_load(rt_net *net, const char *path, int force, char *note, size_t notelen, char *err,
                       size_t errlen)
{
    int forced;
    rt_st_file *f = open_model(net, path, force, &forced, note, notelen, err, errlen);
    if (!f)
        return -1;
    copy_weights(net, f);
    rt_st_free(f);
    return 0;
}

/* Whether the state in f is for this net's optimizer and schedule, with a
 * tensor of the right size for every STATE buffer and nothing else; if
 * not, why, in note. */
static int state_fits(const rt_net *net, const rt_st_file *f, const char *path, char *note, size_t notelen)
{
    const comp_plan *p = net->plan;
    const char *optim = rt_st_meta(f, "netc.optimizer"), *sched = rt_st_meta(f, "netc.schedule");
    char so[RT_ST_SHOW_MAX + 4], ss[RT_ST_SHOW_MAX + 4];
    if (!optim || strcmp(optim, optim_name(net)) != 0 || !sched || strcmp(sched, sched_name(net)) != 0) {
        snprintf(note, notelen, "%s holds the state of %s with schedule %s, not of %s with schedule %s", path,
                 optim ? rt_st_show(optim, so) : "?", sched ? rt_st_show(sched, ss) : "?", optim_name(net),
                 sched_name(net));
        return 0;
    }
    int nstate = 0;
    for (int b = 0; b < p->nbufs; b++) {
        if (p->bufs[b].arena != COMP_ARENA_STATE)
            continue;
        state_name name;
        snprintf(name, sizeof name, STATE_PREFIX "%s", p->bufs[b].name);
        const rt_tensor *t = rt_st_find(f, name);
        nstate++;
        if (!t || t->dtype != RT_ST_F32 || t->rank != 1 || t->shape[0] != (int64_t)p->bufs[b].size) {
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

/* Append text to note. */
static void note_add(char *note, size_t notelen, const char *text)
{
    size_t len = strlen(note);
    if (len < notelen)
        snprintf(note + len, notelen - len, "%s%s", len ? "; " : "", text);
}

/* The training state that goes with model file f (path): the companion
 * its netc.pair names, or f itself for an older netc's single file.
 * Returns the file to read it from (f, a newly loaded one, or NULL when
 * there is none: why in why) and 0, or -1 on an error. */
static int open_state(const rt_st_file *f, const char *path, rt_st_file **state, char companion[PATH_MAX_LEN],
                      char *why, size_t whylen, char *err, size_t errlen)
{
    uint64_t id;
    struct stat st;
    *state = NULL;
    snprintf(companion, PATH_MAX_LEN, "%s", path);
    if (rt_st_meta(f, "netc.state")) {
        *state = (rt_st_file *)f;
        return 0;
    }
    if (!rt_ckpt_parse_id(rt_st_meta(f, "netc.pair"), &id)) {
        snprintf(why, whylen, "%s holds weights only (no training state)", path);
        return 0;
    }
    if (rt_checkpoint_companion(path, id, companion, PATH_MAX_LEN) != 0)
        return rt_errf(err, errlen, "%s: path too long", path);
    if (stat(companion, &st) != 0 && errno == ENOENT) {
        snprintf(why, whylen, "%s has no training state beside it (%s is missing)", path, companion);
        return 0;
    }
    if (!(*state = rt_st_load(companion, err, errlen)))
        return -1;
    const char *pair = rt_st_meta(*state, "netc.pair");
    if (!pair || strcmp(pair, rt_st_meta(f, "netc.pair")) != 0 || !rt_st_meta(*state, "netc.state")) {
        rt_st_free(*state);
        *state = NULL;
        return rt_errf(err, errlen, "%s: not the training state of %s (its id differs); the pair is damaged",
                       companion, path);
    }
    return 0;
}

int rt_checkpoint_resume(rt_net *net, const char *path, int force, char *note, size_t notelen, char *err,
                         size_t errlen)
{
    const comp_plan *p = net->plan;
    char why[PATH_MAX_LEN + 600] = "", state_path[PATH_MAX_LEN];
    int forced, rc = -1;
    rt_st_file *state = NULL;
    rt_st_file *f = open_model(net, path, force, &forced, note, notelen, err, errlen);
    if (!f)
        return -1;
    if (forced) {
        note_add(note, notelen, "only the weights are loaded, training starts afresh");
        copy_weights(net, f);
        rt_st_free(f);
        return 0;
    }
    if (open_state(f, path, &state, state_path, why, sizeof why, err, errlen) != 0)
        goto done;
    /* Everything is read and checked before net changes. */
    rt_ckpt_scalars s;
    if (state) {
        const char *version = rt_st_meta(state, "netc.state");
        if (strcmp(version, state == f ? STATE_V1 : STATE_V2) != 0) {
            char shown[RT_ST_SHOW_MAX + 4];
            rt_errf(err, errlen, "%s: training state version %s is not one this netc reads", state_path,
                    rt_st_show(version, shown));
            goto done;
        }
        if (rt_ckpt_scalars_read(state, state_path, &s, err, errlen) != 0)
            goto done;
        if (!state_fits(net, state, state_path, why, sizeof why)) {
            note_add(note, notelen, why);
            note_add(note, notelen, "only the weights are loaded, training starts afresh");
            copy_weights(net, f);
            rc = 0;
            goto done;
        }
    }
    copy_weights(net, f);
    if (!state) {
        note_add(note, notelen, why);
        note_add(note, notelen, "the optimizer and schedule start afresh");
        rc = 0;
        goto done;
    }
    for (int b = 0; b < p->nbufs; b++) {
        if (p->bufs[b].arena != COMP_ARENA_STATE)
            continue;
        state_name name;
        snprintf(name, sizeof name, STATE_PREFIX "%s", p->bufs[b].name);
        memcpy(rt_net_buf(net, b), rt_st_find(state, name)->data, p->bufs[b].size * sizeof(float));
    }
    rt_ckpt_scalars_apply(net, &s);
    rc = 0;
done:
    if (state != f)
        rt_st_free(state);
    rt_st_free(f);
    return rc;
}
