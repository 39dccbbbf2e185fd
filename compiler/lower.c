/* lower.c — from a checked model to the plan: fusion, buffer assignment,
 * backward and update ops. */
#include "plan.h"
#include "rule.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const comp_op_names[COMP_OP_COUNT] = {
#define OP(id, name, phase, roles, call) name,
#include "ops.def"
#undef OP
};

const comp_phase comp_op_phases[COMP_OP_COUNT] = {
#define OP(id, name, phase, roles, call) COMP_PHASE_##phase,
#include "ops.def"
#undef OP
};

const char *const comp_op_roles[COMP_OP_COUNT] = {
#define OP(id, name, phase, roles, call) roles,
#include "ops.def"
#undef OP
};

int comp_op_optim(comp_opcode code)
{
    for (int o = 0; o < COMP_OPTIM_COUNT; o++)
        if (comp_optim_ops[o] == code)
            return o;
    return -1;
}

int comp_op_role(comp_opcode code, int i, comp_role *r)
{
    const char *s = comp_op_roles[code];
    for (int k = 0;; k++) {
        while (*s == ' ')
            s++;
        if (!*s)
            return 0;
        const char *end = strchr(s, ' ');
        if (!end)
            end = s + strlen(s);
        if (k == i) {
            comp_role role = {0};
            role.scratch = *s == '~';
            role.out = *s == '>' || role.scratch;
            role.name = s + role.out;
            const char *q = role.name;
            while (q < end && *q != '?' && *q != ':')
                q++;
            role.len = (int)(q - role.name);
            if (q < end && *q == '?') {
                role.cond = ++q;
                while (q < end && *q != ':')
                    q++;
                role.cond_len = (int)(q - role.cond);
            }
            role.scalar = q < end && *q == ':';
            *r = role;
            return 1;
        }
        s = end;
    }
}

struct comp_lowerer {
    comp_plan *p;
    int cap_ops, cap_bufs;
    int failed;
};
typedef struct comp_lowerer lowerer;

static int add_buf(lowerer *L, comp_arena arena, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Note: the name is formatted after any realloc of the buffer table, so
 * arguments must not point into it; name_of() copies a buffer's name. */
static int add_buf(lowerer *L, comp_arena arena, size_t size, const char *fmt, ...)
{
    comp_plan *p = L->p;
    if (p->nbufs == L->cap_bufs) {
        int cap = L->cap_bufs ? 2 * L->cap_bufs : 32;
        comp_buf *b = realloc(p->bufs, (size_t)cap * sizeof *b);
        if (!b) {
            L->failed = 1;
            return -1;
        }
        p->bufs = b;
        L->cap_bufs = cap;
    }
    comp_buf *b = &p->bufs[p->nbufs];
    memset(b, 0, sizeof *b);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b->name, sizeof b->name, fmt, ap);
    va_end(ap);
    b->arena = arena;
    b->size = size;
    if (arena == COMP_ARENA_BATCH || arena == COMP_ARENA_STATE)
        p->arena_size[arena] = COMP_BUF_ALIGN_UP(p->arena_size[arena]); /* buf_align.h */
    b->offset = p->arena_size[arena];
    p->arena_size[arena] += size;
    return p->nbufs++;
}

/* A copy of buffer b's name, safe to pass to add_buf(). */
typedef struct {
    char s[sizeof(((comp_buf *)0)->name)];
} buf_name;

static buf_name name_of(const lowerer *L, int b)
{
    buf_name n;
    memcpy(n.s, L->p->bufs[b].name, sizeof n.s);
    return n;
}

