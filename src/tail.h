/* SPDX-License-Identifier: MIT */
/* tail.h - version 2's tail of a saved net, after the arrays at a multiple
 * of 8 (docs/format.md), for the writer (save.c) and the reader (load.c). */
#ifndef NNF_TAIL_H
#define NNF_TAIL_H

#include "format.h"
#include "net.h"

/* Bytes of net's tail. */
size_t nnf__tail_size(const nnf_net *net);
/* Write it at p (nnf__tail_size bytes); the counts only with
 * NNF_SAVE_OPTIMIZER_STATE in flags. */
void nnf__tail_write(const nnf_net *net, unsigned char *p, unsigned flags);
/* Check the tail at byte t of buf, after the arrays that end at arrays_end
 * (zero padding between), against the header h: every field in range and
 * the content ending exactly after it. Failures name the byte. */
nnf_status nnf__tail_check(const unsigned char *buf, size_t arrays_end, size_t t,
                           const nnf__head *h);
/* Its values into net (checked by nnf__tail_check); NNF_ERR_NOMEM. */
nnf_status nnf__tail_read(const unsigned char *buf, size_t t, nnf_net *net);

#endif /* NNF_TAIL_H */
