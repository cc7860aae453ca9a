/* SPDX-License-Identifier: MIT */
/* counting.c - the allocator hook of the bench: counts the library's
 * allocations and the bytes it holds, with a size header before each block. */
#include "bench.h"

#include <stdatomic.h>
#include <stdlib.h>

/* The header is one cache line, so every block stays 64-byte aligned (as
 * good as the float kernels can use, and more than max_align_t). */
#define HEADER 64

static atomic_size_t g_allocs; /* blocks handed out so far (--serve's threads too) */
static atomic_size_t g_live;   /* requested bytes not yet freed */

static void *count_alloc(void *user, size_t size)
{
    (void)user;
    if (size > SIZE_MAX - 2 * HEADER)
        return NULL;
    size_t total = (size + HEADER + HEADER - 1) / HEADER * HEADER;
    unsigned char *p = aligned_alloc(HEADER, total);
    if (p == NULL)
        return NULL;
    *(size_t *)(void *)p = size;
    g_allocs++;
    g_live += size;
    return p + HEADER;
}

static void count_free(void *user, void *ptr)
{
    unsigned char *p = (unsigned char *)ptr - HEADER;
    (void)user;
    g_live -= *(size_t *)(void *)p;
    free(p);
}

int counting_install(void)
{
    return nnf_set_allocator(count_alloc, count_free, NULL) == NNF_OK ? 0 : -1;
}

size_t counting_allocs(void)
{
    return g_allocs;
}

size_t counting_live_bytes(void)
{
    return g_live;
}
