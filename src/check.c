/* SPDX-License-Identifier: MIT */
/* check.c - the shared argument checks of the batch calls (check.h). */
#include "check.h"

#include <limits.h>

nnf_status nnf__check_batch(const nnf_net *net, const float *x, size_t m)
{
    if (!x)
        return nnf__fail(NNF_ERR_ARG, "x is NULL (expected m x %zu floats)", net->n_in);
    if (m == 0)
        return nnf__fail(NNF_ERR_ARG, "m is 0 (expected at least one sample)");
    if (m > INT_MAX)
        return nnf__fail(NNF_ERR_SHAPE, "m = %zu exceeds BLAS's limit of %d samples", m, INT_MAX);
    if (net->depth == 0)
        return nnf__fail(NNF_ERR_STATE, "the net has no layer (add one with nnf_net_add_dense)");
    if (net->n_in > SIZE_MAX / sizeof(float) / m)
        return nnf__fail(NNF_ERR_SHAPE, "x of m = %zu samples of %zu features overflows size_t", m,
                         net->n_in);
    size_t n_out = nnf__output_layer(net)->n_out;
    if (n_out > SIZE_MAX / sizeof(float) / m)
        return nnf__fail(NNF_ERR_SHAPE, "y of m = %zu samples of %zu outputs overflows size_t", m,
                         n_out);
    return NNF_OK;
}

nnf_status nnf__check_finite(const char *name, const float *v, size_t n, size_t m)
{
    size_t bad = nnf__find_nonfinite(v, n * m);
    if (bad == n * m)
        return NNF_OK;
    return nnf__fail(NNF_ERR_NUMERIC, "%s[%zu][%zu] is %g (expected a finite value)", name, bad / n,
                     bad % n, (double)v[bad]);
}

nnf_status nnf__check_x_keeps_forward(const nnf_net *net, const float *x, size_t m)
{
    return net->fwd_m ? nnf__check_finite("x", x, net->n_in, m) : NNF_OK;
}

nnf_status nnf__check_loss(const nnf_net *net)
{
    const nnf_layer *out = nnf__output_layer(net);
    if (out->act == NNF_ACT_SOFTMAX && net->loss != NNF_LOSS_CROSS_ENTROPY)
        return nnf__fail(NNF_ERR_STATE,
                         "the softmax output layer %zu needs loss "
                         "NNF_LOSS_CROSS_ENTROPY",
                         out->index);
    if (net->loss == NNF_LOSS_BCE && out->act != NNF_ACT_SIGMOID)
        return nnf__fail(NNF_ERR_STATE,
                         "loss BCE needs a sigmoid output layer, but layer %zu "
                         "is %s (use NNF_LOSS_MSE or a sigmoid output)",
                         out->index, nnf__act_name(out->act));
    if (net->loss == NNF_LOSS_CROSS_ENTROPY && out->act != NNF_ACT_SOFTMAX)
        return nnf__fail(NNF_ERR_STATE,
                         "loss cross-entropy needs a softmax output layer, but "
                         "layer %zu is %s",
                         out->index, nnf__act_name(out->act));
    return NNF_OK;
}

nnf_status nnf__check_labels(const nnf_net *net, const float *y, size_t m)
{
    size_t n = nnf__output_layer(net)->n_out;
    if (!y)
        return nnf__fail(NNF_ERR_ARG, "y is NULL (expected m x %zu floats)", n);
    nnf_status st = nnf__check_finite("y", y, n, m);
    if (st != NNF_OK || net->loss == NNF_LOSS_MSE)
        return st;
    size_t bad = nnf__find_outside_unit(y, n * m);
    if (bad == n * m)
        return NNF_OK;
    return nnf__fail(NNF_ERR_ARG, "y[%zu][%zu] = %g (%s labels must be in [0, 1])", bad / n,
                     bad % n, (double)y[bad], nnf__loss_name(net->loss));
}

nnf_status nnf__check_labeled_batch(const nnf_net *net, const float *x, const float *y, size_t m)
{
    nnf_status st = nnf__check_batch(net, x, m);
    if (st == NNF_OK)
        st = nnf__check_loss(net);
    if (st == NNF_OK)
        st = nnf__check_labels(net, y, m);
    if (st == NNF_OK)
        st = nnf__check_x_keeps_forward(net, x, m);
    return st;
}
