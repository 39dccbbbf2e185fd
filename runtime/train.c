/* train.c — the epoch loop, evaluation and prediction. */
#include "train.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dist.h"
#include "interrupt.h"
#include "early_stop.h"
#include "kernels.h"
#include "mix.h"
#include "pool.h"
#include "transform.h"

/* Loss of a batch scaled to a per-sample sum, whatever the reduction, so
 * the epoch cost is the mean per-sample loss.  A mean over elements
 * (or, for class losses, over the rows not ignored) counts as a mean per
 * sample here, as the lesson's cost does; batchmean is one. */
static double batch_loss_sum(const rt_net *net, float loss)
{
    const comp_op *lop = &net->plan->ops[net->plan->nfwd];
    return (lop->flags & COMP_OPF_SUM) ? (double)loss : (double)loss * net->batch;
}

/* Samples idx[0..count) into the input buffer, transformed by tf, and
 * their targets into the target buffer when wanted and the data set has
 * any. */
static void gather(rt_net *net, const rt_dataset *ds, const uint32_t *idx, int count, int onehot, int with_targets,
                   const rt_tf_batch *tf)
{
    const comp_plan *p = net->plan;
    rt_data_gather_tf(ds, idx, (size_t)count, rt_net_buf(net, p->input),
                      with_targets && (ds->labels || ds->targets) ? rt_net_buf(net, p->target) : NULL, onehot, tf);
}

static void progress(int epoch, int epochs, size_t done, size_t n)
{
    int width = 30, filled = (int)((double)done / (double)n * width);
    fprintf(stderr, "\repoch %d/%d [%.*s%*s] %3d%%", epoch, epochs, filled, "##############################",
            width - filled, "", (int)(100.0 * (double)done / (double)n));
    fflush(stderr);
}

/* Warn, once, when an epoch's cost has grown by orders of magnitude over
 * the lowest before it (the first batch's per-sample loss standing in for
 * the epochs before the first); *lowest_epoch 0 means that batch. */
typedef struct {
    double lowest;
    long lowest_epoch;
    int warned;
} growth_watch;

static void watch_growth(growth_watch *g, FILE *warn, long epoch, double cost)
{
    if (warn && !g->warned && g->lowest > 0 && cost >= RT_TRAIN_GROWTH_FLOOR && cost >= RT_TRAIN_GROWTH * g->lowest) {
        char since[32] = "the first batch";
        if (g->lowest_epoch > 0)
            snprintf(since, sizeof since, "epoch %ld", g->lowest_epoch);
        fprintf(warn, "netc train: warning: epoch %ld cost %.6g is %.3g times the lowest so far (%.6g, %s): the "
                      "run is diverging; a lower lr may help\n", epoch, cost, cost / g->lowest, g->lowest, since);
        g->warned = 1;
    }
    if (cost < g->lowest || g->lowest_epoch < 0) {
        g->lowest = cost;
        g->lowest_epoch = epoch;
    }
}

/* Fill o->stop (when given) for a stop in epoch, at the batch of sample
 * start (batch 0: at the epoch's end); returns code. */
static int stopped(const rt_train_opts *o, int code, long epoch, size_t start, size_t n, int batch)
{
    if (o->stop) {
        o->stop->epoch = epoch;
        o->stop->batch = start < n ? start / (size_t)batch + 1 : 0;
        o->stop->batches = (n + (size_t)batch - 1) / (size_t)batch;
        o->stop->signo = code == RT_TRAIN_INTERRUPTED ? rt_interrupt_signal() : 0;
    }
    return code;
}

/* The first non-finite value of the batch whose forward pass gave loss,
 * into o->stop: the ops' checks found it (--detect-anomaly), else it is
 * searched for by running the pass again from dropout state rng. */
static void locate(rt_net *net, const rt_train_opts *o, double loss, uint64_t rng)
{
    if (!o->stop)
        return;
    o->stop->loss = loss;
    if (net->anomaly.op >= 0) {
        o->stop->anomaly = net->anomaly;
        o->stop->located = 1;
    } else {
        o->stop->located = rt_anomaly_locate(net, rng, &o->stop->anomaly);
    }
}

