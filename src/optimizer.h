/* SPDX-License-Identifier: MIT */
/* optimizer.h - the net's optimizer: its state arena, the update of the
 * parameter arena with the last gradients, and the L2 penalty's terms. */
#ifndef NNF_OPTIMIZER_H
#define NNF_OPTIMIZER_H

#include "net.h"

/* Floats of state opt keeps for n_params parameters. */
size_t nnf__optim_state_floats(nnf_optimizer opt, size_t n_params);
/* Forget the state and the step count: training starts over. The state is
 * allocated (zeroed) again at the next update. */
void nnf__optim_drop_state(nnf_net *net);
/* Zero the state and the step count: training starts over (nnf_net_init). */
void nnf__optim_restart(nnf_net *net);
/* The state the optimizer needs, allocated and zeroed if it is not yet:
 * in two halves for a caller that allocates several blocks before it
 * installs any (NULL with NNF_OK when there is nothing to allocate). */
float *nnf__optim_state_alloc(const nnf_net *net, nnf_status *st);
void nnf__optim_state_install(nnf_net *net, float *state);
nnf_status nnf__optim_state_ready(nnf_net *net);
/* One update with the gradients of the last backward; a check runs first,
 * and an update that would make a parameter or the state NaN or infinite
 * fails with NNF_ERR_NUMERIC and writes nothing. */
nnf_status nnf__optim_update(nnf_net *net);
/* NNF_ERR_NUMERIC (and no gradient kept) if a gradient is not finite. */
nnf_status nnf__grads_check(nnf_net *net);
/* The L2 penalty's cost term lambda/(2m) sum_l ||W[l]||^2 (0 for lambda 0). */
double nnf__l2_cost(const nnf_net *net, double m);
/* dW[l] += (lambda/m) W[l] for every layer; returns nnf__l2_cost(net, m). */
double nnf__l2_apply(nnf_net *net, double m);

#endif /* NNF_OPTIMIZER_H */
