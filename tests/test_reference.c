/* SPDX-License-Identifier: MIT */
/*
 * test_reference.c - checks the double-precision reference of tests/ref.c
 * itself: hand-computed cases, and its analytic gradients against central
 * finite differences of its own cost (MATH.md, "Checking a gradient").
 * Every other comparison test trusts the reference because of this file.
 * Also the 1.2 parts: softmax + cross-entropy, the L2 penalty, momentum and
 * Adam (formulas in nnfast.h).
 * Set NNF_TEST_VERBOSE=1 to print the worst finite-difference errors.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "ref.h"
#include "verbose.h"

#define FD_EPS      1e-6 /* step of the central difference */
#define FD_TOL      1e-7 /* MATH.md: relative error under 1e-7 in double */
#define KINK_MARGIN 1e-3 /* |z| at ReLU kinks, far above what FD_EPS moves z */

static void assert_near(double got, double want, double tol)
{
    if (!(fabs(got - want) <= tol * fmax(fabs(want), 1.0))) {
        print_error("got %.17g, want %.17g (tolerance %g)\n", got, want, tol);
        fail();
    }
}

static double sigmoid(double z)
{
    return 1.0 / (1.0 + exp(-z));
}

/* ---- hand-computed cases */

/* 1 input, 1 sigmoid unit, w = 0.5, b = 0, x = 2, y = 1: z = 1. */
static void test_single_sigmoid_unit_bce_matches_hand_computation(void **state)
{
    ref_net r;
    size_t n[] = {1, 1};
    nnf_act act[] = {NNF_ACT_SIGMOID};
    double x[] = {2.0}, y[] = {1.0};
    (void)state;

    assert_int_equal(ref_net_init(&r, 1, n, act, NULL, NNF_LOSS_BCE), 0);
    r.w[1][0] = 0.5;
    r.b[1][0] = 0.0;
    assert_non_null(ref_forward(&r, x, 1));
    assert_near(r.z[1][0], 1.0, 1e-15);
    assert_near(r.a[1][0], sigmoid(1.0), 1e-15);
    assert_near(ref_cost(&r, y), log(1.0 + exp(-1.0)), 1e-15);
    assert_int_equal(ref_backward(&r, y), 0);
    assert_near(r.dw[1][0], (sigmoid(1.0) - 1.0) * 2.0, 1e-15);
    assert_near(r.db[1][0], sigmoid(1.0) - 1.0, 1e-15);
    ref_update(&r, 0.1);
    assert_near(r.w[1][0], 0.5 - 0.1 * (sigmoid(1.0) - 1.0) * 2.0, 1e-15);
    assert_near(r.b[1][0], -0.1 * (sigmoid(1.0) - 1.0), 1e-15);
    ref_net_free(&r);
}

/* Two samples: the cost and the gradients are means over the batch. */
static void test_two_samples_bce_averages_over_batch(void **state)
{
    ref_net r;
    size_t n[] = {1, 1};
    nnf_act act[] = {NNF_ACT_SIGMOID};
    double x[] = {2.0, -1.0}, y[] = {1.0, 0.0};
    (void)state;

    assert_int_equal(ref_net_init(&r, 1, n, act, NULL, NNF_LOSS_BCE), 0);
    r.w[1][0] = 0.5; /* z = {1, -0.5} */
    assert_non_null(ref_forward(&r, x, 2));
    assert_near(ref_cost(&r, y), (log(1.0 + exp(-1.0)) + log(1.0 + exp(-0.5))) / 2.0, 1e-15);
    assert_int_equal(ref_backward(&r, y), 0);
    assert_near(r.dw[1][0], ((sigmoid(1.0) - 1.0) * 2.0 + sigmoid(-0.5) * -1.0) / 2.0, 1e-15);
    assert_near(r.db[1][0], ((sigmoid(1.0) - 1.0) + sigmoid(-0.5)) / 2.0, 1e-15);
    ref_net_free(&r);
}

/* 1 linear unit, w = 0.5, b = 0.25, x = 2, y = 1: a = 1.25. */
static void test_single_linear_unit_mse_matches_hand_computation(void **state)
{
    ref_net r;
    size_t n[] = {1, 1};
    nnf_act act[] = {NNF_ACT_LINEAR};
    double x[] = {2.0}, y[] = {1.0};
    (void)state;

    assert_int_equal(ref_net_init(&r, 1, n, act, NULL, NNF_LOSS_MSE), 0);
    r.w[1][0] = 0.5;
    r.b[1][0] = 0.25;
    assert_non_null(ref_forward(&r, x, 1));
    assert_near(ref_cost(&r, y), 0.5 * 0.25 * 0.25, 1e-15);
    assert_int_equal(ref_backward(&r, y), 0);
    assert_near(r.dw[1][0], 0.25 * 2.0, 1e-15);
    assert_near(r.db[1][0], 0.25, 1e-15);
    ref_net_free(&r);
}

