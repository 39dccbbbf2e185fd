/* driver.c — runs an emitted model (`netc emit --weights`) on test images,
 * the same source built for a Cortex-M core under QEMU and for the host
 * (tests/mcu.sh).  Reads images.bin (28x28 bytes per image, as in an IDX
 * file) from the current directory, through semihosting on the device,
 * and prints one line per image: each output's bits in hex, so the two
 * builds compare exactly, then the outputs to 9 digits, to compare with
 * `netc predict`.  Build with -DMODEL=name -include name.h.
 *
 * On the device it also counts the instructions each inference takes,
 * with SysTick, and prints their mean to stderr as "instructions per
 * inference: N".  The cycle counter (DWT CYCCNT) is not emulated by QEMU;
 * under `-icount shift=0` QEMU's virtual clock advances one nanosecond per
 * instruction, and SysTick, clocked by the core (25 MHz on the MPS2
 * boards), counts one tick per 40 of them. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define M(x) CAT(MODEL, x)
#define STR_(x) #x
#define STR(x) STR_(x)

/* One sample's workspace: NAME_predict runs one sample at a time. */
static float workspace[M(_SAMPLE_WORKSPACE_FLOATS)];
static float input[M(_INPUT_SIZE)], output[M(_OUTPUT_SIZE)];
static unsigned char pixels[M(_INPUT_SIZE)];

#if defined(__ARM_ARCH)
#define SYST_CSR (*(volatile uint32_t *)0xE000E010)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018)
#define NS_PER_TICK 40 /* 25 MHz core clock, one instruction per ns */

/* Start SysTick counting down from its top, on the core's clock. */
static void ticks_start(void)
{
    SYST_RVR = 0xFFFFFF;
    SYST_CVR = 0;
    SYST_CSR = 5; /* enable, processor clock, no interrupt */
}

static uint32_t ticks_now(void)
{
    return SYST_CVR;
}

/* The stack NAME_predict uses, measured by painting: a pattern in the
 * PAINT_BYTES below the caller's frame, then the deepest word predict
 * changed.  Must stay under the header's NAME_STACK_BYTES. */
#define PAINT_BYTES 32768
#define PAINT_WORD 0x5AFEC0DEu

/* The painted area: the PAINT_BYTES below main's stack pointer (taken
 * once, in main, so that painting and reading agree on it). */
__attribute__((always_inline)) static inline volatile uint32_t *paint_area(void)
{
    uintptr_t sp;
    __asm volatile("mov %0, sp" : "=r"(sp));
    return (volatile uint32_t *)(sp - PAINT_BYTES);
}

__attribute__((noinline)) static void stack_paint(volatile uint32_t *p)
{
    for (uint32_t i = 0; i < PAINT_BYTES / 4 - 16; i++)
        p[i] = PAINT_WORD;
}

/* Bytes from the deepest changed word to the top of the painted area. */
__attribute__((noinline)) static uint32_t stack_used(const volatile uint32_t *p)
{
    uint32_t i = 0;
    while (i < PAINT_BYTES / 4 - 16 && p[i] == PAINT_WORD)
        i++;
    return (PAINT_BYTES / 4 - i) * 4;
}

/* Ticks from a to b, the counter being 24 bits wide and counting down: one
 * inference must take fewer than 2^24 ticks (671M instructions). */
static uint32_t ticks_between(uint32_t a, uint32_t b)
{
    return (a - b) & 0xFFFFFF;
}
#endif

int main(void)
{
    FILE *f = fopen("images.bin", "rb");
    if (!f) {
        printf("cannot open images.bin\n");
        return 1;
    }
    int images = 0;
#if defined(__ARM_ARCH)
    uint64_t ticks = 0;
    uint32_t stack = 0;
    volatile uint32_t *area = paint_area();
    ticks_start();
#endif
    while (fread(pixels, 1, sizeof pixels, f) == sizeof pixels) {
        /* As netc's data loader converts bytes: a division, like torch's
         * ToTensor (runtime/data.c). */
        for (size_t i = 0; i < sizeof pixels; i++)
            input[i] = (float)pixels[i] / 255.0f;
#if defined(__ARM_ARCH)
        stack_paint(area);
        const uint32_t t0 = ticks_now();
        M(_predict)(input, output, workspace);
        ticks += ticks_between(t0, ticks_now());
        const uint32_t used = stack_used(area);
        stack = used > stack ? used : stack;
#else
        M(_predict)(input, output, workspace);
#endif
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
#if defined(__ARM_ARCH)
    if (images > 0)
        fprintf(stderr, "instructions per inference: %lu\nstack bytes: %lu of %lu\n",
                (unsigned long)(ticks * NS_PER_TICK / (uint64_t)images), (unsigned long)stack,
                (unsigned long)M(_STACK_BYTES));
    if (stack > M(_STACK_BYTES)) {
        fprintf(stderr, "predict used %lu bytes of stack, more than %s_STACK_BYTES\n", (unsigned long)stack,
                STR(MODEL));
        return 1;
    }
#endif
    return images > 0 ? 0 : 1;
}