/* The weights early stopping may restore: the PARAM and MODEL arenas
 * (BatchNorm's running statistics are weights to Keras too). */
static const comp_arena kept_arenas[] = {COMP_ARENA_PARAM, COMP_ARENA_MODEL};
#define NKEPT (sizeof kept_arenas / sizeof *kept_arenas)

typedef struct {
    float *copy[NKEPT];
    size_t floats[NKEPT];
} kept_weights;

static int keep_alloc(kept_weights *k, const rt_net *net)
{
    for (size_t a = 0; a < NKEPT; a++) {
        k->floats[a] = net->plan->arena_size[kept_arenas[a]];
        k->copy[a] = k->floats[a] ? malloc(k->floats[a] * sizeof(float)) : NULL;
        if (k->floats[a] && !k->copy[a])
            return -1;
    }
    return 0;
}

/* to_net: copy the kept weights into net, else net's into the copy. */
static void keep_copy(kept_weights *k, rt_net *net, int to_net)
{
    for (size_t a = 0; a < NKEPT; a++)
        if (k->floats[a]) {
            float *live = net->arena[kept_arenas[a]];
            memcpy(to_net ? live : k->copy[a], to_net ? k->copy[a] : live, k->floats[a] * sizeof(float));
        }
}

static void keep_free(kept_weights *k)
{
    for (size_t a = 0; a < NKEPT; a++)
        free(k->copy[a]);
}

/* After the epoch line: validation numbers and the early-stopping verdict
 * for epoch (see rt_train).  Returns whether training stops. */
static int watch_epoch(rt_net *net, const rt_train_opts *o, rt_early_stop *es, kept_weights *kept, long epoch,
                       const rt_eval_result *v)
{
    if (!o->early_stop)
        return 0;
    const char *what = o->monitor_accuracy ? "val_accuracy" : "val_loss";
    const double value = o->monitor_accuracy ? (double)v->correct / (double)(v->n ? v->n : 1) : v->loss;
    const double best = es->best;
    const long best_epoch = es->best_epoch;
    const rt_stop_verdict verdict = rt_early_stop_step(es, epoch, value);
    if (verdict == RT_STOP_IMPROVED && o->restore_best)
        keep_copy(kept, net, 0);
    if (verdict != RT_STOP_STOP)
        return 0;
    if (o->log)
        fprintf(o->log,
                "Early stopping after epoch %04ld: %s has not improved on epoch %04ld's %.9g by more than "
                "min_delta=%g for %ld epoch%s\n",
                epoch, what, best_epoch, best, o->min_delta, es->wait, es->wait == 1 ? "" : "s");
    return 1;
}

/* The end of training with early stopping: the best epoch, and its
 * weights back when asked. */
static void end_watch(rt_net *net, const rt_train_opts *o, const rt_early_stop *es, kept_weights *kept)
{
    if (!o->early_stop || es->best_epoch == 0)
        return;
    const int restore = o->restore_best && es->best_epoch != net->epoch;
    if (restore)
        keep_copy(kept, net, 1);
    if (o->log)
        fprintf(o->log, "Best epoch: %04ld %s = %.9g%s\n", es->best_epoch,
                o->monitor_accuracy ? "val_accuracy" : "val_loss", es->best,
                restore ? " (its weights restored)" : "");
}

