/* dense.c - a fully-connected layer written as core calls (MATH.md). */
#include "internal.h"

/* Z = W A_in + b, A = g(Z).   A_in: n_in x m, Z, A: n_out x m (a == z: in
 * place). Returns 1 if Z has a NaN or infinity. */
int nnf__dense_forward(const nnf_layer *layer, const float *a_in, float *z, float *a, size_t m)
{
    nnf__linear_forward(layer->wt, a_in, z, layer->n_in, layer->n_out, m);
    if (layer->act == NNF_ACT_SOFTMAX) /* the output layer: z != a */
        return nnf__bias_softmax_forward(z, layer->b, a, layer->n_out, m);
    return nnf__bias_act_forward(layer->act, layer->alpha, z, layer->b, a, layer->n_out, m);
}

/* dW = (1/m) dZ A_in^T, db = (1/m) rowsum(dZ), and, when da_in is not NULL,
 * dA_in = W^T dZ with W as it was in the forward pass (no update yet). */
void nnf__dense_backward(nnf_layer *layer, const float *a_in, const float *dz,
                         float *da_in, size_t m)
{
    float inv_m = 1.0f / (float)m;
    nnf__linear_weight_grad(a_in, dz, layer->dwt, layer->n_in, layer->n_out, m, inv_m);
    nnf__bias_grad(dz, layer->db, layer->n_out, m, inv_m);
    if (da_in)
        nnf__linear_input_grad(layer->wt, dz, da_in, layer->n_in, layer->n_out, m);
}
