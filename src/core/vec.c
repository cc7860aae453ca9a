/* SPDX-License-Identifier: MIT */
/* vec.c - whole-array helpers: the scans that find bad values, and the
 * L2 penalty's sum of squares and gradient term. Each scan runs a branch-free pass that the
 * compiler vectorizes, and looks for the index only when that pass finds
 * something. */
#include "core.h"

#include <math.h>
#include <string.h>

static int all_finite(const float *restrict x, size_t n)
{
    uint32_t bad = 0;
    for (size_t i = 0; i < n; i++)
        bad |= nnf__nonfinite(x[i]);
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

/* sum of x^2, in double: four accumulators keep the adds independent. */
NNF__VECTOR
double nnf__sum_squares(const float *x, size_t n)
{
    double s[4] = {0.0, 0.0, 0.0, 0.0};
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        for (size_t k = 0; k < 4; k++)
            s[k] += (double)x[i + k] * (double)x[i + k];
    for (; i < n; i++)
        s[0] += (double)x[i] * (double)x[i];
    return (s[0] + s[1]) + (s[2] + s[3]);
}

/* y += a x */
NNF__VECTOR
void nnf__add_scaled(float *restrict y, const float *restrict x, size_t n, float a)
{
    for (size_t i = 0; i < n; i++)
        y[i] += a * x[i];
}

NNF__VECTOR
void nnf__scale(float *x, size_t n, float a)
{
    for (size_t i = 0; i < n; i++)
        x[i] *= a;
}

NNF__VECTOR
void nnf__standardize(float *restrict dst, const float *restrict x, const float *restrict mean,
                      const float *restrict std, size_t n, size_t m)
{
    for (size_t j = 0; j < m; j++)
        for (size_t i = 0; i < n; i++)
            dst[j * n + i] = (x[j * n + i] - mean[i]) / std[i];
}
