/* count_alloc.h - the tests' allocator hook: counts allocations, frees and
 * live blocks, and refuses allocation number fail_at (0: none). Install with
 * nnf_set_allocator(count_alloc, count_free, &counter). */
#ifndef NNF_TESTS_COUNT_ALLOC_H
#define NNF_TESTS_COUNT_ALLOC_H

#include <stddef.h>

typedef struct counter {
    long allocs, frees, live;
    long fail_at;
} counter;

void *count_alloc(void *user, size_t size);
void count_free(void *user, void *ptr);

#endif
