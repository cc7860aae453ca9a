/* test_api.c - black box: version, status texts, getters and setters, the
 * weight layout, and seeded initialization. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "nnfast.h"
#include "nets.h"
#include "params.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static void test_version_matches_header(void **state)
{
    (void)state;
    char want[32];
    assert_int_equal(nnf_version_number(), NNF_VERSION_NUMBER);
    assert_int_equal(NNF_VERSION_NUMBER,
                     NNF_VERSION_MAJOR * 10000 + NNF_VERSION_MINOR * 100 + NNF_VERSION_PATCH);
    snprintf(want, sizeof want, "%d.%d.%d", NNF_VERSION_MAJOR, NNF_VERSION_MINOR, NNF_VERSION_PATCH);
    assert_string_equal(nnf_version_string(), want);
}

static void test_every_status_has_its_own_text(void **state)
{
    (void)state;
    for (int a = 0; a <= 7; a++) {
        assert_non_null(nnf_status_str((nnf_status)a));
        for (int b = 0; b < a; b++)
            assert_string_not_equal(nnf_status_str((nnf_status)a), nnf_status_str((nnf_status)b));
    }
    assert_string_equal(nnf_status_str((nnf_status)42), "unknown status");
}

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
    float w[3][4], b[3], back[3][4], x[4][4] = {{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}};
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
    double babs;
    /* 131072 draws: the sample std is within 0.5% of the true one */
    assert_true(fabs(weight_std(NNF_ACT_RELU, NNF_INIT_HE, &babs) / sqrt(2.0 / 512) - 1) < 0.01);
    assert_true(babs == 0);
    assert_true(fabs(weight_std(NNF_ACT_TANH, NNF_INIT_XAVIER, &babs) / sqrt(2.0 / 768) - 1) < 0.01);
    assert_true(fabs(weight_std(NNF_ACT_TANH, NNF_INIT_SMALL_NORMAL, &babs) / 0.01 - 1) < 0.01);
    /* the default picks He for (leaky) ReLU and Xavier for the rest */
    assert_true(fabs(weight_std(NNF_ACT_LEAKY_RELU, NNF_INIT_DEFAULT, &babs) / sqrt(2.0 / 512) - 1) < 0.01);
    assert_true(fabs(weight_std(NNF_ACT_SIGMOID, NNF_INIT_DEFAULT, &babs) / sqrt(2.0 / 768) - 1) < 0.01);
}

static void test_thread_count_is_settable(void **state)
{
    (void)state;
    int before = nnf_get_threads();
    assert_true(before >= 1);
    assert_int_equal(nnf_set_threads(0), NNF_ERR_ARG);
    assert_int_equal(nnf_set_threads(-3), NNF_ERR_ARG);
    assert_int_equal(nnf_get_threads(), before);
    assert_int_equal(nnf_set_threads(1), NNF_OK);
    assert_int_equal(nnf_get_threads(), 1);
    assert_int_equal(nnf_set_threads(before), NNF_OK);
}

static void test_errmsg_keeps_the_last_failure(void **state)
{
    (void)state;
    nnf_net *net;
    assert_int_equal(nnf_net_create(&net, 2), NNF_OK);
    assert_int_equal(nnf_net_set_param(net, NNF_PARAM_LEARNING_RATE, -1.0), NNF_ERR_ARG);
    assert_non_null(strstr(nnf_net_errmsg(net), "learning rate"));
    assert_int_equal(nnf_net_set_param(net, NNF_PARAM_LEARNING_RATE, 1.0), NNF_OK);
    assert_non_null(strstr(nnf_net_errmsg(net), "learning rate"));
    nnf_net_destroy(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version_matches_header),
        cmocka_unit_test(test_every_status_has_its_own_text),
        cmocka_unit_test(test_getters_describe_the_net),
        cmocka_unit_test(test_weights_are_row_per_unit),
        cmocka_unit_test(test_same_seed_gives_bit_identical_weights),
        cmocka_unit_test(test_init_schemes_have_their_documented_scale),
        cmocka_unit_test(test_thread_count_is_settable),
        cmocka_unit_test(test_errmsg_keeps_the_last_failure),
    };
    return cmocka_run_group_tests_name("api", tests, NULL, NULL);
}
