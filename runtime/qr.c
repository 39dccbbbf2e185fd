/* qr.c — a small Householder QR in double for the orthogonal init.  It
 * runs once per weight at start-up, so clarity wins over blocking; no
 * LAPACK is needed. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "init_math.h"

/* Column j of the column-major m-row matrix a. */
#define COL(a, m, j) ((a) + (size_t)(j) * (size_t)(m))

/* y[0..len) -= beta (v . y) v: one reflection H = I - beta v v^T. */
static void reflect(const double *v, double beta, double *y, int len)
{
    double dot = 0;
    for (int i = 0; i < len; i++)
        dot += v[i] * y[i];
    dot *= beta;
    for (int i = 0; i < len; i++)
        y[i] -= dot * v[i];
}

int rt_qr_signed_q(double *a, int m, int n)
{
    /* v: the reflectors, v_k in rows k..m-1 of column k; beta and R's
     * diagonal per column. */
    double *v = malloc((size_t)m * (size_t)n * sizeof *v);
    double *beta = malloc((size_t)n * sizeof *beta), *rdiag = malloc((size_t)n * sizeof *rdiag);
    if (!v || !beta || !rdiag) {
        free(v);
        free(beta);
        free(rdiag);
        return -1;
    }
    for (int k = 0; k < n; k++) {
        double *x = COL(a, m, k) + k, *vk = COL(v, m, k) + k;
        int len = m - k;
        double norm2 = 0;
        for (int i = 0; i < len; i++)
            norm2 += x[i] * x[i];
        if (norm2 == 0) { /* nothing to reflect: H = I and R_kk = 0, as LAPACK's tau = 0 */
            beta[k] = 0;
            rdiag[k] = 0;
            memset(vk, 0, (size_t)len * sizeof *vk);
            continue;
        }
        /* H x = s e1 with s = -sign(x0) |x|, so that v0 = x0 - s adds
         * magnitudes and nothing cancels. */
        double s = x[0] >= 0 ? -sqrt(norm2) : sqrt(norm2);
        memcpy(vk, x, (size_t)len * sizeof *vk);
        vk[0] -= s;
        double vnorm2 = norm2 - x[0] * x[0] + vk[0] * vk[0];
        beta[k] = 2.0 / vnorm2;
        rdiag[k] = s;
        for (int j = k + 1; j < n; j++)
            reflect(vk, beta[k], COL(a, m, j) + k, len);
    }
    /* Q = H_0 H_1 ... H_{n-1} times the first n columns of I: apply the
     * reflectors to those columns, last one first. */
    memset(a, 0, (size_t)m * (size_t)n * sizeof *a);
    for (int j = 0; j < n; j++)
        COL(a, m, j)[j] = 1.0;
    for (int k = n - 1; k >= 0; k--)
        for (int j = k; j < n; j++) /* H_k leaves rows < k alone, and columns j < k are still e_j there */
            reflect(COL(v, m, k) + k, beta[k], COL(a, m, j) + k, m - k);
    for (int j = 0; j < n; j++) {
        double sign = (rdiag[j] > 0) - (rdiag[j] < 0);
        for (int i = 0; i < m; i++)
            COL(a, m, j)[i] *= sign;
    }
    free(v);
    free(beta);
    free(rdiag);
    return 0;
}
