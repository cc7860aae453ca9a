/* SPDX-License-Identifier: MIT */
/*
 * test_training.c - black-box: training through nnfast.h and what it
 * reaches. Train steps and nnf_net_train learn XOR, the planar flower (with
 * every optimizer, and in mini-batches) and CS231n's spirals, the cost
 * falls, MSE fits a regression. nnf_net_train's semantics: in-order batches
 * are exactly train steps on row ranges, a seed reproduces a shuffled run,
 * every sample is used once per epoch in a new uniform order, progress can
 * stop training; nnf_net_evaluate reports the cost training reports, its
 * accuracy, and changes nothing. (Their failures are in test_errors.c.)
 * Every net is seeded, so every run computes the same numbers.
 * Set NNF_TEST_VERBOSE=1 to print the accuracies reached.
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
#include <string.h>

#include "nnfast.h"
#include "planar.h"

#define MAX_M   600  /* samples of the largest data set but the flower */
#define SUM_TOL 1e-6 /* every sample's softmax outputs sum to 1 */

/* The flower, generated once for the whole group. */
static float flower_x[PLANAR_M][2], flower_y[PLANAR_M][1];

static int make_flower(void **state)
{
    (void)state;
    planar_flower(&flower_x[0][0], &flower_y[0][0], PLANAR_M, 1);
    return 0;
}

/* ---- full-batch train steps learn */

/* steps full-batch train steps on (x, y); the costs of the first and the
 * last step go to *first and *last (either may be NULL). */
static void train_full_batch(nnf_net *net, const float *x, const float *y, size_t m, int steps,
                             float *first, float *last)
{
    float cost = NAN;
    int i;

    for (i = 0; i < steps; i++) {
        assert_ok(net, nnf_net_train_step(net, x, y, m, &cost));
        assert_true(isfinite(cost));
        if (i == 0 && first != NULL)
            *first = cost;
    }
    if (last != NULL)
        *last = cost;
}

/* Training accuracy of a net with one output on m <= MAX_M samples. */
static double accuracy(nnf_net *net, const float *x, const float *y, size_t m)
{
    float pred[MAX_M];

    assert_true(m <= MAX_M);
    assert_ok(net, nnf_net_predict(net, x, m, pred));
    return planar_accuracy(pred, y, m);
}

/* steps full-batch steps of net on the flower, then its accuracy there;
 * net is destroyed. what names the net in the message printed. */
static double flower_accuracy_of(nnf_net *net, int steps, const char *what)
{
    float first = NAN, last = NAN;
    train_full_batch(net, &flower_x[0][0], &flower_y[0][0], PLANAR_M, steps, &first, &last);
    double acc = accuracy(net, &flower_x[0][0], &flower_y[0][0], PLANAR_M);
    print_message("%s on the flower: cost %.4f -> %.4f, accuracy %.1f %%\n", what, (double)first,
                  (double)last, 100.0 * acc);
    assert_true(last < first);
    nnf_net_destroy(net);
    return acc;
}

static void test_xor_2_4_1_tanh_sigmoid_classifies_all_four_points(void **state)
{
    const size_t units[] = {4, 1};
    const nnf_act acts[] = {NNF_ACT_TANH, NNF_ACT_SIGMOID};
    float x[XOR_M][2], y[XOR_M][1], pred[XOR_M];
    nnf_net *net = net_build(&(net_spec){.inputs = 2,
                                         .depth = 2,
                                         .units = units,
                                         .acts = acts,
                                         .loss = NNF_LOSS_BCE,
                                         .lr = 1.0,
                                         .seed = 1});
    int i;

    (void)state;
    xor_data(&x[0][0], &y[0][0]);
    train_full_batch(net, &x[0][0], &y[0][0], XOR_M, 500, NULL, NULL);

    assert_ok(net, nnf_net_predict(net, &x[0][0], XOR_M, pred));
    assert_true(planar_accuracy(pred, &y[0][0], XOR_M) == 1.0);
    for (i = 0; i < XOR_M; i++) /* not just on the right side: confident */
        assert_true(fabsf(pred[i] - y[i][0]) < 0.1f);
    nnf_net_destroy(net);
}

/* The shallow flower nets start as in the course, from weights of 0.01:
 * from XAVIER, an occasional seed ends in a local minimum near 67 %. */
static void test_planar_2_4_1_tanh_sigmoid_reaches_85_percent_accuracy(void **state)
{
    const size_t units[] = {4, 1};
    const nnf_act acts[] = {NNF_ACT_TANH, NNF_ACT_SIGMOID};
    nnf_net *net = net_build(&(net_spec){.inputs = 2,
                                         .depth = 2,
                                         .units = units,
                                         .acts = acts,
                                         .loss = NNF_LOSS_BCE,
                                         .lr = 1.2,
                                         .init = NNF_INIT_SMALL_NORMAL,
                                         .seed = 1});

    (void)state;
    assert_true(flower_accuracy_of(net, 1000, "2-4-1 tanh/sigmoid") >= 0.85);
}

static void test_planar_deep_relu_net_reaches_85_percent_accuracy(void **state)
{
    const size_t units[] = {16, 16, 8, 1};
    const nnf_act acts[] = {NNF_ACT_RELU, NNF_ACT_RELU, NNF_ACT_RELU, NNF_ACT_SIGMOID};
    nnf_net *net = net_build(&(net_spec){.inputs = 2,
                                         .depth = 4,
                                         .units = units,
                                         .acts = acts,
                                         .loss = NNF_LOSS_BCE,
                                         .lr = 0.2,
                                         .seed = 1});

    (void)state;
    assert_true(flower_accuracy_of(net, 1000, "2-16-16-8-1 relu/sigmoid") >= 0.85);
}

