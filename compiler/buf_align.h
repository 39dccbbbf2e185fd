/* buf_align.h — where a buffer of the batch or optimizer-state arena may
 * start.  The lowering (compiler/lower.c) places buffers by this rule, and
 * code that walks a run of consecutive buffers itself (runtime/lbfgs.c)
 * finds them by the same rule.  A macro, so that the kernels embedded in
 * emitted C carry no trace of it. */
#ifndef NETC_COMPILER_BUF_ALIGN_H
#define NETC_COMPILER_BUF_ALIGN_H

/* Buffers of the batch and optimizer-state arenas start on a multiple of
 * COMP_BUF_ALIGN floats (64 bytes, a cache line): a vector pass over a
 * buffer that starts mid-line splits every 64-byte load across two lines.
 * On the MNIST MLP, Adam's pass over misaligned moments took 83 us a step,
 * against 55 us aligned (docs/performance.md).  BATCH offsets count floats
 * per sample, so they stay aligned for every batch size.  The parameter
 * arena (and the gradients that mirror it) stays one unpadded block: the
 * optimizer, checkpoints and emitted parameter structs index it as torch's
 * flat layout. */
#define COMP_BUF_ALIGN 16

/* The first aligned offset (in floats) at or after `floats`. */
#define COMP_BUF_ALIGN_UP(floats) (((floats) + COMP_BUF_ALIGN - 1) / COMP_BUF_ALIGN * COMP_BUF_ALIGN)

#endif
