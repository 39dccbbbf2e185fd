/* lbfgs.h — torch.optim.LBFGS as a plan op: the step, and the strong-Wolfe
 * line search it may call.  An LBFGS step evaluates the loss and gradient
 * several times on the same batch (torch's closure): the caller passes a
 * function that re-runs forward and backward on the batch already in the
 * input buffers (the interpreter's net, or the code `netc emit` writes). */
#ifndef NETC_RUNTIME_LBFGS_H
#define NETC_RUNTIME_LBFGS_H

#include <stddef.h>

#include "kernels.h"
#include "pynum.h"

/* The lbfgs.def buffers by position. */
enum {
#define LBFGS_BUF(id, name, size) RT_LBFGS_##id,
#include "../compiler/lbfgs.def"
#undef LBFGS_BUF
    RT_LBFGS_COUNT
};

/* torch's closure: forward and backward on the current batch, writing the
 * gradient arena; returns the loss. */
typedef double rt_closure(void *ctx);

/* One LBFGS step over n parameters with their gradients.  state is the
 * first of the lbfgs.def buffers, laid end to end in that order (history
 * of hist entries; the WOLFE ones only when wolfe).  The caller has run
 * forward and backward on the batch, with loss as the result: that is the
 * step's first evaluation, as torch's step() begins with closure().
 * Parameters, gradients and the state are updated; nothing is allocated. */
void rt_lbfgs_step(float *params, float *grads, float *state, size_t n, int hist, double lr, double max_iter,
                   double max_eval, double tolerance_grad, double tolerance_change, int wolfe, double loss,
                   rt_closure *closure, void *ctx);

/* What the line search works on: the parameters and gradient arenas (n
 * floats each), the closure that re-evaluates them, and scratch buffers of
 * n floats:
 * x_init (the parameters at the start), g (the gradient there), g_prev and
 * the bracket's two gradients. */
typedef struct {
    rt_closure *closure;
    void *ctx;
    float *params, *grads;
    size_t n;
    float *x_init, *g, *g_prev, *bracket_g[2];
} rt_lbfgs_ls;

/* torch.optim.lbfgs._strong_wolfe with its defaults (c1 = 1e-4, c2 = 0.9,
 * tolerance_change = 1e-9, max_ls = 25) from the parameters in ls->params
 * (= x_init on entry, restored on return), along direction d, with initial
 * step t, loss f, gradient ls->grads and directional derivative gtd.
 * Returns the number of evaluations; *f_out and *t_out are the accepted
 * loss and step, and ls->grads holds the gradient there. */
int rt_strong_wolfe(const rt_lbfgs_ls *ls, const float *d, pynum t, double f, pynum gtd, double *f_out,
                    pynum *t_out);

#endif
