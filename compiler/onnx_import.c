/* onnx_import.c — an ONNX graph back to a spec and a checkpoint (onnx.h).
 *
 * The graph must be a chain: one float input, one output, every node
 * (Constant nodes aside) reading the tensor the node before wrote and
 * initializers or constants otherwise.  Nodes are matched in order to
 * netc layers — the activation patterns of onnx_acts.def and the forms
 * torch.onnx.export and netc export write for the other layers — and each
 * layer found is checked by compiling the spec so far, so the compiler's
 * own shape rules judge whether it fits (and give the shapes Reshape
 * needs).  The file is hostile input: its size, every count, dim and
 * index is bounded before use, and protobuf-c validates the wire format. */
#include "onnx.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../runtime/checkpoint.h"
#include "../runtime/errf.h"
#include "argfmt.h"
#include "onnx_acts.h"
#include "onnx_pb.h"
#include "plan.h"

#define MAX_FILE (1L << 31)      /* bytes of a model netc reads */
#define MAX_NODES 100000
#define MAX_ELEMS (1L << 28)     /* elements of one tensor */
#define MAX_LAYERS 1024       /* each is checked by compiling the spec so far */

/* A tensor bound for a layer's parameter: the layer, its role and the
 * floats (owned), transposed from (in, out) to torch's (out, in) when
 * needed already. */
typedef struct {
    int layer;
    char role[24];
    float *data;
    long count;
} imp_param;

typedef struct {
    const Onnx__GraphProto *g;
    const Onnx__NodeProto **nodes;  /* the graph's nodes, Constant nodes left out */
    int nnodes;
    const Onnx__NodeProto **consts; /* the Constant nodes */
    int nconsts;
    int pos;                        /* the next node to match */
    const char *cur;                /* the tensor the chain has reached */
    comp_text layers;               /* the layers found, as spec text */
    int nlayers;
    comp_shape shape;               /* per-sample shape of cur */
    comp_shape input;
    imp_param *params;
    int nparams, capparams;
    const Onnx__ModelProto *model;
    char *err;
    size_t errlen;
} importer;

/* The ops netc reads, for the message about one it does not. */
#define SUPPORTED_OPS                                                                                          \
    "Gemm, MatMul, Add, Conv, ConvTranspose, Pad, MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool, "    \
    "BatchNormalization, Dropout, Identity, Flatten, Reshape, Softmax, LogSoftmax, Neg, PRelu, LeakyRelu, "    \
    "Split, Cast, Gather, Relu, Sigmoid, Tanh, Elu, Selu, Celu, Shrink, HardSigmoid, HardSwish, Clip, "        \
    "Softplus, Softsign, Erf, Div, Mul, Sub, Log, Greater, Where (docs/onnx.md: the patterns)"

static int node_error(importer *im, const Onnx__NodeProto *n, const char *fmt, const char *detail)
{
    char what[2048];
    snprintf(what, sizeof what, fmt, detail);
    return rt_errf(im->err, im->errlen, "node '%s' (op %s): %s", n->name && *n->name ? n->name : "(unnamed)",
                   n->op_type, what);
}

static const Onnx__NodeProto *at(const importer *im, int k)
{
    return im->pos + k < im->nnodes ? im->nodes[im->pos + k] : NULL;
}

static int is_op(const Onnx__NodeProto *n, const char *op)
{
    return n && strcmp(n->op_type, op) == 0;
}

/* The initializer or Constant node output called name, or NULL. */
static const Onnx__TensorProto *constant(const importer *im, const char *name)
{
    if (!name || !*name)
        return NULL;
    for (size_t i = 0; i < im->g->n_initializer; i++)
        if (im->g->initializer[i]->name && strcmp(im->g->initializer[i]->name, name) == 0)
            return im->g->initializer[i];
    for (int i = 0; i < im->nconsts; i++) {
        const Onnx__NodeProto *c = im->consts[i];
        const Onnx__AttributeProto *v = comp_pb_attr(c, "value");
        if (strcmp(c->output[0], name) == 0 && v && v->t)
            return v->t;
    }
    return NULL;
}

/* A float scalar constant (any shape of one element). */
static int scalar(const importer *im, const char *name, double *out)
{
    const Onnx__TensorProto *t = constant(im, name);
    float v;
    char err[256];
    if (!t || comp_pb_tensor_count(t, 1) != 1 || comp_pb_tensor_floats(t, &v, 1, err, sizeof err) != 1)
        return 0;
    *out = v;
    return 1;
}

/* A float constant's elements, copied (caller frees); NULL with the
 * error set. */
static float *floats(importer *im, const Onnx__NodeProto *n, const char *name, long *count)
{
    const Onnx__TensorProto *t = constant(im, name);
    if (!t) {
        node_error(im, n, "input '%s' is not an initializer or constant", name ? name : "");
        return NULL;
    }
    char err[256];
    /* the dims checked against the data before allocating what they claim */
    long c = comp_pb_tensor_floats(t, NULL, MAX_ELEMS, err, sizeof err);
    float *v = c < 0 ? NULL : malloc((size_t)(c ? c : 1) * sizeof *v);
    if (c < 0 || !v || comp_pb_tensor_floats(t, v, c, err, sizeof err) != c) {
        free(v);
        node_error(im, n, "%s", !v && c >= 0 ? "out of memory" : err);
        return NULL;
    }
    *count = c;
    return v;
}

static int add_param(importer *im, const char *role, float *data, long count)
{
    if (im->nparams == im->capparams) {
        int cap = im->capparams ? 2 * im->capparams : 32;
        imp_param *p = realloc(im->params, (size_t)cap * sizeof *p);
        if (!p) {
            free(data);
            return rt_errf(im->err, im->errlen, "out of memory");
        }
        im->params = p;
        im->capparams = cap;
    }
    imp_param *p = &im->params[im->nparams++];
    p->layer = im->nlayers;
    snprintf(p->role, sizeof p->role, "%s", role);
    p->data = data;
    p->count = count;
    return 0;
}

/* An integer attribute (default def when absent); -1 and the error set
 * when present with another type. */
static int attr_int(importer *im, const Onnx__NodeProto *n, const char *name, long def, long *out)
{
    const Onnx__AttributeProto *a = comp_pb_attr(n, name);
    *out = def;
    if (!a)
        return 0;
    if (!a->has_i || a->i < -(1L << 30) || a->i > (1L << 30))
        return node_error(im, n, "attribute '%s' is not an integer netc can take", name);
    *out = (long)a->i;
    return 0;
}

static int attr_float(const Onnx__NodeProto *n, const char *name, double def, double *out)
{
    const Onnx__AttributeProto *a = comp_pb_attr(n, name);
    *out = a && a->has_f ? a->f : def;
    return !a || a->has_f;
}

/* An ints attribute of at most max values in [lo, hi]; returns the count
 * (0 when absent) or -1 with the error set. */
static int attr_ints(importer *im, const Onnx__NodeProto *n, const char *name, long *out, int max, long lo, long hi)
{
    const Onnx__AttributeProto *a = comp_pb_attr(n, name);
    if (!a)
        return 0;
    if (a->n_ints > (size_t)max)
        return node_error(im, n, "attribute '%s' has more values than netc's spatial layers take", name);
    for (size_t i = 0; i < a->n_ints; i++) {
        if (a->ints[i] < lo || a->ints[i] > hi)
            return node_error(im, n, "attribute '%s' has a value out of netc's range", name);
        out[i] = (long)a->ints[i];
    }
    return (int)a->n_ints;
}