int rt_train(rt_net *net, const rt_dataset *ds, const rt_train_opts *o)
{
    uint32_t *order = malloc(ds->n * sizeof *order);
    kept_weights kept = {{0}, {0}};
    /* The transforms' spare rows, one per sample of a batch. */
    rt_tf_batch tf = {&net->plan->info, 1, 0, 0, NULL};
    const int transforms = rt_tf_active(&tf), mixing = net->plan->info.mix < COMP_MIX_COUNT;
    /* MixUp's and CutMix's scratch: a batch of inputs or targets, and the
     * partners (a mixed batch holds one-hot targets, as wide as the output). */
    const size_t classes = net->plan->target_size, mix_width = ds->dim > classes ? ds->dim : classes;
    float *mix_copy = mixing ? malloc((size_t)net->max_batch * mix_width * sizeof(float)) : NULL;
    uint32_t *partner = mixing ? malloc((size_t)net->max_batch * sizeof *partner) : NULL;
    if (transforms || mixing)
        tf.spare = malloc((size_t)net->max_batch * ds->dim * sizeof(float));
    if (!order || ((transforms || mixing) && !tf.spare) || (mixing && (!mix_copy || !partner)) ||
        (o->early_stop && o->restore_best && keep_alloc(&kept, net) != 0)) {
        free(order);
        free(tf.spare);
        free(mix_copy);
        free(partner);
        keep_free(&kept);
        return -1;
    }
    rt_early_stop es;
    rt_early_stop_init(&es, o->patience, o->min_delta, o->monitor_accuracy);
    /* A resumed net (net->epoch > 0, or stopped in its first epoch)
     * continues its own streams. */
    if (net->epoch == 0 && net->epoch_samples == 0) {
        net->shuffle_rng = rt_rng_seed(o->seed, RT_STREAM_SHUFFLE);
        net->dropout_rng = rt_rng_seed(o->seed, RT_STREAM_DROPOUT);
    }
    uint64_t *shuffle_rng = &net->shuffle_rng;
    int batch = net->max_batch;
    const int scheduled = net->sched.kind < COMP_SCHED_COUNT;
    /* Under several processes each checks its own shard: the loss is
     * watched on the epoch's summed cost, which all of them share, and a
     * signal is left to kill (a process stopping alone would leave the
     * others waiting in the gradient sum). */
    const int alone = rt_dist_size() == 1;
    const int interruptible = o->interruptible && alone;
    int code = 0;
    growth_watch growth = {0, -1, 0};
    net->check_ops = o->detect_anomaly && alone;
    net->anomaly.op = -1;
    if (o->stats && o->log)
        rt_stats_header(o->log);
    for (int i = 1; i <= o->epochs; i++) {
        const long epoch = net->epoch + 1;
        const double lr = net->sched.lr;
        const double t0 = rt_now_seconds();
        if (scheduled)
            rt_net_set_lr(net, lr);
        for (size_t k = 0; k < ds->n; k++)
            order[k] = (uint32_t)k;
        const uint64_t epoch_rng = *shuffle_rng; /* a checkpoint of a stop mid-epoch saves it */
        tf.key = rt_tf_epoch_key(*shuffle_rng, epoch);
        if (o->shuffle) /* Fisher-Yates with our generator: same seed, same order */
            for (size_t k = ds->n - 1; k > 0; k--) {
                size_t j = (size_t)(rt_rng_next(shuffle_rng) % (k + 1));
                uint32_t t = order[k];
                order[k] = order[j];
                order[j] = t;
            }
        /* The rest of an epoch a stopped run began. */
        size_t first = (size_t)net->epoch_samples;
        double total = net->epoch_loss;
        net->epoch_samples = 0;
        net->epoch_loss = 0;
        for (size_t start = first; start < ds->n; start += (size_t)batch) {
            int count = ds->n - start < (size_t)batch ? (int)(ds->n - start) : batch;
            /* Under several processes this one computes its shard of the
             * global batch; the gradients are summed before the step. */
            int lo, hi;
            double loss = 0; /* per sample */
            rt_dist_shard(count, &lo, &hi);
            rt_dist_begin_step(lo, hi, count, (net->plan->ops[net->plan->nfwd].flags & COMP_OPF_SUM) != 0);
            if (hi == lo)
                rt_net_idle_step(net);
            else {
                rt_net_set_batch(net, hi - lo, 1);
                tf.first = start + (size_t)lo;
                gather(net, ds, order + start + lo, hi - lo, o->onehot, 1, transforms ? &tf : NULL);
                if (mixing) { /* one lambda per batch, from the batch's own stream */
                    uint64_t rng = rt_rng_seed(tf.key, RT_MIX_STREAM_BIT | tf.first);
                    rt_mix_batch(&net->plan->info, rt_net_buf(net, net->plan->input), rt_net_buf(net, net->plan->target),
                                 (size_t)(hi - lo), (int)classes, &rng, partner, mix_copy);
                }
                const uint64_t rng = net->dropout_rng;
                const double sum = batch_loss_sum(net, rt_net_forward(net));
                loss = sum / (hi - lo);
                if (((o->watch && alone) || net->check_ops) && (!isfinite(loss) || net->anomaly.op >= 0)) {
                    locate(net, o, loss, rng);
                    code = stopped(o, RT_TRAIN_NONFINITE, epoch, start, ds->n, batch);
                    goto out;
                }
                if (growth.lowest_epoch < 0) {
                    growth.lowest = loss;
                    growth.lowest_epoch = 0;
                }
                total += sum;
                if (o->stats)
                    rt_stats_forward(o->stats, net);
                rt_net_backward(net);
            }
            rt_dist_end_step();
            /* The gradients' sums may still run until here. */
            rt_dist_reduce_grads(net, hi - lo, count);
            if (o->stats && hi > lo)
                rt_stats_backward(o->stats, net);
            /* --detect-anomaly: a gradient stops the run before the
             * update changes the parameters; else the update itself. */
            if (net->anomaly.op < 0)
                rt_net_update(net);
            if (net->anomaly.op >= 0) {
                locate(net, o, loss, 0);
                code = stopped(o, RT_TRAIN_NONFINITE, epoch, start, ds->n, batch);
                goto out;
            }
            if (o->progress && (start / (size_t)batch) % 16 == 0)
                progress(i, o->epochs, start + (size_t)count, ds->n);
            if (interruptible && rt_interrupt_signal() && start + (size_t)count < ds->n) {
                /* Where a checkpoint resumes this epoch: its samples done,
                 * their loss, and the generator before its shuffle. */
                net->epoch_samples = (long)(start + (size_t)count);
                net->epoch_loss = total;
                *shuffle_rng = epoch_rng;
                code = stopped(o, RT_TRAIN_INTERRUPTED, epoch, start, ds->n, batch);
                goto out;
            }
        }
        const double seconds = rt_now_seconds() - t0;
        if (o->progress)
            fprintf(stderr, "\r%*s\r", 50, "");
        const double cost = rt_dist_sum(total) / (double)ds->n;
        if (o->watch && !isfinite(cost)) { /* several processes: the epoch's cost alone */
            if (o->stop) {
                o->stop->loss = cost;
                o->stop->located = 0;
            }
            code = stopped(o, RT_TRAIN_NONFINITE, epoch, ds->n, ds->n, batch);
            goto out;
        }
        /* costs is indexed by this call's epochs (compare starts fresh). */
        if (o->costs)
            o->costs[i - 1] = cost;
        /* Every process evaluates the whole validation set (the same
         * bits), so all take the same schedule and stopping decisions. */
        rt_eval_result v = {0};
        if (o->val)
            rt_evaluate(net, o->val, o->val_onehot, &v);
        if (o->log) {
            fprintf(o->log, "Epoch: %04ld cost = %.9f", epoch, cost);
            if (o->val)
                fprintf(o->log, " val_loss = %.9f", v.loss);
            if (o->val && v.has_accuracy)
                fprintf(o->log, " val_accuracy = %.4f", (double)v.correct / (double)v.n);
            if (scheduled)
                fprintf(o->log, " lr = %.9g", lr);
            fputc('\n', o->log);
            fflush(o->log);
        }
        if (o->stats)
            rt_stats_end_epoch(o->stats, o->log);
        if (o->watch)
            watch_growth(&growth, o->warn, epoch, cost);
        if (o->on_epoch)
            o->on_epoch(o->on_epoch_ctx, net, epoch, cost, lr, seconds);
        net->epoch = epoch;
        /* ReduceLROnPlateau watches the validation loss when there is a
         * validation set, else the epoch's training cost. */
        rt_sched_step(&net->sched, o->val ? v.loss : cost);
        if (watch_epoch(net, o, &es, &kept, epoch, &v))
            break;
        if (i < o->epochs && o->epoch_end && o->epoch_end(o->ctx, net) != 0) {
            code = stopped(o, RT_TRAIN_HALTED, epoch, ds->n, ds->n, batch);
            goto out;
        }
        if (i < o->epochs && interruptible && rt_interrupt_signal()) {
            code = stopped(o, RT_TRAIN_INTERRUPTED, epoch, ds->n, ds->n, batch);
            goto out;
        }
    }
    end_watch(net, o, &es, &kept);
out:
    net->check_ops = 0;
    if (o->log)
        fflush(o->log);
    keep_free(&kept);
    free(tf.spare);
    free(mix_copy);
    free(partner);
    free(order);
    return code;
}

