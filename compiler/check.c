/* check.c — from a parsed spec to a checked model: statements, the layer
 * chain, shapes and the loss.  Every problem is reported and checking goes
 * on, so one run shows all independent errors. */
#include "args.h"
#include "rule.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A spec expanding to more layers than this is surely a mistake (and
 * would let `repeat` blow up memory). */
#define MAX_LAYERS 4096

typedef struct {
    comp_env env;
    comp_model *m;
    int cap_layers;
    int too_many;
} checker;

long comp_shape_size(const comp_shape *s)
{
    long n = 1;
    for (int i = 0; i < s->rank; i++)
        n *= s->dims[i];
    return n;
}

void comp_shape_format(const comp_shape *s, char *buf, int size)
{
    int len = snprintf(buf, (size_t)size, "(N");
    for (int i = 0; i < s->rank && len < size; i++)
        len += snprintf(buf + len, (size_t)(size - len), ", %d", s->dims[i]);
    if (len < size)
        snprintf(buf + len, (size_t)(size - len), ")");
}

double comp_arg_num(const comp_entry *e, const comp_args *a, const char *name)
{
    int i = comp_arg_index(e, name);
    return i < 0 ? 0 : a->num[i][0];
}

const char *comp_arg_str(const comp_entry *e, const comp_args *a, const char *name)
{
    int i = comp_arg_index(e, name);
    return i < 0 ? NULL : a->str[i];
}

void comp_image_shape(const comp_shape *s, int *c, int *h, int *w)
{
    *c = *h = 1;
    *w = s->rank ? s->dims[s->rank - 1] : 1;
    if (s->rank >= 2)
        *h = s->dims[s->rank - 2];
    for (int i = 0; i + 2 < s->rank; i++)
        *c *= s->dims[i];
}

static comp_layer *add_layer(checker *c)
{
    comp_model *m = c->m;
    if (m->nlayers >= MAX_LAYERS)
        return NULL;
    if (m->nlayers == c->cap_layers) {
        int cap = c->cap_layers ? 2 * c->cap_layers : 16;
        comp_layer *p = realloc(m->layers, (size_t)cap * sizeof *p);
        if (!p)
            return NULL;
        m->layers = p;
        c->cap_layers = cap;
    }
    comp_layer *l = &m->layers[m->nlayers];
    memset(l, 0, sizeof *l);
    l->index = m->nlayers++;
    return l;
}

/* Resolve one call of the chain into a layer (shapes come later). */
static int check_layer_call(checker *c, const gram_call *call)
{
    const char *names[COMP_LAYER_COUNT];
    int k = comp_lookup(comp_layers, COMP_LAYER_COUNT, call->name);
    if (k < 0) {
        comp_names(comp_layers, COMP_LAYER_COUNT, names);
        gram_unknown_name(c->env.src, call->loc, "layer", call->name, names, COMP_LAYER_COUNT);
        return 0;
    }
    comp_layer *l = add_layer(c);
    if (!l) {
        if (!c->too_many)
            gram_error(c->env.src, call->loc, "the chain has more than %d layers", MAX_LAYERS);
        c->too_many = 1;
        return 0;
    }
    l->kind = (comp_layer_kind)k;
    l->loc = call->loc;
    const gram_expr *init = NULL;
    int ok = comp_match_args(&c->env, &comp_layers[k], comp_layers[k].name, call->loc, call->args,
                             call->nargs, &l->args, &init);
    if (init) {
        l->has_init = comp_resolve_init_expr(&c->env, init, &l->init);
        ok &= l->has_init;
    }
    const comp_rule *rule = comp_layer_rules[k];
    if (ok && rule->check_args)
        ok = rule->check_args(c->env.src, l);
    return ok;
}

static int check_chain(checker *c, const gram_item *items, int n)
{
    int ok = 1;
    for (int i = 0; i < n && !c->too_many; i++) {
        const gram_item *it = &items[i];
        if (!it->is_repeat) {
            ok &= check_layer_call(c, &it->call);
            continue;
        }
        comp_value v;
        if (!comp_eval(&c->env, it->count, &v)) {
            ok = 0;
            continue;
        }
        if (v.kind != COMP_V_NUM || !v.is_int || v.num[0] < 1 || v.num[0] > MAX_LAYERS) {
            gram_error(c->env.src, it->count->loc, "repeat count must be an integer from 1 to %d", MAX_LAYERS);
            ok = 0;
            continue;
        }
        /* Expanding a faulty body once reports its errors once. */
        int first = c->m->nlayers;
        if (!check_chain(c, it->body, it->nbody)) {
            ok = 0;
            continue;
        }
        int len = c->m->nlayers - first;
        for (int r = 1; r < (int)v.num[0] && !c->too_many; r++)
            for (int j = 0; j < len; j++) {
                comp_layer *l = add_layer(c);
                if (!l) {
                    gram_error(c->env.src, it->loc, "the chain has more than %d layers", MAX_LAYERS);
                    c->too_many = 1;
                    ok = 0;
                    break;
                }
                int index = l->index;
                *l = c->m->layers[first + j];
                l->index = index;
            }
    }
    return ok;
}