static void test_bce_cost_falls_during_training(void **state)
{
    const size_t units[] = {4, 1};
    const nnf_act acts[] = {NNF_ACT_TANH, NNF_ACT_SIGMOID};
    nnf_net *net = net_build(&(net_spec){.inputs = 2,
                                         .depth = 2,
                                         .units = units,
                                         .acts = acts,
                                         .loss = NNF_LOSS_BCE,
                                         .lr = 1.2,
                                         .init = NNF_INIT_SMALL_NORMAL,
                                         .seed = 1});
    float first, mid, last;

    (void)state;
    train_full_batch(net, &flower_x[0][0], &flower_y[0][0], PLANAR_M, 500, &first, &mid);
    train_full_batch(net, &flower_x[0][0], &flower_y[0][0], PLANAR_M, 500, NULL, &last);
    /* Weights of 0.01 make every output 0.5: the cost starts at log 2. The
     * flower's 2-4-1 nets end near 0.2 (the course: 0.22 after 10000 steps). */
    assert_float_equal(first, 0.693147f, 1e-3f);
    assert_true(mid < first / 2.0f);
    assert_true(last < mid);
    assert_true(last < 0.3f);
    nnf_net_destroy(net);
}

/* m points x uniform in [-1, 1]^2 with y = 2 x1 - x2 + 0.5. */
static void make_plane(float *x, float *y, size_t m)
{
    planar_rng rng;
    size_t i;

    planar_rng_seed(&rng, 7);
    for (i = 0; i < m; i++) {
        x[2 * i] = (float)(2.0 * planar_rng_uniform(&rng) - 1.0);
        x[2 * i + 1] = (float)(2.0 * planar_rng_uniform(&rng) - 1.0);
        y[i] = 2.0f * x[2 * i] - x[2 * i + 1] + 0.5f;
    }
}

static void test_mse_linear_layer_recovers_regression_coefficients(void **state)
{
    enum { M = 64 };
    const size_t units[] = {1};
    const nnf_act acts[] = {NNF_ACT_LINEAR};
    float x[M][2], y[M][1], w[2], b[1], first, last;
    nnf_net *net = net_build(&(net_spec){.inputs = 2,
                                         .depth = 1,
                                         .units = units,
                                         .acts = acts,
                                         .loss = NNF_LOSS_MSE,
                                         .lr = 0.5,
                                         .seed = 1});

    (void)state;
    make_plane(&x[0][0], &y[0][0], M);
    train_full_batch(net, &x[0][0], &y[0][0], M, 300, &first, &last);

    assert_ok(net, nnf_layer_get_weights(nnf_net_layer(net, 1), w));
    assert_ok(net, nnf_layer_get_bias(nnf_net_layer(net, 1), b));
    assert_float_equal(w[0], 2.0f, 1e-3f);
    assert_float_equal(w[1], -1.0f, 1e-3f);
    assert_float_equal(b[0], 0.5f, 1e-3f);
    assert_true(first > 0.1f);
    assert_true(last < 1e-6f);
    nnf_net_destroy(net);
}

static void test_mse_tanh_hidden_layer_fits_regression_to_small_error(void **state)
{
    enum { M = 64 };
    const size_t units[] = {8, 1};
    const nnf_act acts[] = {NNF_ACT_TANH, NNF_ACT_LINEAR};
    float x[M][2], y[M][1], pred[M], first, last;
    nnf_net *net = net_build(&(net_spec){.inputs = 2,
                                         .depth = 2,
                                         .units = units,
                                         .acts = acts,
                                         .loss = NNF_LOSS_MSE,
                                         .lr = 0.25,
                                         .seed = 1});
    int i;

    (void)state;
    make_plane(&x[0][0], &y[0][0], M);
    train_full_batch(net, &x[0][0], &y[0][0], M, 1000, &first, &last);

    /* y spreads over [-2.5, 3.5] with standard deviation 1.3; tanh units
     * approach a plane only slowly, so "small" is J < 2e-3, an RMS error under 0.064. */
    assert_true(first > 0.1f);
    assert_true(last < 2e-3f);
    assert_ok(net, nnf_net_predict(net, &x[0][0], M, pred));
    for (i = 0; i < M; i++)
        assert_float_equal(pred[i], y[i][0], 0.25f);
    nnf_net_destroy(net);
}

/* 2-4-1 tanh/sigmoid, BCE, full batch on 400 points of the flower. */
static double flower_accuracy(nnf_optimizer opt, double lr, int steps)
{
    const size_t units[] = {4, 1};
    const nnf_act acts[] = {NNF_ACT_TANH, NNF_ACT_SIGMOID};
    nnf_net *net = net_build(
        &(net_spec){.inputs = 2, .depth = 2, .units = units, .acts = acts, .lr = lr, .seed = 1});
    char what[64];
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_OPTIMIZER, (double)opt));
    snprintf(what, sizeof what, "2-4-1, optimizer %d, lr %g, %d steps", (int)opt, lr, steps);
    return flower_accuracy_of(net, steps, what);
}

static void test_flower_reaches_85_percent_with_each_optimizer(void **state)
{
    (void)state;
    assert_true(flower_accuracy(NNF_OPT_SGD, 1.2, 500) > 0.85);
    assert_true(flower_accuracy(NNF_OPT_MOMENTUM, 1.2, 500) > 0.85);
    assert_true(flower_accuracy(NNF_OPT_ADAM, 0.05, 500) > 0.85);
}

