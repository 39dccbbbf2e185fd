/* exec.c — the plan interpreter: one executor per op of ops.def, called
 * through a table expanded from that list. */
#include "kernels.h"
#include "net.h"

#include <stdlib.h>
#include <string.h>

typedef void exec_fn(rt_net *net, const comp_op *op);

/* Optional operands are -1 in the plan and NULL here. */
static float *B(const rt_net *net, int b)
{
    return b < 0 ? NULL : rt_net_buf(net, b);
}

static size_t rows(const rt_net *net, const comp_op *op)
{
    return (size_t)net->batch * (size_t)op->m;
}

static void rt_exec_LINEAR(rt_net *net, const comp_op *op)
{
    rt_linear_forward(B(net, op->buf[2]), B(net, op->buf[3]), B(net, op->buf[4]), B(net, op->buf[1]),
                      B(net, op->buf[0]), (int)rows(net, op), op->k, op->n, (comp_act)op->act, (float)op->p[0],
                      (float)op->p[1]);
}

static void rt_exec_ACT(rt_net *net, const comp_op *op)
{
    rt_act_forward((comp_act)op->act, (float)op->p[0], (float)op->p[1], B(net, op->buf[1]), B(net, op->buf[0]),
                   (size_t)net->batch * (size_t)op->n);
}

static void rt_exec_DROPOUT(rt_net *net, const comp_op *op)
{
    size_t n = (size_t)net->batch * (size_t)op->n;
    if (net->training)
        rt_dropout_forward(B(net, op->buf[2]), B(net, op->buf[0]), B(net, op->buf[1]), n, (float)op->p[0],
                           &net->dropout_rng);
    else
        memcpy(B(net, op->buf[0]), B(net, op->buf[2]), n * sizeof(float));
}

/* Softmax's outer extent spans the batch too: (batch * m, n, k). */
static void rt_exec_SOFTMAX(rt_net *net, const comp_op *op)
{
    rt_softmax_forward(B(net, op->buf[1]), B(net, op->buf[0]), rows(net, op), (size_t)op->n, (size_t)op->k);
}

static void rt_exec_LOG_SOFTMAX(rt_net *net, const comp_op *op)
{
    rt_log_softmax_forward(B(net, op->buf[1]), B(net, op->buf[0]), rows(net, op), (size_t)op->n, (size_t)op->k);
}

static void rt_exec_XENT(rt_net *net, const comp_op *op)
{
    B(net, op->buf[0])[0] = rt_xent(B(net, op->buf[2]), B(net, op->buf[3]), net->training ? B(net, op->buf[1]) : NULL,
                                    net->batch, op->n, op->flags & COMP_OPF_SUM);
}

static void rt_exec_MSE(rt_net *net, const comp_op *op)
{
    B(net, op->buf[0])[0] = rt_mse(B(net, op->buf[2]), B(net, op->buf[3]), net->training ? B(net, op->buf[1]) : NULL,
                                   (size_t)net->batch * (size_t)op->n, op->flags & COMP_OPF_SUM);
}

/* dz is computed in place in dy's buffer: dy is dead after this op. */
static void rt_exec_LINEAR_BWD(rt_net *net, const comp_op *op)
{
    float *dy = B(net, op->buf[3]);
    rt_linear_backward(dy, B(net, op->buf[5]), B(net, op->buf[4]), dy, B(net, op->buf[6]), B(net, op->buf[7]),
                       B(net, op->buf[0]), B(net, op->buf[1]), B(net, op->buf[2]), (int)rows(net, op), op->k, op->n,
                       (comp_act)op->act, (float)op->p[0], (float)op->p[1]);
}

static void rt_exec_ACT_BWD(rt_net *net, const comp_op *op)
{
    rt_act_backward((comp_act)op->act, (float)op->p[0], (float)op->p[1], B(net, op->buf[2]), B(net, op->buf[3]),
                    B(net, op->buf[1]), B(net, op->buf[0]), (size_t)net->batch * (size_t)op->n);
}

static void rt_exec_DROPOUT_BWD(rt_net *net, const comp_op *op)
{
    rt_dropout_backward(B(net, op->buf[1]), B(net, op->buf[2]), B(net, op->buf[0]), (size_t)net->batch * (size_t)op->n);
}

static void rt_exec_SOFTMAX_BWD(rt_net *net, const comp_op *op)
{
    rt_softmax_backward(B(net, op->buf[2]), B(net, op->buf[1]), B(net, op->buf[0]), rows(net, op), (size_t)op->n,
                        (size_t)op->k);
}

static void rt_exec_LOG_SOFTMAX_BWD(rt_net *net, const comp_op *op)
{
    rt_log_softmax_backward(B(net, op->buf[2]), B(net, op->buf[1]), B(net, op->buf[0]), rows(net, op), (size_t)op->n,
                            (size_t)op->k);
}

/* clip_grad_norm_: the norm of the per-tensor norms (each a float32, as
 * torch.norm returns them), then one scaling of the whole arena. */
