/* SPDX-License-Identifier: MIT */
/* batches.c - shuffled orders and gathered batches (batches.h). */
#include "batches.h"
#include "alloc.h"

#include <stdio.h>
#include <string.h>

/* Uniform in [0, n), n >= 1, without modulo bias: draws below 2^64 mod n
 * are rejected, so the accepted range is a multiple of n. */
static uint64_t rng_below(nnf__rng *r, uint64_t n)
{
    uint64_t reject = (0 - n) % n, v;
    do
        v = nnf__rng_next(r);
    while (v < reject);
    return v % n;
}

void nnf__shuffle(size_t *order, size_t m, nnf__rng *r)
{
    /* m = 0: a trainer's net without samples of its own (an exchange
     * function brings the others') */
    for (size_t i = m ? m - 1 : 0; i > 0; i--) {
        size_t j = (size_t)rng_below(r, (uint64_t)i + 1);
        size_t t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
}

void nnf__gather(float *dst, const float *v, size_t n, const size_t *order, size_t mb)
{
    for (size_t r = 0; r < mb; r++)
        memcpy(dst + r * n, v + order[r] * n, n * sizeof(float));
}

nnf_status nnf__batches_alloc(const nnf_net *net, size_t m, size_t batch, size_t **order,
                              float **xb, float **yb)
{
    size_t n_out = nnf__output_layer(net)->n_out;
    if (m > SIZE_MAX / sizeof **order)
        return nnf__fail(NNF_ERR_SHAPE, "the order of m = %zu samples overflows size_t", m);
    *order = nnf__malloc(m * sizeof **order);
    *xb = nnf__malloc(batch * net->n_in * sizeof(float));
    *yb = nnf__malloc(batch * n_out * sizeof(float));
    if (!*order || !*xb || !*yb)
        return nnf__fail(NNF_ERR_NOMEM,
                         "could not allocate the order of %zu samples and batch "
                         "buffers of %zu",
                         m, batch);
    for (size_t i = 0; i < m; i++)
        (*order)[i] = i;
    return NNF_OK;
}

void nnf__where_in_run(char *buf, size_t cap, const void *position)
{
    const nnf__position *p = position;
    (void)snprintf(buf, cap, "epoch %zu, batch %zu", p->epoch, p->batch);
}
