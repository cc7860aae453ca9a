/* test_alloc.c - the allocator hook: every allocation goes through it, a
 * train step or a prediction at an unchanged (or smaller) batch size
 * allocates nothing, and a failed allocation loses nothing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "nnfast.h"
#include "count_alloc.h"
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

/* Fail allocation k = 1, 2, ... of each call until it succeeds: each
 * failure is NNF_ERR_NOMEM, leaks nothing and changes no parameter. */
static void test_every_failed_allocation_is_nomem_and_loses_nothing(void **state)
{
    (void)state;
    float x[M * N0], y[M], before[PARAMS_MAX], after[PARAMS_MAX];
    make_data(x, y, M, N0, 1, 0);

    for (long k = 1;; k++) { /* nnf_net_create */
        memset(&g_count, 0, sizeof g_count);
        g_count.fail_at = k;
        nnf_net *net = (nnf_net *)&g_count; /* must be reset to NULL on failure */
        nnf_status st = nnf_net_create(&net, N0);
        if (st == NNF_OK) {
            nnf_net_destroy(net);
            break;
        }
        assert_int_equal(st, NNF_ERR_NOMEM);
        assert_null(net);
        assert_int_equal(g_count.live, 0);
    }

    int points = 0;
    for (long k = 1;; k++) { /* nnf_net_add_dense, on a net with a layer */
        memset(&g_count, 0, sizeof g_count);
        nnf_net *net = NULL;
        assert_int_equal(nnf_net_create(&net, N0), NNF_OK);
        assert_int_equal(nnf_net_add_dense(net, 8, NNF_ACT_RELU, NULL), NNF_OK);
        size_t n = net_params(net, before);
        g_count.fail_at = g_count.allocs + k;
        long live = g_count.live;
        nnf_status st = nnf_net_add_dense(net, 1, NNF_ACT_SIGMOID, NULL);
        if (st == NNF_OK) {
            nnf_net_destroy(net);
            break;
        }
        points++;
        assert_int_equal(st, NNF_ERR_NOMEM);
        assert_int_equal(g_count.live, live);
        assert_int_equal(nnf_net_depth(net), 1);
        assert_int_equal(net_params(net, after), n);
        assert_memory_equal(before, after, n * sizeof(float));
        g_count.fail_at = 0;
        assert_int_equal(nnf_net_add_dense(net, 1, NNF_ACT_SIGMOID, NULL), NNF_OK);
        nnf_net_destroy(net);
        assert_int_equal(g_count.live, 0);
    }
    assert_true(points >= 3);

    points = 0;
    for (long k = 1;; k++) { /* the first train step, then the first forward */
        memset(&g_count, 0, sizeof g_count);
        nnf_net *net = net_build(&g_spec);
        size_t n = net_params(net, before);
        g_count.fail_at = g_count.allocs + k;
        nnf_status st = nnf_net_train_step(net, x, y, M, NULL);
        if (st == NNF_OK)
            st = nnf_net_forward(net, x, M, NULL);
        if (st == NNF_OK) {
            nnf_net_destroy(net);
            break;
        }
        points++;
        assert_int_equal(st, NNF_ERR_NOMEM);
        assert_true(strstr(nnf_net_errmsg(net), "allocate") != NULL);
        net_params(net, after);
        if (k == 1) /* the step itself failed: no parameter moved */
            assert_memory_equal(before, after, n * sizeof(float));
        g_count.fail_at = 0;
        assert_int_equal(nnf_net_train_step(net, x, y, M, NULL), NNF_OK);
        nnf_net_destroy(net);
        assert_int_equal(g_count.live, 0);
    }
    assert_int_equal(points, 2);
}

static void test_allocator_needs_both_functions(void **state)
{
    (void)state;
    assert_int_equal(nnf_set_allocator(count_alloc, NULL, NULL), NNF_ERR_ARG);
    assert_int_equal(nnf_set_allocator(NULL, count_free, NULL), NNF_ERR_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hook_sees_every_allocation_and_destroy_frees_all, count_alloc_install, count_alloc_remove),
        cmocka_unit_test_setup_teardown(test_train_step_at_unchanged_m_allocates_nothing, count_alloc_install, count_alloc_remove),
        cmocka_unit_test_setup_teardown(test_forward_backward_update_at_unchanged_m_allocate_nothing, count_alloc_install, count_alloc_remove),
        cmocka_unit_test_setup_teardown(test_prediction_at_unchanged_m_allocates_nothing, count_alloc_install, count_alloc_remove),
        cmocka_unit_test_setup_teardown(test_every_failed_allocation_is_nomem_and_loses_nothing, count_alloc_install, count_alloc_remove),
        cmocka_unit_test_setup_teardown(test_allocator_needs_both_functions, count_alloc_install, count_alloc_remove),
    };
    return cmocka_run_group_tests_name("alloc", tests, NULL, NULL);
}
