/* test_transforms.c — the data transforms (runtime/transform.c): their
 * deterministic parts bit for bit against torchvision
 * (scripts/gen_golden_transforms.py), their random draws by their rates
 * and moments, and their streams by sample, not by thread or batch. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "runtime/safetensors.h"
#include "runtime/kernels.h"
#include "runtime/mix.h"
#include "runtime/transform.h"

#define GOLDEN "tests/golden/transforms/transforms.safetensors"

static const rt_tensor *need(const rt_st_file *f, int c, const char *what)
{
    char name[32];
    snprintf(name, sizeof name, "%d/%s", c, what);
    const rt_tensor *t = rt_st_find(f, name);
    ck_assert_msg(t != NULL, "no tensor %s", name);
    return t;
}

static int same_bits(float a, float b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

/* Every golden case: the kernel on x with the case's parameters must give
 * torchvision's y to the bit. */
START_TEST(golden_torchvision)
{
    char err[256];
    rt_st_file *f = rt_st_load(GOLDEN, err, sizeof err);
    ck_assert_msg(f != NULL, "%s", err);
    const char *n = rt_st_meta(f, "cases");
    ck_assert(n && atoi(n) > 20);
    int bad = 0;
    for (int c = 0; c < atoi(n); c++) {
        char key[32];
        snprintf(key, sizeof key, "%d/op", c);
        const char *op = rt_st_meta(f, key);
        snprintf(key, sizeof key, "%d", c);
        const char *call = rt_st_meta(f, key);
        ck_assert(op && call);
        if (!strncmp(op, "mixup", 5) || !strncmp(op, "cutmix", 6) || !strncmp(op, "xent", 4))
            continue; /* golden_mixing's */
        const rt_tensor *x = need(f, c, "x"), *y = need(f, c, "y");
        ck_assert_int_eq(x->rank, 3);
        const rt_tf_image im = {(int)x->shape[0], (int)x->shape[1], (int)x->shape[2]};
        const size_t dim = (size_t)im.c * (size_t)im.h * (size_t)im.w;
        float *got = malloc(dim * sizeof *got), *in = malloc(dim * sizeof *in);
        ck_assert(got && in);
        memcpy(in, x->data, dim * sizeof *in);
        memset(got, 0x7f, dim * sizeof *got);
        int top, left, ph, pw, mode, i, j, h, w;
        float v;
        if (strcmp(op, "normalize") == 0) {
            comp_transform t = {.kind = COMP_TF_NORMALIZE};
            const comp_entry *e = &comp_transforms[COMP_TF_NORMALIZE];
            const rt_tensor *m = need(f, c, "mean"), *s = need(f, c, "std");
            const int ms = comp_arg_index(e, "mean"), ss = comp_arg_index(e, "std");
            t.args.ntuple[ms] = (int8_t)m->shape[0];
            t.args.ntuple[ss] = (int8_t)s->shape[0];
            memcpy(t.args.vec[ms], m->data, (size_t)m->shape[0] * sizeof(float));
            memcpy(t.args.vec[ss], s->data, (size_t)s->shape[0] * sizeof(float));
            ck_assert_ptr_eq(rt_tf_kernels[COMP_TF_NORMALIZE](&t, &im, in, NULL, NULL), in);
            memcpy(got, in, dim * sizeof *got);
        } else if (sscanf(op, "crop %d %d %d %d %d %f", &top, &left, &ph, &pw, &mode, &v) == 6) {
            rt_tf_crop(&im, in, got, top, left, ph, pw, mode, v);
        } else if (strcmp(op, "hflip") == 0 || strcmp(op, "vflip") == 0) {
            (op[0] == 'h' ? rt_tf_hflip : rt_tf_vflip)(&im, in);
            memcpy(got, in, dim * sizeof *got);
        } else if (sscanf(op, "erase %d %d %d %d %f", &i, &j, &h, &w, &v) == 5) {
            rt_tf_erase(&im, in, i, j, h, w, v);
            memcpy(got, in, dim * sizeof *got);
        } else {
            ck_abort_msg("unknown op '%s'", op);
        }
        for (size_t k = 0; k < dim; k++)
            if (!same_bits(got[k], y->data[k]) && bad++ < 5)
                fprintf(stderr, "%s: [%zu] netc %.9g, torchvision %.9g\n", call, k, got[k], y->data[k]);
        free(got);
        free(in);
    }
    rt_st_free(f);
    ck_assert_msg(bad == 0, "%d values differ from torchvision", bad);
}
END_TEST