/* What layer l's output holds (its rule's produces()). */
static comp_output layer_produces(const comp_layer *l)
{
    const comp_rule *r = comp_layer_rules[l->kind];
    return r->produces ? r->produces(l) : COMP_OUTPUT_VALUES;
}

/* Where the previous layer's output came from, for shape messages: "the
 * input is (N, 784)", "Conv2d at 3:12 produces (N, 6, 28, 28)", and for a
 * view into one dim (a Flatten) what it flattened, "Flatten at 4:50
 * produces (N, 16, 4, 4) = 256". */
static void describe_prev(const comp_model *m, int i, char *buf, size_t size)
{
    char shape[128];
    const comp_shape *s = i == 0 ? &m->input : &m->layers[i - 1].out;
    comp_shape_format(s, shape, sizeof shape);
    if (i == 0) {
        snprintf(buf, size, "the input is %s", shape);
        return;
    }
    const comp_layer *prev = &m->layers[i - 1];
    if (layer_produces(prev) == COMP_OUTPUT_INPUT && prev->in.rank > 1 && prev->out.rank == 1) {
        comp_shape_format(&prev->in, shape, sizeof shape);
        snprintf(buf, size, "%s at %d:%d produces %s = %ld", comp_layers[prev->kind].name, prev->loc.first_line,
                 prev->loc.first_column, shape, comp_shape_size(&prev->in));
        return;
    }
    snprintf(buf, size, "%s at %d:%d produces %s", comp_layers[prev->kind].name, prev->loc.first_line,
             prev->loc.first_column, shape);
}

static int infer_shapes(checker *c)
{
    comp_model *m = c->m;
    gram_source *src = c->env.src;
    int ok = 1;
    char prev[256];
    for (int i = 0; i < m->nlayers; i++) {
        comp_layer *l = &m->layers[i];
        l->in = i == 0 ? m->input : m->layers[i - 1].out;
        l->out = l->in;
        const comp_rule *rule = comp_layer_rules[l->kind];
        if (rule->shape) {
            describe_prev(m, i, prev, sizeof prev);
            /* Only the first layer's input is the data. */
            if (!rule->shape(src, l, prev, i == 0))
                ok = 0;
        }
    }
    return ok;
}

/* torch.nn.init.eye_ takes 2-D tensors only ("Only tensors with 2
 * dimensions are supported"): refuse it, as torch does, for a layer whose
 * weight has another rank (a convolution's), whether the layer's own
 * init= or the model's init statement asks for it. */
static int check_weight_inits(checker *c)
{
    const comp_model *m = c->m;
    int ok = 1;
    for (int i = 0; i < m->nlayers; i++) {
        const comp_layer *l = &m->layers[i];
        const comp_init *init = l->has_init ? &l->init : &m->init;
        const comp_rule *rule = comp_layer_rules[l->kind];
        comp_tensor_spec t[COMP_RULE_MAX_TENSORS];
        const int n = init->kind == COMP_INIT_EYE && rule->tensors ? rule->tensors(l, t) : 0;
        for (int k = 0; k < n; k++) {
            if (t[k].init != COMP_TINIT_WEIGHT || t[k].rank == 2)
                continue;
            char shape[128];
            size_t len = 0;
            for (int d = 0; d < t[k].rank && len < sizeof shape; d++)
                len += (size_t)snprintf(shape + len, sizeof shape - len, "%s%d", d ? ", " : "", t[k].dims[d]);
            gram_error(c->env.src, init->loc,
                       "init eye needs a 2-D weight (torch.nn.init.eye_), but %s at %d:%d has a %d-D %s of shape "
                       "(%s)",
                       comp_layers[l->kind].name, l->loc.first_line, l->loc.first_column, t[k].rank, t[k].name,
                       shape);
            ok = 0;
            break;
        }
    }
    return ok;
}

/* Warn when the chain cannot produce what the loss expects (catalog.def
 * INPUT).  These are warnings, as in torch, which accepts any tensor: a
 * loss on the wrong kind of input trains, just not as intended. */
