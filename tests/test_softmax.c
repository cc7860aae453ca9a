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

static int all_finite(const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return 0;
    return 1;
}

typedef struct errs {
    double out, cost, grad, rowsum;
} errs;

/* One forward and backward on both nets; the relative errors of the output,
 * the cost and the worst layer's dW or db, and the output row sums. */
static errs compare(pair *p)
{
    float cost = NAN, buf[PAIR_MAX_N * PAIR_MAX_N];
    size_t nL = p->n[p->L];
    errs e = {0.0, 0.0, 0.0, 0.0};

    assert_ok(p->net, nnf_net_forward(p->net, p->x, p->m, p->out));
    assert_ok(p->net, nnf_net_backward(p->net, p->y, &cost));
    const double *a = ref_forward(&p->ref, p->xd, p->m);
    assert_non_null(a);
    double j = ref_cost(&p->ref, p->yd);
    assert_int_equal(ref_backward(&p->ref, p->yd), 0);

    assert_true(all_finite(p->out, nL * p->m));
    e.out = ref_rel_err_f(p->out, a, nL * p->m);
    e.cost = fabs((double)cost - j) / fabs(j);
    e.rowsum = worst_row_sum(p->out, nL, p->m);
    for (size_t l = 1; l <= p->L; l++) {
        nnf_layer *ly = nnf_net_layer(p->net, l);
        size_t nw = p->n[l] * p->n[l - 1];
        assert_ok(p->net, nnf_layer_get_weight_grad(ly, buf));
        assert_true(all_finite(buf, nw));
        e.grad = fmax(e.grad, ref_rel_err_f(buf, p->ref.dw[l], nw));
        assert_ok(p->net, nnf_layer_get_bias_grad(ly, buf));
        assert_true(all_finite(buf, p->n[l]));
        e.grad = fmax(e.grad, ref_rel_err_f(buf, p->ref.db[l], p->n[l]));
    }
    return e;
}

static void expect_match(pair *p, const char *what)
{
    errs e = compare(p);
    if (verbose())
        printf("    %s: output %.3g, cost %.3g, gradients %.3g, row sums %.3g\n", what, e.out,
               e.cost, e.grad, e.rowsum);
    if (!(e.out < REL_TOL && e.cost < REL_TOL && e.grad < REL_TOL))
        fail_msg("%s: output %.3g, cost %.3g, gradients %.3g (tolerance %g)", what, e.out, e.cost,
                 e.grad, REL_TOL);
    if (!(e.rowsum < SUM_TOL))
        fail_msg("%s: a sample's outputs sum to 1 +- %.3g", what, e.rowsum);
}

/* ======================================================================
 * Against the reference
 * ====================================================================== */

/* Output sizes 2, 3, 10; a softmax-only net and hidden layers of mixed
 * activations; m = 1, 7, 64; one-hot and soft labels. */
static void test_softmax_ce_matches_reference(void **state)
{
    static const size_t outs[] = {2, 3, 10};
    static const size_t ms[] = {1, 7, 64};
    (void)state;
    for (size_t k = 0; k < 3; k++) {
        size_t o = outs[k];
        const size_t n1[] = {4, o}, n2[] = {3, 8, o}, n3[] = {5, 7, 6, o}, n4[] = {2, 6, 5, 4, o};
        const nnf_act a1[] = {NNF_ACT_SOFTMAX};
        const nnf_act a2[] = {NNF_ACT_TANH, NNF_ACT_SOFTMAX};
        const nnf_act a3[] = {NNF_ACT_RELU, NNF_ACT_SIGMOID, NNF_ACT_SOFTMAX};
        const nnf_act a4[] = {NNF_ACT_LEAKY_RELU, NNF_ACT_LINEAR, NNF_ACT_TANH, NNF_ACT_SOFTMAX};
        for (size_t q = 0; q < 3; q++) {
            for (int soft = 0; soft <= 1; soft++) {
                uint64_t seed = 1000 + 100 * k + 10 * q + (uint64_t)soft;
                char what[96];
                pair p;
                snprintf(what, sizeof what, "%zu outputs, m %zu, %s labels", o, ms[q],
                         soft ? "soft" : "one-hot");
                pair_init(&p, 1, n1, a1, NNF_LOSS_CROSS_ENTROPY, ms[q], soft, seed);
                expect_match(&p, what);
                pair_free(&p);
                pair_init(&p, 2, n2, a2, NNF_LOSS_CROSS_ENTROPY, ms[q], soft, seed + 1);
                expect_match(&p, what);
                pair_free(&p);
                pair_init(&p, 3, n3, a3, NNF_LOSS_CROSS_ENTROPY, ms[q], soft, seed + 2);
                expect_match(&p, what);
                pair_free(&p);
                pair_init(&p, 4, n4, a4, NNF_LOSS_CROSS_ENTROPY, ms[q], soft, seed + 3);
                expect_match(&p, what);
                pair_free(&p);
            }
        }
    }
}