/* ---- CS231n's three spirals: softmax + cross-entropy */

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
static void test_spirals_softmax_adam_classifies_above_95_percent(void **state)
{
    static float x[SPIRAL_M * 2], y[SPIRAL_M * SPIRAL_K], pred[SPIRAL_M * SPIRAL_K];
    const size_t units[] = {64, SPIRAL_K};
    const nnf_act acts[] = {NNF_ACT_RELU, NNF_ACT_SOFTMAX};
    const int steps = 300;
    nnf_net *net = net_build(&(net_spec){.inputs = 2,
                                         .depth = 2,
                                         .units = units,
                                         .acts = acts,
                                         .loss = NNF_LOSS_CROSS_ENTROPY,
                                         .lr = 0.02,
                                         .seed = 1});
    float cost = NAN, first = NAN;
    (void)state;
    planar_spirals(x, y, SPIRAL_M, SPIRAL_K, 1);
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_OPTIMIZER, NNF_OPT_ADAM));
    train_full_batch(net, x, y, SPIRAL_M, steps, &first, &cost);
    assert_ok(net, nnf_net_predict(net, x, SPIRAL_M, pred));
    size_t right = 0;
    for (size_t i = 0; i < SPIRAL_M; i++)
        right += argmax(pred + i * SPIRAL_K, SPIRAL_K) == argmax(y + i * SPIRAL_K, SPIRAL_K);
    double acc = (double)right / SPIRAL_M;
    if (verbose())
        printf("    spirals 2-64-3, Adam 0.02, %d steps: cost %.4f -> %.4f, accuracy %.4f\n", steps,
               (double)first, (double)cost, acc);
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

/* ---- nnf_net_train */

/* The usual test net: 3 inputs, 5 tanh units, 1 sigmoid output, BCE. */
static nnf_net *bce_net(double lr)
{
    const size_t units[] = {5, 1};
    const nnf_act acts[] = {NNF_ACT_TANH, NNF_ACT_SIGMOID};
    return net_build(&(net_spec){.inputs = 3,
                                 .depth = 2,
                                 .units = units,
                                 .acts = acts,
                                 .loss = NNF_LOSS_BCE,
                                 .lr = lr,
                                 .seed = 3});
}

/* ---- progress callbacks */

typedef struct record {
    size_t calls, stop_after; /* stop_after 0: never stop */
    size_t epoch[64], batch[64];
    float cost[64];
} record;

static int record_progress(void *user, size_t epoch, size_t batch, float cost)
{
    record *r = user;
    if (r->calls < 64) {
        r->epoch[r->calls] = epoch;
        r->batch[r->calls] = batch;
        r->cost[r->calls] = cost;
    }
    r->calls++;
    return r->stop_after && r->calls >= r->stop_after;
}

/* ---- training in order */

static void test_train_with_one_batch_in_order_is_train_steps(void **state)
{
    (void)state;
    enum { M = 37, E = 5 };
    float x[M * 3], y[M], cost = NAN;
    make_data(x, y, M, 3, 1, 0);
    nnf_net *a = bce_net(0.01), *b = bce_net(0.01), *c = bce_net(0.01);
    for (nnf_net **n = (nnf_net *[]){a, b, c, NULL}; *n; n++)
        assert_ok(*n, nnf_net_set_param(*n, NNF_PARAM_OPTIMIZER, NNF_OPT_ADAM));

    size_t steps = 0;
    record rec = {0};
    assert_ok(a, nnf_net_train(a, x, y, M, M, E, 0, 0, record_progress, &rec, &steps));
    assert_int_equal(steps, E);
    for (int i = 0; i < E; i++)
        assert_ok(b, nnf_net_train_step(b, x, y, M, &cost));
    assert_true(same_params(a, b));
    /* one batch per epoch: its running cost is the step's cost */
    assert_int_equal(rec.calls, E);
    assert_int_equal(rec.epoch[E - 1], E - 1);
    assert_int_equal(rec.batch[E - 1], 0);
    assert_true(rec.cost[E - 1] == cost);

    /* a batch size above m is m */
    assert_ok(c, nnf_net_train(c, x, y, M, 1000, E, 0, 0, NULL, NULL, NULL));
    assert_true(same_params(a, c));
    nnf_net_destroy(a);
    nnf_net_destroy(b);
    nnf_net_destroy(c);
}

static void test_train_in_order_takes_row_ranges_with_a_short_last_batch(void **state)
{
    (void)state;
    enum { M = 10, B = 4, E = 2 };
    float x[M * 3], y[M];
    make_data(x, y, M, 3, 1, 0);
    nnf_net *a = bce_net(0.5), *b = bce_net(0.5);

    size_t steps = 0;
    record rec = {0};
    assert_ok(a, nnf_net_train(a, x, y, M, B, E, 0, 0, record_progress, &rec, &steps));
    assert_int_equal(steps, E * 3);
    assert_int_equal(rec.calls, E * 3);

    size_t k = 0;
    for (size_t e = 0; e < E; e++) {
        double sum = 0.0;
        for (size_t first = 0, batch = 0; first < M; first += B, batch++, k++) {
            size_t mb = M - first < B ? M - first : B;
            float cost;
            assert_ok(b, nnf_net_train_step(b, x + first * 3, y + first, mb, &cost));
            sum += (double)cost * (double)mb;
            assert_int_equal(rec.epoch[k], e);
            assert_int_equal(rec.batch[k], batch);
            /* the mean J of the epoch so far, weighted by batch size */
            assert_true(rec.cost[k] == (float)(sum / (double)(first + mb)));
        }
    }
    assert_true(same_params(a, b));
    nnf_net_destroy(a);
    nnf_net_destroy(b);
}

/* ---- shuffled training */

