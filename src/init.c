/* init.c - weight initialization schemes (biases start at 0). */
#include "internal.h"

#include <math.h>
#include <string.h>

/* Standard deviation of N(0, s^2) for a scheme:
 * He sqrt(2 / n_in), Xavier (Glorot) sqrt(2 / (n_in + n_out)), small 0.01. */
static double init_scale(nnf_init scheme, int act, size_t n_in, size_t n_out)
{
    if (scheme == NNF_INIT_DEFAULT)
        scheme = (act == NNF__RELU || act == NNF__LEAKY) ? NNF_INIT_HE : NNF_INIT_XAVIER;
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
