/* SPDX-License-Identifier: MIT */
/* call.h - what every public function does first and last: it records its
 * own name and the handle it works on, and every failure below it is worded
 * once, by nnf__fail, as "<function>: <what> (expected ...)". */
#ifndef NNF_CALL_H
#define NNF_CALL_H

#include "nnfast.h"

#include <stddef.h>
#include <stdint.h>

enum { NNF__MSG_MAX = 512 }; /* bytes of a message, with its terminating 0 */

/* A context a caller adds after the function's name, such as "epoch 3,
 * batch 7" (without separator): written into buf only when a failure is
 * reported, from data the caller keeps current. */
typedef void (*nnf__where_fn)(char *buf, size_t cap, const void *data);

/* One public call in progress: a stack frame of the public function, linked
 * to the call it interrupted (a progress callback may call into nnfast). */
typedef struct nnf__call {
    const char *fn; /* the public function's name */
    char *dst;      /* the handle's own message buffer, or NULL */
    size_t cap;
    const void *handle; /* the net or trainer the call is about, or NULL */
    uint64_t serial;    /* its serial (a handle reused at the same address differs) */
    nnf__where_fn where;
    const void *where_data;
    void (*release)(struct nnf__call *c); /* what nnf__leave gives back (guard.c) */
    void *held;
    int computing; /* counted among the calls that run BLAS */
    struct nnf__call *outer;
} nnf__call;

/* Start call c of function fn. dst (cap bytes) is where a failure's message
 * is also stored (NULL: only the thread's own copy). handle, when not NULL,
 * is the net or trainer the message is about (see nnf__message). */
void nnf__enter(nnf__call *c, const char *fn, char *dst, size_t cap, const void *handle,
                uint64_t serial);
/* End call c (releasing what it holds); returns st. */
nnf_status nnf__leave(nnf__call *c, nnf_status st);

/* The current call is about to run BLAS: it is counted among the calls that
 * do, until it leaves. More of them at once than the BLAS can serve (OpenBLAS
 * aborts the process when its table of buffers is full) is NNF_ERR_STATE. */
nnf_status nnf__call_compute(void);

/* Add a context to the current call's messages (NULL removes it). */
void nnf__call_where(nnf__where_fn where, const void *data);

/* Record a failure of the current call and return st: the message is
 * "<fn>: [<where>: ]<fmt ...>". The library's one reporter. */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
nnf_status
nnf__fail(nnf_status st, const char *fmt, ...);

/* nnf_net_report and nnf_trainer_report: record a failure status of the
 * current call with msg as its whole message (a library built on nnfast
 * words its own calls' failures) and return it; NNF_ERR_ARG, worded as
 * usual, for a NULL msg or a status that is not a failure. */
nnf_status nnf__report(nnf_status status, const char *msg);

/* The message of the last failure on a handle (net or trainer): this
 * thread's own when its last failure was on it, else stored (the handle's
 * buffer, written by the calls that may change the handle). */
const char *nnf__message(const void *handle, uint64_t serial, const char *stored);
/* An address that identifies the calling thread while it lives. */
const void *nnf__thread_token(void);
/* A serial for a new net or trainer: never 0, never the same twice in a process. */
uint64_t nnf__new_serial(void);

#endif /* NNF_CALL_H */