static void test_train_shuffled_repeats_with_its_seed_and_differs_with_another(void **state)
{
    (void)state;
    enum { M = 50, B = 8, E = 3 };
    float x[M * 3], y[M];
    make_data(x, y, M, 3, 1, 0);
    nnf_net *a = bce_net(0.3), *b = bce_net(0.3), *c = bce_net(0.3), *d = bce_net(0.3);
    size_t steps = 0;
    assert_ok(a, nnf_net_train(a, x, y, M, B, E, 1, 7, NULL, NULL, &steps));
    assert_int_equal(steps, E * 7);
    assert_ok(b, nnf_net_train(b, x, y, M, B, E, 1, 7, NULL, NULL, NULL));
    assert_ok(c, nnf_net_train(c, x, y, M, B, E, 1, 8, NULL, NULL, NULL));
    assert_ok(d, nnf_net_train(d, x, y, M, B, E, 0, 7, NULL, NULL, NULL));
    assert_true(same_params(a, b));
    assert_false(same_params(a, c));
    assert_false(same_params(a, d)); /* shuffling changed the order */
    nnf_net_destroy(a);
    nnf_net_destroy(b);
    nnf_net_destroy(c);
    nnf_net_destroy(d);
}

/*
 * Which samples a shuffled epoch used, read from the weight. A 1-input
 * sigmoid unit with bias -1e30 is saturated at a = 0 whatever the weight, so
 * with label 1 every sample's dZ is exactly -1 and a batch of mb samples
 * adds lr/mb * sum of its x to the weight. With x_i = 4^i, lr = 1, W = 0 at
 * the start and batch sizes powers of two, every partial sum is exact in
 * float in any order, and the weight's base-4 digits count, per sample, how
 * often (times 4 / mb) it was used.
 */
enum { VISIT_M = 10 };

static nnf_net *saturated_net(float *x, float *y)
{
    const size_t units[] = {1};
    const nnf_act acts[] = {NNF_ACT_SIGMOID};
    nnf_net *net = net_build(&(net_spec){.inputs = 1,
                                         .depth = 1,
                                         .units = units,
                                         .acts = acts,
                                         .loss = NNF_LOSS_BCE,
                                         .lr = 1.0,
                                         .seed = 3});
    float w = 0.0f, b = -1e30f;
    assert_ok(net, nnf_layer_set_weights(nnf_net_layer(net, 1), &w));
    assert_ok(net, nnf_layer_set_bias(nnf_net_layer(net, 1), &b));
    for (size_t i = 0; i < VISIT_M; i++) {
        x[i] = (float)(1u << (2 * i));
        y[i] = 1.0f;
    }
    return net;
}

/* The weight times scale, as VISIT_M base-4 digits; fails on anything else. */
static void weight_digits(nnf_net *net, float scale, unsigned *digit)
{
    float w;
    assert_ok(net, nnf_layer_get_weights(nnf_net_layer(net, 1), &w));
    float v = w * scale;
    assert_true(v >= 0.0f && v < 16777216.0f && v == floorf(v));
    unsigned long u = (unsigned long)v;
    for (size_t i = 0; i < VISIT_M; i++, u /= 4)
        digit[i] = (unsigned)(u % 4);
    assert_int_equal(u, 0);
}

static void test_train_shuffled_epochs_visit_every_sample_once(void **state)
{
    (void)state;
    float x[VISIT_M], y[VISIT_M];
    unsigned digit[VISIT_M];

    /* batches of 1, three epochs: every sample three times */
    nnf_net *net = saturated_net(x, y);
    size_t steps = 0;
    assert_ok(net, nnf_net_train(net, x, y, VISIT_M, 1, 3, 1, 11, NULL, NULL, &steps));
    assert_int_equal(steps, 3 * VISIT_M);
    weight_digits(net, 1.0f, digit);
    for (size_t i = 0; i < VISIT_M; i++)
        assert_int_equal(digit[i], 3);
    nnf_net_destroy(net);

    /* batches of 4, 4 and a short 2: each sample once, in a batch of 4
     * (digit 1 of 4W) or in the last batch (digit 2), and the last has two */
    for (uint64_t seed = 1; seed <= 3; seed++) {
        net = saturated_net(x, y);
        assert_ok(net, nnf_net_train(net, x, y, VISIT_M, 4, 1, 1, seed, NULL, NULL, &steps));
        assert_int_equal(steps, 3);
        weight_digits(net, 4.0f, digit);
        size_t in_last = 0;
        for (size_t i = 0; i < VISIT_M; i++) {
            assert_true(digit[i] == 1 || digit[i] == 2);
            if (digit[i] == 2)
                in_last++;
        }
        assert_int_equal(in_last, 2);
        nnf_net_destroy(net);
    }

    /* the probe itself: in order, the last batch is samples 8 and 9 */
    net = saturated_net(x, y);
    assert_ok(net, nnf_net_train(net, x, y, VISIT_M, 4, 1, 0, 0, NULL, NULL, NULL));
    weight_digits(net, 4.0f, digit);
    for (size_t i = 0; i < VISIT_M; i++)
        assert_int_equal(digit[i], i < 8 ? 1 : 2);
    nnf_net_destroy(net);
}

/*
 * The order of a shuffled epoch, read from the progress callback. A linear
 * unit with w = 1, b = 0 and a negligible learning rate (1e-9) has, with
 * batches of 1, the step cost (x_i)^2 / 2 of sample i, which x_i = i + 1
 * identifies; the callback's running mean gives each step's cost back.
 */
enum { ORDER_M = 12, ORDER_E = 3 };

typedef struct probe {
    size_t m, bad;
    double prev;         /* the running mean of the previous step */
    size_t cur[ORDER_M]; /* the epoch so far */
    size_t order[ORDER_E][ORDER_M];
    size_t last[3];        /* m = 3: the previous epoch's order */
    long epochs, moves[9]; /* and the moves from it, by s[0] * 3 + s[1] */
} probe;

