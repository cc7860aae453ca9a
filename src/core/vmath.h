/* SPDX-License-Identifier: MIT */
/* vmath.h - exp, tanh, sigmoid and log1p for float, written branch-free with
 * basic arithmetic so that GCC vectorizes the loops that call them (glibc's
 * expf/tanhf are calls: on the 2-4-1 planar net they were 45% of a step).
 * Error against double: below 4 ulp (test_core bounds it). Every result is
 * finite, even for NaN or infinite inputs: the kernels detect non-finite
 * pre-activations themselves. Included by the kernels only. */
#ifndef NNF_VMATH_H
#define NNF_VMATH_H

#include <stdint.h>
#include <string.h>

static inline float nnf__bits_to_float(int32_t i)
{
    float f;
    memcpy(&f, &i, sizeof f);
    return f;
}

/* e^x for x clamped to [-87.3, 88.3] (results stay finite and normal):
 * x = k ln2 + r with |r| <= ln2/2 (Cody-Waite split of ln2), e^r from the
 * Cephes minimax polynomial, 2^k built in the exponent bits. */
static inline float nnf__expf(float x)
{
    x = x > -87.3f ? x : -87.3f; /* NaN becomes -87.3 here: no undefined */
    x = x < 88.3f ? x : 88.3f;   /* float-to-int conversion below */
    /* round(x / ln2): adding 1.5 * 2^23 rounds to an integer in float */
    float k = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = x - k * 0.693359375f;
    r = r - k * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    return p * nnf__bits_to_float(((int32_t)k + 127) << 23);
}

/* 1 / (1 + e^-z): never overflows (e^-z is clamped). */
static inline float nnf__sigmoidf(float z)
{
    return 1.0f / (1.0f + nnf__expf(-z));
}

/* tanh: for |x| < 0.625 the Cephes odd polynomial (no cancellation near 0),
 * above it 1 - 2 / (e^2|x| + 1), with the sign of x. */
static inline float nnf__tanhf(float x)
{
    float ax = x < 0.0f ? -x : x;
    float z = x * x;
    float small = ((((-5.70498872745e-3f * z + 2.06390887954e-2f) * z - 5.37397155531e-2f) * z +
                    1.33314422036e-1f) *
                       z -
                   3.33332819422e-1f) *
                      z * x +
                  x;
    float big = 1.0f - 2.0f / (nnf__expf(2.0f * ax) + 1.0f);
    big = x < 0.0f ? -big : big;
    return ax < 0.625f ? small : big;
}

/* log(1 + t) for t in [0, 1]: 2 atanh(s) with s = t / (2 + t) <= 1/3, so
 * the series in s^2 <= 1/9 needs 8 terms for float, and a tiny t loses
 * nothing (s is computed from t, not from 1 + t). */
static inline float nnf__log1p_unit(float t)
{
    float s = t / (2.0f + t), s2 = s * s;
    float p = 1.0f / 15.0f;
    p = p * s2 + 1.0f / 13.0f;
    p = p * s2 + 1.0f / 11.0f;
    p = p * s2 + 1.0f / 9.0f;
    p = p * s2 + 1.0f / 7.0f;
    p = p * s2 + 1.0f / 5.0f;
    p = p * s2 + 1.0f / 3.0f;
    p = p * s2 + 1.0f;
    return 2.0f * s * p;
}

#endif /* NNF_VMATH_H */
