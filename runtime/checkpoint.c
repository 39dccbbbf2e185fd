/* checkpoint.c — saving and loading a net's parameters. */
#include "checkpoint.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errf.h"
#include "safetensors.h"

int rt_checkpoint_save(const rt_net *net, const char *path, char *err, size_t errlen)
{
    return rt_checkpoint_save_from(net, net->arena[COMP_ARENA_PARAM], path, err, errlen);
}

int rt_checkpoint_save_from(const rt_net *net, const float *values, const char *path, char *err, size_t errlen)
{
    const comp_plan *p = net->plan;
    rt_tensor *t = calloc((size_t)p->nparams + 1, sizeof *t);
    if (!t)
        return rt_errf(err, errlen, "%s: out of memory", path);
    for (int k = 0; k < p->nparams; k++) {
        const comp_buf *b = &p->bufs[p->params[k]];
        t[k].name = b->name;
        t[k].rank = b->rank;
        for (int d = 0; d < b->rank; d++)
            t[k].shape[d] = b->dims[d];
        t[k].data = values + b->offset;
    }
    char hash[32];
    snprintf(hash, sizeof hash, "%016" PRIx64, p->model->hash);
    const char *keys[] = {"format", "netc.model", "netc.spec_hash"};
    const char *vals[] = {"pt", p->model->name, hash};
    int rc = rt_st_save(path, t, p->nparams, keys, vals, 3, err, errlen);
    free(t);
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

int rt_checkpoint_load(rt_net *net, const char *path, char *err, size_t errlen)
{
    const comp_plan *p = net->plan;
    rt_st_file *f = rt_st_load(path, err, errlen);
    if (!f)
        return -1;
    /* Validate everything before copying anything. */
    for (int k = 0; k < p->nparams; k++) {
        const comp_buf *b = &p->bufs[p->params[k]];
        const rt_tensor *t = rt_st_find(f, b->name);
        int64_t want[2] = {b->dims[0], b->dims[1]};
        char have_s[96], want_s[96];
        if (!t) {
            rt_errf(err, errlen, "%s: no tensor '%s'; the checkpoint does not fit model '%s'", path, b->name,
                     p->model->name);
            goto fail;
        }
        if (t->rank != b->rank || t->shape[0] != want[0] || (b->rank == 2 && t->shape[1] != want[1])) {
            shape_text(t->shape, t->rank, have_s, sizeof have_s);
            shape_text(want, b->rank, want_s, sizeof want_s);
            rt_errf(err, errlen, "%s: tensor '%s' has shape %s but model '%s' needs %s; the checkpoint does not fit",
                     path, b->name, have_s, p->model->name, want_s);
            goto fail;
        }
    }
    for (int i = 0; i < rt_st_count(f); i++) {
        const char *name = rt_st_tensor(f, i)->name;
        int known = 0;
        for (int k = 0; k < p->nparams && !known; k++)
            known = strcmp(p->bufs[p->params[k]].name, name) == 0;
        if (!known) {
            rt_errf(err, errlen, "%s: tensor '%s' is not a parameter of model '%s'; the checkpoint does not fit", path,
                     name, p->model->name);
            goto fail;
        }
    }
    for (int k = 0; k < p->nparams; k++) {
        const comp_buf *b = &p->bufs[p->params[k]];
        memcpy(rt_net_buf(net, p->params[k]), rt_st_find(f, b->name)->data, b->size * sizeof(float));
    }
    rt_st_free(f);
    return 0;
fail:
    rt_st_free(f);
    return -1;
}
