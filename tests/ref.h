/* SPDX-License-Identifier: MIT */
/*
 * ref.h - a double-precision reference network for the tests: MATH.md
 * written as plain loops (no BLAS), independent of src/.
 *
 * Layouts are the user layouts of nnfast.h, in double:
 *   weights w[l] `double w[n_l][n_{l-1}]` (row j = unit j), biases `b[n_l]`,
 *   data x `double x[m][n_0]`, labels y `double y[m][n_L]`,
 *   z[l], a[l] `double [m][n_l]` (sample-major = column-major n_l x m).
 * Layer l runs from 1 to L as in MATH.md; the arrays in ref_net are indexed
 * by l (entry 0 of w, b, act, slope is unused; a[0] is a copy of x).
 *
 * Besides MATH.md's plain gradient descent the reference has the parts of
 * nnfast 1.2 (formulas in nnfast.h): a softmax output layer with
 * categorical cross-entropy, the L2 penalty (field l2), and the momentum
 * and Adam optimizers, all in double; and of 1.3: dropout with a given mask,
 * AdamW and clipping by the global norm.
 */
#ifndef NNF_TESTS_REF_H
#define NNF_TESTS_REF_H

#include <stddef.h>
#include <stdint.h>

#include "nnfast.h"

#define REF_MAX_LAYERS 16

typedef struct ref_net {
    size_t L;                         /* layers with weights */
    size_t n[REF_MAX_LAYERS + 1];     /* n[0] inputs, n[l] units of layer l */
    nnf_act act[REF_MAX_LAYERS + 1];  /* g of layer l */
    double slope[REF_MAX_LAYERS + 1]; /* alpha of a leaky ReLU layer l */
    nnf_loss loss;
    double *w[REF_MAX_LAYERS + 1], *b[REF_MAX_LAYERS + 1];   /* parameters */
    double *dw[REF_MAX_LAYERS + 1], *db[REF_MAX_LAYERS + 1]; /* of ref_backward */
    size_t m; /* batch size of the last forward (0: none) */
    double *z[REF_MAX_LAYERS + 1], *a[REF_MAX_LAYERS + 1]; /* of the last forward */
    double l2; /* lambda of the L2 penalty; 0 after init */
    /* Optimizer state, allocated (zeroed) by the first ref_update_momentum()
     * or ref_update_adam(): mw, mb are momentum's v or Adam's m, vw, vb
     * Adam's v; t counts the updates since the last ref_optim_reset(). */
    double *mw[REF_MAX_LAYERS + 1], *mb[REF_MAX_LAYERS + 1];
    double *vw[REF_MAX_LAYERS + 1], *vb[REF_MAX_LAYERS + 1];
    unsigned long t;
    /* Dropout of nnfast 1.3: drop[l] (l < L), when not NULL, is the mask of
     * layer l's output for the next forward, `double [m][n_l]` of factors
     * (0 for a dropped unit, 1 / (1 - rate) for a kept one), owned by the
     * caller: A[l] = g(Z[l]) * mask, and backward takes dA[l] * mask. */
    const double *drop[REF_MAX_LAYERS + 1];
} ref_net;

/* Set up a net with L layers: n[0..L] sizes, act[0..L-1] the activation of
 * layers 1..L, slope[0..L-1] their leaky-ReLU alphas (slope NULL: 0.01 for
 * every layer). Parameters and gradients start at 0, l2 at 0.
 * Returns 0, or -1 for bad arguments (L out of 1..REF_MAX_LAYERS, a zero
 * size, BCE without a sigmoid output, softmax on a hidden layer, softmax
 * output without cross-entropy or cross-entropy without softmax output) or
 * a failed allocation. */
int ref_net_init(ref_net *r, size_t L, const size_t *n, const nnf_act *act, const double *slope,
                 nnf_loss loss);
/* Free everything ref_net_init() and ref_forward() allocated; r may be zeroed. */
void ref_net_free(ref_net *r);

/* g(z) and g'(z) of MATH.md's table for one value (g'(0) = 0 for ReLU,
 * alpha for leaky ReLU). NaN for softmax, which is not elementwise. */
double ref_act(nnf_act act, double slope, double z);
double ref_act_deriv(nnf_act act, double slope, double z);

/* Forward pass of x (m samples): keeps z[l] and a[l] for l = 0..L and
 * returns a[L] (`double [m][n_L]`), or NULL when an allocation fails.
 * A softmax output is computed per sample from z - max(z). */
