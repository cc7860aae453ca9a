/*
 * test_softmax.c - black-box: a softmax output layer with categorical
 * cross-entropy through nnfast.h (NNF_ACT_SOFTMAX, NNF_LOSS_CROSS_ENTROPY):
 * outputs, cost and gradients against the double-precision reference of
 * tests/ref.c, stability for huge logits, the errors of misplaced softmax
 * layers and losses, and training on CS231n's spirals.
 * Set NNF_TEST_VERBOSE=1 to print the errors and accuracies reached.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "assert_ok.h"
#include "nets.h"
#include "params.h"
#include "verbose.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nnfast.h"
#include "planar.h"
#include "ref.h"

#define REL_TOL 1e-4    /* float32 library against the double reference */
#define SUM_TOL 1e-6    /* every sample's outputs sum to 1 */

/* ======================================================================
 * Misplaced softmax and cross-entropy
 * ====================================================================== */

static void expect_message(const nnf_net *net, const char *a, const char *b)
{
    const char *msg = nnf_net_errmsg(net);
    if (!strstr(msg, a) || (b && !strstr(msg, b)))
        fail_msg("message \"%s\" does not name \"%s\"%s%s", msg, a, b ? " and " : "", b ? b : "");
}

static nnf_net *net_2_4_3(nnf_act out, nnf_loss loss)
{
    nnf_net *net = NULL;
    assert_ok(net, nnf_net_create(&net, 2));
    assert_ok(net, nnf_net_add_dense(net, 4, NNF_ACT_TANH, NULL));
    assert_ok(net, nnf_net_add_dense(net, 3, out, NULL));
    assert_ok(net, nnf_net_set_loss(net, loss));
    return net;
}

static const float X3[] = {0.5f, -1.0f, 0.25f, 0.75f, -0.5f, 0.0f};
static const float Y3[] = {1, 0, 0, 0, 1, 0, 0, 0, 1};

/* Softmax is for the output layer only: no layer may follow it. */
static void test_a_layer_after_softmax_is_state_and_adds_nothing(void **state)
{
    float before[PARAMS_MAX], after[PARAMS_MAX];
    nnf_layer *layer = (nnf_layer *)&layer;
    nnf_net *net = net_2_4_3(NNF_ACT_SOFTMAX, NNF_LOSS_CROSS_ENTROPY);
    (void)state;
    size_t n = net_params(net, before);
    assert_int_equal(nnf_net_add_dense(net, 2, NNF_ACT_SIGMOID, &layer), NNF_ERR_STATE);
    expect_message(net, "softmax", "output layer");
    assert_null(layer);
    assert_int_equal(nnf_net_depth(net), 2);
    assert_int_equal(nnf_net_outputs(net), 3);
    assert_int_equal(net_params(net, after), n);
    assert_memory_equal(before, after, n * sizeof(float));
    /* a softmax layer may follow hidden layers, and the net still trains */
    assert_ok(net, nnf_net_train_step(net, X3, Y3, 3, NULL));
    nnf_net_destroy(net);
}

/* A softmax output with BCE or MSE: backward and train_step are STATE,
 * name the layer and the loss it needs, and change nothing. */