/* nnf_net_predict gives the same outputs as nnf_net_forward. */
static void test_predict_gives_the_softmax_outputs_of_forward(void **state)
{
    const size_t n[] = {3, 8, 10};
    const nnf_act act[] = {NNF_ACT_TANH, NNF_ACT_SOFTMAX};
    float pred[PAIR_MAX_M * PAIR_MAX_N];
    pair p;
    (void)state;
    pair_init(&p, 2, n, act, NNF_LOSS_CROSS_ENTROPY, 64, 0, 2000);
    assert_ok(p.net, nnf_net_forward(p.net, p.x, p.m, p.out));
    assert_ok(p.net, nnf_net_predict(p.net, p.x, p.m, pred));
    assert_memory_equal(p.out, pred, 10 * p.m * sizeof(float));
    assert_true(worst_row_sum(pred, 10, p.m) < SUM_TOL);
    pair_free(&p);
}

/* A train step with softmax + cross-entropy is forward, backward and an
 * update with A - Y: after 5 SGD steps the parameters are the reference's. */
static void test_softmax_ce_train_steps_match_reference(void **state)
{
    const size_t n[] = {4, 6, 5};
    const nnf_act act[] = {NNF_ACT_TANH, NNF_ACT_SOFTMAX};
    float buf[PAIR_MAX_N * PAIR_MAX_N];
    pair p;
    (void)state;
    pair_init(&p, 2, n, act, NNF_LOSS_CROSS_ENTROPY, 16, 1, 2100);
    assert_ok(p.net, nnf_net_set_param(p.net, NNF_PARAM_LEARNING_RATE, 0.5));
    for (int s = 0; s < 5; s++) {
        float cost = NAN;
        assert_ok(p.net, nnf_net_train_step(p.net, p.x, p.y, p.m, &cost));
        assert_non_null(ref_forward(&p.ref, p.xd, p.m));
        double j = ref_cost(&p.ref, p.yd);
        assert_true(fabs((double)cost - j) < REL_TOL * j);
        assert_int_equal(ref_backward(&p.ref, p.yd), 0);
        ref_update(&p.ref, 0.5);
    }
    for (size_t l = 1; l <= p.L; l++) {
        nnf_layer *ly = nnf_net_layer(p.net, l);
        assert_ok(p.net, nnf_layer_get_weights(ly, buf));
        assert_true(ref_rel_err_f(buf, p.ref.w[l], p.n[l] * p.n[l - 1]) < REL_TOL);
        assert_ok(p.net, nnf_layer_get_bias(ly, buf));
        assert_true(ref_rel_err_f(buf, p.ref.b[l], p.n[l]) < REL_TOL);
    }
    pair_free(&p);
}

/* ======================================================================
 * Huge logits
 * ====================================================================== */

/* Logits of +-1000 (e^1000 overflows even a double): the outputs are
 * finite, exact 0s and 1s that sum to 1; the cost is large (a label on a
 * logit 2000 below the largest costs 2000) and finite, and equal to the
 * reference's stable cost; the gradients are finite and the reference's. */
