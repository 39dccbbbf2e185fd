/* test_q8_net.c — netc quantize's calibration and int8 checkpoint, and the
 * int8 forward pass eval and predict run, on a model small enough to
 * compute by hand.
 *
 * - chain: Linear(4, 3) -> ReLU -> Linear(3, 2) with set weights,
 *   quantized on 8 samples; the int8 outputs must be, bit for bit, the
 *   chain written out with q8_math's functions from the ranges of the
 *   float model's activations (input, post-ReLU hidden layer, output), the bias at the
 *   input's scale and ReLU as the clamp at the hidden zero point.  The
 *   checkpoint holds exactly the tensors the scheme says.
 * - refusals: a checkpoint missing a tensor, one with a tensor of another
 *   dtype, one quantized from another spec, a float checkpoint: each one
 *   message, and no model. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "compiler/q8plan.h"
#include "runtime/checkpoint.h"
#include "runtime/q8_kernels.h"
#include "runtime/q8_math.h"
#include "runtime/q8_net.h"
#include "runtime/safetensors.h"

#define SPEC "model tiny {\n input 4\n layers Linear(4, 3) -> ReLU -> Linear(3, 2)\n loss CrossEntropy\n" \
             " optimizer SGD(lr=0.1)\n}\n"
#define NS 8

static float X[NS * 4];

/* Deterministic weights and inputs with both signs. */
static void fill(rt_net *net)
{
    const comp_plan *p = net->plan;
    for (int k = 0; k < p->nparams; k++) {
        float *w = rt_net_buf(net, p->params[k]);
        for (size_t i = 0; i < p->bufs[p->params[k]].size; i++)
            w[i] = (float)sin(1.7 * (double)(i + 1) + 0.9 * k) * (k % 2 ? 0.3f : 0.8f);
    }
    for (int i = 0; i < NS * 4; i++)
        X[i] = (float)cos(0.77 * i) * 2.0f + 0.4f;
}

static void range(const float *x, size_t n, float *lo, float *hi)
{
    *lo = INFINITY;
    *hi = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        *lo = fminf(*lo, x[i]);
        *hi = fmaxf(*hi, x[i]);
    }
}

/* One int8 Linear of the chain: per-channel weights, bias at s_in * s_w,
 * multipliers to (sy, zy), clamped to [lo, 127]. */
static void q_linear(const float *W, const float *b, int in, int out, const int8_t *qx, float sx, int32_t zx, float sy,
                     int32_t zy, int32_t lo, int8_t *qy)
{
    int8_t qw[16];
    float sw[4];
    int32_t qb[4], mult[4];
    int shift[4];
    rt_q8_quantize_weights(W, out, (size_t)in, qw, sw);
    for (int c = 0; c < out; c++) {
        qb[c] = rt_q8_quantize_bias(b[c], sx, sw[c]);
        rt_q8_quantize_multiplier((double)sx * (double)sw[c] / (double)sy, &mult[c], &shift[c]);
    }
    rt_q8_linear(qx, NS, in, zx, qw, qb, out, mult, shift, zy, lo, 127, qy);
}

/* Quantize the tiny model into dir/q.st; returns its plan and float net. */
static comp_plan *quantized(const char *path, rt_net **netp)
{
    comp_plan *p = tu_compile_text(SPEC);
    comp_q8_plan *q = comp_q8_lower(p);
    ck_assert_ptr_nonnull(q);
    rt_net *net = rt_net_new_inference(p, NS);
    fill(net);
    rt_dataset ds = {.n = NS, .dim = 4, .xf = X};
    char err[512];
    size_t bytes;
    ck_assert_msg(rt_q8_quantize_net(net, q, &ds, 100, path, &bytes, err, sizeof err) == 0, "%s", err);
    comp_q8_plan_free(q);
    *netp = net;
    return p;
}

