/* SPDX-License-Identifier: MIT */
/* mpi.c - the calls of nnfast_mpi.h: a collective train step and trainer
 * run through the net's exchange function, and the broadcast of a root's
 * net. Only nnfast.h's public API is used. */
#include "agree.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A failure before any rank could be told (no communicator, no MPI). */
static nnf_status failed_alone(nnf_net *net, const char *fn, const nnf_mpi__run *run, nnf_status st)
{
    return nnf_mpi__report(net, fn, st, run->msg);
}

/* This rank's call failed before the net's exchange function could tell
 * the others: it tells them now, at the point where they wait. */
static nnf_status tell_others(nnf_mpi__run *run, int at, nnf_status st, const char *msg)
{
    char copy[NNF_MPI__MSG_MAX];
    (void)snprintf(copy, sizeof copy, "%s", msg);
    return nnf_mpi__agree(run, at, st, copy, 0, NULL);
}

NNF_MPI_API nnf_status nnf_mpi_train_step(nnf_net *net, MPI_Comm comm, const float *x,
                                          const float *y, size_t m_local, float *cost)
{
    static const char fn[] = "nnf_mpi_train_step";
    nnf_mpi__run run;
    nnf_status st = nnf_mpi__start(&run, comm);
    if (st != NNF_OK)
        return failed_alone(net, fn, &run, st);
    if (!net) {
        st = tell_others(&run, NNF_EXCHANGE_STEP, NNF_ERR_ARG, "net is NULL");
        return st;
    }
    st = nnf_net_set_exchange(net, nnf_mpi__exchange, &run);
    if (st == NNF_OK) {
        st = nnf_net_train_step(net, x, y, m_local, cost);
        char msg[NNF_MPI__MSG_MAX];
        (void)snprintf(msg, sizeof msg, "%s", st != NNF_OK ? nnf_net_errmsg(net) : "");
        (void)nnf_net_set_exchange(net, NULL, NULL);
        if (st != NNF_OK && run.exchanged) /* the agreed message is the same on every rank */
            return nnf_mpi__report(net, fn, st, run.agreed != NNF_OK ? run.msg : msg);
        if (st != NNF_OK)
            st = tell_others(&run, NNF_EXCHANGE_STEP, st, msg);
    } else {
        st = tell_others(&run, NNF_EXCHANGE_STEP, st, nnf_net_errmsg(net));
    }
    return st == NNF_OK ? NNF_OK : nnf_mpi__report(net, fn, st, run.msg);
}

/* ---- nnf_mpi_trainer_run */

/* The trainer's settings as one number, to compare across ranks. */
static nnf_status settings_hash(const nnf_trainer *t, long long *hash)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a over the settings' bytes */
    for (int k = 0; k <= NNF_TRAIN_CLIP_NORM; k++) {
        double v = 0.0;
        nnf_status st = nnf_trainer_get(t, (nnf_train_key)k, &v);
        if (st != NNF_OK)
            return st;
        unsigned char b[sizeof v];
        memcpy(b, &v, sizeof v);
        for (size_t i = 0; i < sizeof b; i++)
            h = (h ^ b[i]) * 1099511628211ull;
    }
    *hash = (long long)(h >> 1);
    return NNF_OK;
}

static nnf_status trainer_failed(nnf_trainer *t, nnf_net *net, const char *fn, nnf_status st,
                                 const char *msg)
{
    char buf[NNF_MPI__MSG_MAX + 64];
    (void)snprintf(buf, sizeof buf, "%s: %s", fn, nnf_mpi__unprefixed(msg));
    if (t)
        (void)nnf_trainer_report(t, st, buf);
    if (net)
        (void)nnf_net_report(net, st, buf);
    return st;
}

