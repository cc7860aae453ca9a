/* SPDX-License-Identifier: MIT */
/* agree.c - the ranks of a collective call agree (agree.h): one small
 * allreduce says whether a rank failed and whether all are at the same
 * point; the lowest failing rank then broadcasts its status and message.
 * The sums of the exchanges come out with the same bits on every rank. */
#include "agree.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

/* An MPI call failed: worded, on this rank only. */
static nnf_status mpi_failed(nnf_mpi__run *run, const char *what, int rc)
{
    char text[MPI_MAX_ERROR_STRING] = "";
    int len = 0;
    if (MPI_Error_string(rc, text, &len) != MPI_SUCCESS)
        (void)snprintf(text, sizeof text, "error %d", rc);
    (void)snprintf(run->msg, sizeof run->msg, "%s failed: %s", what, text);
    run->agreed = NNF_ERR_STATE;
    return NNF_ERR_STATE;
}

nnf_status nnf_mpi__start(nnf_mpi__run *run, MPI_Comm comm)
{
    memset(run, 0, sizeof *run);
    run->comm = comm;
    int on = 0, off = 0;
    if (MPI_Initialized(&on) != MPI_SUCCESS || !on || MPI_Finalized(&off) != MPI_SUCCESS || off) {
        (void)snprintf(run->msg, sizeof run->msg,
                       "MPI is not running (expected a call between MPI_Init and MPI_Finalize)");
        return run->agreed = NNF_ERR_STATE;
    }
    if (comm == MPI_COMM_NULL) {
        (void)snprintf(run->msg, sizeof run->msg, "comm is MPI_COMM_NULL");
        return run->agreed = NNF_ERR_ARG;
    }
    int rc = MPI_Comm_rank(comm, &run->rank);
    if (rc == MPI_SUCCESS)
        rc = MPI_Comm_size(comm, &run->size);
    return rc == MPI_SUCCESS ? NNF_OK : mpi_failed(run, "MPI_Comm_rank", rc);
}

const char *nnf_mpi__unprefixed(const char *msg)
{
    if (strncmp(msg, "nnf_", 4) != 0)
        return msg;
    const char *p = msg + 4;
    while ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_')
        p++;
    return p[0] == ':' && p[1] == ' ' ? p + 2 : msg;
}

/* What must be the same on every rank at each point. */
static const char *same_what(int at)
{
    switch (at) {
    case NNF_EXCHANGE_STEP:
        return "the size of their nets' gradients (give every rank the same "
               "architecture: nnf_mpi_bcast)";
    case NNF_MPI__BCAST_ARGS: return "the root";
    case NNF_MPI__TRAINER_SETTINGS:
        return "the trainer's settings (expected the same on every "
               "rank)";
    default: return "a value that must be the same";
    }
}

/* The failure of rank `from`, learnt by every rank. */
static nnf_status learn_failure(nnf_mpi__run *run, int from, nnf_status local,
                                const char *local_msg)
{
    struct {
        int status;
        char msg[NNF_MPI__MSG_MAX];
    } f;
    memset(&f, 0, sizeof f);
    if (run->rank == from) {
        f.status = (int)local;
        (void)snprintf(f.msg, sizeof f.msg, "rank %d: %s", from,
                       local_msg && local_msg[0] ? nnf_mpi__unprefixed(local_msg)
                                                 : nnf_status_str(local));
    }
    int rc = MPI_Bcast(&f, (int)sizeof f, MPI_BYTE, from, run->comm);
    if (rc != MPI_SUCCESS)
        return mpi_failed(run, "MPI_Bcast", rc);
    f.msg[sizeof f.msg - 1] = '\0';
    memcpy(run->msg, f.msg, sizeof run->msg);
    run->agreed =
        f.status > NNF_OK && f.status <= NNF_ERR_FORMAT ? (nnf_status)f.status : NNF_ERR_STATE;
    return run->agreed;
}

nnf_status nnf_mpi__agree(nnf_mpi__run *run, int at, nnf_status local, const char *local_msg,
                          long long same, size_t *most)
{
    long long most_in = most ? (long long)(*most > LLONG_MAX ? LLONG_MAX : *most) : 0;
    long long h[6] = {local != NNF_OK ? run->rank : run->size, at, -at, same, -same, -most_in};
    int rc = MPI_Allreduce(MPI_IN_PLACE, h, 6, MPI_LONG_LONG, MPI_MIN, run->comm);
    if (rc != MPI_SUCCESS)
        return mpi_failed(run, "MPI_Allreduce", rc);
    if (h[0] < run->size)
        return learn_failure(run, (int)h[0], local, local_msg);
    if (h[1] != -h[2]) {
        (void)snprintf(run->msg, sizeof run->msg,
                       "the ranks are at different points of the collective call (a rank "
                       "stopped early, or the ranks made different calls)");
        return run->agreed = NNF_ERR_STATE;
    }
    if (h[3] != -h[4]) {
        (void)snprintf(run->msg, sizeof run->msg, "the ranks differ in %s: %lld to %lld",
                       same_what(at), h[3], -h[4]);
        return run->agreed = NNF_ERR_STATE;
    }
    if (most)
        *most = (size_t)-h[5];
    return NNF_OK;
}

