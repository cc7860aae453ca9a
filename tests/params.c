/* SPDX-License-Identifier: MIT */
/* params.c - see params.h. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "params.h"

#include <string.h>

size_t test_net_params(nnf_net *net, float *out, size_t cap, int grads)
{
    size_t n = 0;
    for (size_t l = 1; l <= nnf_net_depth(net); l++) {
        nnf_layer *ly = nnf_net_layer(net, l);
        size_t nw = nnf_layer_units(ly) * nnf_layer_inputs(ly), nb = nnf_layer_units(ly);
        if (n + nw + nb > cap)
            return SIZE_MAX;
        nnf_status sw =
            grads ? nnf_layer_get_weight_grad(ly, out + n) : nnf_layer_get_weights(ly, out + n);
        nnf_status sb = grads ? nnf_layer_get_bias_grad(ly, out + n + nw)
                              : nnf_layer_get_bias(ly, out + n + nw);
        if (sw != NNF_OK || sb != NNF_OK)
            return SIZE_MAX;
        n += nw + nb;
    }
    return n;
}

static size_t read_all(nnf_net *net, float *out, int grads)
{
    size_t n = test_net_params(net, out, PARAMS_MAX, grads);
    if (n == SIZE_MAX)
        fail_msg("reading the %s of the net failed (%s)", grads ? "gradients" : "parameters",
                 *nnf_net_errmsg(net) ? nnf_net_errmsg(net) : "more than PARAMS_MAX floats");
    return n;
}

size_t net_params(nnf_net *net, float *out)
{
    return read_all(net, out, 0);
}

size_t net_grads(nnf_net *net, float *out)
{
    return read_all(net, out, 1);
}

int same_params(nnf_net *a, nnf_net *b)
{
    static float pa[PARAMS_MAX], pb[PARAMS_MAX]; /* 128 kB: not on the stack */
    size_t na = net_params(a, pa), nb = net_params(b, pb);
    return na == nb && memcmp(pa, pb, na * sizeof(float)) == 0;
}
