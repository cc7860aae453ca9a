/* SPDX-License-Identifier: MIT */
/* nets.h - the nets, data and checks the black-box tests share: a net
 * built from a spec, a deterministic data set, a library net with its
 * float64 reference twin on the same data (the pair of the reference
 * comparisons), and the check that a net still trains. */
#ifndef NNF_TESTS_NETS_H
#define NNF_TESTS_NETS_H

#include <stddef.h>
#include <stdint.h>

#include "nnfast.h"
#include "ref.h"

/* ---- building a net */

/* Zero fields keep the library's defaults, so a spec names only what a
 * test sets: net_build(&(net_spec){.inputs = 2, .depth = 2, .units = u,
 * .acts = a, .lr = 0.5}). */
typedef struct net_spec {
    size_t inputs, depth;
    const size_t *units; /* units[l - 1] of layer l = 1..depth */
    const nnf_act *acts; /* acts[l - 1] of layer l */
    nnf_loss loss;       /* 0: BCE */
    double lr;           /* 0: the default learning rate */
    /* nnf_net_init(init, seed) when either is not 0; both 0 keep the
     * weights nnf_net_add_dense chose (which nnf_net_init(NNF_INIT_DEFAULT,
     * NNF_DEFAULT_SEED) must reproduce: test_net.c checks it). */
    nnf_init init;
    uint64_t seed;
} net_spec;

/* The net of spec; fails the test when a call fails. */
nnf_net *net_build(const net_spec *spec);

/* ---- data */

/* m samples: x in [-1, 1), labels 0 or 1 that a small net can learn (or,
 * with onehot and n_out > 1, one-hot rows), valid for every loss. */
void make_data(float *x, float *y, size_t m, size_t n_in, size_t n_out, int onehot);

/* Largest |sum_k a_k - 1| over m rows of n outputs: 0 for softmax outputs. */
double worst_row_sum(const float *out, size_t n, size_t m);

/* steps train steps on 8 samples of make_data (one-hot rows for
 * cross-entropy), each of which must succeed. */
void train_steps(nnf_net *net, int steps);

/* 4 -> 6 leaky ReLU (slope 0.3) -> 5 ReLU -> 3 softmax, cross-entropy,
 * Xavier from seed 77, momentum, every setting away from its default, and
 * trained 3 steps: a net with something to lose in every field. */
nnf_net *mixed_net(void);

/* ---- checks */

/* Every weight and bias of net is finite (what names the case); every dW
 * and db of its last backward. */
void assert_params_finite(nnf_net *net, const char *what);
void assert_grads_finite(nnf_net *net, const char *what);

/* The net works: a train step on make_data succeeds with a finite cost
 * and leaves every parameter finite. */
void assert_trains(nnf_net *net);

/* ---- a library net and its reference twin, on the same data */

#define PAIR_MAX_L 4
#define PAIR_MAX_M 64
#define PAIR_MAX_N 12

typedef struct pair {
    nnf_net *net;
    ref_net ref;
    size_t L, n[PAIR_MAX_L + 1], m;
    nnf_loss loss;
    float x[PAIR_MAX_M * PAIR_MAX_N], y[PAIR_MAX_M * PAIR_MAX_N], out[PAIR_MAX_M * PAIR_MAX_N];
    double xd[PAIR_MAX_M * PAIR_MAX_N], yd[PAIR_MAX_M * PAIR_MAX_N];
} pair;

/* Net n[0] -> ... -> n[L] with activations act[0..L-1] and loss; weights
 * from nnf_net_init(NNF_INIT_DEFAULT, seed), biases random and non-zero so
 * that an update of them shows; the reference holds the same float values.
 * Data: x uniform in [-1, 1); labels 0/1 (BCE), uniform in [-1, 1) (MSE),
 * or for cross-entropy one-hot rows, or with soft random distributions.
 * ReLU pre-activations are moved off the kink (ref_kink_shift) in both. */
void pair_init(pair *p, size_t L, const size_t *n, const nnf_act *act, nnf_loss loss, size_t m,
               int soft, uint64_t seed);
/* Push the library's layer l parameters into the reference (as doubles of
 * the same floats), after a test set them. */
void pair_sync_layer(pair *p, size_t l);
void pair_free(pair *p);
/* Worst relative error of the library's W and b (grads = 0) or dW and db
 * (grads = 1) against the reference's, each layer's W and b as a whole. */
double pair_worst_err(pair *p, int grads);

#endif
