/* fdcheck.h — finite-difference gradient checks shared by the unit tests
 * (header-only). */
#ifndef NETC_TESTS_FDCHECK_H
#define NETC_TESTS_FDCHECK_H

#include <check.h>
#include <float.h>
#include <math.h>

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
    const double tol = 4.5 * K * (double)FLT_EPSILON * mag / (double)FD_H + 2e-5 * (1.0 + fabs(g));
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

#endif