static long count_of(const rt_tensor *t)
{
    long n = 1;
    for (int d = 0; d < t->rank; d++)
        n *= (long)t->shape[d];
    return n;
}

/* MixUp and CutMix with torch's permutation and lambda: the mixed batch
 * bit for bit, the mixed targets bit for bit, CutMix's box as
 * torchvision's; CrossEntropy with probability targets (and label
 * smoothing) within float rounding of torch's loss and gradient. */
START_TEST(golden_mixing)
{
    char err[256];
    rt_st_file *f = rt_st_load(GOLDEN, err, sizeof err);
    ck_assert_msg(f != NULL, "%s", err);
    int bad = 0, seen = 0;
    for (int c = 0; c < atoi(rt_st_meta(f, "cases")); c++) {
        char key[32];
        snprintf(key, sizeof key, "%d/op", c);
        const char *op = rt_st_meta(f, key);
        snprintf(key, sizeof key, "%d", c);
        const char *call = rt_st_meta(f, key);
        double lam, ls;
        int rx, ry, sum;
        const rt_tensor *x = need(f, c, "x"), *y = need(f, c, "y");
        if (sscanf(op, "xent_probs %lf %d", &ls, &sum) == 2) {
            const rt_tensor *t = need(f, c, "t"), *dx = need(f, c, "dx");
            const int rows = (int)x->shape[0], classes = (int)x->shape[1];
            float d[64];
            ck_assert(rows * classes <= 64);
            const float loss = rt_xent_probs(x->data, t->data, d, rows, classes, sum, ls);
            char msg[256];
            if (!tu_close("loss", &loss, y->data, 1, 1e-6, msg, sizeof msg) ||
                !tu_close("dlogits", d, dx->data, rows * classes, 1e-5, msg, sizeof msg)) {
                fprintf(stderr, "%s: %s\n", call, msg);
                bad++;
            }
            /* no gradient wanted: the same loss */
            ck_assert(rt_xent_probs(x->data, t->data, NULL, rows, classes, sum, ls) == loss);
            seen++;
            continue;
        }
        const int is_mix = sscanf(op, "mixup %lf", &lam) == 1;
        const int is_cut = !is_mix && sscanf(op, "cutmix %lf %d %d", &lam, &rx, &ry) == 3;
        if (!is_mix && !is_cut)
            continue;
        seen++;
        const rt_tensor *labels = need(f, c, "labels"), *perm = need(f, c, "perm"), *t = need(f, c, "t");
        const size_t n = (size_t)x->shape[0];
        const rt_tf_image im = {(int)x->shape[1], (int)x->shape[2], (int)x->shape[3]};
        const size_t dim = (size_t)im.c * (size_t)im.h * (size_t)im.w;
        const int classes = (int)(count_of(t) / (long)n);
        float *xs = malloc(n * dim * sizeof *xs), *ts = calloc(n * (size_t)classes, sizeof *ts);
        float *copy = malloc(n * dim * sizeof *copy);
        uint32_t partner[16];
        ck_assert(xs && ts && copy && n <= 16);
        memcpy(xs, x->data, n * dim * sizeof *xs);
        for (size_t i = 0; i < n; i++) {
            ts[i * (size_t)classes + (size_t)labels->data[i]] = 1.0f;
            partner[i] = (uint32_t)perm->data[i];
        }
        if (is_mix) {
            rt_mixup_apply(xs, ts, n, dim, classes, partner, lam, copy);
        } else {
            int x1, y1, x2, y2;
            const double w = rt_cutmix_box_at(lam, rx, ry, im.h, im.w, &x1, &y1, &x2, &y2);
            const float *box = need(f, c, "box")->data;
            ck_assert_msg(x1 == (int)box[0] && y1 == (int)box[1] && x2 == (int)box[2] && y2 == (int)box[3],
                          "%s: box (%d, %d, %d, %d), torchvision's (%g, %g, %g, %g)", call, x1, y1, x2, y2,
                          (double)box[0], (double)box[1], (double)box[2], (double)box[3]);
            ck_assert(w == 1.0 - (double)(x2 - x1) * (y2 - y1) / (im.w * im.h));
            rt_cutmix_apply(xs, ts, n, &im, classes, partner, x1, y1, x2, y2, copy);
        }
        for (size_t k = 0; k < n * dim; k++)
            if (!same_bits(xs[k], y->data[k]) && bad++ < 5)
                fprintf(stderr, "%s: x[%zu] netc %.9g, torch %.9g\n", call, k, xs[k], y->data[k]);
        for (size_t k = 0; k < n * (size_t)classes; k++)
            if (!same_bits(ts[k], t->data[k]) && bad++ < 5)
                fprintf(stderr, "%s: t[%zu] netc %.9g, torch %.9g\n", call, k, ts[k], t->data[k]);
        free(xs);
        free(ts);
        free(copy);
    }
    rt_st_free(f);
    ck_assert_int_ge(seen, 16);
    ck_assert_msg(bad == 0, "%d values differ from torch", bad);
}
END_TEST

