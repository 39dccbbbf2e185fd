/* emit_latency.c — batch-1 latency of an emitted model's predict.
 *
 * Built by bench/run.sh against the code `netc emit --weights` wrote: the
 * MNIST MLP (specs/mnist_mlp_default.net, the default) and the CNNs
 * (specs/lenet5.net, specs/fashion_cnn.net).  MODEL names the model and
 * MODEL_H its header, e.g. -DMODEL=lenet5 -DMODEL_H='"lenet5.h"'.  With
 * the weights embedded every model has the same entry point, running
 * statistics (BatchNorm) included, so one driver serves them all.
 *
 * usage: latency [CALLS]
 *
 * Calls MODEL_predict on one input (MODEL_INPUT_SIZE floats) CALLS times
 * (default 2000) as a warm-up, then ROUNDS rounds of CALLS calls, and
 * prints the median over the rounds of the time per call, in
 * microseconds, as "emit_us: X".  CALLS is the command line's so that a
 * model whose call takes a millisecond can be timed in as many calls as
 * PyTorch's twin (bench/torch_cnn.py --latency). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#ifndef MODEL
#define MODEL mnist_mlp_default
#define MODEL_H "mnist_mlp_default.h"
#endif
#ifndef MODEL_H
#error "MODEL_H must name MODEL's emitted header"
#endif
#include MODEL_H

#define CAT2(a, b) a##_##b
#define CAT(a, b) CAT2(a, b)
#define F(x) CAT(MODEL, x)

#define ROUNDS 21

static float workspace[F(WORKSPACE_FLOATS)];

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    static float x[F(INPUT_SIZE)], y[F(OUTPUT_SIZE)];
    const long calls = argc > 1 ? strtol(argv[1], NULL, 10) : 2000;
    double us[ROUNDS], sink = 0;
    if (calls < 1) {
        fprintf(stderr, "usage: latency [CALLS]  (CALLS >= 1)\n");
        return 2;
    }
    for (int i = 0; i < F(INPUT_SIZE); i++)
        x[i] = (float)((i * 37) % 256) / 255.0f;
    for (long i = 0; i < calls; i++)
        F(predict)(x, y, workspace);
    for (int r = 0; r < ROUNDS; r++) {
        double t = now();
        for (long i = 0; i < calls; i++) {
            F(predict)(x, y, workspace);
            sink += y[i % F(OUTPUT_SIZE)];
        }
        us[r] = (now() - t) * 1e6 / (double)calls;
    }
    for (int i = 1; i < ROUNDS; i++) /* insertion sort: 21 numbers */
        for (int j = i; j > 0 && us[j] < us[j - 1]; j--) {
            double t = us[j];
            us[j] = us[j - 1];
            us[j - 1] = t;
        }
    printf("emit_us: %.3f\n", us[ROUNDS / 2]);
    fprintf(stderr, "(checksum %g)\n", sink);
    return 0;
}
