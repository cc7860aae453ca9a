/* SPDX-License-Identifier: MIT */
/* test_reproducible.c - black-box: training gives the same bits whatever
 * the thread count, on every shape of nnfast-bench's suite (at small
 * batches): products are cut into blocks by their shapes alone, and every
 * other pass is elementwise or reduced in a fixed order. Run under
 * ThreadSanitizer too (label `threads`), where nnfast's own threads are
 * the ones under test. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "assert_ok.h"
#include "nnfast.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct suite_shape {
    const char *name;
    size_t n[5], depth, m;
    nnf_act hidden, output;
    nnf_loss loss;
    nnf_optimizer opt;
} suite_shape;

/* nnfast-bench's suite, at small batches (the products of the large ones
 * still run as several blocks). */
static const suite_shape g_suite[] = {
    {"planar", {2, 4, 1}, 2, 400, NNF_ACT_TANH, NNF_ACT_SIGMOID, NNF_LOSS_BCE, NNF_OPT_SGD},
    {"cat2", {12288, 7, 1}, 2, 24, NNF_ACT_RELU, NNF_ACT_SIGMOID, NNF_LOSS_BCE, NNF_OPT_SGD},
    {"catL", {12288, 20, 7, 5, 1}, 4, 24, NNF_ACT_RELU, NNF_ACT_SIGMOID, NNF_LOSS_BCE, NNF_OPT_SGD},
    {"mlp-med",
     {784, 256, 128, 1},
     3,
     32,
     NNF_ACT_RELU,
     NNF_ACT_SIGMOID,
     NNF_LOSS_BCE,
     NNF_OPT_SGD},
    {"mlp-wide",
     {1024, 1024, 1024, 1},
     3,
     16,
     NNF_ACT_RELU,
     NNF_ACT_SIGMOID,
     NNF_LOSS_BCE,
     NNF_OPT_MOMENTUM},
    {"big", {4096, 4096, 4096, 1}, 3, 2, NNF_ACT_RELU, NNF_ACT_SIGMOID, NNF_LOSS_BCE, NNF_OPT_SGD},
    {"digits-adam",
     {784, 256, 128, 10},
     3,
     32,
     NNF_ACT_RELU,
     NNF_ACT_SOFTMAX,
     NNF_LOSS_CROSS_ENTROPY,
     NNF_OPT_ADAM},
};

static nnf_net *suite_net(const suite_shape *c)
{
    nnf_net *net = NULL;
    assert_int_equal(nnf_net_create(&net, c->n[0]), NNF_OK);
    for (size_t l = 1; l <= c->depth; l++)
        assert_ok(net,
                  nnf_net_add_dense(net, c->n[l], l == c->depth ? c->output : c->hidden, NULL));
    assert_ok(net, nnf_net_set_loss(net, c->loss));
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_OPTIMIZER, (double)c->opt));
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_L2_PENALTY, 0.01));
    assert_ok(net, nnf_net_init(net, NNF_INIT_DEFAULT, 5));
    return net;
}

/* Train a net of shape c with `threads` threads: two full-batch steps, then
 * an epoch of shuffled mini-batches; its saved bytes. */
static unsigned char *train_with(const suite_shape *c, const nnf_net *base, int threads,
                                 const float *x, const float *y, size_t *size)
{
    nnf_net *net = NULL;
    assert_ok(base, nnf_net_clone(base, &net)); /* drawing 34 M weights again would take seconds */
    assert_int_equal(nnf_set_threads(threads), NNF_OK);
    for (int s = 0; s < 2; s++)
        assert_ok(net, nnf_net_train_step(net, x, y, c->m, NULL));
    assert_ok(net, nnf_net_train(net, x, y, c->m, c->m / 3 + 1, 1, 1, 11, NULL, NULL, NULL));
    assert_int_equal(nnf_set_threads(1), NNF_OK);
    assert_ok(net, nnf_net_saved_size(net, NNF_SAVE_OPTIMIZER_STATE, size));
    unsigned char *bytes = malloc(*size);
    assert_non_null(bytes);
    assert_ok(net, nnf_net_save_mem(net, bytes, *size, NNF_SAVE_OPTIMIZER_STATE, NULL));
    nnf_net_destroy(net);
    return bytes;
}

/* The products are cut into blocks by their shapes alone, and every other
 * pass is elementwise or reduced in a fixed order: training with 1, 2 or 3
 * threads gives bit-identical parameters and optimizer state. */
