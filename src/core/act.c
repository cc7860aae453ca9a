/* SPDX-License-Identifier: MIT */
/* act.c - activation kernels: the forward pass's bias broadcast fused with
 * g(z), and g'(.) computed from the activation a alone, so a layer keeps only
 * A[l] for backward (docs/math.md). Each activation has its own loop so that the
 * compiler vectorizes it; in-place and out-of-place loops are separate for
 * the same reason (an overlap check would send the vector loop to scalar). */
#include "core.h"
#include "vmath.h"

#include <float.h>

/* v = Z + b, A = G(v), over the matrix in blocks of w values (core.h);
 * bw is the bias repeated to the block's width. */
#define BIAS_ACT_LOOP(G)                                    \
    do {                                                    \
        for (size_t off = 0; off < total; off += w) {       \
            size_t len = total - off < w ? total - off : w; \
            float *zc = z + off;                            \
            if (a == z) {                                   \
                for (size_t t = 0; t < len; t++) {          \
                    float v = zc[t] + bw[t];                \
                    bad |= nnf__nonfinite(v);               \
                    zc[t] = (G);                            \
                }                                           \
            } else {                                        \
                float *ac = a + off;                        \
                for (size_t t = 0; t < len; t++) {          \
                    float v = zc[t] + bw[t];                \
                    bad |= nnf__nonfinite(v);               \
                    zc[t] = v;                              \
                    ac[t] = (G);                            \
                }                                           \
            }                                               \
        }                                                   \
    } while (0)

NNF__VECTOR
int nnf__bias_act_forward(int act, float alpha, float *z, const float *b, float *a, size_t n,
                          size_t m)
{
    float rep[NNF__MAX_BLOCK];
    size_t w = nnf__block_width(n), total = n * m;
    const float *bw = b;
    uint32_t bad = 0;
    if (w != n) {
        for (size_t t = 0; t < w; t++)
            rep[t] = b[t % n];
        bw = rep;
    }
    switch (act) {
    case NNF__SIGMOID: /* 1 / (1 + e^-z) */ BIAS_ACT_LOOP(nnf__sigmoidf(v)); break;
    case NNF__TANH: BIAS_ACT_LOOP(nnf__tanhf(v)); break;
    case NNF__RELU: /* max(0, z) */ BIAS_ACT_LOOP(v > 0.0f ? v : 0.0f); break;
    case NNF__LEAKY: /* z if z > 0 else alpha z */ BIAS_ACT_LOOP(v > 0.0f ? v : alpha * v); break;
    default: /* linear: g(z) = z */ BIAS_ACT_LOOP(v); break;
    }
    return bad != 0;
}

/* d = d * G, G an expression of the activation av (d's own value is dv). */
#define DERIV_LOOP(out, G)           \
    for (size_t i = 0; i < n; i++) { \
        float av = a[i], dv = d[i];  \
        (void)av;                    \
        out[i] = (G);                \
    }

#define DERIV_SWITCH(out)                                                                   \
    switch (act) {                                                                          \
    case NNF__SIGMOID: /* g' = a (1 - a) */ DERIV_LOOP(out, dv *(av * (1.0f - av))); break; \
    case NNF__TANH: /* g' = 1 - a^2 */ DERIV_LOOP(out, dv *(1.0f - av * av)); break;        \
    case NNF__RELU: /* g' = 1 if z > 0 else 0; a > 0 exactly when z > 0 */                  \
        DERIV_LOOP(out, av > 0.0f ? dv : 0.0f);                                             \
        break;                                                                              \
    case NNF__LEAKY: /* g' = 1 if z > 0 else alpha; alpha > 0 keeps the sign */             \
        DERIV_LOOP(out, av > 0.0f ? dv : alpha * dv);                                       \
        break;                                                                              \
    default: /* linear: g' = 1 */ DERIV_LOOP(out, dv); break;                               \
    }

/* d = d * g'(a) */
NNF__VECTOR
void nnf__act_backward(int act, float alpha, const float *a, float *d, size_t n){DERIV_SWITCH(d)}

/* a = d * g'(a): dZ written over the activation it was computed from. */
NNF__VECTOR void nnf__act_backward_over_a(int act, float alpha, float *a, const float *d,
                                          size_t n){DERIV_SWITCH(a)}

/* softmax(z)_k = e^(z_k - max) / sum_j e^(z_j - max), one column (sample) at
 * a time: subtracting the column's max keeps every e^x in (0, 1]. */
NNF__VECTOR int nnf__bias_softmax_forward(float *z, const float *b, float *a, size_t n, size_t m)
{
    uint32_t bad = 0;
    for (size_t j = 0; j < m; j++) {
        float *zc = z + j * n, *ac = a + j * n;
        float max = -FLT_MAX, sum = 0.0f;
        for (size_t i = 0; i < n; i++) {
            float v = zc[i] + b[i];
            bad |= nnf__nonfinite(v);
            zc[i] = v;
            max = v > max ? v : max;
        }
        for (size_t i = 0; i < n; i++) {
            ac[i] = nnf__expf(zc[i] - max);
            sum += ac[i];
        }
        float inv = 1.0f / sum;
        for (size_t i = 0; i < n; i++)
            ac[i] *= inv;
    }
    return bad != 0;
}
