/* loss.c - loss values and output gradients (MATH.md, "Losses"). Sums are
 * accumulated in double; the caller divides by m for J. */
#include "core.h"

#include <math.h>

/* BCE from the logits, never from a rounded sigmoid:
 * -y log s(z) - (1-y) log(1 - s(z)) = max(z,0) - z y + log(1 + e^-|z|).
 * A saturated unit (|z| large) gives a large finite loss, not inf or NaN. */
double nnf__bce_sum(const float *z, const float *y, size_t n)
{
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        double zi = z[i], yi = y[i];
        sum += fmax(zi, 0.0) - zi * yi + log1p(exp(-fabs(zi)));
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