/* Beta(a, a) draws: mean 1/2 and variance 1 / (4 (2a + 1)), within 4
 * standard errors over 40000 draws, for alphas below, at and above 1;
 * every draw in [0, 1]. */
START_TEST(beta_moments)
{
    const double alphas[] = {0.2, 1.0, 2.5};
    for (int k = 0; k < 3; k++) {
        const double a = alphas[k], var = 1.0 / (4.0 * (2.0 * a + 1.0));
        uint64_t rng = rt_rng_seed(42, (uint64_t)k);
        const int N = 40000;
        double s1 = 0, s2 = 0;
        for (int i = 0; i < N; i++) {
            const double b = rt_beta_draw(&rng, a);
            ck_assert(b >= 0.0 && b <= 1.0);
            s1 += b;
            s2 += b * b;
        }
        const double mean = s1 / N, v = s2 / N - mean * mean;
        /* the fourth central moment of Beta(a, a) bounds the variance's error: at most var */
        ck_assert_msg(fabs(mean - 0.5) < 4 * sqrt(var / N), "alpha %g: mean %.5f", a, mean);
        ck_assert_msg(fabs(v - var) < 4 * sqrt(var / N), "alpha %g: variance %.5f, want %.5f", a, v, var);
    }
}
END_TEST

/* A plan holding one model with the given transform chain. */
static comp_plan *plan_with(const char *input, int features, const char *chain)
{
    char text[1024];
    snprintf(text, sizeof text,
             "model m { input %s layers Flatten -> Linear(%d, 2) loss CrossEntropy optimizer SGD(lr=0.1) "
             "transform %s }",
             input, features, chain);
    comp_plan *p = tu_compile_text(text);
    ck_assert_msg(p != NULL, "spec did not compile: %s", chain);
    return p;
}

/* Apply p's chain (training) to sample k of an epoch with key to x. */
static void draw(const comp_plan *p, uint64_t key, size_t k, float *x, float *spare)
{
    rt_tf_batch tf = {&p->info, 1, key, k, spare};
    rt_tf_sample(&tf, 0, x);
}