/*
 * x = 1 -> ReLU layer of 2 units, W1 = [2; -1], b1 = [0.5; 0.5]:
 * z1 = [2.5; -0.5], a1 = [2.5; 0] -> linear unit W2 = [1 3], b2 = -1:
 * a2 = 1.5, y = 1, MSE. dZ2 = 0.5, dW2 = [1.25 0], db2 = 0.5,
 * dA1 = W2^T dZ2 = [0.5; 1.5], dZ1 = [0.5; 0], dW1 = [0.5; 0], db1 = [0.5; 0].
 * Exact in binary, so this pins the layouts and the chain rule.
 */
static void test_two_layer_relu_mse_matches_hand_computation(void **state)
{
    ref_net r;
    size_t n[] = {1, 2, 1};
    nnf_act act[] = {NNF_ACT_RELU, NNF_ACT_LINEAR};
    double x[] = {1.0}, y[] = {1.0};
    (void)state;

    assert_int_equal(ref_net_init(&r, 2, n, act, NULL, NNF_LOSS_MSE), 0);
    r.w[1][0] = 2.0;
    r.w[1][1] = -1.0;
    r.b[1][0] = r.b[1][1] = 0.5;
    r.w[2][0] = 1.0;
    r.w[2][1] = 3.0;
    r.b[2][0] = -1.0;
    assert_non_null(ref_forward(&r, x, 1));
    assert_near(r.a[2][0], 1.5, 0.0);
    assert_near(ref_cost(&r, y), 0.125, 0.0);
    assert_int_equal(ref_backward(&r, y), 0);
    assert_near(r.dw[2][0], 1.25, 0.0);
    assert_near(r.dw[2][1], 0.0, 0.0);
    assert_near(r.db[2][0], 0.5, 0.0);
    assert_near(r.dw[1][0], 0.5, 0.0);
    assert_near(r.dw[1][1], 0.0, 0.0);
    assert_near(r.db[1][0], 0.5, 0.0);
    assert_near(r.db[1][1], 0.0, 0.0);
    ref_net_free(&r);
}

static void test_activation_derivatives_follow_the_table(void **state)
{
    (void)state;
    assert_near(ref_act_deriv(NNF_ACT_RELU, 0.01, 0.0), 0.0, 0.0);
    assert_near(ref_act_deriv(NNF_ACT_RELU, 0.01, 1e-300), 1.0, 0.0);
    assert_near(ref_act_deriv(NNF_ACT_LEAKY_RELU, 0.25, 0.0), 0.25, 0.0);
    assert_near(ref_act_deriv(NNF_ACT_LEAKY_RELU, 0.25, 3.0), 1.0, 0.0);
    assert_near(ref_act(NNF_ACT_LEAKY_RELU, 0.25, -2.0), -0.5, 0.0);
    assert_near(ref_act_deriv(NNF_ACT_LINEAR, 0.01, -7.0), 1.0, 0.0);
    assert_near(ref_act_deriv(NNF_ACT_SIGMOID, 0.01, 0.0), 0.25, 1e-15);
    assert_near(ref_act_deriv(NNF_ACT_TANH, 0.01, 0.5), 1.0 / (cosh(0.5) * cosh(0.5)), 1e-15);
    /* sigmoid stays finite and exact at both ends */
    assert_near(ref_act(NNF_ACT_SIGMOID, 0.01, -800.0), 0.0, 0.0);
    assert_near(ref_act(NNF_ACT_SIGMOID, 0.01, 800.0), 1.0, 0.0);
}

/* A saturated output gives a large finite BCE, not inf or NaN. */
static void test_bce_cost_is_finite_for_saturated_logits(void **state)
{
    ref_net r;
    size_t n[] = {1, 2};
    nnf_act act[] = {NNF_ACT_SIGMOID};
    double x[] = {1.0}, y[] = {0.0, 1.0};
    (void)state;

    assert_int_equal(ref_net_init(&r, 1, n, act, NULL, NNF_LOSS_BCE), 0);
    r.b[1][0] = 800.0;  /* a = 1, y = 0: loss 800 */
    r.b[1][1] = -800.0; /* a = 0, y = 1: loss 800 */
    assert_non_null(ref_forward(&r, x, 1));
    assert_near(ref_cost(&r, y), 1600.0, 1e-15);
    ref_net_free(&r);
}

static void test_init_rejects_bce_without_sigmoid_output(void **state)
{
    ref_net r;
    size_t n[] = {2, 3, 1};
    nnf_act act[] = {NNF_ACT_SIGMOID, NNF_ACT_TANH};
    (void)state;
    assert_int_equal(ref_net_init(&r, 2, n, act, NULL, NNF_LOSS_BCE), -1);
    ref_net_free(&r);
}

