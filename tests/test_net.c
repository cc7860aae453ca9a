/* SPDX-License-Identifier: MIT */
/* test_net.c - black-box: building and reading a net through nnfast.h:
 * create and add layers, the getters and layer accessors, the weight
 * layout, initialization schemes and seeds, slopes, the settings' defaults
 * and read-back, and clone. (Their bad inputs are in test_errors.c.) */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "assert_ok.h"
#include "nets.h"
#include "params.h"
#include "snapshot.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nnfast.h"

/* ---- layers, getters and the weight layout */

static void test_getters_describe_the_net(void **state)
{
    (void)state;
    nnf_net *net;
    nnf_layer *l1, *l2;
    assert_int_equal(nnf_net_create(&net, 3), NNF_OK);
    assert_string_equal(nnf_net_errmsg(net), "");
    assert_int_equal(nnf_net_depth(net), 0);
    assert_int_equal(nnf_net_outputs(net), 0);
    assert_int_equal(nnf_net_add_dense(net, 5, NNF_ACT_LEAKY_RELU, &l1), NNF_OK);
    assert_int_equal(nnf_net_add_dense(net, 2, NNF_ACT_SIGMOID, &l2), NNF_OK);
    assert_int_equal(nnf_net_depth(net), 2);
    assert_int_equal(nnf_net_inputs(net), 3);
    assert_int_equal(nnf_net_outputs(net), 2);
    assert_ptr_equal(nnf_net_layer(net, 1), l1);
    assert_ptr_equal(nnf_net_layer(net, 2), l2);
    assert_null(nnf_net_layer(net, 0));
    assert_null(nnf_net_layer(net, 3));
    assert_int_equal(nnf_layer_inputs(l1), 3);
    assert_int_equal(nnf_layer_units(l1), 5);
    assert_int_equal(nnf_layer_inputs(l2), 5);
    assert_int_equal(nnf_layer_units(l2), 2);
    assert_int_equal(nnf_layer_act(l1), NNF_ACT_LEAKY_RELU);
    assert_int_equal(nnf_layer_act(l2), NNF_ACT_SIGMOID);

    float alpha;
    assert_int_equal(nnf_layer_get_slope(l1, &alpha), NNF_OK);
    assert_true(alpha == 0.01f);
    assert_int_equal(nnf_layer_set_slope(l1, 0.2f), NNF_OK);
    assert_int_equal(nnf_layer_get_slope(l1, &alpha), NNF_OK);
    assert_true(alpha == 0.2f);

    nnf_loss loss;
    double lr;
    assert_int_equal(nnf_net_get_loss(net, &loss), NNF_OK);
    assert_int_equal(loss, NNF_LOSS_BCE);
    assert_int_equal(nnf_net_set_loss(net, NNF_LOSS_MSE), NNF_OK);
    assert_int_equal(nnf_net_get_loss(net, &loss), NNF_OK);
    assert_int_equal(loss, NNF_LOSS_MSE);
    assert_int_equal(nnf_net_get_param(net, NNF_PARAM_LEARNING_RATE, &lr), NNF_OK);
    assert_true(lr == 0.01);
    assert_int_equal(nnf_net_set_param(net, NNF_PARAM_LEARNING_RATE, 0.5), NNF_OK);
    assert_int_equal(nnf_net_get_param(net, NNF_PARAM_LEARNING_RATE, &lr), NNF_OK);
    assert_true(lr == 0.5);
    nnf_net_destroy(net);
}

/* w[j][i] is unit j's weight for input i: a linear layer fed e_i outputs
 * column i of W plus b. */