static comp_op *add_op(lowerer *L, comp_opcode code, int layer, gram_loc loc)
{
    comp_plan *p = L->p;
    if (p->nops == L->cap_ops) {
        int cap = L->cap_ops ? 2 * L->cap_ops : 32;
        comp_op *o = realloc(p->ops, (size_t)cap * sizeof *o);
        if (!o) {
            L->failed = 1;
            return NULL;
        }
        p->ops = o;
        L->cap_ops = cap;
    }
    comp_op *op = &p->ops[p->nops++];
    memset(op, 0, sizeof *op);
    for (int i = 0; i < COMP_OP_MAX_BUFS; i++)
        op->buf[i] = -1;
    op->code = (uint8_t)code;
    op->layer = layer;
    op->line = (uint16_t)(loc.first_line > 65535 ? 65535 : loc.first_line);
    op->col = (uint16_t)(loc.first_column > 65535 ? 65535 : loc.first_column);
    switch (comp_op_phases[code]) {
    case COMP_PHASE_FWD: p->nfwd++; break;
    case COMP_PHASE_LOSS: p->nloss++; break;
    case COMP_PHASE_BWD: p->nbwd++; break;
    case COMP_PHASE_CLIP: p->nclip++; break;
    case COMP_PHASE_UPD: p->nupd++; break;
    }
    return op;
}

/* Whether layer kind k is an activation of acts.def (they come first in
 * comp_layer_kind): what a rule with fuse_act takes into its op. */
static int is_activation(comp_layer_kind k)
{
    return (int)k < COMP_ACT_COUNT;
}

/* One tensor of chain layer i, "<index>.<name>" as nn.Sequential's
 * state_dict names it, in the PARAM arena (or MODEL for state), with its
 * shape, fans and initial value; -1 when out of memory. */
static int add_tensor(lowerer *L, int i, const comp_tensor_spec *t)
{
    const comp_layer *l = &L->p->model->layers[i];
    size_t size = 1;
    for (int d = 0; d < t->rank; d++)
        size *= (size_t)t->dims[d];
    int b = add_buf(L, t->state ? COMP_ARENA_MODEL : COMP_ARENA_PARAM, size, "%d.%s", l->index, t->name);
    if (b >= 0) {
        comp_buf *buf = &L->p->bufs[b];
        buf->layer = i;
        buf->rank = t->rank;
        memcpy(buf->dims, t->dims, sizeof buf->dims);
        buf->init = (uint8_t)t->init;
        buf->init_value = t->value;
        buf->fan_in = t->fan_in;
        buf->fan_out = t->fan_out;
    }
    return b;
}

/* Every layer's tensors, chain order: tens[i * COMP_RULE_MAX_TENSORS +
 * j] is layer i's j-th (rule order), ntens[i] how many; PARAM tensors
 * listed in p->params, MODEL ones in p->state; each layer with init=
 * gets its own entry in p->inits (the model's is inits[0]). */
static void add_tensors(lowerer *L, int *tens, int *ntens)
{
    comp_plan *p = L->p;
    const comp_model *m = p->model;
    int ninit = 1;
    for (int i = 0; i < m->nlayers; i++)
        ninit += m->layers[i].has_init;
    p->inits = calloc((size_t)ninit, sizeof *p->inits);
    int *all = malloc(((size_t)m->nlayers * COMP_RULE_MAX_TENSORS + 1) * sizeof *all);
    if (!p->inits || !all) {
        free(all);
        L->failed = 1;
        return;
    }
    p->inits[0] = m->init;
    p->ninits = 1;
    int nall = 0;
    for (int i = 0; i < m->nlayers && !L->failed; i++) {
        const comp_layer *l = &m->layers[i];
        const comp_rule *r = comp_layer_rules[l->kind];
        comp_tensor_spec t[COMP_RULE_MAX_TENSORS];
        int n = r->tensors ? r->tensors(l, t) : 0;
        int init_index = 0;
        if (l->has_init) {
            init_index = p->ninits;
            p->inits[p->ninits++] = l->init;
        }
        ntens[i] = n;
        for (int j = 0; j < n; j++) {
            int b = add_tensor(L, i, &t[j]);
            if (b < 0)
                break;
            p->bufs[b].init_index = (int16_t)init_index;
            tens[i * COMP_RULE_MAX_TENSORS + j] = b;
            all[nall++] = b;
        }
    }
    /* Parameters first in the arena order the optimizer walks; state apart. */
    p->params = calloc((size_t)nall + 1, sizeof *p->params);
    p->state = calloc((size_t)nall + 1, sizeof *p->state);
    if (!p->params || !p->state) {
        L->failed = 1;
    } else {
        for (int k = 0; k < nall; k++) {
            if (p->bufs[all[k]].arena == COMP_ARENA_PARAM)
                p->params[p->nparams++] = all[k];
            else
                p->state[p->nstate++] = all[k];
        }
    }
    free(all);
}

