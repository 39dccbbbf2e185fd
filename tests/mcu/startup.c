/* startup.c — the smallest reset code a Cortex-M program needs, for the
 * QEMU test rig (tests/mcu.sh) and as a model for a firmware project: a
 * vector table, then copy .data from flash, zero .bss, turn on the FPU
 * where there is one, and run main.  I/O goes through semihosting
 * (newlib's librdimon), so the program reads and writes the host's files
 * and its exit status reaches QEMU. */
#include <stdint.h>
#include <stdlib.h>

extern uint32_t __data_load[], __data_start[], __data_end[], __bss_start[], __bss_end[], __stack_top[];
extern int main(void);
extern void initialise_monitor_handles(void);

/* newlib's exit runs the constructor and destructor arrays through these:
 * without crt0 there is nothing more to do in them. */
void _init(void);
void _fini(void);
void _init(void) {}
void _fini(void) {}

/* Reset: lay out memory as C expects it, then run the program. */
void mcu_reset(void)
{
    for (uint32_t *s = __data_load, *d = __data_start; d < __data_end;)
        *d++ = *s++;
    for (uint32_t *d = __bss_start; d < __bss_end;)
        *d++ = 0;
#if defined(__ARM_FP)
    /* CPACR: full access to coprocessors 10 and 11 (the FPU), before any
     * float instruction runs. */
    *(volatile uint32_t *)0xE000ED88 |= 0xFu << 20;
    __asm volatile("dsb\n\tisb");
#endif
    initialise_monitor_handles();
    exit(main());
}

/* Any fault: report it and stop QEMU with a failure status, so that a
 * crash fails the test instead of hanging it. */
static void mcu_fault(void)
{
    exit(99);
}

/* The vector table: the initial stack pointer, reset, and the faults. */
__attribute__((section(".vectors"), used)) static void (*const mcu_vectors[16])(void) = {
    (void (*)(void))(uintptr_t)__stack_top, mcu_reset, mcu_fault, mcu_fault, mcu_fault, mcu_fault, mcu_fault,
};
