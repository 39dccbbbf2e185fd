/* emit.c — the C emitter.  It walks the same plan the interpreter runs and
 * prints, for each op, the op's call expression from ops.def with its
 * operand words replaced by constants and buffer addresses; the kernels
 * those calls name are the runtime's own, embedded as text (see emit.h),
 * of which NAME.c carries what the calls reach (emit_select.h).
 * So emitted code and interpreter execute the same kernels on the same
 * operands, op for op. */
#include "emit.h"
#include "emit_select.h"

#include "../runtime/kernels.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const op_calls[COMP_OP_COUNT] = {
#define OP(id, name, phase, roles, call) #call,
#include "ops.def"
#undef OP
};

static const char *const act_ids[COMP_ACT_COUNT] = {
#define ACT(id, name, needs_x, fwd, deriv, args) "COMP_ACT_" #id,
#include "acts.def"
#undef ACT
};

static const struct {
    const char *name;
    unsigned bit;
} op_flags[] = {
#define X(name, bit) {#name, bit},
    COMP_OP_FLAGS(X)
#undef X
};

/* What the operand words mean where the code is printed: in NAME_forward
 * (predict, eval mode) or NAME_step (training). */
typedef struct {
    const comp_plan *p;
    FILE *out;
    int training;
    int linked; /* a `netc build` program: the net is there, the lr can change */
    int index;  /* the op being printed */
    const size_t *batch_offset; /* batch buffers' offsets when not the plan's
                                 * (the forward-only layout), else NULL */
} ctx;

/* A float constant that reads back as the same float. */
static void put_float(FILE *f, float v)
{
    char b[40];
    if (isnan(v)) {
        fputs("NAN", f);
        return;
    }
    if (isinf(v)) {
        fputs(v > 0 ? "INFINITY" : "-INFINITY", f);
        return;
    }
    snprintf(b, sizeof b, "%.9g", (double)v);
    if (!strpbrk(b, ".e"))
        strcat(b, ".0");
    fprintf(f, "%sf", b);
}

/* A double constant that reads back as the same double. */
static void put_double(FILE *f, double v)
{
    char b[40];
    if (isnan(v)) {
        fputs("NAN", f);
        return;
    }
    if (isinf(v)) {
        fputs(v > 0 ? "HUGE_VAL" : "-HUGE_VAL", f);
        return;
    }
    snprintf(b, sizeof b, "%.17g", v);
    if (!strpbrk(b, ".e"))
        strcat(b, ".0");
    fputs(b, f);
}

/* Buffer b's address in the emitted function: BATCH buffers scale with
 * the batch n, as rt_net_buf() lays them out. */
static void put_buf(const ctx *x, int b)
{
    static const char *const base[COMP_ARENA_COUNT] = {"A", "P", "G", "S->state", "L", "M"};
    static const char *const linked_base[COMP_ARENA_COUNT] = {"A", "P", "G", "S", "L", "M"};
    if (b < 0) {
        fputs("NULL", x->out);
        return;
    }
    const comp_buf *buf = &x->p->bufs[b];
    if (buf->arena == COMP_ARENA_BATCH)
        fprintf(x->out, "(A + (size_t)n * %zu)", x->batch_offset ? x->batch_offset[b] : buf->offset);
    else
        fprintf(x->out, "(%s + %zu)", (x->linked ? linked_base : base)[buf->arena], buf->offset);
}

/* Whether op code's call expression takes the whole net (NET, SELF). */
static int needs_net(comp_opcode code)
{
    for (const char *s = op_calls[code]; *s;) {
        if (!isalpha((unsigned char)*s) && *s != '_') {
            s++;
            continue;
        }
        const char *w = s;
        while (isalnum((unsigned char)*s) || *s == '_')
            s++;
        if ((s - w == 3 && memcmp(w, "NET", 3) == 0) || (s - w == 4 && memcmp(w, "SELF", 4) == 0))
            return 1;
    }
    return 0;
}

/* Read "(" word ")" after an operand word; returns the end or NULL. */
static const char *paren_arg(const char *s, char *arg, size_t size)
{
    if (*s != '(')
        return NULL;
    const char *e = strchr(s, ')');
    if (!e || (size_t)(e - s - 1) >= size)
        return NULL;
    memcpy(arg, s + 1, (size_t)(e - s - 1));
    arg[e - s - 1] = '\0';
    return e + 1;
}

/* Whether op's float parameters may change while a program runs: the
 * update ops' lr (schedules, --lr) and, for symmetry, the clipping ops';
 * a `netc build` program reads those from the net's copy of the ops. */
static int live_params(const comp_op *op)
{
    comp_phase ph = comp_op_phases[op->code];
    return ph == COMP_PHASE_UPD || ph == COMP_PHASE_CLIP;
}

/* Print op's call expression with every operand word replaced.  Returns
 * -1 on a word this emitter does not know (a bug in ops.def). */