static void test_weights_are_row_per_unit(void **state)
{
    (void)state;
    nnf_net *net;
    nnf_layer *ly;
    float w[3][4], b[3], back[3][4];
    float x[4][4] = {{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}};
    float y[4][3];
    assert_int_equal(nnf_net_create(&net, 4), NNF_OK);
    assert_int_equal(nnf_net_add_dense(net, 3, NNF_ACT_LINEAR, &ly), NNF_OK);
    for (int j = 0; j < 3; j++) {
        b[j] = 100.0f * (float)(j + 1);
        for (int i = 0; i < 4; i++)
            w[j][i] = (float)(10 * j + i);
    }
    assert_int_equal(nnf_layer_set_weights(ly, &w[0][0]), NNF_OK);
    assert_int_equal(nnf_layer_set_bias(ly, b), NNF_OK);
    assert_int_equal(nnf_layer_get_weights(ly, &back[0][0]), NNF_OK);
    assert_memory_equal(w, back, sizeof w);
    assert_int_equal(nnf_net_predict(net, &x[0][0], 4, &y[0][0]), NNF_OK);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 3; j++)
            assert_true(y[i][j] == w[j][i] + b[j]);
    nnf_net_destroy(net);
}

/* ---- initialization */

static const size_t units3[3] = {32, 16, 1};
static const nnf_act acts3[3] = {NNF_ACT_RELU, NNF_ACT_TANH, NNF_ACT_SIGMOID};
#define NPARAM (64 * 32 + 32 + 32 * 16 + 16 + 16 + 1)

static void test_same_seed_gives_bit_identical_weights(void **state)
{
    (void)state;
    static float a[PARAMS_MAX], b[PARAMS_MAX];
    const net_spec spec = {.inputs = 64, .depth = 3, .units = units3, .acts = acts3};
    nnf_net *n1 = net_build(&spec), *n2 = net_build(&spec);
    assert_int_equal(net_params(n1, a), NPARAM);
    assert_int_equal(net_params(n2, b), NPARAM);
    assert_memory_equal(a, b, NPARAM * sizeof(float));

    /* layers draw from their own streams: re-initializing a net that was
     * built (and trained) differently gives the same weights */
    nnf_net *n3;
    float x[64] = {0}, y[1] = {1};
    assert_int_equal(nnf_net_create(&n3, 64), NNF_OK);
    assert_int_equal(nnf_net_add_dense(n3, 32, NNF_ACT_RELU, NULL), NNF_OK);
    assert_int_equal(nnf_net_add_dense(n3, 16, NNF_ACT_TANH, NULL), NNF_OK);
    assert_int_equal(nnf_net_add_dense(n3, 1, NNF_ACT_SIGMOID, NULL), NNF_OK);
    assert_int_equal(nnf_net_train_step(n3, x, y, 1, NULL), NNF_OK);
    assert_int_equal(nnf_net_init(n3, NNF_INIT_DEFAULT, NNF_DEFAULT_SEED), NNF_OK);
    net_params(n3, b);
    assert_memory_equal(a, b, NPARAM * sizeof(float));

    assert_int_equal(nnf_net_init(n2, NNF_INIT_DEFAULT, 1), NNF_OK);
    net_params(n2, b);
    assert_memory_not_equal(a, b, NPARAM * sizeof(float));
    nnf_net_destroy(n1);
    nnf_net_destroy(n2);
    nnf_net_destroy(n3);
}

/* Standard deviation of the weights of a 256 x 512 layer under a scheme. */
static double weight_std(nnf_act act, nnf_init scheme, double *bias_abs)
{
    static float w[256 * 512];
    float b[256];
    nnf_net *net;
    nnf_layer *ly;
    assert_int_equal(nnf_net_create(&net, 512), NNF_OK);
    assert_int_equal(nnf_net_add_dense(net, 256, act, &ly), NNF_OK);
    assert_int_equal(nnf_net_init(net, scheme, 99), NNF_OK);
    assert_int_equal(nnf_layer_get_weights(ly, w), NNF_OK);
    assert_int_equal(nnf_layer_get_bias(ly, b), NNF_OK);
    double sum = 0, sq = 0;
    *bias_abs = 0;
    for (size_t i = 0; i < 256 * 512; i++) {
        sum += (double)w[i];
        sq += (double)w[i] * (double)w[i];
    }
    for (size_t i = 0; i < 256; i++)
        *bias_abs += fabs((double)b[i]);
    nnf_net_destroy(net);
    double n = 256.0 * 512.0, mean = sum / n;
    assert_true(fabs(mean) < 0.01 * sqrt(sq / n));
    return sqrt(sq / n - mean * mean);
}

