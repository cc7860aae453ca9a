/* SPDX-License-Identifier: MIT */
/* dense.c - a fully-connected layer written as core calls (docs/math.md). */
#include "dense.h"

int nnf__dense_forward(const nnf_layer *layer, const float *a_in, float *z, float *a, size_t m)
{
    nnf__linear_forward(layer->wt, a_in, z, layer->n_in, layer->n_out, m);
    if (layer->act == NNF_ACT_SOFTMAX) /* the output layer: z != a */
        return nnf__bias_softmax_forward(z, layer->b, a, layer->n_out, m);
    return nnf__bias_act_forward(layer->act, layer->alpha, z, layer->b, a, layer->n_out, m);
}

void nnf__dense_backward(nnf_layer *layer, const float *a_in, const float *dz, float *da_in,
                         size_t m)
{
    float inv_m = 1.0f / (float)m;
    nnf__linear_weight_grad(a_in, dz, layer->dwt, layer->n_in, layer->n_out, m, inv_m);
    nnf__bias_grad(dz, layer->db, layer->n_out, m, inv_m);
    if (da_in)
        nnf__linear_input_grad(layer->wt, dz, da_in, layer->n_in, layer->n_out, m);
}
