/* exec.c — the plan interpreter: one executor per op of ops.def, expanded
 * from the op's call expression there and called through a table expanded
 * from the same list. */
/* mmap's MAP_ANONYMOUS and madvise's MADV_HUGEPAGE are not POSIX. */
#define _DEFAULT_SOURCE
#include "../compiler/buf_align.h"
#include "anomaly.h"
#include "dist.h"
#include "embedding.h"
#include "kernels.h"
#include "lbfgs.h"
#include "net.h"
#include "q8_net.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

typedef void exec_fn(rt_net *net, const comp_op *op);

/* Optional operands are -1 in the plan and NULL here. */
static float *B(const rt_net *net, int b)
{
    return b < 0 ? NULL : rt_net_buf(net, b);
}

/* The operand words of ops.def's call expressions, read from the op and
 * the net (compiler/emit.c gives them constant values instead). */
#define BUF(i) B(net, op->buf[i])
#define FP(i) ((float)op->p[i])
#define DP(i) (op->p[i])
#define FLAG(x) (op->flags & COMP_OPF_##x)
#define BOOL(i) ((op->flags >> (i)) & 1)
#define M (op->m)
#define N (op->n)
#define K (op->k)
#define ACT ((comp_act)op->act)
#define BATCH (net->batch)
#define ROWS ((size_t)net->batch * (size_t)op->m)
#define NELEM ((size_t)net->batch * (size_t)op->n)
#define TRAINING (net->training)
#define STEP (net->step)
#define RNG (&net->dropout_rng)
#define NET net
#define SELF op
#define LOSS_VALUE ((double)rt_net_buf(net, net->plan->loss)[0])
#define CLOSURE rt_net_closure
#define CLOSURE_CTX net
#define PSIZES (net->param_sizes)
#define NPARAMS (net->plan->nparams)
#define NORMS (net->norms)
#define GEOM (&op->g)

double rt_net_closure(void *ctx)
{
    rt_net *net = ctx;
    double loss = (double)rt_net_forward(net);
    rt_net_backward(net);
    return loss;
}

/* One executor per op, its body the op's call expression. */
#define OP(id, name, phase, roles, call)                \
    static void rt_exec_##id(rt_net *net, const comp_op *op) \
    {                                                   \
        (void)net;                                      \
        (void)op;                                       \
        call;                                           \
    }
#include "../compiler/ops.def"
#undef OP

static exec_fn *const exec_table[COMP_OP_COUNT] = {
#define OP(id, name, phase, roles, call) [COMP_OP_##id] = rt_exec_##id,
#include "../compiler/ops.def"
#undef OP
};

/* Arenas from this size up are mapped on their own and asked for huge
 * pages (below it, a huge page would be mostly waste). */
#define RT_HUGE_ARENA_BYTES ((size_t)4 << 20)
/* Every arena starts on a cache line (a mapping, on a page). */
#define RT_ARENA_ALIGN ((size_t)64)

/* n zeroed floats for arena a of net.  A large arena (a batch of
 * thousands at inference) is an anonymous mapping, zero by definition and
 * advised to use transparent huge pages: its first pass then takes one
 * page fault per 2 MiB instead of one per 4 KiB.  On the development
 * machine (a virtual machine, where a fault costs microseconds) the 4 KiB
 * faults of one batch-10,000 pass of the MNIST MLP (about 50 MB touched)
 * took twice as long as its arithmetic: 0.20 s a pass, 0.07 s with huge
 * pages.  Where the system has no such mapping, or refuses it, zeroed
 * memory from aligned_alloc. */
static float *arena_alloc(rt_net *net, int a, size_t n)
{
    size_t bytes = (n ? n : 1) * sizeof(float);
#if defined(MAP_ANONYMOUS) && defined(MADV_HUGEPAGE)
    if (bytes >= RT_HUGE_ARENA_BYTES) {
        void *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m != MAP_FAILED) {
            /* Advice only: without huge pages the mapping still works. */
            (void)madvise(m, bytes, MADV_HUGEPAGE);
            net->arena_mapped[a] = bytes;
            return m;
        }
    }
#endif
    /* calloc promises 16 bytes of alignment; the plan aligns buffers to
     * cache lines within the arena, so the arena starts on one too. */
    bytes = (bytes + RT_ARENA_ALIGN - 1) / RT_ARENA_ALIGN * RT_ARENA_ALIGN;
    float *f = aligned_alloc(RT_ARENA_ALIGN, bytes);
    if (f)
        memset(f, 0, bytes);
    return f;
}

