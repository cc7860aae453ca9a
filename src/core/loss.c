/* loss.c - loss values and output gradients (MATH.md, "Losses"). Sums are
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
