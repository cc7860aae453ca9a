/* SPDX-License-Identifier: MIT */
/* net.h - the objects behind the opaque handles, nnf_net and nnf_layer, and
 * the functions of net.c that own their memory: the layer list and the
 * parameter, gradient and optimizer-state arenas. */
#ifndef NNF_NET_H
#define NNF_NET_H

#include "nnfast.h"
#include "call.h"
#include "guard.h"
#include "settings.h"
#include "core/core.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* A dense layer. Its parameters and gradients live in the net's arenas (same
 * layout: per layer Wt then b); the pointers are refreshed when they move. */
struct nnf_layer {
    nnf_net *net;
    size_t index;       /* l, 1..L */
    size_t n_in, n_out; /* n[l-1], n[l] */
    int act;            /* nnf_act */
    float alpha;        /* leaky ReLU slope */
    float dropout;      /* rate p of inverted dropout in training passes (0: none) */
    size_t offset;      /* of Wt in the arenas; b follows at offset + n_in n_out */
    size_t n_pad;       /* units its forward and weight-gradient products compute:
                           n_out, or one more where the BLAS runs much faster so
                           (core/plan.c); the arenas then hold the layer as an
                           n_in x n_pad block whose last column is b, then zeros */
    size_t rows_before; /* sum of n[k], k < l: where A[l] starts in a workspace */
    float *wt, *b;      /* parameters: Wt is the user's w[n_out][n_in] */
    float *dwt, *db;    /* gradients, same layout */
};

/* Memory for a batch of up to cap_m samples, one block: A[l] of every layer
 * (n[l] x cap_m each, in order), the output logits Z[L], the scratch
 * matrix for dA[l-1] (as wide as the widest hidden layer) and the padded
 * Z or dZ of a padded layer (n_pad x cap_m). */
typedef struct nnf__work {
    size_t cap_m; /* 0: none */
    float *block;
    /* An inference context's forward-only layout, when alt_rows[0] is not 0:
     * A[l] of every odd l in one matrix of alt_rows[0] rows (the widest odd
     * layer), of every even l in one of alt_rows[1], then Z[L] and the
     * padded Z; no scratch. */
    size_t alt_rows[2];
} nnf__work;

/* A forward pass's kind. A training pass drops units of the hidden layers
 * that have a dropout rate, with masks keyed by (seed, epoch, batch) and
 * the layer (core/dropout.c); x_scaled says x already went through the
 * net's input scaling (a trainer gathers batches scaled). */
typedef struct nnf__pass {
    int train, x_scaled;
    uint64_t seed, epoch, batch;
} nnf__pass;

/* What the last backward left in the gradient arena. */
typedef enum nnf__grads {
    NNF__GRADS_NONE = 0, /* nothing usable (none yet, or a change made them stale) */
    NNF__GRADS_FRESH,    /* from the last backward, not yet applied */
    NNF__GRADS_APPLIED   /* applied by nnf_net_update: readable, not applicable again */
} nnf__grads;

struct nnf_net {
    uint64_t serial;       /* tells this net's messages from a former net's at its address */
    atomic_size_t holders; /* the handle (until nnf_net_destroy) and each live
                              inference context (context.c) */
    nnf__guard *guard;     /* &guard_data: the one part of a net that readers change */
    nnf__guard guard_data;
    size_t n_in;
    size_t depth, layers_cap;
    nnf_layer **layers; /* layers[0] is layer 1 */
    nnf_loss loss;
    uint64_t shape; /* counts changes of the layers or the loss, which a running
                              nnf_net_train relies on (its progress function must not) */
    uint64_t seed;
    double param[NNF__N_PARAMS]; /* every nnf_param setting (settings.c) */
    double lr_scale;             /* a trainer's schedule: the update's learning rate
                                    is param[LEARNING_RATE] lr_scale (1 otherwise) */

    /* The optimizer's state (optimizer.c): the arenas' layout, for momentum
     * v (n_floats floats), for Adam m then v (2 n_floats); NULL for SGD. */
    uint64_t opt_t; /* updates made since the state was reset */
    float *opt_state;

