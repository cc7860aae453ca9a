/* SPDX-License-Identifier: MIT */
/* pass.h - the passes over a checked batch: forward, backward, a whole train
 * step, in the order of docs/math.md. */
#ifndef NNF_PASS_H
#define NNF_PASS_H

#include "net.h"

/* Z[l] = W[l] A[l-1] + b[l], A[l] = g(Z[l]) for l = 1..L into w (which holds
 * m samples), from x (n_0 x m) through the net's input scaling, if any
 * (into w, unless pass->x_scaled). pass: NULL for a prediction, else the
 * kind of training pass (dropout). Every Z[l] is checked for NaN and
 * infinity on the way (NNF_ERR_NUMERIC names the cause). Does not touch the
 * net's stored forward pass. */
nnf_status nnf__forward(const nnf_net *net, nnf__work *w, const float *x, size_t m,
                        const nnf__pass *pass);
/* A training pass outside trainers: keyed by the net's own count. */
nnf__pass nnf__direct_pass(const nnf_net *net);
/* The loss summed over the batch from the logits or outputs in w. */
double nnf__loss_sum(const nnf_net *net, const nnf__work *w, const float *y, size_t m);
/* The output A[L] in w. */
const float *nnf__output(const nnf_net *net, const nnf__work *w);
/* Everything a step of m samples needs (workspace, gradients, the
 * optimizer's state), allocated before any is installed: a failed
 * allocation changes nothing. */
nnf_status nnf__step_prepare(nnf_net *net, size_t m);
/* The gradient of J on the checked labelled batch (x, y) in the net's
 * gradient arena, as a train step computes it (exchange included) but
 * without dropout and without an update. */
nnf_status nnf__gradient(nnf_net *net, const float *x, const float *y, size_t m);
/* A train step on a checked batch: forward (a training pass of kind pass),
 * backward, the gradients clipped to a global norm of clip (0: not), then
 * the update. x is read in this call only. On failure no parameter has
 * changed. */
nnf_status nnf__step(nnf_net *net, const float *x, const float *y, size_t m, float *cost,
                     const nnf__pass *pass, double clip);

#endif /* NNF_PASS_H */
