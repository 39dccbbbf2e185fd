/* layout.c — where the batch buffers live: floats shared by buffers that
 * are never live together.
 *
 * A batch buffer holds `size` floats per sample; without sharing, a CNN's
 * batch arena is dominated by buffers that are never needed at the same
 * time: the unfolded columns of each convolution (scratch of one op), the
 * gradients of activations (each read by one backward op), and, when only
 * the forward ops run, every activation once the next layer has read it.
 * So the lowering lays the batch arena out with this file's rule for the
 * whole training step, and code that runs a prefix of the ops alone (eval
 * and predict nets, emitted inference) gets a tighter layout of the
 * buffers that prefix touches.  The ops, their operands and their order
 * are the plan's; only addresses change, so the results are the same bits. */
#include "buf_align.h"
#include "plan.h"

#include <stdint.h>
#include <stdlib.h>

/* The op indices at which a scratch buffer is used, when it is used at
 * few enough ops to list them (a convolution's columns: its forward and
 * its backward op); beyond that its range is one interval. */
#define LAYOUT_MAX_POINTS 4

/* A buffer of the layout: its floats per sample (aligned) and when it is
 * live.  -1 and nops stand for "before the first op" (the caller writing
 * the input and the targets) and "after the last" (the caller reading
 * what the ops left).  A buffer that is only ever an op's scratch is live
 * at those ops alone (npoints > 0); any other from first to last. */
typedef struct {
    int buf;
    size_t size;
    int first, last;
    int npoints;
    int points[LAYOUT_MAX_POINTS];
    int written_early; /* written by a forward or loss op (not as scratch) */
} live_range;

/* Whether [a, a + an) and [b, b + bn) overlap. */
static int overlaps(size_t a, size_t an, size_t b, size_t bn)
{
    return a < b + bn && b < a + an;
}

static int live_at(const live_range *r, int i)
{
    if (r->npoints == 0)
        return r->first <= i && i <= r->last;
    for (int k = 0; k < r->npoints; k++)
        if (r->points[k] == i)
            return 1;
    return 0;
}

/* Whether two buffers are live at some op together. */
static int live_together(const live_range *a, const live_range *b)
{
    if (a->npoints == 0 && b->npoints == 0)
        return a->first <= b->last && b->first <= a->last;
    const live_range *s = a->npoints ? a : b, *o = a->npoints ? b : a;
    for (int k = 0; k < s->npoints; k++)
        if (live_at(o, s->points[k]))
            return 1;
    return 0;
}

/* Record that op i (or the caller, at -1 and nops) uses buffer b, in a
 * scratch role or not, and writes it or not. */
static void use(const comp_plan *p, comp_layout_kind kind, live_range *r, int *slot, int *n, int b, int i,
                int scratch, int early)
{
    if (b < 0 || p->bufs[b].arena != COMP_ARENA_BATCH)
        return;
    if (slot[b] < 0) {
        slot[b] = (*n)++;
        r[slot[b]] = (live_range){.buf = b, .size = COMP_BUF_ALIGN_UP(comp_layout_buf_size(p, kind, b)),
                                  .first = i, .last = i, .npoints = -1};
    }
    live_range *l = &r[slot[b]];
    l->last = i;
    l->written_early |= early;
    if (!scratch || l->npoints == 0) { /* used in a role other than scratch: an interval */
        l->npoints = 0;
        return;
    }
    if (l->npoints < 0)
        l->npoints = 0;
    if (l->npoints < LAYOUT_MAX_POINTS && (l->npoints == 0 || l->points[l->npoints - 1] != i)) {
        l->points[l->npoints++] = i;
        return;
    }
    if (l->npoints == LAYOUT_MAX_POINTS)
        l->npoints = 0; /* too many to list: the whole interval */
}

