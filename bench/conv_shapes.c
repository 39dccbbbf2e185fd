/* conv_shapes.c — one-thread speed of netc's convolution kernels
 * (runtime/conv.c) at batch 64 on the shapes docs/performance.md
 * compares with PyTorch (bench/torch_conv_shapes.py times torch's
 * F.conv2d on the same shapes):
 *
 *   lenet1   Conv2d(1, 6, 5, padding=2) on 28x28   (LeNet-5's first layer)
 *   lenet2   Conv2d(6, 16, 5) on 14x14             (its second)
 *   c1_32    Conv2d(1, 32, 3, padding=1) on 28x28
 *   c32_64   Conv2d(32, 64, 3, padding=1) on 14x14
 *
 * Forward with bias and no activation (what F.conv2d computes), then the
 * backward with every gradient (dx included, as torch's autograd computes
 * it for an input that requires grad).  Each figure is the median over
 * ROUNDS rounds of the mean time of one call in a round; a round lasts at
 * least MIN_ROUND seconds of the thread's CPU time (wall time with
 * --threads above 1).  Prints one line per shape: "name fwd_ms
 * bwd_ms total_ms".
 *
 * Built by `make bench-conv` against build/libnetc.a; `--threads N` sets
 * the runtime's pool (default 1) and `--only NAME` runs one shape (for
 * perf record). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/kernels.h"
#include "runtime/pool.h"
#include "runtime/spatial.h"

enum { BATCH = 64, ROUNDS = 9 };
#define MIN_ROUND 0.2

static int threads = 1;

typedef struct {
    const char *name;
    int c_in, hw, c_out, k, pad;
} shape;

static const shape shapes[] = {
    {"lenet1", 1, 28, 6, 5, 2},
    {"lenet2", 6, 14, 16, 5, 0},
    {"c1_32", 1, 28, 32, 3, 1},
    {"c32_64", 32, 14, 64, 3, 1},
};

/* CPU time of the calling thread, which does all the work at one thread:
 * on a machine shared with other jobs, wall time also counts the slices
 * they take. */
static double now(void)
{
    struct timespec ts;
    clock_gettime(threads == 1 ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static float *fill(size_t n, uint64_t *rng)
{
    float *p = malloc((n ? n : 1) * sizeof *p);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < n; i++)
        p[i] = (float)rt_rng_uniform(rng) * 2.0f - 1.0f;
    return p;
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct {
    comp_geom g;
    float *x, *W, *b, *z, *y, *dy, *dz, *dx, *dW, *db, *scratch;
} bench;

static void run_forward(bench *s)
{
    rt_conv_forward(&s->g, s->x, s->W, s->b, s->z, s->y, s->scratch, BATCH, COMP_ACT_IDENTITY, 0, 0);
}

static void run_backward(bench *s)
{
    rt_conv_backward(&s->g, s->dy, s->z, s->y, s->dz, s->x, s->W, s->dx, s->dW, s->db, s->scratch, BATCH,
                     COMP_ACT_IDENTITY, 0, 0);
}

/* Median over ROUNDS of the mean time of fn (ms). */
static double time_ms(void (*fn)(bench *), bench *s)
{
    double t[ROUNDS];
    fn(s); /* warm: loads OpenBLAS, touches the buffers */
    for (int r = 0; r < ROUNDS; r++) {
        int reps = 0;
        const double t0 = now();
        double t1;
        do {
            fn(s);
            reps++;
            t1 = now();
        } while (t1 - t0 < MIN_ROUND);
        t[r] = (t1 - t0) / reps * 1e3;
    }
    qsort(t, ROUNDS, sizeof *t, cmp_double);
    return t[ROUNDS / 2];
}

int main(int argc, char **argv)
{
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
            only = argv[++i];
        else {
            fprintf(stderr, "usage: %s [--threads N] [--only NAME]\n", argv[0]);
            return 2;
        }
    }
    rt_pool_set_threads(threads);
    uint64_t rng = rt_rng_seed(1, 2);
    for (size_t k = 0; k < sizeof shapes / sizeof *shapes; k++) {
        const shape *sh = &shapes[k];
        if (only && strcmp(only, sh->name) != 0)
            continue;
        const int ho = sh->hw + 2 * sh->pad - sh->k + 1;
        bench s = {.g = {.c_in = sh->c_in, .h_in = sh->hw, .w_in = sh->hw, .c_out = sh->c_out, .h_out = ho,
                         .w_out = ho, .kh = sh->k, .kw = sh->k, .sh = 1, .sw = 1, .ph = sh->pad, .pw = sh->pad,
                         .ph_end = sh->pad, .pw_end = sh->pad, .dh = 1, .dw = 1, .groups = 1}};
        const size_t nx = (size_t)BATCH * sh->c_in * sh->hw * sh->hw, ny = (size_t)BATCH * sh->c_out * ho * ho;
        const size_t nw = (size_t)sh->c_out * sh->c_in * sh->k * sh->k;
        s.x = fill(nx, &rng);
        s.W = fill(nw, &rng);
        s.b = fill((size_t)sh->c_out, &rng);
        s.dy = fill(ny, &rng);
        s.z = fill(ny, &rng);
        s.y = fill(ny, &rng);
        s.dz = fill(ny, &rng);
        s.dx = fill(nx, &rng);
        s.dW = fill(nw, &rng);
        s.db = fill((size_t)sh->c_out, &rng);
        s.scratch = fill((size_t)BATCH * (size_t)comp_geom_conv_scratch(&s.g, 0), &rng);
        const double f = time_ms(run_forward, &s), b = time_ms(run_backward, &s);
        printf("%-8s %8.3f %8.3f %8.3f\n", sh->name, f, b, f + b);
        fflush(stdout);
        float *p[] = {s.x, s.W, s.b, s.dy, s.z, s.y, s.dz, s.dx, s.dW, s.db, s.scratch};
        for (size_t i = 0; i < sizeof p / sizeof *p; i++)
            free(p[i]);
    }
    return 0;
}