static void check_loss_input(checker *c, const comp_layer *last)
{
    const comp_model *m = c->m;
    const char *loss = comp_losses[m->loss].name;
    const char *lname = last ? comp_layers[last->kind].name : "the input";
    gram_loc at = last ? last->loc : m->loss_loc;
    comp_output got = last ? layer_produces(last) : COMP_OUTPUT_VALUES;
    int classes = comp_loss_target[m->loss] == COMP_TARGET_CLASS;
    switch ((comp_input_kind)comp_loss_input[m->loss]) {
    case COMP_INPUT_LOGITS:
        if (got != COMP_OUTPUT_VALUES)
            gram_warning(c->env.src, at, "%s applies %s itself; a final %s makes it normalise twice", loss,
                         classes ? "log-softmax" : "sigmoid", lname);
        break;
    case COMP_INPUT_PROBS:
        if (got != COMP_OUTPUT_PROBS)
            gram_warning(c->env.src, at,
                         "%s expects probabilities in [0, 1], which %s does not produce; use BCEWithLogits on "
                         "the raw scores, or end the chain in Sigmoid",
                         loss, lname);
        break;
    case COMP_INPUT_LOG_PROBS:
        if (got != COMP_OUTPUT_LOG_PROBS)
            gram_warning(c->env.src, at, "%s expects log-probabilities, which %s does not produce; end the chain in "
                         "LogSoftmax(dim=1)%s",
                         loss, lname, classes ? ", or use CrossEntropy on the raw scores" : "");
        break;
    case COMP_INPUT_ANY:
        break;
    }
}

static int check_loss(checker *c)
{
    comp_model *m = c->m;
    if (m->nlayers == 0)
        return 1;
    const comp_layer *last = &m->layers[m->nlayers - 1];
    const char *loss = comp_losses[m->loss].name;
    char shape[128];
    comp_shape_format(&last->out, shape, sizeof shape);
    if (comp_loss_target[m->loss] == COMP_TARGET_CLASS && (last->out.rank != 1 || last->out.dims[0] < 2)) {
        gram_error(c->env.src, m->loss_loc,
                   "%s expects class scores of shape (N, C) with C >= 2, but the chain produces %s", loss, shape);
        return 0;
    }
    /* A view (Identity, Flatten, Unflatten) passes on its input's values:
     * what the chain produces is the last other layer's. */
    int i = m->nlayers - 1;
    while (i >= 0 && layer_produces(&m->layers[i]) == COMP_OUTPUT_INPUT)
        i--;
    check_loss_input(c, i >= 0 ? &m->layers[i] : NULL);
    /* torch.nn.functional.kl_div warns about reduction="mean" every time. */
    const comp_entry *e = &comp_losses[m->loss];
    if (m->loss == COMP_LOSS_KL_DIV && strcmp(comp_arg_str(e, &m->loss_args, "reduction"), "mean") == 0)
        gram_warning(c->env.src, m->loss_loc,
                     "KLDiv reduction=\"mean\" divides by every element, not by the batch size; "
                     "reduction=\"batchmean\" gives the KL divergence (as torch warns)");
    return 1;
}

static int check_optimizer(checker *c, const gram_call *call)
{
    comp_model *m = c->m;
    const char *names[COMP_OPTIM_COUNT];
    int k = comp_lookup(comp_optims, COMP_OPTIM_COUNT, call->name);
    if (k < 0) {
        comp_names(comp_optims, COMP_OPTIM_COUNT, names);
        gram_unknown_name(c->env.src, call->loc, "optimizer", call->name, names, COMP_OPTIM_COUNT);
        return 0;
    }
    m->optim = (comp_optim_kind)k;
    m->optim_loc = call->loc;
    if (!comp_match_args(&c->env, &comp_optims[k], comp_optims[k].name, call->loc, call->args, call->nargs,
                         &m->optim_args, NULL))
        return 0;
    const comp_entry *e = &comp_optims[k];
    if (k == COMP_OPTIM_SGD && comp_arg_num(e, &m->optim_args, "nesterov") != 0 &&
        (comp_arg_num(e, &m->optim_args, "momentum") <= 0 || comp_arg_num(e, &m->optim_args, "dampening") != 0)) {
        gram_error(c->env.src, call->loc, "SGD nesterov=true requires momentum > 0 and dampening = 0 (as torch.optim)");
        return 0;
    }
    if (k == COMP_OPTIM_RPROP) {
        const double *etas = m->optim_args.num[comp_arg_index(e, "etas")];
        if (!(etas[0] < 1.0 && 1.0 < etas[1])) {
            gram_error(c->env.src, call->loc,
                       "Rprop etas=(%g, %g) must satisfy 0 < etaminus < 1 < etaplus (as torch.optim)", etas[0],
                       etas[1]);
            return 0;
        }
    }
    return 1;
}