    size_t n_params;  /* parameters: sum over layers of (n_in + 1) n_out */
    size_t n_floats;  /* floats of each arena: the parameters, and the unused
                         column of each padded layer (nnf_layer's n_pad) */
    size_t param_cap; /* floats the parameter arena holds */
    size_t grads_cap; /* floats the gradient arena holds (0 before the first backward) */
    float *params, *grads;

    size_t rows;          /* sum of n[l] over the layers */
    size_t widest_hidden; /* largest n[l] for l < L: the scratch's rows */
    size_t widest_padded; /* largest n_pad of a padded layer (0: none) */
    nnf__work work;
    size_t x_cap; /* floats in x_copy (nnf_net_forward only) */
    float *x_copy;

    size_t fwd_m;       /* batch of the stored forward pass; 0: none */
    const float *fwd_x; /* its A[0] (x, or x scaled in the workspace) */
    nnf__pass fwd_pass; /* its kind: backward recomputes its dropout masks */

    float *scale;    /* input scaling: mean[n_in] then std[n_in] (a zero std
                        stored as 1), or NULL */
    uint64_t epochs; /* epochs trainers ran on the net (trainer.c) */
    uint64_t passes; /* training passes outside trainers with dropout: their masks' key */
    int training;    /* inside nnf_trainer_run */
    size_t n_meta;   /* metadata entries (meta.c): "key\0value\0" each */
    char *meta[NNF_META_MAX];
    nnf_exchange_fn exchange; /* nnf_net_set_exchange (exchange.c), or NULL */
    void *exchange_user;
    nnf__grads grads_state;

    char errmsg[NNF__MSG_MAX];
};

/* Start a public call on net: one that may change it (its failures are
 * stored in the net too), or one that only reads it (its failures are kept
 * by the calling thread alone, so that readers never write to the net).
 * A NULL net is NNF_ERR_ARG (there is nowhere to say more). Layer calls
 * report on the layer's net. */
static inline nnf_status nnf__enter_write(nnf__call *c, const char *fn, nnf_net *net)
{
    nnf__enter(c, fn, NULL, 0, net, net ? net->serial : 0);
    nnf_status st = net ? nnf__guard_hold(c, net->guard, 1) : nnf__fail(NNF_ERR_ARG, "net is NULL");
    if (st == NNF_OK) { /* the call owns the net: its failures are stored there too */
        c->dst = net->errmsg;
        c->cap = sizeof net->errmsg;
    }
    return st;
}
/* A call that may change net and runs BLAS (nnf__call_compute). */
static inline nnf_status nnf__enter_compute(nnf__call *c, const char *fn, nnf_net *net)
{
    nnf_status st = nnf__enter_write(c, fn, net);
    return st == NNF_OK ? nnf__call_compute() : st;
}
static inline nnf_status nnf__enter_read(nnf__call *c, const char *fn, const nnf_net *net)
{
    nnf__enter(c, fn, NULL, 0, net, net ? net->serial : 0);
    return net ? nnf__guard_hold(c, net->guard, 0) : nnf__fail(NNF_ERR_ARG, "net is NULL");
}

/* The live inference contexts of net (each one a holder beside the handle). */
static inline size_t nnf__contexts(const nnf_net *net)
{
    return atomic_load_explicit(&net->holders, memory_order_acquire) - 1;
}
/* A call that would change what inference contexts read (parameters,
 * architecture, loss, slopes, input scaling) or what a running trainer
 * relies on: NNF_ERR_STATE while the net has contexts (stable during a call
 * that holds the net for writing: nnf_ctx_create holds it for reading) or
 * is inside nnf_trainer_run (its progress function calling in). */
