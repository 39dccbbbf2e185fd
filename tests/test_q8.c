/* test_q8.c — the int8 arithmetic of runtime/q8_math.c against TFLite's
 * reference formulas.
 *
 * - golden: tests/golden/q8/arith.txt (scripts/gen_golden_q8.py, which
 *   writes TFLite's QuantizeMultiplier, SaturatingRoundingDoublingHighMul,
 *   RoundingDivideByPOT, MultiplyByQuantizedMultiplier, the activation
 *   parameter choice and the per-channel fully connected kernel again in
 *   Python integers) holds cases with their results; every integer must be
 *   equal, every scale bit-equal.
 * - edges: the cases whose answer is known by hand (the one SRDHM
 *   overflow, ties of both signs, a multiplier that rounds up to 2^31, a
 *   shift that underflows), so a wrong golden file cannot hide them.
 * - ops: tests/golden/q8/ops.txt (scripts/gen_golden_q8_ops.py: TFLite's
 *   int8 reference kernels in Python integers, tables from torch's float
 *   activations): convolutions (grouped, depthwise, strided, dilated, 1-d)
 *   through netc quantize's whole chain, max and average pooling, the
 *   activation tables and clamps; every integer must be equal.
 * - roundtrip: the fixed-point multiplier reproduces x * M to within one
 *   unit for random x and M, and requantizing through it matches the real
 *   product rounded. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "compiler/catalog.h"
#include "runtime/q8_kernels.h"
#include "runtime/q8_math.h"

#define GOLDEN "tests/golden/q8/arith.txt"
#define GOLDEN_OPS "tests/golden/q8/ops.txt"

/* The next space-separated field of *s as a long long / double. */
static long long next_int(char **s)
{
    char *end;
    long long v = strtoll(*s, &end, 10);
    ck_assert_msg(end != *s, "bad integer field in " GOLDEN ": %.20s", *s);
    *s = end;
    return v;
}

static double next_real(char **s)
{
    char *end;
    double v = strtod(*s, &end);
    ck_assert_msg(end != *s, "bad real field in " GOLDEN ": %.20s", *s);
    *s = end;
    return v;
}

/* The line of the open file, after its tag (checked), in buf. */
static char *tagged_line(FILE *f, char *buf, size_t size, const char *tag)
{
    ck_assert_ptr_nonnull(fgets(buf, (int)size, f));
    size_t n = strlen(tag);
    ck_assert_msg(strncmp(buf, tag, n) == 0 && buf[n] == ' ', "expected a '%s' line in " GOLDEN, tag);
    return buf + n;
}

/* One fully connected case: netc's whole chain (parameters, weight, bias
 * and multiplier quantization, the kernel) against the golden integers. */
