/* SPDX-License-Identifier: MIT */
/*
 * nnfast_mpi.h - data-parallel training over MPI (libnnfast_mpi.so.1).
 *
 * Each rank of a communicator holds a net of the same architecture and a
 * shard of the data. In a step every rank computes the gradient of its own
 * samples; the ranks sum the gradients, the losses and the sample counts
 * (through the net's exchange function, nnfast.h "Exchanging gradients"),
 * and every rank applies the same update to the same parameters. R ranks
 * so train the model that one process trains on the ranks' batches
 * concatenated in rank order (docs/distributed.md says what equals what).
 *
 * Every call here is collective: every rank of comm makes it, in the same
 * order, with the same root and the same trainer settings. A failure on
 * any rank (bad input, a cost or gradient that is not finite, an
 * allocation) is returned on every rank: the lowest failing rank's status,
 * with a message naming that rank, e.g. "nnf_mpi_train_step: rank 1:
 * x[3][1] is nan (expected a finite value)" (nnf_net_errmsg(); for
 * nnf_mpi_trainer_run also nnf_trainer_errmsg()). No rank then changes its
 * parameters. Only a NULL communicator, MPI not initialized, or an error of
 * MPI itself fail on one rank alone; with MPI's default error handler
 * (MPI_ERRORS_ARE_FATAL) MPI aborts the job on a communication error.
 *
 * The calls set the net's exchange function for their duration and remove
 * it before they return: a function set by the caller is not kept.
 * Parameters are bit-identical across ranks after every step, by
 * construction: with 2 ranks the sums are one commutative addition per
 * float, with more they are reduced on rank 0 and broadcast.
 *
 * Link with -lnnfast_mpi -lnnfast and the MPI library (pkg-config
 * nnfast-mpi, or the CMake target nnfast::mpi). Since 1.3.
 */
#ifndef NNFAST_MPI_H
#define NNFAST_MPI_H

/* clang-format off */

#include <mpi.h>
#include <nnfast.h>

#if defined(_WIN32)
#  if defined(NNFAST_MPI_BUILDING)
#    define NNF_MPI_API __declspec(dllexport)
#  else
#    define NNF_MPI_API __declspec(dllimport)
#  endif
#elif defined(__GNUC__) && __GNUC__ >= 4
#  define NNF_MPI_API __attribute__((visibility("default")))
#else
#  define NNF_MPI_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/** Make every rank's parameters, settings (loss, nnf_param values, seed,
 *  slopes, dropout rates), optimizer state, input scaling and epoch count
 *  those of root's net (nnf_net_copy_state()). The architecture is
 *  broadcast and compared first: ranks whose net has other inputs, layers,
 *  units or activations than root's make every rank fail with
 *  NNF_ERR_STATE, and no net changes. NNF_ERR_ARG on every rank for a NULL
 *  net on any rank or a root outside 0 .. size - 1 (or not the same on
 *  every rank). */
NNF_MPI_API nnf_status nnf_mpi_bcast(nnf_net *net, MPI_Comm comm, int root);

/** One collective train step: rank r contributes its m_local samples x, y
 *  (laid out as for nnf_net_train_step(); m_local 0 is allowed, x and y
 *  then unused). The cost J (through cost, may be NULL) and the gradients
 *  are means over every rank's samples, as in nnf_net_train_step() on the
 *  ranks' batches concatenated in rank order; at least one rank must have
 *  a sample. The nets must have the same architecture and state
 *  (nnf_mpi_bcast() first). */
NNF_MPI_API nnf_status nnf_mpi_train_step(nnf_net *net, MPI_Comm comm, const float *x,
                                          const float *y, size_t m_local, float *cost);

/** nnf_trainer_run() over the ranks' shards (m_local samples on this rank,
 *  0 allowed): every epoch has as many batches as the rank with most
 *  (ranks with fewer step empty), and batch k is every rank's k-th local
 *  batch of its own shard (in its own shuffled order, batch size from the
 *  trainer), so the global batch is R x batch size. Each rank may hold a
 *  validation set of its own (nnf_trainer_set_validation()) or none: the
 *  validation loss and accuracy are those of all of them together, so
 *  early stopping and restore-best decide alike on every rank. The
 *  trainers' settings must be the same on every rank (NNF_ERR_STATE on
 *  every rank otherwise, before any step). A progress function should
 *  answer the same on every rank: one that stops its rank alone makes
 *  every rank fail with NNF_ERR_STATE (none waits for the others), the
 *  nets then as the steps left them. */
NNF_MPI_API nnf_status nnf_mpi_trainer_run(nnf_trainer *t, nnf_net *net, MPI_Comm comm,
                                           const float *x, const float *y, size_t m_local);

#ifdef __cplusplus
}
#endif

#endif /* NNFAST_MPI_H */