static inline nnf_status nnf__check_changeable(const nnf_net *net)
{
    if (net->training)
        return nnf__fail(NNF_ERR_STATE,
                         "the net is being trained by nnf_trainer_run (its progress function may "
                         "read, evaluate and predict with it and change its settings, nothing "
                         "else)");
    size_t n = nnf__contexts(net);
    if (!n)
        return NNF_OK;
    int one = n == 1;
    return nnf__fail(NNF_ERR_STATE,
                     "%zu %s this net (a change would alter what %s: expected %s destroyed first)",
                     n, one ? "context reads" : "contexts read",
                     one ? "it predicts" : "they predict", one ? "it" : "them");
}
/* Bytes of a metadata entry "key\0value\0" with both zeros. */
static inline size_t nnf__meta_bytes(const char *entry)
{
    size_t k = strlen(entry) + 1;
    return k + strlen(entry + k) + 1;
}

/* Drop one holder of net (nnf_net_destroy, nnf_ctx_destroy): the last frees it. */
void nnf__net_release(nnf_net *net);

/* An independent copy (nnf_net_clone's): NNF_ERR_NOMEM, not reported. */
nnf_status nnf__net_clone(const nnf_net *net, nnf_net **out);
/* A net with n_in inputs, no layer and every setting at its default. */
nnf_status nnf__net_new(nnf_net **out, size_t n_in);
void nnf__net_free(nnf_net *net);
/* Append a layer (sizes checked by the caller); all or nothing: on
 * NNF_ERR_NOMEM the net is as it was. Adding layers one by one costs time
 * linear in the parameters (the arenas grow geometrically). */
nnf_status nnf__net_append(nnf_net *net, size_t units, int act);

/* Floats of a layer in each arena: Wt then b, or for a padded layer the
 * n_in x n_pad block whose extra column starts with b. */
static inline size_t nnf__layer_floats(size_t n_in, size_t n_out, size_t n_pad)
{
    size_t plain = n_in * n_out + n_out, padded = n_in * n_pad;
    return padded > plain ? padded : plain;
}

static inline nnf_layer *nnf__output_layer(const nnf_net *net)
{
    return net->layers[net->depth - 1];
}

/* The learning rate an update uses now (a trainer's schedule scales it). */
static inline float nnf__learning_rate(const nnf_net *net)
{
    return (float)(net->param[NNF_PARAM_LEARNING_RATE] * net->lr_scale);
}

static inline nnf_optimizer nnf__optimizer(const nnf_net *net)
{
    return (nnf_optimizer)(int)net->param[NNF_PARAM_OPTIMIZER];
}

/* The layer (1..L) that holds arena index i. */
static inline size_t nnf__layer_of(const nnf_net *net, size_t i)
{
    size_t lo = 0, hi = net->depth - 1; /* binary search over the offsets */
    while (lo < hi) {
        size_t mid = lo + (hi - lo + 1) / 2;
        if (net->layers[mid]->offset <= i)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo + 1;
}

/* The dropout of layer l (0-based) in a pass, or NULL: none in prediction
 * passes, on the output layer or at rate 0. */
static inline const nnf__dropout *nnf__pass_dropout(const nnf_net *net, const nnf__pass *pass,
                                                    size_t l, nnf__dropout *d)
{
    float rate = net->layers[l]->dropout;
    if (!pass || !pass->train || rate <= 0.0f || l + 1 == net->depth)
        return NULL;
    *d = nnf__dropout_of(rate, nnf__dropout_key(pass->seed, pass->epoch, pass->batch, l + 1));
    return d;
}

/* After a training pass outside a trainer: one that drew dropout masks
 * advances the count that keys the next one's; one without dropout leaves
 * it, so that training a net without dropout changes no saved byte but
 * the parameters' and the optimizer's (the count is saved with the state). */
static inline void nnf__count_pass(nnf_net *net)
{
    for (size_t l = 0; l < net->depth; l++)
        if (net->layers[l]->dropout > 0.0f) {
            net->passes++;
            return;
        }
}

/* Drop the stored forward pass (a change made it unusable). */
static inline void nnf__forget_forward(nnf_net *net)
{
    net->fwd_m = 0;
    net->fwd_x = NULL;
}

/* A change to parameters or architecture: neither the stored forward pass
 * nor the gradients describe the net any more. */
static inline void nnf__forget_passes(nnf_net *net)
{
    nnf__forget_forward(net);
    net->grads_state = NNF__GRADS_NONE;
}

#endif /* NNF_NET_H */