static int put_call(const ctx *x, const comp_op *op)
{
    FILE *f = x->out;
    const char *s = op_calls[op->code];
    while (*s) {
        if (!isalpha((unsigned char)*s) && *s != '_') {
            fputc(*s++, f);
            continue;
        }
        const char *w = s;
        while (isalnum((unsigned char)*s) || *s == '_')
            s++;
        size_t len = (size_t)(s - w);
        char arg[32];
#define IS(word) (len == sizeof(word) - 1 && memcmp(w, word, len) == 0)
        if (IS("BUF") || IS("FP") || IS("DP") || IS("FLAG") || IS("BOOL")) {
            const char *after = paren_arg(s, arg, sizeof arg);
            if (!after)
                return -1;
            s = after;
            if (IS("FLAG")) {
                unsigned bit = 0;
                for (size_t i = 0; i < sizeof op_flags / sizeof *op_flags; i++)
                    if (strcmp(op_flags[i].name, arg) == 0)
                        bit = op_flags[i].bit;
                if (!bit)
                    return -1;
                fprintf(f, "%u", op->flags & bit);
                continue;
            }
            int i = atoi(arg);
            if (IS("BUF") && i >= 0 && i < COMP_OP_MAX_BUFS)
                put_buf(x, op->buf[i]);
            else if ((IS("FP") || IS("DP")) && i >= 0 && i < COMP_OP_MAX_PARAMS && x->linked && live_params(op))
                fprintf(f, IS("FP") ? "((float)net->ops[%d].p[%d])" : "(net->ops[%d].p[%d])", x->index, i);
            else if (IS("FP") && i >= 0 && i < COMP_OP_MAX_PARAMS)
                put_float(f, (float)op->p[i]);
            else if (IS("DP") && i >= 0 && i < COMP_OP_MAX_PARAMS)
                put_double(f, op->p[i]);
            else if (IS("BOOL") && i >= 0 && i < 16)
                fprintf(f, "%d", (op->flags >> i) & 1);
            else
                return -1;
        } else if (IS("M"))
            fprintf(f, "%d", (int)op->m);
        else if (IS("N"))
            fprintf(f, "%d", (int)op->n);
        else if (IS("K"))
            fprintf(f, "%d", (int)op->k);
        else if (IS("ACT"))
            fputs(op->act < COMP_ACT_COUNT ? act_ids[op->act] : "0", f);
        else if (IS("BATCH"))
            fputs("n", f);
        else if (IS("ROWS"))
            fprintf(f, "((size_t)n * %d)", (int)op->m);
        else if (IS("NELEM"))
            fprintf(f, "((size_t)n * %d)", (int)op->n);
        else if (IS("TRAINING"))
            fputs(x->linked ? "net->training" : x->training ? "1" : "0", f);
        else if (IS("STEP"))
            fputs(x->linked ? "net->step" : x->training ? "S->step" : "0", f);
        else if (IS("LOSS_VALUE"))
            fprintf(f, "((double)L[%zu])", x->p->bufs[x->p->loss].offset);
        else if (IS("CLOSURE"))
            fputs(x->linked ? "rt_net_closure" : "netc_closure", f);
        else if (IS("CLOSURE_CTX"))
            fputs(x->linked ? "net" : "&cx", f);
        else if (IS("PSIZES"))
            fputs(x->linked ? "net->param_sizes" : "netc_param_sizes", f);
        else if (IS("NPARAMS"))
            fprintf(f, "%d", x->p->nparams);
        else if (IS("NORMS"))
            fputs(x->linked ? "net->norms" : "norms", f);
        else if (IS("GEOM")) {
            /* The geometry as a C99 compound literal, field by field (all int32_t). */
            const int32_t *g = (const int32_t *)(const void *)&op->g;
            fputs("(&(const comp_geom){", f);
            for (size_t i = 0; i < sizeof op->g / sizeof *g; i++)
                fprintf(f, "%s%d", i ? ", " : "", (int)g[i]);
            fputs("})", f);
        } else if (IS("RNG"))
            fputs(x->linked ? "&net->dropout_rng" : x->training ? "&S->rng" : "NULL", f);
        else
            fwrite(w, 1, len, f);
#undef IS
    }
    return 0;
}

/* The ops [first, first + count) as statements, each under a comment
 * naming the op and its spec position. */
static int put_ops(ctx *x, int first, int count)
{
    for (int i = first; i < first + count; i++) {
        const comp_op *op = &x->p->ops[i];
        x->index = i;
        if (x->linked)
            fprintf(x->out, "    case %d: /* %s (spec %d:%d) */\n        ", i, comp_op_names[op->code], op->line,
                    op->col);
        else
            fprintf(x->out, "    /* %d %s (spec %d:%d) */\n    ", i, comp_op_names[op->code], op->line, op->col);
        if (needs_net((comp_opcode)op->code)) {
            if (x->linked) {
                fprintf(x->out, "rt_exec_op(net, %d); /* needs the whole net: the interpreter's executor */\n"
                                "        break;\n", i);
                continue;
            }
            fprintf(stderr,
                    "netc emit: op '%s' (spec %d:%d) works on the whole net (LBFGS re-runs the model inside its\n"
                    "step; clip_grad_norm walks the parameter list); emitted training code cannot do that yet:\n"
                    "emit without --train, or train with another optimizer or clipping\n",
                    comp_op_names[op->code], op->line, op->col);
            return -1;
        }
        if (put_call(x, op) != 0) {
            fprintf(stderr, "netc emit: internal error: op '%s' has an unknown operand word\n",
                    comp_op_names[op->code]);
            return -1;
        }
        fputs(x->linked ? ";\n        break;\n" : ";\n", x->out);
    }
    return 0;
}

/* A parameter tensor's field name in NAME_params: "0.weight" -> p0_weight. */
static void field_name(const char *bufname, char *out, size_t size)
{
    size_t j = 0;
    out[j++] = 'p';
    for (const char *c = bufname; *c && j + 1 < size; c++)
        out[j++] = isalnum((unsigned char)*c) ? *c : '_';
    out[j] = '\0';
}

/* Text from outside (a path) inside a comment of the emitted C: printable
 * ASCII as it is, except '*', '?' and '\\', and every other byte, as \xNN.
 * So no "*" "/" can end the comment early (a directory named
 * "x*" "/ code /" "*" would otherwise put code into the file), and no trigraph
 * or line splice can either. */
static void put_comment_text(FILE *f, const char *s)
{
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c >= 0x20 && *c < 0x7F && *c != '*' && *c != '?' && *c != '\\')
            fputc(*c, f);
        else
            fprintf(f, "\\x%02X", *c);
    }
}