static void arena_free(rt_net *net, int a)
{
#if defined(MAP_ANONYMOUS) && defined(MADV_HUGEPAGE)
    if (net->arena_mapped[a]) {
        munmap(net->arena[a], net->arena_mapped[a]);
        return;
    }
#endif
    free(net->arena[a]);
}

/* rt_net_new, or with share the PARAM arena of that net; with layout >= 0
 * (a comp_layout_kind) its batch buffers where that layout puts them. */
static rt_net *net_new(const comp_plan *plan, int max_batch, const rt_net *share, int layout, float *batch_storage)
{
    rt_net *net = calloc(1, sizeof *net);
    if (!net)
        return NULL;
    size_t batch_floats = plan->arena_size[COMP_ARENA_BATCH];
    if (layout >= 0) {
        net->batch_offsets = malloc(((size_t)plan->nbufs + 1) * sizeof *net->batch_offsets);
        if (!net->batch_offsets || !(batch_floats = comp_batch_layout(plan, (comp_layout_kind)layout,
                                                                      net->batch_offsets))) {
            rt_net_free(net);
            return NULL;
        }
    }
    net->plan = plan;
    net->anomaly.op = -1;
    net->max_batch = max_batch;
    net->batch = max_batch;
    net->ops = malloc(((size_t)plan->nops + 1) * sizeof *net->ops);
    net->norms = malloc(((size_t)plan->nparams + 1) * sizeof *net->norms);
    net->param_sizes = malloc(((size_t)plan->nparams + 1) * sizeof *net->param_sizes);
    if (!net->ops || !net->norms || !net->param_sizes) {
        rt_net_free(net);
        return NULL;
    }
    memcpy(net->ops, plan->ops, (size_t)plan->nops * sizeof *net->ops);
    for (int k = 0; k < plan->nparams; k++)
        net->param_sizes[k] = (int32_t)plan->bufs[plan->params[k]].size;
    rt_sched_init(&net->sched, plan, rt_net_lr(net));
    for (int a = 0; a < COMP_ARENA_COUNT; a++) {
        /* Inference reads the parameters and the model state (running
         * statistics) and writes neither. */
        if (share && (a == COMP_ARENA_PARAM || a == COMP_ARENA_MODEL)) {
            net->arena[a] = share->arena[a];
            net->borrows_params = 1;
            continue;
        }
        /* Forward passes and losses never touch gradients or optimizer
         * state: an inference net beside another goes without them. */
        if (share && (a == COMP_ARENA_GRAD || a == COMP_ARENA_STATE))
            continue;
        if (a == COMP_ARENA_BATCH && batch_storage) {
            net->arena[a] = batch_storage;
            net->borrows_batch = 1;
            continue;
        }
        size_t n = a == COMP_ARENA_BATCH ? batch_floats * (size_t)max_batch : plan->arena_size[a];
        net->arena[a] = arena_alloc(net, a, n);
        if (!net->arena[a]) {
            rt_net_free(net);
            return NULL;
        }
    }
    return net;
}

double rt_net_bytes(const comp_plan *plan, int max_batch, int inference)
{
    size_t batch_floats = plan->arena_size[COMP_ARENA_BATCH];
    if (inference) {
        size_t *off = malloc(((size_t)plan->nbufs + 1) * sizeof *off);
        const size_t eval = off ? comp_batch_layout(plan, COMP_LAYOUT_EVAL, off) : 0;
        free(off);
        if (eval) /* else (out of memory) the training layout, an upper bound */
            batch_floats = eval;
    }
    double floats = (double)batch_floats * max_batch;
    for (int a = 0; a < COMP_ARENA_COUNT; a++)
        if (a != COMP_ARENA_BATCH)
            floats += (double)plan->arena_size[a];
    return floats * sizeof(float);
}

rt_net *rt_net_new(const comp_plan *plan, int max_batch)
{
    return net_new(plan, max_batch, NULL, -1, NULL);
}

rt_net *rt_net_new_inference(const comp_plan *plan, int max_batch)
{
    return net_new(plan, max_batch, NULL, COMP_LAYOUT_EVAL, NULL);
}

