/* init.c — parameter initialisation as torch.nn.init defines it. */
#include "init_math.h"
#include "kernels.h"
#include "net.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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

static double norm_cdf(double x)
{
    return (1.0 + erf(x / sqrt(2.0))) / 2.0;
}

/* torch's trunc_normal_: uniform draws in [2 Phi(alpha) - 1, 2 Phi(beta) - 1]
 * mapped through the normal's inverse CDF, then clamped to [a, b] (in
 * float, as torch clamps its float tensor) against rounding at the ends. */
static void fill_trunc_normal(float *w, size_t n, double mean, double std, double a, double b, uint64_t *rng)
{
    double lo = 2.0 * norm_cdf((a - mean) / std) - 1.0, hi = 2.0 * norm_cdf((b - mean) / std) - 1.0;
    float fa = (float)a, fb = (float)b;
    for (size_t i = 0; i < n; i++) {
        float v = (float)(mean + std * sqrt(2.0) * rt_erfinv(lo + (hi - lo) * rt_rng_uniform(rng)));
        w[i] = v < fa ? fa : v > fb ? fb : v;
    }
}

/* Keras's VarianceScaling(scale, mode, distribution), which its named
 * initializers are: fan is fan_in, or (fan_in + fan_out) / 2 for
 * mode="fan_avg" (Keras's fans are torch's, the receptive field counted
 * in both for a convolution kernel).  "uniform": U(-limit, limit) with
 * limit = sqrt(3 scale / fan).  "truncated_normal": stddev = sqrt(scale /
 * fan) / 0.87962566103423978 (the standard deviation of N(0, 1) truncated
 * to [-2, 2]), truncated at two of those stddevs as tf.random.truncated_
 * normal truncates, so that the variance is scale / fan. */
static void fill_variance_scaling(float *w, size_t n, double scale, double fan, int uniform, uint64_t *rng)
{
    if (uniform) {
        double limit = sqrt(3.0 * scale / fan);
        fill_uniform(w, n, -limit, limit, rng);
    } else {
        double std = sqrt(scale / fan) / 0.87962566103423978;
        fill_trunc_normal(w, n, 0.0, std, -2.0 * std, 2.0 * std, rng);
    }
}

/* torch's orthogonal_ on an out x in weight: QR of a Gaussian matrix,
 * transposed first when the weight is wide so that Q has orthonormal
 * columns; the weight is gain * Q (tall or square: W^T W = gain^2 I) or
 * gain * Q^T (wide: W W^T = gain^2 I).  The draws fill the weight row by
 * row, as torch's normal_ fills its (rows, cols) matrix. */
static int fill_orthogonal(float *w, int rows, int cols, double gain, uint64_t *rng)
{
    int wide = rows < cols, m = wide ? cols : rows, n = wide ? rows : cols;
    double *q = malloc((size_t)m * (size_t)n * sizeof *q);
    if (!q)
        return -1;
    /* q is m x n column-major: element (i, j) at q[i + j*m]. */
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++)
            q[wide ? c + (size_t)r * m : r + (size_t)c * m] = rt_rng_normal(rng);
    if (rt_qr_signed_q(q, m, n) != 0) {
        free(q);
        return -1;
    }
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++)
            w[(size_t)r * cols + c] = (float)(gain * q[wide ? c + (size_t)r * m : r + (size_t)c * m]);
    free(q);
    return 0;
}

/* A weight viewed as out rows of in (torch flattens a conv weight so for
 * orthogonal_ and eye_), with the fans torch's
 * _calculate_fan_in_and_fan_out gives the tensor (for a conv weight the
 * receptive field counts in both).  -1 when out of memory. */