/* SparseAdam updates only the rows a batch touched, so every parameter
 * must have a row-sparse gradient (its rule's sparse_grad: only an
 * Embedding's has).  torch fails at the first step ("SparseAdam does not
 * support dense gradients"); netc knows at compile time, and names the
 * first layer with dense parameters. */
static int check_sparse_optimizer(checker *c)
{
    const comp_model *m = c->m;
    if (m->optim != COMP_OPTIM_SPARSE_ADAM)
        return 1;
    for (int i = 0; i < m->nlayers; i++) {
        const comp_layer *l = &m->layers[i];
        if (comp_layer_has_params(l) && !comp_layer_rules[l->kind]->sparse_grad) {
            gram_error(c->env.src, m->optim_loc,
                       "SparseAdam needs sparse gradients, but %s at %d:%d (layer %d) has dense parameters; only "
                       "Embedding weights have sparse gradients (use Adam, or a model whose only parameters are an "
                       "Embedding's)",
                       comp_layers[l->kind].name, l->loc.first_line, l->loc.first_column, l->index);
            gram_note(c->env.src, l->loc, "the layer with dense parameters");
            return 0;
        }
    }
    return 1;
}

/* The `schedule` and `clip` statements: a name from one catalog table and
 * its arguments.  Returns the entry's index, or -1 after reporting. */
static int check_catalog_call(checker *c, const gram_call *call, const comp_entry *table, int n,
                              const char *kind, comp_args *args)
{
    const char *names[(int)COMP_SCHED_COUNT > (int)COMP_CLIP_COUNT ? (int)COMP_SCHED_COUNT : (int)COMP_CLIP_COUNT];
    int k = comp_lookup(table, n, call->name);
    if (k < 0) {
        comp_names(table, n, names);
        gram_unknown_name(c->env.src, call->loc, kind, call->name, names, n);
        return -1;
    }
    if (!comp_match_args(&c->env, &table[k], table[k].name, call->loc, call->args, call->nargs, args, NULL))
        return -1;
    return k;
}

static int check_schedule(checker *c, const gram_call *call)
{
    comp_model *m = c->m;
    int k = check_catalog_call(c, call, comp_scheds, COMP_SCHED_COUNT, "schedule", &m->sched_args);
    if (k < 0)
        return 0;
    m->sched = (comp_sched_kind)k;
    m->sched_loc = call->loc;
    return 1;
}

static int check_clip(checker *c, const gram_call *call)
{
    comp_model *m = c->m;
    int k = check_catalog_call(c, call, comp_clips, COMP_CLIP_COUNT, "clip", &m->clip_args);
    if (k < 0)
        return 0;
    m->clip = (comp_clip_kind)k;
    m->clip_loc = call->loc;
    return 1;
}

static int check_loss_call(checker *c, const gram_call *call)
{
    comp_model *m = c->m;
    const char *names[COMP_LOSS_COUNT];
    int k = comp_lookup(comp_losses, COMP_LOSS_COUNT, call->name);
    if (k < 0) {
        comp_names(comp_losses, COMP_LOSS_COUNT, names);
        gram_unknown_name(c->env.src, call->loc, "loss", call->name, names, COMP_LOSS_COUNT);
        return 0;
    }
    m->loss = (comp_loss_kind)k;
    m->loss_loc = call->loc;
    return comp_match_args(&c->env, &comp_losses[k], comp_losses[k].name, call->loc, call->args, call->nargs,
                           &m->loss_args, NULL);
}

static int check_input(checker *c, const gram_stmt *s)
{
    comp_value v;
    if (!comp_eval(&c->env, s->value, &v))
        return 0;
    comp_shape *in = &c->m->input;
    if (v.kind == COMP_V_NUM) {
        v.n = 1;
    } else if (v.kind != COMP_V_TUPLE) {
        gram_error(c->env.src, s->value->loc, "input must be a size such as 784 or a shape such as (1, 28, 28)");
        return 0;
    }
    for (int i = 0; i < v.n; i++)
        if (!v.is_int || v.num[i] < 1 || v.num[i] > (1 << 24)) {
            gram_error(c->env.src, s->value->loc, "input sizes must be integers from 1 to %d", 1 << 24);
            return 0;
        }
    in->rank = v.n;
    long total = 1;
    for (int i = 0; i < v.n; i++) {
        in->dims[i] = (int)v.num[i];
        total *= in->dims[i];
    }
    if (total > (1 << 24)) {
        gram_error(c->env.src, s->value->loc, "input has %ld values per sample; at most %d are supported", total,
                   1 << 24);
        return 0;
    }
    return 1;
}

