/* SPDX-License-Identifier: MIT */
/* dropout.c - inverted dropout (docs/math.md): in a training pass a hidden
 * layer's activation is kept with probability 1 - p and scaled by
 * 1 / (1 - p), or set to 0. Whether unit i of sample j is kept is a hash of
 * (the pass's key, i, j), not a draw from a stream: the backward pass
 * recomputes the mask instead of storing it, any block of columns can be
 * computed on any thread, and the mask is the same at any thread count. */
#include "core.h"

/* murmur3's finalizer: a bijection of 32 bits whose every output bit
 * depends on every input bit. */
static inline uint32_t fmix32(uint32_t h)
{
    h ^= h >> 16;
    h *= 0x85EBCA6Bu;
    h ^= h >> 13;
    h *= 0xC2B2AE35u;
    h ^= h >> 16;
    return h;
}

/* The hash of sample j's column for key (computed once per column). */
static inline uint32_t column_hash(uint64_t key, size_t j)
{
    return fmix32((uint32_t)(key >> 32) ^ fmix32((uint32_t)j ^ (uint32_t)((uint64_t)j >> 32)));
}

/* Unit i of a column kept: its hash at or above the drop threshold. */
static inline uint32_t kept(uint64_t key, uint32_t col, size_t i, uint32_t threshold)
{
    return fmix32((uint32_t)key ^ fmix32((uint32_t)i ^ col)) >= threshold;
}

NNF__VECTOR
void nnf__dropout_forward(float *a, size_t n, size_t first, size_t m, const nnf__dropout *d)
{
    for (size_t j = 0; j < m; j++) {
        uint32_t col = column_hash(d->key, first + j);
        float *aj = a + j * n;
        for (size_t i = 0; i < n; i++)
            aj[i] = kept(d->key, col, i, d->threshold) ? aj[i] * d->scale : 0.0f;
    }
}

NNF__VECTOR
void nnf__dropout_backward(float *a, float *da, size_t n, size_t first, size_t m,
                           const nnf__dropout *d)
{
    for (size_t j = 0; j < m; j++) {
        uint32_t col = column_hash(d->key, first + j);
        float *aj = a + j * n, *dj = da + j * n;
        for (size_t i = 0; i < n; i++) {
            uint32_t k = kept(d->key, col, i, d->threshold);
            /* the gradient through the scaling, and g's own value back for g' */
            dj[i] = k ? dj[i] * d->scale : 0.0f;
            aj[i] = k ? aj[i] / d->scale : 0.0f;
        }
    }
}

uint64_t nnf__dropout_key(uint64_t seed, uint64_t epoch, uint64_t batch, size_t layer)
{
    nnf__rng r;
    nnf__rng_seed(&r, seed ^ nnf__rng_mix(epoch),
                  UINT64_C(0x64726f706f7574) ^ layer); /* "dropout" */
    nnf__rng_seed(&r, nnf__rng_next(&r) ^ nnf__rng_mix(batch), layer);
    return nnf__rng_next(&r);
}

nnf__dropout nnf__dropout_of(float rate, uint64_t key)
{
    nnf__dropout d;
    d.key = key;
    /* drop when the hash is below rate 2^32: P(drop) is rate to 2^-32 */
    d.threshold = (uint32_t)((double)rate * 4294967296.0);
    d.scale = 1.0f / (1.0f - rate);
    return d;
}
