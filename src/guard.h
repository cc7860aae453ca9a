/* SPDX-License-Identifier: MIT */
/* guard.h - a public call's hold on its net: any number of calls may read a
 * net at once, one call may change it, and a call that finds the net held
 * otherwise by another thread fails with NNF_ERR_STATE instead of racing. */
#ifndef NNF_GUARD_H
#define NNF_GUARD_H

#include "call.h"

#include <stdatomic.h>

typedef struct nnf__guard {
    atomic_uint word;            /* NNF__WRITER | number of readers */
    _Atomic(const void *) owner; /* the writing thread (its token), or NULL */
    unsigned depth;              /* nested write calls of the owner (callbacks) */
    const char *busy;            /* the message when another thread holds it
                                    (NULL: a net's) */
} nnf__guard;

/* Hold g for call c: for writing (write = 1) or reading. The owner of a
 * write hold may call in again (a progress callback). On failure the call
 * holds nothing and the status is reported: NNF_ERR_STATE "net is in use by
 * another thread". */
nnf_status nnf__guard_hold(nnf__call *c, nnf__guard *g, int write);
/* Whether a call holds g for writing (for a reader: its own thread's
 * write call it is nested in). */
int nnf__guard_writing(nnf__guard *g);
/* Whether some call holds g (a net being destroyed should not be). */
int nnf__guard_busy(nnf__guard *g);

#endif /* NNF_GUARD_H */
