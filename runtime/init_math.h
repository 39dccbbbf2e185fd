/* init_math.h — the numerics behind trunc_normal and orthogonal init:
 * the inverse error function and a Householder QR, both in double. */
#ifndef NETC_RUNTIME_INIT_MATH_H
#define NETC_RUNTIME_INIT_MATH_H

/* The inverse of erf on [-1, 1]: erf(rt_erfinv(x)) = x to double
 * precision; ±1 give ±infinity, |x| > 1 and NaN give NaN. */
double rt_erfinv(double x);

/* Overwrite the m x n column-major matrix a (m >= n >= 1) with the Q of
 * its reduced QR factorisation A = QR (Householder reflections, in
 * double), each column k of Q multiplied by sign(R_kk) as
 * torch.nn.init.orthogonal_ does, which makes Q unique (the QR with a
 * positive diagonal of R) and, for a Gaussian A, Haar-distributed.  A
 * zero R_kk zeroes its column, as sign(0) = 0 does in torch.  Returns 0,
 * or -1 when out of memory (a is then unchanged). */
int rt_qr_signed_q(double *a, int m, int n);

#endif