/* The image 0, 1, 2, ... (no two values alike, so every move shows). */
static void ramp(float *x, int n)
{
    for (int k = 0; k < n; k++)
        x[k] = (float)k / (float)n;
}

/* RandomHorizontalFlip(p=0.3) flips 30% of the samples: within 4
 * standard deviations over 20000 samples; vertical likewise. */
START_TEST(flip_rate)
{
    const char *chains[] = {"RandomHorizontalFlip(p=0.3)", "RandomVerticalFlip(0.3)"};
    for (int c = 0; c < 2; c++) {
        comp_plan *p = plan_with("(1, 4, 5)", 20, chains[c]);
        const int N = 20000;
        int flipped = 0;
        float x[20], spare[20];
        for (int k = 0; k < N; k++) {
            ramp(x, 20);
            draw(p, 99, (size_t)k, x, spare);
            /* a horizontal flip moves value 0 to column 4, a vertical one to row 3 */
            const int moved = c == 0 ? x[4] == 0.0f : x[15] == 0.0f;
            ck_assert(moved || x[0] == 0.0f);
            flipped += moved;
        }
        const double rate = (double)flipped / N, sd = sqrt(0.3 * 0.7 / N);
        ck_assert_msg(fabs(rate - 0.3) < 4 * sd, "%s flipped %.4f of the samples", chains[c], rate);
        tu_destroy(p);
    }
}
END_TEST

/* RandomCrop(..., padding=1): the shift (top, left) is uniform on
 * {0, 1, 2}^2, each of the 9 offsets about 1/9 of the time; the view is
 * the image shifted with zeros coming in. */
START_TEST(crop_offsets)
{
    comp_plan *p = plan_with("(1, 3, 4)", 12, "RandomCrop((3, 4), padding=1)");
    const int N = 18000;
    int count[3][3] = {{0}};
    float x[12], spare[12];
    for (int k = 0; k < N; k++) {
        ramp(x, 12);
        for (int q = 0; q < 12; q++)
            x[q] += 1.0f; /* 1..2: a zero is padding */
        draw(p, 5, (size_t)k, x, spare);
        /* the view's (1, 1) is the padded image's (1 + top, 1 + left),
         * which is the input's (top, left) */
        const int q = (int)lroundf((x[5] - 1.0f) * 12.0f), top = q / 4, left = q % 4;
        ck_assert(top >= 0 && top <= 2 && left >= 0 && left <= 2);
        count[top][left]++;
    }
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++) {
            const double f = (double)count[a][b] / N, sd = sqrt((1.0 / 9) * (8.0 / 9) / N);
            ck_assert_msg(fabs(f - 1.0 / 9) < 4 * sd, "offset (%d, %d) drawn %.4f of the time", a, b, f);
        }
    tu_destroy(p);
}
END_TEST

/* GaussianNoise without clip adds mean + sigma * N(0, 1): the sample mean
 * and standard deviation of the added noise over 40000 values. */
START_TEST(noise_moments)
{
    comp_plan *p = plan_with("(1, 4, 5)", 20, "GaussianNoise(mean=0.1, sigma=0.2, clip=false)");
    double s1 = 0, s2 = 0;
    const int N = 2000;
    float x[20], spare[20];
    for (int k = 0; k < N; k++) {
        memset(x, 0, sizeof x);
        draw(p, 7, (size_t)k, x, spare);
        for (int q = 0; q < 20; q++) {
            s1 += x[q];
            s2 += (double)x[q] * x[q];
        }
    }
    const double n = 20.0 * N, mean = s1 / n, sd = sqrt(s2 / n - mean * mean);
    ck_assert_msg(fabs(mean - 0.1) < 4 * 0.2 / sqrt(n), "noise mean %.5f", mean);
    ck_assert_msg(fabs(sd - 0.2) < 4 * 0.2 / sqrt(2 * n), "noise sd %.5f", sd);
    /* clip=true (the default) keeps values in [0, 1] */
    comp_plan *pc = plan_with("(1, 4, 5)", 20, "GaussianNoise(sigma=0.5)");
    for (int k = 0; k < 200; k++) {
        ramp(x, 20);
        draw(pc, 7, (size_t)k, x, spare);
        for (int q = 0; q < 20; q++)
            ck_assert(x[q] >= 0.0f && x[q] <= 1.0f);
    }
    tu_destroy(pc);
    tu_destroy(p);
}
END_TEST