static void test_init_schemes_have_their_documented_scale(void **state)
{
    (void)state;
    const double he = sqrt(2.0 / 512), xavier = sqrt(2.0 / 768);
    double babs;
    /* 131072 draws: the sample std is within 0.5% of the true one */
    assert_true(fabs(weight_std(NNF_ACT_RELU, NNF_INIT_HE, &babs) / he - 1) < 0.01);
    assert_true(babs == 0);
    assert_true(fabs(weight_std(NNF_ACT_TANH, NNF_INIT_XAVIER, &babs) / xavier - 1) < 0.01);
    assert_true(fabs(weight_std(NNF_ACT_TANH, NNF_INIT_SMALL_NORMAL, &babs) / 0.01 - 1) < 0.01);
    /* the default picks He for (leaky) ReLU and Xavier for the rest */
    assert_true(fabs(weight_std(NNF_ACT_LEAKY_RELU, NNF_INIT_DEFAULT, &babs) / he - 1) < 0.01);
    assert_true(fabs(weight_std(NNF_ACT_SIGMOID, NNF_INIT_DEFAULT, &babs) / xavier - 1) < 0.01);
}

/* ---- settings */

static void expect_param(nnf_net *net, nnf_param key, double want)
{
    double got = -12345.0;
    assert_ok(net, nnf_net_get_param(net, key, &got));
    if (memcmp(&got, &want, sizeof got) != 0)
        fail_msg("param %d: got %.17g, want %.17g", (int)key, got, want);
}

static void test_settings_have_the_documented_defaults(void **state)
{
    nnf_net *net = NULL;
    (void)state;
    assert_ok(net, nnf_net_create(&net, 2));
    expect_param(net, NNF_PARAM_OPTIMIZER, (double)NNF_OPT_SGD);
    expect_param(net, NNF_PARAM_LEARNING_RATE, 0.01);
    expect_param(net, NNF_PARAM_MOMENTUM, 0.9);
    expect_param(net, NNF_PARAM_ADAM_BETA1, 0.9);
    expect_param(net, NNF_PARAM_ADAM_BETA2, 0.999);
    expect_param(net, NNF_PARAM_ADAM_EPSILON, 1e-8);
    expect_param(net, NNF_PARAM_L2_PENALTY, 0.0);
    nnf_net_destroy(net);
}

/* Each setting reads back exactly what was set, the range ends included,
 * and setting one leaves the others alone. */
static void test_settings_read_back_exactly_and_independently(void **state)
{
    static const struct {
        nnf_param key;
        double value;
    } sets[] = {
        {NNF_PARAM_OPTIMIZER, 2.0},      {NNF_PARAM_MOMENTUM, 0.75},
        {NNF_PARAM_ADAM_BETA1, 0.8},     {NNF_PARAM_ADAM_BETA2, 0.99},
        {NNF_PARAM_ADAM_EPSILON, 1e-6},  {NNF_PARAM_L2_PENALTY, 0.3},
        {NNF_PARAM_OPTIMIZER, 1.0},      {NNF_PARAM_MOMENTUM, 0.0},
        {NNF_PARAM_ADAM_BETA1, 0.0},     {NNF_PARAM_ADAM_BETA2, 0.0},
        {NNF_PARAM_MOMENTUM, 0.999999},  {NNF_PARAM_ADAM_BETA2, 0.9999999},
        {NNF_PARAM_ADAM_EPSILON, 1e-30}, {NNF_PARAM_L2_PENALTY, 0.0},
        {NNF_PARAM_L2_PENALTY, 1e6},     {NNF_PARAM_OPTIMIZER, 0.0},
        {NNF_PARAM_ADAM_EPSILON, 0.5},   {NNF_PARAM_LEARNING_RATE, 0.125},
    };
    double want[7];
    nnf_net *net = NULL;
    (void)state;
    assert_ok(net, nnf_net_create(&net, 2));
    assert_ok(net, nnf_net_add_dense(net, 3, NNF_ACT_TANH, NULL));
    for (int k = 0; k < 7; k++)
        assert_ok(net, nnf_net_get_param(net, (nnf_param)k, &want[k]));
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++) {
        assert_ok(net, nnf_net_set_param(net, sets[i].key, sets[i].value));
        want[sets[i].key] = sets[i].value;
        for (int k = 0; k < 7; k++)
            expect_param(net, (nnf_param)k, want[k]);
    }
    nnf_net_destroy(net);
}

