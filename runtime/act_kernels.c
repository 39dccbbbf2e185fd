/* act_kernels.c — elementwise activations, forward and backward, expanded
 * from acts.def: one switch case per activation, each a tight loop over its
 * expression, so adding an activation to acts.def needs no change here. */
#include <math.h>

#include "act_fused.h"
#include "kernels.h"

/* Forward: v = src (+ bias), optionally kept in z, y = fwd(v).  The four
 * variants keep the inner loops branch-free; without a bias nothing is
 * added (adding 0 would turn -0 into +0, which torch's mm does not). */
#define ROWS_FORWARD(fwd)                                                         \
    for (size_t r = 0; r < rows; r++) {                                           \
        const float *sr = src + r * ld;                                           \
        float *yr = ys + r * ld;                                                   \
        if (bias && zs) {                                                          \
            float *zr = zs + r * ld;                                               \
            for (size_t j = 0; j < cols; j++) {                                   \
                const float x = sr[j] + bias[j];                                  \
                zr[j] = x;                                                        \
                yr[j] = (fwd);                                                    \
            }                                                                     \
        } else if (bias) {                                                        \
            for (size_t j = 0; j < cols; j++) {                                   \
                const float x = sr[j] + bias[j];                                  \
                yr[j] = (fwd);                                                    \
            }                                                                     \
        } else if (zs) {                                                           \
            float *zr = zs + r * ld;                                               \
            for (size_t j = 0; j < cols; j++) {                                   \
                const float x = sr[j];                                            \
                zr[j] = x;                                                        \
                yr[j] = (fwd);                                                    \
            }                                                                     \
        } else {                                                                  \
            for (size_t j = 0; j < cols; j++) {                                   \
                const float x = sr[j];                                            \
                yr[j] = (fwd);                                                    \
            }                                                                     \
        }                                                                         \
    }

/* One case per acts.def entry; a, b are unused by most expressions. */
void rt_act_rows_forward(comp_act act, float a, float b, const float *src, const float *bias,
                         float *zs, float *ys, size_t rows, size_t cols, size_t ld)
{
    (void)a;
    (void)b;
    switch (act) {
#define ACT(id, name, needs_x, fwd, deriv, args) \
    case COMP_ACT_##id:                          \
        ROWS_FORWARD(fwd)                        \
        break;
#include "../compiler/acts.def"
#undef ACT
    default:
        break;
    }
}

/* Backward over rows x cols with the element loads given by LOAD; db (when
 * given) accumulates each column in row order, in float.  The bias sum is
 * a second loop over the row just written: fused into the first, its
 * store to db[j] might alias dx as far as the compiler knows, and the
 * loop stayed scalar (14% of a training epoch). */
#define ROWS_BACKWARD(LOAD, deriv)                                                \
    {                                                                             \
        for (size_t r = 0; r < rows; r++) {                                       \
            const size_t o = r * ld;                                              \
            for (size_t j = 0; j < cols; j++) {                                   \
                LOAD                                                              \
                dx[o + j] = dy[o + j] * (deriv);                                  \
            }                                                                     \
            if (db)                                                               \
                for (size_t j = 0; j < cols; j++)                                 \
                    db[j] += dx[o + j];                                           \
        }                                                                         \
    }

/* NEEDS_X = 0: the derivative sees y only (x is not declared, so a
 * derivative that used it would not compile).  NEEDS_X = 1: it sees x, and
 * y from the forward output when given, else recomputed from x (the same
 * expression, so the same bits; unused, it is optimised away). */
#define BACKWARD_CASE_0(fwd, deriv) ROWS_BACKWARD(const float y = ys[o + j]; (void)y;, deriv)
#define BACKWARD_CASE_1(fwd, deriv)                                               \
    if (ys) {                                                                     \
        ROWS_BACKWARD(const float x = xs[o + j]; const float y = ys[o + j]; (void)y;, \
                      deriv)                                                      \
    } else {                                                                      \
        ROWS_BACKWARD(const float x = xs[o + j]; const float y = (fwd); (void)y;, deriv) \
    }

/* db is overwritten, so callers need not clear it. */
void rt_act_rows_backward(comp_act act, float a, float b, const float *xs, const float *ys,
                          const float *dy, float *dx, float *db, size_t rows, size_t cols, size_t ld)
{
    (void)a;
    (void)b;
    (void)xs;
    if (db)
        for (size_t j = 0; j < cols; j++)
            db[j] = 0.0f;
    if (act == COMP_ACT_IDENTITY) {
        /* act' = 1: dx = dy without the multiply. */
        for (size_t r = 0; r < rows; r++) {
            if (dx != dy) /* distinct buffers: never a partial overlap */
                rt_copy(dy + r * ld, dx + r * ld, cols);
            if (db)
                for (size_t j = 0; j < cols; j++)
                    db[j] += dy[r * ld + j];
        }
        return;
    }
    switch (act) {
#define ACT(id, name, needs_x, fwd, deriv, args) \
    case COMP_ACT_##id:                          \
        BACKWARD_CASE_##needs_x(fwd, deriv)      \
        break;
#include "../compiler/acts.def"
#undef ACT
    default:
        break;
    }
}

/* A single row of the fused pass, without bias. */
void rt_act_forward(comp_act act, float a, float b, const float *x, float *y, size_t n)
{
    rt_act_rows_forward(act, a, b, x, NULL, NULL, y, 1, n, n);
}

/* A single row of the fused pass, without bias gradient. */
void rt_act_backward(comp_act act, float a, float b, const float *x, const float *y,
                     const float *dy, float *dx, size_t n)
{
    rt_act_rows_backward(act, a, b, x, y, dy, dx, NULL, 1, n, n);
}
