/* SPDX-License-Identifier: MIT */
/* check.h - the argument checks that several public calls share: a batch,
 * its values, its labels, and the loss against the output layer. Each
 * reports its failure on the current call and returns its status. */
#ifndef NNF_CHECK_H
#define NNF_CHECK_H

#include "net.h"

/* x and m of a batch call on a net with layers: x not NULL, 1 <= m <=
 * INT_MAX, and m samples of inputs and of outputs addressable. */
nnf_status nnf__check_batch(const nnf_net *net, const float *x, size_t m);
/* NaN or infinity in the user's matrix `float v[m][n]` (named name) is
 * NNF_ERR_NUMERIC, naming the element. */
nnf_status nnf__check_finite(const char *name, const float *v, size_t n, size_t m);
/* The rule of the x scan: a failed call must not cost a stored forward
 * pass, so when there is one, x is scanned before anything changes;
 * otherwise the forward pass itself finds NaN or infinity in x (in the
 * small Z[1], without reading x twice). */
nnf_status nnf__check_x_keeps_forward(const nnf_net *net, const float *x, size_t m);
/* BCE with a sigmoid output, cross-entropy with softmax, softmax with
 * nothing but cross-entropy (NNF_ERR_STATE). */
nnf_status nnf__check_loss(const nnf_net *net);
/* Labels `float y[m][n_L]`: not NULL, finite, and in [0, 1] for BCE and
 * cross-entropy. */
nnf_status nnf__check_labels(const nnf_net *net, const float *y, size_t m);

/* The checks of a call that computes the cost of (x, y): the batch, the loss
 * against the output layer, the labels, and the rule of the x scan. */
nnf_status nnf__check_labeled_batch(const nnf_net *net, const float *x, const float *y, size_t m);

#endif /* NNF_CHECK_H */
