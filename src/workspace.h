/* SPDX-License-Identifier: MIT */
/* workspace.h - the memory of a batch: A[l] of every layer, the output
 * logits and the backward scratch, in one block sized for the largest batch
 * seen and reused, so steady training and inference allocate nothing. */
#ifndef NNF_WORKSPACE_H
#define NNF_WORKSPACE_H

#include "net.h"

/* Where each matrix of a workspace sized for net starts (nnf__work says
 * the two layouts). */
static inline float *nnf__work_a(const nnf__work *w, const nnf_layer *ly)
{
    size_t row = !w->alt_rows[0] ? ly->rows_before : ly->index & 1 ? 0 : w->alt_rows[0];
    return w->block + row * w->cap_m;
}
static inline float *nnf__work_logits(const nnf_net *net, const nnf__work *w)
{
    size_t rows = w->alt_rows[0] ? w->alt_rows[0] + w->alt_rows[1] : net->rows;
    return w->block + rows * w->cap_m;
}
/* dA[l-1] in backward (the net's own layout only). */
static inline float *nnf__work_scratch(const nnf_net *net, const nnf__work *w)
{
    return nnf__work_logits(net, w) + nnf__output_layer(net)->n_out * w->cap_m;
}
/* The padded Z or dZ of a padded layer (net->widest_padded rows). */
static inline float *nnf__work_pad(const nnf_net *net, const nnf__work *w)
{
    return nnf__work_scratch(net, w) + (w->alt_rows[0] ? 0 : net->widest_hidden) * w->cap_m;
}
/* x through the net's input scaling (n_in rows; only with scaling set). */
static inline float *nnf__work_input(const nnf_net *net, const nnf__work *w)
{
    return nnf__work_pad(net, w) + net->widest_padded * w->cap_m;
}

/* A block for m samples, not yet installed: NULL with NNF_OK in *st when w
 * already holds m; NULL with the failure reported in *st (NNF_ERR_SHAPE,
 * NNF_ERR_NOMEM) otherwise. Allocating before installing lets a call get
 * everything it needs before it changes anything. */
float *nnf__work_alloc(const nnf_net *net, const nnf__work *w, size_t m, nnf_status *st);
/* Replace w's block by block (from nnf__work_alloc for m). The net's own
 * workspace loses the stored forward pass that lived in the old block. */
void nnf__work_install(nnf_net *net, nnf__work *w, float *block, size_t m);
/* The forward-only workspace of an inference context for up to m samples,
 * not installed anywhere: NULL with the failure reported in *st. */
float *nnf__work_alloc_alternating(const nnf_net *net, size_t m, size_t alt_rows[2],
                                   nnf_status *st);
/* Make w hold at least m samples (nothing to do below the largest m seen). */
nnf_status nnf__work_reserve(nnf_net *net, nnf__work *w, size_t m);
void nnf__work_free(nnf__work *w);

#endif /* NNF_WORKSPACE_H */
