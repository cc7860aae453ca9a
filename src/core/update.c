/* SPDX-License-Identifier: MIT */
/* update.c - the parameter updates of the optimizers over a whole arena
 * (formulas in nnfast.h, nnf_optimizer). Each element's new values come from
 * one inline function, used both by the update and by its check, so the
 * check sees exactly what the update would write. */
#include "core.h"

#include <math.h>
#include <string.h>

/* Find the first i where ok(i) fails, after a branch-free pass says one does. */
#define FIND_FIRST(flag_expr)            \
    do {                                 \
        uint32_t any = 0;                \
        for (size_t i = 0; i < n; i++) { \
            STEP(i);                     \
            any |= (flag_expr);          \
        }                                \
        if (!any)                        \
            return n;                    \
        for (size_t i = 0; i < n; i++) { \
            STEP(i);                     \
            if (flag_expr)               \
                return i;                \
        }                                \
        return n;                        \
    } while (0)

/* ---- SGD: p' = p - lr g */
#define STEP(i) float p1 = p[i] - lr * g[i]

NNF__VECTOR
void nnf__sgd(float *restrict p, const float *restrict g, size_t n, float lr)
{
    for (size_t i = 0; i < n; i++) {
        STEP(i);
        p[i] = p1;
    }
}

NNF__VECTOR
size_t nnf__sgd_check(const float *restrict p, const float *restrict g, size_t n, float lr)
{
    FIND_FIRST(nnf__nonfinite(p1));
}
#undef STEP

/* ---- momentum: v' = beta v + (1 - beta) g, p' = p - lr v' */
#define STEP(i)                                    \
    float v1 = beta * v[i] + (1.0f - beta) * g[i]; \
    float p1 = p[i] - lr * v1

NNF__VECTOR
void nnf__momentum(float *restrict p, float *restrict v, const float *restrict g, size_t n,
                   float lr, float beta)
{
    for (size_t i = 0; i < n; i++) {
        STEP(i);
        v[i] = v1;
        p[i] = p1;
    }
}

NNF__VECTOR
size_t nnf__momentum_check(const float *restrict p, const float *restrict v,
                           const float *restrict g, size_t n, float lr, float beta)
{
    FIND_FIRST(nnf__nonfinite(p1) | nnf__nonfinite(v1));
}
#undef STEP

/* ---- Adam: m' = b1 m + (1-b1) g, v' = b2 v + (1-b2) g^2,
 *            p' = keep p - lr (m' c1) / (sqrt(v' c2) + eps)
 * (keep = 1 - lr decay for AdamW's weights, 1 otherwise) */
#define STEP(i)                                           \
    float gi = g[i];                                      \
    float m1 = k->b1 * m[i] + (1.0f - k->b1) * gi;        \
    float v1 = k->b2 * v[i] + (1.0f - k->b2) * (gi * gi); \
    float p1 = p[i] * k->keep - k->lr * (m1 * k->c1) / (sqrtf(v1 * k->c2) + k->eps)

NNF__VECTOR
void nnf__adam(float *restrict p, float *restrict m, float *restrict v, const float *restrict g,
               size_t n, const nnf__adam_k *k)
{
    for (size_t i = 0; i < n; i++) {
        STEP(i);
        m[i] = m1;
        v[i] = v1;
        p[i] = p1;
    }
}

NNF__VECTOR
size_t nnf__adam_check(const float *restrict p, const float *restrict m, const float *restrict v,
                       const float *restrict g, size_t n, const nnf__adam_k *k)
{
    FIND_FIRST(nnf__nonfinite(p1) | nnf__nonfinite(m1) | nnf__nonfinite(v1));
}
#undef STEP
