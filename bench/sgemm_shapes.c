/* sgemm_shapes.c — single-thread SGEMM speed at the shapes one training
 * step of a bench model runs, for bench/run.sh.
 *
 * usage: sgemm_shapes [mlp | fashion_cnn]          (default mlp)
 *
 * mlp: specs/mnist_mlp_default.net, batch 100.  Per batch: the forward
 * products x W^T of the three Linear layers, the weight gradients dz^T x
 * of all three, and the input gradients dz W of the second and third (the
 * first layer's input needs none) — the same cblas_sgemm calls, transposes
 * and sizes runtime/linear.c makes.
 *
 * fashion_cnn: specs/fashion_cnn.net, batch 64, each convolution as a GEMM
 * over its unfolded input (im2col, as runtime/conv.c computes it), with
 * N = h_out * w_out * batch and K = c_in * k * k:
 *   forward       Y (c_out x N) = W (c_out x K) cols (K x N)
 *   weight grad   dW (c_out x K) = dY (c_out x N) cols^T
 *   input grad    dcols (K x N) = W^T dY, then folded back (not a GEMM;
 *                 the first conv, on the input, needs none)
 * then the two Linear layers as for the MLP, both with input gradients.
 * Batch norm, pooling, ReLU, dropout and the unfolding itself are not
 * products, so a real step costs more than this: the figure bounds any
 * implementation that runs these products as single calls.  (netc's
 * forward cuts the batch into chunks of samples, so its calls are smaller.)
 *
 * Prints "sgemm_gflops: G" (2 m n k flops per call, best of 7 rounds) and
 * "flops_per_sample: F", from which run.sh derives the throughput limit. */
#define _POSIX_C_SOURCE 200809L
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { ROUNDS = 7 };

/* One product C (m x n) = op(A) op(B), row-major, op(A) m x k. */
typedef struct {
    int ta, tb, m, n, k;
} gemm;

#define MAX_GEMMS 16
static gemm calls[MAX_GEMMS];
static int ncalls;

static void add(int ta, int tb, int m, int n, int k)
{
    calls[ncalls++] = (gemm){ta, tb, m, n, k};
}

/* A Linear(in, out) layer at batch B: forward, weight grad, input grad. */
static void linear(int B, int in, int out, int input_grad)
{
    add(0, 1, B, out, in);   /* y (B x out) = x (B x in) W^T */
    add(1, 0, out, in, B);   /* dW (out x in) = dz^T (out x B) x (B x in) */
    if (input_grad)
        add(0, 0, B, in, out); /* dx (B x in) = dz (B x out) W (out x in) */
}

/* A Conv2d(c_in, c_out, k) producing h_out x w_out at batch B. */
static void conv(int B, int c_in, int c_out, int k, int h_out, int w_out, int input_grad)
{
    const int N = h_out * w_out * B, K = c_in * k * k;
    add(0, 0, c_out, N, K);
    add(0, 1, c_out, K, N);
    if (input_grad)
        add(1, 0, K, N, c_out);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    const char *model = argc > 1 ? argv[1] : "mlp";
    int batch, reps;
    if (strcmp(model, "mlp") == 0) {
        batch = 100, reps = 20;
        linear(batch, 784, 256, 0);
        linear(batch, 256, 256, 1);
        linear(batch, 256, 10, 1);
    } else if (strcmp(model, "fashion_cnn") == 0) {
        batch = 64, reps = 3;
        conv(batch, 1, 32, 3, 28, 28, 0);
        conv(batch, 32, 64, 3, 14, 14, 1);
        linear(batch, 3136, 128, 1);
        linear(batch, 128, 10, 1);
    } else {
        fprintf(stderr, "usage: sgemm_shapes [mlp | fashion_cnn]\n");
        return 2;
    }

    /* Every operand fits in the largest of the products' matrices. */
    size_t big = 0;
    for (int i = 0; i < ncalls; i++) {
        const size_t sz[3] = {(size_t)calls[i].m * calls[i].k, (size_t)calls[i].k * calls[i].n,
                              (size_t)calls[i].m * calls[i].n};
        for (int j = 0; j < 3; j++)
            if (sz[j] > big)
                big = sz[j];
    }
    float *a = malloc(big * sizeof *a), *b = malloc(big * sizeof *b), *c = malloc(big * sizeof *c);
    if (!a || !b || !c)
        return 1;
    for (size_t i = 0; i < big; i++) {
        a[i] = b[i] = (float)(i % 17) / 17.0f;
        c[i] = 0;
    }
    double flops = 0, best = 1e30;
    for (int r = 0; r < ROUNDS; r++) {
        double t = now();
        flops = 0;
        for (int rep = 0; rep < reps; rep++)
            for (int i = 0; i < ncalls; i++) {
                const gemm *g = &calls[i];
                const int lda = g->ta ? g->m : g->k, ldb = g->tb ? g->k : g->n;
                cblas_sgemm(CblasRowMajor, g->ta ? CblasTrans : CblasNoTrans, g->tb ? CblasTrans : CblasNoTrans,
                            g->m, g->n, g->k, 1.0f, a, lda, b, ldb, 0.0f, c, g->n);
                flops += 2.0 * g->m * g->n * g->k;
            }
        t = now() - t;
        if (t < best)
            best = t;
    }
    printf("sgemm_gflops: %.1f\n", flops / best / 1e9);
    printf("flops_per_sample: %.0f\n", flops / reps / batch);
    free(a);
    free(b);
    free(c);
    return 0;
}