static void test_training_gives_the_same_bits_at_any_thread_count(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof g_suite / sizeof g_suite[0]; k++) {
        const suite_shape *c = &g_suite[k];
        size_t nx = c->n[0] * c->m, ny = c->n[c->depth] * c->m;
        float *x = malloc(nx * sizeof(float)), *y = calloc(ny, sizeof(float));
        assert_true(x && y);
        for (size_t i = 0; i < nx; i++)
            x[i] = (float)((int)((i * 2654435761u) % 2001) - 1000) / 1000.0f;
        for (size_t s = 0; s < c->m; s++) /* one-hot rows, or labels 0 and 1 */
            y[s * c->n[c->depth] + (c->n[c->depth] > 1 ? s % c->n[c->depth] : 0)] =
                c->n[c->depth] > 1 || s % 3 ? 1.0f : 0.0f;
        size_t size1, size2, size3;
        nnf_net *base = suite_net(c);
        unsigned char *one = train_with(c, base, 1, x, y, &size1);
        unsigned char *two = train_with(c, base, 2, x, y, &size2);
        /* three threads too, but for the net of 34 M parameters (time) */
        unsigned char *three = c->n[1] < 4096 ? train_with(c, base, 3, x, y, &size3) : NULL;
        if (!three) {
            three = malloc(size1);
            assert_non_null(three);
            memcpy(three, two, size1);
            size3 = size2;
        }
        assert_int_equal(size1, size2);
        assert_int_equal(size1, size3);
        if (memcmp(one, two, size1) != 0 || memcmp(one, three, size1) != 0)
            fail_msg("%s: training at 1, 2 and 3 threads gave different bits", c->name);
        nnf_net_destroy(base);
        free(one);
        free(two);
        free(three);
        free(x);
        free(y);
    }
}

/* NNF_PLAN_FASTEST runs each product as one call at one thread: results
 * within float rounding of the reproducible plan's (mlp-med's shapes, whose
 * products are cut into blocks in the reproducible plan on a machine of two
 * cores or more). */
static void test_the_fastest_plan_trains_the_same_net_to_rounding(void **state)
{
    (void)state;
    const suite_shape *c = &g_suite[3];
    size_t nx = c->n[0] * c->m, ny = c->n[c->depth] * c->m;
    float *x = malloc(nx * sizeof(float)), *y = calloc(ny, sizeof(float));
    assert_true(x && y);
    for (size_t i = 0; i < nx; i++)
        x[i] = (float)((int)((i * 2654435761u) % 2001) - 1000) / 1000.0f;
    for (size_t s = 0; s < c->m; s += 3)
        y[s] = 1.0f;
    nnf_net *base = suite_net(c), *a = NULL, *b = NULL;
    assert_ok(base, nnf_net_clone(base, &a));
    assert_ok(base, nnf_net_clone(base, &b));
    assert_int_equal(nnf_set_threads(1), NNF_OK);
    for (int s = 0; s < 5; s++)
        assert_ok(a, nnf_net_train_step(a, x, y, c->m, NULL));
    assert_int_equal(nnf_set_plan_mode(NNF_PLAN_FASTEST), NNF_OK);
    for (int s = 0; s < 5; s++)
        assert_ok(b, nnf_net_train_step(b, x, y, c->m, NULL));
    assert_int_equal(nnf_set_plan_mode(NNF_PLAN_REPRODUCIBLE), NNF_OK);
    static float wa[784 * 256], wb[784 * 256];
    for (size_t l = 1; l <= c->depth; l++) {
        size_t n = c->n[l] * c->n[l - 1];
        assert_ok(a, nnf_layer_get_weights(nnf_net_layer(a, l), wa));
        assert_ok(b, nnf_layer_get_weights(nnf_net_layer(b, l), wb));
        double worst = 0.0, big = 0.0;
        for (size_t i = 0; i < n; i++) {
            double d = fabs((double)wa[i] - (double)wb[i]), v = fabs((double)wa[i]);
            worst = d > worst ? d : worst;
            big = v > big ? v : big;
        }
        if (worst > 1e-5 * big)
            fail_msg("layer %zu: the fastest plan's weights differ by %g (largest %g)", l, worst,
                     big);
    }
    nnf_net_destroy(a);
    nnf_net_destroy(b);
    nnf_net_destroy(base);
    free(x);
    free(y);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_training_gives_the_same_bits_at_any_thread_count),
        cmocka_unit_test(test_the_fastest_plan_trains_the_same_net_to_rounding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