static void check_linear(FILE *f, char *head, char *buf, size_t size)
{
    int rows = (int)next_int(&head), k = (int)next_int(&head), ch = (int)next_int(&head);
    int32_t lo = (int32_t)next_int(&head), hi = (int32_t)next_int(&head);
    float *x = malloc(sizeof(float) * rows * k), *w = malloc(sizeof(float) * ch * k), *b = malloc(sizeof(float) * ch);
    float *sw = malloc(sizeof(float) * ch);
    int8_t *qx = malloc((size_t)rows * k), *qw = malloc((size_t)ch * k), *qy = malloc((size_t)rows * ch);
    int32_t *qb = malloc(sizeof(int32_t) * ch), *mult = malloc(sizeof(int32_t) * ch);
    int *shift = malloc(sizeof(int) * ch);
    char *s = tagged_line(f, buf, size, "x");
    for (int i = 0; i < rows * k; i++)
        x[i] = (float)next_real(&s);
    s = tagged_line(f, buf, size, "w");
    for (int i = 0; i < ch * k; i++)
        w[i] = (float)next_real(&s);
    s = tagged_line(f, buf, size, "b");
    for (int i = 0; i < ch; i++)
        b[i] = (float)next_real(&s);

    float lo_x = x[0], hi_x = x[0];
    for (int i = 0; i < rows * k; i++) {
        lo_x = fminf(lo_x, x[i]);
        hi_x = fmaxf(hi_x, x[i]);
    }
    float sx;
    int32_t zx;
    rt_q8_choose_params(lo_x, hi_x, &sx, &zx);
    s = tagged_line(f, buf, size, "qx");
    ck_assert_float_eq(sx, (float)next_real(&s));
    ck_assert_int_eq(zx, next_int(&s));
    for (int i = 0; i < rows * k; i++) {
        qx[i] = rt_q8_quantize(x[i], sx, zx);
        ck_assert_int_eq(qx[i], next_int(&s));
    }
    rt_q8_quantize_weights(w, ch, (size_t)k, qw, sw);
    s = tagged_line(f, buf, size, "qw");
    for (int i = 0; i < ch * k; i++)
        ck_assert_int_eq(qw[i], next_int(&s));
    s = tagged_line(f, buf, size, "sw");
    for (int c = 0; c < ch; c++)
        ck_assert_float_eq(sw[c], (float)next_real(&s));
    s = tagged_line(f, buf, size, "qb");
    for (int c = 0; c < ch; c++) {
        qb[c] = rt_q8_quantize_bias(b[c], sx, sw[c]);
        ck_assert_int_eq(qb[c], next_int(&s));
    }
    /* The output parameters come from the float result's range (the
     * golden file's, as calibration would measure it). */
    char *m = tagged_line(f, buf, size, "mult");
    char mline[4096];
    snprintf(mline, sizeof mline, "%s", m);
    m = mline;
    s = tagged_line(f, buf, size, "shift");
    char sline[4096];
    snprintf(sline, sizeof sline, "%s", s);
    s = tagged_line(f, buf, size, "sy");
    float sy = (float)next_real(&s);
    int32_t zy = (int32_t)next_int(&s);
    char *sl = sline;
    for (int c = 0; c < ch; c++) {
        rt_q8_quantize_multiplier((double)sx * (double)sw[c] / (double)sy, &mult[c], &shift[c]);
        ck_assert_int_eq(mult[c], next_int(&m));
        ck_assert_int_eq(shift[c], next_int(&sl));
    }
    rt_q8_linear(qx, rows, k, zx, qw, qb, ch, mult, shift, zy, lo, hi, qy);
    s = tagged_line(f, buf, size, "qy");
    for (int i = 0; i < rows * ch; i++)
        ck_assert_msg(qy[i] == next_int(&s), "linear %dx%d->%d: output %d differs", rows, k, ch, i);
    free(x), free(w), free(b), free(sw), free(qx), free(qw), free(qy), free(qb), free(mult), free(shift);
}

/* The next case line of f into buf: its tag NUL-terminated at buf, the
 * rest returned; NULL at the end of the file. */
static char *next_case(FILE *f, char *buf, size_t size)
{
    if (!fgets(buf, (int)size, f))
        return NULL;
    char *s = strchr(buf, ' ');
    ck_assert_ptr_nonnull(s);
    *s++ = 0;
    return s;
}

START_TEST(golden)
{
    FILE *f = fopen(GOLDEN, "r");
    ck_assert_msg(f != NULL, "cannot read " GOLDEN);
    static char buf[1 << 16];
    int counts[6] = {0};
    for (char *s; (s = next_case(f, buf, sizeof buf));) {
        if (!strcmp(buf, "qm")) {
            double r = next_real(&s);
            int32_t m;
            int sh;
            rt_q8_quantize_multiplier(r, &m, &sh);
            long long em = next_int(&s), es = next_int(&s);
            ck_assert_msg(m == em && sh == es, "QuantizeMultiplier(%a) = (%d, %d), expected (%lld, %lld)", r, m, sh,
                          em, es);
            counts[0]++;
        } else if (!strcmp(buf, "srdhm")) {
            int32_t a = (int32_t)next_int(&s), b = (int32_t)next_int(&s);
            ck_assert_int_eq(rt_q8_srdhm(a, b), next_int(&s));
            counts[1]++;
        } else if (!strcmp(buf, "rdbpot")) {
            int32_t x = (int32_t)next_int(&s);
            int e = (int)next_int(&s);
            ck_assert_int_eq(rt_q8_rounding_divide_by_pot(x, e), next_int(&s));
            counts[2]++;
        } else if (!strcmp(buf, "mbqm")) {
            int32_t x = (int32_t)next_int(&s), m = (int32_t)next_int(&s);
            int sh = (int)next_int(&s);
            ck_assert_int_eq(rt_q8_mul_by_quantized_multiplier(x, m, sh), next_int(&s));
            counts[3]++;
        } else if (!strcmp(buf, "params")) {
            float lo = (float)next_real(&s), hi = (float)next_real(&s), sc;
            int32_t zp;
            rt_q8_choose_params(lo, hi, &sc, &zp);
            ck_assert_float_eq(sc, (float)next_real(&s));
            ck_assert_int_eq(zp, next_int(&s));
            counts[4]++;
        } else if (!strcmp(buf, "linear")) {
            check_linear(f, s, buf, sizeof buf);
            counts[5]++;
        } else {
            ck_abort_msg("unknown line '%s' in " GOLDEN, buf);
        }
    }
    fclose(f);
    for (int i = 0; i < 6; i++)
        ck_assert_msg(counts[i] > 0, "kind %d of case missing from " GOLDEN, i);
}
END_TEST

