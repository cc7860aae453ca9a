/* params.c - see params.h. */
#include "params.h"

size_t test_net_params(nnf_net *net, float *out, size_t cap, int grads)
{
    size_t n = 0;
    for (size_t l = 1; l <= nnf_net_depth(net); l++) {
        nnf_layer *ly = nnf_net_layer(net, l);
        size_t nw = nnf_layer_units(ly) * nnf_layer_inputs(ly), nb = nnf_layer_units(ly);
        if (n + nw + nb > cap)
            return SIZE_MAX;
        nnf_status sw = grads ? nnf_layer_get_weight_grad(ly, out + n) : nnf_layer_get_weights(ly, out + n);
        nnf_status sb = grads ? nnf_layer_get_bias_grad(ly, out + n + nw) : nnf_layer_get_bias(ly, out + n + nw);
        if (sw != NNF_OK || sb != NNF_OK)
            return SIZE_MAX;
        n += nw + nb;
    }
    return n;
}
