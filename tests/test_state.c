/* SPDX-License-Identifier: MIT */
/* test_state.c - black-box: one net's state given to another in place
 * (nnf_net_copy_state), and the failures that a library built on nnfast
 * reports on a net or a trainer (nnf_net_report, nnf_trainer_report). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "assert_ok.h"
#include "nets.h"
#include "snapshot.h"

#include <string.h>

#include "nnfast.h"

/* mixed_net's architecture, freshly initialized: every setting at its default. */
static nnf_net *mixed_twin(void)
{
    static const size_t units[] = {6, 5, 3};
    static const nnf_act acts[] = {NNF_ACT_LEAKY_RELU, NNF_ACT_RELU, NNF_ACT_SOFTMAX};
    return net_build(&(net_spec){
        .inputs = 4, .depth = 3, .units = units, .acts = acts, .init = NNF_INIT_HE, .seed = 5});
}

static void test_copy_state_makes_twins_that_train_alike(void **state)
{
    (void)state;
    nnf_net *src = mixed_net(), *dst = mixed_twin();
    static const float mean[4] = {0.1f, -0.2f, 0.3f, 0.0f}, sd[4] = {1.0f, 2.0f, 0.5f, 1.0f};
    assert_ok(src, nnf_net_set_input_scaling(src, mean, sd));
    assert_ok(src, nnf_layer_set_dropout(nnf_net_layer(src, 2), 0.25f));
    assert_ok(dst, nnf_net_copy_state(dst, src));
    assert_string_equal(nnf_net_errmsg(dst), "");
    assert_twins(dst, src, SNAP_STATE);
    float rate = 0.0f;
    assert_ok(dst, nnf_layer_get_dropout(nnf_net_layer(dst, 2), &rate));
    assert_true(rate == 0.25f);
    assert_int_equal(nnf_net_epochs(dst), nnf_net_epochs(src));
    /* the same state trains to the same bits */
    train_steps(src, 2);
    train_steps(dst, 2);
    assert_twins(dst, src, SNAP_STATE);
    /* a net without optimizer state given to one with it: none is left */
    nnf_net *plain = mixed_twin();
    assert_ok(src, nnf_net_copy_state(src, plain));
    assert_twins(src, plain, SNAP_STATE);
    assert_ok(src, nnf_net_copy_state(src, src)); /* itself: nothing */
    assert_twins(src, plain, SNAP_STATE);
    nnf_net_destroy(plain);
    nnf_net_destroy(src);
    nnf_net_destroy(dst);
}

static void test_copy_state_refuses_another_architecture(void **state)
{
    (void)state;
    static const size_t units[] = {6, 4, 3};
    static const nnf_act acts[] = {NNF_ACT_LEAKY_RELU, NNF_ACT_RELU, NNF_ACT_SOFTMAX};
    static const nnf_act other_acts[] = {NNF_ACT_TANH, NNF_ACT_RELU, NNF_ACT_SOFTMAX};
    nnf_net *src = mixed_net();
    nnf_net *narrower =
        net_build(&(net_spec){.inputs = 4, .depth = 3, .units = units, .acts = acts});
    nnf_net *other = net_build(&(
        net_spec){.inputs = 4, .depth = 3, .units = (const size_t[]){6, 5, 3}, .acts = other_acts});
    nnf_net *wider_in = net_build(
        &(net_spec){.inputs = 5, .depth = 3, .units = (const size_t[]){6, 5, 3}, .acts = acts});
    nnf_net *dsts[] = {narrower, other, wider_in};
    for (size_t k = 0; k < 3; k++) {
        snapshot before;
        snapshot_take(dsts[k], &before);
        assert_int_equal(nnf_net_copy_state(dsts[k], src), NNF_ERR_STATE);
        const char *msg = nnf_net_errmsg(dsts[k]);
        assert_true(strncmp(msg, "nnf_net_copy_state: ", 20) == 0);
        assert_non_null(strstr(msg, "expected the same architecture"));
        assert_unchanged(dsts[k], &before, SNAP_STATE, "nnf_net_copy_state");
        snapshot_free(&before);
        nnf_net_destroy(dsts[k]);
    }
    assert_int_equal(nnf_net_copy_state(NULL, src), NNF_ERR_ARG);
    assert_int_equal(nnf_net_copy_state(src, NULL), NNF_ERR_ARG);
    assert_string_equal(nnf_net_errmsg(src), "nnf_net_copy_state: src is NULL");
    nnf_net_destroy(src);
}

