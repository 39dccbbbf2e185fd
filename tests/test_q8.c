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
#include "runtime/q8_math.h"

#define GOLDEN "tests/golden/q8/arith.txt"

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

START_TEST(golden)
{
    FILE *f = fopen(GOLDEN, "r");
    ck_assert_msg(f != NULL, "cannot read " GOLDEN);
    static char buf[1 << 16];
    int counts[6] = {0};
    while (fgets(buf, sizeof buf, f)) {
        char *s = strchr(buf, ' ');
        ck_assert_ptr_nonnull(s);
        *s++ = 0;
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
    tcase_add_test(tc, edges);
    tcase_add_test(tc, roundtrip);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
