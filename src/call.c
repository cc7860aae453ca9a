/* SPDX-License-Identifier: MIT */
/* call.c - the public call in progress and its failure message (call.h), and
 * the static texts of the status codes. Messages live in two places: each
 * thread keeps the message of its own last failure (so a call that only
 * reads a net never writes to it), and a call that owns a handle also
 * stores the message in the handle, where any later caller finds it. */
#include "call.h"
#include "core/core.h"
#include "pool.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

typedef struct thread_state {
    nnf__call *current;      /* innermost public call of this thread */
    const void *last_handle; /* the net or trainer of this thread's last failure */
    uint64_t last_serial;
    char msg[NNF__MSG_MAX];
} thread_state;

static _Thread_local thread_state t_state;

void nnf__enter(nnf__call *c, const char *fn, char *dst, size_t cap, const void *handle,
                uint64_t serial)
{
    c->fn = fn;
    c->dst = cap ? dst : NULL;
    c->cap = cap;
    c->handle = handle;
    c->serial = serial;
    c->where = NULL;
    c->where_data = NULL;
    c->release = NULL;
    c->held = NULL;
    c->computing = 0;
    c->outer = t_state.current;
    t_state.current = c;
}

static atomic_int g_computing; /* calls of every thread that are running BLAS */

nnf_status nnf__call_compute(void)
{
    nnf__call *c = t_state.current;
    if (!c || c->computing)
        return NNF_OK;
    /* every computing call holds a BLAS buffer on its thread, and the pool's
     * helpers one each, whatever call they serve */
    int helpers = nnf__pool_threads() - 1, limit = nnf__blas_callers_max();
    limit = limit > helpers + 1 ? limit - helpers : 1;
    if (nnf__get_threads() != 1) /* somebody set the BLAS's threads: they would fight the pool's */
        nnf__set_threads(1);
    int now = atomic_fetch_add_explicit(&g_computing, 1, memory_order_relaxed) + 1;
    if (now > limit) {
        atomic_fetch_sub_explicit(&g_computing, 1, memory_order_relaxed);
        return nnf__fail(NNF_ERR_STATE,
                         "%d threads are computing with nnfast at once, more than the BLAS can "
                         "serve (%d while nnfast runs %d threads of its own): use fewer threads, "
                         "or nnf_set_threads(1)",
                         now, limit, helpers + 1);
    }
    c->computing = 1;
    return NNF_OK;
}

nnf_status nnf__leave(nnf__call *c, nnf_status st)
{
    if (c->release)
        c->release(c);
    if (c->computing)
        atomic_fetch_sub_explicit(&g_computing, 1, memory_order_relaxed);
    t_state.current = c->outer;
    return st;
}

const void *nnf__thread_token(void)
{
    return &t_state; /* distinct for every live thread */
}

void nnf__call_where(nnf__where_fn where, const void *data)
{
    nnf__call *c = t_state.current;
    if (c) {
        c->where = where;
        c->where_data = data;
    }
}

/* The message in t->msg is the current call's failure: note the handle it
 * is about, copy it to the handle's buffer; returns st. */
static nnf_status record(thread_state *t, nnf_status st)
{
    const nnf__call *c = t->current;
    t->last_handle = c ? c->handle : NULL;
    t->last_serial = c ? c->serial : 0;
    if (c && c->dst)
        (void)snprintf(c->dst, c->cap, "%s", t->msg);
    return st;
}

nnf_status nnf__fail(nnf_status st, const char *fmt, ...)
{
    thread_state *t = &t_state;
    const nnf__call *c = t->current;
    size_t cap = sizeof t->msg, used = 0;
    int n = snprintf(t->msg, cap, "%s: ", c ? c->fn : "nnfast");
    used = n > 0 && (size_t)n < cap ? (size_t)n : cap - 1;
    if (c && c->where) {
        c->where(t->msg + used, cap - used, c->where_data);
        used += strlen(t->msg + used);
        n = snprintf(t->msg + used, cap - used, ": ");
        used = n > 0 && (size_t)n < cap - used ? used + (size_t)n : cap - 1;
    }
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(t->msg + used, cap - used, fmt, ap);
    va_end(ap);
    return record(t, st);
}

nnf_status nnf__report(nnf_status status, const char *msg)
{
    if (!msg)
        return nnf__fail(NNF_ERR_ARG, "msg is NULL");
    if (status <= NNF_OK || status > NNF_ERR_FORMAT)
        return nnf__fail(NNF_ERR_ARG, "status is %d (expected a failure, 1 to %d)", (int)status,
                         (int)NNF_ERR_FORMAT);
    thread_state *t = &t_state;
    (void)snprintf(t->msg, sizeof t->msg, "%s", msg);
    return record(t, status);
}

const char *nnf__message(const void *handle, uint64_t serial, const char *stored)
{
    const thread_state *t = &t_state;
    return t->last_handle == handle && t->last_serial == serial ? t->msg : stored;
}

uint64_t nnf__new_serial(void)
{
    static atomic_uint_fast64_t next = 1;
    return (uint64_t)atomic_fetch_add_explicit(&next, 1, memory_order_relaxed);
}

NNF_API const char *nnf_status_str(nnf_status status)
{
    switch (status) {
    case NNF_OK: return "success";
    case NNF_ERR_ARG: return "invalid argument";
    case NNF_ERR_SHAPE: return "sizes do not fit together or are too large";
    case NNF_ERR_NOMEM: return "out of memory";
    case NNF_ERR_STATE: return "call out of order or conflicting settings";
    case NNF_ERR_NUMERIC: return "NaN or infinity in data, cost or gradients";
    case NNF_ERR_IO: return "input/output error";
    case NNF_ERR_FORMAT: return "malformed serialized data";
    }
    return "unknown status";
}
