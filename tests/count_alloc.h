/* SPDX-License-Identifier: MIT */
/* count_alloc.h - the tests' allocator hook: counts allocations, frees and
 * live blocks, and can refuse allocations: number fail_at only, every one
 * from number fail_from on (a budget), and every request above cap bytes
 * (so that a request of gigabytes fails at once, under valgrind and ASan
 * too, instead of being overcommitted and touched). Numbers count from 1
 * over the life of the counter: allocation allocs + k is the k-th from now.
 * Install with nnf_set_allocator(count_alloc, count_free, &counter), or with
 * the fixtures below, which install g_count. */
#ifndef NNF_TESTS_COUNT_ALLOC_H
#define NNF_TESTS_COUNT_ALLOC_H

#include <stddef.h>

typedef struct counter {
    long allocs, frees, live;
    long fail_at;      /* refuse allocation number fail_at (0: none) */
    long fail_from;    /* refuse allocation number fail_from and every later one (0: none) */
    size_t cap;        /* refuse requests of more bytes (0: no cap) */
    size_t bytes;      /* bytes of every block handed out so far */
    size_t live_bytes; /* bytes of the blocks not yet freed */
    size_t peak_bytes; /* the most live_bytes has been (a test may lower it to start anew) */
} counter;

/* Requests above this many bytes fail at once under the fixtures' counter:
 * no test net comes near it. */
#define COUNT_ALLOC_CAP ((size_t)64 << 20)

void *count_alloc(void *user, size_t size);
void count_free(void *user, void *ptr);

/* The counter the fixtures install. */
extern counter g_count;

/* cmocka fixtures (group or test): count_alloc_install zeroes g_count, caps
 * it at COUNT_ALLOC_CAP and installs it; count_alloc_remove restores malloc
 * and free; count_alloc_reset starts a test from a clean count (no refusal,
 * and blocks an earlier failed test lost are not this test's). */
int count_alloc_install(void **state);
int count_alloc_remove(void **state);
int count_alloc_reset(void **state);

/* A budget on g_count: the next k allocations succeed and every later one
 * fails (k < 0: no budget). */
void count_alloc_budget(long k);

#endif
