/* explain.c — the plan dump behind `netc explain`: fixed columns, in the
 * spirit of SQLite's EXPLAIN, stable enough for golden-file tests. */
#include "plan.h"

#include <string.h>

const char *const comp_arena_names[COMP_ARENA_COUNT] = {"batch", "params", "grads", "state", "scalar", "model"};
const char *const comp_phase_titles[] = {"forward", "loss", "backward", "gradient clipping", "update"};

/* Append role=buffer for the op's inputs or outputs, following the roles
 * of ops.def. */
static void operands(const comp_plan *p, const comp_op *op, int want_out, char *buf, size_t size)
{
    size_t len = 0;
    comp_role r;
    buf[0] = 0;
    for (int i = 0; i < COMP_OP_MAX_BUFS && comp_op_role((comp_opcode)op->code, i, &r); i++)
        if (r.out == want_out && op->buf[i] >= 0 && len < size)
            len += (size_t)snprintf(buf + len, size - len, "%s%.*s=%s", len ? " " : "", r.len, r.name,
                                    p->bufs[op->buf[i]].name);
}

/* An update op's hyperparameters, named and ordered as its optimizer's
 * catalog entry: numbers from p[], pairs as (a, b), the bool arguments
 * that are true by name (the inverse of lower_update()). */
static void optim_text(const comp_op *op, const comp_entry *e, char *buf, size_t size)
{
    size_t len = 0;
    int np = 0, nflags = 0;
    buf[0] = 0;
    for (int a = 0; a < e->nargs && len < size; a++) {
        const char *sep = len ? " " : "";
        switch (e->args[a].type) {
        case COMP_T_BOOL:
            if (op->flags >> nflags++ & 1)
                len += (size_t)snprintf(buf + len, size - len, "%s%s", sep, e->args[a].name);
            break;
        case COMP_T_PAIR:
            if (np + 2 > COMP_OP_MAX_PARAMS) /* cannot happen: tests/test_optim.c checks the schemas fit */
                return;
            len += (size_t)snprintf(buf + len, size - len, "%s%s=(%g,%g)", sep, e->args[a].name, op->p[np],
                                    op->p[np + 1]);
            np += 2;
            break;
        default:
            if (np + 1 > COMP_OP_MAX_PARAMS)
                return;
            len += (size_t)snprintf(buf + len, size - len, "%s%s=%g", sep, e->args[a].name, op->p[np++]);
            break;
        }
    }
}

/* An activation with its arguments a, b, e.g. "LeakyReLU(0.2)" or
 * "GELU("tanh")": a string argument is shown as its choice, not as the
 * index the op carries. */
static void act_text(const comp_op *op, char *buf, size_t size)
{
    const comp_entry *e = &comp_layers[op->act];
    int slots[2];
    int n = comp_act_float_args((comp_act)op->act, slots);
    size_t len = (size_t)snprintf(buf, size, "%s", e->name);
    for (int i = 0; i < n && len < size; i++) {
        const comp_arg_spec *s = &e->args[slots[i]];
        const char *sep = i == 0 ? "(" : ", ";
        if (s->type == COMP_T_STR) {
            /* the choice at index p[i] of "a|b|c" */
            const char *c = s->choices;
            for (int k = 0; k < (int)op->p[i] && strchr(c, '|'); k++)
                c = strchr(c, '|') + 1;
            int clen = strchr(c, '|') ? (int)(strchr(c, '|') - c) : (int)strlen(c);
            len += (size_t)snprintf(buf + len, size - len, "%s\"%.*s\"", sep, clen, c);
        } else {
            len += (size_t)snprintf(buf + len, size - len, "%s%g", sep, op->p[i]);
        }
    }
    if (n > 0 && len < size)
        snprintf(buf + len, size - len, ")");
}

