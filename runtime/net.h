/* net.h — a plan made runnable: its arenas allocated once, and the
 * forward, loss, backward and update phases executed op by op. */
#ifndef NETC_RUNTIME_NET_H
#define NETC_RUNTIME_NET_H

#include <stdint.h>

#include "../compiler/plan.h"
#include "sched.h"

typedef struct rt_net rt_net;

/* A non-finite value and where it is (runtime/anomaly.h finds them). */
typedef struct {
    int op;      /* the plan op that wrote it, -1 when none did (see param) */
    int buf;     /* the buffer holding it: an output operand of op, or a parameter */
    int param;   /* >= 0: tensor params[param] (or model state state[param -
                  * nparams]) was already non-finite before the forward pass
                  * (an earlier update made it so); op -1 */
    size_t elem; /* its index in the buffer (rows of the batch included) */
    float value; /* nan, inf or -inf */
} rt_anomaly;


/* Runs op i of net's plan: the code `netc build` generates for a spec,
 * each op a call with its sizes and offsets as constants. */
typedef void rt_op_runner(rt_net *net, int i);

struct rt_net {
    const comp_plan *plan;
    rt_op_runner *run_op;               /* NULL: the interpreter runs the ops */
    comp_op *ops;                       /* the plan's ops, copied: the lr (p[0] of
                                         * every update op) changes per epoch */
    int max_batch;                      /* the BATCH arena holds this many samples */
    int batch;                          /* samples in the current batch */
    int training;                       /* dropout active, loss gradient written */
    long step;                          /* optimizer steps taken so far */
    uint64_t dropout_rng;               /* state of the dropout mask generator */
    long epoch;                         /* epochs trained so far (0: a fresh run) */
    uint64_t shuffle_rng;               /* state of the shuffling generator */
    rt_sched sched;                     /* the lr schedule and its position */
    float *norms;                       /* scratch: one norm per parameter tensor */
    int32_t *param_sizes;               /* floats of each parameter tensor, arena order */
    float *arena[COMP_ARENA_COUNT];
    size_t arena_mapped[COMP_ARENA_COUNT]; /* bytes of a large arena mapped on its
                                            * own (huge pages); 0: from calloc */
    int borrows_params;                 /* the PARAM arena is another net's */
    int borrows_batch;                  /* the BATCH arena is part of another net's */
    struct rt_q8_model *q8;             /* an int8 model run for the forward ops
                                         * (q8_net.h), or NULL */
    int8_t *q8_act;                     /* its int8 buffers for max_batch samples */
    int owns_q8;                        /* rt_net_free frees q8 */
    size_t *batch_offsets;              /* per buffer, where a net that runs only
                                         * the forward and loss ops keeps its batch
                                         * buffers (comp_batch_layout); NULL: the
                                         * plan's offsets */
    long epoch_samples;                 /* samples of epoch + 1 done: a run stopped
                                         * mid-epoch (0: at an epoch boundary); then
                                         * shuffle_rng is its state before that
                                         * epoch's shuffle */
    double epoch_loss;                  /* their loss, the per-sample sum so far */
    int check_ops;                      /* after every op, look for a non-finite
                                         * output (--detect-anomaly) ... */
    rt_anomaly anomaly;                 /* ... and keep the first here (op -1: none
                                         * since it was last reset) */
};

/* Allocate every arena for batches of up to max_batch samples (zeroed, so
 * optimizer state starts at zero as torch's does; an arena of 4 MiB or
 * more is mapped with transparent huge pages where the system has them),
 * copy the plan's ops (the lr of the update ops changes per epoch) and set
 * the schedule up with the update op's lr as base lr.  NULL when out of
 * memory. */
rt_net *rt_net_new(const comp_plan *plan, int max_batch);

/* The bytes of the arenas rt_net_new (inference 0) or rt_net_new_inference
 * (inference 1) allocates for plan at max_batch: what a net needs before
 * it runs, to compare with the memory there is. */
double rt_net_bytes(const comp_plan *plan, int max_batch, int inference);

/* rt_net_new for a net that only ever runs forward passes and losses
 * (rt_net_forward in eval mode, rt_net_infer; never backward or update,
 * and never generated code: run_op stays NULL): its batch buffers share
 * floats once no later forward or loss op reads them (comp_batch_layout,
 * COMP_LAYOUT_EVAL), a fraction of a training step's. */
