/* SPDX-License-Identifier: MIT */
/* alloc.c - every allocation of the library goes through here, so a user's
 * hook (nnf_set_allocator) sees all of them. */
#include "alloc.h"
#include "call.h"

#include <stdatomic.h>
#include <stdlib.h>

static void *default_alloc(void *user, size_t size)
{
    (void)user;
    return malloc(size);
}

static void default_free(void *user, void *ptr)
{
    (void)user;
    free(ptr);
}

/* Global, set before first use and never concurrently (nnfast.h). */
static nnf_alloc_fn g_alloc = default_alloc;
static nnf_free_fn g_free = default_free;
static void *g_user;
/* Blocks from the current hook not yet given back: while there are any,
 * the hook must not change (a block would go to a free it did not come from). */
static atomic_size_t g_live;

NNF_API nnf_status nnf_set_allocator(nnf_alloc_fn alloc_fn, nnf_free_fn free_fn, void *user)
{
    nnf__call c;
    nnf__enter(&c, __func__, NULL, 0, NULL, 0);
    if ((alloc_fn == NULL) != (free_fn == NULL))
        return nnf__leave(&c, nnf__fail(NNF_ERR_ARG,
                                        "%s is NULL but %s is not (expected both "
                                        "functions, or both NULL for malloc and free)",
                                        alloc_fn ? "free_fn" : "alloc_fn",
                                        alloc_fn ? "alloc_fn" : "free_fn"));
    size_t live = atomic_load(&g_live);
    if (live)
        return nnf__leave(&c, nnf__fail(NNF_ERR_STATE,
                                        "%zu blocks of the current allocator are "
                                        "still in use (destroy every net first)",
                                        live));
    g_alloc = alloc_fn ? alloc_fn : default_alloc;
    g_free = free_fn ? free_fn : default_free;
    g_user = alloc_fn ? user : NULL;
    return nnf__leave(&c, NNF_OK);
}

void *nnf__malloc(size_t size)
{
    void *p = size ? g_alloc(g_user, size) : NULL;
    if (p)
        atomic_fetch_add_explicit(&g_live, 1, memory_order_relaxed);
    return p;
}

void nnf__free(void *p)
{
    if (p) {
        atomic_fetch_sub_explicit(&g_live, 1, memory_order_relaxed);
        g_free(g_user, p);
    }
}
