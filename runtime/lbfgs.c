/* lbfgs.c — torch.optim.LBFGS.step (torch 1.13) over the parameter arena.
 *
 * Statement by statement as torch/optim/lbfgs.py, with its numeric kinds:
 * losses are Python floats (double), vectors float32 tensors, dot products
 * OpenBLAS's sdot (what torch's dot calls), the step t and the line
 * search's scalars the Python-float/tensor mix of pynum.h.  torch's lists
 * old_dirs/old_stps/ro become rings in the lbfgs.def buffers. */
#include <string.h>

#include "../compiler/buf_align.h"
#include "lbfgs.h"
#include "torch_ops.h"
#include "torch_sum.h"


typedef struct {
    float *params, *grads;
    size_t n;
    int hist;
    float *buf[RT_LBFGS_COUNT];
} lbfgs;

static float absmax(const float *v, size_t n)
{
    float m = 0.0f;
    for (size_t i = 0; i < n; i++)
        m = fabsf(v[i]) > m ? fabsf(v[i]) : m;
    return m;
}

static float lbfgs_dot(const float *a, const float *b, size_t n)
{
    return rt_sdot(a, b, n);
}

/* _add_grad(t, d): params += t * d (alpha rounded to float). */
static void add_grad(const lbfgs *L, pynum t, const float *d)
{
    const float a = py_f(t);
    for (size_t i = 0; i < L->n; i++)
        L->params[i] = t_add(L->params[i], d[i], a);
}

/* The slot of history entry i (0 = oldest). */
static size_t slot(const lbfgs *L, int i)
{
    return (size_t)(((int)L->buf[RT_LBFGS_HEAD][0] + i) % L->hist);
}

/* The L-BFGS direction: update the memory with y = g - prev_g, s = d * t
 * when ys > 1e-10, then d = -H g by the two-loop recursion. */
static void direction(lbfgs *L, const float *g, float t)
{
    const size_t n = L->n;
    float *y = L->buf[RT_LBFGS_Y], *s = L->buf[RT_LBFGS_S], *d = L->buf[RT_LBFGS_D];
    float *dirs = L->buf[RT_LBFGS_OLD_DIRS], *stps = L->buf[RT_LBFGS_OLD_STPS];
    float *ro = L->buf[RT_LBFGS_RO], *al = L->buf[RT_LBFGS_AL];
    const float *prev = L->buf[RT_LBFGS_PREV_FLAT_GRAD];
    float *num_old = L->buf[RT_LBFGS_NUM_OLD], *head = L->buf[RT_LBFGS_HEAD];
    for (size_t i = 0; i < n; i++) {
        y[i] = g[i] - prev[i];
        s[i] = d[i] * t;
    }
    const float ys = lbfgs_dot(y, s, n);
    if (ys > 1e-10f) {
        if ((int)*num_old == L->hist) { /* drop the oldest */
            *head = (float)(((int)*head + 1) % L->hist);
            *num_old -= 1.0f;
        }
        size_t k = slot(L, (int)*num_old);
        memcpy(dirs + k * n, y, n * sizeof *y);
        memcpy(stps + k * n, s, n * sizeof *s);
        ro[k] = 1.0f / ys;
        *num_old += 1.0f;
        L->buf[RT_LBFGS_H_DIAG][0] = ys / lbfgs_dot(y, y, n);
    }
    const int num = (int)*num_old;
    float *q = d; /* q = -g, computed in d's storage: the old d is spent */
    for (size_t i = 0; i < n; i++)
        q[i] = -g[i];
    for (int i = num - 1; i >= 0; i--) {
        size_t k = slot(L, i);
        al[i] = lbfgs_dot(stps + k * n, q, n) * ro[k];
        const float a = -al[i];
        for (size_t j = 0; j < n; j++)
            q[j] = t_add(q[j], dirs[k * n + j], a);
    }
    const float h = L->buf[RT_LBFGS_H_DIAG][0];
    for (size_t j = 0; j < n; j++)
        d[j] = q[j] * h;
    for (int i = 0; i < num; i++) {
        size_t k = slot(L, i);
        const float be = lbfgs_dot(dirs + k * n, d, n) * ro[k];
        const float a = al[i] - be;
        for (size_t j = 0; j < n; j++)
            d[j] = t_add(d[j], stps[k * n + j], a);
    }
}