static void test_rel_err_is_normwise_and_reports_nan(void **state)
{
    double want[] = {1.0, -4.0, 0.0}, got[] = {1.001, -4.0, 0.0};
    float gotf[] = {1.0f, -4.0f, 0.002f};
    double zero[] = {0.0, 0.0};
    (void)state;
    assert_near(ref_rel_err(got, want, 3), 0.001 / 4.0, 1e-12);
    assert_near(ref_rel_err_f(gotf, want, 3), 0.002 / 4.0, 1e-6);
    assert_near(ref_rel_err(zero, zero, 2), 0.0, 0.0);
    got[0] = (double)NAN;
    assert_true(isnan(ref_rel_err(got, want, 3)));
    gotf[0] = NAN;
    assert_true(isnan(ref_rel_err_f(gotf, want, 3)));
}

/* ---- softmax + cross-entropy, hand-computed */

/* 1 input -> 3 softmax units, W = 0, b = (0, ln 2, ln 3), x = 2:
 * a = (1/6, 2/6, 3/6). With y = e_2: J = ln 2, dZ = a - y = (1/6, 1/3, -1/2),
 * db = dZ, dW = 2 dZ. */
static void test_softmax_ce_matches_hand_computation(void **state)
{
    ref_net r;
    size_t n[] = {1, 3};
    nnf_act act[] = {NNF_ACT_SOFTMAX};
    double x[] = {2.0}, y[] = {0.0, 0.0, 1.0};
    const double want_dz[] = {1.0 / 6.0, 1.0 / 3.0, -0.5};
    (void)state;

    assert_int_equal(ref_net_init(&r, 1, n, act, NULL, NNF_LOSS_CROSS_ENTROPY), 0);
    r.b[1][1] = log(2.0);
    r.b[1][2] = log(3.0);
    assert_non_null(ref_forward(&r, x, 1));
    assert_near(r.a[1][0], 1.0 / 6.0, 1e-15);
    assert_near(r.a[1][1], 2.0 / 6.0, 1e-15);
    assert_near(r.a[1][2], 3.0 / 6.0, 1e-15);
    assert_near(ref_cost(&r, y), log(2.0), 1e-15);
    assert_int_equal(ref_backward(&r, y), 0);
    for (size_t k = 0; k < 3; k++) {
        assert_near(r.db[1][k], want_dz[k], 1e-15);
        assert_near(r.dw[1][k], 2.0 * want_dz[k], 1e-15);
    }
    ref_net_free(&r);
}

/* Two samples, a soft label: the cost is the mean of -sum_k y_k log a_k. */
static void test_softmax_ce_soft_labels_average_over_batch(void **state)
{
    ref_net r;
    size_t n[] = {1, 2};
    nnf_act act[] = {NNF_ACT_SOFTMAX};
    double x[] = {1.0, -1.0}, y[] = {0.25, 0.75, 1.0, 0.0};
    (void)state;

    assert_int_equal(ref_net_init(&r, 1, n, act, NULL, NNF_LOSS_CROSS_ENTROPY), 0);
    r.w[1][0] = 1.0; /* z = (1, 0) and (-1, 0) */
    assert_non_null(ref_forward(&r, x, 2));
    double a0 = sigmoid(1.0), a1 = sigmoid(-1.0); /* softmax of 2 = sigmoid of the gap */
    assert_near(r.a[1][0], a0, 1e-15);
    assert_near(r.a[1][2], a1, 1e-15);
    assert_near(ref_cost(&r, y), (-0.25 * log(a0) - 0.75 * log(1.0 - a0) - log(a1)) / 2.0, 1e-15);
    assert_int_equal(ref_backward(&r, y), 0);
    assert_near(r.db[1][0], ((a0 - 0.25) + (a1 - 1.0)) / 2.0, 1e-15);
    assert_near(r.dw[1][0], ((a0 - 0.25) * 1.0 + (a1 - 1.0) * -1.0) / 2.0, 1e-15);
    ref_net_free(&r);
}

/* Logits of +-1000: the outputs are exact 1s and 0s, the cost is finite
 * (the loss of a label on a logit 2000 below the largest is 2000). */
static void test_softmax_ce_is_finite_and_exact_for_huge_logits(void **state)
{
    ref_net r;
    size_t n[] = {1, 3};
    nnf_act act[] = {NNF_ACT_SOFTMAX};
    double x[] = {1.0, 1.0}, y[] = {0.0, 1.0, 0.0, 1.0, 0.0, 0.0};
    (void)state;

    assert_int_equal(ref_net_init(&r, 1, n, act, NULL, NNF_LOSS_CROSS_ENTROPY), 0);
    r.b[1][0] = 1000.0;
    r.b[1][1] = -1000.0;
    assert_non_null(ref_forward(&r, x, 2));
    assert_near(r.a[1][0], 1.0, 0.0);
    assert_near(r.a[1][1], 0.0, 0.0);
    assert_near(r.a[1][2], 0.0, 0.0);
    /* sample 0: 2000; sample 1: log(1 + e^-1000 + e^-2000) = 0 */
    assert_near(ref_cost(&r, y), 1000.0, 1e-15);
    assert_int_equal(ref_backward(&r, y), 0);
    assert_near(r.db[1][0], 0.5, 1e-15);
    assert_near(r.db[1][1], -0.5, 1e-15);
    ref_net_free(&r);
}

