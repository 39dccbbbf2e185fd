/* output_layer.c — does a hand-written kernel beat OpenBLAS on the MLP's
 * 10-wide output layer?
 *
 * Times, on one thread, the three products of Linear(256, 10) in one
 * training step at batch 100, the shapes runtime/linear.c hands to
 * cblas_sgemm:
 *   forward  y (100 x 10)  = x (100 x 256) W^T      (W is 10 x 256)
 *   dW       (10 x 256)    = dz^T (10 x 100) x
 *   dx       (100 x 256)   = dz (100 x 10) W
 * once through cblas_sgemm and once through AVX-512 kernels written for
 * these shapes (a register block per output row; they are the candidates,
 * not netc's code).  Prints the median of ROUNDS rounds of CALLS calls of
 * each, in microseconds.  A design measurement for docs/performance.md, not
 * part of `make bench`:
 *
 *   cc -O3 -march=native -o output_layer bench/output_layer.c -lopenblas
 *   OPENBLAS_CORETYPE=SkylakeX OPENBLAS_NUM_THREADS=1 ./output_layer
 */
#define _POSIX_C_SOURCE 200809L
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#ifndef __AVX512F__
int main(void)
{
    fputs("output_layer: needs a compiler and CPU with AVX-512 (-march=native on one)\n", stderr);
    return 1;
}
#else
#include <immintrin.h>

enum { ROWS = 100, IN = 256, OUT = 10, ROUNDS = 11, CALLS = 20000 };

static float x[ROWS * IN] __attribute__((aligned(64))), W[OUT * IN] __attribute__((aligned(64)));
static float dz[ROWS * OUT], y[ROWS * OUT];
static float dW[OUT * IN] __attribute__((aligned(64))), dx[ROWS * IN] __attribute__((aligned(64)));

/* Each row of x against the 10 rows of W: ten vector sums, then reduced. */
static void hand_forward(void)
{
    for (int r = 0; r < ROWS; r++) {
        __m512 acc[OUT];
        for (int j = 0; j < OUT; j++)
            acc[j] = _mm512_setzero_ps();
        for (int i = 0; i < IN; i += 16) {
            const __m512 xv = _mm512_load_ps(x + r * IN + i);
            for (int j = 0; j < OUT; j++)
                acc[j] = _mm512_fmadd_ps(xv, _mm512_load_ps(W + j * IN + i), acc[j]);
        }
        for (int j = 0; j < OUT; j++)
            y[r * OUT + j] = _mm512_reduce_add_ps(acc[j]);
    }
}

/* out row a (IN floats, in 16 registers) = sum over b < nsum of
 * s[a * s_a + b * s_b] * src row b: dW and dx are this product with the
 * roles of dz's rows and columns swapped. */
static inline void scaled_row_sums(float *out, int nout, int nsum, const float *s, int s_a, int s_b,
                                   const float *src)
{
    for (int a = 0; a < nout; a++) {
        __m512 c[IN / 16];
        for (int q = 0; q < IN / 16; q++)
            c[q] = _mm512_setzero_ps();
        for (int b = 0; b < nsum; b++) {
            const __m512 sv = _mm512_set1_ps(s[a * s_a + b * s_b]);
            for (int q = 0; q < IN / 16; q++)
                c[q] = _mm512_fmadd_ps(sv, _mm512_load_ps(src + b * IN + 16 * q), c[q]);
        }
        for (int q = 0; q < IN / 16; q++)
            _mm512_store_ps(out + a * IN + 16 * q, c[q]);
    }
}

/* Row j of dW, summed over the 100 rows of x. */
static void hand_dW(void)
{
    scaled_row_sums(dW, OUT, ROWS, dz, 1, OUT, x);
}

/* Row r of dx, summed over the 10 rows of W. */
static void hand_dx(void)
{
    scaled_row_sums(dx, ROWS, OUT, dz, OUT, 1, W);
}

static void blas_forward(void)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, ROWS, OUT, IN, 1, x, IN, W, IN, 0, y, OUT);
}
static void blas_dW(void)
{
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OUT, IN, ROWS, 1, dz, OUT, x, IN, 0, dW, IN);
}
static void blas_dx(void)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, ROWS, IN, OUT, 1, dz, OUT, W, IN, 0, dx, IN);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Median over ROUNDS of the time per call, microseconds. */
static double time_us(void (*fn)(void))
{
    double us[ROUNDS];
    for (int i = 0; i < CALLS; i++)
        fn();
    for (int r = 0; r < ROUNDS; r++) {
        double t = now();
        for (int i = 0; i < CALLS; i++)
            fn();
        us[r] = (now() - t) * 1e6 / CALLS;
    }
    for (int i = 1; i < ROUNDS; i++)
        for (int j = i; j > 0 && us[j] < us[j - 1]; j--) {
            double t = us[j];
            us[j] = us[j - 1];
            us[j - 1] = t;
        }
    return us[ROUNDS / 2];
}

int main(void)
{
    srand(1);
    for (int i = 0; i < ROWS * IN; i++)
        x[i] = (float)rand() / (float)RAND_MAX;
    for (int i = 0; i < OUT * IN; i++)
        W[i] = (float)rand() / (float)RAND_MAX - 0.5f;
    for (int i = 0; i < ROWS * OUT; i++)
        dz[i] = (float)rand() / (float)RAND_MAX - 0.5f;
    static const struct {
        const char *name;
        void (*blas)(void), (*hand)(void);
    } products[] = {{"forward", blas_forward, hand_forward}, {"dW", blas_dW, hand_dW}, {"dx", blas_dx, hand_dx}};
    double sum_blas = 0, sum_hand = 0;
    printf("%-8s %10s %10s\n", "product", "sgemm_us", "avx512_us");
    for (int k = 0; k < 3; k++) {
        double b = time_us(products[k].blas), h = time_us(products[k].hand);
        printf("%-8s %10.2f %10.2f\n", products[k].name, b, h);
        sum_blas += b;
        sum_hand += h;
    }
    printf("%-8s %10.2f %10.2f\n", "total", sum_blas, sum_hand);
    return 0;
}
#endif