/* Whether argument a of a statement has name. */
static int arg_named(const gram_arg *a, const char *name)
{
    return a->name && strcmp(a->name, name) == 0;
}

/* `early_stop=EarlyStopping(...)` (or the bare name, all defaults): a
 * call, which the train statement's schema of plain values cannot hold,
 * so it is resolved here against catalog.def's STOP table. */
static int check_early_stop(checker *c, const gram_arg *a)
{
    comp_model *m = c->m;
    const gram_expr *e = a->value;
    if (e->kind != GRAM_EXPR_CALL && e->kind != GRAM_EXPR_NAME) {
        gram_error(c->env.src, e->loc, "train argument 'early_stop' must be a rule such as EarlyStopping(patience=5)");
        return 0;
    }
    gram_call call = {e->str, e->loc, e->kind == GRAM_EXPR_CALL, e->args, e->nargs};
    int k = check_catalog_call(c, &call, comp_stops, COMP_STOP_COUNT, "early_stop rule", &m->stop_args);
    if (k < 0)
        return 0;
    m->stop = (comp_stop_kind)k;
    m->stop_loc = e->loc;
    return 1;
}

/* Whether a named argument of s appears twice: reported at the second. */
static int named_twice(checker *c, const gram_stmt *s, const char *name)
{
    int seen = 0;
    for (int i = 0; i < s->nargs; i++)
        if (arg_named(&s->args[i], name) && seen++) {
            gram_error(c->env.src, s->args[i].name_loc, "%s argument '%s' given twice", gram_stmt_keyword(s->kind),
                       name);
            return 1;
        }
    return 0;
}

/* The statement's arguments without the ones named skip (at most
 * COMP_MAX_ARGS + 1 are kept: more are reported by the schema anyway as
 * too many). */
static int args_without(const gram_stmt *s, const char *skip, gram_arg *out, int cap)
{
    int n = 0;
    for (int i = 0; i < s->nargs && n < cap; i++)
        if (!arg_named(&s->args[i], skip))
            out[n++] = s->args[i];
    return n;
}

static int check_train(checker *c, const gram_stmt *s)
{
    comp_args a;
    comp_model *m = c->m;
    gram_arg rest[COMP_MAX_ARGS + 1];
    int ok = !named_twice(c, s, "early_stop"), nrest = args_without(s, "early_stop", rest, COMP_MAX_ARGS + 1);
    for (int i = 0; ok && i < s->nargs; i++)
        if (arg_named(&s->args[i], "early_stop"))
            ok = check_early_stop(c, &s->args[i]);
    if (!comp_match_args(&c->env, &comp_train_stmt, "train", s->loc, rest, nrest, &a, NULL) || !ok)
        return 0;
    m->has_train = 1;
    m->epochs = (int)comp_arg_num(&comp_train_stmt, &a, "epochs");
    m->batch = (int)comp_arg_num(&comp_train_stmt, &a, "batch");
    m->shuffle = comp_arg_num(&comp_train_stmt, &a, "shuffle") != 0;
    m->seed = (uint32_t)comp_arg_num(&comp_train_stmt, &a, "seed");
    return 1;
}

/* `data "PATH" validation=...`: a validation that evaluates to a string
 * is a path; anything else goes to the schema (catalog.def DATA), which
 * range-checks a fraction. */
static int check_data(checker *c, const gram_stmt *s)
{
    comp_model *m = c->m;
    if (s->value->kind != GRAM_EXPR_STR || !s->value->str[0]) {
        gram_error(c->env.src, s->value->loc, "data needs a path in double quotes");
        return 0;
    }
    m->data = s->value->str;
    if (named_twice(c, s, "validation"))
        return 0;
    gram_arg rest[COMP_MAX_ARGS + 1];
    int nrest = 0;
    for (int i = 0; i < s->nargs; i++) {
        comp_value v;
        if (arg_named(&s->args[i], "validation")) {
            if (!comp_eval(&c->env, s->args[i].value, &v))
                return 0;
            if (v.kind == COMP_V_STR && !v.str[0]) {
                gram_error(c->env.src, s->args[i].value->loc, "data argument 'validation' needs a path, got \"\"");
                return 0;
            }
            if (v.kind == COMP_V_STR) {
                m->val_path = v.str;
                continue;
            }
        }
        if (nrest < COMP_MAX_ARGS + 1)
            rest[nrest++] = s->args[i];
    }
    comp_args a;
    if (!comp_match_args(&c->env, &comp_data_stmt, "data", s->loc, rest, nrest, &a, NULL))
        return 0;
    m->val_fraction = comp_arg_num(&comp_data_stmt, &a, "validation");
    return 1;
}