rt_net *rt_net_new_sharing(const rt_net *src)
{
    /* Generated code addresses the buffers where the plan puts them. */
    rt_net *net = net_new(src->plan, src->max_batch, src, src->run_op ? -1 : COMP_LAYOUT_EVAL, NULL);
    if (net)
        net->run_op = src->run_op;
    /* The int8 model is read-only; its int8 buffers are each net's. */
    if (net && src->q8 && rt_q8_attach(net, src->q8, 0) != 0) {
        rt_net_free(net);
        return NULL;
    }
    return net;
}

/* Floats of src's batch arena each inference net beside it takes (its
 * eval layout at src's batch size, rounded to keep every slice aligned),
 * or 0 when src cannot lend its batch arena. */
static size_t lent_floats(const rt_net *src)
{
    if (src->run_op || src->batch_offsets || src->borrows_batch || !src->arena[COMP_ARENA_BATCH])
        return 0;
    size_t *off = malloc(((size_t)src->plan->nbufs + 1) * sizeof *off);
    const size_t floats = off ? comp_batch_layout(src->plan, COMP_LAYOUT_EVAL, off) : 0;
    free(off);
    return COMP_BUF_ALIGN_UP(floats) * (size_t)src->max_batch;
}

int rt_net_lendable(const rt_net *src)
{
    const size_t each = lent_floats(src);
    const size_t have = src->plan->arena_size[COMP_ARENA_BATCH] * (size_t)src->max_batch;
    return each ? (int)(have / each < INT32_MAX ? have / each : INT32_MAX) : 0;
}

rt_net *rt_net_new_borrowing(const rt_net *src, int k)
{
    if (k < 0 || k >= rt_net_lendable(src))
        return NULL;
    return net_new(src->plan, src->max_batch, src, COMP_LAYOUT_EVAL,
                   src->arena[COMP_ARENA_BATCH] + (size_t)k * lent_floats(src));
}

void rt_net_free(rt_net *net)
{
    if (!net)
        return;
    for (int a = 0; a < COMP_ARENA_COUNT; a++)
        if (!((a == COMP_ARENA_PARAM || a == COMP_ARENA_MODEL) && net->borrows_params) &&
            !(a == COMP_ARENA_BATCH && net->borrows_batch))
            arena_free(net, a);
    free(net->q8_act);
    if (net->owns_q8)
        rt_q8_model_free(net->q8);
    free(net->ops);
    free(net->batch_offsets);
    free(net->norms);
    free(net->param_sizes);
    free(net);
}

float *rt_net_buf(const rt_net *net, int b)
{
    const comp_buf *buf = &net->plan->bufs[b];
    if (buf->arena != COMP_ARENA_BATCH)
        return net->arena[buf->arena] + buf->offset;
    return net->arena[COMP_ARENA_BATCH] + (net->batch_offsets ? net->batch_offsets[b] : buf->offset) * (size_t)net->batch;
}

void rt_net_set_batch(rt_net *net, int batch, int training)
{
    net->batch = batch;
    net->training = training;
}

void rt_exec_op(rt_net *net, int i)
{
    exec_table[net->ops[i].code](net, &net->ops[i]);
}

/* Ops [first, first + count) by the generated code when there is some,
 * else by the interpreter; with check_ops, each op's outputs are looked
 * at before the next op runs, and the first non-finite one is kept. */
static void run(rt_net *net, int first, int count)
{
    rt_op_runner *run_op = net->run_op ? net->run_op : rt_exec_op;
    for (int i = first; i < first + count; i++) {
        run_op(net, i);
        if (net->check_ops && net->anomaly.op < 0)
            rt_anomaly_op(net, i, &net->anomaly);
    }
}

/* The draws a forward op takes from the dropout generator per sample
 * while training: as many as its kernel makes (runtime/dropout.c,
 * alpha_dropout.c, dropout_channels.c, rrelu.c). */
static uint64_t op_draws(const rt_net *net, const comp_op *op)
{
    if (!net->training)
        return 0;
    switch (op->code) {
    case COMP_OP_DROPOUT:
        return (float)op->p[0] > 0.0f && (float)op->p[0] < 1.0f ? (uint64_t)op->n : 0;
    case COMP_OP_ALPHA_DROPOUT:
        return op->p[0] > 0.0 && op->p[0] < 1.0 ? (uint64_t)op->n : 0;
    case COMP_OP_DROPOUT_CH:
        return (float)op->p[0] > 0.0f && (float)op->p[0] < 1.0f ? (uint64_t)op->m : 0;
    case COMP_OP_RRELU:
        return (uint64_t)op->n;
    default:
        return 0;
    }
}

