/* sgemm_shapes.c — single-thread SGEMM speed at the shapes one training
 * step of specs/mnist_mlp_default.net runs (batch 100), for bench/run.sh.
 *
 * Per batch: the forward products x W^T of the three Linear layers, the
 * weight gradients dz^T x of all three, and the input gradients dz W of
 * the second and third (the first layer's input needs none) — the same
 * cblas_sgemm calls, transposes and sizes runtime/linear.c makes.  Prints
 * "sgemm_gflops: G" (2 m n k flops per call, best of 7 rounds) and
 * "flops_per_sample: F", from which run.sh derives the throughput limit. */
#define _POSIX_C_SOURCE 200809L
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { BATCH = 100, ROUNDS = 7, REPS = 20 };
static const int widths[] = {784, 256, 256, 10};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(void)
{
    float *a = calloc(1 << 20, sizeof *a), *b = calloc(1 << 20, sizeof *b), *c = calloc(1 << 20, sizeof *c);
    if (!a || !b || !c)
        return 1;
    for (int i = 0; i < 1 << 20; i++)
        a[i] = b[i] = (float)(i % 17) / 17.0f;
    double flops = 0, best = 1e30;
    for (int r = 0; r < ROUNDS; r++) {
        double t = now();
        flops = 0;
        for (int rep = 0; rep < REPS; rep++)
            for (int l = 0; l < 3; l++) {
                const int in = widths[l], out = widths[l + 1];
                /* forward: y (B x out) = x (B x in) W^T */
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, BATCH, out, in, 1.0f, a, in, b, in, 0.0f, c, out);
                /* weight gradient: dW (out x in) = dz^T (out x B) x (B x in) */
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, BATCH, 1.0f, a, out, b, in, 0.0f, c, in);
                flops += 4.0 * BATCH * in * out;
                if (l > 0) { /* input gradient: dx (B x in) = dz (B x out) W (out x in) */
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, BATCH, in, out, 1.0f, a, out, b, in, 0.0f,
                                c, in);
                    flops += 2.0 * BATCH * in * out;
                }
            }
        t = now() - t;
        if (t < best)
            best = t;
    }
    printf("sgemm_gflops: %.1f\n", flops / best / 1e9);
    printf("flops_per_sample: %.0f\n", flops / REPS / BATCH);
    free(a);
    free(b);
    free(c);
    return 0;
}