/* The activation called name (acts.def's names are the first layer names). */
static comp_act act_named(const char *name)
{
    for (int a = 0; a < COMP_ACT_COUNT; a++)
        if (strcmp(comp_layers[a].name, name) == 0)
            return (comp_act)a;
    ck_abort_msg("no activation '%s'", name);
    return COMP_ACT_IDENTITY;
}

/* The next field of *s as a word (an activation name), in out. */
static void next_word(char **s, char *out, size_t size)
{
    int n = 0;
    ck_assert_int_eq(sscanf(*s, " %31s%n", out, &n), 1);
    ck_assert(strlen(out) < size);
    *s += n;
}

static int8_t *read_q(FILE *f, char *buf, size_t size, const char *tag, size_t n)
{
    int8_t *q = malloc(n);
    char *s = tagged_line(f, buf, size, tag);
    for (size_t i = 0; i < n; i++)
        q[i] = (int8_t)next_int(&s);
    return q;
}

static float *read_f(FILE *f, char *buf, size_t size, const char *tag, size_t n)
{
    float *x = malloc(n * sizeof *x);
    char *s = tagged_line(f, buf, size, tag);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)next_real(&s);
    return x;
}

/* One convolution: floats to int8 as netc quantize takes them (input
 * parameters from its range, per-channel weights, biases, multipliers,
 * the clamp of the output's parameters), then the kernel. */