/* The forward ops of a step split across processes (dist.h), this process
 * computing samples [lo, hi) of count.  One process draws each random
 * op's numbers for the whole batch, sample after sample; here each op
 * starts where sample lo's draws start and the generator ends the step
 * where one process's would, so every process count masks each sample
 * alike.  splitmix64's state moves by RT_RNG_WEYL per draw, so a skip is
 * one multiply.  A kernel drawing other than op_draws says is an error of
 * netc's, reported rather than training a different model. */
static void forward_sharded(rt_net *net, int lo, int hi, int count, int first, int n)
{
    rt_op_runner *run_op = net->run_op ? net->run_op : rt_exec_op;
    const uint64_t s0 = net->dropout_rng;
    uint64_t before = 0; /* the whole batch's draws by the ops so far */
    for (int i = first; i < first + n; i++) {
        const uint64_t d = op_draws(net, &net->ops[i]);
        net->dropout_rng = s0 + (before + (uint64_t)lo * d) * RT_RNG_WEYL;
        run_op(net, i);
        if (net->dropout_rng != s0 + (before + (uint64_t)hi * d) * RT_RNG_WEYL) {
            fprintf(stderr, "netc: internal error: op %d (%s) drew other than %" PRIu64 " numbers per sample\n", i,
                    comp_op_names[net->ops[i].code], d);
            abort();
        }
        before += (uint64_t)count * d;
    }
    net->dropout_rng = s0 + before * RT_RNG_WEYL;
}

/* The int8 model's forward pass when the net has one: the float forward
 * ops from where it stops. */
static int int8_forward(rt_net *net)
{
    return net->q8 ? rt_q8_forward(net) : 0;
}

float rt_net_forward(rt_net *net)
{
    const comp_plan *p = net->plan;
    const int first = int8_forward(net);
    int lo, hi, count;
    double w;
    if (first == 0 && net->training && rt_dist_step(&lo, &hi, &count, &w))
        forward_sharded(net, lo, hi, count, 0, p->nfwd + p->nloss);
    else
        run(net, first, p->nfwd + p->nloss - first);
    return rt_net_buf(net, p->loss)[0];
}

void rt_net_idle_step(rt_net *net)
{
    const comp_plan *p = net->plan;
    int lo, hi, count;
    double w;
    if (!rt_dist_step(&lo, &hi, &count, &w))
        return;
    rt_net_set_batch(net, 0, 1);
    uint64_t draws = 0;
    for (int i = 0; i < p->nfwd + p->nloss + p->nbwd; i++) {
        const comp_op *op = &net->ops[i];
        draws += (uint64_t)count * op_draws(net, op);
        if (op->code == COMP_OP_BATCHNORM || op->code == COMP_OP_BATCHNORM_BWD)
            rt_exec_op(net, i);
    }
    net->dropout_rng += draws * RT_RNG_WEYL;
}

void rt_net_infer(rt_net *net)
{
    const int first = int8_forward(net);
    run(net, first, net->plan->nfwd - first);
}

void rt_net_backward(rt_net *net)
{
    const comp_plan *p = net->plan;
    int lo, hi, count;
    double w;
    if (!rt_dist_step(&lo, &hi, &count, &w)) {
        run(net, p->nfwd + p->nloss, p->nbwd);
        return;
    }
    /* Split across processes: each op's finished gradients may start
     * their sum while the ops below run. */
    for (int i = p->nfwd + p->nloss; i < p->nfwd + p->nloss + p->nbwd; i++) {
        run(net, i, 1);
        rt_dist_backward_op(net, i);
    }
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

long rt_lbfgs_func_evals(const rt_net *net)
{
    const comp_plan *p = net->plan;
    for (int i = p->nops - p->nupd; i < p->nops; i++)
        if (p->ops[i].code == COMP_OP_LBFGS)
            return (long)rt_net_buf(net, p->ops[i].buf[2] + RT_LBFGS_FUNC_EVALS)[0];
    return -1;
}