static void put_banner(FILE *f, const comp_plan *p, const comp_emit_opts *o, const char *file)
{
    const char *name = p->model->name;
    fprintf(f, "/* %s — model '%s' as standalone C99, generated by netc.\n *\n", file, name);
    fputs(" * spec:    ", f);
    put_comment_text(f, o->spec_path ? o->spec_path : "(unnamed)");
    fprintf(f, " (spec hash %016llx)\n", (unsigned long long)p->model->hash);
    if (o->weights) {
        fputs(" * weights: ", f);
        put_comment_text(f, o->weights_path ? o->weights_path : "(given)");
        fprintf(f, " (file hash %016llx), embedded\n", (unsigned long long)o->weights_hash);
    }
    else
        fprintf(f, " * weights: none embedded; the caller passes a %s_params\n", name);
    fprintf(f, " * matrix products: %s\n", o->blas ? "cblas_sgemm" : "portable C loops");
    fprintf(f, " *\n * Do not edit: regenerate with `netc emit`. */\n");
}

/* The spec's deterministic transforms are the caller's to apply: the
 * emitted functions take the model's input as it is.  Say which, with
 * their values, in the order training applied them; the random ones are
 * training-time augmentation and have no place on the device. */
static void put_transforms_note(FILE *h, const comp_plan *p)
{
    const comp_plan_info *in = &p->info;
    int det = 0;
    for (int k = 0; k < in->ntransforms; k++)
        det += !comp_tf_random[in->transforms[k].kind];
    if (!det)
        return;
    fprintf(h, "/* INPUTS: the spec transforms its data, and these functions do not.\n"
               " * Prepare each sample as netc's training, eval and predict did: its\n"
               " * floats (image bytes divided by 255.0f, as netc reads IDX and uint8\n"
               " * NumPy data), then, in this order, on the (%d, %d, %d) image:\n",
            in->img_c, in->img_h, in->img_w);
    for (int k = 0; k < in->ntransforms; k++) {
        const comp_transform *t = &in->transforms[k];
        const comp_entry *e = &comp_transforms[t->kind];
        if (comp_tf_random[t->kind])
            continue;
        if (t->kind == COMP_TF_NORMALIZE) {
            const int ms = comp_arg_index(e, "mean"), ss = comp_arg_index(e, "std");
            fprintf(h, " *   Normalize: x[c][i] = (x[c][i] - mean[c]) / std[c], in float, with\n *     mean = {");
            for (int c = 0; c < t->args.ntuple[ms]; c++)
                fprintf(h, "%s%.9gf", c ? ", " : "", (double)t->args.vec[ms][c]);
            fprintf(h, "}, std = {");
            for (int c = 0; c < t->args.ntuple[ss]; c++)
                fprintf(h, "%s%.9gf", c ? ", " : "", (double)t->args.vec[ss][c]);
            fprintf(h, "}%s\n", t->args.ntuple[ms] == 1 && in->img_c > 1 ? " (one value for every channel)" : "");
        } else {
            fprintf(h, " *   %s (see docs/language.md)\n", e->name);
        }
    }
    fprintf(h, " * The random transforms of the spec are for training only. */\n\n");
}

/* Bytes for the kernels' own frames on top of the fixed-size locals of
 * the emitted functions: their locals are fixed-size arrays of at most a
 * few hundred floats (dot4's 64 lane sums, the direct convolution's block
 * of outputs, BatchNorm's channel blocks) and saved registers.
 * tests/mcu.sh measures the deepest stack predict reaches on Cortex-M
 * builds (5.4 KB for specs/fashion_cnn.net, the most) and requires it
 * below NAME_STACK_BYTES. */
#define EMIT_STACK_MARGIN 8192

/* Bytes of the fixed-size locals of the emitted predict path: the
 * forward's scalar scratch L. */
static size_t fixed_stack(const comp_plan *p)
{
    const size_t nl = p->arena_size[COMP_ARENA_SCALAR];
    return (nl ? nl : 1) * sizeof(float);
}

/* Samples NAME_train_step takes at most: --batch, else the spec's. */
static size_t train_batch_of(const comp_plan *p, const comp_emit_opts *o)
{
    return (size_t)(o->train_batch > 0 ? o->train_batch : p->model->batch);
}

int comp_emit_memory_of(const comp_plan *p, const comp_emit_opts *o, comp_emit_memory *m)
{
    size_t *fwd = malloc(((size_t)p->nbufs + 1) * sizeof *fwd);
    const size_t fwd_floats = fwd ? comp_forward_layout(p, fwd) : 0;
    free(fwd);
    if (fwd_floats == 0)
        return -1;
    const size_t tb = train_batch_of(p, o);
    *m = (comp_emit_memory){
        .weights_bytes = (p->arena_size[COMP_ARENA_PARAM] + p->arena_size[COMP_ARENA_MODEL]) * sizeof(float),
        .sample_workspace_floats = fwd_floats,
        .max_batch = o->predict_batch,
        .stack_bytes = fixed_stack(p) + EMIT_STACK_MARGIN,
        .train_batch = (int)tb,
        .train_workspace_floats = p->arena_size[COMP_ARENA_BATCH] * tb + p->arena_size[COMP_ARENA_GRAD] +
                                  p->arena_size[COMP_ARENA_SCALAR],
        .params_bytes = p->arena_size[COMP_ARENA_PARAM] * sizeof(float),
        .state_floats = p->arena_size[COMP_ARENA_STATE] + p->arena_size[COMP_ARENA_MODEL],
    };
    return 0;
}

/* The leading arguments of a predict function that takes the caller's
 * parameters (and running statistics, when the model has them). */
