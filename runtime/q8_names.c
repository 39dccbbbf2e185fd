/* q8_names.c — weight ops' channels and tensor names (see q8_names.h). */
#include "q8_names.h"

#include <stdio.h>
#include <string.h>

int rt_q8_weight_channels(const comp_plan *p, const comp_q8_op *op)
{
    const comp_op *src = &p->ops[op->src];
    return op->code == COMP_Q8_CONV ? src->g.c_out : src->n;
}

void rt_q8_tensor_name(const comp_plan *p, const comp_q8_op *op, const char *suffix, char *out, size_t size)
{
    const char *w = p->bufs[p->ops[op->src].buf[3]].name;
    const size_t n = strlen(w), k = strlen("weight");
    const int prefix = n >= k && strcmp(w + n - k, "weight") == 0 ? (int)(n - k) : (int)n;
    snprintf(out, size, "%.*s%s%s", prefix, w, prefix == (int)n ? "." : "", suffix);
}
