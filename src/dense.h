/* SPDX-License-Identifier: MIT */
/* dense.h - a fully-connected layer's forward and backward, as core calls. */
#ifndef NNF_DENSE_H
#define NNF_DENSE_H

#include "net.h"

/* A product as the blocks of its plan, on nnfast's threads. */
void nnf__run_product(nnf__product p);
/* pad: room for n_pad x m floats, for a padded layer (NULL otherwise).
 * Z = W A_in + b, A = g(Z), then with drop (a training pass of a hidden
 * layer with dropout) A's dropped units 0 and the kept ones scaled.
 * A_in: n_in x m; Z, A: n_out x m (a == z: in place). Returns 1 if Z has a
 * NaN or infinity. */
int nnf__dense_forward(const nnf_layer *layer, const float *a_in, float *z, float *a, size_t m,
                       float *pad, const nnf__dropout *drop);
/* dW = (1/m) dZ A_in^T, db = (1/m) rowsum(dZ), and, when da_in is not NULL,
 * dA_in = W^T dZ with W as it was in the forward pass (no update yet). */
void nnf__dense_backward(nnf_layer *layer, const float *a_in, const float *dz, float *da_in,
                         size_t m, float *pad);

/* dZ = dA * g'(A) of the layer, written over its activation a (n_out x m);
 * with drop (the forward pass's), dA through the mask and A back to g(Z)
 * first. */
void nnf__dense_deriv_over_a(const nnf_layer *layer, float *a, float *d, size_t m,
                             const nnf__dropout *drop);

#endif /* NNF_DENSE_H */