static void test_init_rejects_misplaced_softmax_or_cross_entropy(void **state)
{
    ref_net r;
    size_t n[] = {2, 3, 2};
    nnf_act hidden[] = {NNF_ACT_SOFTMAX, NNF_ACT_SOFTMAX};
    nnf_act out[] = {NNF_ACT_TANH, NNF_ACT_SOFTMAX};
    nnf_act sig[] = {NNF_ACT_TANH, NNF_ACT_SIGMOID};
    (void)state;
    assert_int_equal(ref_net_init(&r, 2, n, hidden, NULL, NNF_LOSS_CROSS_ENTROPY), -1);
    assert_int_equal(ref_net_init(&r, 2, n, out, NULL, NNF_LOSS_MSE), -1);
    assert_int_equal(ref_net_init(&r, 2, n, out, NULL, NNF_LOSS_BCE), -1);
    assert_int_equal(ref_net_init(&r, 2, n, sig, NULL, NNF_LOSS_CROSS_ENTROPY), -1);
    assert_int_equal(ref_net_init(&r, 2, n, out, NULL, NNF_LOSS_CROSS_ENTROPY), 0);
    ref_net_free(&r);
}

/* ---- L2 penalty, hand-computed */

/* 2 inputs -> 1 linear unit, MSE, W = (1, -2), b = 0.5, x = (1, 1), y = 0,
 * m = 1: a = -0.5, J = 0.125 + lambda/2 * 5; dW = (-0.5, -0.5) + lambda W,
 * db = -0.5 (no penalty). */
static void test_l2_penalty_adds_to_cost_and_weight_gradients_only(void **state)
{
    ref_net r;
    size_t n[] = {2, 1};
    nnf_act act[] = {NNF_ACT_LINEAR};
    double x[] = {1.0, 1.0, 1.0, 1.0}, y[] = {0.0, 0.0};
    const double lambda = 0.3;
    (void)state;

    assert_int_equal(ref_net_init(&r, 1, n, act, NULL, NNF_LOSS_MSE), 0);
    assert_near(r.l2, 0.0, 0.0);
    r.w[1][0] = 1.0;
    r.w[1][1] = -2.0;
    r.b[1][0] = 0.5;
    r.l2 = lambda;
    assert_non_null(ref_forward(&r, x, 1));
    assert_near(ref_cost(&r, y), 0.125 + lambda / 2.0 * 5.0, 1e-15);
    assert_int_equal(ref_backward(&r, y), 0);
    assert_near(r.dw[1][0], -0.5 + lambda * 1.0, 1e-15);
    assert_near(r.dw[1][1], -0.5 + lambda * -2.0, 1e-15);
    assert_near(r.db[1][0], -0.5, 1e-15);
    /* m = 2 (the same sample twice): the data terms stay, the penalty halves */
    assert_non_null(ref_forward(&r, x, 2));
    assert_near(ref_cost(&r, y), 0.125 + lambda / 4.0 * 5.0, 1e-15);
    assert_int_equal(ref_backward(&r, y), 0);
    assert_near(r.dw[1][1], -0.5 + lambda / 2.0 * -2.0, 1e-15);
    assert_near(r.db[1][0], -0.5, 1e-15);
    ref_net_free(&r);
}

/* ---- optimizers, hand-computed on a 1 -> 1 net with gradients set by hand */

static void one_unit(ref_net *r)
{
    size_t n[] = {1, 1};
    nnf_act act[] = {NNF_ACT_LINEAR};
    assert_int_equal(ref_net_init(r, 1, n, act, NULL, NNF_LOSS_MSE), 0);
}

/* beta = 0.9, lr = 0.5, g = 2 then -1: v1 = 0.2, v2 = 0.18 - 0.1 = 0.08. */
static void test_momentum_matches_hand_computation(void **state)
{
    ref_net r;
    (void)state;
    one_unit(&r);
    r.w[1][0] = 1.0;
    r.b[1][0] = -1.0;
    r.dw[1][0] = 2.0;
    r.db[1][0] = 4.0;
    assert_int_equal(ref_update_momentum(&r, 0.5, 0.9), 0);
    assert_near(r.w[1][0], 1.0 - 0.5 * 0.2, 1e-15);
    assert_near(r.b[1][0], -1.0 - 0.5 * 0.4, 1e-15);
    r.dw[1][0] = -1.0;
    r.db[1][0] = 0.0;
    assert_int_equal(ref_update_momentum(&r, 0.5, 0.9), 0);
    assert_near(r.w[1][0], 1.0 - 0.5 * 0.2 - 0.5 * 0.08, 1e-15);
    assert_near(r.b[1][0], -1.0 - 0.5 * 0.4 - 0.5 * 0.36, 1e-15);
    assert_int_equal((int)r.t, 2);
    /* reset: the next update is a first one again */
    ref_optim_reset(&r);
    assert_int_equal((int)r.t, 0);
    double w = r.w[1][0];
    assert_int_equal(ref_update_momentum(&r, 0.5, 0.9), 0);
    assert_near(r.w[1][0], w - 0.5 * 0.1 * -1.0, 1e-15);
    ref_net_free(&r);
}