/* m = 3: the move s from the previous order to this one, cur[k] = last[s[k]],
 * counted by s[0] * 3 + s[1]. Uniform orders make uniform moves. */
static void count_move(probe *p)
{
    size_t s[3] = {0, 0, 0};
    for (size_t k = 0; k < 3; k++)
        for (size_t j = 0; j < 3; j++)
            if (p->cur[k] == p->last[j])
                s[k] = j;
    if (p->epochs++)
        p->moves[s[0] * 3 + s[1]]++;
    memcpy(p->last, p->cur, sizeof p->last);
}

static int order_progress(void *user, size_t epoch, size_t batch, float cost)
{
    probe *p = user;
    double c = (double)cost * (double)(batch + 1) - p->prev * (double)batch;
    long i = lround(sqrt(2.0 * c)) - 1;
    p->prev = (double)cost;
    if (i < 0 || (size_t)i >= p->m || batch >= p->m) {
        p->bad++;
        return 1;
    }
    p->cur[batch] = (size_t)i;
    if (batch + 1 == p->m) {
        p->prev = 0.0;
        if (epoch < ORDER_E)
            memcpy(p->order[epoch], p->cur, sizeof p->cur);
        if (p->m == 3)
            count_move(p);
    }
    return 0;
}

static nnf_net *order_net(float *x, float *y, size_t m)
{
    const size_t units[] = {1};
    const nnf_act acts[] = {NNF_ACT_LINEAR};
    nnf_net *net = net_build(&(net_spec){.inputs = 1,
                                         .depth = 1,
                                         .units = units,
                                         .acts = acts,
                                         .loss = NNF_LOSS_MSE,
                                         .lr = 1e-9,
                                         .seed = 3});
    float w = 1.0f, b = 0.0f;
    assert_ok(net, nnf_layer_set_weights(nnf_net_layer(net, 1), &w));
    assert_ok(net, nnf_layer_set_bias(nnf_net_layer(net, 1), &b));
    for (size_t i = 0; i < m; i++) {
        x[i] = (float)(i + 1);
        y[i] = 0.0f;
    }
    return net;
}

static void test_shuffle_draws_a_new_uniform_order_every_epoch(void **state)
{
    (void)state;
    float x[ORDER_M], y[ORDER_M];
    static probe p;
    memset(&p, 0, sizeof p);
    p.m = ORDER_M;
    nnf_net *net = order_net(x, y, ORDER_M);
    assert_ok(net, nnf_net_train(net, x, y, ORDER_M, 1, ORDER_E, 1, 4, order_progress, &p, NULL));
    assert_int_equal(p.bad, 0);
    for (size_t e = 0; e < ORDER_E; e++) {
        int seen[ORDER_M] = {0}, identity = 1;
        for (size_t k = 0; k < ORDER_M; k++) {
            seen[p.order[e][k]]++;
            identity &= p.order[e][k] == k;
        }
        for (size_t i = 0; i < ORDER_M; i++)
            assert_int_equal(seen[i], 1); /* a permutation */
        assert_false(identity);
        if (e)
            assert_memory_not_equal(p.order[e], p.order[e - 1], sizeof p.order[e]);
    }
    /* in order, the probe reads 0, 1, 2, ... */
    memset(&p, 0, sizeof p);
    p.m = ORDER_M;
    assert_ok(net, nnf_net_train(net, x, y, ORDER_M, 1, 1, 0, 4, order_progress, &p, NULL));
    for (size_t k = 0; k < ORDER_M; k++)
        assert_int_equal(p.order[0][k], k);
    nnf_net_destroy(net);

    /* 3001 epochs of 3 samples: the 6 moves from one epoch's order to the
     * next equally likely (chi-square, 5 degrees of freedom, below 20.5 at
     * p = 0.001). A biased shuffle can still give uniform orders, as the
     * order carries over, but not uniform moves: swapping with any index
     * gives a chi-square above 300, Sattolo's algorithm thousands. */
    enum { E3 = 3000 };
    memset(&p, 0, sizeof p);
    p.m = 3;
    net = order_net(x, y, 3);
    assert_ok(net, nnf_net_train(net, x, y, 3, 1, E3 + 1, 1, 5, order_progress, &p, NULL));
    assert_int_equal(p.bad, 0);
    double chi2 = 0.0, expect = E3 / 6.0;
    long total = 0;
    for (size_t a = 0; a < 3; a++)
        for (size_t b = 0; b < 3; b++)
            if (a != b) {
                double d = (double)p.moves[a * 3 + b] - expect;
                chi2 += d * d / expect;
                total += p.moves[a * 3 + b];
            }
    assert_int_equal(total, E3);
    print_message("shuffle of 3 samples, %d epochs: chi-square of the moves %.2f\n", E3, chi2);
    assert_true(chi2 < 20.5);
    nnf_net_destroy(net);
}

/* ---- stopping */

static void test_progress_returning_nonzero_stops_after_that_step(void **state)
{
    (void)state;
    enum { M = 10, B = 3, K = 6 };
    float x[M * 3], y[M];
    make_data(x, y, M, 3, 1, 0);
    nnf_net *a = bce_net(0.5), *b = bce_net(0.5);

    size_t steps = 0;
    record rec = {0};
    rec.stop_after = K;
    assert_ok(a, nnf_net_train(a, x, y, M, B, 5, 0, 0, record_progress, &rec, &steps));
    assert_int_equal(steps, K);
    assert_int_equal(rec.calls, K);
    assert_int_equal(rec.epoch[K - 1], 1); /* 4 batches per epoch: 3, 3, 3, 1 */
    assert_int_equal(rec.batch[K - 1], 1);

    for (size_t k = 0; k < K; k++) {
        size_t first = (k % 4) * B, mb = M - first < B ? M - first : B;
        assert_ok(b, nnf_net_train_step(b, x + first * 3, y + first, mb, NULL));
    }
    assert_true(same_params(a, b));
    nnf_net_destroy(a);
    nnf_net_destroy(b);
}

