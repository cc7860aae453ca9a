/* SPDX-License-Identifier: MIT */
/* exchange.h - the net's exchange function (nnf_net_set_exchange) as the
 * passes and the trainer call it. */
#ifndef NNF_EXCHANGE_H
#define NNF_EXCHANGE_H

#include "net.h"

/* What an exchange function sees (nnfast.h: nnf_exchange_get and the rest
 * read and write it). */
struct nnf_exchange {
    nnf_exchange_kind kind;
    nnf_status status; /* the step's status on this net so far */
    float *grads;      /* STEP: n floats, sums over the batch (NULL after a failure) */
    size_t n;
    double loss, samples;       /* STEP, VALIDATION */
    double correct, answers;    /* VALIDATION */
    size_t batches;             /* EPOCH */
    char message[NNF__MSG_MAX]; /* the function's words for the failure it returns */
};

/* The STEP exchange of a backward that succeeded here: the gradient arena
 * (means over *samples) goes out as sums with *loss (a sum), comes back as
 * the function left them and is turned into means again over the new
 * *samples. On failure no gradient is kept and the failure is reported. */
nnf_status nnf__exchange_step(nnf_net *net, double *loss, double *samples);
/* A step that failed here before its exchange: the function still hears of
 * it (the others wait for this net). Returns st, or the function's own
 * failure. Without a function, st. */
nnf_status nnf__exchange_failure(nnf_net *net, nnf_status st);
/* Any other exchange (VALIDATION, EPOCH) through e; reported on failure. */
nnf_status nnf__exchange(nnf_net *net, nnf_exchange *e);

#endif /* NNF_EXCHANGE_H */