NNF_MPI_API nnf_status nnf_mpi_trainer_run(nnf_trainer *t, nnf_net *net, MPI_Comm comm,
                                           const float *x, const float *y, size_t m_local)
{
    static const char fn[] = "nnf_mpi_trainer_run";
    nnf_mpi__run run;
    nnf_status st = nnf_mpi__start(&run, comm);
    if (st != NNF_OK)
        return trainer_failed(t, net, fn, st, run.msg);
    long long hash = 0;
    const char *why = !t ? "t is NULL" : !net ? "net is NULL" : NULL;
    st = why ? NNF_ERR_ARG : settings_hash(t, &hash);
    if (st != NNF_OK && !why)
        why = nnf_trainer_errmsg(t);
    st = nnf_mpi__agree(&run, NNF_MPI__TRAINER_SETTINGS, st, why, hash, NULL);
    if (st != NNF_OK)
        return trainer_failed(t, net, fn, st, run.msg);
    st = nnf_net_set_exchange(net, nnf_mpi__exchange, &run);
    if (st != NNF_OK)
        st = tell_others(&run, NNF_MPI__AFTER, st, nnf_net_errmsg(net));
    else {
        st = nnf_trainer_run(t, net, x, y, m_local);
        char msg[NNF_MPI__MSG_MAX];
        (void)snprintf(msg, sizeof msg, "%s", st != NNF_OK ? nnf_trainer_errmsg(t) : "");
        (void)nnf_net_set_exchange(net, NULL, NULL);
        if (st != NNF_OK && run.exchanged)
            return trainer_failed(t, net, fn, st, run.agreed != NNF_OK ? run.msg : msg);
        if (st != NNF_OK)
            st = tell_others(&run, NNF_MPI__AFTER, st, msg);
        else /* a rank whose progress function stopped it alone: every rank
              * learns of it, none waits for it */
            st = nnf_mpi__agree(&run, NNF_MPI__AFTER, NNF_OK, NULL, 0, NULL);
    }
    return st == NNF_OK ? NNF_OK : trainer_failed(t, net, fn, st, run.msg);
}

/* ---- nnf_mpi_bcast */

/* The architecture as numbers: inputs, depth, then units and activation
 * of every layer. */
static void describe(nnf_net *net, unsigned long long *d)
{
    size_t depth = nnf_net_depth(net);
    d[0] = nnf_net_inputs(net);
    d[1] = depth;
    for (size_t l = 1; l <= depth; l++) {
        const nnf_layer *ly = nnf_net_layer(net, l);
        d[2 * l] = nnf_layer_units(ly);
        d[2 * l + 1] = (unsigned long long)nnf_layer_act(ly);
    }
}

/* Whether net's architecture is root's (d); else why, into why. */
static int same_architecture(nnf_net *net, const unsigned long long *d, int root, char *why,
                             size_t cap)
{
    size_t depth = nnf_net_depth(net);
    if (nnf_net_inputs(net) != d[0] || depth != d[1]) {
        (void)snprintf(why, cap,
                       "the net has %zu inputs and %zu layers, root %d's %llu and %llu "
                       "(expected the same architecture)",
                       nnf_net_inputs(net), depth, root, d[0], d[1]);
        return 0;
    }
    for (size_t l = 1; l <= depth; l++) {
        const nnf_layer *ly = nnf_net_layer(net, l);
        if (nnf_layer_units(ly) != d[2 * l] ||
            (unsigned long long)nnf_layer_act(ly) != d[2 * l + 1]) {
            (void)snprintf(why, cap,
                           "layer %zu has %zu units (activation %d), root %d's %llu "
                           "(activation %llu) (expected the same architecture)",
                           l, nnf_layer_units(ly), (int)nnf_layer_act(ly), root, d[2 * l],
                           d[2 * l + 1]);
            return 0;
        }
    }
    return 1;
}

typedef struct bcast_state {
    unsigned long long sizes[2]; /* floats of the description, bytes of the image */
    unsigned long long *desc;
    unsigned char *image;
    char why[NNF_MPI__MSG_MAX];
} bcast_state;

/* Root: its architecture and its saved net, with the optimizer's state. */
static nnf_status root_prepare(nnf_net *net, bcast_state *b)
{
    size_t size = 0, depth = nnf_net_depth(net);
    nnf_status st = nnf_net_saved_size(net, NNF_SAVE_OPTIMIZER_STATE, &size);
    if (st != NNF_OK) {
        (void)snprintf(b->why, sizeof b->why, "%s", nnf_net_errmsg(net));
        return st;
    }
    b->sizes[0] = 2 + 2 * depth;
    b->sizes[1] = size;
    b->desc = malloc(b->sizes[0] * sizeof *b->desc);
    b->image = malloc(size);
    if (!b->desc || !b->image) {
        (void)snprintf(b->why, sizeof b->why, "could not allocate %zu bytes for the net", size);
        return NNF_ERR_NOMEM;
    }
    describe(net, b->desc);
    st = nnf_net_save_mem(net, b->image, size, NNF_SAVE_OPTIMIZER_STATE, NULL);
    if (st != NNF_OK)
        (void)snprintf(b->why, sizeof b->why, "%s", nnf_net_errmsg(net));
    return st;
}