static void caller_params_args(const comp_plan *p, char *buf, size_t size)
{
    if (p->arena_size[COMP_ARENA_MODEL])
        snprintf(buf, size, "const %s_params *params, const float *model_state, ", p->model->name);
    else
        snprintf(buf, size, "const %s_params *params, ", p->model->name);
}

static void put_header(FILE *h, const comp_plan *p, const comp_emit_opts *o, const comp_emit_memory *mem)
{
    const size_t fwd_floats = mem->sample_workspace_floats;
    const char *n = p->model->name;
    char file[128];
    snprintf(file, sizeof file, "%s.h", n);
    put_banner(h, p, o, file);
    fprintf(h, "#ifndef %s_H_INCLUDED\n#define %s_H_INCLUDED\n\n#include <stddef.h>\n#include <stdint.h>\n\n", n, n);
    put_transforms_note(h, p);
    fprintf(h, "/* Floats per sample in and out, and trainable parameters. */\n");
    fprintf(h, "#define %s_INPUT_SIZE %zu\n", n, p->bufs[p->input].size);
    fprintf(h, "#define %s_OUTPUT_SIZE %zu\n", n, p->bufs[p->output].size);
    fprintf(h, "#define %s_PARAM_COUNT %zu\n", n, p->arena_size[COMP_ARENA_PARAM]);
    if (o->weights)
        fprintf(h, "/* Bytes of read-only data (flash) the embedded weights and running\n"
                   " * statistics take; code comes on top. */\n"
                   "#define %s_WEIGHTS_BYTES %zu\n",
                n, mem->weights_bytes);
    const size_t nmodel = p->arena_size[COMP_ARENA_MODEL];
    if (nmodel)
        fprintf(h, "/* Model state that is not trained (BatchNorm's running statistics, in\n"
                   " * state_dict order: %d tensors), read by inference, updated by training. */\n"
                   "#define %s_MODEL_STATE_COUNT %zu\n",
                p->nstate, n, nmodel);
    fputc('\n', h);
    fprintf(h, "/* %s_predict_batch works through its samples up to %s_MAX_BATCH at a\n"
               " * time in a workspace of %s_WORKSPACE_BYTES, which the caller provides,\n"
               " * aligned for float (e.g. static float ws[%s_WORKSPACE_FLOATS]): %zu\n"
               " * floats per sample, the live activations of the forward pass, each\n"
               " * buffer's memory reused once no later op reads it. */\n",
            n, n, n, n, fwd_floats);
    fprintf(h, "#define %s_MAX_BATCH %d\n", n, o->predict_batch);
    fprintf(h, "/* %s_predict takes one sample: its workspace needs only this much. */\n", n);
    fprintf(h, "#define %s_SAMPLE_WORKSPACE_FLOATS %zu\n", n, fwd_floats);
    fprintf(h, "#define %s_SAMPLE_WORKSPACE_BYTES (%s_SAMPLE_WORKSPACE_FLOATS * sizeof(float))\n", n, n);
    fprintf(h, "#define %s_WORKSPACE_FLOATS %zu\n", n, fwd_floats * (size_t)o->predict_batch);
    fprintf(h, "#define %s_WORKSPACE_BYTES (%s_WORKSPACE_FLOATS * sizeof(float))\n", n, n);
    fprintf(h, "/* Stack the predict functions need at most: their fixed-size locals\n"
               " * (%zu bytes) and a margin for the kernels' frames, which the project's\n"
               " * tests check on Cortex-M4F and M0+ builds at -O2 and -Os.  Nothing is\n"
               " * allocated on the heap. */\n",
            fixed_stack(p));
    fprintf(h, "#define %s_STACK_BYTES %zu\n\n", n, mem->stack_bytes);

    /* The parameter layout: one field per tensor, in arena order. */
    fprintf(h, "/* The parameters as one block of floats, named as the model's PyTorch\n"
               " * state_dict names them (\"0.weight\" is p0_weight). */\n");
    fprintf(h, "typedef struct {\n");
    size_t at = 0;
    for (int i = 0; i < p->nparams; i++) {
        const comp_buf *b = &p->bufs[p->params[i]];
        char field[48];
        field_name(b->name, field, sizeof field);
        if (b->offset > at)
            fprintf(h, "    float pad%zu[%zu];\n", at, b->offset - at);
        if (b->rank == 2)
            fprintf(h, "    float %s[%d][%d];\n", field, b->dims[0], b->dims[1]);
        else
            fprintf(h, "    float %s[%zu];\n", field, b->size);
        at = b->offset + b->size;
    }
    if (p->nparams == 0)
        fprintf(h, "    float none;\n");
    fprintf(h, "} %s_params;\n\n", n);

    if (o->weights) {
        fprintf(h, "/* The trained weights are embedded.  Classify one sample (input: %s_INPUT_SIZE\n"
                   " * floats, output: %s_OUTPUT_SIZE floats), or n samples stored one after\n"
                   " * another.  Thread-safe: all scratch memory is the caller's workspace. */\n",
                n, n);
        fprintf(h, "void %s_predict(const float *input, float *output, void *workspace);\n", n);
        fprintf(h, "void %s_predict_batch(int n, const float *input, float *output, void *workspace);\n\n", n);
    } else {
        fprintf(h, "/* Classify one sample (input: %s_INPUT_SIZE floats, output:\n"
                   " * %s_OUTPUT_SIZE floats), or n samples stored one after another, with the\n"
                   " * caller's parameters.  Thread-safe: all scratch memory is the caller's\n"
                   " * workspace. */\n",
                n, n);
        if (nmodel) {
            fprintf(h, "/* model_state: %s_MODEL_STATE_COUNT floats (a checkpoint's running\n"
                       " * statistics, or %s_train_state.model after training here). */\n", n, n);
            fprintf(h, "void %s_predict(const %s_params *params, const float *model_state, const float *input,\n"
                       "    float *output, void *workspace);\n", n, n);
            fprintf(h, "void %s_predict_batch(const %s_params *params, const float *model_state, int n,\n"
                       "    const float *input, float *output, void *workspace);\n\n", n, n);
        } else {
            fprintf(h, "void %s_predict(const %s_params *params, const float *input, float *output, void *workspace);\n",
                    n, n);
            fprintf(h, "void %s_predict_batch(const %s_params *params, int n, const float *input, float *output,\n"
                       "    void *workspace);\n\n",
                    n, n);
        }
    }

    if (o->train) {
        size_t tb = train_batch_of(p, o);
        fprintf(h, "/* Training on the device: %s_train_step runs forward, loss, backward and\n"
                   " * the spec's optimizer update on up to %s_TRAIN_BATCH samples.  The\n"
                   " * targets are %s_TARGET_SIZE floats per sample (a class index for a\n"
                   " * class loss%s).  The optimizer's state lives in the caller's\n"
                   " * %s_train_state; scratch memory in a workspace of\n"
                   " * %s_TRAIN_WORKSPACE_BYTES. */\n",
                n, n, n,
                p->info.mix < COMP_MIX_COUNT ? "; with the spec's augment, class probabilities, which the\n"
                                               " * caller mixes: this code does no MixUp or CutMix"
                                             : "",
                n, n);
        fprintf(h, "#define %s_TARGET_SIZE %zu\n", n, p->target_size);
        fprintf(h, "#define %s_TRAIN_BATCH %zu\n", n, tb);
        fprintf(h, "#define %s_TRAIN_WORKSPACE_FLOATS %zu\n", n, mem->train_workspace_floats);
        fprintf(h, "#define %s_TRAIN_WORKSPACE_BYTES (%s_TRAIN_WORKSPACE_FLOATS * sizeof(float))\n", n, n);
        fprintf(h, "#define %s_STATE_COUNT %zu\n", n, p->arena_size[COMP_ARENA_STATE]);
        fprintf(h, "/* RAM that training takes besides the workspace (which holds the\n"
                   " * parameters' gradients too): the parameters being trained (%s_params)\n"
                   " * and the optimizer's state (%s_train_state). */\n"
                   "#define %s_PARAMS_BYTES (%s_PARAM_COUNT * sizeof(float))\n"
                   "#define %s_TRAIN_STATE_BYTES sizeof(%s_train_state)\n\n",
                n, n, n, n, n, n);
        fprintf(h, "typedef struct {\n    long step;     /* optimizer steps taken */\n"
                   "    uint64_t rng;  /* dropout generator state */\n"
                   "    float state[%zu];\n",
                p->arena_size[COMP_ARENA_STATE] ? p->arena_size[COMP_ARENA_STATE] : 1);
        if (nmodel)
            fprintf(h, "    float model[%zu]; /* running statistics, updated by every step */\n", nmodel);
        fprintf(h, "} %s_train_state;\n\n", n);
        fprintf(h, "/* Start training: zero the optimizer state, seed the dropout stream as\n"
                   " * `netc train` does for the same seed%s. */\n",
                nmodel ? (o->weights ? ", and take the embedded running statistics"
                                     : ", and start the running statistics as torch does")
                       : "");
        fprintf(h, "void %s_train_init(%s_train_state *state, uint64_t seed);\n\n", n, n);
        if (o->weights)
            fprintf(h, "/* Copy the embedded weights into params, to train from them. */\n"
                       "void %s_load_weights(%s_params *params);\n\n",
                    n, n);
        fprintf(h, "/* One optimizer step on n samples (1 <= n <= %s_TRAIN_BATCH); updates\n"
                   " * params in place and returns the batch loss. */\n",
                n);
        fprintf(h, "float %s_train_step(int n, const float *input, const float *target, %s_params *params,\n"
                   "    %s_train_state *state, void *workspace);\n\n",
                n, n, n);
        if (o->weights) {
            /* Inference with what training on the device made of them. */
            fprintf(h, "/* Classify with the caller's parameters (e.g. trained by %s_train_step)%s,\n"
                       " * as %s_predict and %s_predict_batch do with the embedded ones, in their\n"
                       " * workspace. */\n",
                    n, nmodel ? " and\n * running statistics (state.model)" : "", n, n);
            char pa[160];
            caller_params_args(p, pa, sizeof pa);
            fprintf(h, "void %s_predict_params(%sconst float *input, float *output,\n    void *workspace);\n", n, pa);
            fprintf(h, "void %s_predict_batch_params(%sint n, const float *input,\n    float *output, void *workspace);\n\n",
                    n, pa);
        }
    }
    fprintf(h, "#endif\n");
}

