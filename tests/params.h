/* SPDX-License-Identifier: MIT */
/* params.h - the tests' view of a net's parameters as one array. */
#ifndef NNF_TESTS_PARAMS_H
#define NNF_TESTS_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#include "nnfast.h"

/* Every weight and bias of net (grads = 0), or every dW and db of the last
 * backward (grads = 1), layer after layer, W then b, into out (cap floats).
 * Returns the count, or SIZE_MAX when a get call fails or cap is too small.
 * Safe off the test's thread: it asserts nothing. */
size_t test_net_params(nnf_net *net, float *out, size_t cap, int grads);

/* The floats net_params and net_grads may write: an array of PARAMS_MAX
 * holds the parameters of every net they are used on. */
#define PARAMS_MAX 16384

/* test_net_params into out (PARAMS_MAX floats), failing the test when it
 * fails; returns the count. */
size_t net_params(nnf_net *net, float *out);
size_t net_grads(nnf_net *net, float *out);

/* 1 when a and b have the same number of parameters, bit for bit equal. */
int same_params(nnf_net *a, nnf_net *b);

#endif
