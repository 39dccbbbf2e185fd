/* lower.c — from a checked model to the plan: fusion, buffer assignment,
 * backward and update ops. */
#include "plan.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const comp_op_names[COMP_OP_COUNT] = {
#define OP(id, name, phase, roles) name,
#include "ops.def"
#undef OP
};

const comp_phase comp_op_phases[COMP_OP_COUNT] = {
#define OP(id, name, phase, roles) COMP_PHASE_##phase,
#include "ops.def"
#undef OP
};

const char *const comp_op_roles[COMP_OP_COUNT] = {
#define OP(id, name, phase, roles) roles,
#include "ops.def"
#undef OP
};

typedef struct {
    comp_plan *p;
    int cap_ops, cap_bufs;
    int failed;
} lowerer;

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

static int is_activation(comp_layer_kind k)
{
    return (int)k < COMP_ACT_COUNT;
}

/* An activation layer's float arguments a, b (0 when absent). */
static void act_params(const comp_layer *l, double *ab)
{
    int slots[2];
    int n = comp_act_float_args((comp_act)l->kind, slots);
    ab[0] = ab[1] = 0;
    for (int i = 0; i < n; i++)
        ab[i] = l->args.num[slots[i]][0];
}

/* The parameter tensors, in chain order, named as nn.Sequential's
 * state_dict names them. */
static void add_params(lowerer *L, int *weight, int *bias)
{
    const comp_model *m = L->p->model;
    comp_plan *p = L->p;
    for (int i = 0; i < m->nlayers; i++) {
        const comp_layer *l = &m->layers[i];
        weight[i] = bias[i] = -1;
        if (l->kind != COMP_LAYER_LINEAR)
            continue;
        int in = (int)l->args.num[0][0], out = (int)l->args.num[1][0];
        weight[i] = add_buf(L, COMP_ARENA_PARAM, (size_t)in * out, "%d.weight", l->index);
        if (weight[i] < 0)
            return;
        p->bufs[weight[i]].layer = i;
        p->bufs[weight[i]].rank = 2;
        p->bufs[weight[i]].dims[0] = out;
        p->bufs[weight[i]].dims[1] = in;
        if (l->args.num[2][0] != 0) {
            bias[i] = add_buf(L, COMP_ARENA_PARAM, (size_t)out, "%d.bias", l->index);
            if (bias[i] < 0)
                return;
            p->bufs[bias[i]].layer = i;
            p->bufs[bias[i]].rank = 1;
            p->bufs[bias[i]].dims[0] = out;
        }
    }
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
    const comp_entry *e = &comp_optims[m->optim];
    size_t n = p->arena_size[COMP_ARENA_PARAM];
    comp_op *op = NULL; /* stays valid: add_buf() never moves the op array */
    if (n == 0)
        return;
    switch (m->optim) {
    case COMP_OPTIM_SGD:
        if (!(op = add_op(L, COMP_OP_SGD, -1, m->optim_loc)))
            return;
        op->p[0] = comp_arg_num(e, &m->optim_args, "lr");
        op->p[1] = comp_arg_num(e, &m->optim_args, "momentum");
        op->p[2] = comp_arg_num(e, &m->optim_args, "dampening");
        op->p[3] = comp_arg_num(e, &m->optim_args, "weight_decay");
        op->flags = (uint16_t)((comp_arg_num(e, &m->optim_args, "nesterov") != 0 ? COMP_OPF_NESTEROV : 0) |
                              (comp_arg_num(e, &m->optim_args, "maximize") != 0 ? COMP_OPF_MAXIMIZE : 0));
        if (op->p[1] != 0) /* torch keeps no momentum buffer without momentum */
            op->buf[2] = add_buf(L, COMP_ARENA_STATE, n, "sgd.momentum_buffer");
        break;
    case COMP_OPTIM_ADAM: {
        if (!(op = add_op(L, COMP_OP_ADAM, -1, m->optim_loc)))
            return;
        int betas = comp_arg_index(e, "betas");
        op->p[0] = comp_arg_num(e, &m->optim_args, "lr");
        op->p[1] = m->optim_args.num[betas][0];
        op->p[2] = m->optim_args.num[betas][1];
        op->p[3] = comp_arg_num(e, &m->optim_args, "eps");
        op->p[4] = comp_arg_num(e, &m->optim_args, "weight_decay");
        int amsgrad = comp_arg_num(e, &m->optim_args, "amsgrad") != 0;
        op->flags = (uint16_t)((amsgrad ? COMP_OPF_AMSGRAD : 0) |
                              (comp_arg_num(e, &m->optim_args, "maximize") != 0 ? COMP_OPF_MAXIMIZE : 0));
        op->buf[2] = add_buf(L, COMP_ARENA_STATE, n, "adam.exp_avg");
        op->buf[3] = add_buf(L, COMP_ARENA_STATE, n, "adam.exp_avg_sq");
        if (amsgrad)
            op->buf[4] = add_buf(L, COMP_ARENA_STATE, n, "adam.max_exp_avg_sq");
        break;
    }
    case COMP_OPTIM_COUNT:
        return;
    }
    /* Every optimizer makes one pass over the whole parameter arena. */
    op->buf[0] = all_params;
    op->buf[1] = all_grads;
    op->n = (int32_t)n;
}

