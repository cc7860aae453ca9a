/* SPDX-License-Identifier: MIT */
/* test_memory.c - black-box: the library's memory through the allocator
 * hook: every allocation goes through it, destroy frees every block, and a
 * train step, a prediction or any other call at an unchanged (or smaller)
 * batch size allocates nothing. (Allocation failures are in test_oom.c.) */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "assert_ok.h"
#include "count_alloc.h"
#include "nnfast.h"
#include "nets.h"
#include "params.h"

#include <stdlib.h>
#include <string.h>

enum { N0 = 5, M = 64 };

/* 5 -> 8 relu -> 6 tanh -> 1 sigmoid */
static const size_t g_units[] = {8, 6, 1};
static const nnf_act g_acts[] = {NNF_ACT_RELU, NNF_ACT_TANH, NNF_ACT_SIGMOID};
static const net_spec g_spec = {.inputs = N0, .depth = 3, .units = g_units, .acts = g_acts};

static void test_hook_sees_every_allocation_and_destroy_frees_all(void **state)
{
    (void)state;
    float x[M * N0], y[M];
    make_data(x, y, M, N0, 1, 0);
    nnf_net *net = net_build(&g_spec);
    assert_true(g_count.allocs > 0);
    assert_int_equal(nnf_net_train_step(net, x, y, M, NULL), NNF_OK);
    assert_int_equal(nnf_net_forward(net, x, M, NULL), NNF_OK);
    nnf_net_destroy(net);
    assert_int_equal(g_count.live, 0);
    assert_int_equal(g_count.allocs, g_count.frees);
}

static void test_train_step_at_unchanged_m_allocates_nothing(void **state)
{
    (void)state;
    float x[M * N0], y[M], out[M], cost;
    make_data(x, y, M, N0, 1, 0);
    nnf_net *net = net_build(&g_spec);
    assert_int_equal(nnf_net_train_step(net, x, y, M, &cost), NNF_OK); /* sizes the workspace */
    long before = g_count.allocs;
    for (int i = 0; i < 20; i++)
        assert_int_equal(nnf_net_train_step(net, x, y, M, &cost), NNF_OK);
    assert_int_equal(nnf_net_predict(net, x, M, out), NNF_OK);
    /* a smaller batch fits in the same workspace */
    assert_int_equal(nnf_net_train_step(net, x, y, M / 2, &cost), NNF_OK);
    assert_int_equal(nnf_net_predict(net, x, 1, out), NNF_OK);
    assert_int_equal(g_count.allocs, before);
    nnf_net_destroy(net);
    assert_int_equal(g_count.live, 0);
}

static void test_forward_backward_update_at_unchanged_m_allocate_nothing(void **state)
{
    (void)state;
    float x[M * N0], y[M], out[M], cost;
    make_data(x, y, M, N0, 1, 0);
    nnf_net *net = net_build(&g_spec);
    assert_int_equal(nnf_net_forward(net, x, M, out), NNF_OK);
    assert_int_equal(nnf_net_backward(net, y, &cost), NNF_OK);
    assert_int_equal(nnf_net_update(net), NNF_OK);
    long before = g_count.allocs;
    for (int i = 0; i < 10; i++) {
        assert_int_equal(nnf_net_forward(net, x, M, out), NNF_OK);
        assert_int_equal(nnf_net_backward(net, y, &cost), NNF_OK);
        assert_int_equal(nnf_net_update(net), NNF_OK);
    }
    assert_int_equal(g_count.allocs, before);
    nnf_net_destroy(net);
}

static void test_prediction_at_unchanged_m_allocates_nothing(void **state)
{
    (void)state;
    float x[M * N0], y[M], out[M];
    make_data(x, y, M, N0, 1, 0);
    nnf_net *net = net_build(&g_spec);
    assert_int_equal(nnf_net_predict(net, x, M, out), NNF_OK);
    long before = g_count.allocs;
    for (int i = 0; i < 10; i++)
        assert_int_equal(nnf_net_predict(net, x, M, out), NNF_OK);
    assert_int_equal(g_count.allocs, before);
    nnf_net_destroy(net);
}

/* 3 -> 4 tanh -> 2 sigmoid, MSE, and data of up to M_BIG samples */
enum { N_IN = 3, N_OUT = 2, M_SMALL = 2, M_BIG = 8, MAX_W = 32, MAX_U = 8, IMAGE_CAP = 4096 };
static const size_t g_steady_units[] = {4, N_OUT};
static const nnf_act g_steady_acts[] = {NNF_ACT_TANH, NNF_ACT_SIGMOID};
static const net_spec g_steady_spec = {.inputs = N_IN,
                                       .depth = 2,
                                       .units = g_steady_units,
                                       .acts = g_steady_acts,
                                       .loss = NNF_LOSS_MSE};
static float g_x[M_BIG * N_IN], g_y[M_BIG * N_OUT];

/* ---- at a steady size every call allocates nothing: every allocation
 * would fail */

