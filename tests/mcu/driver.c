/* driver.c — runs an emitted model (`netc emit --weights`) on test images,
 * the same source built for a Cortex-M core under QEMU and for the host
 * (tests/mcu.sh).  Reads images.bin (28x28 bytes per image, as in an IDX
 * file) from the current directory, through semihosting on the device,
 * and prints one line per image: each output's bits in hex, so the two
 * builds compare exactly, then the outputs to 9 digits, to compare with
 * `netc predict`.  Build with -DMODEL=name -include name.h. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define M(x) CAT(MODEL, x)

/* One sample's workspace: NAME_predict runs one sample at a time. */
static float workspace[M(_SAMPLE_WORKSPACE_FLOATS)];
static float input[M(_INPUT_SIZE)], output[M(_OUTPUT_SIZE)];
static unsigned char pixels[M(_INPUT_SIZE)];

int main(void)
{
    FILE *f = fopen("images.bin", "rb");
    if (!f) {
        printf("cannot open images.bin\n");
        return 1;
    }
    int images = 0;
    while (fread(pixels, 1, sizeof pixels, f) == sizeof pixels) {
        /* As netc's data loader converts bytes: a division, like torch's
         * ToTensor (runtime/data.c). */
        for (size_t i = 0; i < sizeof pixels; i++)
            input[i] = (float)pixels[i] / 255.0f;
        M(_predict)(input, output, workspace);
        for (size_t i = 0; i < M(_OUTPUT_SIZE); i++) {
            uint32_t bits;
            memcpy(&bits, &output[i], sizeof bits);
            printf("%s%08lx", i ? " " : "", (unsigned long)bits);
        }
        printf(" |");
        for (size_t i = 0; i < M(_OUTPUT_SIZE); i++)
            printf("%s%.9g", i ? "," : " ", (double)output[i]);
        printf("\n");
        images++;
    }
    fclose(f);
    return images > 0 ? 0 : 1;
}