void comp_op_details(const comp_op *op, char *buf, size_t size)
{
    char act[64];
    act_text(op, act, sizeof act);
    const char *red = op->flags & COMP_OPF_SUM ? "sum" : op->flags & COMP_OPF_BATCHMEAN ? "batchmean" : "mean";
    switch ((comp_opcode)op->code) {
    case COMP_OP_LINEAR:
    case COMP_OP_LINEAR_BWD:
        snprintf(buf, size, "%dx%d %s", op->n, op->k, act);
        break;
    case COMP_OP_ACT:
    case COMP_OP_ACT_BWD:
        snprintf(buf, size, "%s n=%d", act, op->n);
        break;
    case COMP_OP_DROPOUT:
    case COMP_OP_ALPHA_DROPOUT:
        snprintf(buf, size, "p=%g n=%d", op->p[0], op->n);
        break;
    case COMP_OP_CONV:
    case COMP_OP_CONV_T:
    case COMP_OP_CONV_BWD:
    case COMP_OP_CONV_T_BWD: {
        const comp_geom *g = &op->g;
        static const char *const modes[] = {"", " reflect", " replicate", " circular"};
        int len = snprintf(buf, size, "%dx%dx%d->%dx%dx%d k=%dx%d s=%d,%d p=%d,%d", g->c_in, g->h_in, g->w_in,
                           g->c_out, g->h_out, g->w_out, g->kh, g->kw, g->sh, g->sw, g->ph, g->pw);
        if (len >= 0 && (size_t)len < size && (g->ph_end != g->ph || g->pw_end != g->pw))
            len += snprintf(buf + len, size - (size_t)len, "+%d,%d", g->ph_end - g->ph, g->pw_end - g->pw);
        if (len >= 0 && (size_t)len < size && (g->dh != 1 || g->dw != 1))
            len += snprintf(buf + len, size - (size_t)len, " d=%d,%d", g->dh, g->dw);
        if (len >= 0 && (size_t)len < size && g->groups != 1)
            len += snprintf(buf + len, size - (size_t)len, " groups=%d", g->groups);
        if (len >= 0 && (size_t)len < size && (g->oph || g->opw))
            len += snprintf(buf + len, size - (size_t)len, " output_padding=%d,%d", g->oph, g->opw);
        if (len >= 0 && (size_t)len < size && g->mode > 0 && g->mode < 4)
            len += snprintf(buf + len, size - (size_t)len, "%s", modes[g->mode]);
        if (len >= 0 && (size_t)len < size)
            snprintf(buf + len, size - (size_t)len, " %s", act);
        break;
    }
    case COMP_OP_MAXPOOL:
    case COMP_OP_AVGPOOL:
    case COMP_OP_MAXPOOL_BWD:
    case COMP_OP_AVGPOOL_BWD: {
        const comp_geom *g = &op->g;
        int len = snprintf(buf, size, "%dx%dx%d->%dx%d k=%dx%d s=%d,%d p=%d,%d", g->c_in, g->h_in, g->w_in,
                           g->h_out, g->w_out, g->kh, g->kw, g->sh, g->sw, g->ph, g->pw);
        if (len >= 0 && (size_t)len < size && (g->dh != 1 || g->dw != 1))
            len += snprintf(buf + len, size - (size_t)len, " d=%d,%d", g->dh, g->dw);
        if (len >= 0 && (size_t)len < size && (g->flags & COMP_GEOM_CEIL))
            len += snprintf(buf + len, size - (size_t)len, " ceil_mode");
        if (len >= 0 && (size_t)len < size && (op->code == COMP_OP_AVGPOOL || op->code == COMP_OP_AVGPOOL_BWD) &&
            !(g->flags & COMP_GEOM_COUNT_INCLUDE_PAD))
            len += snprintf(buf + len, size - (size_t)len, " exclude_pad");
        if (len >= 0 && (size_t)len < size && g->divisor)
            snprintf(buf + len, size - (size_t)len, " divisor=%d", g->divisor);
        break;
    }
    case COMP_OP_ADAPTIVE_MAXPOOL:
    case COMP_OP_ADAPTIVE_AVGPOOL:
    case COMP_OP_ADAPTIVE_MAXPOOL_BWD:
    case COMP_OP_ADAPTIVE_AVGPOOL_BWD:
        snprintf(buf, size, "%dx%dx%d->%dx%d", op->g.c_in, op->g.h_in, op->g.w_in, op->g.h_out, op->g.w_out);
        break;
    case COMP_OP_BATCHNORM:
    case COMP_OP_BATCHNORM_BWD:
        if (op->p[1] != op->p[1])
            snprintf(buf, size, "%d channels x %d eps=%g momentum=None %s", op->m, op->k, op->p[0], act);
        else
            snprintf(buf, size, "%d channels x %d eps=%g momentum=%g %s", op->m, op->k, op->p[0], op->p[1], act);
        break;
    case COMP_OP_DROPOUT_CH:
        snprintf(buf, size, "p=%g %d channels x %d", op->p[0], op->m, op->k);
        break;
    case COMP_OP_DROPOUT_BWD:
    case COMP_OP_RRELU_BWD:
        snprintf(buf, size, "n=%d", op->n);
        break;
    case COMP_OP_RRELU:
        snprintf(buf, size, "lower=%g upper=%g n=%d", op->p[0], op->p[1], op->n);
        break;
    case COMP_OP_PRELU:
    case COMP_OP_PRELU_BWD:
        if (op->m == 1)
            snprintf(buf, size, "shared slope n=%d", op->n);
        else
            snprintf(buf, size, "%d channels x %d n=%d", op->m, op->k, op->n);
        break;
    case COMP_OP_GLU:
    case COMP_OP_GLU_BWD:
        snprintf(buf, size, "%dx[%d->%d]x%d", op->m, op->n, op->n / 2, op->k);
        break;
    case COMP_OP_SOFTMAX:
    case COMP_OP_LOG_SOFTMAX:
    case COMP_OP_SOFTMIN:
    case COMP_OP_SOFTMAX_BWD:
    case COMP_OP_LOG_SOFTMAX_BWD:
    case COMP_OP_SOFTMIN_BWD:
        snprintf(buf, size, "%dx[%d]x%d", op->m, op->n, op->k);
        break;
    case COMP_OP_XENT:
    case COMP_OP_NLL: {
        /* Arguments at their defaults are left out. */
        int len = snprintf(buf, size, "classes=%d %s", op->n, red);
        if (op->p[0] != -100 && len >= 0 && (size_t)len < size)
            len += snprintf(buf + len, size - (size_t)len, " ignore_index=%d", (int)op->p[0]);
        if (op->code == COMP_OP_XENT && op->p[1] != 0 && len >= 0 && (size_t)len < size)
            snprintf(buf + len, size - (size_t)len, " label_smoothing=%g", op->p[1]);
        break;
    }
    case COMP_OP_MSE:
    case COMP_OP_L1:
    case COMP_OP_BCE:
        snprintf(buf, size, "n=%d %s", op->n, red);
        break;
    case COMP_OP_SMOOTH_L1:
        snprintf(buf, size, "n=%d %s beta=%g", op->n, red, op->p[0]);
        break;
    case COMP_OP_HUBER:
        snprintf(buf, size, "n=%d %s delta=%g", op->n, red, op->p[0]);
        break;
    case COMP_OP_BCE_LOGITS:
        snprintf(buf, size, "n=%d %s pos_weight=%g", op->n, red, op->p[0]);
        break;
    case COMP_OP_KL_DIV:
        snprintf(buf, size, "n=%d %s%s", op->n, red, op->p[0] != 0 ? " log_target" : "");
        break;
    case COMP_OP_EMBEDDING:
    case COMP_OP_EMBEDDING_BWD:
        snprintf(buf, size, "%dx%d indices=%d%s", op->k, op->n, op->m, op->flags & COMP_OPF_SPARSE ? " sparse" : "");
        if (op->p[0] >= 0)
            snprintf(buf + strlen(buf), size - strlen(buf), " padding_idx=%.0f", op->p[0]);
        break;
    case COMP_OP_LBFGS:
        snprintf(buf, size, "lr=%g max_iter=%g max_eval=%g tol_grad=%g tol_change=%g history=%d%s", op->p[0],
                 op->p[1], op->p[2], op->p[3], op->p[4], op->k, op->flags & COMP_OPF_STRONG_WOLFE ? " strong_wolfe" : "");
        break;
    case COMP_OP_CLIP_GRAD_NORM:
        snprintf(buf, size, "max_norm=%g norm_type=%g n=%d", op->p[0], op->p[1], op->n);
        break;
    case COMP_OP_CLIP_GRAD_VALUE:
        snprintf(buf, size, "clip_value=%g n=%d", op->p[0], op->n);
        break;
    default: /* the update ops */
        if (comp_op_optim((comp_opcode)op->code) >= 0)
            optim_text(op, &comp_optims[comp_op_optim((comp_opcode)op->code)], buf, size);
        else
            buf[0] = 0;
        break;
    }
}