/* Index of the largest of n values (the first on ties, as torch.argmax). */
static int argmax(const float *v, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[best])
            best = i;
    return best;
}

/* Put samples start.. of ds (up to the net's batch size) into the net's
 * input, and their targets when with_targets, in eval mode.  Returns how
 * many.  Eval and predict run at the batch the net was made for: the whole
 * batch is one sgemm per layer. */
static int load_chunk(rt_net *net, const rt_dataset *ds, size_t start, int onehot, int with_targets)
{
    const comp_plan *p = net->plan;
    int count = net->max_batch;
    if (ds->n - start < (size_t)count)
        count = (int)(ds->n - start);
    rt_net_set_batch(net, count, 0);
    /* The deterministic transforms (Normalize): what training saw. */
    const rt_tf_batch tf = {&p->info, 0, 0, 0, NULL};
    rt_data_gather_run_tf(ds, start, (size_t)count, rt_net_buf(net, p->input),
                          with_targets && (ds->labels || ds->targets) ? rt_net_buf(net, p->target) : NULL, onehot,
                          &tf);
    return count;
}

double rt_now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Whether operand k of forward op i is an output in the BATCH arena; its
 * buffer goes to *b. */
static int forward_writes(const comp_plan *p, int i, int k, int *b)
{
    comp_role r;
    if (!comp_op_role((comp_opcode)p->ops[i].code, k, &r))
        return 0;
    *b = p->ops[i].buf[k];
    return r.out && *b >= 0 && p->bufs[*b].arena == COMP_ARENA_BATCH;
}