static void rt_exec_CLIP_GRAD_NORM(rt_net *net, const comp_op *op)
{
    const comp_plan *p = net->plan;
    float *g = B(net, op->buf[0]);
    for (int k = 0; k < p->nparams; k++) {
        const comp_buf *b = &p->bufs[p->params[k]];
        net->norms[k] = rt_norm(g + b->offset, b->size, op->p[1]);
    }
    rt_clip_scale(g, (size_t)op->n, rt_norm(net->norms, (size_t)p->nparams, op->p[1]), op->p[0]);
}

static void rt_exec_CLIP_GRAD_VALUE(rt_net *net, const comp_op *op)
{
    rt_clip_value(B(net, op->buf[0]), (size_t)op->n, op->p[0]);
}

static void rt_exec_SGD(rt_net *net, const comp_op *op)
{
    rt_sgd_step(B(net, op->buf[0]), B(net, op->buf[1]), B(net, op->buf[2]), (size_t)op->n, net->step, op->p[0],
                op->p[1], op->p[2], op->p[3], op->flags & COMP_OPF_NESTEROV, op->flags & COMP_OPF_MAXIMIZE);
}

static void rt_exec_ADAM(rt_net *net, const comp_op *op)
{
    rt_adam_step(B(net, op->buf[0]), B(net, op->buf[1]), B(net, op->buf[2]), B(net, op->buf[3]), B(net, op->buf[4]),
                 (size_t)op->n, net->step, op->p[0], op->p[1], op->p[2], op->p[3], op->p[4],
                 op->flags & COMP_OPF_AMSGRAD, op->flags & COMP_OPF_MAXIMIZE);
}

static exec_fn *const exec_table[COMP_OP_COUNT] = {
#define OP(id, name, phase, roles) [COMP_OP_##id] = rt_exec_##id,
#include "../compiler/ops.def"
#undef OP
};

rt_net *rt_net_new(const comp_plan *plan, int max_batch)
{
    rt_net *net = calloc(1, sizeof *net);
    if (!net)
        return NULL;
    net->plan = plan;
    net->max_batch = max_batch;
    net->batch = max_batch;
    net->ops = malloc(((size_t)plan->nops + 1) * sizeof *net->ops);
    net->norms = malloc(((size_t)plan->nparams + 1) * sizeof *net->norms);
    if (!net->ops || !net->norms) {
        rt_net_free(net);
        return NULL;
    }
    memcpy(net->ops, plan->ops, (size_t)plan->nops * sizeof *net->ops);
    rt_sched_init(&net->sched, plan->model, rt_net_lr(net));
    for (int a = 0; a < COMP_ARENA_COUNT; a++) {
        size_t n = plan->arena_size[a] * (a == COMP_ARENA_BATCH ? (size_t)max_batch : 1);
        net->arena[a] = calloc(n ? n : 1, sizeof(float));
        if (!net->arena[a]) {
            rt_net_free(net);
            return NULL;
        }
    }
    return net;
}

void rt_net_free(rt_net *net)
{
    if (!net)
        return;
    for (int a = 0; a < COMP_ARENA_COUNT; a++)
        free(net->arena[a]);
    free(net->ops);
    free(net->norms);
    free(net);
}

float *rt_net_buf(const rt_net *net, int b)
{
    const comp_buf *buf = &net->plan->bufs[b];
    size_t scale = buf->arena == COMP_ARENA_BATCH ? (size_t)net->batch : 1;
    return net->arena[buf->arena] + buf->offset * scale;
}

void rt_net_set_batch(rt_net *net, int batch, int training)
{
    net->batch = batch;
    net->training = training;
}

static void run(rt_net *net, int first, int count)
{
    const comp_op *ops = net->ops;
    for (int i = first; i < first + count; i++)
        exec_table[ops[i].code](net, &ops[i]);
}

float rt_net_forward(rt_net *net)
{
    const comp_plan *p = net->plan;
    run(net, 0, p->nfwd + p->nloss);
    return rt_net_buf(net, p->loss)[0];
}

void rt_net_infer(rt_net *net)
{
    run(net, 0, net->plan->nfwd);
}

void rt_net_backward(rt_net *net)
{
    const comp_plan *p = net->plan;
    run(net, p->nfwd + p->nloss, p->nbwd);
}

void rt_net_update(rt_net *net)
{
    const comp_plan *p = net->plan;
    net->step++;
    run(net, p->nfwd + p->nloss + p->nbwd, p->nclip + p->nupd);
}

void rt_net_run_phase(rt_net *net, comp_phase phase)
{
    for (int i = 0; i < net->plan->nops; i++)
        if (comp_op_phases[net->ops[i].code] == phase)
            run(net, i, 1);
}

void rt_net_set_lr(rt_net *net, double lr)
{
    for (int i = 0; i < net->plan->nops; i++)
        if (comp_op_phases[net->ops[i].code] == COMP_PHASE_UPD)
            net->ops[i].p[0] = lr;
}

double rt_net_lr(const rt_net *net)
{
    for (int i = 0; i < net->plan->nops; i++)
        if (comp_op_phases[net->ops[i].code] == COMP_PHASE_UPD)
            return net->ops[i].p[0];
    return 0;
}