/* Copy loops between the caller's arrays and a batch buffer. */
static void put_copy_in(FILE *c, const comp_plan *p, int buf, const char *src)
{
    size_t w = p->bufs[buf].size;
    fprintf(c, "    for (size_t i = 0; i < (size_t)n * %zu; i++)\n        A[(size_t)n * %zu + i] = %s[i];\n", w,
            p->bufs[buf].offset, src);
}

/* NAME.c up to the kernels: banner, includes, the pragmas and macros the
 * kernels' text relies on. */
static void put_prologue(FILE *c, const comp_plan *p, const comp_emit_opts *o)
{
    const char *n = p->model->name;
    char file[128];
    snprintf(file, sizeof file, "%s.c", n);
    put_banner(c, p, o, file);
    fprintf(c, "#include \"%s.h\"\n\n#include <math.h>\n#include <stddef.h>\n#include <stdint.h>\n#include <string.h>\n", n);
    if (o->blas)
        fprintf(c, "#include <cblas.h>\n");
    /* A fused a*b+c rounds once where the interpreter rounds twice.  Clang
     * contracts by default, and GCC does in its GNU modes (the default
     * -std=gnu11 of a firmware build fuses into VFMA on Cortex-M4F/M7), so
     * the file turns contraction off itself for both rather than relying
     * on the caller's flags; -ffast-math reorders sums, so it is refused. */
    fprintf(c, "\n#if defined(__FAST_MATH__)\n"
               "#error \"%s.c: built with -ffast-math, which reorders the sums and changes the results; build without it\"\n"
               "#endif\n"
               "#if defined(__clang__)\n#pragma STDC FP_CONTRACT OFF\n"
               "#elif defined(__GNUC__)\n#pragma GCC optimize(\"fp-contract=off\")\n#endif\n",
            n);
    /* The kernels mark the functions a compiler must not inline
     * (runtime/kernels.h says why). */
    fprintf(c, "#if defined(__GNUC__)\n#define NETC_NOINLINE __attribute__((noinline))\n#else\n"
               "#define NETC_NOINLINE\n#endif\n");
    /* A microcontroller core (ARM's M profile) has no vector unit: the
     * kernels take loops written for its registers, which compute the same
     * sums in the same order (runtime/kernels.h).  Defined on the command
     * line, it picks either on any target (the tests build both on the
     * host and compare the bits). */
    fprintf(c, "#if !defined(NETC_SMALL_CORE)\n#if defined(__ARM_ARCH_PROFILE) && __ARM_ARCH_PROFILE == 'M'\n"
               "#define NETC_SMALL_CORE 1\n#else\n#define NETC_SMALL_CORE 0\n#endif\n#endif\n");
    fprintf(c, "\n/* The runtime kernels the model calls, and what they need of netc's runtime. */\n"
               "#if defined(__GNUC__)\n#pragma GCC diagnostic ignored \"-Wunused-function\"\n#endif\n\n");
}