/* ---- clone */

/* A clone has the architecture, settings, slopes, parameters, seed and
 * optimizer state (with its step count) of the net, and no gradients; the
 * two then train alike, and training one leaves the other as it was. */
static void test_clone_copies_everything_but_the_gradients_and_is_independent(void **state)
{
    const size_t units[] = {5, 2};
    const nnf_act acts[] = {NNF_ACT_LEAKY_RELU, NNF_ACT_SIGMOID};
    float x[8 * 3], y[8 * 2];
    nnf_net *net = net_build(&(net_spec){
                .inputs = 3, .depth = 2, .units = units, .acts = acts, .lr = 0.05, .seed = 17}),
            *clone = NULL;
    snapshot before, copy;
    (void)state;
    make_data(x, y, 8, 3, 2, 0);
    assert_ok(net, nnf_layer_set_slope(nnf_net_layer(net, 1), 0.3f));
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_OPTIMIZER, NNF_OPT_ADAM));
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_L2_PENALTY, 0.1));
    for (int s = 0; s < 2; s++)
        assert_ok(net, nnf_net_train_step(net, x, y, 8, NULL));
    assert_ok(net, nnf_net_clone(net, &clone));
    assert_twins(net, clone, SNAP_STATE);
    snapshot_take(clone, &copy);
    assert_null(copy.grads);
    snapshot_free(&copy);

    /* the copied Adam state makes the next steps the same */
    assert_ok(net, nnf_net_train_step(net, x, y, 8, NULL));
    assert_ok(clone, nnf_net_train_step(clone, x, y, 8, NULL));
    assert_twins(net, clone, SNAP_GRADS | SNAP_STATE);

    snapshot_take(net, &before);
    assert_ok(clone, nnf_net_train_step(clone, x, y, 4, NULL));
    assert_ok(clone, nnf_net_set_param(clone, NNF_PARAM_LEARNING_RATE, 0.5));
    assert_ok(clone, nnf_net_add_dense(clone, 1, NNF_ACT_SIGMOID, NULL));
    assert_unchanged(net, &before, SNAP_GRADS | SNAP_STATE, "training the clone");
    snapshot_free(&before);
    nnf_net_destroy(clone);

    /* a net without layers clones too */
    nnf_net *empty = net_build(&(net_spec){.inputs = 4, .seed = 99});
    assert_ok(empty, nnf_net_clone(empty, &clone));
    assert_twins(empty, clone, SNAP_STATE);
    nnf_net_destroy(clone);
    nnf_net_destroy(empty);
    nnf_net_destroy(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_getters_describe_the_net),
        cmocka_unit_test(test_weights_are_row_per_unit),
        cmocka_unit_test(test_same_seed_gives_bit_identical_weights),
        cmocka_unit_test(test_init_schemes_have_their_documented_scale),
        cmocka_unit_test(test_settings_have_the_documented_defaults),
        cmocka_unit_test(test_settings_read_back_exactly_and_independently),
        cmocka_unit_test(test_clone_copies_everything_but_the_gradients_and_is_independent),
    };
    return cmocka_run_group_tests_name("net", tests, NULL, NULL);
}
