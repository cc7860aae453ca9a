/* SPDX-License-Identifier: MIT */
/* init.c - weight initialization schemes (biases start at 0), and
 * nnf_net_init, which starts a net's training over. */
#include "init.h"
#include "arena.h"
#include "optimizer.h"

#include <math.h>
#include <string.h>

/* Standard deviation of N(0, s^2) for a scheme:
 * He sqrt(2 / n_in), Xavier (Glorot) sqrt(2 / (n_in + n_out)), small 0.01. */
static double init_scale(nnf_init scheme, int act, size_t n_in, size_t n_out)
{
    if (scheme == NNF_INIT_DEFAULT)
        scheme = (act == NNF_ACT_RELU || act == NNF_ACT_LEAKY_RELU) ? NNF_INIT_HE : NNF_INIT_XAVIER;
    switch (scheme) {
    case NNF_INIT_HE: return sqrt(2.0 / (double)n_in);
    case NNF_INIT_XAVIER: return sqrt(2.0 / ((double)n_in + (double)n_out));
    default: return 0.01;
    }
}

/* Layer l draws from stream l of the seed, unit after unit, so the weights
 * depend only on (seed, l, shape) and are the same on every machine. */
void nnf__layer_init(nnf_layer *layer, nnf_init scheme, uint64_t seed)
{
    nnf__rng rng;
    double scale = init_scale(scheme, layer->act, layer->n_in, layer->n_out);
    size_t n = layer->n_in * layer->n_out;
    nnf__rng_seed(&rng, seed, layer->index);
    for (size_t i = 0; i < n; i++)
        layer->wt[i] = (float)(scale * nnf__rng_normal(&rng));
    memset(layer->b, 0, layer->n_out * sizeof(float));
}

NNF_API nnf_status nnf_net_init(nnf_net *net, nnf_init scheme, uint64_t seed)
{
    nnf__call c;
    nnf_status st = nnf__enter_write(&c, __func__, net);
    if (st == NNF_OK)
        st = nnf__check_changeable(net);
    if (st == NNF_OK && (unsigned)scheme >= NNF__N_INITS)
        st = nnf__fail(NNF_ERR_ARG, "scheme = %d is not an nnf_init (expected 0..%d)", (int)scheme,
                       NNF__N_INITS - 1);
    if (st != NNF_OK)
        return nnf__leave(&c, st);
    net->seed = seed;
    for (size_t l = 0; l < net->depth; l++)
        nnf__layer_init(net->layers[l], scheme, seed);
    nnf__forget_passes(net);
    nnf__optim_restart(net); /* training starts over: so does the optimizer */
    nnf__arena_fit(net);     /* the layers are all there: their growth room goes */
    return nnf__leave(&c, NNF_OK);
}