static void test_softmax_output_with_bce_or_mse_is_state(void **state)
{
    static const nnf_loss losses[] = {NNF_LOSS_BCE, NNF_LOSS_MSE};
    float before[PARAMS_MAX], after[PARAMS_MAX], cost = NAN;
    (void)state;
    for (size_t k = 0; k < 2; k++) {
        nnf_net *net = net_2_4_3(NNF_ACT_SOFTMAX, losses[k]);
        size_t n = net_params(net, before);
        assert_int_equal(nnf_net_train_step(net, X3, Y3, 3, &cost), NNF_ERR_STATE);
        expect_message(net, "nnf_net_train_step", "softmax");
        if (losses[k] == NNF_LOSS_MSE)
            expect_message(net, "NNF_LOSS_CROSS_ENTROPY", NULL);
        assert_ok(net, nnf_net_forward(net, X3, 3, NULL)); /* forward needs no loss */
        assert_int_equal(nnf_net_backward(net, Y3, &cost), NNF_ERR_STATE);
        expect_message(net, "nnf_net_backward", "softmax");
        assert_int_equal(nnf_net_update(net), NNF_ERR_STATE);
        assert_int_equal(net_params(net, after), n);
        assert_memory_equal(before, after, n * sizeof(float));
        /* the forward pass survives: with the right loss, backward works */
        assert_ok(net, nnf_net_set_loss(net, NNF_LOSS_CROSS_ENTROPY));
        assert_ok(net, nnf_net_backward(net, Y3, &cost));
        assert_true(isfinite(cost));
        nnf_net_destroy(net);
    }
}

/* Cross-entropy with an output layer that is not softmax is STATE. */
static void test_cross_entropy_without_softmax_output_is_state(void **state)
{
    static const nnf_act outs[] = {NNF_ACT_SIGMOID, NNF_ACT_LINEAR, NNF_ACT_RELU, NNF_ACT_TANH};
    float before[PARAMS_MAX], after[PARAMS_MAX];
    (void)state;
    for (size_t k = 0; k < 4; k++) {
        nnf_net *net = net_2_4_3(outs[k], NNF_LOSS_CROSS_ENTROPY);
        size_t n = net_params(net, before);
        assert_int_equal(nnf_net_train_step(net, X3, Y3, 3, NULL), NNF_ERR_STATE);
        expect_message(net, "cross-entropy", "softmax");
        assert_ok(net, nnf_net_forward(net, X3, 3, NULL));
        assert_int_equal(nnf_net_backward(net, Y3, NULL), NNF_ERR_STATE);
        expect_message(net, "nnf_net_backward", "softmax");
        assert_int_equal(net_params(net, after), n);
        assert_memory_equal(before, after, n * sizeof(float));
        nnf_net_destroy(net);
    }
}

/* Cross-entropy labels must be in [0, 1]: ARG naming the element. */
static void test_cross_entropy_labels_outside_0_1_are_arg(void **state)
{
    static const float bad[] = {-0.5f, 1.5f, -1e-6f, 2.0f};
    float before[PARAMS_MAX], after[PARAMS_MAX], y[9];
    (void)state;
    for (size_t k = 0; k < 4; k++) {
        nnf_net *net = net_2_4_3(NNF_ACT_SOFTMAX, NNF_LOSS_CROSS_ENTROPY);
        size_t n = net_params(net, before);
        memcpy(y, Y3, sizeof y);
        y[5] = bad[k]; /* sample 1, unit 2 */
        assert_int_equal(nnf_net_train_step(net, X3, y, 3, NULL), NNF_ERR_ARG);
        expect_message(net, "y[1][2]", "cross-entropy");
        assert_ok(net, nnf_net_forward(net, X3, 3, NULL));
        assert_int_equal(nnf_net_backward(net, y, NULL), NNF_ERR_ARG);
        expect_message(net, "nnf_net_backward", "y[1][2]");
        assert_int_equal(net_params(net, after), n);
        assert_memory_equal(before, after, n * sizeof(float));
        assert_ok(net, nnf_net_backward(net, Y3, NULL)); /* the forward pass was kept */
        nnf_net_destroy(net);
    }
}

/* ======================================================================
 * Training: CS231n's three spirals
 * ====================================================================== */

#define SPIRAL_M 300
#define SPIRAL_K 3

static size_t argmax(const float *v, size_t n)
{
    size_t best = 0;
    for (size_t k = 1; k < n; k++)
        if (v[k] > v[best])
            best = k;
    return best;
}

/* 2-64-3 ReLU/softmax, Adam, full batch: above 95% of the 300 points. (At
 * most 298 are separable: each class's first point is the origin.) */
