/* SPDX-License-Identifier: MIT */
/* exchange.c - the exchange function of a net: setting it, and calling it
 * with what a step or a trainer's epoch computed, so that it can replace
 * that by what other nets computed (nnfast.h, "Exchanging gradients"). */
#include "exchange.h"
#include "core/core.h"

#include <string.h>

nnf_status nnf__exchange(nnf_net *net, nnf_exchange *e)
{
    char msg[NNF__MSG_MAX] = "";
    e->message = msg;
    e->message_cap = sizeof msg;
    nnf_status local = e->status, st = net->exchange(net, e, net->exchange_user);
    e->message = NULL;
    e->message_cap = 0;
    if (st == NNF_OK && local != NNF_OK) /* this net's failure stands, with its message */
        return local;
    if (st == NNF_OK)
        return NNF_OK;
    msg[sizeof msg - 1] = '\0';
    if (msg[0])
        return nnf__fail(st, "%s", msg);
    return local != NNF_OK ? local
                           : nnf__fail(st, "the exchange function returned %s", nnf_status_str(st));
}

nnf_status nnf__exchange_step(nnf_net *net, double *loss, double *samples)
{
    nnf_exchange e;
    memset(&e, 0, sizeof e);
    e.kind = NNF_EXCHANGE_STEP;
    e.status = NNF_OK;
    e.grads = net->grads;
    e.n = net->n_floats;
    e.loss = *loss;
    e.samples = *samples;
    if (*samples > 0.0) /* means to sums: a sum over nets is then a plain sum */
        nnf__scale(net->grads, net->n_floats, (float)*samples);
    nnf_status st = nnf__exchange(net, &e);
    if (st == NNF_OK && !(e.samples > 0.0))
        st = nnf__fail(NNF_ERR_STATE,
                       "the exchange left %g samples (expected at least one "
                       "sample over all the nets it exchanges with)",
                       e.samples);
    if (st != NNF_OK) {
        net->grads_state = NNF__GRADS_NONE;
        return st;
    }
    nnf__scale(net->grads, net->n_floats, (float)(1.0 / e.samples));
    *loss = e.loss;
    *samples = e.samples;
    return NNF_OK;
}

nnf_status nnf__exchange_failure(nnf_net *net, nnf_status st)
{
    if (!net->exchange)
        return st;
    nnf_exchange e;
    memset(&e, 0, sizeof e);
    e.kind = NNF_EXCHANGE_STEP;
    e.status = st;
    nnf_status got = nnf__exchange(net, &e);
    return got != NNF_OK ? got : st;
}

NNF_API nnf_status nnf_net_set_exchange(nnf_net *net, nnf_exchange_fn fn, void *user)
{
    nnf__call c;
    nnf_status st = nnf__enter_write(&c, __func__, net);
    if (st == NNF_OK) {
        net->exchange = fn;
        net->exchange_user = fn ? user : NULL;
    }
    return nnf__leave(&c, st);
}