/* With bias correction, a constant gradient g gives mhat = g and vhat = g^2
 * at every step t, so each update is -lr g / (|g| + eps): at t = 1 (where
 * without correction it would be 1/sqrt(1 - b2) = 31.6 times larger with
 * b2 = 0.999) as at t = 100 (3.2 times). */
static void test_adam_bias_correction_makes_constant_gradient_steps_equal(void **state)
{
    const double lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-3, g = 0.02, gb = -0.5;
    ref_net r;
    (void)state;
    one_unit(&r);
    r.w[1][0] = 1.0;
    r.b[1][0] = 0.0;
    for (int t = 1; t <= 100; t++) {
        double w = r.w[1][0], b = r.b[1][0];
        r.dw[1][0] = g;
        r.db[1][0] = gb;
        assert_int_equal(ref_update_adam(&r, lr, b1, b2, eps), 0);
        assert_near(r.w[1][0] - w, -lr * g / (fabs(g) + eps), 1e-12);
        assert_near(r.b[1][0] - b, -lr * gb / (fabs(gb) + eps), 1e-12);
    }
    assert_int_equal((int)r.t, 100);
    ref_net_free(&r);
}

/* Two different gradients, the moments written out:
 * m2 = b1 (1-b1) g1 + (1-b1) g2, v2 = b2 (1-b2) g1^2 + (1-b2) g2^2. */
static void test_adam_second_step_matches_hand_computation(void **state)
{
    const double lr = 0.1, b1 = 0.8, b2 = 0.9, eps = 1e-2, g1 = 1.5, g2 = -0.5;
    ref_net r;
    (void)state;
    one_unit(&r);
    r.dw[1][0] = g1;
    assert_int_equal(ref_update_adam(&r, lr, b1, b2, eps), 0);
    double w1 = -lr * g1 / (fabs(g1) + eps);
    assert_near(r.w[1][0], w1, 1e-15);
    r.dw[1][0] = g2;
    assert_int_equal(ref_update_adam(&r, lr, b1, b2, eps), 0);
    double m2 = b1 * (1 - b1) * g1 + (1 - b1) * g2,
           v2 = b2 * (1 - b2) * g1 * g1 + (1 - b2) * g2 * g2;
    double mhat = m2 / (1 - b1 * b1), vhat = v2 / (1 - b2 * b2);
    assert_near(r.w[1][0], w1 - lr * mhat / (sqrt(vhat) + eps), 1e-15);
    assert_near(r.b[1][0], 0.0, 0.0); /* db = 0 throughout */
    /* after a reset the step is a first step again */
    ref_optim_reset(&r);
    double w = r.w[1][0];
    assert_int_equal(ref_update_adam(&r, lr, b1, b2, eps), 0);
    assert_near(r.w[1][0] - w, -lr * g2 / (fabs(g2) + eps), 1e-14);
    ref_net_free(&r);
}

/* ---- finite differences */

typedef struct fd_case {
    size_t L;
    size_t n[REF_MAX_LAYERS + 1];
    nnf_act act[REF_MAX_LAYERS];
    nnf_loss loss;
    size_t m;
    int soft;      /* cross-entropy: soft label rows (else one-hot) */
    double l2;     /* lambda of the L2 penalty */
    double rowsum; /* cross-entropy: each label row sums to this (0: 1) */
} fd_case;