/* The others: room for root's description and image. */
static nnf_status others_alloc(bcast_state *b)
{
    b->desc = malloc((size_t)b->sizes[0] * sizeof *b->desc);
    b->image = malloc((size_t)b->sizes[1] ? (size_t)b->sizes[1] : 1);
    if (b->desc && b->image)
        return NNF_OK;
    (void)snprintf(b->why, sizeof b->why, "could not allocate %llu bytes for root's net",
                   b->sizes[1]);
    return NNF_ERR_NOMEM;
}

/* The others: root's state into net, through a loaded copy. */
static nnf_status others_copy(nnf_net *net, bcast_state *b)
{
    nnf_net *copy = NULL;
    nnf_status st = nnf_net_load_mem(&copy, b->image, (size_t)b->sizes[1], b->why, sizeof b->why);
    if (st == NNF_OK) {
        st = nnf_net_copy_state(net, copy);
        if (st != NNF_OK)
            (void)snprintf(b->why, sizeof b->why, "%s", nnf_net_errmsg(net));
    }
    nnf_net_destroy(copy);
    return st;
}

static nnf_status bcast(nnf_mpi__run *run, nnf_net *net, int root, bcast_state *b)
{
    nnf_status st = NNF_OK;
    int is_root = run->rank == root;
    if (!net)
        st = NNF_ERR_ARG, (void)snprintf(b->why, sizeof b->why, "net is NULL");
    else if (root < 0 || root >= run->size)
        st = NNF_ERR_ARG,
        (void)snprintf(b->why, sizeof b->why, "root is %d (expected 0 to %d)", root, run->size - 1);
    else if (is_root)
        st = root_prepare(net, b);
    st = nnf_mpi__agree(run, NNF_MPI__BCAST_ARGS, st, b->why, root, NULL);
    if (st == NNF_OK)
        st = nnf_mpi__bcast_bytes(run, b->sizes, sizeof b->sizes, root);
    if (st != NNF_OK)
        return st;
    st = is_root ? NNF_OK : others_alloc(b);
    st = nnf_mpi__agree(run, NNF_MPI__BCAST_ARCH, st, b->why, 0, NULL);
    if (st == NNF_OK)
        st = nnf_mpi__bcast_bytes(run, b->desc, (size_t)b->sizes[0] * sizeof *b->desc, root);
    if (st != NNF_OK)
        return st;
    st = is_root || same_architecture(net, b->desc, root, b->why, sizeof b->why) ? NNF_OK
                                                                                 : NNF_ERR_STATE;
    st = nnf_mpi__agree(run, NNF_MPI__BCAST_ARCH, st, b->why, 0, NULL);
    if (st == NNF_OK)
        st = nnf_mpi__bcast_bytes(run, b->image, (size_t)b->sizes[1], root);
    if (st != NNF_OK)
        return st;
    st = is_root ? NNF_OK : others_copy(net, b);
    return nnf_mpi__agree(run, NNF_MPI__BCAST_COPY, st, b->why, 0, NULL);
}

NNF_MPI_API nnf_status nnf_mpi_bcast(nnf_net *net, MPI_Comm comm, int root)
{
    static const char fn[] = "nnf_mpi_bcast";
    nnf_mpi__run run;
    nnf_status st = nnf_mpi__start(&run, comm);
    if (st != NNF_OK)
        return failed_alone(net, fn, &run, st);
    bcast_state b;
    memset(&b, 0, sizeof b);
    st = bcast(&run, net, root, &b);
    free(b.desc);
    free(b.image);
    return st == NNF_OK ? NNF_OK : nnf_mpi__report(net, fn, st, run.msg);
}