static void check_conv(FILE *f, char *s, char *buf, size_t size)
{
    int v[14];
    for (int i = 0; i < 14; i++)
        v[i] = (int)next_int(&s);
    char act[32];
    next_word(&s, act, sizeof act);
    const float a = (float)next_real(&s), b = (float)next_real(&s);
    const int n = v[0];
    comp_geom g = {.c_in = v[1], .h_in = v[2], .w_in = v[3], .c_out = v[4], .kh = v[5], .kw = v[6], .sh = v[7],
                   .sw = v[8], .ph = v[9], .pw = v[10], .ph_end = v[9], .pw_end = v[10], .dh = v[11], .dw = v[12],
                   .groups = v[13]};
    g.h_out = (g.h_in + 2 * g.ph - g.dh * (g.kh - 1) - 1) / g.sh + 1;
    g.w_out = (g.w_in + 2 * g.pw - g.dw * (g.kw - 1) - 1) / g.sw + 1;
    const size_t nx = (size_t)n * g.c_in * g.h_in * g.w_in, per = (size_t)(g.c_in / g.groups) * g.kh * g.kw;
    const size_t ny = (size_t)n * g.c_out * g.h_out * g.w_out;
    float *x = read_f(f, buf, size, "x", nx), *w = read_f(f, buf, size, "w", g.c_out * per);
    float *bias = read_f(f, buf, size, "b", (size_t)g.c_out);
    s = tagged_line(f, buf, size, "sy");
    const float sy = (float)next_real(&s);
    const int32_t zy = (int32_t)next_int(&s);
    float lo_x = x[0], hi_x = x[0], sx, *sw = malloc(sizeof(float) * g.c_out);
    for (size_t i = 0; i < nx; i++) {
        lo_x = fminf(lo_x, x[i]);
        hi_x = fmaxf(hi_x, x[i]);
    }
    int32_t zx, lo, hi, *qb = malloc(sizeof(int32_t) * g.c_out), *mult = malloc(sizeof(int32_t) * g.c_out);
    int *shift = malloc(sizeof(int) * g.c_out);
    int8_t *qx = malloc(nx), *qw = malloc(g.c_out * per), *qy = malloc(ny);
    rt_q8_choose_params(lo_x, hi_x, &sx, &zx);
    rt_q8_quantize_n(x, nx, sx, zx, qx);
    rt_q8_quantize_weights(w, g.c_out, per, qw, sw);
    for (int c = 0; c < g.c_out; c++) {
        qb[c] = rt_q8_quantize_bias(bias[c], sx, sw[c]);
        rt_q8_quantize_multiplier((double)sx * (double)sw[c] / (double)sy, &mult[c], &shift[c]);
    }
    ck_assert_int_eq(rt_q8_clamp_range(act_named(act), a, b, sy, zy, &lo, &hi), 0);
    rt_q8_conv(&g, qx, n, zx, qw, qb, mult, shift, zy, lo, hi, qy);
    int8_t *want = read_q(f, buf, size, "qy", ny);
    for (size_t i = 0; i < ny; i++)
        ck_assert_msg(qy[i] == want[i], "conv %dx%dx%d->%d (%s): output %zu is %d, expected %d", g.c_in, g.h_in,
                      g.w_in, g.c_out, act, i, qy[i], want[i]);
    free(x), free(w), free(bias), free(sw), free(qb), free(mult), free(shift), free(qx), free(qw), free(qy), free(want);
}

/* One max or average pooling case: int8 in, int8 out. */
static void check_pool(FILE *f, char *s, char *buf, size_t size, int avg)
{
    int v[13];
    for (int i = 0; i < (avg ? 13 : 12); i++)
        v[i] = (int)next_int(&s);
    comp_geom g = {.c_in = v[1], .h_in = v[2], .w_in = v[3], .c_out = v[1], .kh = v[4], .kw = v[5], .sh = v[6],
                   .sw = v[7], .ph = v[8], .pw = v[9], .ph_end = v[8], .pw_end = v[9], .dh = 1, .dw = 1, .groups = 1};
    if (avg) {
        g.flags = v[10] ? COMP_GEOM_COUNT_INCLUDE_PAD : 0;
        g.divisor = v[11];
    } else {
        g.dh = v[10];
        g.dw = v[11];
    }
    g.h_out = (g.h_in + 2 * g.ph - g.dh * (g.kh - 1) - 1) / g.sh + 1;
    g.w_out = (g.w_in + 2 * g.pw - g.dw * (g.kw - 1) - 1) / g.sw + 1;
    const size_t nx = (size_t)v[0] * g.c_in * g.h_in * g.w_in, ny = (size_t)v[0] * g.c_out * g.h_out * g.w_out;
    int8_t *qx = read_q(f, buf, size, "qx", nx), *want = read_q(f, buf, size, "qy", ny), *qy = malloc(ny);
    if (avg)
        rt_q8_avgpool(&g, qx, v[12], qy, v[0]);
    else
        rt_q8_maxpool(&g, qx, qy, v[0]);
    for (size_t i = 0; i < ny; i++)
        ck_assert_msg(qy[i] == want[i], "%s %dx%d k%dx%d: output %zu is %d, expected %d", avg ? "avgpool" : "maxpool",
                      g.h_in, g.w_in, g.kh, g.kw, i, qy[i], want[i]);
    free(qx), free(want), free(qy);
}

