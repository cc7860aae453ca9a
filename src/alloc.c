/* alloc.c - every allocation of the library goes through here, so a user's
 * hook (nnf_set_allocator) sees all of them. */
#include "internal.h"

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

/* The one piece of global state: set before first use, never concurrently. */
static nnf_alloc_fn g_alloc = default_alloc;
static nnf_free_fn g_free = default_free;
static void *g_user;

NNF_API nnf_status nnf_set_allocator(nnf_alloc_fn alloc_fn, nnf_free_fn free_fn, void *user)
{
    if ((alloc_fn == NULL) != (free_fn == NULL))
        return NNF_ERR_ARG;
    g_alloc = alloc_fn ? alloc_fn : default_alloc;
    g_free = free_fn ? free_fn : default_free;
    g_user = alloc_fn ? user : NULL;
    return NNF_OK;
}

void *nnf__malloc(size_t size)
{
    return size ? g_alloc(g_user, size) : NULL;
}

void nnf__free(void *ptr)
{
    if (ptr)
        g_free(g_user, ptr);
}