static void test_copy_state_refuses_a_net_with_contexts(void **state)
{
    (void)state;
    nnf_net *src = mixed_net(), *dst = mixed_twin();
    nnf_ctx *ctx = NULL;
    assert_ok(dst, nnf_ctx_create(dst, 4, &ctx));
    snapshot before;
    snapshot_take(dst, &before);
    assert_int_equal(nnf_net_copy_state(dst, src), NNF_ERR_STATE);
    assert_true(strncmp(nnf_net_errmsg(dst), "nnf_net_copy_state: ", 20) == 0);
    assert_unchanged(dst, &before, SNAP_STATE, "nnf_net_copy_state");
    snapshot_free(&before);
    nnf_ctx_destroy(ctx);
    nnf_net_destroy(src);
    nnf_net_destroy(dst);
}

static void test_report_words_a_failure_on_a_net(void **state)
{
    (void)state;
    nnf_net *net = mixed_twin();
    snapshot before;
    snapshot_take(net, &before);
    assert_int_equal(nnf_net_report(net, NNF_ERR_NUMERIC, "mylib_step: rank 1: x is nan"),
                     NNF_ERR_NUMERIC);
    assert_string_equal(nnf_net_errmsg(net), "mylib_step: rank 1: x is nan");
    assert_unchanged(net, &before, SNAP_STATE | SNAP_GRADS, "nnf_net_report");
    assert_int_equal(nnf_net_report(net, NNF_OK, "x"), NNF_ERR_ARG);
    assert_true(strncmp(nnf_net_errmsg(net), "nnf_net_report: status is 0", 27) == 0);
    assert_int_equal(nnf_net_report(net, (nnf_status)99, "x"), NNF_ERR_ARG);
    assert_int_equal(nnf_net_report(net, NNF_ERR_IO, NULL), NNF_ERR_ARG);
    assert_string_equal(nnf_net_errmsg(net), "nnf_net_report: msg is NULL");
    assert_int_equal(nnf_net_report(NULL, NNF_ERR_IO, "x"), NNF_ERR_ARG);
    snapshot_free(&before);
    nnf_net_destroy(net);
}

static void test_report_words_a_failure_on_a_trainer(void **state)
{
    (void)state;
    nnf_trainer *t = NULL;
    assert_int_equal(nnf_trainer_create(&t), NNF_OK);
    assert_int_equal(nnf_trainer_report(t, NNF_ERR_STATE, "mylib_run: rank 2: no"), NNF_ERR_STATE);
    assert_string_equal(nnf_trainer_errmsg(t), "mylib_run: rank 2: no");
    assert_int_equal(nnf_trainer_report(t, NNF_OK, "x"), NNF_ERR_ARG);
    assert_true(strncmp(nnf_trainer_errmsg(t), "nnf_trainer_report: status is 0", 31) == 0);
    assert_int_equal(nnf_trainer_report(t, NNF_ERR_IO, NULL), NNF_ERR_ARG);
    assert_string_equal(nnf_trainer_errmsg(t), "nnf_trainer_report: msg is NULL");
    assert_int_equal(nnf_trainer_report(NULL, NNF_ERR_IO, "x"), NNF_ERR_ARG);
    nnf_trainer_destroy(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_copy_state_makes_twins_that_train_alike),
        cmocka_unit_test(test_copy_state_refuses_another_architecture),
        cmocka_unit_test(test_copy_state_refuses_a_net_with_contexts),
        cmocka_unit_test(test_report_words_a_failure_on_a_net),
        cmocka_unit_test(test_report_words_a_failure_on_a_trainer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