/* What the progress function may do to the net: read it, evaluate it,
 * change its settings (a schedule, early stopping). */
typedef struct meddler {
    nnf_net *net;
    const float *x, *y;
    size_t m, calls;
    int add_layer; /* what it must not do: change the layers */
    nnf_status evaluated, changed;
} meddler;

static int meddle(void *user, size_t epoch, size_t batch, float cost)
{
    meddler *d = user;
    float c, acc;
    (void)epoch, (void)batch, (void)cost;
    d->calls++;
    d->evaluated = nnf_net_evaluate(d->net, d->x, d->y, d->m, &c, &acc);
    d->changed = nnf_net_set_param(d->net, NNF_PARAM_LEARNING_RATE, 0.5 / (double)(d->calls + 1));
    if (d->add_layer)
        (void)nnf_net_add_dense(d->net, 8, NNF_ACT_SIGMOID, NULL);
    return 0;
}

static void test_progress_may_evaluate_and_change_settings(void **state)
{
    (void)state;
    enum { M = 12, B = 4, E = 3 };
    float x[M * 3], y[M];
    make_data(x, y, M, 3, 1, 0);
    nnf_net *net = bce_net(0.5);
    meddler d = {net, x, y, M, 0, 0, NNF_ERR_ARG, NNF_ERR_ARG};
    size_t steps = 0;
    assert_ok(net, nnf_net_train(net, x, y, M, B, E, 1, 9, meddle, &d, &steps));
    assert_int_equal(steps, E * (M / B));
    assert_int_equal(d.calls, steps);
    assert_int_equal(d.evaluated, NNF_OK);
    assert_int_equal(d.changed, NNF_OK);
    double lr;
    assert_ok(net, nnf_net_get_param(net, NNF_PARAM_LEARNING_RATE, &lr));
    assert_true(lr == 0.5 / (double)(steps + 1));
    nnf_net_destroy(net);
}

/* A progress function that adds a layer stops training with NNF_ERR_STATE
 * before the next step (which would read labels the batch no longer has:
 * a heap overflow before the fix). */
static void test_progress_that_changes_the_layers_stops_training_with_state(void **state)
{
    (void)state;
    enum { M = 12, B = 4 };
    float x[M * 3], y[M];
    make_data(x, y, M, 3, 1, 0);
    nnf_net *net = bce_net(0.5);
    meddler d = {net, x, y, M, 0, 1, NNF_OK, NNF_OK};
    size_t steps = 0;
    assert_int_equal(nnf_net_train(net, x, y, M, B, 3, 1, 9, meddle, &d, &steps), NNF_ERR_STATE);
    assert_int_equal(steps, 1);
    assert_int_equal(d.calls, 1);
    const char *msg = nnf_net_errmsg(net);
    assert_true(strncmp(msg, "nnf_net_train: epoch 0, batch 0: ", 33) == 0);
    assert_non_null(strstr(msg, "progress function changed the net's layers"));
    assert_int_equal(nnf_net_depth(net), 3); /* the change itself stays */
    nnf_net_destroy(net);
}

/* ---- evaluate */

static void test_evaluate_changes_no_parameter_or_gradient(void **state)
{
    (void)state;
    enum { M = 40 };
    float x[M * 3], y[M], p0[PARAMS_MAX], p1[PARAMS_MAX], g0[PARAMS_MAX], g1[PARAMS_MAX];
    make_data(x, y, M, 3, 1, 0);
    nnf_net *net = bce_net(0.5);
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_OPTIMIZER, NNF_OPT_ADAM));
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_L2_PENALTY, 0.3));
    assert_ok(net, nnf_net_train_step(net, x, y, 8, NULL));
    size_t n = net_params(net, p0);
    assert_int_equal(net_grads(net, g0), n);

    float cost = NAN, acc = NAN;
    assert_ok(net, nnf_net_evaluate(net, x, y, M, &cost, &acc));
    assert_true(isfinite(cost) && acc >= 0.0f && acc <= 1.0f);
    assert_int_equal(net_params(net, p1), n);
    assert_memory_equal(p0, p1, n * sizeof(float));
    assert_int_equal(net_grads(net, g1), n); /* still readable */
    assert_memory_equal(g0, g1, n * sizeof(float));
    /* nor the optimizer's state: the next steps match a twin's */
    nnf_net *twin = bce_net(0.5);
    assert_ok(twin, nnf_net_set_param(twin, NNF_PARAM_OPTIMIZER, NNF_OPT_ADAM));
    assert_ok(twin, nnf_net_set_param(twin, NNF_PARAM_L2_PENALTY, 0.3));
    assert_ok(twin, nnf_net_train_step(twin, x, y, 8, NULL));
    assert_ok(net, nnf_net_train_step(net, x, y, M, NULL));
    assert_ok(twin, nnf_net_train_step(twin, x, y, M, NULL));
    assert_true(same_params(net, twin));
    nnf_net_destroy(net);
    nnf_net_destroy(twin);
}

/* evaluate's cost against backward's on the whole data set. */
static void check_cost_is_backward_cost(nnf_net *net, const float *x, const float *y, size_t m,
                                        int exact)
{
    float cost = NAN, ref = NAN;
    assert_ok(net, nnf_net_evaluate(net, x, y, m, &cost, NULL));
    assert_ok(net, nnf_net_forward(net, x, m, NULL));
    assert_ok(net, nnf_net_backward(net, y, &ref));
    if (exact)
        assert_true(cost == ref);
    else
        assert_true(fabsf(cost - ref) <= 1e-6f * fabsf(ref));
}

