/* blas.h — the runtime's access to OpenBLAS (runtime/blas.c): loaded on
 * first use, with the kernel set chosen for this CPU. */
#ifndef NETC_RUNTIME_BLAS_H
#define NETC_RUNTIME_BLAS_H

#include <stddef.h>

/* Loads OpenBLAS once, after choosing its core (NETC_BLAS_CORE, else the
 * CPU's features) and making it single-threaded.  Idempotent.  Returns 0,
 * or -1 with a message in err when the library cannot be loaded. */
int rt_blas_load(char *err, size_t errlen);

/* Row-major C = op(A) op(B) (alpha 1, beta 0), op transposing when ta/tb
 * is non-zero: cblas_sgemm's meaning and leading dimensions.  Loads the
 * library on first use and exits with a message if it cannot. */
void rt_blas_sgemm(int ta, int tb, int m, int n, int k, const float *a, int lda, const float *b, int ldb, float *c,
                   int ldc);

/* cblas_sdot over n contiguous floats (what torch.dot calls on the CPU). */
float rt_blas_sdot(size_t n, const float *x, const float *y);

/* The core rt_blas_load will ask OpenBLAS for, without loading it (for
 * explain), and in *reason (when not NULL) why. */
const char *rt_blas_choice(const char **reason);

/* The core OpenBLAS runs ("not loaded" before rt_blas_load), and why it
 * was chosen. */
const char *rt_blas_core(void);
const char *rt_blas_reason(void);

#endif
