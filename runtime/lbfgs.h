/* lbfgs.h — torch.optim.LBFGS as a plan op: the step, and the strong-Wolfe
 * line search it may call.  An LBFGS step evaluates the loss and gradient
 * several times on the same batch (torch's closure): it re-runs the net's
 * forward and backward phases on the batch already in the input buffers. */
#ifndef NETC_RUNTIME_LBFGS_H
#define NETC_RUNTIME_LBFGS_H

#include <stddef.h>

#include "net.h"
#include "pynum.h"

/* One LBFGS step (the op's executor).  The caller has run forward and
 * backward on the batch: that is the step's first evaluation, as torch's
 * step() begins with closure().  Parameters, gradients and the lbfgs.*
 * state buffers are updated; nothing is allocated. */
void rt_lbfgs_step(rt_net *net, const comp_op *op);

/* torch's state['func_evals'] of the plan's LBFGS op (loss evaluations
 * over all steps so far), or -1 when the plan has no LBFGS op. */
long rt_lbfgs_func_evals(const rt_net *net);

/* What the line search works on: the parameters and gradient arenas (n
 * floats each), the net to re-evaluate, and scratch buffers of n floats:
 * x_init (the parameters at the start), g (the gradient there), g_prev and
 * the bracket's two gradients. */
typedef struct {
    rt_net *net;
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