static void test_evaluate_cost_is_the_training_cost(void **state)
{
    (void)state;
    static float x[MAX_M * 3], y[MAX_M];
    make_data(x, y, MAX_M, 3, 1, 0);
    nnf_net *net = bce_net(0.5);
    assert_ok(net, nnf_net_train(net, x, y, 64, 16, 3, 1, 1, NULL, NULL, NULL));
    check_cost_is_backward_cost(net, x, y, 64, 1);
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_L2_PENALTY, 0.7));
    check_cost_is_backward_cost(net, x, y, 64, 1);
    float with_l2, without;
    assert_ok(net, nnf_net_evaluate(net, x, y, 64, &with_l2, NULL));
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_L2_PENALTY, 0.0));
    assert_ok(net, nnf_net_evaluate(net, x, y, 64, &without, NULL));
    assert_true(with_l2 > without);
    nnf_net_destroy(net);

    /* a fresh net evaluates 600 samples in chunks (256, 256, 88) */
    net = bce_net(0.5);
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_L2_PENALTY, 0.2));
    check_cost_is_backward_cost(net, x, y, MAX_M, 0);
    nnf_net_destroy(net);
}

/* Accuracy as the header defines it, from nnf_net_predict. */
static float manual_accuracy(nnf_net *net, nnf_loss loss, const float *x, const float *y, size_t m)
{
    static float a[MAX_M * 4];
    size_t n = nnf_net_outputs(net), correct = 0;
    assert_true(n <= 4);
    assert_ok(net, nnf_net_predict(net, x, m, a));
    if (loss == NNF_LOSS_BCE) {
        for (size_t i = 0; i < m * n; i++)
            if ((a[i] > 0.5f) == (y[i] > 0.5f))
                correct++;
        return (float)((double)correct / (double)(m * n));
    }
    for (size_t i = 0; i < m; i++) {
        size_t ka = 0, ky = 0;
        for (size_t k = 1; k < n; k++) {
            ka = a[i * n + k] > a[i * n + ka] ? k : ka;
            ky = y[i * n + k] > y[i * n + ky] ? k : ky;
        }
        if (ka == ky)
            correct++;
    }
    return (float)((double)correct / (double)m);
}

static void test_evaluate_accuracy_is_the_share_of_right_outputs_or_samples(void **state)
{
    (void)state;
    static float x[MAX_M * 3], y[MAX_M * 3];
    float cost, acc, before, ref;

    /* two sigmoid outputs: the share of the 2 m values on the right side */
    const size_t bu[] = {6, 2};
    const nnf_act ba[] = {NNF_ACT_RELU, NNF_ACT_SIGMOID};
    nnf_net *net = net_build(&(net_spec){.inputs = 3,
                                         .depth = 2,
                                         .units = bu,
                                         .acts = ba,
                                         .loss = NNF_LOSS_BCE,
                                         .lr = 0.5,
                                         .seed = 3});
    make_data(x, y, MAX_M, 3, 2, 0);
    assert_ok(net, nnf_net_evaluate(net, x, y, MAX_M, &cost, &before));
    assert_ok(net, nnf_net_train(net, x, y, MAX_M, 32, 20, 1, 2, NULL, NULL, NULL));
    assert_ok(net, nnf_net_evaluate(net, x, y, MAX_M, &cost, &acc));
    ref = manual_accuracy(net, NNF_LOSS_BCE, x, y, MAX_M);
    assert_true(acc == ref);
    assert_true(acc > before);
    nnf_net_destroy(net);

    /* softmax over 3 classes: the share of samples with the right argmax */
    const size_t su[] = {8, 3};
    const nnf_act sa[] = {NNF_ACT_TANH, NNF_ACT_SOFTMAX};
    net = net_build(&(net_spec){.inputs = 3,
                                .depth = 2,
                                .units = su,
                                .acts = sa,
                                .loss = NNF_LOSS_CROSS_ENTROPY,
                                .lr = 0.5,
                                .seed = 3});
    make_data(x, y, MAX_M, 3, 3, 1);
    assert_ok(net, nnf_net_evaluate(net, x, y, MAX_M, &cost, &before));
    assert_true(before == manual_accuracy(net, NNF_LOSS_CROSS_ENTROPY, x, y, MAX_M));
    assert_ok(net, nnf_net_train(net, x, y, MAX_M, 32, 30, 1, 2, NULL, NULL, NULL));
    assert_ok(net, nnf_net_evaluate(net, x, y, MAX_M, &cost, &acc));
    ref = manual_accuracy(net, NNF_LOSS_CROSS_ENTROPY, x, y, MAX_M);
    assert_true(acc == ref);
    assert_true(acc > before);
    check_cost_is_backward_cost(net, x, y, 200, 1);
    nnf_net_destroy(net);
}

/* Ties take the first largest value, in the outputs and in the labels: with
 * a zero output layer every softmax output is 1/3, so the accuracy is the
 * share of label rows whose first largest value is class 0. */