/* Whether a forward operand before (i, k) already wrote buffer b. */
static int written_before(const comp_plan *p, int i, int k, int b)
{
    for (int j = 0; j <= i; j++)
        for (int m = 0; m < (j < i ? COMP_OP_MAX_BUFS : k); m++) {
            int e;
            if (forward_writes(p, j, m, &e) && e == b)
                return 1;
        }
    return 0;
}

/* Call fn once for every batch buffer a forward pass writes: the input
 * (the gather writes it), then the forward ops' outputs, each buffer once
 * however many ops write it (an in-place activation writes its input). */
static void each_forward_buffer(const comp_plan *p, void (*fn)(void *ctx, int buf), void *ctx)
{
    fn(ctx, p->input);
    for (int i = 0; i < p->nfwd; i++)
        for (int k = 0; k < COMP_OP_MAX_BUFS; k++) {
            int b;
            if (forward_writes(p, i, k, &b) && b != p->input && !written_before(p, i, k, b))
                fn(ctx, b);
        }
}

typedef struct {
    const comp_plan *plan;
    size_t floats; /* per sample, summed over the buffers visited */
} row_floats;

static void add_row_floats(void *ctx, int buf)
{
    row_floats *r = ctx;
    r->floats += comp_layout_buf_size(r->plan, COMP_LAYOUT_EVAL, buf);
}

int rt_inference_rows(const comp_plan *p, int batch)
{
    row_floats r = {p, 0};
    each_forward_buffer(p, add_row_floats, &r);
    const size_t fit = RT_INFER_PASS_BYTES / (r.floats * sizeof(float) + 1) / 16 * 16;
    const int rows = fit < RT_INFER_MIN_ROWS ? RT_INFER_MIN_ROWS : fit > INT_MAX ? INT_MAX : (int)fit;
    return batch < rows ? batch : rows;
}