/* Random parameters and data; ReLU pre-activations moved off the kink. */
static void setup(ref_net *r, const fd_case *c, double *x, double *y, uint64_t seed)
{
    ref_rng g = {seed};
    double slope[REF_MAX_LAYERS];

    for (size_t l = 0; l < c->L; l++)
        slope[l] = 0.05 + 0.1 * (double)l;
    assert_int_equal(ref_net_init(r, c->L, c->n, c->act, slope, c->loss), 0);
    r->l2 = c->l2;
    for (size_t l = 1; l <= c->L; l++) {
        /* variance 1/n_in, 16/n_in for sigmoid (Glorot's factor 4): without
         * it a chain of sigmoids shrinks the gradients of the first layers
         * to ~1e-3, where the rounding noise of the difference quotient,
         * ~1e-16 J / FD_EPS, is already 1e-7 of them */
        double s = sqrt(3.0 / (double)c->n[l - 1]);
        if (c->act[l - 1] == NNF_ACT_SIGMOID)
            s *= 4.0;
        for (size_t i = 0; i < c->n[l] * c->n[l - 1]; i++)
            r->w[l][i] = ref_rng_uniform(&g, -s, s);
        for (size_t j = 0; j < c->n[l]; j++)
            r->b[l][j] = ref_rng_uniform(&g, -0.5, 0.5);
    }
    for (size_t i = 0; i < c->m * c->n[0]; i++)
        x[i] = ref_rng_uniform(&g, -1.0, 1.0);
    for (size_t i = 0; i < c->m * c->n[c->L] && c->loss != NNF_LOSS_CROSS_ENTROPY; i++) {
        if (c->loss == NNF_LOSS_MSE)
            y[i] = ref_rng_uniform(&g, -1.0, 1.0);
        else /* 0, 1 and fractional labels */
            y[i] = i % 3 == 2 ? ref_rng_uniform(&g, 0.0, 1.0) : (double)(i % 3);
    }
    for (size_t i = 0; i < c->m && c->loss == NNF_LOSS_CROSS_ENTROPY; i++) {
        /* one row per sample: one-hot, or a random distribution */
        size_t nL = c->n[c->L], hot = (size_t)(ref_rng_next(&g) % nL);
        double *row = y + i * nL, sum = 0.0, want = c->rowsum != 0.0 ? c->rowsum : 1.0;
        for (size_t k = 0; k < nL; k++) {
            row[k] = c->soft ? ref_rng_uniform(&g, 0.05, 1.0) : (double)(k == hot);
            sum += row[k];
        }
        for (size_t k = 0; k < nL; k++)
            row[k] *= want / sum;
    }
    for (size_t l = 1; l <= c->L; l++) {
        assert_non_null(ref_forward(r, x, c->m));
        for (size_t j = 0; j < c->n[l]; j++)
            r->b[l][j] += ref_kink_shift(r, l, j, KINK_MARGIN);
    }
}

/* ||ana - num||_2 / (||ana||_2 + ||num||_2) over one parameter array, with
 * num the central difference of J in each element. */
static double fd_error(ref_net *r, double *param, const double *ana, size_t count, const double *x,
                       const double *y, size_t m)
{
    double diff2 = 0.0, ana2 = 0.0, num2 = 0.0;

    for (size_t i = 0; i < count; i++) {
        double keep = param[i], jp, jm, num;
        param[i] = keep + FD_EPS;
        assert_non_null(ref_forward(r, x, m));
        jp = ref_cost(r, y);
        param[i] = keep - FD_EPS;
        assert_non_null(ref_forward(r, x, m));
        jm = ref_cost(r, y);
        param[i] = keep;
        num = (jp - jm) / (2.0 * FD_EPS);
        diff2 += (ana[i] - num) * (ana[i] - num);
        ana2 += ana[i] * ana[i];
        num2 += num * num;
    }
    /* a zero gradient would make the check vacuous: the data must avoid it */
    assert_true(ana2 > 0.0);
    return sqrt(diff2) / (sqrt(ana2) + sqrt(num2));
}

/* Worst relative error over every layer's dW and db (corrupt >= 0 first
 * adds 1% to the analytic dW[1][corrupt], to show the check can fail). */
static double fd_check(const fd_case *c, uint64_t seed, long corrupt)
{
    ref_net r;
    double *x = malloc(c->m * c->n[0] * sizeof(double));
    double *y = malloc(c->m * c->n[c->L] * sizeof(double));
    double worst = 0.0;

    assert_non_null(x);
    assert_non_null(y);
    setup(&r, c, x, y, seed);
    assert_non_null(ref_forward(&r, x, c->m));
    assert_int_equal(ref_backward(&r, y), 0);
    if (corrupt >= 0)
        r.dw[1][corrupt] *= 1.01;
    for (size_t l = 1; l <= c->L; l++) {
        size_t nw = c->n[l] * c->n[l - 1];
        double *dw = malloc(nw * sizeof(double)), *db = malloc(c->n[l] * sizeof(double));
        double ew, eb;
        assert_non_null(dw);
        assert_non_null(db);
        /* FD passes overwrite z and a but not the stored gradients; copy anyway
         * so the comparison does not depend on that */
        for (size_t i = 0; i < nw; i++)
            dw[i] = r.dw[l][i];
        for (size_t j = 0; j < c->n[l]; j++)
            db[j] = r.db[l][j];
        ew = fd_error(&r, r.w[l], dw, nw, x, y, c->m);
        eb = fd_error(&r, r.b[l], db, c->n[l], x, y, c->m);
        worst = fmax(worst, fmax(ew, eb));
        if (verbose())
            printf("    layer %zu: dW %.3g, db %.3g (max |dW| %.3g, max |db| %.3g)\n", l, ew, eb,
                   ref_max_abs(dw, nw), ref_max_abs(db, c->n[l]));
        free(dw);
        free(db);
    }
    if (verbose())
        printf("  fd L=%zu loss=%d act[0]=%d act[L-1]=%d: worst %.3g\n", c->L, (int)c->loss,
               (int)c->act[0], (int)c->act[c->L - 1], worst);
    ref_net_free(&r);
    free(x);
    free(y);
    return worst;
}