/* `transform A -> B -> ...`: each a transforms.def call (no repeat). */
static int check_transform_chain(checker *c, const gram_stmt *s)
{
    comp_model *m = c->m;
    int ok = 1;
    for (int i = 0; i < s->nitems; i++) {
        const gram_item *it = &s->items[i];
        if (it->is_repeat) {
            gram_error(c->env.src, it->loc, "a transform chain takes no repeat blocks");
            ok = 0;
            continue;
        }
        if (m->ntransforms == COMP_MAX_TRANSFORMS) {
            gram_error(c->env.src, it->loc, "a transform chain holds at most %d transforms", COMP_MAX_TRANSFORMS);
            return 0;
        }
        comp_transform *t = &m->transforms[m->ntransforms];
        const char *names[COMP_TF_COUNT];
        int k = comp_lookup(comp_transforms, COMP_TF_COUNT, it->call.name);
        if (k < 0) {
            comp_names(comp_transforms, COMP_TF_COUNT, names);
            gram_unknown_name(c->env.src, it->loc, "transform", it->call.name, names, COMP_TF_COUNT);
            ok = 0;
            continue;
        }
        if (!comp_match_args(&c->env, &comp_transforms[k], comp_transforms[k].name, it->loc, it->call.args,
                             it->call.nargs, &t->args, NULL)) {
            ok = 0;
            continue;
        }
        t->kind = (comp_tf_kind)k;
        t->loc = it->loc;
        m->ntransforms++;
    }
    return ok;
}

/* `augment MixUp(alpha=0.2)`: a MIX entry of transforms.def. */
static int check_augment(checker *c, const gram_call *call)
{
    comp_model *m = c->m;
    int k = check_catalog_call(c, call, comp_mixes, COMP_MIX_COUNT, "augment", &m->mix_args);
    if (k < 0)
        return 0;
    m->mix = (comp_mix_kind)k;
    m->mix_loc = call->loc;
    return 1;
}

/* A mixing against the model: it mixes class labels into probabilities,
 * which CrossEntropy takes (torch's cross_entropy with probability
 * targets); CutMix cuts boxes out of images. */
static int check_augment_model(checker *c, int loss_ok)
{
    comp_model *m = c->m;
    if (m->mix == COMP_MIX_COUNT)
        return 1;
    const comp_entry *e = &comp_mixes[m->mix];
    const int classes = (int)comp_shape_size(&m->layers[m->nlayers - 1].out);
    const int given = (int)comp_arg_num(e, &m->mix_args, "num_classes");
    char in[128];
    comp_shape_format(&m->input, in, sizeof in);
    if (loss_ok && m->loss != COMP_LOSS_CROSS_ENTROPY) {
        gram_error(c->env.src, m->mix_loc, "%s mixes class labels into probabilities, which only CrossEntropy "
                   "takes; the loss is %s", e->name, comp_losses[m->loss].name);
        return 0;
    }
    if (given && given != classes) {
        gram_error(c->env.src, m->mix_loc, "%s num_classes=%d, but the model has %d outputs", e->name, given, classes);
        return 0;
    }
    if (m->mix == COMP_MIX_CUTMIX && m->input.rank < 2) {
        gram_error(c->env.src, m->mix_loc, "CutMix cuts boxes out of images, but the model's input is %s; write "
                   "it as input (C, H, W)", in);
        return 0;
    }
    return 1;
}

/* The transforms against the input shape: a transform keeps a sample's
 * shape (the model's input is fixed), the spatial ones need an image. */
