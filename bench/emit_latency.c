/* emit_latency.c — batch-1 latency of the emitted MNIST MLP predict.
 *
 * Built by bench/run.sh against the code `netc emit` wrote for
 * specs/mnist_mlp_default.net.  Calls NAME_predict on one 784-float input
 * ROUNDS times CALLS times after a warm-up, and prints the median over the
 * rounds of the time per call, in microseconds, as "emit_us: X". */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <time.h>

#include "mnist_mlp_default.h"

#define ROUNDS 21
#define CALLS 2000

static float workspace[mnist_mlp_default_WORKSPACE_FLOATS];

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(void)
{
    static float x[mnist_mlp_default_INPUT_SIZE], y[mnist_mlp_default_OUTPUT_SIZE];
    double us[ROUNDS], sink = 0;
    for (int i = 0; i < mnist_mlp_default_INPUT_SIZE; i++)
        x[i] = (float)((i * 37) % 256) / 255.0f;
    for (int i = 0; i < CALLS; i++)
        mnist_mlp_default_predict(x, y, workspace);
    for (int r = 0; r < ROUNDS; r++) {
        double t = now();
        for (int i = 0; i < CALLS; i++) {
            mnist_mlp_default_predict(x, y, workspace);
            sink += y[i % mnist_mlp_default_OUTPUT_SIZE];
        }
        us[r] = (now() - t) * 1e6 / CALLS;
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
