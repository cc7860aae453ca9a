/* SPDX-License-Identifier: MIT */
/*
 * test_gradcheck.c - black-box: nnf_net_gradcheck as nnfast.h promises.
 * Correct nets of every activation and every loss, with and without the L2
 * penalty and input scaling, check at about 1e-7 (below 2e-7); a gradient corrupted through
 * the public API (an exchange function that perturbs the STEP exchange's
 * grads) checks above 1e-2; the net is left bit-identical, down to what its
 * next training steps do. Set NNF_TEST_VERBOSE=1 to print every error.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "assert_ok.h"
#include "nets.h"
#include "params.h"
#include "snapshot.h"
#include "verbose.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nnfast.h"

/* A correct backward gives "about 1e-7" (nnfast.h): its float32 rounding
 * against the double differences. Of the 64 nets below the worst is about
 * 1.0e-7 (leaky ReLU hidden, sigmoid output, MSE), the typical 3e-8: twice
 * the header's figure still separates them from a wrong one by 5 orders. */
#define CORRECT 2e-7
#define WRONG   1e-2 /* a wrong one */
#define M       6

static const char *const act_name[] = {"linear", "sigmoid",    "tanh",
                                       "relu",   "leaky relu", "softmax"};
static const char *const loss_name[] = {"BCE", "MSE", "cross-entropy"};

/* The check of the pair's net on its data, printed when verbose. */
static double check(pair *p, const char *what)
{
    double err = NAN;
    assert_ok(p->net, nnf_net_gradcheck(p->net, p->x, p->y, p->m, &err));
    if (verbose())
        printf("  %-58s %.3g\n", what, err);
    return err;
}

/* 3 -> 5 hidden -> 4 hidden -> output: the hidden activation in both
 * hidden layers, the output activation and loss that go together. */
static double check_net(nnf_act hidden, nnf_act out, nnf_loss loss, double l2, int scaled)
{
    static const size_t n[] = {3, 5, 4, 3};
    const nnf_act act[] = {hidden, hidden, out};
    pair p;
    pair_init(&p, 3, n, act, loss, M, 0, 100 + (uint64_t)hidden * 7 + (uint64_t)out);
    if (hidden == NNF_ACT_LEAKY_RELU)
        for (size_t l = 1; l <= 2; l++)
            assert_ok(p.net, nnf_layer_set_slope(nnf_net_layer(p.net, l), 0.2f));
    assert_ok(p.net, nnf_net_set_param(p.net, NNF_PARAM_L2_PENALTY, l2));
    if (scaled) {
        const float mean[3] = {0.25f, -0.5f, 0.0f}, sd[3] = {2.0f, 0.5f, 1.0f};
        assert_ok(p.net, nnf_net_set_input_scaling(p.net, mean, sd));
    }
    char what[96];
    (void)snprintf(what, sizeof what, "%s hidden, %s output, %s, l2 %g%s", act_name[hidden],
                   act_name[out], loss_name[loss], l2, scaled ? ", scaled" : "");
    double err = check(&p, what);
    pair_free(&p);
    return err;
}

static void test_correct_nets_of_every_activation_and_loss_check_about_1e_7(void **state)
{
    (void)state;
    static const nnf_act hidden[] = {NNF_ACT_LINEAR, NNF_ACT_SIGMOID, NNF_ACT_TANH, NNF_ACT_RELU,
                                     NNF_ACT_LEAKY_RELU};
    /* every output activation with a loss it goes with */
    static const struct {
        nnf_act act;
        nnf_loss loss;
    } outs[] = {{NNF_ACT_SIGMOID, NNF_LOSS_BCE},    {NNF_ACT_LINEAR, NNF_LOSS_MSE},
                {NNF_ACT_SIGMOID, NNF_LOSS_MSE},    {NNF_ACT_TANH, NNF_LOSS_MSE},
                {NNF_ACT_LEAKY_RELU, NNF_LOSS_MSE}, {NNF_ACT_SOFTMAX, NNF_LOSS_CROSS_ENTROPY}};
    double worst = 0.0;
    for (size_t h = 0; h < sizeof hidden / sizeof *hidden; h++)
        for (size_t o = 0; o < sizeof outs / sizeof *outs; o++)
            for (int l2 = 0; l2 < 2; l2++) {
                double err = check_net(hidden[h], outs[o].act, outs[o].loss, l2 ? 0.7 : 0.0, 0);
                worst = fmax(worst, err);
            }
    /* input scaling is part of the net the check measures */
    assert_true(check_net(NNF_ACT_TANH, NNF_ACT_SOFTMAX, NNF_LOSS_CROSS_ENTROPY, 0.3, 1) < CORRECT);
    assert_true(check_net(NNF_ACT_RELU, NNF_ACT_LINEAR, NNF_LOSS_MSE, 0.0, 1) < CORRECT);
    if (verbose())
        printf("  worst of the correct nets: %.3g\n", worst);
    assert_true(worst < CORRECT);
}

