/* SPDX-License-Identifier: MIT */
/* loss.c - loss values and output gradients (docs/math.md, "Losses"). Sums are
 * accumulated in double; the caller divides by m for J. */
#include "core.h"
#include "vmath.h"

#include <math.h>

/* BCE from the logits, never from a rounded sigmoid:
 * -y log s(z) - (1-y) log(1 - s(z)) = max(z,0) - z y + log(1 + e^-|z|).
 * A saturated unit (|z| large) gives a large finite loss, not inf or NaN.
 * Each loss is computed in float by vectorized code, a block at a time, and
 * the block is summed in double. */
NNF__VECTOR
double nnf__bce_sum(const float *z, const float *y, size_t n)
{
    enum { BLOCK = 64 };
    float loss[BLOCK];
    double sum = 0.0;
    for (size_t start = 0; start < n; start += BLOCK) {
        size_t len = n - start < BLOCK ? n - start : BLOCK;
        const float *zb = z + start, *yb = y + start;
        for (size_t i = 0; i < len; i++) {
            float zi = zb[i], az = zi < 0.0f ? -zi : zi;
            loss[i] = (zi > 0.0f ? zi : 0.0f) - zi * yb[i] + nnf__log1p_unit(nnf__expf(-az));
        }
        for (size_t i = 0; i < len; i++)
            sum += (double)loss[i];
    }
    return sum;
}

/* Categorical cross-entropy from the logits, per column j:
 * -sum_k y_k log a_k = -sum_k y_k (z_k - max - log sum_i e^(z_i - max)).
 * Stable for any finite logits (the largest term of the sum is 1). */
double nnf__ce_sum(const float *z, const float *y, size_t n, size_t m)
{
    double total = 0.0;
    for (size_t j = 0; j < m; j++) {
        const float *zc = z + j * n, *yc = y + j * n;
        double max = -HUGE_VAL, s = 0.0, dot = 0.0, ysum = 0.0;
        for (size_t i = 0; i < n; i++)
            max = fmax(max, (double)zc[i]);
        for (size_t i = 0; i < n; i++) {
            s += exp((double)zc[i] - max);
            dot += (double)yc[i] * ((double)zc[i] - max);
            ysum += (double)yc[i];
        }
        total += ysum * log(s) - dot;
    }
    return total;
}

/* MSE: sum of 1/2 (a - y)^2 */
double nnf__mse_sum(const float *a, const float *y, size_t n)
{
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a[i] - (double)y[i];
        sum += 0.5 * d * d;
    }
    return sum;
}

/* sigmoid + BCE: dZ = dL/da * a (1 - a) = a - y.   MSE: dA = a - y. */
void nnf__output_grad(const float *a, const float *y, float *d, size_t n)
{
    for (size_t i = 0; i < n; i++)
        d[i] = a[i] - y[i];
}

/* Softmax + cross-entropy: dZ = A sum_k y_k - Y per column, the gradient of
 * the cost for any label rows; for rows summing to 1 (one-hot) it is A - Y
 * exactly (a * 1.0f == a).   A, Y, dZ: n x m */
void nnf__ce_output_grad(const float *a, const float *y, float *d, size_t n, size_t m)
{
    for (size_t j = 0; j < m; j++) {
        const float *ac = a + j * n, *yc = y + j * n;
        float *dc = d + j * n, ysum = 0.0f;
        for (size_t i = 0; i < n; i++)
            ysum += yc[i];
        for (size_t i = 0; i < n; i++)
            dc[i] = ac[i] * ysum - yc[i];
    }
}
