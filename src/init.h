/* SPDX-License-Identifier: MIT */
/* init.h - weight initialization of a layer. */
#ifndef NNF_INIT_H
#define NNF_INIT_H

#include "net.h"

/* Weights of layer from scheme and seed (its own stream (seed, l)), biases 0. */
void nnf__layer_init(nnf_layer *layer, nnf_init scheme, uint64_t seed);

#endif /* NNF_INIT_H */
