/* explain_json.c — `netc explain --json`: the plan of explain.c's dump as
 * one JSON object, for tools and notebooks. */
#include "json.h"
#include "plan.h"

/* {"role": "buffer", ...} for the op's outputs or its inputs. */
static void operands(const comp_plan *p, const comp_op *op, int want_out, FILE *out)
{
    comp_role r;
    int n = 0;
    putc('{', out);
    for (int i = 0; i < COMP_OP_MAX_BUFS && comp_op_role((comp_opcode)op->code, i, &r); i++)
        if (r.out == want_out && op->buf[i] >= 0) {
            fprintf(out, "%s\"%.*s\": ", n++ ? ", " : "", r.len, r.name);
            comp_json_str(out, p->bufs[op->buf[i]].name);
        }
    putc('}', out);
}

/* A buffer's shape as explain shows it: (batch, dims...) for a batch
 * buffer ([batch, floats] for scratch of no layer shape), the dims of a
 * parameter, [] for the state and scalar arenas. */
static void shape(const comp_buf *b, int batch, FILE *out)
{
    putc('[', out);
    if (b->arena == COMP_ARENA_BATCH) {
        fprintf(out, "%d", batch);
        if (b->rank > 0)
            for (int d = 0; d < b->rank; d++)
                fprintf(out, ", %d", b->dims[d]);
        else
            fprintf(out, ", %zu", b->size);
    } else if (b->arena != COMP_ARENA_STATE && b->arena != COMP_ARENA_SCALAR) {
        for (int d = 0; d < b->rank; d++)
            fprintf(out, "%s%d", d ? ", " : "", b->dims[d]);
    }
    putc(']', out);
}

void comp_plan_dump_json(const comp_plan *p, int batch, FILE *out)
{
    char det[512];
    const comp_model *m = p->model;
    fputs("{\"model\": ", out);
    comp_json_str(out, m->name);
    fprintf(out, ", \"batch\": %d,\n \"ops\": [", batch);
    for (int i = 0; i < p->nops; i++) {
        const comp_op *op = &p->ops[i];
        comp_op_details(op, det, sizeof det);
        fprintf(out, "%s\n  {\"addr\": %d, \"phase\": \"%s\", \"opcode\": \"%s\", \"outputs\": ", i ? "," : "", i,
                comp_phase_titles[comp_op_phases[op->code]], comp_op_names[op->code]);
        operands(p, op, 1, out);
        fputs(", \"inputs\": ", out);
        operands(p, op, 0, out);
        fprintf(out, ", \"line\": %d, \"col\": %d, \"details\": ", op->line, op->col);
        comp_json_str(out, det);
        putc('}', out);
    }
    fputs("],\n \"schedule\": ", out);
    if (m->sched < COMP_SCHED_COUNT) {
        comp_call_text(&comp_scheds[m->sched], &m->sched_args, det, sizeof det);
        comp_json_str(out, det);
    } else {
        fputs("null", out);
    }
    fputs(",\n \"buffers\": [", out);
    for (int b = 0; b < p->nbufs; b++) {
        const comp_buf *buf = &p->bufs[b];
        size_t scale = buf->arena == COMP_ARENA_BATCH ? (size_t)batch : 1;
        fprintf(out, "%s\n  {\"id\": %d, \"name\": ", b ? "," : "", b);
        comp_json_str(out, buf->name);
        fprintf(out, ", \"arena\": \"%s\", \"offset\": %zu, \"floats\": %zu, \"shape\": ", comp_arena_names[buf->arena],
                buf->offset * scale, buf->size * scale);
        shape(buf, batch, out);
        putc('}', out);
    }
    fprintf(out, "],\n \"parameters\": %zu, \"parameter_tensors\": %d,\n \"memory\": {", comp_plan_param_count(p),
            p->nparams);
    size_t total = 0;
    for (int a = 0; a < COMP_ARENA_COUNT; a++) {
        size_t floats = p->arena_size[a] * (a == COMP_ARENA_BATCH ? (size_t)batch : 1);
        total += floats;
        fprintf(out, "\"%s\": {\"floats\": %zu, \"bytes\": %zu}, ", comp_arena_names[a], floats, 4 * floats);
    }
    fprintf(out, "\"total\": {\"floats\": %zu, \"bytes\": %zu}}}\n", total, 4 * total);
}