/* The model's own code, after the kernels: weights, NAME_forward, the
 * predict functions and, with o->train, the training step. */
static int put_model(FILE *c, const comp_plan *p, const comp_emit_opts *o, const size_t *fwd)
{
    const char *n = p->model->name;
    fprintf(c, "\n/* The parameter block must be exactly the arena the kernels index. */\n"
               "typedef char netc_params_layout_check[sizeof(%s_params) == %zu * sizeof(float) ? 1 : -1];\n\n",
            n, p->arena_size[COMP_ARENA_PARAM] ? p->arena_size[COMP_ARENA_PARAM] : 1);

    if (o->weights) {
        size_t count = p->arena_size[COMP_ARENA_PARAM];
        fprintf(c, "/* The weights, laid out as %s_params (read-only: they may live in\n"
                   " * flash). */\nstatic const float netc_weights[%zu] = {", n, count);
        for (size_t i = 0; i < count; i++) {
            if (i % 8 == 0)
                fputs("\n   ", c);
            fputc(' ', c);
            put_float(c, o->weights[i]);
            fputc(',', c);
        }
        fprintf(c, "\n};\n\n");
    }

    const size_t nmodel = p->arena_size[COMP_ARENA_MODEL];
    if (o->weights && nmodel) {
        fprintf(c, "/* The running statistics that go with the weights. */\n"
                   "static const float netc_model_state[%zu] = {", nmodel);
        for (size_t i = 0; i < nmodel; i++) {
            if (i % 8 == 0)
                fputs("\n   ", c);
            fputc(' ', c);
            put_float(c, o->model_state ? o->model_state[i] : 0.0f);
            fputc(',', c);
        }
        fprintf(c, "\n};\n\n");
    }

    ctx x = {p, c, 0, 0, 0, fwd};
    /* M, the model state, is only read in eval mode (BatchNorm's running
     * statistics); the kernels take it writable for training. */
    fprintf(c, "/* The forward ops in eval mode, for n samples in the batch arena A. */\n"
               "static void netc_forward(const float *restrict P, float *M, float *restrict A, int n)\n{\n"
               "    float L[%zu]; /* fixed-size scratch (BatchNorm without running statistics) */\n"
               "    (void)P;\n    (void)M;\n    (void)L;\n",
            p->arena_size[COMP_ARENA_SCALAR] ? p->arena_size[COMP_ARENA_SCALAR] : 1);
    if (put_ops(&x, 0, p->nfwd) != 0)
        return -1;
    fprintf(c, "}\n\n");

    /* One runner for every predict entry point: the parameters P and the
     * model state M are its arguments, the embedded ones or the caller's. */
    fprintf(c, "/* The forward pass over n_all samples, at most %s_MAX_BATCH at a time. */\n"
               "static void %s_predict_run(const float *P, float *M, int n_all, const float *input, float *output,\n"
               "    void *workspace)\n{\n", n, n);
    fprintf(c, "    float *A = (float *)workspace;\n");
    fprintf(c, "    for (int start = 0; start < n_all; start += %d) {\n", o->predict_batch);
    fprintf(c, "        int n = n_all - start < %d ? n_all - start : %d;\n", o->predict_batch, o->predict_batch);
    fprintf(c, "        const float *in = input + (size_t)start * %zu;\n", p->bufs[p->input].size);
    fprintf(c, "        float *out = output + (size_t)start * %zu;\n", p->bufs[p->output].size);
    fprintf(c, "        for (size_t i = 0; i < (size_t)n * %zu; i++)\n            A[(size_t)n * %zu + i] = in[i];\n",
            p->bufs[p->input].size, fwd[p->input]);
    fprintf(c, "        netc_forward(P, M, A, n);\n");
    fprintf(c, "        for (size_t i = 0; i < (size_t)n * %zu; i++)\n            out[i] = A[(size_t)n * %zu + i];\n",
            p->bufs[p->output].size, fwd[p->output]);
    fprintf(c, "    }\n}\n\n");
    /* The caller's parameters (and running statistics): the only predict
     * without embedded weights, and with --train the one that runs the
     * parameters trained on the device. */
    const int caller_params = !o->weights || o->train;
    const char *suffix = o->weights ? "_params" : "";
    if (caller_params) {
        char pa[160];
        caller_params_args(p, pa, sizeof pa);
        fprintf(c, "void %s_predict_batch%s(%sint n, const float *input, float *output, void *workspace)\n{\n"
                   "    %s_predict_run((const float *)params, %s, n, input, output, workspace);\n}\n\n",
                n, suffix, pa, n, nmodel ? "(float *)model_state" : "NULL");
        fprintf(c, "void %s_predict%s(%sconst float *input, float *output, void *workspace)\n{\n"
                   "    %s_predict_run((const float *)params, %s, 1, input, output, workspace);\n}\n",
                n, suffix, pa, n, nmodel ? "(float *)model_state" : "NULL");
    }
    if (o->weights) {
        /* the embedded arrays (netc_weights, netc_model_state) */
        const char *mw = nmodel ? "(float *)netc_model_state" : "NULL";
        fprintf(c, "%svoid %s_predict_batch(int n, const float *input, float *output, void *workspace)\n{\n"
                   "    %s_predict_run(netc_weights, %s, n, input, output, workspace);\n}\n\n",
                caller_params ? "\n" : "", n, n, mw);
        fprintf(c, "void %s_predict(const float *input, float *output, void *workspace)\n{\n"
                   "    %s_predict_run(netc_weights, %s, 1, input, output, workspace);\n}\n",
                n, n, mw);
    }

    if (o->train) {
        x.training = 1;
        x.batch_offset = NULL; /* training: the plan's batch arena */
        /* clip_grad_norm's per-tensor split (kernels.h rt_clip_grad_norm). */
        fprintf(c, "\nstatic const int32_t netc_param_sizes[%d] = {", p->nparams > 0 ? p->nparams : 1);
        for (int k = 0; k < p->nparams; k++)
            fprintf(c, "%s%zu", k ? ", " : "", p->bufs[p->params[k]].size);
        fprintf(c, "%s};\n", p->nparams > 0 ? "" : "0");
        size_t tb = train_batch_of(p, o);
        fprintf(c, "\nvoid %s_train_init(%s_train_state *state, uint64_t seed)\n{\n", n, n);
        fprintf(c, "    state->step = 0;\n    state->rng = rt_rng_seed(seed, %lluULL);\n",
                (unsigned long long)RT_STREAM_DROPOUT);
        fprintf(c, "    for (size_t i = 0; i < sizeof state->state / sizeof *state->state; i++)\n"
                   "        state->state[i] = 0.0f;\n");
        if (nmodel && o->weights)
            fprintf(c, "    for (size_t i = 0; i < %zu; i++)\n        state->model[i] = netc_model_state[i];\n",
                    nmodel);
        else
            for (int k = 0; k < p->nstate; k++) {
                const comp_buf *b = &p->bufs[p->state[k]];
                fprintf(c, "    for (size_t i = 0; i < %zu; i++) /* %s */\n        state->model[%zu + i] = ", b->size,
                        b->name, b->offset);
                put_float(c, (float)b->init_value);
                fputs(";\n", c);
            }
        fprintf(c, "}\n\n");
        if (o->weights)
            fprintf(c, "void %s_load_weights(%s_params *params)\n{\n    float *d = (float *)params;\n"
                       "    for (size_t i = 0; i < %zu; i++)\n        d[i] = netc_weights[i];\n}\n\n",
                    n, n, p->arena_size[COMP_ARENA_PARAM]);
        /* The closure: forward, loss and backward on the batch in A.  The
         * step runs it once; LBFGS runs it again inside its update. */
        fprintf(c, "struct netc_cx {\n    float *P, *A, *G, *L, *M;\n    %s_train_state *S;\n    int n;\n};\n\n", n);
        fprintf(c, "/* Forward, loss and backward on the batch in the workspace; the loss. */\n"
                   "static double netc_closure(void *ctx)\n{\n"
                   "    struct netc_cx *cx = (struct netc_cx *)ctx;\n"
                   "    float *P = cx->P, *A = cx->A, *G = cx->G, *L = cx->L, *M = cx->M;\n"
                   "    %s_train_state *S = cx->S;\n    const int n = cx->n;\n"
                   "    (void)P;\n    (void)G;\n    (void)S;\n    (void)M;\n",
                n);
        fprintf(c, "    /* forward and loss */\n");
        if (put_ops(&x, 0, p->nfwd + p->nloss) != 0)
            return -1;
        fprintf(c, "    /* backward */\n");
        if (put_ops(&x, p->nfwd + p->nloss, p->nbwd) != 0)
            return -1;
        fprintf(c, "    return (double)L[%zu];\n}\n\n", p->bufs[p->loss].offset);
        fprintf(c, "float %s_train_step(int n, const float *input, const float *target, %s_params *params,\n"
                   "    %s_train_state *S, void *workspace)\n{\n",
                n, n, n);
        fprintf(c, "    float *P = (float *)params;\n    float *A = (float *)workspace;\n"
                   "    float *G = A + %zu;\n    float *L = G + %zu;\n",
                p->arena_size[COMP_ARENA_BATCH] * tb, p->arena_size[COMP_ARENA_GRAD]);
        fprintf(c, "    float norms[%d]; /* clip_grad_norm's scratch */\n", p->nparams > 0 ? p->nparams : 1);
        fprintf(c, "    struct netc_cx cx;\n");
        fprintf(c, "    (void)G;\n    (void)L;\n    (void)norms;\n    (void)netc_param_sizes;\n");
        put_copy_in(c, p, p->input, "input");
        put_copy_in(c, p, p->target, "target");
        fprintf(c, "    cx.P = P;\n    cx.A = A;\n    cx.G = G;\n    cx.L = L;\n    cx.S = S;\n    cx.n = n;\n");
        fprintf(c, nmodel ? "    cx.M = S->model;\n" : "    cx.M = NULL;\n");
        fprintf(c, "    const float loss = (float)netc_closure(&cx);\n");
        fprintf(c, "    /* gradient clipping and update */\n    S->step++;\n");
        if (put_ops(&x, p->nfwd + p->nloss + p->nbwd, p->nclip + p->nupd) != 0)
            return -1;
        fprintf(c, "    return loss;\n}\n");
    }
    return 0;
}