/* For the rules (rule.h). */
int comp_lower_batch_buf(comp_lowerer *L, size_t size, const comp_shape *s, const char *fmt, int index)
{
    int b = add_buf(L, COMP_ARENA_BATCH, size, fmt, index);
    if (b >= 0 && s) {
        L->p->bufs[b].rank = s->rank;
        memcpy(L->p->bufs[b].dims, s->dims, sizeof s->dims);
    }
    return b;
}

int comp_lower_fixed_buf(comp_lowerer *L, comp_arena a, size_t size, const char *fmt, int index)
{
    return add_buf(L, a, size, fmt, index);
}

void comp_lower_scratch_fwd_size(comp_lowerer *L, int b, size_t fwd_size)
{
    L->p->bufs[b].fwd_size = fwd_size < L->p->bufs[b].size ? fwd_size : L->p->bufs[b].size;
}

comp_op *comp_lower_op(comp_lowerer *L, comp_opcode code, const comp_layer *l)
{
    return add_op(L, code, l->index, l->loc);
}

/* The backward op of each forward op that has one. */
static const comp_opcode backward_of[COMP_OP_COUNT] = {
    [COMP_OP_LINEAR] = COMP_OP_LINEAR_BWD,       [COMP_OP_EMBEDDING] = COMP_OP_EMBEDDING_BWD,
    [COMP_OP_ACT] = COMP_OP_ACT_BWD,             [COMP_OP_DROPOUT] = COMP_OP_DROPOUT_BWD,
    [COMP_OP_ALPHA_DROPOUT] = COMP_OP_DROPOUT_BWD, /* both dx = dy * mask */
    [COMP_OP_SOFTMAX] = COMP_OP_SOFTMAX_BWD,     [COMP_OP_LOG_SOFTMAX] = COMP_OP_LOG_SOFTMAX_BWD,
    [COMP_OP_SOFTMIN] = COMP_OP_SOFTMIN_BWD,     [COMP_OP_PRELU] = COMP_OP_PRELU_BWD,
    [COMP_OP_RRELU] = COMP_OP_RRELU_BWD,         [COMP_OP_GLU] = COMP_OP_GLU_BWD,
    [COMP_OP_CONV] = COMP_OP_CONV_BWD,           [COMP_OP_CONV_T] = COMP_OP_CONV_T_BWD,
    [COMP_OP_MAXPOOL] = COMP_OP_MAXPOOL_BWD,     [COMP_OP_AVGPOOL] = COMP_OP_AVGPOOL_BWD,
    [COMP_OP_ADAPTIVE_MAXPOOL] = COMP_OP_ADAPTIVE_MAXPOOL_BWD,
    [COMP_OP_ADAPTIVE_AVGPOOL] = COMP_OP_ADAPTIVE_AVGPOOL_BWD,
    [COMP_OP_BATCHNORM] = COMP_OP_BATCHNORM_BWD, [COMP_OP_DROPOUT_CH] = COMP_OP_DROPOUT_BWD,
};

/* op's operand in the role named name (len bytes), or -1. */
static int forward_operand(const comp_op *op, const char *name, int len)
{
    comp_role r;
    for (int i = 0; i < COMP_OP_MAX_BUFS && comp_op_role((comp_opcode)op->code, i, &r); i++)
        if (r.len == len && memcmp(r.name, name, (size_t)len) == 0)
            return op->buf[i];
    return -1;
}

/* The buffer an op reads as its input "x" (ops.def roles), or -1. */
static int input_x(const comp_op *op)
{
    return forward_operand(op, "x", 1);
}

/* Lay the batch arena out again once every op is known, buffers that are
 * never live together sharing floats (layout.c); add_buf placed them one
 * after the other.  0 when out of memory. */
