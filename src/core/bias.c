/* SPDX-License-Identifier: MIT */
/* bias.c - the bias reduction of the backward pass, db = (1/m) rowsum(dZ).
 * (The forward broadcast is fused with the activation in act.c.) */
#include "core.h"

/* db = scale * sum_j dZ[:, j].   dZ: n x m, db: n.
 * The columns are added in order, in blocks of w values (core.h), into
 * float accumulators; a narrow layer's block holds w / n columns, folded
 * into db at the end. The order is fixed: the rounding does not depend on
 * threads or on the machine. */
NNF__VECTOR
void nnf__bias_grad(const float *dz, float *db, size_t n, size_t m, float scale)
{
    float acc[NNF__MAX_BLOCK];
    size_t w = nnf__block_width(n), total = n * m;
    float *sum = w == n ? db : acc;
    for (size_t t = 0; t < w; t++)
        sum[t] = 0.0f;
    for (size_t off = 0; off < total; off += w) {
        size_t len = total - off < w ? total - off : w;
        const float *col = dz + off;
        for (size_t t = 0; t < len; t++)
            sum[t] += col[t];
    }
    if (sum != db) {
        for (size_t i = 0; i < n; i++)
            db[i] = 0.0f;
        for (size_t t = 0; t < w; t++)
            db[t % n] += acc[t];
    }
    for (size_t i = 0; i < n; i++)
        db[i] *= scale;
}