static int init_weight(const comp_init *init, float *w, int out, int in, double fan_in, double fan_out,
                       uint64_t *rng)
{
    const comp_entry *e = &comp_inits[init->kind];
    const comp_args *a = &init->args;
    size_t n = (size_t)out * (size_t)in;
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
        /* torch passes a as calculate_gain's param whatever the
         * nonlinearity; only leaky_relu uses it. */
        double fan = strcmp(comp_arg_str(e, a, "mode"), "fan_in") == 0 ? fan_in : fan_out;
        int k = comp_gain_lookup(comp_arg_str(e, a, "nonlinearity")); /* a checked choice */
        double std = comp_gain((comp_gain_kind)k, comp_arg_num(e, a, "a")) / sqrt(fan);
        if (init->kind == COMP_INIT_KAIMING_UNIFORM)
            fill_uniform(w, n, -sqrt(3.0) * std, sqrt(3.0) * std, rng);
        else
            fill_normal(w, n, 0.0, std, rng);
        break;
    }
    case COMP_INIT_EYE: /* torch.eye(out, in): ones on the leading diagonal */
        memset(w, 0, n * sizeof *w);
        for (int i = 0; i < out && i < in; i++)
            w[(size_t)i * (size_t)in + (size_t)i] = 1.0f;
        break;
    case COMP_INIT_TRUNC_NORMAL:
        fill_trunc_normal(w, n, comp_arg_num(e, a, "mean"), comp_arg_num(e, a, "std"), comp_arg_num(e, a, "a"),
                          comp_arg_num(e, a, "b"), rng);
        break;
    case COMP_INIT_ORTHOGONAL:
        return fill_orthogonal(w, out, in, comp_arg_num(e, a, "gain"), rng);
    /* Keras's: lecun_* VarianceScaling(1, "fan_in"), glorot_* (1, "fan_avg"),
     * he_* (2, "fan_in"); *_normal truncated, *_uniform uniform. */
    case COMP_INIT_LECUN_NORMAL:
    case COMP_INIT_LECUN_UNIFORM:
        fill_variance_scaling(w, n, 1.0, fan_in, init->kind == COMP_INIT_LECUN_UNIFORM, rng);
        break;
    case COMP_INIT_GLOROT_NORMAL:
    case COMP_INIT_GLOROT_UNIFORM:
        fill_variance_scaling(w, n, 1.0, (fan_in + fan_out) / 2.0, init->kind == COMP_INIT_GLOROT_UNIFORM, rng);
        break;
    case COMP_INIT_HE_NORMAL:
    case COMP_INIT_HE_UNIFORM:
        fill_variance_scaling(w, n, 2.0, fan_in, init->kind == COMP_INIT_HE_UNIFORM, rng);
        break;
    case COMP_INIT_COUNT:
        break;
    }
    return 0;
}

static void fill_const(float *w, size_t n, float v)
{
    for (size_t i = 0; i < n; i++)
        w[i] = v;
}

/* Everything the plan's tensors say of how they start (comp_buf.init):
 * the runtime reads no layer of the model. */
int rt_net_init_params(rt_net *net, uint64_t seed)
{
    const comp_plan *p = net->plan;
    for (int k = 0; k < p->nparams; k++) {
        const comp_buf *b = &p->bufs[p->params[k]];
        float *w = rt_net_buf(net, p->params[k]);
        uint64_t rng = rt_rng_seed(seed, (uint64_t)k + 1);
        const comp_init *init = &p->inits[b->init_index];
        switch ((comp_tinit)b->init) {
        case COMP_TINIT_PRELU: /* nn.PReLU fills its weight with `init`; weight inits do not apply */
        case COMP_TINIT_CONST:
            fill_const(w, b->size, (float)b->init_value);
            break;
        case COMP_TINIT_EMBEDDING:
            if (init->kind == COMP_INIT_DEFAULT) {
                /* nn.Embedding's reset_parameters: normal_(0, 1), then the
                 * padding row zeroed.  Only there, as in torch: an init
                 * applied to the weight afterwards fills that row too. */
                fill_normal(w, b->size, 0.0, 1.0, &rng);
                if (b->init_value >= 0)
                    memset(w + (size_t)b->init_value * (size_t)b->dims[1], 0, (size_t)b->dims[1] * sizeof *w);
                break;
            }
            /* fall through */
        case COMP_TINIT_WEIGHT:
            if (init_weight(init, w, b->dims[0], (int)(b->size / (size_t)b->dims[0]), b->fan_in, b->fan_out,
                            &rng) != 0)
                return -1;
            break;
        case COMP_TINIT_BIAS:
            fill_uniform(w, b->size, -1.0 / sqrt(b->fan_in), 1.0 / sqrt(b->fan_in), &rng);
            break;
        }
    }
    /* Model state (running statistics) starts at its constants. */
    for (int k = 0; k < p->nstate; k++) {
        const comp_buf *b = &p->bufs[p->state[k]];
        fill_const(rt_net_buf(net, p->state[k]), b->size, (float)b->init_value);
    }
    return 0;
}
