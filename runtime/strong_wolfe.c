/* strong_wolfe.c — torch.optim.lbfgs's strong-Wolfe line search and cubic
 * interpolation (torch 1.13), statement by statement, with torch's mix of
 * Python floats and float32 tensors (pynum.h). */
#include <string.h>

#include "lbfgs.h"
#include "torch_ops.h"

#define SW_C1 1e-4
#define SW_C2 0.9
#define SW_TOLERANCE_CHANGE 1e-9
#define SW_MAX_LS 25

/* _cubic_interpolate: the minimiser of the cubic through (x1, f1, g1) and
 * (x2, f2, g2), clamped to the bounds (default: between x1 and x2). */
static pynum cubic_interpolate(pynum x1, double f1, pynum g1, pynum x2, double f2, pynum g2, const pynum *bounds)
{
    pynum xmin, xmax;
    if (bounds) {
        xmin = bounds[0];
        xmax = bounds[1];
    } else if (py_le(x1, x2)) {
        xmin = x1;
        xmax = x2;
    } else {
        xmin = x2;
        xmax = x1;
    }
    const pynum two = py_float(2);
    /* d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2) */
    pynum d1 = py_sub(py_add(g1, g2), py_div(py_float(3 * (f1 - f2)), py_sub(x1, x2)));
    pynum d2_square = py_sub(py_mul(d1, d1), py_mul(g1, g2));
    if (py_le(py_float(0), d2_square)) {
        pynum d2 = d2_square.tensor ? py_tensor(sqrtf(py_f(d2_square))) : py_float(sqrt(d2_square.v));
        pynum min_pos;
        if (py_le(x1, x2))
            min_pos = py_sub(x2, py_mul(py_sub(x2, x1),
                                        py_div(py_sub(py_add(g2, d2), d1), py_add(py_sub(g2, g1), py_mul(two, d2)))));
        else
            min_pos = py_sub(x1, py_mul(py_sub(x1, x2),
                                        py_div(py_sub(py_add(g1, d2), d1), py_add(py_sub(g1, g2), py_mul(two, d2)))));
        return py_min(py_max(min_pos, xmin), xmax);
    }
    return py_div(py_add(xmin, xmax), py_float(2.0));
}

/* _directional_evaluate: the loss and gradient (left in ls->grads) at
 * x_init + t * d; the parameters are x_init again afterwards. */
static double evaluate(const rt_lbfgs_ls *ls, pynum t, const float *d)
{
    const float a = py_f(t);
    for (size_t i = 0; i < ls->n; i++)
        ls->params[i] = t_add(ls->params[i], d[i], a);
    double loss = ls->closure(ls->ctx);
    memcpy(ls->params, ls->x_init, ls->n * sizeof *ls->params);
    return loss;
}

static pynum dot_d(const rt_lbfgs_ls *ls, const float *d)
{
    return py_tensor(rt_sdot(ls->grads, d, ls->n));
}

static void copy(const rt_lbfgs_ls *ls, float *dst, const float *src)
{
    memcpy(dst, src, ls->n * sizeof *dst);
}