rt_net *rt_net_new_inference(const comp_plan *plan, int max_batch);

/* A net for inference beside src: the same plan, batch size and op
 * runner, its own batch and loss arenas, src's parameter arena (read,
 * never written, by forward passes; src must outlive it) and no gradient
 * or optimizer-state arena, so that threads can run forward passes and
 * losses side by side (rt_net_forward in eval mode, rt_net_infer; never
 * backward or update).  Without generated code its batch buffers are laid
 * out as rt_net_new_inference's.  NULL when out of memory. */
rt_net *rt_net_new_sharing(const rt_net *src);

/* How many inference nets rt_net_new_borrowing can place in src's batch
 * arena: a training net's batch arena holds every activation and gradient
 * of a step, and a forward pass in the eval layout needs a fraction of it.
 * 0 when src is itself such a net or runs generated code (which addresses
 * the plan's offsets). */
int rt_net_lendable(const rt_net *src);

/* An inference net beside src, as rt_net_new_sharing, whose batch buffers
 * are the k-th slice (k < rt_net_lendable(src)) of src's batch arena
 * instead of memory of its own: for evaluating between or after training
 * steps without a second copy of the activations.  It overwrites src's
 * batch buffers, so src must run no op while it lives; src's next
 * training step writes every batch buffer before reading it.  NULL when k
 * is out of range or out of memory. */
rt_net *rt_net_new_borrowing(const rt_net *src, int k);

/* Free a net (NULL allowed). */
void rt_net_free(rt_net *net);

/* Pointer to buffer b for the current batch size.  BATCH buffers move when
 * the batch size changes, so fetch after rt_net_set_batch(). */
float *rt_net_buf(const rt_net *net, int b);

/* Set the current batch size (1..max_batch) and the mode. */
void rt_net_set_batch(rt_net *net, int batch, int training);

/* Run the forward ops, then the loss op (which also writes d loss/d output
 * when training).  Input and target buffers must be filled.  Returns the
 * loss.  rt_net_infer runs the forward ops only (no target needed).  A net
 * with an int8 model (rt_q8_attach) runs its int8 ops in place of the
 * float forward ops they stand for. */
float rt_net_forward(rt_net *net);
void rt_net_infer(rt_net *net);

/* A split training step (dist.h) in which this process has no samples:
 * it still takes part in the sums of the global batch's statistics
 * (BatchNorm's forward and backward, at batch 0, which also updates the
 * running statistics as every other process does) and moves the dropout
 * generator past the step's draws.  Nothing to do outside a split step. */
void rt_net_idle_step(rt_net *net);

/* Run the backward ops: every parameter gradient is overwritten. */
void rt_net_backward(rt_net *net);

/* Count one step, clip the gradients (the plan's CLIP ops, if any) and
 * run the optimizer over the parameter arena. */
void rt_net_update(rt_net *net);

/* torch's closure over net (an rt_closure, lbfgs.h): forward and backward
 * on the batch in the input buffers, in training mode; returns the loss. */
double rt_net_closure(void *net);

/* torch's state['func_evals'] of the plan's LBFGS op (loss evaluations
 * over all steps so far), or -1 when the plan has no LBFGS op. */
long rt_lbfgs_func_evals(const rt_net *net);

/* Run op i of the plan with the interpreter (generated code calls this for
 * the ops that need the whole net: LBFGS, clip_grad_norm). */
void rt_exec_op(rt_net *net, int i);

/* Run the ops of one phase, in plan order. */
void rt_net_run_phase(rt_net *net, comp_phase phase);

/* Set the learning rate of the update ops (p[0] of each). */
void rt_net_set_lr(rt_net *net, double lr);

/* The learning rate of the (first) update op; 0 without one. */
double rt_net_lr(const rt_net *net);

/* Initialise every parameter: weights by their layer's init= or the model's
 * init statement, biases as torch.nn.Linear does (uniform in
 * ±1/sqrt(fan_in)) whatever the weight's init, PReLU slopes to the
 * layer's `init` value as nn.PReLU does.  Each tensor draws from its own
 * stream of seed, so the same seed gives the same weights.  Returns 0, or
 * -1 when out of memory (the orthogonal init needs scratch space). */
int rt_net_init_params(rt_net *net, uint64_t seed);

#endif