START_TEST(ops)
{
    FILE *f = fopen(GOLDEN_OPS, "r");
    ck_assert_msg(f != NULL, "cannot read " GOLDEN_OPS);
    static char buf[1 << 17];
    int counts[5] = {0};
    for (char *s; (s = next_case(f, buf, sizeof buf));) {
        if (!strcmp(buf, "conv")) {
            check_conv(f, s, buf, sizeof buf);
            counts[0]++;
        } else if (!strcmp(buf, "maxpool") || !strcmp(buf, "avgpool")) {
            const int avg = buf[0] == 'a';
            check_pool(f, s, buf, sizeof buf, avg);
            counts[1 + avg]++;
        } else if (!strcmp(buf, "lut")) {
            char name[32];
            next_word(&s, name, sizeof name);
            const float a = (float)next_real(&s), b = (float)next_real(&s), s_in = (float)next_real(&s);
            const int32_t zp_in = (int32_t)next_int(&s);
            const float s_out = (float)next_real(&s);
            const int32_t zp_out = (int32_t)next_int(&s);
            int8_t t[256];
            rt_q8_lut_build(act_named(name), a, b, s_in, zp_in, s_out, zp_out, t);
            int8_t *want = read_q(f, buf, sizeof buf, "t", 256);
            for (int i = 0; i < 256; i++)
                ck_assert_msg(t[i] == want[i], "%s table entry %d is %d, expected %d", name, i - 128, t[i], want[i]);
            free(want);
            counts[3]++;
        } else if (!strcmp(buf, "clamp")) {
            char name[32];
            next_word(&s, name, sizeof name);
            const float a = (float)next_real(&s), b = (float)next_real(&s), sc = (float)next_real(&s);
            const int32_t zp = (int32_t)next_int(&s);
            int32_t lo, hi;
            ck_assert_int_eq(rt_q8_clamp_range(act_named(name), a, b, sc, zp, &lo, &hi), 0);
            ck_assert_int_eq(lo, next_int(&s));
            ck_assert_int_eq(hi, next_int(&s));
            counts[4]++;
        } else {
            ck_abort_msg("unknown line '%s' in " GOLDEN_OPS, buf);
        }
    }
    fclose(f);
    for (int i = 0; i < 5; i++)
        ck_assert_msg(counts[i] > 0, "kind %d of case missing from " GOLDEN_OPS, i);
    /* An activation that is not a clamp has no clamp range. */
    int32_t lo, hi;
    ck_assert_int_eq(rt_q8_clamp_range(COMP_ACT_SIGMOID, 0, 0, 0.1f, 0, &lo, &hi), -1);
}
END_TEST

