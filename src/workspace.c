/* SPDX-License-Identifier: MIT */
/* workspace.c - sizing, allocating and installing the block of a batch, and
 * giving it back (nnf_net_trim). */
#include "workspace.h"
#include "alloc.h"
#include "arena.h"

/* Rows of a block (floats per sample), 0 when they overflow size_t: A[l] of
 * every layer, the logits Z[L], the scratch for dA[l-1] (l >= 2, so the
 * widest hidden layer), the padded Z or dZ of the widest padded layer and,
 * with input scaling, the scaled x. */
static size_t work_rows(const nnf_net *net)
{
    size_t out = nnf__output_layer(net)->n_out, extra = net->widest_hidden + net->widest_padded;
    size_t input = net->scale ? net->n_in : 0;
    if (net->rows > SIZE_MAX - out - extra || net->rows + out + extra > SIZE_MAX - input)
        return 0;
    return net->rows + out + extra + input;
}

/* The rows of a context's two alternating matrices (the widest odd and the
 * widest even layer); their sum is at most net->rows. */
static void alternating(const nnf_net *net, size_t alt_rows[2])
{
    alt_rows[0] = alt_rows[1] = 0;
    for (size_t l = 0; l < net->depth; l++) {
        size_t n = net->layers[l]->n_out, *r = &alt_rows[l % 2]; /* layers[0] is layer 1 */
        *r = n > *r ? n : *r;
    }
}

/* A block of rows x m floats (rows 0: it overflowed); failures reported. */
static float *alloc_block(size_t rows, size_t m, nnf_status *st)
{
    *st = NNF_OK;
    if (!rows || rows > SIZE_MAX / sizeof(float) / m) {
        *st = nnf__fail(NNF_ERR_SHAPE,
                        "batch of m = %zu samples: the workspace would overflow "
                        "size_t",
                        m);
        return NULL;
    }
    size_t floats = rows * m;
    float *block = nnf__malloc(floats * sizeof(float));
    if (!block)
        *st = nnf__fail(NNF_ERR_NOMEM, "could not allocate %zu bytes of workspace for m = %zu",
                        floats * sizeof(float), m);
    return block;
}

float *nnf__work_alloc(const nnf_net *net, const nnf__work *w, size_t m, nnf_status *st)
{
    *st = NNF_OK;
    if (m <= w->cap_m)
        return NULL;
    return alloc_block(work_rows(net), m, st);
}

float *nnf__work_alloc_alternating(const nnf_net *net, size_t m, size_t alt_rows[2], nnf_status *st)
{
    alternating(net, alt_rows);
    size_t rows = work_rows(net) ? alt_rows[0] + alt_rows[1] + nnf__output_layer(net)->n_out +
                                       net->widest_padded + (net->scale ? net->n_in : 0)
                                 : 0;
    return alloc_block(rows, m, st);
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

NNF_API nnf_status nnf_net_trim(nnf_net *net)
{
    nnf__call c;
    nnf_status st = nnf__enter_write(&c, __func__, net);
    if (st == NNF_OK) {
        nnf__forget_forward(net); /* it lived in the workspace and x_copy */
        nnf__work_free(&net->work);
        nnf__free(net->x_copy);
        net->x_copy = NULL;
        net->x_cap = 0;
        nnf__arena_fit(net);
    }
    return nnf__leave(&c, st);
}
