/* params.h - the tests' view of a net's parameters as one array. */
#ifndef NNF_TESTS_PARAMS_H
#define NNF_TESTS_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#include "nnfast.h"

/* Every weight and bias of net (grads = 0), or every dW and db of the last
 * backward (grads = 1), layer after layer, W then b, into out (cap floats).
 * Returns the count, or SIZE_MAX when a get call fails or cap is too small. */
size_t test_net_params(nnf_net *net, float *out, size_t cap, int grads);

#endif