static int layout_batch(comp_plan *p)
{
    size_t *off = malloc(((size_t)p->nbufs + 1) * sizeof *off);
    if (!off)
        return 0;
    const size_t floats = comp_batch_layout(p, COMP_LAYOUT_TRAIN, off);
    for (int b = 0; b < p->nbufs && floats; b++)
        if (p->bufs[b].arena == COMP_ARENA_BATCH)
            p->bufs[b].offset = off[b] == SIZE_MAX ? 0 : off[b];
    if (floats)
        p->arena_size[COMP_ARENA_BATCH] = floats;
    free(off);
    return floats != 0;
}

/* A view of a whole arena, for the optimizer's single pass over it.  Call
 * after the parameters are laid out. */
static int whole_arena(lowerer *L, comp_arena arena, const char *name)
{
    int b = add_buf(L, arena, 0, "%s", name);
    if (b >= 0) {
        L->p->bufs[b].offset = 0;
        L->p->bufs[b].size = L->p->arena_size[COMP_ARENA_PARAM];
    }
    return b;
}

/* The gradient of a parameter lives at the same offset in the GRAD arena. */
static int grad_of_param(lowerer *L, int param)
{
    comp_buf pb = L->p->bufs[param];
    int g = add_buf(L, COMP_ARENA_GRAD, pb.size, "d%s", pb.name);
    if (g >= 0) {
        L->p->bufs[g].offset = pb.offset;
        L->p->bufs[g].layer = pb.layer;
        L->p->bufs[g].rank = pb.rank;
        memcpy(L->p->bufs[g].dims, pb.dims, sizeof pb.dims);
    }
    return g;
}

/* A loss's arguments onto its op: reduction as flags, every other
 * argument, in catalog.def order, into p[] (ops.def). */
static void lower_loss_args(const comp_model *m, comp_op *op)
{
    const comp_entry *e = &comp_losses[m->loss];
    int np = 0;
    for (int i = 0; i < e->nargs && np < COMP_OP_MAX_PARAMS; i++) {
        if (strcmp(e->args[i].name, "reduction") == 0) {
            const char *r = m->loss_args.str[i];
            op->flags = strcmp(r, "sum") == 0 ? COMP_OPF_SUM : strcmp(r, "batchmean") == 0 ? COMP_OPF_BATCHMEAN : 0;
        } else {
            op->p[np++] = m->loss_args.num[i][0];
        }
    }
    if (m->mix != COMP_MIX_COUNT) /* check.c allows augment with CrossEntropy only */
        op->flags |= COMP_OPF_PROBS;
}

/* Whether the optimizer argument named by a role's "?ARG" is nonzero. */
static int role_kept(const comp_entry *e, const comp_args *a, const comp_role *r)
{
    char name[32];
    if (r->cond_len == 0)
        return 1;
    snprintf(name, sizeof name, "%.*s", r->cond_len, r->cond);
    return comp_arg_num(e, a, name) != 0;
}

/* LBFGS beyond the catalog-order p[]: torch's max_eval=None (0 here) as
 * max_iter*5//4, history_size in k, line_search_fn as a flag, and the
 * state buffers of lbfgs.def, consecutive, the first in buf[2]. */
static void lower_lbfgs(lowerer *L, comp_op *op, size_t n)
{
    const comp_model *m = L->p->model;
    const comp_entry *e = &comp_optims[COMP_OPTIM_LBFGS];
    const comp_args *a = &m->optim_args;
    double max_iter = comp_arg_num(e, a, "max_iter"), max_eval = comp_arg_num(e, a, "max_eval");
    int wolfe = strcmp(comp_arg_str(e, a, "line_search_fn"), "strong_wolfe") == 0;
    size_t hist = (size_t)comp_arg_num(e, a, "history_size");
    op->p[0] = comp_arg_num(e, a, "lr");
    op->p[1] = max_iter;
    op->p[2] = max_eval != 0 ? max_eval : (double)((long)max_iter * 5 / 4); /* torch's max_eval=None */
    op->p[3] = comp_arg_num(e, a, "tolerance_grad");
    op->p[4] = comp_arg_num(e, a, "tolerance_change");
    op->k = (int32_t)hist;
    op->flags = wolfe ? COMP_OPF_STRONG_WOLFE : 0;
    const size_t size_of[] = {[0] = hist * n, [1] = hist, [2] = n, [3] = 1, [4] = n};
    enum { HIST, SLOTS, VEC, ONE, WOLFE };
    int first = -1;
#define LBFGS_BUF(id, name, size)                                                                              \
    if (size != WOLFE || wolfe) {                                                                              \
        int b = add_buf(L, COMP_ARENA_STATE, size_of[size], "%s", name);                                       \
        if (first < 0)                                                                                         \
            first = b;                                                                                         \
    }
#include "lbfgs.def"
#undef LBFGS_BUF
    op->buf[2] = first;
}

