/* emit.h — the C emitter: a plan turned into standalone C99 (NAME.h and
 * NAME.c) for embedding a model in another program. */
#ifndef NETC_COMPILER_EMIT_H
#define NETC_COMPILER_EMIT_H

#include <stdint.h>
#include <stdio.h>

#include "plan.h"

typedef struct {
    const float *weights;     /* the parameter arena to embed, or NULL: the caller supplies it */
    const char *spec_path;    /* for the header comment */
    const char *weights_path; /* for the header comment (NULL without weights) */
    uint64_t weights_hash;    /* FNV-1a of the checkpoint file */
    int train;                /* also emit NAME_train_step */
    int blas;                 /* call cblas_sgemm instead of the portable loops */
    int predict_batch;        /* samples per pass of NAME_predict_batch (the workspace holds them) */
    const float *model_state; /* the MODEL arena (running statistics) to embed with the
                               * weights; with weights NULL, the caller supplies it too */
    int train_batch;          /* samples NAME_train_step takes at most (its workspace
                               * holds them); 0: the spec's batch */
} comp_emit_opts;

/* What the code comp_emit writes for plan p with opts o needs, as its
 * header's macros give it: read-only bytes of the embedded weights and
 * running statistics; NAME_predict's workspace (floats per sample,
 * NAME_predict_batch's for max_batch samples); the stack bound; and for
 * NAME_train_step (train_batch samples) its workspace, the parameters
 * and the optimizer state and running statistics of NAME_train_state. */
typedef struct {
    size_t weights_bytes;
    size_t sample_workspace_floats;
    int max_batch;
    size_t stack_bytes;
    int train_batch;
    size_t train_workspace_floats;
    size_t params_bytes;
    size_t state_floats;
} comp_emit_memory;

/* Fill *m for plan p and opts o (weights, spec and paths unused).
 * Returns 0, or -1 when out of memory. */
int comp_emit_memory_of(const comp_plan *p, const comp_emit_opts *o, comp_emit_memory *m);

/* Write the header to h and the implementation to c for plan p (the names
 * are the model's name).  The code depends on libm only (and on a CBLAS
 * with opts->blas), allocates nothing, keeps no global mutable state and
 * prints nothing; every byte it needs is a macro of the header.  Its own
 * internal symbols are static and named netc_*, a prefix no model name
 * may have (comp_model_name_problem), so none can collide with the
 * model's; paths reach the C only escaped, in comments.  Returns 0, or -1
 * (reported on stderr) when the plan cannot be emitted, possibly after
 * writing part of h and c: write into memory, and to files only on 0. */
int comp_emit(const comp_plan *p, const comp_emit_opts *opts, FILE *h, FILE *c);

/* Write the C source of a whole program for plan p (`netc build`): the
 * spec's text built in, a function running each op of the plan as one
 * kernel call with constants (the ops that need the whole net go through
 * the interpreter's executor), and a main that hands both to netc's
 * command line (compiler/cli.h).  It links with libnetc.a and OpenBLAS.
 * spec_name appears in messages (any bytes: it is escaped in the C).
 * Returns 0, or -1 (reported on stderr). */
int comp_emit_program(const comp_plan *p, const char *spec_name, const char *spec_text, FILE *c);

/* The runtime kernels as C source text, macro-expanded for emitting
 * (every function static): with portable matrix products, and with calls
 * to cblas_sgemm.  Generated at build time from the kernel sources; an
 * emitted NAME.c carries the part its model reaches (emit_select.h). */
extern const char comp_emit_kernels_portable[];
extern const char comp_emit_kernels_blas[];

#endif
