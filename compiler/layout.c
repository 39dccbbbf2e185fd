/* layout.c — a compact workspace for the forward pass alone.
 *
 * The plan's batch arena holds everything a training step needs: the
 * targets, every activation kept for the backward pass and every
 * activation gradient.  Emitted inference code runs the forward ops only,
 * often on a device whose RAM is the limit, so it gets its own layout of
 * the batch buffers those ops touch, in which a buffer's floats are
 * reused once no later forward op reads it.  The ops, their operands and
 * their order are the plan's; only addresses change, so the results are
 * the same bits. */
#include "buf_align.h"
#include "plan.h"

#include <stdint.h>
#include <stdlib.h>

/* A buffer of the layout: its floats per sample (aligned) and the forward
 * ops from the first that touches it to the last; -1 and nfwd stand for
 * "before the first op" (the input, written by the caller) and "after the
 * last" (the output, read by the caller). */
typedef struct {
    int buf;
    size_t size;
    int first, last;
} live_range;

/* Whether [a, a + an) and [b, b + bn) overlap. */
static int overlaps(size_t a, size_t an, size_t b, size_t bn)
{
    return a < b + bn && b < a + an;
}

size_t comp_forward_layout(const comp_plan *p, size_t *offsets)
{
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
    /* Every batch operand of every forward op, read or written: in eval
     * mode some written operands (a kept pre-activation) are still
     * written, and a conservative range costs only space. */
    for (int i = -1; i <= p->nfwd; i++) {
        int touched[COMP_OP_MAX_BUFS + 1], nt = 0;
        if (i == -1)
            touched[nt++] = p->input;
        else if (i == p->nfwd)
            touched[nt++] = p->output;
        else
            for (int k = 0; k < COMP_OP_MAX_BUFS; k++)
                touched[nt++] = p->ops[i].buf[k];
        for (int t = 0; t < nt; t++) {
            const int b = touched[t];
            if (b < 0 || p->bufs[b].arena != COMP_ARENA_BATCH)
                continue;
            if (slot[b] < 0) {
                slot[b] = n;
                r[n++] = (live_range){b, COMP_BUF_ALIGN_UP(p->bufs[b].size), i, i};
            }
            r[slot[b]].last = i;
        }
    }
    /* In order of first use (the order found), each buffer at the lowest
     * aligned offset that overlaps no buffer placed before it whose range
     * meets its own.  A buffer an op reads and one it writes are live at
     * that op together, so an op never writes over its own input unless
     * the plan says so (the same buffer). */
    for (int k = 0; k < n; k++) {
        size_t at = 0;
        for (int moved = 1; moved;) {
            moved = 0;
            for (int j = 0; j < k; j++)
                if (r[j].last >= r[k].first && r[k].last >= r[j].first &&
                    overlaps(at, r[k].size, offsets[r[j].buf], r[j].size)) {
                    at = offsets[r[j].buf] + r[j].size;
                    moved = 1;
                }
        }
        offsets[r[k].buf] = at;
        if (at + r[k].size > end)
            end = at + r[k].size;
    }
    free(r);
    free(slot);
    return end;
}