static void human_bytes(double bytes, char *buf, size_t size)
{
    if (bytes >= 1024.0 * 1024.0)
        snprintf(buf, size, "%.2f MiB", bytes / (1024.0 * 1024.0));
    else if (bytes >= 1024.0)
        snprintf(buf, size, "%.1f KiB", bytes / 1024.0);
    else
        snprintf(buf, size, "%.0f B", bytes);
}

void comp_plan_dump(const comp_plan *p, int batch, FILE *out)
{
    char outs[160], ins[200], det[160], mem[32];
    fprintf(out, "plan for model %s, batch %d\n\n", p->model->name, batch);
    fprintf(out, "%-4s  %-15s  %-48s  %-40s  %-7s  %s\n", "addr", "opcode", "outputs", "inputs", "spec",
            "details");
    fprintf(out, "----  ---------------  ------------------------------------------------"
                 "  ----------------------------------------  -------  -------\n");
    int phase = -1;
    for (int i = 0; i < p->nops; i++) {
        const comp_op *op = &p->ops[i];
        if ((int)comp_op_phases[op->code] != phase) {
            phase = (int)comp_op_phases[op->code];
            fprintf(out, "      -- %s\n", comp_phase_titles[phase]);
        }
        operands(p, op, 1, outs, sizeof outs);
        operands(p, op, 0, ins, sizeof ins);
        comp_op_details(op, det, sizeof det);
        char at[16];
        snprintf(at, sizeof at, "%d:%d", op->line, op->col);
        fprintf(out, "%4d  %-15s  %-48s  %-40s  %-7s  %s\n", i, comp_op_names[op->code], outs, ins, at, det);
    }

    const comp_model *m = p->model;
    if (m->sched < COMP_SCHED_COUNT) {
        char call[512];
        comp_call_text(&comp_scheds[m->sched], &m->sched_args, call, sizeof call);
        fprintf(out, "\nschedule: %s at %d:%d, stepped after every epoch (sets lr, p[0] of the update)\n", call,
                m->sched_loc.first_line, m->sched_loc.first_column);
    }

    fprintf(out, "\n%-4s  %-20s  %-6s  %10s  %10s  %s\n", "buf", "name", "arena", "offset", "floats", "shape");
    fprintf(out, "----  --------------------  ------  ----------  ----------  ----------\n");
    for (int b = 0; b < p->nbufs; b++) {
        const comp_buf *buf = &p->bufs[b];
        char shape[96] = "";
        if (buf->arena == COMP_ARENA_BATCH) {
            /* (N, C, H, W) with N the batch; a buffer of no layer shape (scratch) as N x floats */
            if (buf->rank > 0) {
                comp_shape s = {.rank = buf->rank};
                memcpy(s.dims, buf->dims, sizeof s.dims);
                comp_shape_format(&s, shape, sizeof shape);
                char rest[96];
                snprintf(rest, sizeof rest, "(%d%s", batch, shape + 2);
                snprintf(shape, sizeof shape, "%s", rest);
            } else {
                snprintf(shape, sizeof shape, "%d x %zu", batch, buf->size);
            }
        } else if (buf->arena != COMP_ARENA_STATE && buf->arena != COMP_ARENA_SCALAR && buf->size > 0) {
            size_t len = 0;
            for (int d = 0; d < buf->rank && len < sizeof shape; d++)
                len += (size_t)snprintf(shape + len, sizeof shape - len, "%s%d", d ? " x " : "", buf->dims[d]);
            if (buf->rank == 0 && buf->size == 1)
                snprintf(shape, sizeof shape, "scalar");
        }
        fprintf(out, "%4d  %-20s  %-6s  %10zu  %10zu  %s\n", b, buf->name, comp_arena_names[buf->arena],
                buf->arena == COMP_ARENA_BATCH ? buf->offset * (size_t)batch : buf->offset,
                buf->arena == COMP_ARENA_BATCH ? buf->size * (size_t)batch : buf->size, shape);
    }

    fprintf(out, "\nparameters: %zu in %d tensors\n", comp_plan_param_count(p), p->nparams);
    size_t total = 0;
    for (int a = 0; a < COMP_ARENA_COUNT; a++) {
        size_t floats = p->arena_size[a] * (a == COMP_ARENA_BATCH ? (size_t)batch : 1);
        total += floats;
        human_bytes(4.0 * (double)floats, mem, sizeof mem);
        fprintf(out, "arena %-6s  %10zu floats  %12s\n", comp_arena_names[a], floats, mem);
    }
    human_bytes(4.0 * (double)total, mem, sizeof mem);
    fprintf(out, "arena total   %10zu floats  %12s\n", total, mem);
}
