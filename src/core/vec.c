/* vec.c - whole-array helpers: the update over a parameter arena and the
 * scans that find bad values. Each scan runs a branch-free pass that the
 * compiler vectorizes, and looks for the index only when that pass finds
 * something. */
#include "core.h"

#include <math.h>
#include <string.h>

/* An IEEE-754 single is NaN or infinite exactly when its exponent bits are
 * all ones. */
static uint32_t nonfinite_bits(float v)
{
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    return (u & 0x7f800000u) == 0x7f800000u;
}

static int all_finite(const float *restrict x, size_t n)
{
    uint32_t bad = 0;
    for (size_t i = 0; i < n; i++)
        bad |= nonfinite_bits(x[i]);
    return !bad;
}

NNF__VECTOR
size_t nnf__find_nonfinite(const float *x, size_t n)
{
    if (all_finite(x, n))
        return n;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return i;
    return n;
}

size_t nnf__find_outside_unit(const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!(x[i] >= 0.0f && x[i] <= 1.0f)) /* NaN fails both */
            return i;
    return n;
}

/* W -= alpha dW, b -= alpha db: one pass over the parameter arena. */
NNF__VECTOR
void nnf__sgd(float *restrict p, const float *restrict g, size_t n, float lr)
{
    for (size_t i = 0; i < n; i++)
        p[i] -= lr * g[i];
}

/* The first i where p[i] - lr g[i] (exactly as nnf__sgd computes it) is not
 * finite, or n: checked before the update so that a failing one writes
 * nothing. A non-finite gradient is caught here too. */
NNF__VECTOR
size_t nnf__sgd_find_nonfinite(const float *restrict p, const float *restrict g, size_t n,
                               float lr)
{
    uint32_t bad = 0;
    for (size_t i = 0; i < n; i++)
        bad |= nonfinite_bits(p[i] - lr * g[i]);
    if (!bad)
        return n;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(p[i] - lr * g[i]))
            return i;
    return n;
}