/* Chunks that fit MPI's int counts. */
enum { CHUNK = 1 << 28 };

/* buf summed over the ranks with one result: with 2 ranks each element is
 * one addition, a + b = b + a; with more, rank 0 sums and broadcasts. */
static nnf_status sum(nnf_mpi__run *run, void *buf, size_t n, MPI_Datatype type, size_t elem)
{
    for (size_t done = 0; run->size > 1 && done < n;) {
        int k = (int)(n - done < CHUNK ? n - done : CHUNK);
        char *p = (char *)buf + done * elem;
        int rc;
        if (run->size == 2)
            rc = MPI_Allreduce(MPI_IN_PLACE, p, k, type, MPI_SUM, run->comm);
        else {
            rc = MPI_Reduce(run->rank ? p : MPI_IN_PLACE, p, k, type, MPI_SUM, 0, run->comm);
            if (rc == MPI_SUCCESS)
                rc = MPI_Bcast(p, k, type, 0, run->comm);
        }
        if (rc != MPI_SUCCESS)
            return mpi_failed(run, "the sum over the ranks", rc);
        done += (size_t)k;
    }
    return NNF_OK;
}

nnf_status nnf_mpi__sum_floats(nnf_mpi__run *run, float *buf, size_t n)
{
    return sum(run, buf, n, MPI_FLOAT, sizeof *buf);
}

nnf_status nnf_mpi__sum_doubles(nnf_mpi__run *run, double *buf, int n)
{
    return sum(run, buf, (size_t)n, MPI_DOUBLE, sizeof *buf);
}

nnf_status nnf_mpi__bcast_bytes(nnf_mpi__run *run, void *buf, size_t n, int root)
{
    for (size_t done = 0; done < n;) {
        int k = (int)(n - done < CHUNK ? n - done : CHUNK);
        int rc = MPI_Bcast((char *)buf + done, k, MPI_BYTE, root, run->comm);
        if (rc != MPI_SUCCESS)
            return mpi_failed(run, "MPI_Bcast", rc);
        done += (size_t)k;
    }
    return NNF_OK;
}

nnf_status nnf_mpi__exchange(nnf_net *net, nnf_exchange *e, void *user)
{
    /* the figures summed over the ranks: STEP's first two, VALIDATION's four */
    static const nnf_exchange_key sums[] = {NNF_EXCHANGE_LOSS, NNF_EXCHANGE_SAMPLES,
                                            NNF_EXCHANGE_CORRECT, NNF_EXCHANGE_ANSWERS};
    nnf_mpi__run *run = user;
    run->exchanged = 1;
    nnf_exchange_kind kind = nnf_exchange_get_kind(e);
    nnf_status local = nnf_exchange_get_status(e);
    size_t n = 0;
    float *grads = nnf_exchange_grads(e, &n);
    size_t most =
        kind == NNF_EXCHANGE_EPOCH ? (size_t)nnf_exchange_get(e, NNF_EXCHANGE_BATCHES) : 0;
    nnf_status st =
        nnf_mpi__agree(run, (int)kind, local, local != NNF_OK ? nnf_net_errmsg(net) : NULL,
                       (long long)n, &most);
    int n_sums = kind == NNF_EXCHANGE_STEP ? 2 : kind == NNF_EXCHANGE_VALIDATION ? 4 : 0;
    double d[4], t0 = MPI_Wtime();
    for (int k = 0; k < n_sums; k++)
        d[k] = nnf_exchange_get(e, sums[k]);
    if (st == NNF_OK && grads)
        st = nnf_mpi__sum_floats(run, grads, n);
    if (st == NNF_OK && n_sums)
        st = nnf_mpi__sum_doubles(run, d, n_sums);
    for (int k = 0; st == NNF_OK && k < n_sums; k++)
        st = nnf_exchange_set(e, sums[k], d[k]);
    if (kind == NNF_EXCHANGE_STEP)
        run->comm_seconds += MPI_Wtime() - t0;
    if (st == NNF_OK && kind == NNF_EXCHANGE_EPOCH)
        st = nnf_exchange_set(e, NNF_EXCHANGE_BATCHES, (double)most);
    if (st != NNF_OK && run->msg[0])
        (void)nnf_exchange_set_message(e, run->msg);
    return st;
}

nnf_status nnf_mpi__report(nnf_net *net, const char *fn, nnf_status st, const char *msg)
{
    char buf[NNF_MPI__MSG_MAX + 64];
    (void)snprintf(buf, sizeof buf, "%s: %s", fn, nnf_mpi__unprefixed(msg));
    if (net)
        (void)nnf_net_report(net, st, buf);
    return st;
}