static void test_evaluate_softmax_ties_take_the_first_class(void **state)
{
    (void)state;
    enum { M = 40 };
    const float rows[5][3] = {{0.5f, 0.5f, 0},
                              {0, 0.5f, 0.5f},
                              {0, 0, 1},
                              {1, 0, 0},
                              {0.4f, 0.2f, 0.4f}}; /* first largest: 0, 1, 2, 0, 0 */
    float x[M * 3], y[M * 3], zero[8 * 3] = {0}, acc = NAN;
    make_data(x, y, M, 3, 3, 1);
    for (size_t i = 0; i < M; i++)
        memcpy(y + i * 3, rows[i % 5], sizeof rows[0]);
    const size_t units[] = {8, 3};
    const nnf_act acts[] = {NNF_ACT_TANH, NNF_ACT_SOFTMAX};
    nnf_net *net = net_build(&(net_spec){.inputs = 3,
                                         .depth = 2,
                                         .units = units,
                                         .acts = acts,
                                         .loss = NNF_LOSS_CROSS_ENTROPY,
                                         .lr = 0.5,
                                         .seed = 3});
    assert_ok(net, nnf_layer_set_weights(nnf_net_layer(net, 2), zero));
    assert_ok(net, nnf_layer_set_bias(nnf_net_layer(net, 2), zero));
    assert_ok(net, nnf_net_evaluate(net, x, y, M, NULL, &acc));
    assert_true(acc == (float)(3.0 / 5.0));
    nnf_net_destroy(net);
}

static void test_evaluate_mse_accuracy_is_nan(void **state)
{
    (void)state;
    enum { M = 30 };
    const size_t units[] = {4, 2};
    const nnf_act acts[] = {NNF_ACT_TANH, NNF_ACT_LINEAR};
    float x[M * 3], y[M * 2], cost = NAN, acc = 0.0f;
    make_data(x, y, M, 3, 2, 0);
    nnf_net *net = net_build(&(net_spec){.inputs = 3,
                                         .depth = 2,
                                         .units = units,
                                         .acts = acts,
                                         .loss = NNF_LOSS_MSE,
                                         .lr = 0.1,
                                         .seed = 3});
    assert_ok(net, nnf_net_evaluate(net, x, y, M, &cost, &acc));
    assert_true(isnan(acc));
    check_cost_is_backward_cost(net, x, y, M, 1);
    assert_ok(net, nnf_net_evaluate(net, x, y, M, NULL, NULL));
    nnf_net_destroy(net);
}

/* ---- learning */

static void test_minibatch_adam_classifies_the_flower_above_85_percent(void **state)
{
    (void)state;
    const size_t units[] = {16, 8, 1};
    const nnf_act acts[] = {NNF_ACT_RELU, NNF_ACT_RELU, NNF_ACT_SIGMOID};
    nnf_net *net = net_build(&(net_spec){.inputs = 2,
                                         .depth = 3,
                                         .units = units,
                                         .acts = acts,
                                         .loss = NNF_LOSS_BCE,
                                         .lr = 0.01,
                                         .seed = 3});
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_OPTIMIZER, NNF_OPT_ADAM));
    float cost0, cost, acc;
    assert_ok(net, nnf_net_evaluate(net, &flower_x[0][0], &flower_y[0][0], PLANAR_M, &cost0, NULL));
    size_t steps = 0;
    assert_ok(net, nnf_net_train(net, &flower_x[0][0], &flower_y[0][0], PLANAR_M, 32, 200, 1, 42,
                                 NULL, NULL, &steps));
    assert_int_equal(steps, 200 * 13);
    assert_ok(net, nnf_net_evaluate(net, &flower_x[0][0], &flower_y[0][0], PLANAR_M, &cost, &acc));
    print_message("flower, mini-batch Adam: cost %.4f -> %.4f, accuracy %.1f %%\n", (double)cost0,
                  (double)cost, 100.0 * (double)acc);
    assert_true(cost < cost0);
    assert_true(acc >= 0.85f);
    nnf_net_destroy(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xor_2_4_1_tanh_sigmoid_classifies_all_four_points),
        cmocka_unit_test(test_planar_2_4_1_tanh_sigmoid_reaches_85_percent_accuracy),
        cmocka_unit_test(test_planar_deep_relu_net_reaches_85_percent_accuracy),
        cmocka_unit_test(test_bce_cost_falls_during_training),
        cmocka_unit_test(test_mse_linear_layer_recovers_regression_coefficients),
        cmocka_unit_test(test_mse_tanh_hidden_layer_fits_regression_to_small_error),
        cmocka_unit_test(test_flower_reaches_85_percent_with_each_optimizer),
        cmocka_unit_test(test_spirals_generator_is_one_hot_balanced_and_seeded),
        cmocka_unit_test(test_spirals_softmax_adam_classifies_above_95_percent),
        cmocka_unit_test(test_train_with_one_batch_in_order_is_train_steps),
        cmocka_unit_test(test_train_in_order_takes_row_ranges_with_a_short_last_batch),
        cmocka_unit_test(test_train_shuffled_repeats_with_its_seed_and_differs_with_another),
        cmocka_unit_test(test_train_shuffled_epochs_visit_every_sample_once),
        cmocka_unit_test(test_shuffle_draws_a_new_uniform_order_every_epoch),
        cmocka_unit_test(test_progress_returning_nonzero_stops_after_that_step),
        cmocka_unit_test(test_progress_may_evaluate_and_change_settings),
        cmocka_unit_test(test_progress_that_changes_the_layers_stops_training_with_state),
        cmocka_unit_test(test_evaluate_changes_no_parameter_or_gradient),
        cmocka_unit_test(test_evaluate_cost_is_the_training_cost),
        cmocka_unit_test(test_evaluate_accuracy_is_the_share_of_right_outputs_or_samples),
        cmocka_unit_test(test_evaluate_softmax_ties_take_the_first_class),
        cmocka_unit_test(test_evaluate_mse_accuracy_is_nan),
        cmocka_unit_test(test_minibatch_adam_classifies_the_flower_above_85_percent),
    };
    return cmocka_run_group_tests_name("training", tests, make_flower, NULL);
}