typedef struct {
    rt_net *net;
    size_t rows;
} zero_rows;

static void zero_buffer_rows(void *ctx, int buf)
{
    const zero_rows *z = ctx;
    /* An inference net's layout (batch_offsets: the eval layout) gives a
     * scratch no more than its forward uses. */
    const comp_plan *p = z->net->plan;
    const size_t size = z->net->batch_offsets ? comp_layout_buf_size(p, COMP_LAYOUT_EVAL, buf) : p->bufs[buf].size;
    memset(rt_net_buf(z->net, buf), 0, size * z->rows * sizeof(float));
}

/* Write zeros over the batch buffers a forward pass of rows samples
 * writes (rt_predict's first pass: the others have its rows or fewer).
 * A fresh arena is address space only; the kernel maps each page when it
 * is first written, and on the development machine (a virtual machine)
 * mapping the ~50 MB a batch-10,000 pass of the MNIST MLP wrote (before
 * passes were cut, rt_inference_rows) took from 5 to over 100 ms from run
 * to run, against about 60 ms of arithmetic.  The passes then run on
 * resident memory, as every pass after the first would. */
static void touch_forward_buffers(rt_net *net, int rows)
{
    zero_rows z = {net, (size_t)rows};
    rt_net_set_batch(net, rows, 0);
    each_forward_buffer(net->plan, zero_buffer_rows, &z);
}

/* Forward passes over a data set, several at a time.
 *
 * A pass is net->max_batch samples (the last may be fewer), whatever the
 * thread count.  With T pool threads, T nets (the caller's, and T - 1
 * sharing its parameters) each run one pass of a window of T consecutive
 * passes, a pass per pool task; the layers inside a pass then run on that
 * task's thread alone (pool.c runs a job started inside a task on its
 * thread).  Each pass is the computation one thread would do, on the same
 * shapes, so the outputs are the same bits at every thread count, and the
 * window's passes are handed on in data-set order.
 *
 * Why passes rather than the layers' column blocks that training shares:
 * a block packs the pass's whole input again for every thread, and at
 * batch 10,000 two threads predicted 1.27 times as fast as one; two
 * independent one-thread processes together did about 1.9 times. */
typedef struct {
    rt_net *nets[RT_POOL_MAX];
    int nnets;
    const rt_dataset *ds;
    int onehot, with_loss;
    size_t start;                  /* the window's first sample */
    int count[RT_POOL_MAX];        /* samples of each pass of the window */
    double loss_sum[RT_POOL_MAX];  /* each pass's loss as a per-sample sum */
} pass_window;

static void pass_task(void *ctx, int t)
{
    pass_window *w = ctx;
    rt_net *net = w->nets[t];
    const size_t start = w->start + (size_t)t * (size_t)net->max_batch;
    w->count[t] = 0;
    if (start >= w->ds->n)
        return;
    w->count[t] = load_chunk(net, w->ds, start, w->onehot, w->with_loss);
    if (w->with_loss)
        w->loss_sum[t] = batch_loss_sum(net, rt_net_forward(net));
    else
        rt_net_infer(net);
}

/* What a caller does with each pass, in data-set order: the pass's first
 * sample, the net holding its outputs (and targets), its samples and its
 * loss as a per-sample sum (0 without with_loss). */
typedef void pass_done_fn(void *ctx, const rt_net *net, size_t start, int count, double loss_sum);

/* Runs every pass over ds and calls done for each in order; with_loss
 * runs the loss op too (eval), else the forward ops only (predict).
 * Allocates, before the first pass, the nets beside net (a thread whose
 * net cannot be had is left out) and writes zeros over the buffers a pass
 * writes, so that their pages are mapped before the clock starts (see
 * touch_forward_buffers).  Returns the seconds spent in the passes:
 * converting inputs and running ops, not done's work. */