size_t comp_layout_buf_size(const comp_plan *p, comp_layout_kind kind, int b)
{
    const size_t fwd = p->bufs[b].fwd_size;
    return kind != COMP_LAYOUT_TRAIN && fwd ? fwd : p->bufs[b].size;
}

size_t comp_batch_layout(const comp_plan *p, comp_layout_kind kind, size_t *offsets)
{
    const int nops = kind == COMP_LAYOUT_FORWARD ? p->nfwd
                     : kind == COMP_LAYOUT_EVAL  ? p->nfwd + p->nloss
                                                 : p->nops;
    const int early_end = p->nfwd + p->nloss; /* ops up to here: forward and loss */
    live_range *r = calloc((size_t)p->nbufs + 1, sizeof *r);
    int *slot = malloc(((size_t)p->nbufs + 1) * sizeof *slot);
    size_t end = 0;
    if (!r || !slot) {
        free(r);
        free(slot);
        return 0;
    }
    for (int b = 0; b < p->nbufs; b++) {
        offsets[b] = SIZE_MAX;
        slot[b] = -1;
    }
    int n = 0;
    /* The caller writes the input (and, when a loss runs, the targets)
     * before the first op. */
    use(p, kind, r, slot, &n, p->input, -1, 0, 0);
    if (kind != COMP_LAYOUT_FORWARD)
        use(p, kind, r, slot, &n, p->target, -1, 0, 0);
    /* Every batch operand of every op, read or written: in eval mode some
     * written operands (a kept pre-activation) are still written, and a
     * conservative range costs only space. */
    for (int i = 0; i < nops; i++)
        for (int k = 0; k < COMP_OP_MAX_BUFS; k++) {
            comp_role role;
            if (!comp_op_role((comp_opcode)p->ops[i].code, k, &role))
                break;
            use(p, kind, r, slot, &n, p->ops[i].buf[k], i, role.scratch, role.out && !role.scratch && i < early_end);
        }
    use(p, kind, r, slot, &n, p->output, nops, 0, 0);
    /* In a training step the input and the targets are the caller's: it
     * may run the ops again on them (LBFGS's closure runs the step's
     * forward and backward several times on one batch), so nothing else
     * takes their floats. */
    if (kind == COMP_LAYOUT_TRAIN) {
        use(p, kind, r, slot, &n, p->input, nops, 0, 0);
        use(p, kind, r, slot, &n, p->target, nops, 0, 0);
    }
    for (int k = 0; k < n; k++) {
        if (r[k].npoints < 0)
            r[k].npoints = 0;
        /* Between the phases of a training step the caller may read what
         * the forward ops wrote (--stats reads every layer's output after
         * the loss), so those buffers stay until the backward starts. */
        if (kind == COMP_LAYOUT_TRAIN && r[k].written_early && r[k].npoints == 0 && r[k].last < early_end - 1)
            r[k].last = early_end - 1;
    }
    /* In order of first use (the order found), each buffer at the lowest
     * aligned offset that overlaps no buffer placed before it that is live
     * with it.  A buffer an op reads and one it writes are live at that
     * op together, so an op never writes over its own input unless the
     * plan says so (the same buffer). */
    for (int k = 0; k < n; k++) {
        size_t at = 0;
        for (int moved = 1; moved;) {
            moved = 0;
            for (int j = 0; j < k; j++)
                if (live_together(&r[j], &r[k]) && overlaps(at, r[k].size, offsets[r[j].buf], r[j].size)) {
                    at = offsets[r[j].buf] + r[j].size;
                    moved = 1;
                }
        }
        offsets[r[k].buf] = at;
        /* The last buffer needs no padding after it. */
        const size_t top = at + comp_layout_buf_size(p, kind, r[k].buf);
        if (top > end)
            end = top;
    }
    free(r);
    free(slot);
    return end;
}

size_t comp_forward_layout(const comp_plan *p, size_t *offsets)
{
    return comp_batch_layout(p, COMP_LAYOUT_FORWARD, offsets);
}