START_TEST(edges)
{
    int32_t m;
    int sh;
    rt_q8_quantize_multiplier(0.0, &m, &sh);
    ck_assert(m == 0 && sh == 0);
    rt_q8_quantize_multiplier(0.5, &m, &sh);
    ck_assert(m == (1 << 30) && sh == 0);
    rt_q8_quantize_multiplier(1.0, &m, &sh);
    ck_assert(m == (1 << 30) && sh == 1);
    /* 1 - 2^-33 is 0.99999999988 * 2^0: its 31-bit mantissa rounds up to
     * 2^31 and is renormalised to 2^30 with the shift one higher. */
    rt_q8_quantize_multiplier(1.0 - ldexp(1.0, -33), &m, &sh);
    ck_assert(m == (1 << 30) && sh == 1);
    /* 2^-32 = 0.5 * 2^-31 still fits; 2^-33 would need shift -32: zero. */
    rt_q8_quantize_multiplier(ldexp(1.0, -32), &m, &sh);
    ck_assert(m == (1 << 30) && sh == -31);
    rt_q8_quantize_multiplier(ldexp(1.0, -33), &m, &sh);
    ck_assert(m == 0 && sh == 0);

    ck_assert_int_eq(rt_q8_srdhm(INT32_MIN, INT32_MIN), INT32_MAX);
    ck_assert_int_eq(rt_q8_srdhm(INT32_MIN, INT32_MAX), -INT32_MAX);
    /* 2 * 1 * 2^30 / 2^32 = 0.5: gemmlowp's nudge rounds ties up, so
     * 0.5 -> 1 but -0.5 -> 0 (and -1.5 -> -1). */
    ck_assert_int_eq(rt_q8_srdhm(1, 1 << 30), 1);
    ck_assert_int_eq(rt_q8_srdhm(-1, 1 << 30), 0);
    ck_assert_int_eq(rt_q8_srdhm(-3, 1 << 30), -1);
    ck_assert_int_eq(rt_q8_srdhm(1 << 20, 1 << 30), 1 << 19);

    ck_assert_int_eq(rt_q8_rounding_divide_by_pot(5, 1), 3);   /* 2.5 -> 3 */
    ck_assert_int_eq(rt_q8_rounding_divide_by_pot(-5, 1), -3); /* -2.5 -> -3 */
    ck_assert_int_eq(rt_q8_rounding_divide_by_pot(-6, 2), -2); /* -1.5 -> -2 */
    ck_assert_int_eq(rt_q8_rounding_divide_by_pot(-5, 2), -1); /* -1.25 -> -1 */
    ck_assert_int_eq(rt_q8_rounding_divide_by_pot(7, 0), 7);
    ck_assert_int_eq(rt_q8_rounding_divide_by_pot(INT32_MIN, 31), -1);

    /* Quantize: halves away from zero, clamped; weights symmetric. */
    ck_assert_int_eq(rt_q8_quantize(0.5f, 1.0f, 0), 1);
    ck_assert_int_eq(rt_q8_quantize(-0.5f, 1.0f, 0), -1);
    ck_assert_int_eq(rt_q8_quantize(1000.0f, 1.0f, 0), 127);
    ck_assert_int_eq(rt_q8_quantize(-1000.0f, 1.0f, 10), -128);
    float w[6] = {-2.54f, 1.27f, 0.0f, 0, 0, 0}, s[2];
    int8_t q[6];
    rt_q8_quantize_weights(w, 2, 3, q, s);
    ck_assert_int_eq(q[0], -127);
    ck_assert_int_eq(q[1], 64); /* 1.27 / 0.02 = 63.5 (in float a little more or less) */
    ck_assert_float_eq(s[1], 1.0f);
    ck_assert(q[3] == 0 && q[4] == 0 && q[5] == 0);

    /* A range that excludes 0 is widened to hold it; 0 is exact. */
    float sc;
    int32_t zp;
    rt_q8_choose_params(0.0f, 6.0f, &sc, &zp);
    ck_assert_int_eq(zp, -128);
    ck_assert_int_eq(rt_q8_quantize(0.0f, sc, zp), -128);
    rt_q8_choose_params(-3.0f, -1.0f, &sc, &zp);
    ck_assert_int_eq(zp, 127);
    rt_q8_choose_params(0.0f, 0.0f, &sc, &zp);
    ck_assert(sc == 1.0f && zp == 0);
    /* [-99.17, 0.195]: the zero point comes from the double scale, as
     * TFLite's does: 126.49999477 rounds to 126 (from either end), where
     * dividing by the scale rounded to float gives 126.50000149, 127. */
    rt_q8_choose_params(-0x1.8cb18ep+6f, 0x1.8f092cp-3f, &sc, &zp);
    ck_assert_int_eq(zp, 126);
}
END_TEST

START_TEST(roundtrip)
{
    /* x * M through the fixed-point form is the real product to within
     * one unit (the multiplier has 31 significant bits, the two roundings
     * half a unit each). */
    uint64_t st = 12345;
    for (int i = 0; i < 20000; i++) {
        st = st * 6364136223846793005ULL + 1442695040888963407ULL;
        double mreal = exp(-20.0 + 22.0 * (double)(st >> 11) / 9007199254740992.0);
        st = st * 6364136223846793005ULL + 1442695040888963407ULL;
        int32_t x = (int32_t)((st >> 40) & 0xffffff) - (1 << 23);
        int32_t m;
        int sh;
        rt_q8_quantize_multiplier(mreal, &m, &sh);
        double exact = (double)x * mreal;
        if (fabs(exact) > 2e9)
            continue;
        double got = rt_q8_mul_by_quantized_multiplier(x, m, sh);
        ck_assert_msg(fabs(got - exact) <= 1.0, "x=%d M=%a: %g, exact %g", x, mreal, got, exact);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("q8");
    TCase *tc = tcase_create("q8");
    tcase_add_test(tc, golden);
    tcase_add_test(tc, ops);
    tcase_add_test(tc, edges);
    tcase_add_test(tc, roundtrip);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
