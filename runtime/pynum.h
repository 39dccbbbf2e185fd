/* pynum.h — a scalar of torch.optim.LBFGS's Python code, which is either a
 * Python float (double) or a 0-dim float32 tensor, with the arithmetic of
 * the mix: once a tensor takes part, the operation runs in float32 with
 * the Python float rounded to float first (torch's wrapped-number type
 * promotion); comparisons likewise.  The line search's step t starts as
 * one or the other and changes kind as it goes, so exact agreement with
 * torch needs the kind tracked.  Python ints (0, 1, 2, 3) are exact
 * doubles. */
#ifndef NETC_RUNTIME_PYNUM_H
#define NETC_RUNTIME_PYNUM_H

#include <math.h>

typedef struct {
    double v;   /* the value; a float's value when tensor */
    int tensor; /* 1: a float32 tensor */
} pynum;

static inline pynum py_float(double v)
{
    return (pynum){v, 0};
}

static inline pynum py_tensor(float v)
{
    return (pynum){(double)v, 1};
}

static inline float py_f(pynum a)
{
    return (float)a.v;
}

static inline int py_any_tensor(pynum a, pynum b)
{
    return a.tensor || b.tensor;
}

static inline pynum py_add(pynum a, pynum b)
{
    return py_any_tensor(a, b) ? py_tensor(py_f(a) + py_f(b)) : py_float(a.v + b.v);
}

static inline pynum py_sub(pynum a, pynum b)
{
    return py_any_tensor(a, b) ? py_tensor(py_f(a) - py_f(b)) : py_float(a.v - b.v);
}

static inline pynum py_mul(pynum a, pynum b)
{
    return py_any_tensor(a, b) ? py_tensor(py_f(a) * py_f(b)) : py_float(a.v * b.v);
}

/* number / tensor is Tensor.__rtruediv__: reciprocal(b) * a, two roundings. */
static inline pynum py_div(pynum a, pynum b)
{
    if (b.tensor && !a.tensor)
        return py_tensor((1.0f / py_f(b)) * py_f(a));
    return a.tensor ? py_tensor(py_f(a) / py_f(b)) : py_float(a.v / b.v);
}

static inline pynum py_abs(pynum a)
{
    return a.tensor ? py_tensor(fabsf(py_f(a))) : py_float(fabs(a.v));
}

static inline int py_lt(pynum a, pynum b)
{
    return py_any_tensor(a, b) ? py_f(a) < py_f(b) : a.v < b.v;
}

static inline int py_le(pynum a, pynum b)
{
    return py_any_tensor(a, b) ? py_f(a) <= py_f(b) : a.v <= b.v;
}

/* Python's max(a, b) and min(a, b): b only when strictly beyond a. */
static inline pynum py_max(pynum a, pynum b)
{
    return py_lt(a, b) ? b : a;
}

static inline pynum py_min(pynum a, pynum b)
{
    return py_lt(b, a) ? b : a;
}

#endif