static int attr_string_is(const Onnx__NodeProto *n, const char *name, const char *value)
{
    const Onnx__AttributeProto *a = comp_pb_attr(n, name);
    return a && a->has_s && a->s.len == strlen(value) && memcmp(a->s.data, value, a->s.len) == 0;
}

/* A per-sample shape as the input statement writes it: 784 or (1, 28, 28). */
static void shape_text(const comp_shape *s, char *buf, size_t size)
{
    size_t n = 0;
    for (int d = 0; d < s->rank && n < size; d++)
        n += (size_t)snprintf(buf + n, size - n, "%s%d", d ? ", " : s->rank > 1 ? "(" : "", s->dims[d]);
    if (s->rank > 1 && n < size)
        snprintf(buf + n, size - n, ")");
}

/* Compile the spec so far with layer text `call` appended; on success
 * keep it and the shape it gives.  The compiler's message (first line)
 * explains a layer that does not fit. */
static const char *meta(const importer *im, const char *key);

static int add_layer(importer *im, const Onnx__NodeProto *first, const char *given, int consumed)
{
    /* a layer's own init, which netc export keeps in the metadata */
    char key[48], call[1024];
    snprintf(key, sizeof key, "netc.%d.init", im->nlayers);
    const char *init = meta(im, key);
    size_t len = strlen(given);
    if (init && len && given[len - 1] == ')')
        snprintf(call, sizeof call, "%.*s, init=%s)", (int)len - 1, given, init);
    else if (init)
        snprintf(call, sizeof call, "%s(init=%s)", given, init);
    else
        snprintf(call, sizeof call, "%s", given);
    comp_text t = {0};
    char in[256], *diag = NULL;
    size_t dlen = 0;
    shape_text(&im->input, in, sizeof in);
    comp_text_printf(&t, "model m {\n input %s\n layers %s%s%s\n loss MSE\n optimizer SGD\n}\n", in,
                     im->layers.s ? im->layers.s : "", im->nlayers ? " -> " : "", call);
    gram_source *src = t.oom ? NULL : gram_source_from_string("onnx", t.s);
    FILE *out = open_memstream(&diag, &dlen);
    comp_plan *p = NULL;
    if (src && out) {
        src->out = out;
        p = comp_compile(src);
        fflush(out);
    }
    int rc = 0;
    if (!p) {
        char line[400] = "out of memory";
        if (diag && *diag) { /* "onnx:3:X: error: message" -> the message */
            const char *m = strstr(diag, "error: ");
            snprintf(line, sizeof line, "%s", m ? m + 7 : diag);
            line[strcspn(line, "\n")] = 0;
        }
        char what[1600];
        snprintf(what, sizeof what, "as netc's %s it does not fit: %s", call, line);
        rc = node_error(im, first, "%s", what);
    } else {
        im->shape = p->model->layers[p->model->nlayers - 1].out;
        comp_text_printf(&im->layers, "%s%s", im->nlayers ? "\n        -> " : "", call);
        im->nlayers++;
        im->pos += consumed;
        const Onnx__NodeProto *last = im->nodes[im->pos - 1];
        im->cur = last->output[0];
        rc = im->layers.oom ? rt_errf(im->err, im->errlen, "out of memory") : 0;
    }
    comp_plan_destroy(p);
    if (out)
        fclose(out);
    free(diag);
    gram_source_free(src);
    comp_text_free(&t);
    return rc;
}

/* Whether input i of n is the chain's tensor. */
static int reads_cur(const importer *im, const Onnx__NodeProto *n, int i)
{
    return n && n->n_input > (size_t)i && strcmp(n->input[i], im->cur) == 0;
}

static int add_call(importer *im, const comp_entry *e, const comp_args *a, int consumed);

/* ---- activations: the rows of onnx_acts.def ---- */

static int ref_input(const importer *im, const comp_pat_ref *r, const char *name, const char *in0,
                     const char *const *outs, int *has, double *v)
{
    double c;
    switch (r->kind) {
    case COMP_PAT_X:
        return strcmp(name, in0) == 0;
    case COMP_PAT_NODE:
        return strcmp(name, outs[r->node]) == 0;
    case COMP_PAT_NUM:
        return scalar(im, name, &c) && (float)c == (float)r->num;
    default: {
        int k = r->kind == COMP_PAT_A ? 0 : 1;
        if (!scalar(im, name, &c) || (has[k] && (float)v[k] != (float)c))
            return 0;
        has[k] = 1;
        v[k] = c;
        return 1;
    }
    }
}

/* ONNX's defaults of the attributes the patterns name. */
static double attr_default(const char *op, const char *name)
{
    static const struct {
        const char *op, *name;
        double v;
    } d[] = {{"LeakyRelu", "alpha", 0.01}, {"Elu", "alpha", 1},   {"Celu", "alpha", 1},
             {"Selu", "alpha", 1.67326319217681884765625}, {"Selu", "gamma", 1.05070102214813232421875},
             {"Shrink", "lambd", 0.5},     {"Shrink", "bias", 0}, {"HardSigmoid", "alpha", 0.2},
             {"HardSigmoid", "beta", 0.5}};
    for (size_t i = 0; i < sizeof d / sizeof *d; i++)
        if (strcmp(d[i].op, op) == 0 && strcmp(d[i].name, name) == 0)
            return d[i].v;
    return NAN;
}

/* How many nodes from pos match row pat (0: no match); fills a, b. */
static int match_pattern(const importer *im, const comp_pat *pat, double *v, int *has)
{
    const char *outs[COMP_ONNX_PAT_NODES];
    has[0] = pat->has[0], has[1] = pat->has[1];
    v[0] = pat->val[0], v[1] = pat->val[1];
    for (int k = 0; k < pat->nnodes; k++) {
        const comp_pat_node *pn = &pat->nodes[k];
        const Onnx__NodeProto *n = at(im, k);
        if (!is_op(n, pn->op) || n->n_input != (size_t)pn->nin || n->n_output < 1)
            return 0;
        int ok = 1, had[2] = {has[0], has[1]};
        double was[2] = {v[0], v[1]};
        for (int i = 0; ok && i < pn->nin; i++)
            ok = ref_input(im, &pn->in[i], n->input[i], im->cur, outs, has, v);
        if (!ok && pn->nin == 2 && (is_op(n, "Mul") || is_op(n, "Add"))) { /* the other order */
            has[0] = had[0], has[1] = had[1], v[0] = was[0], v[1] = was[1];
            ok = ref_input(im, &pn->in[0], n->input[1], im->cur, outs, has, v) &&
                 ref_input(im, &pn->in[1], n->input[0], im->cur, outs, has, v);
        }
        if (!ok)
            return 0;
        if (n->n_attribute > (size_t)pn->nattr)
            return 0; /* an attribute the row does not know changes the function */
        for (int i = 0; i < pn->nattr; i++) {
            double a;
            if (!attr_float(n, pn->attr_name[i], attr_default(pn->op, pn->attr_name[i]), &a))
                return 0;
            const comp_pat_ref *r = &pn->attr[i];
            if (r->kind == COMP_PAT_NUM) {
                if ((float)a != (float)r->num)
                    return 0;
            } else {
                int kk = r->kind == COMP_PAT_A ? 0 : 1;
                if (has[kk] && (float)v[kk] != (float)a)
                    return 0;
                has[kk] = 1;
                v[kk] = a;
            }
        }
        outs[k] = n->output[0];
    }
    return pat->nnodes;
}

