/* main.c — classify one handwritten digit with a model emitted by
 * `netc emit`: no netc, no BLAS, no allocation; the model is two C files.
 *
 *   netc train specs/mnist_mlp_default.net --save mlp.safetensors
 *   netc emit specs/mnist_mlp_default.net --weights mlp.safetensors -o .
 *   cc -std=c99 -O2 -I. examples/embed/main.c mnist_mlp_default.c -lm -o classify
 *   ./classify examples/embed/digit.pgm
 *
 * The image is a binary PGM (P5) of 28 x 28 8-bit pixels, white digit on
 * black as in MNIST; pixels are scaled to [0, 1] by dividing by 255, as
 * netc (and torchvision's ToTensor) do for training. */
#include <stdio.h>

#include "mnist_mlp_default.h"

/* Scratch memory of the model: every byte is known at compile time. */
static float workspace[mnist_mlp_default_WORKSPACE_FLOATS];

/* Skip whitespace and '#' comments between PGM header fields. */
static void skip_space(FILE *f)
{
    int c;
    while ((c = getc(f)) != EOF) {
        if (c == '#') {
            while ((c = getc(f)) != EOF && c != '\n')
                ;
        } else if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
            ungetc(c, f);
            return;
        }
    }
}

/* Read a 28 x 28 P5 PGM with maxval 255 into pixels[784] scaled to [0, 1].
 * Returns 0, or -1 with a message on stderr. */
static int read_pgm(const char *path, float *pixels)
{
    FILE *f = fopen(path, "rb");
    int w = 0, h = 0, maxval = 0;
    if (!f) {
        fprintf(stderr, "classify: cannot open '%s'\n", path);
        return -1;
    }
    if (getc(f) != 'P' || getc(f) != '5') {
        fprintf(stderr, "classify: '%s' is not a binary PGM (P5)\n", path);
        fclose(f);
        return -1;
    }
    skip_space(f);
    if (fscanf(f, "%d", &w) != 1)
        w = 0;
    skip_space(f);
    if (fscanf(f, "%d", &h) != 1)
        h = 0;
    skip_space(f);
    if (fscanf(f, "%d", &maxval) != 1)
        maxval = 0;
    getc(f); /* the single whitespace byte before the pixels */
    if (w * h != mnist_mlp_default_INPUT_SIZE || maxval != 255) {
        fprintf(stderr, "classify: '%s' is %dx%d with maxval %d; expected 28x28 with maxval 255\n", path, w, h,
                maxval);
        fclose(f);
        return -1;
    }
    for (int i = 0; i < mnist_mlp_default_INPUT_SIZE; i++) {
        int c = getc(f);
        if (c == EOF) {
            fprintf(stderr, "classify: '%s' ends after %d of %d pixels\n", path, i, mnist_mlp_default_INPUT_SIZE);
            fclose(f);
            return -1;
        }
        pixels[i] = (float)c / 255.0f;
    }
    fclose(f);
    return 0;
}

int main(int argc, char **argv)
{
    float pixels[mnist_mlp_default_INPUT_SIZE], logits[mnist_mlp_default_OUTPUT_SIZE];
    if (argc != 2) {
        fprintf(stderr, "usage: classify DIGIT.pgm\n");
        return 2;
    }
    if (read_pgm(argv[1], pixels) != 0)
        return 1;
    mnist_mlp_default_predict(pixels, logits, workspace);
    int best = 0;
    for (int k = 1; k < mnist_mlp_default_OUTPUT_SIZE; k++)
        if (logits[k] > logits[best])
            best = k;
    printf("digit: %d\nlogits:", best);
    for (int k = 0; k < mnist_mlp_default_OUTPUT_SIZE; k++)
        printf(" %.6g", (double)logits[k]);
    printf("\n");
    return 0;
}
