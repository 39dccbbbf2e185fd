/* init.c — parameter initialisation as torch.nn.init defines it. */
#include "kernels.h"
#include "net.h"

#include <math.h>
#include <string.h>

double rt_calculate_gain(const char *nonlinearity, double param)
{
    if (strcmp(nonlinearity, "tanh") == 0)
        return 5.0 / 3.0;
    if (strcmp(nonlinearity, "relu") == 0)
        return sqrt(2.0);
    if (strcmp(nonlinearity, "leaky_relu") == 0)
        return sqrt(2.0 / (1.0 + param * param));
    return 1.0; /* linear, sigmoid, conv*: torch's gain 1 */
}

static void fill_uniform(float *w, size_t n, double lo, double hi, uint64_t *rng)
{
    for (size_t i = 0; i < n; i++)
        w[i] = (float)(lo + (hi - lo) * rt_rng_uniform(rng));
}

static void fill_normal(float *w, size_t n, double mean, double std, uint64_t *rng)
{
    for (size_t i = 0; i < n; i++)
        w[i] = (float)(mean + std * rt_rng_normal(rng));
}

/* A weight of out x in: fan_in = in, fan_out = out (torch's
 * _calculate_fan_in_and_fan_out for a Linear weight). */
static void init_weight(const comp_init *init, float *w, int out, int in, uint64_t *rng)
{
    const comp_entry *e = &comp_inits[init->kind];
    const comp_args *a = &init->args;
    size_t n = (size_t)out * (size_t)in;
    double fan_in = in, fan_out = out;
    switch (init->kind) {
    case COMP_INIT_DEFAULT: /* kaiming_uniform_(a=sqrt(5)): bound 1/sqrt(fan_in) */
        fill_uniform(w, n, -1.0 / sqrt(fan_in), 1.0 / sqrt(fan_in), rng);
        break;
    case COMP_INIT_NORMAL:
        fill_normal(w, n, comp_arg_num(e, a, "mean"), comp_arg_num(e, a, "std"), rng);
        break;
    case COMP_INIT_UNIFORM:
        fill_uniform(w, n, comp_arg_num(e, a, "a"), comp_arg_num(e, a, "b"), rng);
        break;
    case COMP_INIT_CONSTANT:
    case COMP_INIT_ZEROS:
    case COMP_INIT_ONES: {
        float v = init->kind == COMP_INIT_CONSTANT ? (float)comp_arg_num(e, a, "val")
                                                   : init->kind == COMP_INIT_ONES ? 1.0f : 0.0f;
        for (size_t i = 0; i < n; i++)
            w[i] = v;
        break;
    }
    case COMP_INIT_XAVIER_UNIFORM: {
        double bound = comp_arg_num(e, a, "gain") * sqrt(6.0 / (fan_in + fan_out));
        fill_uniform(w, n, -bound, bound, rng);
        break;
    }
    case COMP_INIT_XAVIER_NORMAL:
        fill_normal(w, n, 0.0, comp_arg_num(e, a, "gain") * sqrt(2.0 / (fan_in + fan_out)), rng);
        break;
    case COMP_INIT_KAIMING_UNIFORM:
    case COMP_INIT_KAIMING_NORMAL: {
        double fan = strcmp(comp_arg_str(e, a, "mode"), "fan_in") == 0 ? fan_in : fan_out;
        double std = rt_calculate_gain(comp_arg_str(e, a, "nonlinearity"), comp_arg_num(e, a, "a")) / sqrt(fan);
        if (init->kind == COMP_INIT_KAIMING_UNIFORM)
            fill_uniform(w, n, -sqrt(3.0) * std, sqrt(3.0) * std, rng);
        else
            fill_normal(w, n, 0.0, std, rng);
        break;
    }
    case COMP_INIT_COUNT:
        break;
    }
}

void rt_net_init_params(rt_net *net, uint64_t seed)
{
    const comp_plan *p = net->plan;
    const comp_model *m = p->model;
    for (int k = 0; k < p->nparams; k++) {
        const comp_buf *b = &p->bufs[p->params[k]];
        float *w = rt_net_buf(net, p->params[k]);
        uint64_t rng = rt_rng_seed(seed, (uint64_t)k + 1);
        const comp_layer *l = &m->layers[b->layer];
        int in = (int)l->args.num[0][0];
        const comp_init *init = l->has_init ? &l->init : &m->init;
        if (l->kind == COMP_LAYER_EMBEDDING && init->kind == COMP_INIT_DEFAULT)
            fill_normal(w, b->size, 0.0, 1.0, &rng); /* nn.Embedding's reset_parameters: normal_(0, 1) */
        else if (b->rank == 2)
            init_weight(init, w, b->dims[0], b->dims[1], &rng);
        else
            fill_uniform(w, b->size, -1.0 / sqrt((double)in), 1.0 / sqrt((double)in), &rng);
    }
}