/* SparseAdam beyond the catalog-order p[] and flags: the indices the
 * Embedding looks up, one "touched" float per embedding row, the sizes,
 * all as its EMBEDDING op has them (the checker lets SparseAdam through
 * only for a model whose parameters are an Embedding's, whose weight is
 * then the whole arena). */
static void lower_sparse_adam(lowerer *L, comp_op *op)
{
    const comp_plan *p = L->p;
    int f = 0;
    while (p->ops[f].code != COMP_OP_EMBEDDING)
        f++;
    const comp_op emb = p->ops[f];
    op->buf[4] = emb.buf[1];
    op->buf[5] = add_buf(L, COMP_ARENA_STATE, (size_t)emb.k, "sparse_adam.touched");
    op->m = emb.m;
    op->k = emb.n;
    op->p[4] = emb.p[0]; /* after lr, betas, eps */
}

/* The optimizer's update op, from its catalog entry and its op's roles:
 * the numeric arguments go into p[] in catalog order (pairs take two
 * slots), the bool arguments into flags bits 0, 1, ..., and each state
 * role becomes a STATE buffer "<op name>.<role>" (ops.def). */
/* The `clip` statement: one op rewriting the whole gradient arena in place
 * between backward and update, as clip_grad_norm_ / clip_grad_value_ over
 * model.parameters(). */
static void lower_clip(lowerer *L, int all_grads)
{
    const comp_model *m = L->p->model;
    const comp_entry *e = m->clip < COMP_CLIP_COUNT ? &comp_clips[m->clip] : NULL;
    comp_op *op = NULL;
    if (!e || L->p->arena_size[COMP_ARENA_PARAM] == 0)
        return;
    switch (m->clip) {
    case COMP_CLIP_GRAD_NORM:
        if (!(op = add_op(L, COMP_OP_CLIP_GRAD_NORM, -1, m->clip_loc)))
            return;
        op->p[0] = comp_arg_num(e, &m->clip_args, "max_norm");
        op->p[1] = comp_arg_num(e, &m->clip_args, "norm_type");
        break;
    case COMP_CLIP_GRAD_VALUE:
        if (!(op = add_op(L, COMP_OP_CLIP_GRAD_VALUE, -1, m->clip_loc)))
            return;
        op->p[0] = comp_arg_num(e, &m->clip_args, "clip_value");
        break;
    case COMP_CLIP_COUNT:
        return;
    }
    op->buf[0] = all_grads;
    op->n = (int32_t)L->p->arena_size[COMP_ARENA_PARAM]; /* gradients mirror the parameters */
}

