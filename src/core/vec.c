/* vec.c - whole-array helpers: the update over a parameter arena and the
 * scans that find bad values. */
#include "core.h"

#include <math.h>

/* W -= alpha dW, b -= alpha db: one pass over the parameter arena. */
void nnf__sgd(float *restrict p, const float *restrict g, size_t n, float lr)
{
    for (size_t i = 0; i < n; i++)
        p[i] -= lr * g[i];
}

size_t nnf__find_nonfinite(const float *x, size_t n)
{
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