static int try_act(importer *im, int *matched)
{
    int npats, best = -1, bestlen = 0, has[2];
    double v[2], bestv[2] = {0, 0};
    const comp_pat *pats = comp_onnx_act_pats(&npats);
    for (int r = 0; r < npats; r++) {
        int len = match_pattern(im, &pats[r], v, has);
        if (len > bestlen) {
            best = r, bestlen = len;
            bestv[0] = v[0], bestv[1] = v[1];
        }
    }
    if (best < 0)
        return 0;
    *matched = 1;
    comp_act act = pats[best].act;
    const comp_entry *e = &comp_layers[act];
    comp_args a;
    comp_args_defaults(e, &a);
    int slots[2], n = comp_act_float_args(act, slots);
    for (int i = 0; i < n; i++) {
        a.num[slots[i]][0] = bestv[i];
        if (e->args[slots[i]].type == COMP_T_STR) { /* GELU's approximate: a choice's index */
            const char *ch = e->args[slots[i]].choices;
            static char pick[32];
            int idx = (int)bestv[i];
            for (int c = 0; c < idx && ch; c++)
                ch = strchr(ch, '|') ? strchr(ch, '|') + 1 : NULL;
            snprintf(pick, sizeof pick, "%.*s", ch ? (int)strcspn(ch, "|") : 0, ch ? ch : "");
            a.str[slots[i]] = pick;
        } else {
            /* a float32 value: the shortest decimal of the float, as a spec writes it */
            char buf[40];
            comp_fmt_number(bestv[i], 1, buf, sizeof buf);
            a.num[slots[i]][0] = strtod(buf, NULL);
        }
    }
    return add_call(im, e, &a, bestlen);
}

/* ---- the other layers ---- */