/* RandomErasing(p=0.5): about half the samples get one box of value,
 * strictly smaller than the image, of area within scale's range of the
 * image's (rounding allows a little more). */
START_TEST(erasing_rate_and_box)
{
    comp_plan *p = plan_with("(1, 20, 20)", 400, "RandomErasing(p=0.5, value=-1)");
    const int N = 4000;
    int erased = 0;
    float x[400], spare[400];
    for (int k = 0; k < N; k++) {
        for (int q = 0; q < 400; q++)
            x[q] = 0.5f;
        draw(p, 3, (size_t)k, x, spare);
        int n = 0, r0 = 99, r1 = -1, c0 = 99, c1 = -1;
        for (int q = 0; q < 400; q++)
            if (x[q] == -1.0f) {
                n++;
                r0 = q / 20 < r0 ? q / 20 : r0, r1 = q / 20 > r1 ? q / 20 : r1;
                c0 = q % 20 < c0 ? q % 20 : c0, c1 = q % 20 > c1 ? q % 20 : c1;
            }
        if (!n)
            continue;
        erased++;
        ck_assert_int_eq(n, (r1 - r0 + 1) * (c1 - c0 + 1)); /* one box */
        ck_assert(r1 - r0 + 1 < 20 && c1 - c0 + 1 < 20);
        ck_assert_msg(n >= 1 && n <= 0.33 * 400 * 1.3, "box of %d values", n);
    }
    const double rate = (double)erased / N;
    ck_assert_msg(fabs(rate - 0.5) < 4 * sqrt(0.25 / N), "erased %.4f of the samples", rate);
    tu_destroy(p);
}
END_TEST

/* A sample's draws depend on the key and its place in the epoch only. */
START_TEST(streams_by_sample)
{
    comp_plan *p = plan_with("(1, 4, 5)", 20, "RandomCrop((4, 5), padding=1) -> RandomHorizontalFlip -> GaussianNoise");
    float a[20], b[20], c[20], spare[20];
    ramp(a, 20);
    ramp(b, 20);
    ramp(c, 20);
    draw(p, 11, 37, a, spare);
    draw(p, 11, 37, b, spare);
    draw(p, 11, 38, c, spare);
    ck_assert_mem_eq(a, b, sizeof a);
    ck_assert(memcmp(a, c, sizeof a) != 0);
    /* the same sample as row 3 of a batch starting at 34 */
    float rows[4][20], spares[4][20];
    for (int r = 0; r < 4; r++)
        ramp(rows[r], 20);
    rt_tf_batch tf = {&p->info, 1, 11, 34, &spares[0][0]};
    rt_tf_sample(&tf, 3, rows[3]);
    ck_assert_mem_eq(rows[3], a, sizeof a);
    /* eval mode applies no random transform */
    rt_tf_batch ev = {&p->info, 0, 0, 0, NULL};
    ck_assert(!rt_tf_active(&ev));
    tu_destroy(p);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("transforms");
    TCase *tc = tcase_create("golden");
    tcase_add_test(tc, golden_torchvision);
    tcase_add_test(tc, golden_mixing);
    suite_add_tcase(s, tc);
    tc = tcase_create("random");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, flip_rate);
    tcase_add_test(tc, crop_offsets);
    tcase_add_test(tc, noise_moments);
    tcase_add_test(tc, erasing_rate_and_box);
    tcase_add_test(tc, streams_by_sample);
    tcase_add_test(tc, beta_moments);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(suite());
}
