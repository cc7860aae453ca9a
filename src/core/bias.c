/* bias.c - the bias broadcast of the forward pass and its reduction, the
 * bias gradient, of the backward pass. */
#include "core.h"

/* Z[:, j] += b for every column j.   Z: n x m, b: n */
void nnf__bias_add(float *z, const float *b, size_t n, size_t m)
{
    for (size_t j = 0; j < m; j++) {
        float *col = z + j * n;
        for (size_t i = 0; i < n; i++)
            col[i] += b[i];
    }
}

/* db = scale * sum_j dZ[:, j].   dZ: n x m, db: n.
 * Columns are added in order into a float accumulator per row: the sum
 * walks memory contiguously and its rounding does not depend on threads. */
void nnf__bias_grad(const float *dz, float *db, size_t n, size_t m, float scale)
{
    for (size_t i = 0; i < n; i++)
        db[i] = 0.0f;
    for (size_t j = 0; j < m; j++) {
        const float *col = dz + j * n;
        for (size_t i = 0; i < n; i++)
            db[i] += col[i];
    }
    for (size_t i = 0; i < n; i++)
        db[i] *= scale;
}