static int check_transform_shapes(checker *c)
{
    comp_model *m = c->m;
    int ok = 1, ch, h, w;
    comp_image_shape(&m->input, &ch, &h, &w);
    char in[128];
    comp_shape_format(&m->input, in, sizeof in);
    for (int i = 0; i < m->ntransforms; i++) {
        const comp_transform *t = &m->transforms[i];
        const comp_entry *e = &comp_transforms[t->kind];
        const comp_args *a = &t->args;
        const int spatial = t->kind != COMP_TF_NORMALIZE && t->kind != COMP_TF_GAUSSIAN_NOISE;
        if (spatial && m->input.rank < 2) {
            gram_error(c->env.src, t->loc, "%s works on images, but the model's input is %s; write it as "
                       "input (C, H, W)", e->name, in);
            ok = 0;
            continue;
        }
        if (t->kind == COMP_TF_NORMALIZE) {
            for (int k = 0; k < 2; k++) {
                const int slot = comp_arg_index(e, k ? "std" : "mean");
                if (a->ntuple[slot] != 1 && a->ntuple[slot] != ch) {
                    gram_error(c->env.src, t->loc, "Normalize has %d %s value%s for the %d channel%s of input %s",
                               a->ntuple[slot], k ? "std" : "mean", a->ntuple[slot] == 1 ? "" : "s", ch,
                               ch == 1 ? "" : "s", in);
                    ok = 0;
                    break;
                }
            }
        } else if (t->kind == COMP_TF_RANDOM_CROP) {
            const int slot = comp_arg_index(e, "size"), ps = comp_arg_index(e, "padding");
            const int sh = (int)a->num[slot][0], sw = (int)a->num[slot][a->ntuple[slot] == 1 ? 0 : 1];
            if (sh != h || sw != w) {
                gram_error(c->env.src, t->loc, "RandomCrop size (%d, %d) is not the input's (%d, %d): a transform "
                           "keeps the sample's shape; pad with padding= to crop shifted views",
                           sh, sw, h, w);
                ok = 0;
            }
            /* padding pair: (left and right, top and bottom) */
            const int pw = (int)a->num[ps][0], ph = (int)a->num[ps][a->ntuple[ps] == 1 ? 0 : 1];
            const char *mode = comp_arg_str(e, a, "padding_mode");
            const int reflect = mode && strcmp(mode, "reflect") == 0, symmetric = mode && strcmp(mode, "symmetric") == 0;
            if ((reflect && (pw >= w || ph >= h)) || (symmetric && (pw > w || ph > h))) {
                gram_error(c->env.src, t->loc, "RandomCrop padding (%d, %d) is too large for %s padding of %dx%d "
                           "images (at most %s each side)", pw, ph, mode, h, w,
                           reflect ? "the size minus 1" : "the size");
                ok = 0;
            }
        } else if (t->kind == COMP_TF_RANDOM_ERASING) {
            for (int k = 0; k < 2; k++) {
                const int slot = comp_arg_index(e, k ? "ratio" : "scale");
                if (a->num[slot][0] > a->num[slot][1]) {
                    gram_error(c->env.src, t->loc, "RandomErasing %s (%g, %g) must be a range (min, max)",
                               k ? "ratio" : "scale", a->num[slot][0], a->num[slot][1]);
                    ok = 0;
                }
            }
        }
    }
    return ok;
}

/* Evaluate a let once and bind its value.  A let whose definition has an
 * error is still bound, as failed, so that its uses add no second error
 * ("arithmetic needs a number, but this is a name") to the first. */
static int check_let(checker *c, const gram_stmt *s)
{
    comp_env *env = &c->env;
    /* None is a value (Python's), which a let would otherwise shadow. */
    if (strcmp(s->name, "None") == 0) {
        gram_error(env->src, s->name_loc, "'None' cannot be redefined: it is Python's None");
        return 0;
    }
    const comp_let *prev = comp_env_find(env, s->name);
    if (prev) {
        gram_error(env->src, s->name_loc, "'%s' is already defined", s->name);
        gram_note(env->src, prev->loc, "'%s' was defined here", s->name);
        return 0;
    }
    comp_let let = {s->name, s->name_loc, s->value, {0}, 0};
    let.ok = comp_eval(env, s->value, &let.value);
    if (let.ok && ((let.value.kind == COMP_V_NAME && !comp_value_is_none(&let.value)) ||
                   let.value.kind == COMP_V_CALL)) {
        gram_error(env->src, s->value->loc, "'%s' is not a defined constant", let.value.str);
        let.ok = 0;
    }
    /* A let naming a let has that let's expression behind its value. */
    if (s->value->kind == GRAM_EXPR_NAME) {
        const comp_let *named = comp_env_find(env, s->value->str);
        if (named)
            let.def = named->def;
    }
    if (comp_env_add(env, &let) != 0) {
        gram_error(env->src, s->name_loc, "out of memory defining '%s'", s->name);
        return 0;
    }
    return let.ok;
}

static void model_init_default(comp_model *m)
{
    m->init.kind = COMP_INIT_DEFAULT;
    m->loss = COMP_LOSS_COUNT;
    m->optim = COMP_OPTIM_COUNT;
    m->sched = COMP_SCHED_COUNT;
    m->clip = COMP_CLIP_COUNT;
    m->stop = COMP_STOP_COUNT;
    m->mix = COMP_MIX_COUNT;
}

