/* SPDX-License-Identifier: MIT */
/* exchange.c - the exchange function of a net: setting it, and calling it
 * with what a step or a trainer's epoch computed, so that it can replace
 * that by what other nets computed (nnfast.h, "Exchanging gradients"). */
#include "exchange.h"
#include "core/core.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

nnf_status nnf__exchange(nnf_net *net, nnf_exchange *e)
{
    e->message[0] = '\0';
    nnf_status local = e->status, st = net->exchange(net, e, net->exchange_user);
    if (st == NNF_OK && local != NNF_OK) /* this net's failure stands, with its message */
        return local;
    if (st == NNF_OK)
        return NNF_OK;
    e->message[sizeof e->message - 1] = '\0';
    if (e->message[0])
        return nnf__fail(st, "%s", e->message);
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

/* ---- what an exchange function reads and writes */

/* The figure key of e's kind, or NULL when the kind has none. */
static double *figure(nnf_exchange *e, nnf_exchange_key key)
{
    int step = e->kind == NNF_EXCHANGE_STEP, val = e->kind == NNF_EXCHANGE_VALIDATION;
    switch (key) {
    case NNF_EXCHANGE_LOSS: return step || val ? &e->loss : NULL;
    case NNF_EXCHANGE_SAMPLES: return step || val ? &e->samples : NULL;
    case NNF_EXCHANGE_CORRECT: return val ? &e->correct : NULL;
    case NNF_EXCHANGE_ANSWERS: return val ? &e->answers : NULL;
    default: return NULL; /* BATCHES is a count, read apart */
    }
}

static const char *kind_name(nnf_exchange_kind kind)
{
    return kind == NNF_EXCHANGE_STEP         ? "STEP"
           : kind == NNF_EXCHANGE_VALIDATION ? "VALIDATION"
                                             : "EPOCH";
}

NNF_API nnf_exchange_kind nnf_exchange_get_kind(const nnf_exchange *e)
{
    return e ? e->kind : (nnf_exchange_kind)-1;
}

NNF_API nnf_status nnf_exchange_get_status(const nnf_exchange *e)
{
    return e ? e->status : NNF_ERR_ARG;
}

NNF_API float *nnf_exchange_grads(nnf_exchange *e, size_t *n)
{
    float *g = e && e->kind == NNF_EXCHANGE_STEP ? e->grads : NULL;
    if (n)
        *n = g ? e->n : 0;
    return g;
}

NNF_API double nnf_exchange_get(const nnf_exchange *e, nnf_exchange_key key)
{
    if (!e)
        return (double)NAN;
    if (key == NNF_EXCHANGE_BATCHES)
        return e->kind == NNF_EXCHANGE_EPOCH ? (double)e->batches : (double)NAN;
    const double *v = figure((nnf_exchange *)e, key);
    return v ? *v : (double)NAN;
}

NNF_API nnf_status nnf_exchange_set(nnf_exchange *e, nnf_exchange_key key, double value)
{
    if (!e)
        return NNF_ERR_ARG;
    int batches = key == NNF_EXCHANGE_BATCHES && e->kind == NNF_EXCHANGE_EPOCH;
    double *v = batches ? NULL : figure(e, key);
    const char *why = NULL;
    if (!batches && !v)
        why = "is not a figure of this kind of exchange";
    else if (!isfinite(value) || (key != NNF_EXCHANGE_LOSS && value < 0.0))
        why = key == NNF_EXCHANGE_LOSS ? "is not finite" : "is not finite and >= 0";
    else if (batches && (value != floor(value) || value > 9007199254740992.0))
        why = "is not an integer from 0 to 2^53";
    if (why) {
        (void)snprintf(e->message, sizeof e->message,
                       "nnf_exchange_set: key %d = %g in a %s exchange %s", (int)key, value,
                       kind_name(e->kind), why);
        return NNF_ERR_ARG;
    }
    if (batches)
        e->batches = (size_t)value;
    else
        *v = value;
    return NNF_OK;
}

NNF_API nnf_status nnf_exchange_set_message(nnf_exchange *e, const char *msg)
{
    if (!e || !msg)
        return NNF_ERR_ARG;
    (void)snprintf(e->message, sizeof e->message, "%s", msg);
    return NNF_OK;
}
