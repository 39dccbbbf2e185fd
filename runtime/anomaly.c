/* anomaly.c — see anomaly.h. */
#include "anomaly.h"

#include <math.h>

/* The first non-finite of n floats at v, or n. */
static size_t first_nonfinite(const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return i;
    return n;
}

int rt_anomaly_op(const rt_net *net, int i, rt_anomaly *a)
{
    const comp_plan *p = net->plan;
    const comp_op *op = &net->ops[i];
    comp_role r;
    for (int k = 0; k < COMP_OP_MAX_BUFS && comp_op_role((comp_opcode)op->code, k, &r); k++) {
        const int b = op->buf[k];
        if (!r.out || r.scratch || b < 0)
            continue;
        const size_t n = p->bufs[b].size * (p->bufs[b].arena == COMP_ARENA_BATCH ? (size_t)net->batch : 1);
        const float *v = rt_net_buf(net, b);
        const size_t e = first_nonfinite(v, n);
        if (e < n) {
            *a = (rt_anomaly){.op = i, .buf = b, .param = -1, .elem = e, .value = v[e]};
            return 1;
        }
    }
    return 0;
}

/* rt_anomaly_params over the first ntensors of the parameters, then the
 * model state. */
static int scan_tensors(const rt_net *net, const float *values, int ntensors, rt_anomaly *a)
{
    const comp_plan *p = net->plan;
    for (int k = 0; k < ntensors; k++) {
        const int b = k < p->nparams ? p->params[k] : p->state[k - p->nparams];
        const float *v = k < p->nparams ? values + p->bufs[b].offset : rt_net_buf(net, b);
        const size_t e = first_nonfinite(v, p->bufs[b].size);
        if (e < p->bufs[b].size) {
            *a = (rt_anomaly){.op = -1, .buf = b, .param = k, .elem = e, .value = v[e]};
            return 1;
        }
    }
    return 0;
}

int rt_anomaly_params(const rt_net *net, const float *values, rt_anomaly *a)
{
    return scan_tensors(net, values, net->plan->nparams + net->plan->nstate, a);
}

int rt_anomaly_locate(rt_net *net, uint64_t dropout_rng, rt_anomaly *a)
{
    /* The parameters alone: the pass being searched has already updated
     * the model state (BatchNorm's running statistics) from its batch. */
    if (scan_tensors(net, net->arena[COMP_ARENA_PARAM], net->plan->nparams, a))
        return 1;
    /* The same pass again, its dropout masks drawn from the same state,
     * with every op's outputs checked (exec.c) as --detect-anomaly does. */
    const int checked = net->check_ops;
    net->dropout_rng = dropout_rng;
    net->check_ops = 1;
    net->anomaly.op = -1;
    rt_net_forward(net);
    net->check_ops = checked;
    if (net->anomaly.op < 0)
        return 0;
    *a = net->anomaly;
    return 1;
}
