/* main.c — a model emitted by `netc emit` in a bare-metal Cortex-M
 * program: no heap, no operating system, every byte of RAM placed at link
 * time from the emitted header's macros.
 *
 *   netc train specs/mnist_mlp_default.net --save mlp.safetensors
 *   netc emit specs/mnist_mlp_default.net --weights mlp.safetensors --batch 1 -o .
 *   arm-none-eabi-gcc -mcpu=cortex-m4 -mfpu=fpv4-sp-d16 -mfloat-abi=hard -mthumb \
 *       -std=gnu11 -O2 -I. examples/mcu/main.c mnist_mlp_default.c \
 *       your_startup.c -T your_part.ld -lm -o classify.elf
 *
 * The weights are const (they stay in flash: mnist_mlp_default_WEIGHTS_BYTES);
 * the workspace below is the RAM predict needs besides its stack, which
 * needs at most mnist_mlp_default_STACK_BYTES.  The project's tests build
 * this file with tests/mcu/startup.c and tests/mcu/link.ld (a vector
 * table, .data/.bss set-up, the FPU enabled) and run it under QEMU, with
 * semihosting for printf; a firmware project keeps its own start-up code
 * and output.
 *
 * read_sensor() stands for the application's input: here a digit built in
 * (digit.h, 784 bytes of a 28 x 28 image, white on black as in MNIST), or
 * a blank image without it. */
#include <stdint.h>
#include <stdio.h>

#include "mnist_mlp_default.h"

#if defined(__has_include)
#if __has_include("digit.h")
#include "digit.h"
#define HAVE_DIGIT 1
#endif
#endif

/* RAM of the model, all static: one sample's live activations. */
static float workspace[mnist_mlp_default_SAMPLE_WORKSPACE_FLOATS];
static float input[mnist_mlp_default_INPUT_SIZE], output[mnist_mlp_default_OUTPUT_SIZE];

/* Pixels as netc trained on them: bytes divided by 255 (torchvision's
 * ToTensor). */
static void read_sensor(float *x)
{
    for (int i = 0; i < mnist_mlp_default_INPUT_SIZE; i++) {
#ifdef HAVE_DIGIT
        x[i] = (float)digit[i] / 255.0f;
#else
        x[i] = 0.0f;
#endif
    }
}

int main(void)
{
    read_sensor(input);
    mnist_mlp_default_predict(input, output, workspace);
    int best = 0;
    for (int i = 1; i < mnist_mlp_default_OUTPUT_SIZE; i++)
        if (output[i] > output[best])
            best = i;
    printf("digit: %d\n", best);
    return 0;
}
