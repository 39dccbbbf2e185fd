/* fdcheck.h — finite-difference gradient checks shared by the unit tests
 * (header-only): the difference quotient and its tolerance, exactly
 * representable test values, activation defaults, and a probe that keeps
 * test points away from an activation's breakpoints. */
#ifndef NETC_TESTS_FDCHECK_H
#define NETC_TESTS_FDCHECK_H

#include <check.h>
#include <float.h>
#include <math.h>
#include <stdint.h>

#include "compiler/catalog.h"
#include "runtime/kernels.h"

#define EPS ((double)FLT_EPSILON)

/* Test values are multiples of 2^-10 so that x +- k h (h a power of two)
 * is exact in float and the difference quotient divides by the true step. */
static inline float quant(double v)
{
    return (float)(round(v * 1024.0) / 1024.0);
}

static inline void fill_uniform(float *p, size_t n, uint64_t *rng, double lo, double hi)
{
    for (size_t i = 0; i < n; i++)
        p[i] = quant(lo + (hi - lo) * rt_rng_uniform(rng));
}

/* The activation's arguments a, b at their catalog defaults (activations
 * come first in comp_layers, in comp_act order); a string argument is the
 * index of its default choice, as the compiler passes it.  A required
 * argument (Threshold's) has no default and gives 0. */
static inline void act_args(comp_act act, float *a, float *b)
{
    const comp_entry *e = &comp_layers[act];
    int slots[2];
    float v[2] = {0.0f, 0.0f};
    int n = comp_act_float_args(act, slots);
    for (int i = 0; i < n; i++) {
        const comp_arg_spec *s = &e->args[slots[i]];
        v[i] = s->type == COMP_T_STR ? (float)comp_choice_index(s->choices, s->sdef) : (float)s->def[0];
    }
    *a = v[0];
    *b = v[1];
}

/* ------------------------------------------------ finite differences
 *
 * A loss function returns L (accumulated in double from float kernel
 * outputs) and sets *mag to a bound M on the magnitude of what was
 * rounded on the way (sum of |terms|), so the float rounding noise in L is
 * at most K eps M for a small number K of roundings per term.
 *
 * The derivative estimate is the 4th-order central difference
 *   D(h) = (f(-2h) - 8 f(-h) + 8 f(h) - f(2h)) / 12h,   h = 2^-4,
 * whose truncation error is h^4/30 |f^(5)| ~ 5e-7 |f^(5)|, and whose
 * rounding noise is (1 + 8 + 8 + 1) / 12h = 1.5/h times the noise in f.
 * A second-order difference would need h ~ 1e-2 and then amplify float
 * noise 100x; the 4th-order rule lets h be large enough that float32
 * rounding (eps = 1.2e-7) stays near 1e-5 while truncation stays below it.
 *
 * A kink within 2h of the point (ReLU at 0, any breakpoint a future
 * activation adds) makes D(h) and D(h/2) disagree by O(slope change); such
 * points are skipped and counted (callers bound the skipped fraction).
 * Smooth points must agree with the analytic gradient g within
 *   tol = 4.5 K eps M / h  (noise of D(h) and D(h/2): 1.5/h + 3/h)
 *       + 2e-5 (1 + |g|)   (truncation for |f^(5)| <~ 20, analytic rounding).
 * A wrong derivative formula is off by O(|g|), far beyond tol. */

typedef double (*loss_fn)(void *ctx, double *mag);

static const float FD_H = 0.0625f;

static inline double fd4(loss_fn fn, void *ctx, float *p, float h, double *mag)
{
    const float p0 = *p;
    const float off[4] = {-2.0f * h, -h, h, 2.0f * h};
    double f[4];
    *mag = 0.0;
    for (int k = 0; k < 4; k++) {
        double m;
        *p = p0 + off[k];
        f[k] = fn(ctx, &m);
        if (m > *mag)
            *mag = m;
    }
    *p = p0;
    return (f[0] - 8.0 * f[1] + 8.0 * f[2] - f[3]) / (12.0 * (double)h);
}

typedef struct {
    int checked, skipped;
} fd_stats;

/* Checks g against the difference quotient of fn in *p; K is the number
 * of float roundings per term (see above). */
static inline void fd_check(loss_fn fn, void *ctx, float *p, double g, double K, fd_stats *st,
                     const char *what, int idx)
{
    double m1, m2;
    const double d1 = fd4(fn, ctx, p, FD_H, &m1);
    const double d2 = fd4(fn, ctx, p, FD_H / 2.0f, &m2);
    const double mag = m1 > m2 ? m1 : m2;
    const double tol = 4.5 * K * EPS * mag / (double)FD_H + 2e-5 * (1.0 + fabs(g));
    if (fabs(d1 - d2) > tol) {
        st->skipped++;
        return;
    }
    st->checked++;
    ck_assert_msg(fabs(g - d1) <= tol, "%s[%d]: analytic %.9g, finite difference %.9g (tol %.3g)",
                  what, idx, g, d1, tol);
}

static inline void fd_require_coverage(const fd_stats *st, const char *what)
{
    ck_assert_msg(st->checked > 0 && st->skipped * 4 <= st->checked + st->skipped,
                  "%s: %d points checked, %d skipped as non-smooth", what, st->checked,
                  st->skipped);
}
/* Whether act (with arguments a, b) is smooth enough on [z - r, z + r]
 * for the difference quotients above, which assume a few continuous
 * derivatives across the whole stencil.  The kernels are probed at 33
 * evenly spaced points, s apart: between neighbours the derivative may
 * change by at most 10 s and its second difference by at most 10 s^2
 * (smooth activations have second and third derivatives of a few units
 * at most), and the values must follow the trapezoid rule of the
 * derivative to 10 s^2.  A jump (Hardshrink, Threshold), a kink (ReLU,
 * Hardtanh, SELU) or a jump of the second derivative (ELU, Softsign at 0)
 * anywhere in the interval breaks one of these by a factor of 1/s or
 * more, so it is found without knowing where an activation puts its
 * breakpoints. */
static inline int fd_act_smooth(comp_act act, float a, float b, double z, double r)
{
    enum { P = 33 };
    float u[P], y[P], one[P], d[P];
    const double s = 2.0 * r / (P - 1);
    for (int i = 0; i < P; i++) {
        u[i] = (float)(z - r + s * i);
        one[i] = 1.0f;
    }
    rt_act_forward(act, a, b, u, y, P);
    rt_act_backward(act, a, b, u, y, one, d, P);
    for (int i = 0; i < P; i++)
        if (!isfinite(y[i]) || !isfinite(d[i]))
            return 0;
    for (int i = 0; i + 1 < P; i++) {
        const double h = (double)u[i + 1] - u[i];
        if (fabs((double)d[i + 1] - d[i]) > 10.0 * s)
            return 0;
        if (i > 0 && fabs((double)d[i + 1] - 2.0 * d[i] + d[i - 1]) > 10.0 * s * s)
            return 0;
        const double trap = (double)y[i + 1] - y[i] - h * 0.5 * ((double)d[i] + d[i + 1]);
        if (fabs(trap) > 10.0 * s * s + 4.0 * EPS * (fabs((double)y[i]) + fabs((double)y[i + 1])))
            return 0;
    }
    return 1;
}

#endif