static void test_spirals_train_above_95_percent(void **state)
{
    static float x[SPIRAL_M * 2], y[SPIRAL_M * SPIRAL_K], pred[SPIRAL_M * SPIRAL_K];
    const size_t steps = 300;
    nnf_net *net = NULL;
    float cost = NAN, first = NAN;
    (void)state;
    planar_spirals(x, y, SPIRAL_M, SPIRAL_K, 1);
    assert_ok(net, nnf_net_create(&net, 2));
    assert_ok(net, nnf_net_add_dense(net, 64, NNF_ACT_RELU, NULL));
    assert_ok(net, nnf_net_add_dense(net, SPIRAL_K, NNF_ACT_SOFTMAX, NULL));
    assert_ok(net, nnf_net_set_loss(net, NNF_LOSS_CROSS_ENTROPY));
    assert_ok(net, nnf_net_init(net, NNF_INIT_DEFAULT, 1));
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_OPTIMIZER, NNF_OPT_ADAM));
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_LEARNING_RATE, 0.02));
    for (size_t s = 0; s < steps; s++) {
        assert_ok(net, nnf_net_train_step(net, x, y, SPIRAL_M, &cost));
        if (s == 0)
            first = cost;
    }
    assert_ok(net, nnf_net_predict(net, x, SPIRAL_M, pred));
    size_t right = 0;
    for (size_t i = 0; i < SPIRAL_M; i++)
        right += argmax(pred + i * SPIRAL_K, SPIRAL_K) == argmax(y + i * SPIRAL_K, SPIRAL_K);
    double acc = (double)right / SPIRAL_M;
    if (verbose())
        printf("    spirals 2-64-3, Adam 0.02, %zu steps: cost %.4f -> %.4f, accuracy %.4f\n",
               steps, (double)first, (double)cost, acc);
    assert_true(worst_row_sum(pred, SPIRAL_K, SPIRAL_M) < SUM_TOL);
    assert_true(cost < first);
    assert_true(acc > 0.95);
    nnf_net_destroy(net);
}

/* The generator: one-hot labels, m / classes points per class in order,
 * radius from 0 to 1, reproducible from its seed. */
static void test_spirals_generator_is_one_hot_balanced_and_seeded(void **state)
{
    static float x[SPIRAL_M * 2], y[SPIRAL_M * SPIRAL_K], x2[SPIRAL_M * 2], y2[SPIRAL_M * SPIRAL_K];
    (void)state;
    planar_spirals(x, y, SPIRAL_M, SPIRAL_K, 7);
    planar_spirals(x2, y2, SPIRAL_M, SPIRAL_K, 7);
    assert_memory_equal(x, x2, sizeof x);
    assert_memory_equal(y, y2, sizeof y);
    planar_spirals(x2, y2, SPIRAL_M, SPIRAL_K, 8);
    assert_memory_not_equal(x, x2, sizeof x);
    for (size_t i = 0; i < SPIRAL_M; i++) {
        size_t cls = i / (SPIRAL_M / SPIRAL_K), pos = i % (SPIRAL_M / SPIRAL_K);
        double r = hypot((double)x[2 * i], (double)x[2 * i + 1]);
        for (size_t k = 0; k < SPIRAL_K; k++)
            assert_true(y[i * SPIRAL_K + k] == (k == cls ? 1.0f : 0.0f));
        assert_true(fabs(r - (double)pos / (SPIRAL_M / SPIRAL_K - 1)) < 1e-6);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_layer_after_softmax_is_state_and_adds_nothing),
        cmocka_unit_test(test_softmax_output_with_bce_or_mse_is_state),
        cmocka_unit_test(test_cross_entropy_without_softmax_output_is_state),
        cmocka_unit_test(test_cross_entropy_labels_outside_0_1_are_arg),
        cmocka_unit_test(test_spirals_generator_is_one_hot_balanced_and_seeded),
        cmocka_unit_test(test_spirals_train_above_95_percent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