static void expect_fd_ok(const fd_case *c, uint64_t seed)
{
    double e = fd_check(c, seed, -1);
    if (!(e < FD_TOL)) {
        print_error("L=%zu loss=%d act[0]=%d act[L-1]=%d: FD relative error %.3g >= %g\n", c->L,
                    (int)c->loss, (int)c->act[0], (int)c->act[c->L - 1], e, FD_TOL);
        fail();
    }
}

static const nnf_act every_act[] = {NNF_ACT_LINEAR, NNF_ACT_SIGMOID, NNF_ACT_TANH, NNF_ACT_RELU,
                                    NNF_ACT_LEAKY_RELU};
#define N_ACTS (sizeof every_act / sizeof every_act[0])

static void test_shallow_bce_gradients_match_finite_differences(void **state)
{
    (void)state;
    for (size_t k = 0; k < N_ACTS; k++) {
        fd_case c = {2, {3, 5, 1}, {every_act[k], NNF_ACT_SIGMOID}, NNF_LOSS_BCE, 7, 0, 0.0, 0.0};
        expect_fd_ok(&c, 100 + k);
    }
}

static void test_shallow_mse_gradients_match_finite_differences(void **state)
{
    (void)state;
    for (size_t k = 0; k < N_ACTS; k++) {
        fd_case c = {2, {3, 5, 2}, {every_act[k], every_act[k]}, NNF_LOSS_MSE, 7, 0, 0.0, 0.0};
        expect_fd_ok(&c, 200 + k);
    }
}

static void test_deep_l4_bce_gradients_match_finite_differences(void **state)
{
    (void)state;
    for (size_t k = 0; k < N_ACTS; k++) {
        nnf_act a = every_act[k];
        fd_case c = {4, {4, 6, 5, 3, 2}, {a, a, a, NNF_ACT_SIGMOID}, NNF_LOSS_BCE, 6, 0, 0.0, 0.0};
        expect_fd_ok(&c, 300 + k);
    }
}

static void test_deep_l4_mse_gradients_match_finite_differences(void **state)
{
    (void)state;
    for (size_t k = 0; k < N_ACTS; k++) {
        nnf_act a = every_act[k];
        fd_case c = {4, {4, 6, 5, 3, 2}, {a, a, a, a}, NNF_LOSS_MSE, 6, 0, 0.0, 0.0};
        expect_fd_ok(&c, 400 + k);
    }
}

static void test_deep_mixed_activations_gradients_match_finite_differences(void **state)
{
    fd_case bce = {5,
                   {3, 6, 1, 5, 4, 3},
                   {NNF_ACT_RELU, NNF_ACT_TANH, NNF_ACT_LEAKY_RELU, NNF_ACT_LINEAR,
                    NNF_ACT_SIGMOID},
                   NNF_LOSS_BCE,
                   5,
                   0,
                   0.0,
                   0.0};
    fd_case mse = {4,
                   {3, 6, 5, 4, 3},
                   {NNF_ACT_SIGMOID, NNF_ACT_LEAKY_RELU, NNF_ACT_RELU, NNF_ACT_TANH},
                   NNF_LOSS_MSE,
                   1,
                   0,
                   0.0,
                   0.0};
    (void)state;
    expect_fd_ok(&bce, 500);
    expect_fd_ok(&mse, 501);
}

static void test_softmax_ce_gradients_match_finite_differences(void **state)
{
    static const size_t outs[] = {2, 3, 10};
    (void)state;
    for (size_t k = 0; k < 3; k++) {
        size_t o = outs[k];
        fd_case shallow = {1, {4, o}, {NNF_ACT_SOFTMAX}, NNF_LOSS_CROSS_ENTROPY, 7, 0, 0.0, 0.0};
        fd_case mixed = {3,
                         {3, 6, 5, o},
                         {NNF_ACT_TANH, NNF_ACT_LEAKY_RELU, NNF_ACT_SOFTMAX},
                         NNF_LOSS_CROSS_ENTROPY,
                         7,
                         0,
                         0.0,
                         0.0};
        fd_case deep = {4,
                        {3, 5, 4, 6, o},
                        {NNF_ACT_RELU, NNF_ACT_SIGMOID, NNF_ACT_LINEAR, NNF_ACT_SOFTMAX},
                        NNF_LOSS_CROSS_ENTROPY,
                        1,
                        0,
                        0.0,
                        0.0};
        for (int soft = 0; soft <= 1; soft++) {
            shallow.soft = mixed.soft = deep.soft = soft;
            expect_fd_ok(&shallow, 700 + 10 * k + (uint64_t)soft);
            expect_fd_ok(&mixed, 720 + 10 * k + (uint64_t)soft);
            expect_fd_ok(&deep, 740 + 10 * k + (uint64_t)soft);
        }
    }
}

