/* SPDX-License-Identifier: MIT */
/* agree.h - how the ranks of one collective nnfast_mpi call agree: on
 * whether any of them failed (and then on the lowest failing rank's status
 * and message), on being at the same point of the call, and on sums that
 * come out bit-identical on every rank. */
#ifndef NNF_MPI_AGREE_H
#define NNF_MPI_AGREE_H

#include "nnfast_mpi.h"

#include <stddef.h>

enum { NNF_MPI__MSG_MAX = 512 };

/* Where the ranks are in a call: an exchange of nnfast's (nnf_exchange_kind)
 * or a phase of nnf_mpi_bcast or nnf_mpi_trainer_run. */
enum {
    NNF_MPI__BCAST_ARGS = 16,
    NNF_MPI__BCAST_ARCH,
    NNF_MPI__BCAST_COPY,
    NNF_MPI__TRAINER_SETTINGS,
    NNF_MPI__AFTER /* a rank whose call failed before any exchange */
};

/* One collective call on one rank. */
typedef struct nnf_mpi__run {
    MPI_Comm comm;
    int rank, size;
    int exchanged;              /* the net's exchange function was called */
    nnf_status agreed;          /* the status the ranks agreed on (OK: none failed) */
    char msg[NNF_MPI__MSG_MAX]; /* its message: "rank r: ..." */
    double comm_seconds;        /* spent in the gradients' sums */
} nnf_mpi__run;

/* Start run on comm: NNF_ERR_ARG / NNF_ERR_STATE (worded into run->msg,
 * without "rank r: ") when comm is MPI_COMM_NULL or MPI is not running;
 * no other rank is told (there is no one to tell). */
nnf_status nnf_mpi__start(nnf_mpi__run *run, MPI_Comm comm);

/* The ranks agree at point `at`: each gives its status (local_msg its
 * message when it failed: a "nnf_...: " prefix is dropped), a value that
 * must be the same on every rank (same; e.g. the gradient's size) and one
 * whose largest is wanted (*most). Returns NNF_OK on every rank when no
 * rank failed, every rank was at `at` and same agrees; else the lowest
 * failing rank's status (NNF_ERR_STATE for a disagreement) on every rank,
 * with run->msg naming it. */
nnf_status nnf_mpi__agree(nnf_mpi__run *run, int at, nnf_status local, const char *local_msg,
                          long long same, size_t *most);

/* Sum n floats (or doubles) of buf over the ranks, in place, with the same
 * bits on every rank. MPI failures are NNF_ERR_STATE, worded in run->msg. */
nnf_status nnf_mpi__sum_floats(nnf_mpi__run *run, float *buf, size_t n);
nnf_status nnf_mpi__sum_doubles(nnf_mpi__run *run, double *buf, int n);
/* Broadcast n bytes of buf from root. */
nnf_status nnf_mpi__bcast_bytes(nnf_mpi__run *run, void *buf, size_t n, int root);

/* The net's exchange function for the calls of run (user is run). */
nnf_status nnf_mpi__exchange(nnf_net *net, nnf_exchange *e, void *user);

/* The message of a call fn that failed with st: "fn: " then msg without
 * its own "nnf_...: " prefix, into net's message (nnf_net_report); st. */
nnf_status nnf_mpi__report(nnf_net *net, const char *fn, nnf_status st, const char *msg);
/* msg without a leading "nnf_<name>: " */
const char *nnf_mpi__unprefixed(const char *msg);

#endif /* NNF_MPI_AGREE_H */