static void lower_update(lowerer *L, int all_params, int all_grads)
{
    comp_plan *p = L->p;
    const comp_model *m = p->model;
    size_t n = p->arena_size[COMP_ARENA_PARAM];
    if (n == 0 || m->optim >= COMP_OPTIM_COUNT)
        return;
    const comp_entry *e = &comp_optims[m->optim];
    const comp_opcode code = (comp_opcode)comp_optim_ops[m->optim];
    comp_op *op = add_op(L, code, -1, m->optim_loc); /* stays valid: add_buf() never moves the op array */
    if (!op)
        return;
    int np = 0, nflags = 0;
    for (int a = 0; a < e->nargs; a++) {
        const double *v = m->optim_args.num[a];
        switch (e->args[a].type) {
        case COMP_T_BOOL:
            op->flags |= (uint16_t)((v[0] != 0) << nflags++);
            break;
        case COMP_T_PAIR:
            if (np + 2 <= COMP_OP_MAX_PARAMS) /* tests/test_optim.c checks every optimizer fits */
                op->p[np] = v[0], op->p[np + 1] = v[1];
            np += 2;
            break;
        default:
            if (np < COMP_OP_MAX_PARAMS)
                op->p[np] = v[0];
            np++;
            break;
        }
    }
    /* Every optimizer makes one pass over the whole parameter arena. */
    op->buf[0] = all_params;
    op->buf[1] = all_grads;
    op->n = (int32_t)n;
    /* State roles up to the first operand that is not the op's own state
     * (SparseAdam's indices); the optimizers that need more say so below. */
    comp_role r;
    for (int i = 2; i < COMP_OP_MAX_BUFS && comp_op_role(code, i, &r) && r.out; i++)
        if (role_kept(e, &m->optim_args, &r))
            op->buf[i] = add_buf(L, COMP_ARENA_STATE, r.scalar ? 1 : n, "%s.%.*s", comp_op_names[code], r.len,
                                 r.name);
    if (code == COMP_OP_LBFGS)
        lower_lbfgs(L, op, n);
    else if (code == COMP_OP_SPARSE_ADAM)
        lower_sparse_adam(L, op);
}

/* Longest layer call a signature spells (comp_call_text). */
#define CALL_TEXT_MAX 1024

/* The model's layers as comp_plan_info.layers_text: malloc'd, NULL when
 * out of memory. */
static char *layers_text(const comp_model *m)
{
    static const char sep[] = " -> ";
    size_t cap = (size_t)m->nlayers * (CALL_TEXT_MAX + sizeof sep) + 1;
    char *t = malloc(cap);
    if (!t)
        return NULL;
    size_t len = 0;
    t[0] = '\0';
    for (int i = 0; i < m->nlayers; i++) {
        if (i) {
            memcpy(t + len, sep, sizeof sep);
            len += sizeof sep - 1;
        }
        comp_call_text(&comp_layers[m->layers[i].kind], &m->layers[i].args, t + len, CALL_TEXT_MAX);
        len += strlen(t + len);
    }
    return t;
}

/* The plan's copy of what the runtime needs of the model. */
static int plan_info(comp_plan *p, const comp_model *m)
{
    comp_plan_info *in = &p->info;
    char shape[96];
    comp_shape_format(&m->input, shape, sizeof shape);
    in->name = strdup(m->name ? m->name : "");
    in->layers = calloc((size_t)m->nlayers + 1, sizeof *in->layers);
    in->input_text = strdup(shape);
    in->layers_text = layers_text(m);
    if (!in->name || !in->layers || !in->input_text || !in->layers_text)
        return 0;
    in->hash = m->hash;
    in->optim = (int)m->optim;
    in->sched = (int)m->sched;
    in->sched_args = m->sched_args;
    in->ntransforms = m->ntransforms;
    memcpy(in->transforms, m->transforms, sizeof m->transforms);
    comp_image_shape(&m->input, &in->img_c, &in->img_h, &in->img_w);
    in->mix = (int)m->mix;
    in->mix_args = m->mix_args;
    in->nlayers = m->nlayers;
    for (int i = 0; i < m->nlayers; i++) {
        const comp_layer *l = &m->layers[i];
        double ab[2] = {0, 0};
        if (is_activation(l->kind))
            comp_rule_act_args(l, ab);
        in->layers[i] = (comp_plan_layer){(int32_t)l->kind, l->index, (float)ab[0], (float)ab[1]};
    }
    return 1;
}

