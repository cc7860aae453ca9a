/* SPDX-License-Identifier: MIT */
/* workspace.c - sizing, allocating and installing the block of a batch. */
#include "workspace.h"
#include "alloc.h"
#include "arena.h"

/* Floats of a block for m samples: A[l] of every layer, the logits Z[L],
 * the scratch for dA[l-1] (l >= 2, so the widest hidden layer) and the
 * padded Z or dZ of the widest padded layer.
 * 0 when the bytes would overflow size_t. */
static size_t work_floats(const nnf_net *net, size_t m)
{
    size_t out = nnf__output_layer(net)->n_out, extra = net->widest_hidden + net->widest_padded;
    if (net->rows > SIZE_MAX - out - extra)
        return 0;
    size_t rows = net->rows + out + extra;
    if (rows > SIZE_MAX / sizeof(float) / m)
        return 0;
    return rows * m;
}

float *nnf__work_alloc(const nnf_net *net, const nnf__work *w, size_t m, nnf_status *st)
{
    *st = NNF_OK;
    if (m <= w->cap_m)
        return NULL;
    size_t floats = work_floats(net, m);
    if (!floats) {
        *st = nnf__fail(NNF_ERR_SHAPE,
                        "batch of m = %zu samples: the workspace would overflow "
                        "size_t",
                        m);
        return NULL;
    }
    float *block = nnf__malloc(floats * sizeof(float));
    if (!block)
        *st = nnf__fail(NNF_ERR_NOMEM, "could not allocate %zu bytes of workspace for m = %zu",
                        floats * sizeof(float), m);
    return block;
}

void nnf__work_install(nnf_net *net, nnf__work *w, float *block, size_t m)
{
    nnf__free(w->block);
    w->block = block;
    w->cap_m = m;
    if (w == &net->work) {
        nnf__forget_forward(net);
        nnf__arena_fit(net);
    }
}

nnf_status nnf__work_reserve(nnf_net *net, nnf__work *w, size_t m)
{
    nnf_status st;
    float *block = nnf__work_alloc(net, w, m, &st);
    if (block)
        nnf__work_install(net, w, block, m);
    return st;
}

void nnf__work_free(nnf__work *w)
{
    nnf__free(w->block);
    w->block = NULL;
    w->cap_m = 0;
}
