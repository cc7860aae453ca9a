/* SPDX-License-Identifier: MIT */
/* count_alloc.c - see count_alloc.h. */
#include "count_alloc.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "nnfast.h"

#include <stddef.h>

counter g_count;

/* Tests with threads allocate from several at once. */
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

/* Each block is preceded by its size, in a header that keeps the block as
 * aligned as malloc's. */
#define HEADER sizeof(max_align_t)

void *count_alloc(void *user, size_t size)
{
    counter *c = user;
    pthread_mutex_lock(&g_lock);
    long n = ++c->allocs;
    unsigned char *p = NULL;
    if (!(n == c->fail_at || (c->fail_from && n >= c->fail_from) || (c->cap && size > c->cap) ||
          size > SIZE_MAX - HEADER))
        p = malloc(HEADER + size);
    if (p) {
        memcpy(p, &size, sizeof size);
        c->live++;
        c->bytes += size;
        c->live_bytes += size;
        if (c->live_bytes > c->peak_bytes)
            c->peak_bytes = c->live_bytes;
    }
    pthread_mutex_unlock(&g_lock);
    return p ? p + HEADER : NULL;
}

void count_free(void *user, void *ptr)
{
    counter *c = user;
    unsigned char *p = (unsigned char *)ptr - HEADER;
    size_t size;
    memcpy(&size, p, sizeof size);
    pthread_mutex_lock(&g_lock);
    c->frees++;
    c->live--;
    c->live_bytes -= size;
    pthread_mutex_unlock(&g_lock);
    free(p);
}

int count_alloc_install(void **state)
{
    (void)state;
    memset(&g_count, 0, sizeof g_count);
    g_count.cap = COUNT_ALLOC_CAP;
    return nnf_set_allocator(count_alloc, count_free, &g_count) == NNF_OK ? 0 : -1;
}

int count_alloc_remove(void **state)
{
    (void)state;
    return nnf_set_allocator(NULL, NULL, NULL) == NNF_OK ? 0 : -1;
}

int count_alloc_reset(void **state)
{
    (void)state;
    g_count.live = 0;
    g_count.live_bytes = 0;
    g_count.fail_at = 0;
    g_count.fail_from = 0;
    return 0;
}

void count_alloc_budget(long k)
{
    g_count.fail_from = k < 0 ? 0 : g_count.allocs + k + 1;
}
