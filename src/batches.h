/* SPDX-License-Identifier: MIT */
/* batches.h - the mini-batches of a data set: a shuffled order of its
 * samples, rows gathered in that order, and where a run is for messages;
 * shared by nnf_net_train (train.c) and the trainer (trainer.c). */
#ifndef NNF_BATCHES_H
#define NNF_BATCHES_H

#include "net.h"

/* The shuffle's stream of nnf__rng: layer initialization uses streams 1..L. */
#define NNF__SHUFFLE_STREAM UINT64_C(0x73687566666c65) /* "shuffle" */

/* Fisher-Yates with r: every permutation of order[0..m) equally likely. */
void nnf__shuffle(size_t *order, size_t m, nnf__rng *r);
/* Copy rows order[0..mb) of the `float v[m][n]` data set to dst[mb][n]. */
void nnf__gather(float *dst, const float *v, size_t n, const size_t *order, size_t mb);
/* The order 0..m-1 and buffers for a batch of x and of y (batch samples),
 * all allocated or the failure reported (the caller frees what it got). */
nnf_status nnf__batches_alloc(const nnf_net *net, size_t m, size_t batch, size_t **order,
                              float **xb, float **yb);

/* Where a run is: "epoch E, batch B" in the messages of a failing step. */
typedef struct nnf__position {
    size_t epoch, batch;
} nnf__position;
void nnf__where_in_run(char *buf, size_t cap, const void *position);

#endif /* NNF_BATCHES_H */
