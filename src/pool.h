/* SPDX-License-Identifier: MIT */
/* pool.h - nnfast's own threads: a region of independent tasks runs on up to
 * nnf_set_threads() threads (the caller and the pool's workers). Tasks write
 * disjoint outputs and the split into tasks depends on the shapes alone, so
 * a result does not depend on how many threads ran it. */
#ifndef NNF_POOL_H
#define NNF_POOL_H

#include <stddef.h>

typedef void (*nnf__task_fn)(void *ctx, size_t task);

/* Run fn(ctx, 0 .. n_tasks - 1), each once, and return when all are done.
 * On one thread when the thread count is 1, when there is one task, or when
 * the pool is busy with another caller's region. */
void nnf__parallel(size_t n_tasks, nnf__task_fn fn, void *ctx);

/* The thread count regions run with (the caller included). */
int nnf__pool_threads(void);
/* Set it (n >= 1). The BLAS is kept at one thread per call: the pool is
 * what runs the blocks of a product at once. */
void nnf__pool_set_threads(int n);

#endif /* NNF_POOL_H */