/* NAME.c: the model's code is written first, into memory, so that the
 * kernels it reaches can be picked out of the embedded text and printed
 * ahead of it. */
static int put_source(FILE *c, const comp_plan *p, const comp_emit_opts *o, const size_t *fwd)
{
    char *model = NULL;
    size_t model_len = 0;
    FILE *m = open_memstream(&model, &model_len);
    if (!m) {
        fprintf(stderr, "netc emit: out of memory\n");
        return -1;
    }
    int status = put_model(m, p, o, fwd);
    if (fclose(m) != 0) {
        fprintf(stderr, "netc emit: out of memory\n");
        status = -1;
    }
    if (status == 0) {
        put_prologue(c, p, o);
        status = comp_emit_select(c, o->blas ? comp_emit_kernels_blas : comp_emit_kernels_portable, model, model_len);
        if (status != 0)
            fprintf(stderr, "netc emit: out of memory\n");
        else
            fwrite(model, 1, model_len, c);
    }
    free(model);
    return status;
}

int comp_emit(const comp_plan *p, const comp_emit_opts *o, FILE *h, FILE *c)
{
    char why[256];
    if (comp_model_name_problem(p->model->name, why, sizeof why)) { /* comp_check refuses it already */
        fprintf(stderr, "netc emit: %s\n", why);
        return -1;
    }
    /* Predict runs the forward ops alone, in a workspace laid out for them
     * (layout.c); training code uses the plan's batch arena. */
    size_t *fwd = malloc(((size_t)p->nbufs + 1) * sizeof *fwd);
    const size_t fwd_floats = fwd ? comp_forward_layout(p, fwd) : 0;
    if (fwd_floats == 0) {
        fprintf(stderr, "netc emit: out of memory\n");
        free(fwd);
        return -1;
    }
    comp_emit_memory mem;
    if (comp_emit_memory_of(p, o, &mem) != 0) {
        fprintf(stderr, "netc emit: out of memory\n");
        free(fwd);
        return -1;
    }
    put_header(h, p, o, &mem);
    const int status = put_source(c, p, o, fwd);
    free(fwd);
    return status;
}