comp_plan *comp_lower(const comp_model *m)
{
    lowerer L = {0};
    comp_plan *p = calloc(1, sizeof *p);
    int n = m->nlayers;
    int *tens = malloc(((size_t)n * COMP_RULE_MAX_TENSORS + 1) * sizeof *tens);
    int *ntens = calloc((size_t)n + 1, sizeof *ntens);
    int *grad = NULL;
    if (!p || !tens || !ntens)
        goto fail;
    L.p = p;
    p->model = m;
    if (!plan_info(p, m))
        goto fail;

    add_tensors(&L, tens, ntens);
    p->layer_out = malloc((size_t)n * sizeof *p->layer_out);
    if (L.failed || !p->layer_out)
        goto fail;
    int all_params = whole_arena(&L, COMP_ARENA_PARAM, "params");
    int all_grads = whole_arena(&L, COMP_ARENA_GRAD, "grads");

    const comp_layer *last = &m->layers[n - 1];
    size_t out_size = (size_t)comp_shape_size(&last->out);
    p->input = add_buf(&L, COMP_ARENA_BATCH, (size_t)comp_shape_size(&m->input), "x");
    /* Mixed batches carry class probabilities, one per output. */
    p->target_size = comp_loss_target[m->loss] == COMP_TARGET_CLASS && m->mix == COMP_MIX_COUNT ? 1 : out_size;
    p->target = add_buf(&L, COMP_ARENA_BATCH, p->target_size, "target");
    if (L.failed)
        goto fail;

    /* Forward: each layer's rule lowers it, taking the activation after it
     * along when it fuses one.  cur is the buffer holding the current
     * activation. */
    int cur = p->input;
    int first_trainable = -1; /* first forward op that has parameters */
    for (int i = 0; i < n; i++) {
        const comp_layer *l = &m->layers[i];
        const comp_rule *rule = comp_layer_rules[l->kind];
        comp_lower_in in = {.l = l, .tensors = &tens[i * COMP_RULE_MAX_TENSORS], .x = cur,
                            .act = COMP_ACT_IDENTITY, .out_index = i};
        int last_fused = i;
        if (rule->fuse_act && i + 1 < n && is_activation(m->layers[i + 1].kind)) {
            last_fused = i + 1;
            in.act = (comp_act)m->layers[i + 1].kind;
            comp_rule_act_args(&m->layers[i + 1], in.ab);
            in.out_index = last_fused;
        }
        int first_op = p->nops;
        int y = rule->lower(&L, &in);
        if (y < 0)
            goto fail;
        int trainable = 0;
        for (int j = 0; j < ntens[i]; j++)
            trainable |= p->bufs[tens[i * COMP_RULE_MAX_TENSORS + j]].arena == COMP_ARENA_PARAM;
        if (trainable && first_trainable < 0)
            first_trainable = first_op;
        p->layer_out[i] = last_fused == i ? y : -1;
        p->layer_out[last_fused] = y;
        i = last_fused;
        cur = y;
    }
    p->output = cur;
    /* Every layer's output with its shape, for `netc explain` (a view's
     * buffer keeps the shape of the layer that wrote it). */
    for (int i = 0; i < n; i++) {
        comp_buf *b = p->layer_out[i] >= 0 ? &p->bufs[p->layer_out[i]] : NULL;
        if (b && b->rank == 0) {
            b->rank = m->layers[i].out.rank;
            memcpy(b->dims, m->layers[i].out.dims, sizeof b->dims);
        }
    }
    p->bufs[p->input].rank = m->input.rank;
    memcpy(p->bufs[p->input].dims, m->input.dims, sizeof m->input.dims);

    /* Loss: softmax is fused into the cross-entropy. */
    int dout = add_buf(&L, COMP_ARENA_BATCH, out_size, "d%s", name_of(&L, cur).s);
    p->loss = add_buf(&L, COMP_ARENA_SCALAR, 1, "loss");
    comp_op *lop = add_op(&L, (comp_opcode)comp_loss_ops[m->loss], -1, m->loss_loc);
    if (!lop || L.failed)
        goto fail;
    lower_loss_args(m, lop);
    lop->buf[0] = p->loss;
    lop->buf[1] = dout;
    lop->buf[2] = cur;
    lop->buf[3] = p->target;
    lop->n = (int32_t)out_size;

    /* Backward: the forward ops in reverse; gradients of activations get
     * a buffer each, named after the activation. */
    /* grad[b]: the gradient buffer of forward buffer b (all exist by now). */
    int nforward_bufs = p->nbufs;
    grad = malloc((size_t)nforward_bufs * sizeof *grad);
    if (!grad)
        goto fail;
    for (int b = 0; b < nforward_bufs; b++)
        grad[b] = -1;
    grad[cur] = dout;
    int nfwd = p->nfwd;
    for (int f = nfwd - 1; f >= 0 && f >= first_trainable && first_trainable >= 0; f--) {
        comp_op fop = p->ops[f]; /* copy: add_op may move the array */
        gram_loc loc = {fop.line, fop.col, fop.line, fop.col};
        int y = fop.buf[0];
        int x = input_x(&fop);
        int dx = -1;
        if (f > first_trainable) {
            dx = add_buf(&L, COMP_ARENA_BATCH, p->bufs[x].size, "d%s", name_of(&L, x).s);
            if (dx < 0)
                goto fail;
            p->bufs[dx].rank = p->bufs[x].rank;
            memcpy(p->bufs[dx].dims, p->bufs[x].dims, sizeof p->bufs[dx].dims);
        }
        const comp_opcode bcode = backward_of[fop.code];
        comp_op *op = add_op(&L, bcode, fop.layer, loc);
        if (!op)
            goto fail;
        op->act = fop.act;
        memcpy(op->p, fop.p, sizeof op->p);
        op->m = fop.m;
        op->n = fop.n;
        op->k = fop.k;
        op->g = fop.g;
        /* SparseAdam reads only the Embedding rows a batch touched, so only
         * those need writing; a dense optimizer reads every row. */
        if (bcode == COMP_OP_EMBEDDING_BWD && m->optim == COMP_OPTIM_SPARSE_ADAM)
            op->flags = COMP_OPF_SPARSE;
        /* The operands by role: dx and dy the gradients of the forward op's
         * x and y, dW/db the gradients of its parameters W/b, any other
         * role the forward operand of that name. */
        comp_role r;
        for (int i = 0; i < COMP_OP_MAX_BUFS && comp_op_role(bcode, i, &r); i++) {
            int b = -1;
            if (r.len == 2 && memcmp(r.name, "dx", 2) == 0)
                b = dx;
            else if (r.len == 2 && memcmp(r.name, "dy", 2) == 0)
                b = grad[y];
            else if (r.name[0] == 'd') {
                int param = forward_operand(&fop, r.name + 1, r.len - 1);
                b = param >= 0 ? grad_of_param(&L, param) : -1;
                if (param >= 0 && b < 0)
                    goto fail;
            } else
                b = forward_operand(&fop, r.name, r.len);
            op->buf[i] = b;
        }
        if (dx >= 0)
            grad[x] = dx;
    }
    lower_clip(&L, all_grads);
    lower_update(&L, all_params, all_grads);
    if (L.failed || !layout_batch(p))
        goto fail;
    for (int a = 0; a < COMP_ARENA_COUNT; a++)
        if (p->arena_size[a] > COMP_MAX_ARENA) {
            gram_error(m->spec->src, m->spec->model_loc,
                       "model '%s' needs %zu floats of %s%s; at most %u are supported", m->name, p->arena_size[a],
                       comp_arena_names[a], a == COMP_ARENA_BATCH ? " per sample" : "", COMP_MAX_ARENA);
            goto fail;
        }
    free(tens);
    free(ntens);
    free(grad);
    return p;
fail:
    free(tens);
    free(ntens);
    free(grad);
    comp_plan_free(p);
    return NULL;
}

void comp_plan_free(comp_plan *p)
{
    if (!p)
        return;
    free(p->ops);
    free(p->bufs);
    free(p->params);
    free(p->state);
    free(p->inits);
    free(p->info.name);
    free(p->info.layers);
    free(p->info.input_text);
    free(p->info.layers_text);
    free(p->layer_out);
    free(p);
}

int comp_plan_find_buf(const comp_plan *p, const char *name)
{
    for (int b = 0; b < p->nbufs; b++)
        if (strcmp(p->bufs[b].name, name) == 0)
            return b;
    return -1;
}

size_t comp_plan_param_count(const comp_plan *p)
{
    return p->arena_size[COMP_ARENA_PARAM];
}
