/* count_alloc.c - see count_alloc.h. */
#include "count_alloc.h"

#include <stdlib.h>

void *count_alloc(void *user, size_t size)
{
    counter *c = user;
    if (++c->allocs == c->fail_at)
        return NULL;
    void *p = malloc(size);
    if (p)
        c->live++;
    return p;
}

void count_free(void *user, void *ptr)
{
    counter *c = user;
    c->frees++;
    c->live--;
    free(ptr);
}