const double *ref_forward(ref_net *r, const double *x, size_t m);

/* Cost J of the last forward against labels y: mean over samples of the
 * per-sample loss summed over output units. BCE comes from the logits,
 * max(z,0) - z y + log(1 + e^-|z|); MSE is 1/2 sum_k (a_k - y_k)^2;
 * cross-entropy also from the logits, per sample
 * -sum_k y_k (z_k - max - log sum_j e^(z_j - max)) (finite for any finite z).
 * With l2 > 0, J += l2/(2m) sum_l ||W[l]||^2 (biases are not penalized). */
double ref_cost(const ref_net *r, const double *y);

/* Backward pass for the last forward against labels y: fills dw[l], db[l]
 * for every layer (MATH.md's "Backward propagation"); dZ[L] = A[L] - Y for
 * sigmoid + BCE and for softmax + cross-entropy (exact when every row of y
 * sums to 1). With l2 > 0, dw[l] += (l2/m) w[l]. Returns 0, or -1 when
 * there is no forward pass or an allocation fails. */
int ref_backward(ref_net *r, const double *y);

/* Gradient descent: w[l] -= lr dw[l], b[l] -= lr db[l] for every layer. */
void ref_update(ref_net *r, double lr);

/* Momentum, for every weight and bias p with gradient g (dw, db):
 *     v = beta v + (1 - beta) g;  p -= lr v      (v starts at 0)
 * Returns 0, or -1 when the state cannot be allocated (nothing changed). */
int ref_update_momentum(ref_net *r, double lr, double beta);

/* Adam with bias correction; t = r->t + 1 is the number of this update:
 *     m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
 *     p -= lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
 * Returns 0, or -1 when the state cannot be allocated (nothing changed). */
int ref_update_adam(ref_net *r, double lr, double b1, double b2, double eps);

/* AdamW (nnfast 1.3): every weight first scaled by (1 - lr decay), then
 * Adam's step above for weights and biases (biases are not decayed). */
int ref_update_adamw(ref_net *r, double lr, double b1, double b2, double eps, double decay);

/* Clip the gradients dw, db of every layer by their global norm: all scaled
 * by max_norm / ||g|| when ||g|| > max_norm. Returns ||g|| before. */
double ref_clip_norm(ref_net *r, double max_norm);

/* Zero the optimizer's state and its step count t (a new optimizer, or
 * training that starts over). */
void ref_optim_reset(ref_net *r);

/* Smallest shift d >= 0 (a multiple of 2.5 margin) such that every
 * |z[l][i][j] + d| of the last forward is >= margin, for unit j of a ReLU or
 * leaky ReLU layer l (0 for other layers). Adding d to b[l][j] moves that
 * unit's pre-activations away from the kink at 0, where float and double
 * may disagree on the side (tests shift layer by layer, re-running forward). */
double ref_kink_shift(const ref_net *r, size_t l, size_t j, double margin);

/* Conversions between float and double arrays of n values. */
void ref_to_double(double *dst, const float *src, size_t n);
void ref_to_float(float *dst, const double *src, size_t n);

/* Normwise relative error of got against want, n values:
 *     max_i |got_i - want_i| / max(max_i |want_i|, REF_TINY).
 * Each quantity (one layer's dW, its db, an output) is compared as a whole,
 * so an element that is tiny next to the others (where float32 relative
 * error is large for legitimate reasons: cancellation, 1 - a^2 near
 * saturation) does not dominate. A correct float32 result of this library
 * gives about 1e-7 to 1e-6; a wrong transpose, a missing 1/m, a wrong
 * derivative or a stale parameter gives 1e-2 or more, so 1e-4 separates the
 * two. REF_TINY only avoids 0/0: callers make sure want is not all zero. */
#define REF_TINY 1e-30
double ref_rel_err(const double *got, const double *want, size_t n);
double ref_rel_err_f(const float *got, const double *want, size_t n);
/* max_i |x_i|, 0 for n == 0. */
double ref_max_abs(const double *x, size_t n);

/* A small deterministic generator (splitmix64) for test data. */
typedef struct ref_rng {
    uint64_t state;
} ref_rng;
uint64_t ref_rng_next(ref_rng *g);
/* Uniform in [lo, hi). */
double ref_rng_uniform(ref_rng *g, double lo, double hi);

#endif /* NNF_TESTS_REF_H */
