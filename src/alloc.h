/* SPDX-License-Identifier: MIT */
/* alloc.h - every allocation of the library, through the user's hook. */
#ifndef NNF_ALLOC_H
#define NNF_ALLOC_H

#include <stddef.h>

/* size bytes from the hook (NULL for size 0 or when it fails). */
void *nnf__malloc(size_t size);
/* Give p back to the hook; NULL is a no-op. */
void nnf__free(void *p);

#endif /* NNF_ALLOC_H */