/* Append call (printf format) as the layer from consumed nodes. */
static int layer_f(importer *im, int consumed, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int layer_f(importer *im, int consumed, const char *fmt, ...)
{
    char call[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(call, sizeof call, fmt, ap);
    va_end(ap);
    return add_layer(im, at(im, 0), call, consumed);
}

/* Constant name as the layer's role tensor, of exactly want values (what
 * they are one of, for the message). */
static int add_vector(importer *im, const Onnx__NodeProto *n, const char *name, const char *role, long want,
                      const char *what)
{
    long count;
    float *v = floats(im, n, name, &count);
    if (!v)
        return -1;
    if (count != want) {
        free(v);
        return node_error(im, n, "the %s does not have one value per output", what);
    }
    return add_param(im, role, v, count);
}

/* The layer entry e with arguments a, from consumed nodes. */
static int add_call(importer *im, const comp_entry *e, const comp_args *a, int consumed)
{
    comp_text t = {0};
    comp_fmt_call(&t, e, a, NULL);
    int rc = t.oom ? rt_errf(im->err, im->errlen, "out of memory") : add_layer(im, at(im, 0), t.s, consumed);
    comp_text_free(&t);
    return rc;
}

static int try_linear(importer *im, int *matched)
{
    const Onnx__NodeProto *n = at(im, 0);
    int gemm = is_op(n, "Gemm");
    if (!(gemm || is_op(n, "MatMul")) || !reads_cur(im, n, 0) || n->n_input < 2)
        return 0;
    const Onnx__TensorProto *wt = constant(im, n->input[1]);
    if (!wt)
        return 0; /* a product of two tensors: not a layer */
    *matched = 1;
    long trans_a = 0, trans_b = 0;
    double alpha, beta;
    if (gemm && (attr_int(im, n, "transA", 0, &trans_a) || attr_int(im, n, "transB", 0, &trans_b)))
        return -1;
    if (gemm && (trans_a || !attr_float(n, "alpha", 1, &alpha) || !attr_float(n, "beta", 1, &beta) || alpha != 1 ||
                 beta != 1))
        return node_error(im, n, "%s", "a Gemm with transA, alpha or beta other than 0, 1, 1 is not a Linear");
    if (wt->n_dims != 2)
        return node_error(im, n, "%s", "the weight is not a matrix");
    long count;
    float *w = floats(im, n, n->input[1], &count);
    if (!w)
        return -1;
    /* torch's layout (out, in): Gemm's transB=1 weight as it is, others transposed */
    long rows = (long)wt->dims[0], cols = (long)wt->dims[1];
    long out = trans_b ? rows : cols, in = trans_b ? cols : rows;
    if (!trans_b) {
        float *t = malloc((size_t)(count ? count : 1) * sizeof *t);
        if (!t) {
            free(w);
            return rt_errf(im->err, im->errlen, "out of memory");
        }
        for (long i = 0; i < in; i++)
            for (long o = 0; o < out; o++)
                t[o * in + i] = w[i * out + o];
        free(w);
        w = t;
    }
    if (add_param(im, "weight", w, count) != 0)
        return -1;
    /* the bias: Gemm's C, or an Add of a constant after the MatMul */
    const char *bname = gemm && n->n_input > 2 && *n->input[2] ? n->input[2] : NULL;
    int consumed = 1;
    const Onnx__NodeProto *add = at(im, 1);
    if (!gemm && is_op(add, "Add") && add->n_input == 2) {
        int k = strcmp(add->input[0], n->output[0]) == 0 ? 1 : strcmp(add->input[1], n->output[0]) == 0 ? 0 : -1;
        if (k >= 0 && constant(im, add->input[k]))
            bname = add->input[k], consumed = 2;
    }
    if (bname && add_vector(im, n, bname, "bias", out, "bias") != 0)
        return -1;
    return layer_f(im, consumed, "Linear(%ld, %ld%s)", in, out, bname ? "" : ", bias=false");
}

/* Set size argument name of a to the nd values v (one number when all are
 * equal, as a spec writes it). */
static void set_size(const comp_entry *e, comp_args *a, const char *name, const long *v, int nd)
{
    int i = comp_arg_index(e, name);
    a->num[i][0] = (double)v[0];
    a->num[i][1] = (double)v[nd - 1];
    a->ntuple[i] = (int8_t)(nd == 2 && v[0] != v[1] ? 2 : 0);
}

/* Symmetric pads (begin == end per dim) into p; 0 when they are not. */
static int symmetric(const long *pads, int n, int nd, long *p)
{
    for (int d = 0; d < nd; d++) {
        p[d] = n ? pads[d] : 0;
        if (n && pads[d] != pads[d + nd])
            return 0;
    }
    return 1;
}

/* A one-element int64 constant. */
static int int1(const importer *im, const char *name, int64_t *v)
{
    const Onnx__TensorProto *t = constant(im, name);
    char err[256];
    return t && comp_pb_tensor_int64s(t, v, 1, err, sizeof err) == 1;
}

/* Nodes k, k+1, k+2 as netc export's circular padding of tensor in along
 * one axis (Slice of the last p, Slice of the first p, Concat of the
 * three): the axis and p, the Concat's output in *out; 0 when not. */
static int circular_group(const importer *im, int k, const char *in, int64_t *axis, int64_t *p, const char **out)
{
    const Onnx__NodeProto *a = at(im, k), *b = at(im, k + 1), *c = at(im, k + 2);
    int64_t s0, e0, x0, s1, e1, x1, cx;
    long cax;
    if (!is_op(a, "Slice") || !is_op(b, "Slice") || !is_op(c, "Concat") || a->n_input != 4 || b->n_input != 4 ||
        c->n_input != 3 || strcmp(a->input[0], in) || strcmp(b->input[0], in) || !int1(im, a->input[1], &s0) ||
        !int1(im, a->input[2], &e0) || !int1(im, a->input[3], &x0) || !int1(im, b->input[1], &s1) ||
        !int1(im, b->input[2], &e1) || !int1(im, b->input[3], &x1) || strcmp(c->input[0], a->output[0]) ||
        strcmp(c->input[1], in) || strcmp(c->input[2], b->output[0]))
        return 0;
    const Onnx__AttributeProto *at_axis = comp_pb_attr(c, "axis");
    cax = at_axis && at_axis->has_i ? (long)at_axis->i : -99;
    cx = cax;
    if (s0 != -e1 || e1 < 1 || e1 > (1 << 16) || e0 < (1 << 30) || s1 != 0 || x0 != x1 || x0 != cx || x0 < 2 ||
        x0 > 3)
        return 0;
    *axis = x0;
    *p = e1;
    *out = c->output[0];
    return 1;
}

static int try_conv(importer *im, int *matched)
{
    const Onnx__NodeProto *pad = at(im, 0), *n = pad;
    const char *mode = NULL;
    long padpads[8] = {0};
    int npad = 0;
    /* circular padding: one Slice/Slice/Concat group per padded axis */
    int64_t ax[2], pc[2];
    const char *chain = im->cur;
    int ngroups = 0;
    while (ngroups < 2 && circular_group(im, 3 * ngroups, chain, &ax[ngroups], &pc[ngroups], &chain))
        ngroups++;
    if (ngroups) {
        n = at(im, 3 * ngroups);
        if (!(is_op(n, "Conv") && n->n_input > 1 && strcmp(n->input[0], chain) == 0))
            return 0;
        mode = "circular";
        npad = 8; /* as a Pad's pads of a 4-d tensor: begins, then ends */
        for (int i = 0; i < ngroups; i++)
            padpads[ax[i]] = padpads[4 + ax[i]] = (long)pc[i];
    } else if (is_op(pad, "Pad") && reads_cur(im, pad, 0)) {
        n = at(im, 1);
        if (!(is_op(n, "Conv") && n->n_input > 0 && strcmp(n->input[0], pad->output[0]) == 0))
            return 0;
        *matched = 1;
        mode = attr_string_is(pad, "mode", "reflect") ? "reflect" : attr_string_is(pad, "mode", "edge") ? "replicate"
                                                                                                          : NULL;
        const Onnx__TensorProto *pt = pad->n_input > 1 ? constant(im, pad->input[1]) : NULL;
        int64_t pv[8];
        char err[256];
        if (!mode || !pt || pad->n_input > 2 ||
            (npad = (int)comp_pb_tensor_int64s(pt, pv, 8, err, sizeof err)) < 6)
            return node_error(im, pad, "%s", "netc reads a Pad of mode reflect or edge with constant pads of a "
                                             "3-d or 4-d tensor, before a Conv");
        for (int i = 0; i < npad; i++) {
            if (pv[i] < 0 || pv[i] > (1 << 16))
                return node_error(im, pad, "%s", "pads out of range");
            padpads[i] = (long)pv[i];
        }
    } else if (!((is_op(n, "Conv") || is_op(n, "ConvTranspose")) && reads_cur(im, n, 0))) {
        return 0;
    }
    *matched = 1;
    int transposed = is_op(n, "ConvTranspose");
    const Onnx__TensorProto *wt = n->n_input > 1 ? constant(im, n->input[1]) : NULL;
    if (!wt || wt->n_dims < 3 || wt->n_dims > 4)
        return node_error(im, n, "%s", "the weight is not a constant of 3 or 4 dims (Conv1d, Conv2d)");
    int nd = (int)wt->n_dims - 2;
    long ks[2], st[2] = {1, 1}, dl[2] = {1, 1}, pads[4] = {0}, op[2] = {0, 0}, p[2], group;
    for (int d = 0; d < nd; d++) {
        ks[d] = (long)wt->dims[2 + d];
        if (ks[d] < 1 || ks[d] > (1 << 16))
            return node_error(im, n, "%s", "kernel size out of range");
    }
    int npads;
    if (attr_ints(im, n, "strides", st, nd, 1, 1 << 16) < 0 || attr_ints(im, n, "dilations", dl, nd, 1, 1 << 16) < 0 ||
        (npads = attr_ints(im, n, "pads", pads, 2 * nd, 0, 1 << 16)) < 0 || attr_int(im, n, "group", 1, &group) ||
        attr_ints(im, n, "output_padding", op, nd, 0, 1 << 16) < 0)
        return -1;
    if (comp_pb_attr(n, "output_shape"))
        return node_error(im, n, "%s", "output_shape is not read; netc takes pads and output_padding");
    const char *padding_str = NULL;
    int same = attr_string_is(n, "auto_pad", "SAME_UPPER"), valid = attr_string_is(n, "auto_pad", "VALID");
    if (comp_pb_attr(n, "auto_pad") && !same && !valid && !attr_string_is(n, "auto_pad", "NOTSET"))
        return node_error(im, n, "%s", "auto_pad SAME_LOWER has no torch form");
    if (same && !transposed)
        padding_str = "same";
    else if (valid && !mode && !transposed)
        padding_str = "valid";
    if (ngroups && nd == 1) { /* the 1-d conv's one axis is 2: as a 3-d tensor's pads */
        padpads[2] = padpads[2], padpads[5] = padpads[6], padpads[6] = 0;
        npad = 6;
        if (padpads[3] || padpads[7])
            return node_error(im, n, "%s", "the circular padding is along an axis the Conv does not have");
    }
    if (mode) { /* the padding is the Pad's, along the spatial dims */
        long sp[4];
        for (int d = 0; d < nd; d++)
            sp[d] = padpads[2 + d], sp[nd + d] = padpads[npad / 2 + 2 + d];
        if (npad != 2 * (nd + 2) || padpads[0] || padpads[1] || padpads[npad / 2] || padpads[npad / 2 + 1] ||
            !symmetric(sp, 2 * nd, nd, p) || npads)
            return node_error(im, n, "%s", "the Pad before it pads other than the spatial dims symmetrically");
    } else if (!symmetric(pads, npads, nd, p)) {
        return node_error(im, n, "%s", "asymmetric pads have no torch form");
    }
    long count;
    float *w = floats(im, n, n->input[1], &count);
    if (!w || add_param(im, "weight", w, count) != 0)
        return -1;
    long cin = transposed ? (long)wt->dims[0] : (long)wt->dims[1] * group;
    long cout = transposed ? (long)wt->dims[1] * group : (long)wt->dims[0];
    int bias = n->n_input > 2 && *n->input[2];
    if (bias && add_vector(im, n, n->input[2], "bias", cout, "bias") != 0)
        return -1;
    comp_layer_kind kind = transposed ? (nd == 2 ? COMP_LAYER_CONV_TRANSPOSE2D : COMP_LAYER_CONV_TRANSPOSE1D)
                                      : (nd == 2 ? COMP_LAYER_CONV2D : COMP_LAYER_CONV1D);
    const comp_entry *e = &comp_layers[kind];
    comp_args a;
    comp_args_defaults(e, &a);
    a.num[comp_arg_index(e, "in_channels")][0] = (double)cin;
    a.num[comp_arg_index(e, "out_channels")][0] = (double)cout;
    set_size(e, &a, "kernel_size", ks, nd);
    set_size(e, &a, "stride", st, nd);
    set_size(e, &a, "dilation", dl, nd);
    set_size(e, &a, "padding", p, nd);
    if (padding_str) {
        int i = comp_arg_index(e, "padding");
        a.str[i] = padding_str;
        a.num[i][0] = a.num[i][1] = -1;
    }
    if (transposed)
        set_size(e, &a, "output_padding", op, nd);
    a.num[comp_arg_index(e, "groups")][0] = (double)group;
    a.num[comp_arg_index(e, "bias")][0] = bias;
    if (mode)
        a.str[comp_arg_index(e, "padding_mode")] = mode;
    return add_call(im, e, &a, ngroups ? 3 * ngroups + 1 : mode ? 2 : 1);
}

static int try_pool(importer *im, int *matched)
{
    const Onnx__NodeProto *n = at(im, 0);
    int is_max = is_op(n, "MaxPool"), global = is_op(n, "GlobalAveragePool") || is_op(n, "GlobalMaxPool");
    if (!(is_max || is_op(n, "AveragePool") || global) || !reads_cur(im, n, 0))
        return 0;
    *matched = 1;
    int nd = im->shape.rank - 1;
    if (nd < 1 || nd > 2)
        return node_error(im, n, "%s", "netc pools 1-d and 2-d maps (a (C, L) or (C, H, W) sample)");
    if (n->n_output > 1 && *n->output[1])
        return node_error(im, n, "%s", "the indices output is not read");
    if (global)
        return layer_f(im, 1, "Adaptive%sPool%dd(1)", is_op(n, "GlobalMaxPool") ? "Max" : "Avg", nd);
    long ks[2], st[2] = {1, 1}, dl[2] = {1, 1}, pads[4] = {0}, p[2], ceil, cip;
    int nks, npads;
    if ((nks = attr_ints(im, n, "kernel_shape", ks, nd, 1, 1 << 16)) < 0 ||
        attr_ints(im, n, "strides", st, nd, 1, 1 << 16) < 0 || attr_ints(im, n, "dilations", dl, nd, 1, 1 << 16) < 0 ||
        (npads = attr_ints(im, n, "pads", pads, 2 * nd, 0, 1 << 16)) < 0 || attr_int(im, n, "ceil_mode", 0, &ceil) ||
        attr_int(im, n, "count_include_pad", 0, &cip))
        return -1;
    if (nks != nd)
        return node_error(im, n, "%s", "kernel_shape does not have one size per spatial dim of the input");
    if (!symmetric(pads, npads, nd, p))
        return node_error(im, n, "%s", "asymmetric pads have no torch form");
    if (comp_pb_attr(n, "auto_pad") && !attr_string_is(n, "auto_pad", "NOTSET"))
        return node_error(im, n, "%s", "auto_pad is not read; netc takes pads");
    if (comp_pb_attr(n, "storage_order"))
        return node_error(im, n, "%s", "storage_order is not read");
    comp_layer_kind kind = is_max ? (nd == 2 ? COMP_LAYER_MAXPOOL2D : COMP_LAYER_MAXPOOL1D)
                                  : (nd == 2 ? COMP_LAYER_AVGPOOL2D : COMP_LAYER_AVGPOOL1D);
    const comp_entry *e = &comp_layers[kind];
    comp_args a;
    comp_args_defaults(e, &a);
    set_size(e, &a, "kernel_size", ks, nd);
    if (st[0] != ks[0] || st[nd - 1] != ks[nd - 1]) /* torch's stride None is the kernel */
        set_size(e, &a, "stride", st, nd);
    set_size(e, &a, "padding", p, nd);
    if (is_max)
        set_size(e, &a, "dilation", dl, nd);
    else if (dl[0] != 1 || dl[nd - 1] != 1)
        return node_error(im, n, "%s", "torch's AvgPool has no dilation");
    a.num[comp_arg_index(e, "ceil_mode")][0] = ceil != 0;
    /* without padding the divisor is the window either way: keep torch's default */
    if (!is_max && (p[0] || p[nd - 1]))
        a.num[comp_arg_index(e, "count_include_pad")][0] = cip != 0;
    return add_call(im, e, &a, 1);
}

/* The metadata value for key, or NULL. */
static const char *meta(const importer *im, const char *key)
{
    for (size_t i = 0; i < im->model->n_metadata_props; i++) {
        const Onnx__StringStringEntryProto *e = im->model->metadata_props[i];
        if (e->key && e->value && strcmp(e->key, key) == 0)
            return e->value;
    }
    return NULL;
}

static int try_batchnorm(importer *im, int *matched)
{
    const Onnx__NodeProto *n = at(im, 0);
    if (!is_op(n, "BatchNormalization") || !reads_cur(im, n, 0))
        return 0;
    *matched = 1;
    long training;
    double eps, mom;
    if (attr_int(im, n, "training_mode", 0, &training))
        return -1;
    if (training || n->n_input != 5 || (n->n_output > 1 && *n->output[1]))
        return node_error(im, n, "%s", "netc reads BatchNormalization in inference form (5 inputs, one output)");
    if (!attr_float(n, "epsilon", 1e-5, &eps) || !attr_float(n, "momentum", 0.9, &mom))
        return node_error(im, n, "%s", "epsilon or momentum is not a float");
    static const char *const roles[4] = {"weight", "bias", "running_mean", "running_var"};
    long c = -1, count;
    for (int i = 0; i < 4; i++) {
        float *v = floats(im, n, n->input[1 + i], &count);
        if (!v)
            return -1;
        if (c >= 0 && count != c) {
            free(v);
            return node_error(im, n, "%s", "scale, bias, mean and var differ in length");
        }
        c = count;
        if (add_param(im, roles[i], v, count) != 0)
            return -1;
    }
    /* num_batches_tracked: netc export keeps it in the metadata */
    char key[64], epsb[40], momb[40];
    snprintf(key, sizeof key, "netc.%d.num_batches_tracked", im->nlayers);
    const char *nbt = meta(im, key);
    float *t = malloc(sizeof *t);
    if (!t)
        return rt_errf(im->err, im->errlen, "out of memory");
    *t = nbt ? strtof(nbt, NULL) : 0.0f;
    if (add_param(im, "num_batches_tracked", t, 1) != 0)
        return -1;
    comp_fmt_number(eps, 1, epsb, sizeof epsb);
    /* torch's momentum is 1 - ONNX's: the shortest decimal m with (float)(1 - m) == it */
    for (int digits = 1; digits <= 17; digits++) {
        snprintf(momb, sizeof momb, "%.*g", digits, 1.0 - (float)mom);
        if ((float)(1.0 - strtod(momb, NULL)) == (float)mom)
            break;
    }
    int nd = im->shape.rank == 3 ? 2 : 1;
    return layer_f(im, 1, "BatchNorm%dd(%ld%s%s%s%s)", nd, c, eps == (float)1e-5 ? "" : ", eps=",
                   eps == (float)1e-5 ? "" : epsb, strcmp(momb, "0.1") == 0 ? "" : ", momentum=",
                   strcmp(momb, "0.1") == 0 ? "" : momb);
}

static int try_dropout(importer *im, int *matched)
{
    const Onnx__NodeProto *n = at(im, 0);
    if (!is_op(n, "Dropout") || !reads_cur(im, n, 0))
        return 0;
    *matched = 1;
    double ratio = 0.5, train = 0;
    if (n->n_input > 1 && *n->input[1] && !scalar(im, n->input[1], &ratio))
        return node_error(im, n, "%s", "the ratio is not a constant");
    if (n->n_input > 2 && *n->input[2] && !(scalar(im, n->input[2], &train) && train == 0))
        return node_error(im, n, "%s", "training_mode is not a constant false");
    if (n->n_output > 1 && *n->output[1])
        return node_error(im, n, "%s", "the mask output is not read");
    if (!(ratio >= 0 && ratio < 1))
        return node_error(im, n, "%s", "the ratio is not in [0, 1)");
    char p[40];
    comp_fmt_number(ratio, 1, p, sizeof p);
    return layer_f(im, 1, "Dropout(%s)", p);
}

static int try_softmax(importer *im, int *matched)
{
    const Onnx__NodeProto *n = at(im, 0), *neg = NULL;
    if (is_op(n, "Neg") && reads_cur(im, n, 0) && is_op(at(im, 1), "Softmax") &&
        strcmp(at(im, 1)->input[0], n->output[0]) == 0)
        neg = n, n = at(im, 1);
    else if (!((is_op(n, "Softmax") || is_op(n, "LogSoftmax")) && reads_cur(im, n, 0)))
        return 0;
    *matched = 1;
    long axis;
    if (attr_int(im, n, "axis", -1, &axis))
        return -1;
    return layer_f(im, neg ? 2 : 1, "%s(dim=%ld)", neg ? "Softmin" : is_op(n, "Softmax") ? "Softmax" : "LogSoftmax",
                   axis);
}

/* Flatten (axis 1) and Reshape to what netc's Flatten or Unflatten does. */
static int try_reshape(importer *im, int *matched)
{
    const Onnx__NodeProto *n = at(im, 0);
    int flatten = is_op(n, "Flatten");
    if (!(flatten || is_op(n, "Reshape")) || !reads_cur(im, n, 0))
        return 0;
    *matched = 1;
    const comp_shape *s = &im->shape;
    if (flatten) {
        long axis;
        if (attr_int(im, n, "axis", 1, &axis))
            return -1;
        if (axis != 1)
            return node_error(im, n, "%s", "netc's Flatten keeps the batch dim: axis must be 1");
        return layer_f(im, 1, "Flatten");
    }
    const Onnx__TensorProto *st = n->n_input > 1 ? constant(im, n->input[1]) : NULL;
    int64_t v[COMP_MAX_RANK + 1];
    char err[256];
    long nv = st ? comp_pb_tensor_int64s(st, v, COMP_MAX_RANK + 1, err, sizeof err) : -1;
    long allowzero;
    if (attr_int(im, n, "allowzero", 0, &allowzero))
        return -1;
    if (nv < 2 || allowzero)
        return node_error(im, n, "%s", "netc reads a Reshape to a constant shape of 2 to 7 dims");
    /* the per-sample target: 0 copies the input's dim, one -1 takes the rest */
    long total = comp_shape_size(s), known = 1;
    int infer = -1, rank = (int)nv - 1, dims[COMP_MAX_RANK];
    for (int d = 0; d < rank; d++) {
        long x = (long)v[d + 1];
        if (x == 0 && d < s->rank)
            x = s->dims[d];
        if (x == -1 && infer < 0) {
            infer = d;
            continue;
        }
        if (x < 1 || x > total)
            return node_error(im, n, "%s", "the shape does not keep the batch dim first with the sample's elements");
        dims[d] = (int)x;
        known *= x;
        if (known > total)
            return node_error(im, n, "%s", "the shape has more elements than the sample");
    }
    if (infer >= 0) {
        if (known == 0 || total % known)
            return node_error(im, n, "%s", "the shape does not divide the sample's elements");
        dims[infer] = (int)(total / known);
        known = total;
    }
    if (known != total)
        return node_error(im, n, "%s", "the shape does not keep the batch dim first with the sample's elements");
    if (rank == 1)
        return layer_f(im, 1, "Flatten");
    /* a run of dims merged into one: Flatten(start, end) */
    for (int a = 0; a < s->rank; a++)
        for (int b = a + 1; b < s->rank; b++) {
            if (rank != s->rank - (b - a))
                continue;
            long prod = 1;
            int ok = 1;
            for (int d = a; d <= b; d++)
                prod *= s->dims[d];
            for (int d = 0; d < rank && ok; d++)
                ok = dims[d] == (d < a ? s->dims[d] : d == a ? prod : s->dims[d + (b - a)]);
            if (ok && dims[a] == prod)
                return layer_f(im, 1, "Flatten(start_dim=%d, end_dim=%d)", a + 1, b + 1);
        }
    /* one dim split into several: Unflatten(dim, sizes) */
    for (int a = 0; a < s->rank; a++) {
        int k = rank - s->rank + 1; /* the sizes it splits into */
        if (k < 2)
            break;
        long prod = 1;
        int ok = 1;
        for (int d = 0; d < k; d++)
            prod *= dims[a + d];
        for (int d = 0; d < s->rank && ok; d++)
            ok = d < a ? dims[d] == s->dims[d] : d == a ? prod == s->dims[a] : dims[d + k - 1] == s->dims[d];
        if (ok) {
            char sizes[128];
            size_t len = 0;
            for (int d = 0; d < k; d++)
                len += (size_t)snprintf(sizes + len, sizeof sizes - len, "%s%d", d ? ", " : "", dims[a + d]);
            return layer_f(im, 1, "Unflatten(%d, (%s))", a + 1, sizes);
        }
    }
    return node_error(im, n, "%s", "the reshape is neither a Flatten of adjacent dims nor an Unflatten of one dim");
}

static int try_prelu(importer *im, int *matched)
{
    const Onnx__NodeProto *n = at(im, 0);
    if (!is_op(n, "PRelu") || !reads_cur(im, n, 0) || n->n_input != 2)
        return 0;
    *matched = 1;
    long count;
    float *w = floats(im, n, n->input[1], &count);
    if (!w || add_param(im, "weight", w, count) != 0)
        return -1;
    return count == 1 ? layer_f(im, 1, "PReLU") : layer_f(im, 1, "PReLU(num_parameters=%ld)", count);
}

static int try_glu(importer *im, int *matched)
{
    const Onnx__NodeProto *s = at(im, 0), *sg = at(im, 1), *mul = at(im, 2);
    if (!is_op(s, "Split") || !reads_cur(im, s, 0))
        return 0;
    *matched = 1;
    long axis;
    if (attr_int(im, s, "axis", 0, &axis))
        return -1;
    if (s->n_output != 2 || s->n_input > 1 || comp_pb_attr(s, "split") || !is_op(sg, "Sigmoid") ||
        strcmp(sg->input[0], s->output[1]) != 0 || !is_op(mul, "Mul") || mul->n_input != 2 ||
        strcmp(mul->input[0], s->output[0]) != 0 || strcmp(mul->input[1], sg->output[0]) != 0)
        return node_error(im, s, "%s", "netc reads a Split only as GLU: two equal halves, Sigmoid of the second, "
                                       "Mul of the first by it");
    return layer_f(im, 3, "GLU(dim=%ld)", axis);
}

static int try_embedding(importer *im, int *matched)
{
    const Onnx__NodeProto *c = at(im, 0), *g = at(im, 1);
    if (!is_op(c, "Cast") || !reads_cur(im, c, 0))
        return 0;
    *matched = 1;
    const Onnx__TensorProto *wt = g && g->n_input == 2 ? constant(im, g->input[0]) : NULL;
    long axis = 0;
    if (!is_op(g, "Gather") || strcmp(g->input[1], c->output[0]) != 0 || !wt || wt->n_dims != 2 ||
        attr_int(im, g, "axis", 0, &axis) || axis != 0)
        return node_error(im, c, "%s", "netc reads a Cast only as Embedding's: Cast to an integer type, then "
                                       "Gather from a constant matrix along axis 0");
    long count;
    float *w = floats(im, g, g->input[0], &count);
    if (!w || add_param(im, "weight", w, count) != 0)
        return -1;
    return layer_f(im, 2, "Embedding(%ld, %ld)", (long)wt->dims[0], (long)wt->dims[1]);
}

/* A Pad of zero width (torch writes one before AveragePool): nothing. */
static int try_zero_pad(importer *im, int *matched)
{
    const Onnx__NodeProto *n = at(im, 0);
    if (!is_op(n, "Pad") || !reads_cur(im, n, 0) || n->n_input < 2 || !constant(im, n->input[1]))
        return 0;
    int64_t pv[16];
    char err[256];
    long np = comp_pb_tensor_int64s(constant(im, n->input[1]), pv, 16, err, sizeof err);
    for (long i = 0; i < np; i++)
        if (pv[i] != 0)
            return 0; /* a real padding: try_conv's, or refused */
    if (np < 0)
        return 0;
    *matched = 1;
    im->pos++;
    im->cur = n->output[0];
    return 0;
}

/* ---- the graph ---- */

typedef int (*matcher)(importer *im, int *matched);
static const matcher matchers[] = {try_zero_pad, try_linear, try_conv, try_pool, try_batchnorm, try_dropout,
                                   try_softmax, try_reshape, try_prelu, try_glu, try_embedding};

/* Read and unpack the file, bounded. */
static Onnx__ModelProto *read_model(const char *path, char *err, size_t errlen)
{
    struct stat st;
    FILE *f = fopen(path, "rb");
    if (!f || fstat(fileno(f), &st) != 0) {
        rt_errf(err, errlen, "cannot read '%s': %s", path, strerror(errno));
        if (f)
            fclose(f);
        return NULL;
    }
    if (!S_ISREG(st.st_mode) || st.st_size <= 0 || st.st_size > MAX_FILE) {
        fclose(f);
        rt_errf(err, errlen, "'%s' is %s", path,
                !S_ISREG(st.st_mode) ? "not a file" : st.st_size <= 0 ? "empty" : "larger than the 2 GiB netc reads");
        return NULL;
    }
    uint8_t *buf = malloc((size_t)st.st_size);
    size_t got = buf ? fread(buf, 1, (size_t)st.st_size, f) : 0;
    fclose(f);
    Onnx__ModelProto *m = got == (size_t)st.st_size ? onnx__model_proto__unpack(NULL, got, buf) : NULL;
    free(buf);
    if (!m)
        rt_errf(err, errlen, "'%s' is not an ONNX model (%s)", path,
                !buf ? "out of memory" : got != (size_t)st.st_size ? "short read" : "not a valid ModelProto message");
    return m;
}

/* The model's netc name: the metadata's, else the file's name without
 * .onnx, made an identifier. */
static void model_name(const importer *im, const char *path, char *name, size_t size)
{
    const char *n = meta(im, "netc.name");
    if (!n || !*n) { /* torch names every graph torch_jit: the file says more */
        const char *slash = strrchr(path, '/');
        n = slash ? slash + 1 : path;
    }
    size_t k = 0;
    for (; n[k] && k + 1 < size && k < 64; k++) {
        char c = n[k];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (k > 0 && c >= '0' && c <= '9');
        if (c == '.' && !strchr(n + k, '/') && k > 0 && !meta(im, "netc.name") && strcmp(n + k, ".onnx") == 0)
            break; /* "mlp.onnx" -> "mlp" */
        name[k] = ok ? c : '_';
    }
    name[k] = 0;
    if (!k)
        snprintf(name, size, "model");
}

/* The graph's one float input with its per-sample shape. */
static int graph_input(importer *im)
{
    const Onnx__ValueInfoProto *in = NULL;
    for (size_t i = 0; i < im->g->n_input; i++) {
        const Onnx__ValueInfoProto *v = im->g->input[i];
        if (!v->name || constant(im, v->name)) /* older exports list initializers as inputs */
            continue;
        if (in)
            return rt_errf(im->err, im->errlen, "the graph has more than one input ('%s', '%s'); netc reads a chain "
                                                "with one", in->name, v->name);
        in = v;
    }
    if (!in)
        return rt_errf(im->err, im->errlen, "the graph has no input");
    const Onnx__TypeProto *tp = in->type;
    const Onnx__TensorShapeProto *sh =
        tp && tp->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE && tp->tensor_type ? tp->tensor_type->shape : NULL;
    if (!sh || !tp->tensor_type->has_elem_type || tp->tensor_type->elem_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)
        return rt_errf(im->err, im->errlen, "input '%s' is not a float32 tensor of known shape", in->name);
    if (sh->n_dim < 2 || sh->n_dim > 4)
        return rt_errf(im->err, im->errlen, "input '%s' has %zu dims; netc reads (N, features), (N, C, L) or (N, C, H, W)",
                       in->name, sh->n_dim);
    im->input.rank = (int)sh->n_dim - 1;
    for (size_t d = 1; d < sh->n_dim; d++) {
        const Onnx__TensorShapeProto__Dimension *dim = sh->dim[d];
        if (dim->value_case != ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE || dim->dim_value < 1 ||
            dim->dim_value > (1 << 24))
            return rt_errf(im->err, im->errlen, "input '%s': dim %zu is not a fixed size from 1 to 16777216",
                           in->name, d);
        im->input.dims[d - 1] = (int)dim->dim_value;
    }
    im->shape = im->input;
    im->cur = in->name;
    return 0;
}

/* Sort the nodes: Constant ones apart, each other one checked for what
 * the matchers rely on. */
static int split_nodes(importer *im)
{
    size_t n = im->g->n_node;
    if (n > MAX_NODES)
        return rt_errf(im->err, im->errlen, "the graph has %zu nodes, more than the %d netc reads", n, MAX_NODES);
    im->nodes = calloc(n + 1, sizeof *im->nodes);
    im->consts = calloc(n + 1, sizeof *im->consts);
    if (!im->nodes || !im->consts)
        return rt_errf(im->err, im->errlen, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const Onnx__NodeProto *node = im->g->node[i];
        if (!node->op_type || node->n_output < 1 || !node->output[0])
            return rt_errf(im->err, im->errlen, "node %zu has no op type or no output", i);
        if (node->domain && *node->domain && strcmp(node->domain, "ai.onnx") != 0)
            return node_error(im, node, "op domain '%s' is not ONNX's; netc reads standard ops", node->domain);
        for (size_t k = 0; k < node->n_input; k++)
            if (!node->input[k])
                return node_error(im, node, "%s", "an input has no name");
        if (strcmp(node->op_type, "Constant") == 0)
            im->consts[im->nconsts++] = node;
        else
            im->nodes[im->nnodes++] = node;
    }
    return 0;
}

static int check_opset(const importer *im)
{
    for (size_t i = 0; i < im->model->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *o = im->model->opset_import[i];
        if ((!o->domain || !*o->domain || strcmp(o->domain, "ai.onnx") == 0) && o->has_version) {
            if (o->version < 13 || o->version > 17)
                return rt_errf(im->err, im->errlen, "the model uses opset %lld; netc reads opsets 13 to 17 (export "
                               "with opset_version=17)", (long long)o->version);
            return 0;
        }
    }
    return rt_errf(im->err, im->errlen, "the model imports no version of the standard ONNX opset");
}

/* Write text to path through a temporary file; the caller renames it. */
static int write_text(const char *path, const char *text, char *err, size_t errlen)
{
    FILE *f = fopen(path, "w");
    int ok = f && fputs(text, f) >= 0;
    ok = (f && fclose(f) == 0) && ok;
    if (!ok) {
        remove(path);
        return rt_errf(err, errlen, "cannot write '%s': %s", path, strerror(errno));
    }
    return 0;
}

/* Compile the whole spec, fill a net with the parameters found and write
 * both files. */
static int write_outputs(importer *im, const char *name, const char *dir, char *spec_path, char *weights_path,
                         size_t pathlen)
{
    comp_text t = {0};
    char in[256];
    const char *stmts = meta(im, "netc.statements");
    shape_text(&im->input, in, sizeof in);
    if (!stmts)
        comp_text_printf(&t, "# Imported from ONNX, which keeps no loss or optimizer: the two below are\n"
                             "# placeholders (torch's MSE and SGD) to replace before training.\n");
    comp_text_printf(&t, "model %s {\n    input %s\n    layers %s\n", name, in, im->layers.s ? im->layers.s : "");
    for (const char *s = stmts ? stmts : "loss MSE\noptimizer SGD\n"; *s;) {
        size_t len = strcspn(s, "\n");
        comp_text_printf(&t, "    %.*s\n", (int)len, s);
        s += len + (s[len] == '\n');
    }
    comp_text_printf(&t, "}\n");
    if (t.oom) {
        comp_text_free(&t);
        return rt_errf(im->err, im->errlen, "out of memory");
    }
    int rc = -1;
    char tmp[4300];
    snprintf(spec_path, pathlen, "%s/%s.net", dir, name);
    snprintf(weights_path, pathlen, "%s/%s.safetensors", dir, name);
    snprintf(tmp, sizeof tmp, "%s.tmp", spec_path);
    gram_source *src = gram_source_from_string(spec_path, t.s);
    comp_plan *p = src ? comp_compile(src) : NULL;
    rt_net *net = p ? rt_net_new_inference(p, 1) : NULL;
    if (!net) {
        rt_errf(im->err, im->errlen, "%s", src && src->nerrors ? "the spec made from the graph does not compile (the "
                                                                 "messages above)" : "out of memory");
        goto done;
    }
    int filled = 0;
    for (int i = 0; i < im->nparams; i++) {
        const imp_param *ip = &im->params[i];
        char bn[64];
        snprintf(bn, sizeof bn, "%d.%s", ip->layer, ip->role);
        int b = comp_plan_find_buf(p, bn);
        if (b < 0 || (long)p->bufs[b].size != ip->count) {
            rt_errf(im->err, im->errlen, "tensor for %s: %ld values where %s needs %zu", bn, ip->count,
                    name, b < 0 ? (size_t)0 : p->bufs[b].size);
            goto done;
        }
        memcpy(rt_net_buf(net, b), ip->data, (size_t)ip->count * sizeof *ip->data);
        filled++;
    }
    if (filled != p->nparams + p->nstate) {
        rt_errf(im->err, im->errlen, "the graph gives %d of the model's %d tensors", filled, p->nparams + p->nstate);
        goto done;
    }
    if (write_text(tmp, t.s, im->err, im->errlen) != 0)
        goto done;
    if (rt_checkpoint_save_weights(net, weights_path, im->err, im->errlen) != 0) {
        remove(tmp);
        goto done;
    }
    if (rename(tmp, spec_path) != 0) {
        rt_errf(im->err, im->errlen, "cannot write '%s': %s", spec_path, strerror(errno));
        remove(tmp);
        remove(weights_path);
        goto done;
    }
    rc = 0;
done:
    rt_net_free(net);
    comp_plan_destroy(p);
    gram_source_free(src);
    comp_text_free(&t);
    return rc;
}

int comp_onnx_import(const char *path, const char *dir, char *spec_path, char *weights_path, size_t pathlen,
                     char *err, size_t errlen)
{
    importer im = {.err = err, .errlen = errlen};
    int rc = -1;
    Onnx__ModelProto *m = read_model(path, err, errlen);
    if (!m)
        return -1;
    im.model = m;
    im.g = m->graph;
    if (!im.g) {
        rt_errf(err, errlen, "'%s' has no graph", path);
        goto done;
    }
    if (check_opset(&im) != 0 || split_nodes(&im) != 0 || graph_input(&im) != 0)
        goto done;
    if (im.g->n_output != 1 || !im.g->output[0]->name) {
        rt_errf(err, errlen, "the graph has %zu outputs; netc reads a chain with one", im.g->n_output);
        goto done;
    }
    while (im.pos < im.nnodes) {
        if (im.nlayers >= MAX_LAYERS) {
            rt_errf(err, errlen, "more than %d layers", MAX_LAYERS);
            goto done;
        }
        int matched = 0, r = 0;
        for (size_t k = 0; k < sizeof matchers / sizeof *matchers && !matched; k++)
            r = matchers[k](&im, &matched);
        if (!matched)
            r = try_act(&im, &matched);
        if (r != 0)
            goto done;
        if (!matched) {
            const Onnx__NodeProto *n = at(&im, 0);
            /* another tensor than the chain's and the constants: a branch */
            const char *other = NULL;
            for (size_t i = 0; i < n->n_input && !other; i++)
                if (*n->input[i] && strcmp(n->input[i], im.cur) != 0 && !constant(&im, n->input[i]))
                    other = n->input[i];
            if (other)
                node_error(&im, n, "it reads '%s', which is not the output of the layer before: netc reads a "
                                   "chain of layers, one after the other, without branches", other);
            else
                node_error(&im, n, "netc has no layer for it here; netc reads " SUPPORTED_OPS "%s", "");
            goto done;
        }
    }
    if (im.nlayers == 0 || strcmp(im.cur, im.g->output[0]->name) != 0) {
        rt_errf(err, errlen, "the graph's output '%s' is not the last layer's: netc reads a chain of layers",
                im.g->output[0]->name);
        goto done;
    }
    char name[80];
    model_name(&im, path, name, sizeof name);
    rc = write_outputs(&im, name, dir, spec_path, weights_path, pathlen);
done:
    for (int i = 0; i < im.nparams; i++)
        free(im.params[i].data);
    free(im.params);
    free(im.nodes);
    free(im.consts);
    comp_text_free(&im.layers);
    onnx__model_proto__free_unpacked(m, NULL);
    return rc;
}