int rt_strong_wolfe(const rt_lbfgs_ls *ls, const float *d, pynum t, double f, pynum gtd, double *f_out,
                    pynum *t_out)
{
    float dmax = 0.0f;
    for (size_t i = 0; i < ls->n; i++)
        dmax = fabsf(d[i]) > dmax ? fabsf(d[i]) : dmax;
    const pynum d_norm = py_tensor(dmax);
    copy(ls, ls->g, ls->grads);
    double f_new = evaluate(ls, t, d);
    int ls_func_evals = 1;
    pynum gtd_new = dot_d(ls, d);

    /* Bracket an interval containing a point satisfying the Wolfe
     * criteria.  g_prev is g until the first interpolation. */
    pynum t_prev = py_float(0), gtd_prev = gtd;
    double f_prev = f;
    const float *g_prev = ls->g;
    pynum bracket[2], bracket_gtd[2] = {py_float(0), py_float(0)};
    double bracket_f[2];
    int nbracket = 0, done = 0, ls_iter = 0;
    const pynum c1 = py_float(SW_C1), neg_c2 = py_float(-SW_C2);
    while (ls_iter < SW_MAX_LS) {
        /* f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev) */
        if (py_lt(py_add(py_float(f), py_mul(py_mul(c1, t), gtd)), py_float(f_new)) ||
            (ls_iter > 1 && f_new >= f_prev)) {
            bracket[0] = t_prev, bracket[1] = t;
            bracket_f[0] = f_prev, bracket_f[1] = f_new;
            copy(ls, ls->bracket_g[0], g_prev);
            copy(ls, ls->bracket_g[1], ls->grads);
            bracket_gtd[0] = gtd_prev, bracket_gtd[1] = gtd_new;
            nbracket = 2;
            break;
        }
        if (py_le(py_abs(gtd_new), py_mul(neg_c2, gtd))) {
            bracket[0] = t;
            bracket_f[0] = f_new;
            copy(ls, ls->bracket_g[0], ls->grads);
            nbracket = 1;
            done = 1;
            break;
        }
        if (py_le(py_float(0), gtd_new)) {
            bracket[0] = t_prev, bracket[1] = t;
            bracket_f[0] = f_prev, bracket_f[1] = f_new;
            copy(ls, ls->bracket_g[0], g_prev);
            copy(ls, ls->bracket_g[1], ls->grads);
            bracket_gtd[0] = gtd_prev, bracket_gtd[1] = gtd_new;
            nbracket = 2;
            break;
        }
        /* interpolate */
        pynum bounds[2] = {py_add(t, py_mul(py_float(0.01), py_sub(t, t_prev))), py_mul(t, py_float(10))};
        pynum tmp = t;
        t = cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds);
        /* next step */
        t_prev = tmp;
        f_prev = f_new;
        copy(ls, ls->g_prev, ls->grads);
        g_prev = ls->g_prev;
        gtd_prev = gtd_new;
        f_new = evaluate(ls, t, d);
        ls_func_evals++;
        gtd_new = dot_d(ls, d);
        ls_iter++;
    }
    /* reached max number of iterations? */
    if (ls_iter == SW_MAX_LS) {
        bracket[0] = py_float(0), bracket[1] = t;
        bracket_f[0] = f, bracket_f[1] = f_new;
        copy(ls, ls->bracket_g[0], ls->g);
        copy(ls, ls->bracket_g[1], ls->grads);
        nbracket = 2;
    }

    /* Zoom: refine the bracket until a point satisfies the criteria.  A
     * one-point bracket is only formed with done set. */
    int insuf_progress = 0;
    int low_pos = bracket_f[0] <= bracket_f[nbracket - 1] ? 0 : 1, high_pos = 1 - low_pos;
    while (!done && ls_iter < SW_MAX_LS) {
        /* line-search bracket is so small */
        if (py_lt(py_mul(py_abs(py_sub(bracket[1], bracket[0])), d_norm), py_float(SW_TOLERANCE_CHANGE)))
            break;
        /* compute new trial value */
        t = cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0], bracket[1], bracket_f[1], bracket_gtd[1],
                              NULL);
        /* Near a boundary without progress, or at one: move 0.1 of the
         * bracket inside. */
        pynum bmax = py_max(bracket[0], bracket[1]), bmin = py_min(bracket[0], bracket[1]);
        pynum eps = py_mul(py_float(0.1), py_sub(bmax, bmin));
        if (py_lt(py_min(py_sub(bmax, t), py_sub(t, bmin)), eps)) {
            if (insuf_progress || py_le(bmax, t) || py_le(t, bmin)) {
                if (py_lt(py_abs(py_sub(t, bmax)), py_abs(py_sub(t, bmin))))
                    t = py_sub(bmax, eps);
                else
                    t = py_add(bmin, eps);
                insuf_progress = 0;
            } else {
                insuf_progress = 1;
            }
        } else {
            insuf_progress = 0;
        }
        /* Evaluate new point */
        f_new = evaluate(ls, t, d);
        ls_func_evals++;
        gtd_new = dot_d(ls, d);
        ls_iter++;
        if (py_lt(py_add(py_float(f), py_mul(py_mul(c1, t), gtd)), py_float(f_new)) || f_new >= bracket_f[low_pos]) {
            /* Armijo condition not satisfied or not lower than lowest point */
            bracket[high_pos] = t;
            bracket_f[high_pos] = f_new;
            copy(ls, ls->bracket_g[high_pos], ls->grads);
            bracket_gtd[high_pos] = gtd_new;
            low_pos = bracket_f[0] <= bracket_f[1] ? 0 : 1;
            high_pos = 1 - low_pos;
        } else {
            if (py_le(py_abs(gtd_new), py_mul(neg_c2, gtd))) {
                done = 1; /* Wolfe conditions satisfied */
            } else if (py_le(py_float(0), py_mul(gtd_new, py_sub(bracket[high_pos], bracket[low_pos])))) {
                /* old high becomes new low */
                bracket[high_pos] = bracket[low_pos];
                bracket_f[high_pos] = bracket_f[low_pos];
                copy(ls, ls->bracket_g[high_pos], ls->bracket_g[low_pos]);
                bracket_gtd[high_pos] = bracket_gtd[low_pos];
            }
            /* new point becomes new low */
            bracket[low_pos] = t;
            bracket_f[low_pos] = f_new;
            copy(ls, ls->bracket_g[low_pos], ls->grads);
            bracket_gtd[low_pos] = gtd_new;
        }
    }
    *t_out = bracket[low_pos];
    *f_out = bracket_f[low_pos];
    copy(ls, ls->grads, ls->bracket_g[low_pos]);
    return ls_func_evals;
}
