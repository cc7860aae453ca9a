/* SPDX-License-Identifier: MIT */
/* arena.h - the layer list and the parameter and gradient arenas of a net. */
#ifndef NNF_ARENA_H
#define NNF_ARENA_H

#include "net.h"

/* Point every layer into the arenas (after one of them moved). */
void nnf__arena_bind(nnf_net *net);
/* Make the layer list hold `layers` layers and the parameter arena `floats`
 * floats: exactly (exact = 1), or growing geometrically. Moving the blocks
 * changes no value. NNF_ERR_NOMEM (not reported) changes nothing. */
nnf_status nnf__arena_make_room(nnf_net *net, size_t layers, size_t floats, int exact);

/* Give back the parameter arena's spare room (left by growing it while
 * layers were added) once the net is used: the workspace's first sizing
 * calls it. Without memory for the exact block it changes nothing. */
void nnf__arena_fit(nnf_net *net);

/* Room for `layers` more layers and `params` more parameters, so that
 * appending them allocates nothing but the layers themselves (the loader
 * sizes a net once). */
nnf_status nnf__arena_reserve(nnf_net *net, size_t layers, size_t params);
/* The gradient arena, allocated at the first backward (or after layers were
 * added): a new block (NULL with NNF_OK when the arena is large enough;
 * NNF_ERR_NOMEM reported on the current call), then installed. */
float *nnf__arena_grads_alloc(const nnf_net *net, nnf_status *st);
void nnf__arena_grads_install(nnf_net *net, float *grads);

#endif /* NNF_ARENA_H */
