/* act.c - activation kernels g(z) and their derivatives g'(.) computed from
 * the activation a alone, so a layer keeps only A[l] for backward (MATH.md). */
#include "core.h"

#include <math.h>

/* sigma(z) = 1 / (1 + e^-z), written so that e^x never overflows:
 * for z < 0, sigma(z) = e^z / (1 + e^z). */
static float sigmoid(float z)
{
    if (z >= 0.0f)
        return 1.0f / (1.0f + expf(-z));
    float e = expf(z);
    return e / (1.0f + e);
}

void nnf__act_forward(int act, float alpha, const float *z, float *a, size_t n)
{
    size_t i;
    switch (act) {
    case NNF__SIGMOID:
        for (i = 0; i < n; i++) a[i] = sigmoid(z[i]);
        break;
    case NNF__TANH:
        for (i = 0; i < n; i++) a[i] = tanhf(z[i]);
        break;
    case NNF__RELU: /* max(0, z) */
        for (i = 0; i < n; i++) a[i] = z[i] > 0.0f ? z[i] : 0.0f;
        break;
    case NNF__LEAKY: /* z if z > 0 else alpha z */
        for (i = 0; i < n; i++) a[i] = z[i] > 0.0f ? z[i] : alpha * z[i];
        break;
    default: /* linear: g(z) = z */
        if (a != z)
            for (i = 0; i < n; i++) a[i] = z[i];
        break;
    }
}

void nnf__act_backward(int act, float alpha, const float *a, const float *d_in,
                       float *d_out, size_t n)
{
    size_t i;
    switch (act) {
    case NNF__SIGMOID: /* g' = a (1 - a) */
        for (i = 0; i < n; i++) d_out[i] = d_in[i] * (a[i] * (1.0f - a[i]));
        break;
    case NNF__TANH: /* g' = 1 - a^2 */
        for (i = 0; i < n; i++) d_out[i] = d_in[i] * (1.0f - a[i] * a[i]);
        break;
    case NNF__RELU: /* g' = 1 if z > 0 else 0; a > 0 exactly when z > 0 */
        for (i = 0; i < n; i++) d_out[i] = a[i] > 0.0f ? d_in[i] : 0.0f;
        break;
    case NNF__LEAKY: /* g' = 1 if z > 0 else alpha; alpha > 0 keeps the sign */
        for (i = 0; i < n; i++) d_out[i] = a[i] > 0.0f ? d_in[i] : alpha * d_in[i];
        break;
    default: /* linear: g' = 1 */
        if (d_out != d_in)
            for (i = 0; i < n; i++) d_out[i] = d_in[i];
        break;
    }
}
