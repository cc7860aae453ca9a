/* SPDX-License-Identifier: MIT */
/* guard.c - the hold of a call on a net (guard.h). One atomic operation
 * takes it and one gives it back: a writer swaps 0 for NNF__WRITER, a
 * reader adds one; a thread that finds the other kind of hold leaves the
 * word as it was and fails. Same-thread calls from inside a write call (a
 * progress callback evaluating the net) nest in that call's hold. */
#include "guard.h"

#define NNF__WRITER (1u << 31) /* the word's top bit: a writer holds the net */

static void release_write(nnf__call *c)
{
    nnf__guard *g = c->held;
    if (--g->depth == 0) {
        atomic_store_explicit(&g->owner, NULL, memory_order_relaxed);
        /* a subtraction, not a store of 0: a reader may be passing through */
        atomic_fetch_sub_explicit(&g->word, NNF__WRITER, memory_order_release);
    }
}

static void release_read(nnf__call *c)
{
    nnf__guard *g = c->held;
    atomic_fetch_sub_explicit(&g->word, 1, memory_order_release);
}

/* The calling thread holds g for writing: its nested calls share the hold. */
static int owned_here(nnf__guard *g)
{
    return atomic_load_explicit(&g->owner, memory_order_relaxed) == nnf__thread_token();
}

static nnf_status in_use(const nnf__guard *g)
{
    return nnf__fail(NNF_ERR_STATE, "%s",
                     g->busy ? g->busy
                             : "net is in use by another thread (one thread may change a net "
                               "at a time; several may only read an idle one)");
}

nnf_status nnf__guard_hold(nnf__call *c, nnf__guard *g, int write)
{
    if (write) {
        unsigned idle = 0;
        if (atomic_compare_exchange_strong_explicit(&g->word, &idle, NNF__WRITER,
                                                    memory_order_acquire, memory_order_relaxed))
            atomic_store_explicit(&g->owner, nnf__thread_token(), memory_order_relaxed);
        else if (!owned_here(g))
            return in_use(g);
        g->depth++;
        c->release = release_write;
    } else {
        unsigned old = atomic_fetch_add_explicit(&g->word, 1, memory_order_acquire);
        if (old & NNF__WRITER) {
            atomic_fetch_sub_explicit(&g->word, 1, memory_order_relaxed);
            if (!owned_here(g))
                return in_use(g);
            return NNF_OK; /* a read nested in this thread's own write call */
        }
        c->release = release_read;
    }
    c->held = g;
    return NNF_OK;
}

int nnf__guard_writing(nnf__guard *g)
{
    return (atomic_load_explicit(&g->word, memory_order_acquire) & NNF__WRITER) != 0;
}

int nnf__guard_busy(nnf__guard *g)
{
    return atomic_load_explicit(&g->word, memory_order_acquire) != 0;
}
