/* erfinv.c — the inverse error function, which C's libm lacks and
 * trunc_normal's inverse-CDF method needs. */
#include <math.h>

#include "init_math.h"

/* Giles's single-precision approximation ("Approximating the erfinv
 * function", GPU Computing Gems, 2010): a start within about 1e-7. */
static double erfinv_guess(double x)
{
    double w = -log((1.0 - x) * (1.0 + x)), p;
    if (w < 5.0) {
        w -= 2.5;
        p = 2.81022636e-08;
        p = 3.43273939e-07 + p * w;
        p = -3.5233877e-06 + p * w;
        p = -4.39150654e-06 + p * w;
        p = 0.00021858087 + p * w;
        p = -0.00125372503 + p * w;
        p = -0.00417768164 + p * w;
        p = 0.246640727 + p * w;
        p = 1.50140941 + p * w;
    } else {
        w = sqrt(w) - 3.0;
        p = -0.000200214257;
        p = 0.000100950558 + p * w;
        p = 0.00134934322 + p * w;
        p = -0.00367342844 + p * w;
        p = 0.00573950773 + p * w;
        p = -0.0076224613 + p * w;
        p = 0.00943887047 + p * w;
        p = 1.00167406 + p * w;
        p = 2.83297682 + p * w;
    }
    return p * x;
}

/* Odd, so only x in [0, 1) is computed.  Two Halley steps on
 * f(y) = erf(y) - x take the guess to double precision.  The residual is
 * written (1 - x) - erfc(y): 1 - x is exact for x >= 1/2 and erfc keeps
 * its relative accuracy in the tail, where erf(y) - x would cancel. */
double rt_erfinv(double x)
{
    if (isnan(x) || x < -1.0 || x > 1.0)
        return NAN;
    if (x == 1.0 || x == -1.0)
        return copysign(INFINITY, x);
    double ax = fabs(x), y = erfinv_guess(ax);
    for (int i = 0; i < 2; i++) {
        double f = ax < 0.5 ? erf(y) - ax : (1.0 - ax) - erfc(y);
        double u = f / (1.1283791670955126 * exp(-y * y)); /* f / f'(y), f' = 2/sqrt(pi) e^(-y^2) */
        y -= u / (1.0 + y * u);                              /* Halley: f''/f' = -2y */
    }
    return copysign(y, x);
}