comp_plan *comp_lower(const comp_model *m)
{
    lowerer L = {0};
    comp_plan *p = calloc(1, sizeof *p);
    int n = m->nlayers;
    int *weight = calloc((size_t)n + 1, sizeof *weight);
    int *bias = calloc((size_t)n + 1, sizeof *bias);
    int *grad = NULL;
    if (!p || !weight || !bias)
        goto fail;
    L.p = p;
    p->model = m;

    add_params(&L, weight, bias);
    for (int i = 0; i < n; i++)
        if (weight[i] >= 0)
            p->nparams += 1 + (bias[i] >= 0);
    p->params = calloc((size_t)p->nparams + 1, sizeof *p->params);
    if (!p->params)
        goto fail;
    for (int i = 0, k = 0; i < n; i++) {
        if (weight[i] >= 0)
            p->params[k++] = weight[i];
        if (bias[i] >= 0)
            p->params[k++] = bias[i];
    }
    int all_params = whole_arena(&L, COMP_ARENA_PARAM, "params");
    int all_grads = whole_arena(&L, COMP_ARENA_GRAD, "grads");

    const comp_layer *last = &m->layers[n - 1];
    size_t out_size = (size_t)comp_shape_size(&last->out);
    p->input = add_buf(&L, COMP_ARENA_BATCH, (size_t)comp_shape_size(&m->input), "x");
    p->target_size = m->loss == COMP_LOSS_CROSS_ENTROPY ? 1 : out_size;
    p->target = add_buf(&L, COMP_ARENA_BATCH, p->target_size, "target");
    if (L.failed)
        goto fail;

    /* Forward.  cur is the buffer holding the current activation. */
    int cur = p->input;
    int first_trainable = -1; /* first forward op that has parameters */
    for (int i = 0; i < n; i++) {
        const comp_layer *l = &m->layers[i];
        size_t size = (size_t)comp_shape_size(&l->out);
        comp_op *op = NULL;
        if (l->kind == COMP_LAYER_LINEAR) {
            int last_fused = i;
            comp_act act = COMP_ACT_IDENTITY;
            double ab[2] = {0, 0};
            if (i + 1 < n && is_activation(m->layers[i + 1].kind)) {
                last_fused = i + 1;
                act = (comp_act)m->layers[i + 1].kind;
                act_params(&m->layers[i + 1], ab);
            }
            int y = add_buf(&L, COMP_ARENA_BATCH, size, "h%d", last_fused);
            int z = comp_act_needs_x[act] ? add_buf(&L, COMP_ARENA_BATCH, size, "z%d", i) : -1;
            if (!(op = add_op(&L, COMP_OP_LINEAR, i, l->loc)))
                goto fail;
            op->act = (uint8_t)act;
            op->p[0] = ab[0];
            op->p[1] = ab[1];
            op->buf[0] = y;
            op->buf[1] = z;
            op->buf[2] = cur;
            op->buf[3] = weight[i];
            op->buf[4] = bias[i];
            op->k = (int32_t)l->args.num[0][0];
            op->n = (int32_t)l->args.num[1][0];
            op->m = (int32_t)(size / (size_t)op->n);
            if (first_trainable < 0)
                first_trainable = p->nops - 1;
            i = last_fused;
            cur = y;
            continue;
        }
        if (l->kind == COMP_LAYER_FLATTEN || l->kind == COMP_LAYER_IDENTITY)
            continue; /* a view: same storage, new shape */
        int y = add_buf(&L, COMP_ARENA_BATCH, size, "h%d", i);
        if (is_activation(l->kind)) {
            double ab[2];
            act_params(l, ab);
            if (!(op = add_op(&L, COMP_OP_ACT, i, l->loc)))
                goto fail;
            op->act = (uint8_t)l->kind;
            op->p[0] = ab[0];
            op->p[1] = ab[1];
            op->n = (int32_t)size;
            op->buf[0] = y;
            op->buf[1] = cur;
        } else if (l->kind == COMP_LAYER_DROPOUT) {
            int mask = add_buf(&L, COMP_ARENA_BATCH, size, "mask%d", i);
            if (!(op = add_op(&L, COMP_OP_DROPOUT, i, l->loc)))
                goto fail;
            op->p[0] = l->args.num[0][0];
            op->n = (int32_t)size;
            op->buf[0] = y;
            op->buf[1] = mask;
            op->buf[2] = cur;
        } else if (l->kind == COMP_LAYER_SOFTMAX || l->kind == COMP_LAYER_LOG_SOFTMAX) {
            int dim = (int)l->args.num[0][0];
            int axis = (dim < 0 ? dim + l->in.rank + 1 : dim) - 1; /* per-sample axis */
            long outer = 1, inner = 1;
            for (int d = 0; d < axis; d++)
                outer *= l->in.dims[d];
            for (int d = axis + 1; d < l->in.rank; d++)
                inner *= l->in.dims[d];
            if (!(op = add_op(&L, l->kind == COMP_LAYER_SOFTMAX ? COMP_OP_SOFTMAX : COMP_OP_LOG_SOFTMAX, i,
                              l->loc)))
                goto fail;
            op->m = (int32_t)outer;
            op->n = l->in.dims[axis];
            op->k = (int32_t)inner;
            op->buf[0] = y;
            op->buf[1] = cur;
        }
        cur = y;
    }
    p->output = cur;

    /* Loss: softmax is fused into the cross-entropy. */
    const comp_entry *le = &comp_losses[m->loss];
    int dout = add_buf(&L, COMP_ARENA_BATCH, out_size, "d%s", name_of(&L, cur).s);
    p->loss = add_buf(&L, COMP_ARENA_SCALAR, 1, "loss");
    comp_op *lop = add_op(&L, m->loss == COMP_LOSS_CROSS_ENTROPY ? COMP_OP_XENT : COMP_OP_MSE, -1, m->loss_loc);
    if (!lop || L.failed)
        goto fail;
    lop->flags = strcmp(comp_arg_str(le, &m->loss_args, "reduction"), "sum") == 0 ? COMP_OPF_SUM : 0;
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
        int x = fop.code == COMP_OP_DROPOUT ? fop.buf[2] : fop.code == COMP_OP_LINEAR ? fop.buf[2] : fop.buf[1];
        int dx = -1;
        if (f > first_trainable) {
            dx = add_buf(&L, COMP_ARENA_BATCH, p->bufs[x].size, "d%s", name_of(&L, x).s);
            if (dx < 0)
                goto fail;
        }
        comp_op *op;
        switch ((comp_opcode)fop.code) {
        case COMP_OP_LINEAR: {
            int dW = grad_of_param(&L, fop.buf[3]);
            int db = fop.buf[4] >= 0 ? grad_of_param(&L, fop.buf[4]) : -1;
            if (!(op = add_op(&L, COMP_OP_LINEAR_BWD, fop.layer, loc)))
                goto fail;
            op->act = fop.act;
            memcpy(op->p, fop.p, sizeof op->p);
            op->m = fop.m;
            op->n = fop.n;
            op->k = fop.k;
            int ops_b[] = {dx, dW, db, grad[y], comp_act_needs_x[fop.act] ? -1 : y, fop.buf[1], x, fop.buf[3]};
            memcpy(op->buf, ops_b, sizeof ops_b);
            break;
        }
        case COMP_OP_ACT:
            if (!(op = add_op(&L, COMP_OP_ACT_BWD, fop.layer, loc)))
                goto fail;
            op->act = fop.act;
            memcpy(op->p, fop.p, sizeof op->p);
            op->n = fop.n;
            op->buf[0] = dx;
            op->buf[1] = grad[y];
            op->buf[2] = comp_act_needs_x[fop.act] ? x : -1;
            op->buf[3] = comp_act_needs_x[fop.act] ? -1 : y;
            break;
        case COMP_OP_DROPOUT:
            if (!(op = add_op(&L, COMP_OP_DROPOUT_BWD, fop.layer, loc)))
                goto fail;
            op->n = fop.n;
            op->buf[0] = dx;
            op->buf[1] = grad[y];
            op->buf[2] = fop.buf[1];
            break;
        case COMP_OP_SOFTMAX:
        case COMP_OP_LOG_SOFTMAX:
            if (!(op = add_op(&L, fop.code == COMP_OP_SOFTMAX ? COMP_OP_SOFTMAX_BWD : COMP_OP_LOG_SOFTMAX_BWD,
                              fop.layer, loc)))
                goto fail;
            op->m = fop.m;
            op->n = fop.n;
            op->k = fop.k;
            op->buf[0] = dx;
            op->buf[1] = grad[y];
            op->buf[2] = y;
            break;
        default:
            break;
        }
        if (dx >= 0)
            grad[x] = dx;
    }
    lower_clip(&L, all_grads);
    lower_update(&L, all_params, all_grads);
    if (L.failed)
        goto fail;
    free(weight);
    free(bias);
    free(grad);
    return p;
fail:
    free(weight);
    free(bias);
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
    free(p);
}

size_t comp_plan_param_count(const comp_plan *p)
{
    return p->arena_size[COMP_ARENA_PARAM];
}