comp_model *comp_check(gram_spec *spec)
{
    comp_model *m = calloc(1, sizeof *m);
    if (!m) {
        gram_spec_free(spec);
        return NULL;
    }
    checker c = {.env = {.src = spec->src}, .m = m};
    m->spec = spec;
    m->name = spec->model_name;
    m->hash = comp_fnv1a(COMP_FNV1A_INIT, spec->src->text, spec->src->len);
    model_init_default(m);

    const gram_stmt *first[GRAM_STMT_LAST + 1] = {0};
    int syntax_errors = spec->src->nerrors;
    int ok = syntax_errors == 0 && spec->model_name;
    char why[256];
    if (spec->model_name && comp_model_name_problem(spec->model_name, why, sizeof why)) {
        gram_error(spec->src, spec->model_loc, "%s", why);
        ok = 0;
    }
    /* Shapes are inferred whenever input and chain resolved, even if other
     * statements had errors, so shape mistakes show up in the same run. */
    int input_ok = 0, chain_ok = 0, loss_ok = 0, data_ok = 1;
    for (int i = 0; i < spec->nstmts; i++) {
        const gram_stmt *s = &spec->stmts[i];
        if (s->kind != GRAM_STMT_LET) {
            if (first[s->kind]) {
                gram_error(spec->src, s->loc, "duplicate '%s' statement", gram_stmt_keyword(s->kind));
                gram_note(spec->src, first[s->kind]->loc, "the first '%s' statement is here",
                          gram_stmt_keyword(s->kind));
                ok = 0;
                continue;
            }
            first[s->kind] = s;
        }
        switch (s->kind) {
        case GRAM_STMT_LET: ok &= check_let(&c, s); break;
        case GRAM_STMT_INPUT: ok &= input_ok = check_input(&c, s); break;
        case GRAM_STMT_LAYERS: ok &= chain_ok = check_chain(&c, s->items, s->nitems); break;
        case GRAM_STMT_INIT: ok &= comp_resolve_init_call(&c.env, &s->call, &m->init); break;
        case GRAM_STMT_LOSS: ok &= loss_ok = check_loss_call(&c, &s->call); break;
        case GRAM_STMT_OPTIMIZER: ok &= check_optimizer(&c, &s->call); break;
        case GRAM_STMT_TRAIN: ok &= check_train(&c, s); break;
        case GRAM_STMT_SCHEDULE: ok &= check_schedule(&c, &s->call); break;
        case GRAM_STMT_CLIP: ok &= check_clip(&c, &s->call); break;
        case GRAM_STMT_DATA: ok &= data_ok = check_data(&c, s); break;
        case GRAM_STMT_TRANSFORM: ok &= check_transform_chain(&c, s); break;
        case GRAM_STMT_AUGMENT: ok &= check_augment(&c, &s->call); break;
        }
    }
    /* Early stopping watches the validation set, which the data
     * statement (wherever it stands) names; a data statement in error has
     * been reported already. */
    if (m->stop != COMP_STOP_COUNT && data_ok && !m->val_path && !(m->val_fraction > 0)) {
        gram_error(spec->src, m->stop_loc,
                   "early_stop watches a validation set; add validation=FRACTION or validation=\"PATH\" to the "
                   "data statement");
        ok = 0;
    }
    /* After a syntax error a statement may be missing only because it did
     * not parse; saying so again would be noise. */
    if (spec->model_name && !syntax_errors) {
        static const gram_stmt_kind required[] = {GRAM_STMT_INPUT, GRAM_STMT_LAYERS, GRAM_STMT_LOSS,
                                                  GRAM_STMT_OPTIMIZER};
        for (size_t i = 0; i < sizeof required / sizeof *required; i++)
            if (!first[required[i]]) {
                gram_error(spec->src, spec->model_loc, "model '%s' has no '%s' statement", spec->model_name,
                           gram_stmt_keyword(required[i]));
                ok = 0;
            }
    }
    if (spec->model_name && input_ok && chain_ok && first[GRAM_STMT_LAYERS] && first[GRAM_STMT_INPUT]) {
        if (infer_shapes(&c)) {
            if (loss_ok)
                ok &= check_loss(&c);
            ok &= check_sparse_optimizer(&c);
            ok &= check_transform_shapes(&c);
            ok &= check_augment_model(&c, loss_ok);
            ok &= check_weight_inits(&c);
        } else {
            ok = 0;
        }
    }
    comp_env_free(&c.env);
    if (!ok || spec->src->nerrors) {
        comp_model_free(m);
        return NULL;
    }
    return m;
}

void comp_model_free(comp_model *m)
{
    if (!m)
        return;
    gram_spec_free(m->spec);
    free(m->layers);
    free(m);
}