/* Text as a C string literal, a line per source line ('?' escaped too,
 * so that no "??/" trigraph can escape the closing quote). */
static void put_c_string(FILE *c, const char *text)
{
    fputs("\"", c);
    for (const char *t = text; *t; t++) {
        unsigned char ch = (unsigned char)*t;
        if (ch == '\n')
            fputs(t[1] ? "\\n\"\n    \"" : "\\n", c);
        else if (ch == '\\' || ch == '"' || ch == '?')
            fprintf(c, "\\%c", ch);
        else if (ch < 32 || ch >= 127)
            fprintf(c, "\\%03o", ch);
        else
            fputc(ch, c);
    }
    fputs("\"", c);
}

int comp_emit_program(const comp_plan *p, const char *spec_name, const char *spec_text, FILE *c)
{
    fprintf(c, "/* A program for model '%s', generated by `netc build` from ", p->model->name);
    put_comment_text(c, spec_name);
    fprintf(c, " (spec hash\n"
               " * %016llx).  It runs netc's command line (train, eval, predict, explain) on\n"
               " * the spec built in below, and executes the plan with run_op: each op one\n"
               " * kernel call with the spec's sizes and buffer offsets as constants.  Link\n"
               " * with netc's libnetc.a and OpenBLAS.  Do not edit: rerun `netc build`. */\n",
            (unsigned long long)p->model->hash);
    fputs("#include <stddef.h>\n#include <stdint.h>\n\n#include \"compiler/cli.h\"\n#include \"runtime/kernels.h\"\n"
          "#include \"runtime/net.h\"\n\n", c);
    fputs("static const char spec_text[] =\n    ", c);
    put_c_string(c, spec_text);
    fputs(";\n\n", c);
    fputs("/* Op i of the plan.  The update and clipping ops read their float\n"
          " * parameters from the net (schedules and --lr change the lr). */\n"
          "static void run_op(rt_net *net, int i)\n{\n"
          "    float *A = net->arena[COMP_ARENA_BATCH], *P = net->arena[COMP_ARENA_PARAM];\n"
          "    float *G = net->arena[COMP_ARENA_GRAD], *S = net->arena[COMP_ARENA_STATE];\n"
          "    float *L = net->arena[COMP_ARENA_SCALAR], *M = net->arena[COMP_ARENA_MODEL];\n"
          "    const int n = net->batch;\n"
          "    (void)A, (void)P, (void)G, (void)S, (void)L, (void)M, (void)n;\n"
          "    switch (i) {\n", c);
    ctx x = {p, c, 1, 1, 0, NULL}; /* the linked net's own arenas */
    if (put_ops(&x, 0, p->nops) != 0)
        return -1;
    fputs("    default:\n        break;\n    }\n}\n\n", c);
    fputs("int main(int argc, char **argv)\n{\n    static const comp_cli_builtin spec = {", c);
    put_c_string(c, spec_name);
    fputs(", spec_text, run_op};\n    return comp_cli_main(argc, argv, &spec);\n}\n", c);
    return 0;
}