/* Run call with allocation refused; it succeeds and asks for nothing. */
#define NO_ALLOC(net, call)                                                  \
    do {                                                                     \
        long a_ = g_count.allocs;                                            \
        g_count.fail_at = a_ + 1;                                            \
        assert_ok(net, call);                                                \
        g_count.fail_at = 0;                                                 \
        if (g_count.allocs != a_)                                            \
            fail_msg("%s allocated %ld blocks", #call, g_count.allocs - a_); \
    } while (0)

static void no_alloc_at_steady_size(nnf_optimizer opt)
{
    float out[M_BIG * N_OUT], cost, accuracy, w[MAX_W], b[MAX_U];
    unsigned char image[IMAGE_CAP];
    size_t size;
    double v;
    nnf_net *net = net_build(&g_steady_spec);
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_OPTIMIZER, (double)opt));
    /* size everything once: the workspace at M_BIG, the copy of x */
    assert_ok(net, nnf_net_forward(net, g_x, M_BIG, out));
    assert_ok(net, nnf_net_backward(net, g_y, &cost));
    assert_ok(net, nnf_net_update(net));

    NO_ALLOC(net, nnf_net_forward(net, g_x, M_BIG, out));
    NO_ALLOC(net, nnf_net_backward(net, g_y, &cost));
    NO_ALLOC(net, nnf_net_update(net));
    NO_ALLOC(net, nnf_net_forward(net, g_x, M_SMALL, out));
    NO_ALLOC(net, nnf_net_backward(net, g_y, &cost));
    NO_ALLOC(net, nnf_net_update(net));
    NO_ALLOC(net, nnf_net_train_step(net, g_x, g_y, M_BIG, &cost));
    NO_ALLOC(net, nnf_net_train_step(net, g_x, g_y, 1, &cost));
    NO_ALLOC(net, nnf_net_predict(net, g_x, M_BIG, out));
    NO_ALLOC(net, nnf_net_evaluate(net, g_x, g_y, M_BIG, &cost, &accuracy));
    NO_ALLOC(net, nnf_net_train(net, g_x, g_y, M_BIG, M_BIG / 2, 2, 0, 0, NULL, NULL, NULL));
    NO_ALLOC(net, nnf_net_saved_size(net, NNF_SAVE_OPTIMIZER_STATE, &size));
    NO_ALLOC(net, nnf_net_save_mem(net, image, sizeof image, NNF_SAVE_OPTIMIZER_STATE, &size));
    NO_ALLOC(net, nnf_net_save_mem(net, image, sizeof image, 0, &size));
    NO_ALLOC(net, nnf_net_set_param(net, NNF_PARAM_OPTIMIZER, (double)opt)); /* unchanged */
    NO_ALLOC(net, nnf_net_set_param(net, NNF_PARAM_LEARNING_RATE, 0.05));
    NO_ALLOC(net, nnf_net_set_param(net, NNF_PARAM_L2_PENALTY, 0.1));
    NO_ALLOC(net, nnf_net_set_param(net, NNF_PARAM_MOMENTUM, 0.8));
    NO_ALLOC(net, nnf_net_set_param(net, NNF_PARAM_ADAM_BETA1, 0.8));
    NO_ALLOC(net, nnf_net_set_param(net, NNF_PARAM_ADAM_BETA2, 0.99));
    NO_ALLOC(net, nnf_net_set_param(net, NNF_PARAM_ADAM_EPSILON, 1e-7));
    NO_ALLOC(net, nnf_net_get_param(net, NNF_PARAM_OPTIMIZER, &v));
    NO_ALLOC(net, nnf_net_set_loss(net, NNF_LOSS_MSE));
    NO_ALLOC(net, nnf_net_init(net, NNF_INIT_HE, 7));
    nnf_layer *ly = nnf_net_layer(net, 1);
    NO_ALLOC(net, nnf_layer_get_weights(ly, w));
    NO_ALLOC(net, nnf_layer_set_weights(ly, w));
    NO_ALLOC(net, nnf_layer_get_bias(ly, b));
    NO_ALLOC(net, nnf_layer_set_bias(ly, b));
    NO_ALLOC(net, nnf_net_train_step(net, g_x, g_y, M_BIG, &cost));
    NO_ALLOC(net, nnf_layer_get_weight_grad(ly, w));
    NO_ALLOC(net, nnf_layer_get_bias_grad(ly, b));
    nnf_net_destroy(net);
    assert_int_equal(g_count.live, 0);
}

static void test_steady_training_and_saving_to_memory_allocate_nothing(void **state)
{
    (void)state;
    make_data(g_x, g_y, M_BIG, N_IN, N_OUT, 0);
    no_alloc_at_steady_size(NNF_OPT_SGD);
    no_alloc_at_steady_size(NNF_OPT_MOMENTUM);
    no_alloc_at_steady_size(NNF_OPT_ADAM);
}

int main(void)
{
    /* each test on a fresh counter, removed even when the test fails */
#define T(f) cmocka_unit_test_setup_teardown(f, count_alloc_install, count_alloc_remove)
    const struct CMUnitTest tests[] = {
        T(test_hook_sees_every_allocation_and_destroy_frees_all),
        T(test_train_step_at_unchanged_m_allocates_nothing),
        T(test_forward_backward_update_at_unchanged_m_allocate_nothing),
        T(test_prediction_at_unchanged_m_allocates_nothing),
        T(test_steady_training_and_saving_to_memory_allocate_nothing),
    };
#undef T
    return cmocka_run_group_tests_name("memory", tests, NULL, NULL);
}