/* The fused dZ[L] = A - Y is the gradient of -sum_k y_k log a_k only when
 * the label row sums to 1 (in general it is A sum_k y_k - Y): rows summing
 * to 0.5 fail the check. This is why the labels above are distributions. */
static void test_softmax_ce_fused_gradient_needs_label_rows_summing_to_one(void **state)
{
    fd_case c = {2,   {3, 5, 3}, {NNF_ACT_TANH, NNF_ACT_SOFTMAX}, NNF_LOSS_CROSS_ENTROPY, 7, 1,
                 0.0, 0.5};
    (void)state;
    assert_true(fd_check(&c, 800, -1) > 1e3 * FD_TOL);
    c.rowsum = 1.0;
    assert_true(fd_check(&c, 800, -1) < FD_TOL);
}

static void test_l2_penalty_gradients_match_finite_differences(void **state)
{
    fd_case bce = {2, {3, 5, 1}, {NNF_ACT_TANH, NNF_ACT_SIGMOID}, NNF_LOSS_BCE, 7, 0, 0.7, 0.0};
    fd_case mse = {3,
                   {4, 6, 5, 2},
                   {NNF_ACT_LEAKY_RELU, NNF_ACT_SIGMOID, NNF_ACT_LINEAR},
                   NNF_LOSS_MSE,
                   5,
                   0,
                   0.05,
                   0.0};
    fd_case ce = {3,
                  {3, 6, 5, 4},
                  {NNF_ACT_RELU, NNF_ACT_TANH, NNF_ACT_SOFTMAX},
                  NNF_LOSS_CROSS_ENTROPY,
                  6,
                  1,
                  2.0,
                  0.0};
    (void)state;
    expect_fd_ok(&bce, 900);
    expect_fd_ok(&mse, 901);
    expect_fd_ok(&ce, 902);
    ce.soft = 0;
    expect_fd_ok(&ce, 903);
}

/* The check is not vacuous: a 1% error in one element of dW is caught. */
static void test_finite_difference_check_detects_a_wrong_gradient(void **state)
{
    fd_case c = {2, {3, 5, 1}, {NNF_ACT_TANH, NNF_ACT_SIGMOID}, NNF_LOSS_BCE, 7, 0, 0.0, 0.0};
    (void)state;
    assert_true(fd_check(&c, 600, -1) < FD_TOL);
    assert_true(fd_check(&c, 600, 4) > 100.0 * FD_TOL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_sigmoid_unit_bce_matches_hand_computation),
        cmocka_unit_test(test_two_samples_bce_averages_over_batch),
        cmocka_unit_test(test_single_linear_unit_mse_matches_hand_computation),
        cmocka_unit_test(test_two_layer_relu_mse_matches_hand_computation),
        cmocka_unit_test(test_activation_derivatives_follow_the_table),
        cmocka_unit_test(test_bce_cost_is_finite_for_saturated_logits),
        cmocka_unit_test(test_init_rejects_bce_without_sigmoid_output),
        cmocka_unit_test(test_rel_err_is_normwise_and_reports_nan),
        cmocka_unit_test(test_shallow_bce_gradients_match_finite_differences),
        cmocka_unit_test(test_shallow_mse_gradients_match_finite_differences),
        cmocka_unit_test(test_deep_l4_bce_gradients_match_finite_differences),
        cmocka_unit_test(test_deep_l4_mse_gradients_match_finite_differences),
        cmocka_unit_test(test_deep_mixed_activations_gradients_match_finite_differences),
        cmocka_unit_test(test_finite_difference_check_detects_a_wrong_gradient),
        cmocka_unit_test(test_softmax_ce_matches_hand_computation),
        cmocka_unit_test(test_softmax_ce_soft_labels_average_over_batch),
        cmocka_unit_test(test_softmax_ce_is_finite_and_exact_for_huge_logits),
        cmocka_unit_test(test_init_rejects_misplaced_softmax_or_cross_entropy),
        cmocka_unit_test(test_l2_penalty_adds_to_cost_and_weight_gradients_only),
        cmocka_unit_test(test_momentum_matches_hand_computation),
        cmocka_unit_test(test_adam_bias_correction_makes_constant_gradient_steps_equal),
        cmocka_unit_test(test_adam_second_step_matches_hand_computation),
        cmocka_unit_test(test_softmax_ce_gradients_match_finite_differences),
        cmocka_unit_test(test_softmax_ce_fused_gradient_needs_label_rows_summing_to_one),
        cmocka_unit_test(test_l2_penalty_gradients_match_finite_differences),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