static double run_passes(rt_net *net, const rt_dataset *ds, int onehot, int with_loss, pass_done_fn *done,
                         void *ctx)
{
    pass_window w = {.nets = {net}, .nnets = 1, .ds = ds, .onehot = onehot, .with_loss = with_loss};
    const size_t passes = (ds->n + (size_t)net->max_batch - 1) / (size_t)net->max_batch;
    const int threads = rt_pool_threads();
    const int want = (size_t)threads < passes ? threads : (int)(passes ? passes : 1);
    /* A training net lends its batch arena, idle between steps, to as
     * many of the passes' nets as it holds, up to one per thread: memory
     * is what limits a training run (a CNN's step needs a few times what a
     * pass does, but the convolutions' scratch is sized for the batch).
     * One net alone runs its passes with every thread inside the ops, as
     * training does.  Otherwise the caller's net runs passes too, beside
     * nets of their own. */
    int borrowed = 0;
    const int lend = rt_net_lendable(net) < want ? rt_net_lendable(net) : want;
    if (lend > 0) {
        for (w.nnets = 0; w.nnets < lend && (w.nets[w.nnets] = rt_net_new_borrowing(net, w.nnets));)
            w.nnets++;
        if (w.nnets == lend)
            borrowed = 1;
        else { /* out of memory: as without */
            for (int t = 0; t < w.nnets; t++)
                rt_net_free(w.nets[t]);
            w.nets[0] = net;
            w.nnets = 1;
        }
    }
    while (!borrowed && w.nnets < want && (w.nets[w.nnets] = rt_net_new_sharing(net)))
        w.nnets++;
    const int rows = ds->n < (size_t)net->max_batch ? (int)ds->n : net->max_batch;
    for (int t = 0; t < w.nnets && rows > 0; t++)
        touch_forward_buffers(w.nets[t], rows);
    double secs = 0;
    for (w.start = 0; w.start < ds->n;) {
        const double t0 = rt_now_seconds();
        rt_pool_run(pass_task, &w, w.nnets);
        secs += rt_now_seconds() - t0;
        for (int t = 0; t < w.nnets && w.count[t] > 0; t++) {
            done(ctx, w.nets[t], w.start, w.count[t], w.loss_sum[t]);
            w.start += (size_t)w.count[t];
        }
    }
    for (int t = borrowed ? 0 : 1; t < w.nnets; t++)
        rt_net_free(w.nets[t]);
    return secs;
}

typedef struct {
    const rt_dataset *ds;
    rt_eval_result *r;
    double total;
} eval_sums;

static void eval_pass(void *ctx, const rt_net *net, size_t start, int count, double loss_sum)
{
    eval_sums *e = ctx;
    const comp_plan *p = net->plan;
    const int width = (int)p->bufs[p->output].size;
    const float *out = rt_net_buf(net, p->output);
    e->total += loss_sum;
    for (int i = 0; e->r->has_accuracy && i < count; i++)
        e->r->correct += argmax(out + (size_t)i * (size_t)width, width) == e->ds->labels[start + (size_t)i];
}

void rt_evaluate(rt_net *net, const rt_dataset *ds, int onehot, rt_eval_result *r)
{
    memset(r, 0, sizeof *r);
    r->has_accuracy = ds->labels != NULL;
    eval_sums e = {ds, r, 0};
    run_passes(net, ds, onehot, 1, eval_pass, &e);
    r->n = ds->n;
    r->loss = ds->n ? e.total / (double)ds->n : 0;
}

/* The clock stops while a pass's rows are written: formatting decimals is
 * output, not inference, and its cost depends on where they go. */
static void predict_pass(void *ctx, const rt_net *net, size_t start, int count, double loss_sum)
{
    FILE *out = ctx;
    const comp_plan *p = net->plan;
    const size_t width = p->bufs[p->output].size;
    const float *y = rt_net_buf(net, p->output);
    for (int i = 0; i < count; i++) {
        for (size_t j = 0; j < width; j++)
            fprintf(out, "%s%.9g", j ? "," : "", (double)y[(size_t)i * width + j]);
        fputc('\n', out);
    }
}

double rt_predict(rt_net *net, const rt_dataset *ds, FILE *out)
{
    return run_passes(net, ds, 0, 0, predict_pass, out);
}