START_TEST(chain)
{
    char dir[256], path[512], err[512];
    tu_mkdtemp(dir, sizeof dir, "q8net");
    snprintf(path, sizeof path, "%s/q.st", dir);
    rt_net *net;
    comp_plan *p = quantized(path, &net);

    /* The float model's ranges, layer by layer, from its own forward pass
     * (its sums run in OpenBLAS's order, which the ranges' last bits
     * depend on). */
    const float *W1 = rt_net_buf(net, p->params[0]), *b1 = rt_net_buf(net, p->params[1]);
    const float *W2 = rt_net_buf(net, p->params[2]), *b2 = rt_net_buf(net, p->params[3]);
    ck_assert_int_eq(p->ops[0].code, COMP_OP_LINEAR);
    ck_assert_int_eq(p->ops[0].act, COMP_ACT_RELU);
    rt_net_set_batch(net, NS, 0);
    memcpy(rt_net_buf(net, p->input), X, sizeof X);
    rt_net_infer(net);
    const float *h = rt_net_buf(net, p->ops[0].buf[0]), *y = rt_net_buf(net, p->output);
    float lo, hi, sx, sh, sy;
    int32_t zx, zh, zy;
    range(X, NS * 4, &lo, &hi);
    rt_q8_choose_params(lo, hi, &sx, &zx);
    range(h, NS * 3, &lo, &hi);
    rt_q8_choose_params(lo, hi, &sh, &zh);
    range(y, NS * 2, &lo, &hi);
    rt_q8_choose_params(lo, hi, &sy, &zy);
    int8_t qx[NS * 4], qh[NS * 3], qy[NS * 2];
    rt_q8_quantize_n(X, NS * 4, sx, zx, qx);
    q_linear(W1, b1, 4, 3, qx, sx, zx, sh, zh, zh, qh);
    q_linear(W2, b2, 3, 2, qh, sh, zh, sy, zy, -128, qy);
    float want[NS * 2];
    rt_q8_dequantize_n(qy, NS * 2, sy, zy, want);

    /* The checkpoint: 3 int8 buffers' parameters, 3 tensors per Linear. */
    rt_st_file *f = rt_st_load(path, err, sizeof err);
    ck_assert_msg(f != NULL, "%s", err);
    ck_assert_int_eq(rt_st_count(f), 2 * 3 + 2 * 3);
    ck_assert_int_eq(rt_st_find(f, "0.weight")->dtype, RT_ST_I8);
    ck_assert_int_eq(rt_st_find(f, "2.bias")->dtype, RT_ST_I32);
    ck_assert_int_eq(rt_st_find(f, "2.weight_scale")->dtype, RT_ST_F32);
    ck_assert_float_eq(rt_st_find(f, "x.scale")->data[0], sx);
    ck_assert_str_eq(rt_st_meta(f, RT_Q8_META_KEY), RT_Q8_META_VALUE);
    ck_assert_str_eq(rt_st_meta(f, "netc.calibration_samples"), "8");
    rt_st_free(f);

    /* The int8 forward pass, as eval runs it. */
    rt_net *qnet = rt_net_new_inference(p, NS);
    comp_q8_plan *q = comp_q8_lower(p);
    rt_q8_model *m = rt_q8_model_load(p, q, path, err, sizeof err);
    ck_assert_msg(m != NULL, "%s", err);
    ck_assert_int_eq(rt_q8_attach(qnet, m, 1), 0);
    rt_net_set_batch(qnet, NS, 0);
    memcpy(rt_net_buf(qnet, p->input), X, sizeof X);
    rt_net_infer(qnet);
    const float *got = rt_net_buf(qnet, p->output);
    for (int i = 0; i < NS * 2; i++)
        ck_assert_msg(memcmp(&got[i], &want[i], sizeof(float)) == 0, "output %d: %a, by hand %a", i, got[i], want[i]);
    rt_net_free(qnet);
    rt_net_free(net);
    tu_destroy(p);
    tu_rmdtemp(dir);
}
END_TEST

/* rt_q8_model_load on path for p must fail with a message holding what. */
static void refused(const comp_plan *p, const char *path, const char *what)
{
    char err[512] = "";
    comp_q8_plan *q = comp_q8_lower(p);
    ck_assert_ptr_null(rt_q8_model_load(p, q, path, err, sizeof err));
    ck_assert_msg(strstr(err, what) != NULL, "'%s' lacks '%s'", err, what);
}

/* dir/name: the tensors of f but `drop`, and `retype` as I32. */
static void rewrite(const rt_st_file *f, const char *path, const char *drop, const char *retype)
{
    rt_tensor t[64];
    int32_t ints[4] = {0};
    int n = 0;
    for (int i = 0; i < rt_st_count(f); i++) {
        const rt_tensor *s = rt_st_tensor(f, i);
        if (drop && !strcmp(s->name, drop))
            continue;
        t[n] = *s;
        if (retype && !strcmp(s->name, retype)) {
            t[n].dtype = RT_ST_I32;
            t[n].data = NULL;
            t[n].ints = ints;
        }
        n++;
    }
    const char *keys[] = {"netc.model", "netc.spec_hash", RT_Q8_META_KEY};
    const char *vals[] = {rt_st_meta(f, keys[0]), rt_st_meta(f, keys[1]), rt_st_meta(f, keys[2])};
    char err[512];
    ck_assert_msg(rt_st_save(path, t, n, keys, vals, 3, err, sizeof err) == 0, "%s", err);
}

START_TEST(refusals)
{
    char dir[256], path[512], bad[512], err[512];
    tu_mkdtemp(dir, sizeof dir, "q8net");
    snprintf(path, sizeof path, "%s/q.st", dir);
    snprintf(bad, sizeof bad, "%s/bad.st", dir);
    rt_net *net;
    comp_plan *p = quantized(path, &net);
    rt_st_file *f = rt_st_load(path, err, sizeof err);
    ck_assert_msg(f != NULL, "%s", err);
    rewrite(f, bad, "0.bias", NULL);
    refused(p, bad, "no tensor '0.bias'; the int8 checkpoint does not fit");
    rewrite(f, bad, NULL, "x.scale");
    refused(p, bad, "tensor 'x.scale' should be 1 F32 values");
    rt_st_free(f);

    /* The same shapes from another spec text: another hash. */
    comp_plan *other = tu_compile_text(SPEC "# another spec\n");
    refused(other, path, "quantized from another spec than 'tiny'");
    tu_destroy(other);

    /* A float checkpoint is not an int8 one; and float loading refuses
     * the int8 one. */
    ck_assert_int_eq(rt_checkpoint_save(net, bad, err, sizeof err), 0);
    ck_assert(!rt_q8_is_checkpoint(bad));
    ck_assert(rt_q8_is_checkpoint(path));
    refused(p, bad, "not an int8 checkpoint");
    ck_assert_int_eq(rt_checkpoint_load(net, path, 0, err, sizeof err, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "an int8 checkpoint (netc quantize)"));
    rt_net_free(net);
    tu_destroy(p);
    tu_rmdtemp(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("q8_net");
    TCase *tc = tcase_create("q8_net");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, chain);
    tcase_add_test(tc, refusals);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