/* ---- a corrupted gradient */

typedef struct corrupt {
    double factor; /* every gradient times this */
    size_t one;    /* and this one element moved by delta */
    double delta;
    size_t calls;
} corrupt;

static nnf_status corrupting(nnf_net *net, nnf_exchange *e, void *user)
{
    (void)net;
    corrupt *c = user;
    size_t n;
    float *g = nnf_exchange_grads(e, &n);
    if (!g)
        return NNF_OK;
    c->calls++;
    for (size_t i = 0; i < n; i++)
        g[i] = (float)((double)g[i] * c->factor);
    if (c->one < n)
        g[c->one] += (float)c->delta;
    return NNF_OK;
}

static void test_a_corrupted_gradient_checks_above_1e_2(void **state)
{
    (void)state;
    static const size_t n[] = {3, 5, 2};
    static const nnf_act act[] = {NNF_ACT_TANH, NNF_ACT_SIGMOID};
    pair p;
    pair_init(&p, 2, n, act, NNF_LOSS_BCE, M, 0, 9);
    /* an exchange that changes nothing: still correct */
    corrupt c = {1.0, SIZE_MAX, 0.0, 0};
    assert_ok(p.net, nnf_net_set_exchange(p.net, corrupting, &c));
    assert_true(check(&p, "identity exchange") < CORRECT);
    assert_int_equal(c.calls, 1);
    /* 10% too large everywhere */
    c.factor = 1.1;
    double scaled = check(&p, "every gradient 10% too large");
    assert_true(scaled > WRONG);
    /* one weight's gradient off by 1 (times the batch: the sums are over samples) */
    c.factor = 1.0;
    c.one = 4;
    c.delta = (double)M;
    double one = check(&p, "one gradient off by 1");
    assert_true(one > WRONG);
    assert_ok(p.net, nnf_net_set_exchange(p.net, NULL, NULL));
    assert_true(check(&p, "exchange removed") < CORRECT);
    if (verbose())
        printf("  corrupted: scaled %.4g, one element %.4g\n", scaled, one);
    pair_free(&p);
}

/* ---- the net is left as it was */

static void test_the_net_is_left_bit_identical(void **state)
{
    (void)state;
    static const size_t n[] = {4, 6, 5, 3};
    static const nnf_act act[] = {NNF_ACT_RELU, NNF_ACT_TANH, NNF_ACT_SOFTMAX};
    pair p;
    pair_init(&p, 3, n, act, NNF_LOSS_CROSS_ENTROPY, 12, 0, 17);
    nnf_net *net = p.net;
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_OPTIMIZER, NNF_OPT_ADAM));
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_L2_PENALTY, 0.1));
    assert_ok(net, nnf_layer_set_dropout(nnf_net_layer(net, 1), 0.25f));
    /* with gradients, optimizer state and a stored forward pass */
    assert_ok(net, nnf_net_train_step(net, p.x, p.y, p.m, NULL));
    nnf_net *twin = NULL;
    assert_ok(net, nnf_net_clone(net, &twin));
    assert_ok(net, nnf_net_forward(net, p.x, p.m, NULL));
    assert_ok(twin, nnf_net_forward(twin, p.x, p.m, NULL));
    snapshot before;
    snapshot_take(net, &before);
    double err = NAN;
    assert_ok(net, nnf_net_gradcheck(net, p.x, p.y, p.m, &err));
    assert_true(err < CORRECT);
    assert_unchanged(net, &before, SNAP_GRADS | SNAP_STATE, "nnf_net_gradcheck");
    snapshot_free(&before);
    /* the stored forward pass is still there for a backward, and what
     * follows (dropout masks included) is the twin's */
    float c1 = NAN, c2 = NAN;
    assert_ok(net, nnf_net_backward(net, p.y, &c1));
    assert_ok(twin, nnf_net_backward(twin, p.y, &c2));
    assert_memory_equal(&c1, &c2, sizeof c1);
    for (int s = 0; s < 3; s++) {
        assert_ok(net, nnf_net_train_step(net, p.x, p.y, p.m, NULL));
        assert_ok(twin, nnf_net_train_step(twin, p.x, p.y, p.m, NULL));
    }
    assert_true(same_params(net, twin));
    nnf_net_destroy(twin);
    pair_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_correct_nets_of_every_activation_and_loss_check_about_1e_7),
        cmocka_unit_test(test_a_corrupted_gradient_checks_above_1e_2),
        cmocka_unit_test(test_the_net_is_left_bit_identical),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