void rt_lbfgs_step(float *params, float *grads, float *state, size_t n, int hist, double lr, double max_iter_d,
                   double max_eval_d, double tolerance_grad_d, double tolerance_change, int wolfe, double loss,
                   rt_closure *closure, void *ctx)
{
    lbfgs L = {params, grads, n, hist, {0}};
    /* The lbfgs.def buffers, in order, each at the next aligned offset, as
     * the lowering laid them out. */
    enum { HIST, SLOTS, VEC, ONE, WOLFE }; /* lbfgs.def's sizes */
    const size_t size_of[] = {[HIST] = (size_t)hist * n, [SLOTS] = (size_t)hist, [VEC] = n, [ONE] = 1, [WOLFE] = n};
    const int wolfe_only[] = {[HIST] = 0, [SLOTS] = 0, [VEC] = 0, [ONE] = 0, [WOLFE] = 1};
    {
        float *at = state;
        int b = 0;
#define LBFGS_BUF(id, name, size)                                 \
        if (!wolfe_only[size] || wolfe) {                         \
            at = state + COMP_BUF_ALIGN_UP((size_t)(at - state)); \
            L.buf[b] = at;                                        \
            at += size_of[size];                                  \
        }                                                         \
        b++;
#include "../compiler/lbfgs.def"
#undef LBFGS_BUF
    }
    const long max_iter = (long)max_iter_d, max_eval = (long)max_eval_d;
    const float tolerance_grad = (float)tolerance_grad_d;
    float *const flat_grad = L.grads, *const d = L.buf[RT_LBFGS_D];
    float *const func_evals = L.buf[RT_LBFGS_FUNC_EVALS], *const state_n_iter = L.buf[RT_LBFGS_N_ITER];


    /* The caller's forward and backward were the initial closure(). */
    long current_evals = 1;
    *func_evals += 1.0f;
    int opt_cond = absmax(flat_grad, n) <= tolerance_grad;
    if (opt_cond)
        return;

    pynum t = py_float(L.buf[RT_LBFGS_T][0]);
    double prev_loss = L.buf[RT_LBFGS_PREV_LOSS][0];
    long n_iter = 0;
    while (n_iter < max_iter) {
        n_iter++;
        *state_n_iter += 1.0f;
        const int first = *state_n_iter == 1.0f;

        /* compute gradient descent direction */
        if (first) {
            for (size_t i = 0; i < n; i++)
                d[i] = -flat_grad[i];
            L.buf[RT_LBFGS_NUM_OLD][0] = 0.0f;
            L.buf[RT_LBFGS_HEAD][0] = 0.0f;
            L.buf[RT_LBFGS_H_DIAG][0] = 1.0f;
        } else {
            direction(&L, flat_grad, py_f(t));
        }
        memcpy(L.buf[RT_LBFGS_PREV_FLAT_GRAD], flat_grad, n * sizeof *flat_grad);
        prev_loss = loss;

        /* compute step length: t = min(1, 1 / |g|_1) * lr at first */
        if (first)
            t = py_mul(py_min(py_float(1.0), py_div(py_float(1.0), py_tensor(rt_torch_sum(flat_grad, NULL, n, RT_SUM_ABS)))), py_float(lr));
        else
            t = py_float(lr);
        const pynum gtd = py_tensor(lbfgs_dot(flat_grad, d, n));
        /* directional derivative is below tolerance */
        if (py_lt(py_float(-tolerance_change), gtd))
            break;

        long ls_func_evals = 0;
        if (wolfe) {
            rt_lbfgs_ls ls = {closure,
                              ctx,
                              L.params,
                              flat_grad,
                              n,
                              L.buf[RT_LBFGS_X_INIT],
                              L.buf[RT_LBFGS_G],
                              L.buf[RT_LBFGS_G_PREV],
                              {L.buf[RT_LBFGS_BRACKET_G0], L.buf[RT_LBFGS_BRACKET_G1]}};
            memcpy(ls.x_init, L.params, n * sizeof *L.params);
            ls_func_evals = rt_strong_wolfe(&ls, d, t, loss, gtd, &loss, &t);
            add_grad(&L, t, d);
            opt_cond = absmax(flat_grad, n) <= tolerance_grad;
        } else {
            /* fixed step; re-evaluate except after the last iteration */
            add_grad(&L, t, d);
            if (n_iter != max_iter) {
                loss = closure(ctx);
                opt_cond = absmax(flat_grad, n) <= tolerance_grad;
                ls_func_evals = 1;
            }
        }
        current_evals += ls_func_evals;
        *func_evals += (float)ls_func_evals;

        /* check conditions */
        if (n_iter == max_iter || current_evals >= max_eval || opt_cond)
            break;
        /* lack of progress: d * t tiny, or the loss barely moved */
        const float tf = py_f(t);
        float step_max = 0.0f;
        for (size_t i = 0; i < n; i++) {
            const float v = fabsf(d[i] * tf);
            step_max = v > step_max ? v : step_max;
        }
        if (step_max <= (float)tolerance_change)
            break;
        if (fabs(loss - prev_loss) < tolerance_change)
            break;
    }
    L.buf[RT_LBFGS_T][0] = py_f(t);
    L.buf[RT_LBFGS_PREV_LOSS][0] = (float)prev_loss;
}