static void test_huge_logits_give_finite_outputs_cost_and_gradients(void **state)
{
    const size_t n[] = {2, 3};
    const nnf_act act[] = {NNF_ACT_SOFTMAX};
    /* z = W x + b with x = (+-1, +-1): rows of W and b of size 500 */
    const float w[] = {500.0f, 500.0f, -500.0f, -500.0f, 500.0f, -500.0f};
    const float b[] = {0.0f, 0.0f, 0.0f};
    const float x[] = {1, 1, -1, -1, 1, -1, -1, 1};
    /* z per sample: (1000, -1000, 0), (-1000, 1000, 0), (0, 0, 1000), (0, 0, -1000) */
    const float y[] = {0, 1, 0, /**/ 1, 0, 0, /**/ 0, 0, 1, /**/ 0.5f, 0.5f, 0};
    pair p;
    (void)state;
    pair_init(&p, 1, n, act, NNF_LOSS_CROSS_ENTROPY, 4, 0, 2200);
    assert_ok(p.net, nnf_layer_set_weights(nnf_net_layer(p.net, 1), w));
    assert_ok(p.net, nnf_layer_set_bias(nnf_net_layer(p.net, 1), b));
    pair_sync_layer(&p, 1);
    memcpy(p.x, x, sizeof x);
    memcpy(p.y, y, sizeof y);
    ref_to_double(p.xd, p.x, 8);
    ref_to_double(p.yd, p.y, 12);

    errs e = compare(&p);
    float cost = NAN;
    assert_ok(p.net, nnf_net_forward(p.net, p.x, p.m, p.out));
    assert_ok(p.net, nnf_net_backward(p.net, p.y, &cost));
    /* per sample: 2000, 2000, 0, log 2 (a tie at 0 against -1000) */
    if (verbose())
        printf("    huge logits: cost %.6g, output %.3g, cost %.3g, gradients %.3g, sums %.3g\n",
               (double)cost, e.out, e.cost, e.grad, e.rowsum);
    assert_true(isfinite(cost));
    assert_true(fabs((double)cost - (4000.0 + log(2.0)) / 4.0) < 1e-3);
    assert_true(e.out < REL_TOL && e.cost < REL_TOL && e.grad < REL_TOL);
    assert_true(e.rowsum < SUM_TOL);
    const float want_out[] = {1, 0, 0, 0, 1, 0, 0, 0, 1, 0.5f, 0.5f, 0};
    for (size_t i = 0; i < 12; i++)
        assert_true(fabsf(p.out[i] - want_out[i]) < 1e-6f);

    /* a train step with such logits succeeds too */
    assert_ok(p.net, nnf_net_set_param(p.net, NNF_PARAM_LEARNING_RATE, 0.01));
    assert_ok(p.net, nnf_net_train_step(p.net, p.x, p.y, p.m, &cost));
    assert_true(isfinite(cost));
    pair_free(&p);
}

/* A deeper net whose hidden layer saturates and whose output weights are
 * huge: the same, and every sample's outputs sum to 1. */
static void test_huge_logits_behind_a_hidden_layer_stay_finite(void **state)
{
    const size_t n[] = {3, 6, 10};
    const nnf_act act[] = {NNF_ACT_TANH, NNF_ACT_SOFTMAX};
    float w[60], pred[PAIR_MAX_M * PAIR_MAX_N];
    pair p;
    (void)state;
    pair_init(&p, 2, n, act, NNF_LOSS_CROSS_ENTROPY, 64, 1, 2300);
    ref_rng g = {2301};
    for (size_t i = 0; i < 60; i++)
        w[i] = (float)ref_rng_uniform(&g, -300.0, 300.0);
    assert_ok(p.net, nnf_layer_set_weights(nnf_net_layer(p.net, 2), w));
    pair_sync_layer(&p, 2);
    errs e = compare(&p);
    if (verbose())
        printf("    huge logits, deep: output %.3g, cost %.3g, gradients %.3g, sums %.3g\n", e.out,
               e.cost, e.grad, e.rowsum);
    assert_true(e.out < REL_TOL && e.cost < REL_TOL && e.grad < REL_TOL);
    assert_true(e.rowsum < SUM_TOL);
    assert_ok(p.net, nnf_net_predict(p.net, p.x, p.m, pred));
    assert_true(all_finite(pred, 10 * p.m));
    assert_true(worst_row_sum(pred, 10, p.m) < SUM_TOL);
    pair_free(&p);
}

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
        cmocka_unit_test(test_softmax_ce_matches_reference),
        cmocka_unit_test(test_predict_gives_the_softmax_outputs_of_forward),
        cmocka_unit_test(test_softmax_ce_train_steps_match_reference),
        cmocka_unit_test(test_huge_logits_give_finite_outputs_cost_and_gradients),
        cmocka_unit_test(test_huge_logits_behind_a_hidden_layer_stay_finite),
        cmocka_unit_test(test_a_layer_after_softmax_is_state_and_adds_nothing),
        cmocka_unit_test(test_softmax_output_with_bce_or_mse_is_state),
        cmocka_unit_test(test_cross_entropy_without_softmax_output_is_state),
        cmocka_unit_test(test_cross_entropy_labels_outside_0_1_are_arg),
        cmocka_unit_test(test_spirals_generator_is_one_hot_balanced_and_seeded),
        cmocka_unit_test(test_spirals_train_above_95_percent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
