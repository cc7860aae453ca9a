/* SPDX-License-Identifier: MIT */
/*
 * test_errors.c - black-box: every bad input of every public call of
 * nnfast.h, in one place. Each gives its documented status and leaves a
 * message of its own on the net (in the error buffer, for the loaders)
 * that names the argument, and changes nothing: every weight, bias,
 * gradient, setting, optimizer state and seed is bit-identical to before,
 * and the net goes on working. Also the calls whose computation goes
 * non-finite, and the message's own rules. (Allocation failures are in
 * test_oom.c; malformed saved data in test_serialize.c.)
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "assert_ok.h"
#include "count_alloc.h"
#include "nets.h"
#include "snapshot.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nnfast.h"

/* ---- data: a batch of M samples of N_IN features, N_OUT outputs */

#define M     5
#define N_IN  3
#define N_HID 4
#define N_OUT 2

static const float X[M][N_IN] = {{0.5f, -1.0f, 0.25f},
                                 {-0.75f, 0.5f, 1.0f},
                                 {1.5f, 0.25f, -0.5f},
                                 {0.0f, -0.25f, 0.75f},
                                 {-1.25f, 1.0f, -1.0f}};
static const float Y[M][N_OUT] = {{1, 0}, {0, 1}, {1, 1}, {0, 0}, {1, 0}};

/* ---- what a failed call must leave as it was (snapshot.h): everything,
 * gradients included unless the call is documented to drop them */

#define EVERYTHING (SNAP_GRADS | SNAP_STATE)
#define MAX_W      64
#define MAX_U      8

/* ---- checking a failure
 *
 * A failed call gives its status, a message of its own that starts with
 * the call's name and ": " (the name is the stringified call up to its
 * '(') and holds every key, and changes nothing. The checks describe the
 * first problem rather than fail at once, so that the snapshot taken
 * before the call is freed on every path. */

/* Make the net's message a known one (a failed nnf_net_set_loss, itself
 * a change-nothing failure), so a call that fails without writing its own
 * message cannot pass on a stale one. */
static void prime(nnf_net *net, char *buf, size_t size)
{
    assert_int_equal(nnf_net_set_loss(net, (nnf_loss)77), NNF_ERR_ARG);
    snprintf(buf, size, "%s", nnf_net_errmsg(net));
    assert_non_null(strstr(buf, "77"));
}

/* The called function of call, the text of a call expression: its first
 * identifier (after any '('), of length *len. */
static const char *called_name(const char *call, size_t *len)
{
    while (*call == '(' || *call == ' ')
        call++;
    *len = strcspn(call, "( ");
    return call;
}

/* 1, with why, when msg does not start with "<name>: " (name: the called
 * function of call, or fn when not NULL). */
static int lacks_prefix(const char *call, const char *fn, const char *msg, char *why, size_t size)
{
    size_t len = fn ? strlen(fn) : 0;
    const char *name = fn ? fn : called_name(call, &len);
    if (strncmp(msg, name, len) == 0 && msg[len] == ':' && msg[len + 1] == ' ')
        return 0;
    snprintf(why, size, "%s: message \"%s\" does not start with \"%.*s: \"", call, msg, (int)len,
             name);
    return 1;
}

/* 1, with why, when msg lacks one of keys (NULL-terminated). */
static int lacks_key(const char *call, const char *msg, const char *const *keys, char *why,
                     size_t size)
{
    for (; *keys; keys++)
        if (!strstr(msg, *keys)) {
            snprintf(why, size, "%s: message \"%s\" does not contain \"%s\"", call, msg, *keys);
            return 1;
        }
    return 0;
}

/* The first problem of a failed call on net (0: none), described in why. */
static int failure_problem(const nnf_net *net, const char *call, const char *fn, nnf_status got,
                           nnf_status want, const char *primed, const char *const *keys, char *why,
                           size_t size)
{
    const char *msg = nnf_net_errmsg(net);
    if (got != want) {
        snprintf(why, size, "%s returned %s, expected %s (message: \"%s\")", call,
                 nnf_status_str(got), nnf_status_str(want), msg);
        return 1;
    }
    if (msg == NULL || msg[0] == '\0' || strcmp(msg, primed) == 0) {
        snprintf(why, size, "%s left no message of its own (message: \"%s\")", call,
                 msg ? msg : "(null)");
        return 1;
    }
    return lacks_key(call, msg, keys, why, size) || lacks_prefix(call, fn, msg, why, size);
}

/* Fail the test if there was a problem, or if net is not as before (when
 * before is not NULL: in all that flags ask for); frees before. */
static void finish(nnf_net *net, snapshot *before, unsigned flags, int line, const char *call,
                   int problem, char *why, size_t size)
{
    if (!problem && before) {
        snapshot after;
        char diff[256];
        snapshot_take(net, &after);
        problem = snapshot_differ(before, &after, flags, diff, sizeof diff);
        snapshot_free(&after);
        if (problem)
            snprintf(why, size, "%s failed but changed the net: %s", call, diff);
    }
    if (before)
        snapshot_free(before);
    if (problem)
        fail_msg("line %d: %s", line, why);
}

/* The core of the checks: call, whose text is text (stringified by the
 * outermost macro, before NULL and friends expand), fails as described
 * above; fn names the called function when call is a helper's (NULL: the
 * one in text). With before not NULL the net must be as before in all
 * that flags ask for. */
#define CHECK_FAIL(text, before, flags, fn, net, want, call, ...)                         \
    do {                                                                                  \
        char primed_[256], why_[768];                                                     \
        prime((net), primed_, sizeof primed_);                                            \
        nnf_status got_ = (call);                                                         \
        int problem_ =                                                                    \
            failure_problem((net), (text), (fn), got_, (want), primed_,                   \
                            (const char *const[]){__VA_ARGS__, NULL}, why_, sizeof why_); \
        finish((net), (before), (flags), __LINE__, (text), problem_, why_, sizeof why_);  \
    } while (0)

#define CHECK_FAIL_KEEPING(text, fn, with_grads, net, want, call, ...)                          \
    do {                                                                                        \
        snapshot before_;                                                                       \
        snapshot_take((net), &before_);                                                         \
        CHECK_FAIL(text, &before_, (with_grads) ? EVERYTHING : SNAP_STATE, fn, net, want, call, \
                   __VA_ARGS__);                                                                \
    } while (0)

/* call fails with status want and a message containing every key. */
#define EXPECT_FAIL(net, want, call, ...) \
    CHECK_FAIL(#call, NULL, 0, NULL, net, want, call, __VA_ARGS__)

/* ... and the net is bit-identical afterwards: everything, or (with_grads
 * 0, for the calls documented to drop them) everything but the gradients. */
#define EXPECT_FAIL_KEEPING(with_grads, net, want, call, ...) \
    CHECK_FAIL_KEEPING(#call, NULL, with_grads, net, want, call, __VA_ARGS__)

#define EXPECT_FAIL_UNCHANGED(net, want, call, ...) \
    CHECK_FAIL_KEEPING(#call, NULL, 1, net, want, call, __VA_ARGS__)

/* The same for a call through a helper that runs the public call fn. */
#define EXPECT_FAIL_UNCHANGED_AS(fn, net, want, call, ...) \
    CHECK_FAIL_KEEPING(#call, fn, 1, net, want, call, __VA_ARGS__)

/* A loader fails with status want and an error buffer err (a char array)
 * holding a message of its own with every key, that starts with the
 * loader's name (the buffer is primed first, as the net's message is),
 * and leaves no block allocated. */
#define PRIMED_ERR "primed: not the loader's message"
#define NO_KEYS    NULL /* a message is due, but no wording is promised */

static void check_load_failure(const char *call, nnf_status got, nnf_status want, const char *err,
                               long live, const char *const *keys)
{
    char why[768];
    if (got != want)
        fail_msg("%s returned %s, expected %s (error buffer: \"%s\")", call, nnf_status_str(got),
                 nnf_status_str(want), err);
    if (strcmp(err, PRIMED_ERR) == 0)
        fail_msg("%s did not write the error buffer", call);
    if (g_count.live != live)
        fail_msg("%s failed and kept %ld blocks", call, g_count.live - live);
    if (lacks_key(call, err, keys, why, sizeof why) ||
        lacks_prefix(call, NULL, err, why, sizeof why))
        fail_msg("%s", why);
}

#define EXPECT_LOAD_FAIL(err, want, call, ...)                        \
    do {                                                              \
        long live_ = g_count.live;                                    \
        snprintf((err), sizeof(err), "%s", PRIMED_ERR);               \
        nnf_status got_ = (call);                                     \
        check_load_failure(#call, got_, (want), (err), live_,         \
                           (const char *const[]){__VA_ARGS__, NULL}); \
    } while (0)

/* ---- nets */

/* The nets of the running test. A check that fails leaves the test by a
 * longjmp, past its drop() calls: the teardown destroys what is left, so
 * that under ASan a failed test leaks nothing and LeakSanitizer speaks of
 * the library only. */
#define MAX_KEPT 8
static nnf_net *g_kept[MAX_KEPT];

static nnf_net *keep(nnf_net *net)
{
    for (size_t i = 0; i < MAX_KEPT; i++)
        if (!g_kept[i]) {
            g_kept[i] = net;
            return net;
        }
    fail_msg("more than %d nets in one test", MAX_KEPT);
    return net;
}

/* nnf_net_destroy, for kept nets and others. */
static void drop(nnf_net *net)
{
    for (size_t i = 0; i < MAX_KEPT; i++)
        if (g_kept[i] == net)
            g_kept[i] = NULL;
    nnf_net_destroy(net);
}

static int drop_kept(void **state)
{
    (void)state;
    for (size_t i = 0; i < MAX_KEPT; i++) {
        nnf_net_destroy(g_kept[i]);
        g_kept[i] = NULL;
    }
    return 0;
}

/* The nets of these tests: learning rate 0.25, weights from seed 42. */
static nnf_net *new_net(size_t n_in, size_t depth, const size_t *units, const nnf_act *acts,
                        nnf_loss loss)
{
    return keep(net_build(&(net_spec){.inputs = n_in,
                                      .depth = depth,
                                      .units = units,
                                      .acts = acts,
                                      .loss = loss,
                                      .lr = 0.25,
                                      .seed = 42}));
}

/* N_IN -> N_HID leaky ReLU (slope 0.2) -> N_OUT act_out, with non-zero
 * biases so that a change to them shows. */
static nnf_net *net_with_output(nnf_act act_out, nnf_loss loss)
{
    const size_t units[] = {N_HID, N_OUT};
    const nnf_act acts[] = {NNF_ACT_LEAKY_RELU, act_out};
    const float b1[N_HID] = {0.1f, -0.2f, 0.3f, -0.4f}, b2[N_OUT] = {0.05f, -0.05f};
    nnf_net *net = new_net(N_IN, 2, units, acts, loss);
    assert_ok(net, nnf_layer_set_slope(nnf_net_layer(net, 1), 0.2f));
    assert_ok(net, nnf_layer_set_bias(nnf_net_layer(net, 1), b1));
    assert_ok(net, nnf_layer_set_bias(nnf_net_layer(net, 2), b2));
    return net;
}

/* The standard net of these tests: sigmoid output, BCE. */
static nnf_net *std_net(void)
{
    return net_with_output(NNF_ACT_SIGMOID, NNF_LOSS_BCE);
}

/* The standard net after one train step: it holds applied gradients. */
static nnf_net *trained_net(void)
{
    nnf_net *net = std_net();
    assert_ok(net, nnf_net_train_step(net, &X[0][0], &Y[0][0], M, NULL));
    return net;
}

/* 1 input -> 1 unit act1 [-> 1 unit act2]: nets for numeric failures,
 * weights w1 (and w2), biases 0. */
static nnf_net *tiny_net(size_t depth, nnf_act act1, nnf_act act2, nnf_loss loss, float w1,
                         float w2)
{
    const size_t units[] = {1, 1};
    const nnf_act acts[] = {act1, act2};
    const float zero = 0.0f;
    nnf_net *net = new_net(1, depth, units, acts, loss);
    assert_ok(net, nnf_layer_set_weights(nnf_net_layer(net, 1), &w1));
    assert_ok(net, nnf_layer_set_bias(nnf_net_layer(net, 1), &zero));
    if (depth > 1) {
        assert_ok(net, nnf_layer_set_weights(nnf_net_layer(net, 2), &w2));
        assert_ok(net, nnf_layer_set_bias(nnf_net_layer(net, 2), &zero));
    }
    return net;
}

/* What an out argument holds before a call that must set it to NULL. */
static int dummy_object;
#define NOT_NULL_NET   ((nnf_net *)(void *)&dummy_object)
#define NOT_NULL_LAYER ((nnf_layer *)(void *)&dummy_object)

/* The three calls that take a batch, run the same way. */
enum batch_fn { FORWARD, PREDICT, TRAIN_STEP };
static const char *const batch_name[] = {"nnf_net_forward", "nnf_net_predict",
                                         "nnf_net_train_step"};

static nnf_status run_batch(enum batch_fn fn, nnf_net *net, const float *x, const float *y,
                            size_t m)
{
    float out[M * N_OUT];
    assert_true(m > M || m * nnf_net_outputs(net) <= M * N_OUT);
    switch (fn) {
    case FORWARD: return nnf_net_forward(net, x, m, out);
    case PREDICT: return nnf_net_predict(net, x, m, out);
    case TRAIN_STEP: return nnf_net_train_step(net, x, y, m, NULL);
    }
    return NNF_OK;
}

/* ======================================================================
 * Library functions and NULL handles
 * ====================================================================== */

static void test_queries_on_null_handles_give_zero_and_destroy_null_is_a_no_op(void **state)
{
    (void)state;
    drop(NULL);
    assert_int_equal(nnf_net_depth(NULL), 0);
    assert_int_equal(nnf_net_inputs(NULL), 0);
    assert_int_equal(nnf_net_outputs(NULL), 0);
    assert_null(nnf_net_layer(NULL, 0));
    assert_null(nnf_net_layer(NULL, 1));
    assert_non_null(nnf_net_errmsg(NULL));
    assert_true(nnf_net_errmsg(NULL)[0] != '\0');
    assert_int_equal(nnf_layer_units(NULL), 0);
    assert_int_equal(nnf_layer_inputs(NULL), 0);
    assert_int_equal(nnf_layer_act(NULL), NNF_ACT_LINEAR);
}

static void test_every_fallible_call_on_a_null_handle_is_arg(void **state)
{
    float buf[MAX_W] = {0}, alpha = 0.5f, cost = 0.0f;
    double value = 0.0;
    nnf_loss loss = NNF_LOSS_MSE;
    (void)state;
    assert_int_equal(nnf_net_add_dense(NULL, 1, NNF_ACT_RELU, NULL), NNF_ERR_ARG);
    assert_int_equal(nnf_net_set_loss(NULL, NNF_LOSS_MSE), NNF_ERR_ARG);
    assert_int_equal(nnf_net_get_loss(NULL, &loss), NNF_ERR_ARG);
    assert_int_equal(loss, NNF_LOSS_MSE);
    assert_int_equal(nnf_net_set_param(NULL, NNF_PARAM_LEARNING_RATE, 0.1), NNF_ERR_ARG);
    assert_int_equal(nnf_net_get_param(NULL, NNF_PARAM_LEARNING_RATE, &value), NNF_ERR_ARG);
    assert_int_equal(nnf_net_init(NULL, NNF_INIT_DEFAULT, 1), NNF_ERR_ARG);
    assert_int_equal(nnf_layer_set_slope(NULL, 0.5f), NNF_ERR_ARG);
    assert_int_equal(nnf_layer_get_slope(NULL, &alpha), NNF_ERR_ARG);
    assert_int_equal(nnf_layer_get_weights(NULL, buf), NNF_ERR_ARG);
    assert_int_equal(nnf_layer_set_weights(NULL, buf), NNF_ERR_ARG);
    assert_int_equal(nnf_layer_get_bias(NULL, buf), NNF_ERR_ARG);
    assert_int_equal(nnf_layer_set_bias(NULL, buf), NNF_ERR_ARG);
    assert_int_equal(nnf_layer_get_weight_grad(NULL, buf), NNF_ERR_ARG);
    assert_int_equal(nnf_layer_get_bias_grad(NULL, buf), NNF_ERR_ARG);
    assert_int_equal(nnf_net_forward(NULL, &X[0][0], M, buf), NNF_ERR_ARG);
    assert_int_equal(nnf_net_backward(NULL, &Y[0][0], &cost), NNF_ERR_ARG);
    assert_int_equal(nnf_net_update(NULL), NNF_ERR_ARG);
    assert_int_equal(nnf_net_train_step(NULL, &X[0][0], &Y[0][0], M, &cost), NNF_ERR_ARG);
    assert_int_equal(nnf_net_predict(NULL, &X[0][0], M, buf), NNF_ERR_ARG);
    {
        size_t steps = 99, size = 99;
        unsigned char bytes[8];
        nnf_net *copy = NOT_NULL_NET;
        assert_int_equal(nnf_net_train(NULL, &X[0][0], &Y[0][0], M, 2, 1, 0, 0, NULL, NULL, &steps),
                         NNF_ERR_ARG);
        assert_int_equal(steps, 0);
        assert_int_equal(nnf_net_evaluate(NULL, &X[0][0], &Y[0][0], M, &cost, &cost), NNF_ERR_ARG);
        assert_int_equal(nnf_net_saved_size(NULL, 0, &size), NNF_ERR_ARG);
        assert_int_equal(size, 99);
        assert_int_equal(nnf_net_save_mem(NULL, bytes, sizeof bytes, 0, &size), NNF_ERR_ARG);
        assert_int_equal(size, 0);
        assert_int_equal(nnf_net_save(NULL, "nnf-errors-null.nnf", 0), NNF_ERR_ARG);
        assert_int_equal(nnf_net_clone(NULL, &copy), NNF_ERR_ARG);
        assert_null(copy);
    }
    assert_null(fopen("nnf-errors-null.nnf", "rb"));
}

static void test_net_layer_outside_1_to_depth_is_null(void **state)
{
    nnf_net *net = std_net();
    (void)state;
    assert_null(nnf_net_layer(net, 0));
    assert_null(nnf_net_layer(net, nnf_net_depth(net) + 1));
    assert_null(nnf_net_layer(net, SIZE_MAX));
    assert_non_null(nnf_net_layer(net, 1));
    assert_non_null(nnf_net_layer(net, nnf_net_depth(net)));
    drop(net);
}

static void test_a_net_that_never_failed_has_an_empty_message(void **state)
{
    nnf_net *net = trained_net();
    (void)state;
    assert_string_equal(nnf_net_errmsg(net), "");
    drop(net);
}

static void test_set_allocator_with_one_null_function_is_arg_and_keeps_the_hook(void **state)
{
    nnf_net *net = NULL;
    long before;
    (void)state;
    assert_int_equal(nnf_set_allocator(count_alloc, NULL, &g_count), NNF_ERR_ARG);
    assert_int_equal(nnf_set_allocator(NULL, count_free, &g_count), NNF_ERR_ARG);
    before = g_count.allocs;
    assert_ok(net, nnf_net_create(&net, N_IN));
    assert_true(g_count.allocs > before); /* still our allocator */
    drop(net);
}

/* The hook cannot change while blocks of the current one are live: they
 * would go to a free that they did not come from (an abort, before the
 * fix). Once every net is gone it can. */
static void test_set_allocator_while_a_net_lives_is_state_and_keeps_the_hook(void **state)
{
    nnf_net *net = trained_net();
    long before = g_count.frees;
    (void)state;
    assert_int_equal(nnf_set_allocator(NULL, NULL, NULL), NNF_ERR_STATE);
    assert_int_equal(nnf_set_allocator(count_alloc, count_free, &g_count), NNF_ERR_STATE);
    assert_trains(net);
    drop(net);
    assert_true(g_count.frees > before); /* freed by our hook, to which they belong */
    assert_int_equal(nnf_set_allocator(NULL, NULL, NULL), NNF_OK);
    assert_int_equal(nnf_set_allocator(count_alloc, count_free, &g_count), NNF_OK);
}

/* A failed nnf_set_threads keeps the count (there is no net for a message). */
static void test_set_threads_below_1_is_arg_and_keeps_the_count(void **state)
{
    static const int bad[] = {0, -3, INT_MIN};
    int before = nnf_get_threads();
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(nnf_set_threads(bad[i]), NNF_ERR_ARG);
        assert_int_equal(nnf_get_threads(), before);
    }
}

/* The message of a failure stays until the next failing call: calls that
 * succeed leave it. */
static void test_a_message_stays_until_the_next_failing_call(void **state)
{
    nnf_net *net = std_net();
    char kept[256];
    (void)state;
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_net_set_param(net, NNF_PARAM_LEARNING_RATE, -1.0),
                          "learning rate");
    snprintf(kept, sizeof kept, "%s", nnf_net_errmsg(net));
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_LEARNING_RATE, 1.0));
    assert_ok(net, nnf_net_train_step(net, &X[0][0], &Y[0][0], M, NULL));
    assert_string_equal(nnf_net_errmsg(net), kept);
    drop(net);
}

/* ======================================================================
 * nnf_net_create
 * ====================================================================== */

static void test_create_with_out_null_is_arg(void **state)
{
    (void)state;
    assert_int_equal(nnf_net_create(NULL, N_IN), NNF_ERR_ARG);
    assert_int_equal(nnf_net_create(NULL, 0), NNF_ERR_ARG);
}

static void test_create_with_zero_inputs_is_arg_and_sets_out_to_null(void **state)
{
    nnf_net *net = NOT_NULL_NET;
    (void)state;
    assert_int_equal(nnf_net_create(&net, 0), NNF_ERR_ARG);
    assert_null(net);
}

static void test_create_with_inputs_above_int_max_is_shape_and_int_max_is_accepted(void **state)
{
    nnf_net *net = NOT_NULL_NET;
    (void)state;
    assert_int_equal(nnf_net_create(&net, (size_t)INT_MAX + 1), NNF_ERR_SHAPE);
    assert_null(net);
    net = NOT_NULL_NET;
    assert_int_equal(nnf_net_create(&net, SIZE_MAX), NNF_ERR_SHAPE);
    assert_null(net);
    assert_ok(net, nnf_net_create(&net, INT_MAX));
    assert_int_equal(nnf_net_inputs(net), INT_MAX);
    assert_int_equal(nnf_net_depth(net), 0);
    drop(net);
}

/* ======================================================================
 * nnf_net_add_dense
 * ====================================================================== */

static void test_add_dense_with_zero_units_is_arg_and_changes_nothing(void **state)
{
    nnf_net *net = trained_net();
    nnf_layer *layer = NOT_NULL_LAYER;
    (void)state;
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_net_add_dense(net, 0, NNF_ACT_RELU, &layer),
                          "units is 0", "at least 1");
    assert_null(layer);
    assert_trains(net);
    drop(net);
}

static void test_add_dense_with_unknown_act_is_arg_and_changes_nothing(void **state)
{
    static const int bad[] = {6, 99, -1, INT_MAX};
    nnf_net *net = trained_net();
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        nnf_layer *layer = NOT_NULL_LAYER;
        char key[32];
        snprintf(key, sizeof key, "act = %d", bad[i]);
        EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_net_add_dense(net, 3, (nnf_act)bad[i], &layer),
                              key, "0..5");
        assert_null(layer);
    }
    assert_trains(net);
    drop(net);
}

static void test_add_dense_with_units_above_int_max_is_shape_and_changes_nothing(void **state)
{
    static const size_t bad[] = {(size_t)INT_MAX + 1, SIZE_MAX / 4 + 1, SIZE_MAX};
    nnf_net *net = trained_net();
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        nnf_layer *layer = NOT_NULL_LAYER;
        char key[48];
        snprintf(key, sizeof key, "units = %zu", bad[i]);
        EXPECT_FAIL_UNCHANGED(net, NNF_ERR_SHAPE,
                              nnf_net_add_dense(net, bad[i], NNF_ACT_RELU, &layer), key,
                              "2147483647");
        assert_null(layer);
    }
    assert_trains(net);
    drop(net);
}

/* INT_MAX x INT_MAX weights: each size fits BLAS's int. With a 64-bit size_t
 * the (n_in + 1) * units floats of parameters, 2^62 - 2^31, are
 * 2^64 - 2^33 bytes: just no overflow, but an allocation that must fail
 * (NOMEM); with a 32-bit size_t the product overflows (SHAPE). Either way
 * nothing is added and nothing crashes. */
static void test_add_dense_of_int_max_by_int_max_weights_fails_without_adding_a_layer(void **state)
{
    const nnf_status want = SIZE_MAX > UINT32_MAX ? NNF_ERR_NOMEM : NNF_ERR_SHAPE;
    nnf_net *net = NULL;
    nnf_layer *layer = NOT_NULL_LAYER;
    (void)state;
    assert_ok(net, nnf_net_create(&net, INT_MAX));
    EXPECT_FAIL_UNCHANGED(net, want, nnf_net_add_dense(net, INT_MAX, NNF_ACT_RELU, &layer),
                          "2147483647 x 2147483647");
    assert_null(layer);
    assert_int_equal(nnf_net_outputs(net), 0);
    drop(net);
}

/* ======================================================================
 * Settings: loss, learning rate, init, slope
 * ====================================================================== */

static void test_set_loss_with_unknown_loss_is_arg_and_keeps_the_loss(void **state)
{
    static const int bad[] = {3, 99, -1};
    nnf_net *net = trained_net();
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char key[32];
        snprintf(key, sizeof key, "loss = %d", bad[i]);
        EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_net_set_loss(net, (nnf_loss)bad[i]), key,
                              "0..2");
    }
    assert_trains(net);
    drop(net);
}

static void test_get_loss_with_null_out_is_arg(void **state)
{
    nnf_net *net = trained_net();
    (void)state;
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_net_get_loss(net, NULL), "loss is NULL");
    drop(net);
}

static void test_set_param_with_unknown_key_is_arg_and_changes_nothing(void **state)
{
    static const int bad[] = {8, 42, -1};
    nnf_net *net = trained_net();
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char key[32];
        snprintf(key, sizeof key, "key = %d", bad[i]);
        EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_net_set_param(net, (nnf_param)bad[i], 0.5), key,
                              "nnf_param");
    }
    assert_trains(net);
    drop(net);
}

static void
test_set_learning_rate_not_positive_or_not_finite_is_arg_and_keeps_the_rate(void **state)
{
    const double bad[] =
        {0.0,  -0.0, -1e-3, -1.0, (double)NAN, -(double)NAN, (double)INFINITY, -(double)INFINITY,
         1e300 /* infinite as a float */};
    nnf_net *net = trained_net();
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG,
                              nnf_net_set_param(net, NNF_PARAM_LEARNING_RATE, bad[i]),
                              "learning rate", "0 < value");
    assert_trains(net);
    drop(net);
}

static void test_get_param_with_null_value_or_unknown_key_is_arg(void **state)
{
    nnf_net *net = trained_net();
    double value = -7.0;
    (void)state;
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_net_get_param(net, NNF_PARAM_LEARNING_RATE, NULL),
                          "value is NULL");
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_net_get_param(net, (nnf_param)8, &value), "key = 8",
                          "0..7");
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_net_get_param(net, (nnf_param)-1, &value),
                          "key = -1");
    assert_true(value == -7.0);
    drop(net);
}

static void test_init_with_unknown_scheme_is_arg_and_changes_nothing(void **state)
{
    static const int bad[] = {4, 99, -1};
    nnf_net *net = trained_net();
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char key[32];
        snprintf(key, sizeof key, "scheme = %d", bad[i]);
        EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_net_init(net, (nnf_init)bad[i], 12345), key,
                              "0..3");
    }
    assert_trains(net);
    drop(net);
}

static void test_set_slope_outside_0_1_or_not_finite_is_arg_and_keeps_the_slope(void **state)
{
    const float bad[] = {0.0f, -0.0f,    1.0f,      -0.5f,    1.5f,
                         NAN,  INFINITY, -INFINITY, -FLT_MIN, 1.0f + FLT_EPSILON};
    nnf_net *net = trained_net();
    nnf_layer *leaky = nnf_net_layer(net, 1);
    (void)state;
    assert_int_equal(nnf_layer_act(leaky), NNF_ACT_LEAKY_RELU);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_layer_set_slope(leaky, bad[i]), "alpha",
                              "layer 1", "0 < alpha < 1");
    assert_trains(net);
    drop(net);
}

static void test_set_slope_on_a_layer_that_is_not_leaky_relu_is_state(void **state)
{
    nnf_net *net = trained_net();
    (void)state;
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_STATE, nnf_layer_set_slope(nnf_net_layer(net, 2), 0.3f),
                          "layer 2", "sigmoid", "leaky_relu");
    assert_trains(net);
    drop(net);
}

static void test_get_slope_with_null_out_is_arg(void **state)
{
    nnf_net *net = trained_net();
    (void)state;
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_layer_get_slope(nnf_net_layer(net, 1), NULL),
                          "alpha is NULL");
    drop(net);
}

/* ======================================================================
 * Optimizer and L2 settings (nnf_param keys 1..6)
 * ====================================================================== */

#define N_PARAMS 8

/* Every setting of nnf_param, bit for bit. */
static void take_settings(nnf_net *net, double *v)
{
    for (int k = 0; k < N_PARAMS; k++)
        assert_ok(net, nnf_net_get_param(net, (nnf_param)k, &v[k]));
}

/* A net whose optimizer has a state: std_net with optimizer opt, two steps. */
static nnf_net *std_net_with_optimizer(nnf_optimizer opt)
{
    nnf_net *net = std_net();
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_OPTIMIZER, (double)opt));
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_L2_PENALTY, 0.125));
    for (int i = 0; i < 2; i++)
        assert_ok(net, nnf_net_train_step(net, &X[0][0], &Y[0][0], M, NULL));
    return net;
}

/* set_param(key, each bad value) is ARG with a message naming the setting;
 * parameters, gradients and every setting are unchanged, and so is the
 * optimizer's state: afterwards the net trains exactly like a twin that
 * never saw the failures. */
static void expect_bad_settings(nnf_param key, const double *bad, size_t n, const char *name)
{
    for (int opt = NNF_OPT_SGD; opt <= NNF_OPT_ADAMW; opt++) {
        nnf_net *net = std_net_with_optimizer((nnf_optimizer)opt);
        nnf_net *twin = std_net_with_optimizer((nnf_optimizer)opt);
        double before[N_PARAMS], after[N_PARAMS];
        take_settings(net, before);
        for (size_t i = 0; i < n; i++) {
            EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_net_set_param(net, key, bad[i]), name);
            take_settings(net, after);
            if (memcmp(before, after, sizeof before) != 0)
                fail_msg("set_param(%d, %g) failed but changed a setting", (int)key, bad[i]);
        }
        for (int s = 0; s < 3; s++) {
            assert_ok(net, nnf_net_train_step(net, &X[0][0], &Y[0][0], M, NULL));
            assert_ok(twin, nnf_net_train_step(twin, &X[0][0], &Y[0][0], M, NULL));
        }
        assert_twins(net, twin, EVERYTHING);
        drop(net);
        drop(twin);
    }
}

static void test_set_optimizer_to_a_non_optimizer_value_is_arg_and_changes_nothing(void **state)
{
    const double bad[] = {4.0, -1.0, 0.5, (double)NAN, 2.5, 1e9, (double)INFINITY};
    (void)state;
    expect_bad_settings(NNF_PARAM_OPTIMIZER, bad, sizeof bad / sizeof bad[0], "optimizer");
}

static void test_set_momentum_outside_0_1_is_arg_and_changes_nothing(void **state)
{
    const double bad[] = {1.0, -0.1, (double)NAN, 1.5, (double)INFINITY, -(double)INFINITY};
    (void)state;
    expect_bad_settings(NNF_PARAM_MOMENTUM, bad, sizeof bad / sizeof bad[0], "momentum");
}

static void test_set_adam_betas_outside_0_1_is_arg_and_changes_nothing(void **state)
{
    const double bad[] = {1.0, -0.1, (double)NAN, 1.5, (double)INFINITY, -(double)INFINITY};
    (void)state;
    expect_bad_settings(NNF_PARAM_ADAM_BETA1, bad, sizeof bad / sizeof bad[0], "beta1");
    expect_bad_settings(NNF_PARAM_ADAM_BETA2, bad, sizeof bad / sizeof bad[0], "beta2");
}

static void
test_set_adam_epsilon_not_positive_or_not_finite_is_arg_and_changes_nothing(void **state)
{
    const double bad[] = {0.0,  -1.0, (double)INFINITY, -0.0, (double)NAN, -(double)INFINITY,
                          1e300 /* infinite as a float */};
    (void)state;
    expect_bad_settings(NNF_PARAM_ADAM_EPSILON, bad, sizeof bad / sizeof bad[0], "epsilon");
}

static void test_set_l2_penalty_negative_or_not_finite_is_arg_and_changes_nothing(void **state)
{
    const double bad[] = {-1.0,   (double)NAN,       (double)INFINITY,
                          -1e-12, -(double)INFINITY, 1e300 /* infinite as a float */};
    (void)state;
    expect_bad_settings(NNF_PARAM_L2_PENALTY, bad, sizeof bad / sizeof bad[0], "L2 penalty");
}

/* A learning rate or penalty so small that it is 0 as a float would make
 * training silently do nothing: refused. (An epsilon below the float range
 * is not: it acts as FLT_MIN, as the header says.) */
static void test_settings_that_underflow_float_are_arg_and_change_nothing(void **state)
{
    nnf_net *net = trained_net();
    (void)state;
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_net_set_param(net, NNF_PARAM_LEARNING_RATE, 1e-46),
                          "learning rate", "underflows to 0 in float");
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_net_set_param(net, NNF_PARAM_L2_PENALTY, 1e-50),
                          "L2 penalty", "underflows");
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_LEARNING_RATE, 1e-45)); /* a float denormal */
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_L2_PENALTY, 0.0));
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_ADAM_EPSILON, 1e-50));
    drop(net);
}

/* ======================================================================
 * Layer buffers: weights, biases, gradients
 * ====================================================================== */

static void test_layer_copies_with_a_null_buffer_are_arg_and_change_nothing(void **state)
{
    nnf_net *net = trained_net(); /* so the gradients exist */
    (void)state;
    for (size_t l = 1; l <= 2; l++) {
        nnf_layer *ly = nnf_net_layer(net, l);
        char layer_key[16], w_count[32], b_count[32];
        snprintf(layer_key, sizeof layer_key, "layer %zu", l);
        snprintf(w_count, sizeof w_count, "%zu floats", nnf_layer_units(ly) * nnf_layer_inputs(ly));
        snprintf(b_count, sizeof b_count, "%zu floats", nnf_layer_units(ly));
        EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_layer_get_weights(ly, NULL), "w is NULL",
                              w_count, layer_key);
        EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_layer_set_weights(ly, NULL), "w is NULL",
                              w_count, layer_key);
        EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_layer_get_bias(ly, NULL), "b is NULL", b_count,
                              layer_key);
        EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_layer_set_bias(ly, NULL), "b is NULL", b_count,
                              layer_key);
        EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_layer_get_weight_grad(ly, NULL), "dw is NULL",
                              w_count, layer_key);
        EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_layer_get_bias_grad(ly, NULL), "db is NULL",
                              b_count, layer_key);
    }
    assert_trains(net);
    drop(net);
}

/* One bad value at the first, a middle and the last position. */
static void test_set_weights_with_nan_or_infinity_is_numeric_and_changes_nothing(void **state)
{
    const float bad[] = {NAN, INFINITY, -INFINITY};
    const char *const text[] = {"nan", "inf", "-inf"};
    nnf_net *net = trained_net();
    (void)state;
    for (size_t l = 1; l <= 2; l++) {
        nnf_layer *ly = nnf_net_layer(net, l);
        size_t n = nnf_layer_units(ly) * nnf_layer_inputs(ly);
        const size_t pos[] = {0, n / 2 + 1, n - 1};
        float w[MAX_W];
        for (size_t p = 0; p < 3; p++) {
            for (size_t v = 0; v < 3; v++) {
                char key[32];
                for (size_t i = 0; i < n; i++)
                    w[i] = 0.125f * (float)i; /* else good, and unlike the net's */
                w[pos[p]] = bad[v];
                snprintf(key, sizeof key, "w[%zu] is %s", pos[p], text[v]);
                EXPECT_FAIL_UNCHANGED(net, NNF_ERR_NUMERIC, nnf_layer_set_weights(ly, w), key,
                                      "finite");
            }
        }
    }
    assert_trains(net);
    drop(net);
}

static void test_set_bias_with_nan_or_infinity_is_numeric_and_changes_nothing(void **state)
{
    const float bad[] = {NAN, INFINITY, -INFINITY};
    const char *const text[] = {"nan", "inf", "-inf"};
    nnf_net *net = trained_net();
    (void)state;
    for (size_t l = 1; l <= 2; l++) {
        nnf_layer *ly = nnf_net_layer(net, l);
        size_t n = nnf_layer_units(ly);
        float b[MAX_U];
        for (size_t p = 0; p < n; p++) {
            for (size_t v = 0; v < 3; v++) {
                char key[32];
                for (size_t i = 0; i < n; i++)
                    b[i] = 1.0f + (float)i;
                b[p] = bad[v];
                snprintf(key, sizeof key, "b[%zu] is %s", p, text[v]);
                EXPECT_FAIL_UNCHANGED(net, NNF_ERR_NUMERIC, nnf_layer_set_bias(ly, b), key,
                                      "finite");
            }
        }
    }
    assert_trains(net);
    drop(net);
}

/* set_weights discards a stored forward pass, but a failed one does not:
 * the backward after it gives the gradients of a twin that never failed. */
static void test_a_failed_set_weights_or_set_bias_keeps_the_forward_pass(void **state)
{
    nnf_net *net = std_net(), *twin = std_net();
    float w[N_HID * N_IN] = {0}, b[N_HID] = {0};
    (void)state;
    w[5] = NAN;
    b[2] = INFINITY;
    assert_ok(net, nnf_net_forward(net, &X[0][0], M, NULL));
    assert_ok(twin, nnf_net_forward(twin, &X[0][0], M, NULL));
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_NUMERIC, nnf_layer_set_weights(nnf_net_layer(net, 1), w),
                          "w[5]");
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_NUMERIC, nnf_layer_set_bias(nnf_net_layer(net, 1), b),
                          "b[2]");
    assert_ok(net, nnf_net_backward(net, &Y[0][0], NULL));
    assert_ok(twin, nnf_net_backward(twin, &Y[0][0], NULL));
    assert_twins(net, twin, EVERYTHING);
    drop(net);
    drop(twin);
}

static void test_gradients_before_any_backward_are_state(void **state)
{
    nnf_net *net = std_net();
    float buf[MAX_W];
    (void)state;
    for (int pass = 0; pass < 2; pass++) { /* before and after a forward pass */
        for (size_t l = 1; l <= 2; l++) {
            EXPECT_FAIL_UNCHANGED(net, NNF_ERR_STATE,
                                  nnf_layer_get_weight_grad(nnf_net_layer(net, l), buf),
                                  "no gradient", "nnf_net_backward");
            EXPECT_FAIL_UNCHANGED(net, NNF_ERR_STATE,
                                  nnf_layer_get_bias_grad(nnf_net_layer(net, l), buf),
                                  "no gradient", "nnf_net_backward");
        }
        assert_ok(net, nnf_net_forward(net, &X[0][0], M, NULL));
    }
    assert_ok(net, nnf_net_backward(net, &Y[0][0], NULL));
    assert_ok(net, nnf_layer_get_weight_grad(nnf_net_layer(net, 1), buf));
    drop(net);
}

/* Adding a layer or re-initializing discards the gradients. */
static void test_gradients_after_add_dense_or_init_are_state(void **state)
{
    nnf_net *net = trained_net();
    float buf[MAX_W];
    (void)state;
    assert_ok(net, nnf_layer_get_weight_grad(nnf_net_layer(net, 1), buf));
    assert_ok(net, nnf_net_init(net, NNF_INIT_HE, 3));
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_STATE, nnf_layer_get_weight_grad(nnf_net_layer(net, 1), buf),
                          "no gradient");
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_STATE, nnf_net_update(net), "no gradient");
    assert_ok(net, nnf_net_train_step(net, &X[0][0], &Y[0][0], M, NULL));
    assert_ok(net, nnf_net_add_dense(net, 1, NNF_ACT_SIGMOID, NULL));
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_STATE, nnf_layer_get_bias_grad(nnf_net_layer(net, 2), buf),
                          "no gradient");
    drop(net);
}

/* ======================================================================
 * forward, predict, train_step: the batch arguments
 * ====================================================================== */

static void test_batch_calls_with_x_null_are_arg_and_change_nothing(void **state)
{
    (void)state;
    for (int fn = FORWARD; fn <= TRAIN_STEP; fn++) {
        nnf_net *net = trained_net();
        EXPECT_FAIL_UNCHANGED_AS(batch_name[fn], net, NNF_ERR_ARG,
                                 run_batch((enum batch_fn)fn, net, NULL, &Y[0][0], M), "x is NULL",
                                 "m x 3");
        assert_trains(net);
        drop(net);
    }
}

static void test_batch_calls_with_m_zero_are_arg_and_change_nothing(void **state)
{
    (void)state;
    for (int fn = FORWARD; fn <= TRAIN_STEP; fn++) {
        nnf_net *net = trained_net();
        EXPECT_FAIL_UNCHANGED_AS(batch_name[fn], net, NNF_ERR_ARG,
                                 run_batch((enum batch_fn)fn, net, &X[0][0], &Y[0][0], 0), "m is 0",
                                 "at least one");
        assert_trains(net);
        drop(net);
    }
}

/* m above INT_MAX is refused before x is read (x holds M samples only). */
static void test_batch_calls_with_m_above_int_max_are_shape_and_change_nothing(void **state)
{
    static const size_t bad[] = {(size_t)INT_MAX + 1, SIZE_MAX / N_IN + 1, SIZE_MAX};
    (void)state;
    for (int fn = FORWARD; fn <= TRAIN_STEP; fn++) {
        nnf_net *net = trained_net();
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            char key[40];
            snprintf(key, sizeof key, "m = %zu", bad[i]);
            EXPECT_FAIL_UNCHANGED_AS(batch_name[fn], net, NNF_ERR_SHAPE,
                                     run_batch((enum batch_fn)fn, net, &X[0][0], &Y[0][0], bad[i]),
                                     key, "2147483647");
        }
        assert_trains(net);
        drop(net);
    }
}

static void test_batch_calls_on_a_net_with_no_layer_are_state(void **state)
{
    (void)state;
    for (int fn = FORWARD; fn <= TRAIN_STEP; fn++) {
        nnf_net *net = new_net(N_IN, 0, NULL, NULL, NNF_LOSS_MSE);
        EXPECT_FAIL_UNCHANGED_AS(batch_name[fn], net, NNF_ERR_STATE,
                                 run_batch((enum batch_fn)fn, net, &X[0][0], &Y[0][0], M),
                                 "no layer", "nnf_net_add_dense");
        assert_ok(net, nnf_net_add_dense(net, N_OUT, NNF_ACT_LINEAR, NULL));
        assert_ok(net, run_batch((enum batch_fn)fn, net, &X[0][0], &Y[0][0], M));
        drop(net);
    }
}

/* NaN, +inf and -inf at the first, an inner and the last element of x:
 * NUMERIC, and the message names the element as x[sample][feature]. */
static void check_non_finite_x(enum batch_fn fn)
{
    const float bad[] = {NAN, INFINITY, -INFINITY};
    const char *const text[] = {"nan", "inf", "-inf"};
    const size_t pos[][2] = {{0, 0}, {3, 1}, {M - 1, N_IN - 1}};
    nnf_net *net = trained_net();
    for (size_t p = 0; p < 3; p++) {
        for (size_t v = 0; v < 3; v++) {
            float x[M][N_IN];
            char key[48];
            memcpy(x, X, sizeof x);
            x[pos[p][0]][pos[p][1]] = bad[v];
            snprintf(key, sizeof key, "x[%zu][%zu] is %s", pos[p][0], pos[p][1], text[v]);
            EXPECT_FAIL_UNCHANGED_AS(batch_name[fn], net, NNF_ERR_NUMERIC,
                                     run_batch(fn, net, &x[0][0], &Y[0][0], M), key, "finite");
        }
    }
    assert_trains(net);
    drop(net);
}

static void test_forward_with_nan_or_infinity_in_x_is_numeric_and_names_the_element(void **state)
{
    (void)state;
    check_non_finite_x(FORWARD);
}

static void test_predict_with_nan_or_infinity_in_x_is_numeric_and_names_the_element(void **state)
{
    (void)state;
    check_non_finite_x(PREDICT);
}

static void test_train_step_with_nan_or_infinity_in_x_is_numeric_and_changes_nothing(void **state)
{
    (void)state;
    check_non_finite_x(TRAIN_STEP);
}

static void test_predict_with_y_null_is_arg_and_changes_nothing(void **state)
{
    nnf_net *net = trained_net();
    (void)state;
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_net_predict(net, &X[0][0], M, NULL), "y is NULL",
                          "m x 2");
    assert_trains(net);
    drop(net);
}

/* Failed forward and predict calls keep the stored forward pass: the
 * backward after them matches a twin that never failed. */
static void test_failed_forward_or_predict_keeps_the_stored_forward_pass(void **state)
{
    nnf_net *net = std_net(), *twin = std_net();
    float x[M][N_IN];
    (void)state;
    memcpy(x, X, sizeof x);
    x[2][2] = NAN;
    assert_ok(net, nnf_net_forward(net, &X[0][0], 3, NULL));
    assert_ok(twin, nnf_net_forward(twin, &X[0][0], 3, NULL));
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_NUMERIC, nnf_net_forward(net, &x[0][0], M, NULL), "x[2][2]");
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_net_forward(net, &X[0][0], 0, NULL), "m is 0");
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_net_predict(net, &X[0][0], M, NULL), "y is NULL");
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_NUMERIC, nnf_net_predict(net, &x[0][0], M, &x[0][0]),
                          "x[2][2]");
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_NUMERIC,
                          nnf_net_train_step(net, &x[0][0], &Y[0][0], M, NULL), "x[2][2]");
    assert_ok(net, nnf_net_backward(net, &Y[0][0], NULL));
    assert_ok(twin, nnf_net_backward(twin, &Y[0][0], NULL));
    assert_twins(net, twin, EVERYTHING);
    drop(net);
    drop(twin);
}

/* 1 -> 1 linear -> 1 linear with weights 1e30: the output 1e60 overflows. */
static void
test_forward_with_a_non_finite_output_is_numeric_and_discards_the_forward_pass(void **state)
{
    const float x[2] = {0.0f, 1.0f}, y[2] = {0.0f, 0.0f};
    nnf_net *net = tiny_net(2, NNF_ACT_LINEAR, NNF_ACT_LINEAR, NNF_LOSS_MSE, 1e30f, 1e30f);
    float out[2] = {0};
    (void)state;
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_NUMERIC, nnf_net_forward(net, x, 2, out), "A[2]", "sample 1",
                          "not finite");
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_STATE, nnf_net_backward(net, y, NULL), "no forward pass");
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_NUMERIC, nnf_net_predict(net, x, 2, out), "A[2]",
                          "not finite");
    /* the second sample alone: now it is sample 0 */
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_NUMERIC, nnf_net_forward(net, x + 1, 1, out), "A[2]",
                          "sample 0");
    {
        const float w = 1e-30f; /* outputs 0 and 1 */
        assert_ok(net, nnf_layer_set_weights(nnf_net_layer(net, 2), &w));
    }
    assert_ok(net, nnf_net_forward(net, x, 2, out));
    assert_ok(net, nnf_net_backward(net, y, NULL));
    drop(net);
}

/* ======================================================================
 * nnf_net_backward
 * ====================================================================== */

static void test_backward_without_a_forward_pass_is_state(void **state)
{
    nnf_net *net = std_net();
    (void)state;
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_STATE, nnf_net_backward(net, &Y[0][0], NULL),
                          "no forward pass", "nnf_net_forward");
    drop(net);
    /* nor after a train step, nor after predict: neither leaves one */
    net = trained_net();
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_STATE, nnf_net_backward(net, &Y[0][0], NULL),
                          "no forward pass");
    {
        float out[M * N_OUT];
        assert_ok(net, nnf_net_forward(net, &X[0][0], M, NULL));
        assert_ok(net, nnf_net_predict(net, &X[0][0], M, out));
    }
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_STATE, nnf_net_backward(net, &Y[0][0], NULL),
                          "no forward pass");
    drop(net);
    /* a net with no layer cannot have one */
    net = new_net(N_IN, 0, NULL, NULL, NNF_LOSS_MSE);
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_STATE, nnf_net_backward(net, &Y[0][0], NULL),
                          "no forward pass");
    drop(net);
}

static void test_backward_twice_after_one_forward_is_state_and_keeps_the_gradients(void **state)
{
    nnf_net *net = std_net();
    float cost = NAN;
    (void)state;
    assert_ok(net, nnf_net_forward(net, &X[0][0], M, NULL));
    assert_ok(net, nnf_net_backward(net, &Y[0][0], &cost));
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_STATE, nnf_net_backward(net, &Y[0][0], &cost),
                          "no forward pass");
    assert_ok(net, nnf_net_update(net));
    drop(net);
}

/* The checks of y come before anything is computed: the forward pass is
 * kept, and a backward with good labels then matches an untouched twin. */
static void test_backward_with_y_null_is_arg_and_keeps_the_forward_pass(void **state)
{
    nnf_net *net = std_net(), *twin = std_net();
    (void)state;
    assert_ok(net, nnf_net_forward(net, &X[0][0], M, NULL));
    assert_ok(twin, nnf_net_forward(twin, &X[0][0], M, NULL));
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_net_backward(net, NULL, NULL), "y is NULL",
                          "m x 2");
    assert_ok(net, nnf_net_backward(net, &Y[0][0], NULL));
    assert_ok(twin, nnf_net_backward(twin, &Y[0][0], NULL));
    assert_twins(net, twin, EVERYTHING);
    drop(net);
    drop(twin);
}

static void
test_backward_with_nan_or_infinity_in_y_is_numeric_and_keeps_the_forward_pass(void **state)
{
    const float bad[] = {NAN, INFINITY, -INFINITY};
    const char *const text[] = {"nan", "inf", "-inf"};
    const size_t pos[][2] = {{0, 0}, {2, 1}, {M - 1, N_OUT - 1}};
    (void)state;
    for (int loss = NNF_LOSS_BCE; loss <= NNF_LOSS_MSE; loss++) {
        nnf_net *net = std_net(), *twin = std_net();
        assert_ok(net, nnf_net_set_loss(net, (nnf_loss)loss));
        assert_ok(twin, nnf_net_set_loss(twin, (nnf_loss)loss));
        assert_ok(net, nnf_net_forward(net, &X[0][0], M, NULL));
        assert_ok(twin, nnf_net_forward(twin, &X[0][0], M, NULL));
        for (size_t p = 0; p < 3; p++) {
            for (size_t v = 0; v < 3; v++) {
                float y[M][N_OUT];
                char key[48];
                memcpy(y, Y, sizeof y);
                y[pos[p][0]][pos[p][1]] = bad[v];
                snprintf(key, sizeof key, "y[%zu][%zu] is %s", pos[p][0], pos[p][1], text[v]);
                EXPECT_FAIL_UNCHANGED(net, NNF_ERR_NUMERIC, nnf_net_backward(net, &y[0][0], NULL),
                                      key, "finite");
            }
        }
        assert_ok(net, nnf_net_backward(net, &Y[0][0], NULL));
        assert_ok(twin, nnf_net_backward(twin, &Y[0][0], NULL));
        assert_twins(net, twin, EVERYTHING);
        drop(net);
        drop(twin);
    }
}

static void test_backward_with_bce_label_outside_0_1_is_arg_and_keeps_the_forward_pass(void **state)
{
    const float bad[] = {-0.5f, 1.5f, -1e-7f, 1.0f + FLT_EPSILON, -INFINITY /* NUMERIC first */};
    nnf_net *net = std_net(), *twin = std_net();
    (void)state;
    assert_ok(net, nnf_net_forward(net, &X[0][0], M, NULL));
    assert_ok(twin, nnf_net_forward(twin, &X[0][0], M, NULL));
    for (size_t v = 0; v < 4; v++) {
        float y[M][N_OUT];
        char key[48];
        memcpy(y, Y, sizeof y);
        y[1][0] = bad[v];
        snprintf(key, sizeof key, "y[1][0] = %g", (double)bad[v]);
        EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_net_backward(net, &y[0][0], NULL), key, "BCE",
                              "[0, 1]");
    }
    {
        float y[M][N_OUT];
        memcpy(y, Y, sizeof y);
        y[1][0] = bad[4];
        EXPECT_FAIL_UNCHANGED(net, NNF_ERR_NUMERIC, nnf_net_backward(net, &y[0][0], NULL),
                              "y[1][0] is -inf");
    }
    assert_ok(net, nnf_net_backward(net, &Y[0][0], NULL));
    assert_ok(twin, nnf_net_backward(twin, &Y[0][0], NULL));
    assert_twins(net, twin, EVERYTHING);
    drop(net);
    drop(twin);
}

/* BCE needs a sigmoid output; MSE does not care about labels' range. */
static void test_backward_with_bce_on_a_non_sigmoid_output_is_state_and_mse_works(void **state)
{
    static const nnf_act outs[] = {NNF_ACT_LINEAR, NNF_ACT_TANH, NNF_ACT_RELU, NNF_ACT_LEAKY_RELU};
    static const char *const names[] = {"is linear", "is tanh", "is relu", "is leaky_relu"};
    (void)state;
    for (size_t i = 0; i < 4; i++) {
        nnf_net *net = net_with_output(outs[i], NNF_LOSS_BCE);
        nnf_net *twin = net_with_output(outs[i], NNF_LOSS_MSE);
        float y[M][N_OUT];
        assert_ok(net, nnf_net_forward(net, &X[0][0], M, NULL));
        assert_ok(twin, nnf_net_forward(twin, &X[0][0], M, NULL));
        EXPECT_FAIL_UNCHANGED(net, NNF_ERR_STATE, nnf_net_backward(net, &Y[0][0], NULL), "BCE",
                              "sigmoid", "layer 2", names[i]);
        /* the forward pass survived: switch to MSE, labels outside [0, 1] */
        memcpy(y, Y, sizeof y);
        y[0][1] = -2.5f;
        y[4][0] = 3.0f;
        assert_ok(net, nnf_net_set_loss(net, NNF_LOSS_MSE));
        assert_ok(net, nnf_net_backward(net, &y[0][0], NULL));
        assert_ok(twin, nnf_net_backward(twin, &y[0][0], NULL));
        assert_twins(net, twin, EVERYTHING);
        assert_ok(net, nnf_net_update(net));
        drop(net);
        drop(twin);
    }
}

/* 1 -> 1 linear (w 1e-10) -> 1 sigmoid (w 1e30), BCE, x = 1e10, y = 0:
 * the output saturates (finite), the cost is 1e30 (finite), but
 * dW[1] = W[2] dZ[2] x = 1e30 * 1e10 overflows. */
static nnf_net *net_with_overflowing_gradient(void)
{
    return tiny_net(2, NNF_ACT_LINEAR, NNF_ACT_SIGMOID, NNF_LOSS_BCE, 1e-10f, 1e30f);
}

static const float BIG_X[1] = {1e10f}, ZERO_Y[1] = {0.0f};

static void test_backward_with_a_non_finite_gradient_is_numeric_and_keeps_no_gradient(void **state)
{
    nnf_net *net = net_with_overflowing_gradient();
    float out[1] = {0}, buf[1];
    (void)state;
    assert_ok(net, nnf_net_forward(net, BIG_X, 1, out));
    assert_true(isfinite(out[0]));
    EXPECT_FAIL_KEEPING(0, net, NNF_ERR_NUMERIC, nnf_net_backward(net, ZERO_Y, NULL), "gradient",
                        "layer 1", "not finite");
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_STATE, nnf_layer_get_weight_grad(nnf_net_layer(net, 1), buf),
                          "no gradient");
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_STATE, nnf_net_update(net), "no gradient");
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_STATE, nnf_net_backward(net, ZERO_Y, NULL),
                          "no forward pass");
    drop(net);
}

/* 1 -> 1 linear (w 1e20), MSE, x = 1, y = 0: the output 1e20 is finite, the
 * gradients 1e20 too, but the cost 5e39 is not a float. Earlier gradients
 * are not kept either. */
static void test_backward_with_a_non_finite_cost_is_numeric_and_keeps_no_gradient(void **state)
{
    const float x[1] = {1.0f}, small = 0.5f;
    nnf_net *net = tiny_net(1, NNF_ACT_LINEAR, NNF_ACT_LINEAR, NNF_LOSS_MSE, 0.5f, 0.0f);
    (void)state;
    assert_ok(net, nnf_net_train_step(net, x, ZERO_Y, 1, NULL)); /* gradients exist */
    {
        const float w = 1e20f;
        assert_ok(net, nnf_layer_set_weights(nnf_net_layer(net, 1), &w));
    }
    assert_ok(net, nnf_net_forward(net, x, 1, NULL));
    EXPECT_FAIL_KEEPING(0, net, NNF_ERR_NUMERIC, nnf_net_backward(net, ZERO_Y, NULL), "cost",
                        "not finite");
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_STATE, nnf_net_update(net), "no gradient");
    assert_ok(net, nnf_layer_set_weights(nnf_net_layer(net, 1), &small));
    assert_trains(net);
    drop(net);
}

/* ======================================================================
 * nnf_net_update
 * ====================================================================== */

static void test_update_without_a_backward_is_state_and_changes_nothing(void **state)
{
    nnf_net *net = std_net();
    (void)state;
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_STATE, nnf_net_update(net), "no gradient",
                          "nnf_net_backward");
    assert_ok(net, nnf_net_forward(net, &X[0][0], M, NULL));
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_STATE, nnf_net_update(net), "no gradient");
    drop(net);
    net = new_net(N_IN, 0, NULL, NULL, NNF_LOSS_MSE);
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_STATE, nnf_net_update(net), "no gradient");
    drop(net);
}

static void test_update_twice_after_one_backward_is_state_and_changes_nothing(void **state)
{
    nnf_net *net = std_net();
    (void)state;
    assert_ok(net, nnf_net_forward(net, &X[0][0], M, NULL));
    assert_ok(net, nnf_net_backward(net, &Y[0][0], NULL));
    assert_ok(net, nnf_net_update(net));
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_STATE, nnf_net_update(net), "already applied",
                          "nnf_net_backward");
    drop(net);
    /* a train step applies its gradients itself */
    net = trained_net();
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_STATE, nnf_net_update(net), "already applied");
    drop(net);
}

/* ======================================================================
 * nnf_net_train_step: labels, loss, and steps that go non-finite
 * ====================================================================== */

static void test_train_step_with_y_null_is_arg_and_changes_nothing(void **state)
{
    nnf_net *net = trained_net();
    (void)state;
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_net_train_step(net, &X[0][0], NULL, M, NULL),
                          "y is NULL", "m x 2");
    assert_trains(net);
    drop(net);
}

static void test_train_step_with_nan_or_infinity_in_y_is_numeric_and_changes_nothing(void **state)
{
    const float bad[] = {NAN, INFINITY, -INFINITY};
    const char *const text[] = {"nan", "inf", "-inf"};
    (void)state;
    for (int loss = NNF_LOSS_BCE; loss <= NNF_LOSS_MSE; loss++) {
        nnf_net *net = trained_net();
        assert_ok(net, nnf_net_set_loss(net, (nnf_loss)loss));
        for (size_t v = 0; v < 3; v++) {
            float y[M][N_OUT];
            char key[48];
            memcpy(y, Y, sizeof y);
            y[M - 1][1] = bad[v];
            snprintf(key, sizeof key, "y[%d][1] is %s", M - 1, text[v]);
            EXPECT_FAIL_UNCHANGED(net, NNF_ERR_NUMERIC,
                                  nnf_net_train_step(net, &X[0][0], &y[0][0], M, NULL), key,
                                  "finite");
        }
        assert_trains(net);
        drop(net);
    }
}

static void test_train_step_with_bce_label_outside_0_1_is_arg_and_changes_nothing(void **state)
{
    const float bad[] = {-0.5f, 1.5f};
    const char *const key[] = {"y[3][1] = -0.5", "y[3][1] = 1.5"};
    nnf_net *net = trained_net();
    (void)state;
    for (size_t v = 0; v < 2; v++) {
        float y[M][N_OUT];
        memcpy(y, Y, sizeof y);
        y[3][1] = bad[v];
        EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG,
                              nnf_net_train_step(net, &X[0][0], &y[0][0], M, NULL), key[v], "BCE",
                              "[0, 1]");
    }
    assert_trains(net);
    drop(net);
}

static void test_train_step_with_bce_on_a_non_sigmoid_output_is_state_and_mse_works(void **state)
{
    static const nnf_act outs[] = {NNF_ACT_LINEAR, NNF_ACT_TANH, NNF_ACT_RELU, NNF_ACT_LEAKY_RELU};
    static const char *const names[] = {"is linear", "is tanh", "is relu", "is leaky_relu"};
    (void)state;
    for (size_t i = 0; i < 4; i++) {
        nnf_net *net = net_with_output(outs[i], NNF_LOSS_BCE);
        nnf_net *twin = net_with_output(outs[i], NNF_LOSS_MSE);
        EXPECT_FAIL_UNCHANGED(net, NNF_ERR_STATE,
                              nnf_net_train_step(net, &X[0][0], &Y[0][0], M, NULL), "BCE",
                              "sigmoid", "layer 2", names[i]);
        assert_ok(net, nnf_net_set_loss(net, NNF_LOSS_MSE));
        assert_ok(net, nnf_net_train_step(net, &X[0][0], &Y[0][0], M, NULL));
        assert_ok(twin, nnf_net_train_step(twin, &X[0][0], &Y[0][0], M, NULL));
        assert_twins(net, twin, EVERYTHING);
        drop(net);
        drop(twin);
    }
}

/* The same three overflows as above, inside a train step: NUMERIC, and
 * every parameter bit-identical to before the step. */
static void test_train_step_with_a_non_finite_output_is_numeric_and_changes_nothing(void **state)
{
    const float x[1] = {1.0f};
    nnf_net *net = tiny_net(2, NNF_ACT_LINEAR, NNF_ACT_LINEAR, NNF_LOSS_MSE, 1e30f, 1e30f);
    (void)state;
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_NUMERIC, nnf_net_train_step(net, x, ZERO_Y, 1, NULL), "A[2]",
                          "not finite");
    drop(net);
}

static void test_train_step_with_a_non_finite_cost_is_numeric_and_changes_nothing(void **state)
{
    const float x[1] = {1.0f};
    nnf_net *net = tiny_net(1, NNF_ACT_LINEAR, NNF_ACT_LINEAR, NNF_LOSS_MSE, 1e20f, 0.0f);
    (void)state;
    EXPECT_FAIL_KEEPING(0, net, NNF_ERR_NUMERIC, nnf_net_train_step(net, x, ZERO_Y, 1, NULL),
                        "cost", "not finite");
    drop(net);
}

static void test_train_step_with_a_non_finite_gradient_is_numeric_and_changes_nothing(void **state)
{
    nnf_net *net = net_with_overflowing_gradient();
    float cost = 123.0f;
    (void)state;
    /* first gradients to lose (x = 0: finite, and no update) */
    {
        const float x[1] = {0.0f};
        assert_ok(net, nnf_net_forward(net, x, 1, NULL));
        assert_ok(net, nnf_net_backward(net, ZERO_Y, NULL));
    }
    EXPECT_FAIL_KEEPING(0, net, NNF_ERR_NUMERIC, nnf_net_train_step(net, BIG_X, ZERO_Y, 1, &cost),
                        "gradient", "layer 1", "not finite");
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_STATE, nnf_net_update(net), "no gradient");
    drop(net);
}

/* Gradient descent on 1 -> 1 linear, MSE with a learning rate of 1000
 * multiplies the error by about -2000 a step: within a few steps the cost
 * overflows. That step is NUMERIC and leaves the (finite) parameters of
 * the step before, bit for bit; the net then trains again from good
 * weights and a sane learning rate. */
static void test_train_step_that_diverges_fails_without_changing_the_parameters(void **state)
{
    const float x[1] = {1.0f}, good = 0.5f;
    nnf_net *net = tiny_net(1, NNF_ACT_LINEAR, NNF_ACT_LINEAR, NNF_LOSS_MSE, 0.5f, 0.0f);
    nnf_status st = NNF_OK;
    int step;
    (void)state;
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_LEARNING_RATE, 1000.0));
    for (step = 0; step < 100; step++) {
        snapshot before;
        char primed[256], why[768];
        float w, b;
        snapshot_take(net, &before);
        assert_ok(net, nnf_layer_get_weights(nnf_net_layer(net, 1), &w));
        assert_ok(net, nnf_layer_get_bias(nnf_net_layer(net, 1), &b));
        assert_true(isfinite(w) && isfinite(b));
        prime(net, primed, sizeof primed);
        st = nnf_net_train_step(net, x, ZERO_Y, 1, NULL);
        if (st == NNF_OK) {
            snapshot_free(&before);
            continue;
        }
        int problem = failure_problem(net, "nnf_net_train_step(net, x, ZERO_Y, 1, NULL)", NULL, st,
                                      NNF_ERR_NUMERIC, primed,
                                      (const char *const[]){"not finite", NULL}, why, sizeof why);
        finish(net, &before, SNAP_STATE, __LINE__, "the diverging step", problem, why, sizeof why);
        break;
    }
    assert_int_equal(st, NNF_ERR_NUMERIC);
    assert_true(step >= 2); /* it did diverge, over several good steps */
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_LEARNING_RATE, 0.1));
    assert_ok(net, nnf_layer_set_weights(nnf_net_layer(net, 1), &good));
    assert_ok(net, nnf_layer_set_bias(nnf_net_layer(net, 1), &good));
    assert_ok(net, nnf_net_train_step(net, x, ZERO_Y, 1, NULL));
    drop(net);
}

/* 1 -> 1 linear, MSE, lr = FLT_MAX: the gradient (2w x^2 = 4) is finite,
 * but W - lr dW is -inf. The update is NUMERIC and writes nothing, through
 * nnf_net_update (which keeps the gradients for a smaller rate) and inside
 * a train step. */
static void test_update_whose_result_would_overflow_is_numeric_and_changes_nothing(void **state)
{
    const float x[1] = {2.0f};
    nnf_net *net = tiny_net(1, NNF_ACT_LINEAR, NNF_ACT_LINEAR, NNF_LOSS_MSE, 1.0f, 0.0f);
    (void)state;
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_LEARNING_RATE, (double)FLT_MAX));
    assert_ok(net, nnf_net_forward(net, x, 1, NULL));
    assert_ok(net, nnf_net_backward(net, ZERO_Y, NULL));
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_NUMERIC, nnf_net_update(net), "layer 1", "learning rate",
                          "too large");
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_LEARNING_RATE, 0.01));
    assert_ok(net, nnf_net_update(net));
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_LEARNING_RATE, (double)FLT_MAX));
    EXPECT_FAIL_KEEPING(0, net, NNF_ERR_NUMERIC, nnf_net_train_step(net, x, ZERO_Y, 1, NULL),
                        "layer 1", "learning rate");
    drop(net);
}

/* ======================================================================
 * Softmax and cross-entropy in the wrong place
 * ====================================================================== */

/* Softmax is for the output layer only: no layer may follow it (one may
 * follow hidden layers, and that net trains). */
static void test_add_dense_after_a_softmax_layer_is_state_and_changes_nothing(void **state)
{
    nnf_net *net = net_with_output(NNF_ACT_SOFTMAX, NNF_LOSS_CROSS_ENTROPY);
    nnf_layer *layer = NOT_NULL_LAYER;
    (void)state;
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_STATE, nnf_net_add_dense(net, 2, NNF_ACT_SIGMOID, &layer),
                          "layer 2 is softmax", "output layer");
    assert_null(layer);
    assert_trains(net);
    drop(net);
}

/* A softmax output with BCE or MSE: train_step and backward are STATE and
 * name the layer and the loss it needs. forward needs no loss, and its
 * forward pass survives: with the right loss, backward works. */
static void test_softmax_output_with_bce_or_mse_is_state_and_changes_nothing(void **state)
{
    static const nnf_loss losses[] = {NNF_LOSS_BCE, NNF_LOSS_MSE};
    (void)state;
    for (size_t k = 0; k < 2; k++) {
        nnf_net *net = net_with_output(NNF_ACT_SOFTMAX, losses[k]);
        float cost = NAN;
        EXPECT_FAIL_UNCHANGED(net, NNF_ERR_STATE,
                              nnf_net_train_step(net, &X[0][0], &Y[0][0], M, &cost), "softmax",
                              "layer 2", "NNF_LOSS_CROSS_ENTROPY");
        assert_ok(net, nnf_net_forward(net, &X[0][0], M, NULL));
        EXPECT_FAIL_UNCHANGED(net, NNF_ERR_STATE, nnf_net_backward(net, &Y[0][0], &cost), "softmax",
                              "layer 2", "NNF_LOSS_CROSS_ENTROPY");
        EXPECT_FAIL_UNCHANGED(net, NNF_ERR_STATE, nnf_net_update(net), "no gradient");
        assert_ok(net, nnf_net_set_loss(net, NNF_LOSS_CROSS_ENTROPY));
        assert_ok(net, nnf_net_backward(net, &Y[0][0], &cost));
        assert_true(isfinite(cost));
        drop(net);
    }
}

static void test_cross_entropy_without_a_softmax_output_is_state_and_changes_nothing(void **state)
{
    static const nnf_act outs[] = {NNF_ACT_SIGMOID, NNF_ACT_LINEAR, NNF_ACT_RELU, NNF_ACT_TANH};
    (void)state;
    for (size_t k = 0; k < 4; k++) {
        nnf_net *net = net_with_output(outs[k], NNF_LOSS_CROSS_ENTROPY);
        EXPECT_FAIL_UNCHANGED(net, NNF_ERR_STATE,
                              nnf_net_train_step(net, &X[0][0], &Y[0][0], M, NULL), "cross-entropy",
                              "softmax", "layer 2");
        assert_ok(net, nnf_net_forward(net, &X[0][0], M, NULL));
        EXPECT_FAIL_UNCHANGED(net, NNF_ERR_STATE, nnf_net_backward(net, &Y[0][0], NULL),
                              "cross-entropy", "softmax", "layer 2");
        drop(net);
    }
}

/* Cross-entropy labels must be in [0, 1]: ARG naming the element, checked
 * before anything is computed, so the forward pass is kept. */
static void test_cross_entropy_labels_outside_0_1_are_arg_and_keep_the_forward_pass(void **state)
{
    static const float bad[] = {-0.5f, 1.5f, -1e-6f, 2.0f};
    (void)state;
    for (size_t k = 0; k < 4; k++) {
        nnf_net *net = net_with_output(NNF_ACT_SOFTMAX, NNF_LOSS_CROSS_ENTROPY);
        float y[M][N_OUT];
        char key[48];
        memcpy(y, Y, sizeof y);
        y[1][1] = bad[k];
        snprintf(key, sizeof key, "y[1][1] = %g", (double)bad[k]);
        EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG,
                              nnf_net_train_step(net, &X[0][0], &y[0][0], M, NULL), key,
                              "cross-entropy", "[0, 1]");
        assert_ok(net, nnf_net_forward(net, &X[0][0], M, NULL));
        EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_net_backward(net, &y[0][0], NULL), key,
                              "cross-entropy", "[0, 1]");
        assert_ok(net, nnf_net_backward(net, &Y[0][0], NULL));
        drop(net);
    }
}

/* ======================================================================
 * nnf_net_train and nnf_net_evaluate
 * ====================================================================== */

static void test_train_with_zero_batch_size_or_epochs_is_arg_and_changes_nothing(void **state)
{
    nnf_net *net = trained_net();
    size_t steps = 99;
    (void)state;
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG,
                          nnf_net_train(net, &X[0][0], &Y[0][0], M, 0, 3, 1, 0, NULL, NULL, &steps),
                          "batch_size is 0");
    assert_int_equal(steps, 0);
    steps = 99;
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG,
                          nnf_net_train(net, &X[0][0], &Y[0][0], M, 4, 0, 1, 0, NULL, NULL, &steps),
                          "epochs is 0");
    assert_int_equal(steps, 0);
    assert_trains(net);
    drop(net);
}

/* Bad data fails before the first step, shuffled or not: nothing has
 * moved, and the message names the caller's row. */
static void test_train_with_nan_in_x_fails_before_any_step_and_names_the_row(void **state)
{
    enum { TM = 10 };
    float x[TM * N_IN], y[TM * N_OUT];
    nnf_net *net = trained_net();
    (void)state;
    make_data(x, y, TM, N_IN, N_OUT, 0);
    x[7 * N_IN + 0] = NAN;
    for (int shuffle = 0; shuffle <= 1; shuffle++) {
        size_t steps = 99;
        EXPECT_FAIL_UNCHANGED(net, NNF_ERR_NUMERIC,
                              nnf_net_train(net, x, y, TM, 3, 4, shuffle, 5, NULL, NULL, &steps),
                              "x[7][0] is nan");
        assert_int_equal(steps, 0);
    }
    assert_trains(net);
    drop(net);
}

/* A step that fails stops training with its status and a message naming
 * the epoch and the batch; the parameters are those after the last good
 * step, as train steps of the same batches (net b) show. */
static void
test_train_whose_step_diverges_stops_there_and_keeps_the_last_good_parameters(void **state)
{
    enum { DM = 8, DB = 2 };
    const size_t units[] = {1};
    const nnf_act acts[] = {NNF_ACT_LINEAR};
    /* learning rate 1e4 on a linear unit: the weight grows ~1e4-fold a step */
    const net_spec spec = {.inputs = 1,
                           .depth = 1,
                           .units = units,
                           .acts = acts,
                           .loss = NNF_LOSS_MSE,
                           .lr = 1e4,
                           .seed = 3};
    nnf_net *a = keep(net_build(&spec)), *b = keep(net_build(&spec));
    float x[DM], y[DM];
    size_t good = 0, steps = 0;
    nnf_status st;
    (void)state;
    for (size_t i = 0; i < DM; i++) {
        x[i] = 1.0f + 0.25f * (float)i;
        y[i] = 2.0f - (float)i;
    }
    for (;;) {
        size_t first = (good % (DM / DB)) * DB;
        snapshot before;
        snapshot_take(b, &before);
        st = nnf_net_train_step(b, x + first, y + first, DB, NULL);
        if (st != NNF_OK)
            assert_unchanged(b, &before, SNAP_STATE, "the failing train step");
        snapshot_free(&before);
        if (st != NNF_OK)
            break;
        good++;
        assert_true(good < 100);
    }
    assert_int_equal(st, NNF_ERR_NUMERIC);
    assert_true(good > DM / DB); /* it fails in a later epoch */

    EXPECT_FAIL(a, st, nnf_net_train(a, x, y, DM, DB, 100, 0, 0, NULL, NULL, &steps), "epoch ",
                ", batch ");
    assert_int_equal(steps, good);
    assert_twins(a, b, SNAP_STATE);
    drop(a);
    drop(b);
}

/* evaluate works in chunks; the message names the caller's row, in the
 * second chunk of 256, and the outputs are left alone. */
static void test_evaluate_with_infinity_in_x_is_numeric_and_names_the_callers_row(void **state)
{
    enum { EM = 600 };
    static float x[EM * N_IN], y[EM * N_OUT];
    float cost = 1.0f, accuracy = 2.0f;
    nnf_net *net = std_net();
    (void)state;
    make_data(x, y, EM, N_IN, N_OUT, 0);
    x[300 * N_IN + 1] = INFINITY;
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_NUMERIC, nnf_net_evaluate(net, x, y, EM, &cost, &accuracy),
                          "x[300][1] is inf");
    assert_true(cost == 1.0f && accuracy == 2.0f);
    assert_trains(net);
    drop(net);
}

/* nnf_net_train checks its data as a train step does, and before any step:
 * x or y NULL, m 0, BCE labels outside [0, 1], a loss that does not fit
 * the output layer, a net without a layer. */
static void test_train_with_bad_data_or_net_fails_before_any_step(void **state)
{
    nnf_net *net = trained_net();
    float y[M][N_OUT];
    size_t steps = 99;
    (void)state;
    memcpy(y, Y, sizeof y);
    y[2][1] = 1.5f;
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG,
                          nnf_net_train(net, NULL, &Y[0][0], M, 2, 1, 0, 0, NULL, NULL, &steps),
                          "x is NULL");
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG,
                          nnf_net_train(net, &X[0][0], NULL, M, 2, 1, 0, 0, NULL, NULL, &steps),
                          "y is NULL");
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG,
                          nnf_net_train(net, &X[0][0], &Y[0][0], 0, 2, 1, 0, 0, NULL, NULL, &steps),
                          "m is 0");
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG,
                          nnf_net_train(net, &X[0][0], &y[0][0], M, 2, 1, 1, 0, NULL, NULL, &steps),
                          "y[2][1] = 1.5", "BCE");
    assert_ok(net, nnf_net_set_loss(net, NNF_LOSS_CROSS_ENTROPY));
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_STATE,
                          nnf_net_train(net, &X[0][0], &Y[0][0], M, 2, 1, 0, 0, NULL, NULL, &steps),
                          "cross-entropy", "softmax");
    assert_int_equal(steps, 0);
    drop(net);

    net = new_net(N_IN, 0, NULL, NULL, NNF_LOSS_MSE);
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_STATE,
                          nnf_net_train(net, &X[0][0], &Y[0][0], M, 2, 1, 0, 0, NULL, NULL, &steps),
                          "no layer");
    assert_int_equal(steps, 0);
    drop(net);
}

/* nnf_net_evaluate fails as a train step would for the same data, and
 * writes neither result. m above INT_MAX is refused before x is read. */
static void test_evaluate_with_bad_data_or_net_fails_and_writes_no_result(void **state)
{
    nnf_net *net = trained_net();
    float y[M][N_OUT], cost = 1.0f, accuracy = 2.0f;
    (void)state;
    memcpy(y, Y, sizeof y);
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG,
                          nnf_net_evaluate(net, NULL, &Y[0][0], M, &cost, &accuracy), "x is NULL");
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG,
                          nnf_net_evaluate(net, &X[0][0], NULL, M, &cost, &accuracy), "y is NULL");
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG,
                          nnf_net_evaluate(net, &X[0][0], &Y[0][0], 0, &cost, &accuracy), "m is 0");
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_SHAPE,
                          nnf_net_evaluate(net, &X[0][0], &Y[0][0], (size_t)INT_MAX + 1, &cost,
                                           &accuracy),
                          "2147483647");
    y[4][0] = -0.25f;
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG,
                          nnf_net_evaluate(net, &X[0][0], &y[0][0], M, &cost, &accuracy),
                          "y[4][0] = -0.25", "BCE");
    y[4][0] = NAN;
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_NUMERIC,
                          nnf_net_evaluate(net, &X[0][0], &y[0][0], M, &cost, &accuracy),
                          "y[4][0] is nan");
    assert_ok(net, nnf_net_set_loss(net, NNF_LOSS_CROSS_ENTROPY));
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_STATE,
                          nnf_net_evaluate(net, &X[0][0], &Y[0][0], M, &cost, &accuracy),
                          "cross-entropy", "softmax");
    assert_true(cost == 1.0f && accuracy == 2.0f);
    drop(net);

    net = new_net(N_IN, 0, NULL, NULL, NNF_LOSS_MSE);
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_STATE,
                          nnf_net_evaluate(net, &X[0][0], &Y[0][0], M, &cost, &accuracy),
                          "no layer");
    assert_true(cost == 1.0f && accuracy == 2.0f);
    drop(net);
}

/* ======================================================================
 * Saving: nnf_net_saved_size, nnf_net_save_mem, nnf_net_save
 * ====================================================================== */

/* Flags other than 0 and NNF_SAVE_OPTIMIZER_STATE. */
static const unsigned bad_flags[] = {2u, 3u, 0x80000000u, ~0u};
#define N_BAD_FLAGS (sizeof bad_flags / sizeof bad_flags[0])

static void test_saved_size_with_size_null_or_unknown_flags_is_arg_and_changes_nothing(void **state)
{
    nnf_net *net = trained_net();
    size_t size = 99;
    (void)state;
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_net_saved_size(net, 0, NULL), "size is NULL");
    for (size_t i = 0; i < N_BAD_FLAGS; i++) {
        char key[32];
        snprintf(key, sizeof key, "flags 0x%x", bad_flags[i]);
        EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_net_saved_size(net, bad_flags[i], &size), key,
                              "unknown bits");
        assert_int_equal(size, 99);
    }
    drop(net);
}

/* buf NULL, unknown flags, or a cap below the saved size (0, 1, one byte
 * short): ARG, *size 0, and not a byte of the buffer written. Guard bytes
 * after the exact size stay too. */
static void test_save_mem_with_buf_null_unknown_flags_or_a_small_cap_writes_nothing(void **state)
{
    nnf_net *net = trained_net();
    size_t need = 0, written = 99;
    (void)state;
    assert_ok(net, nnf_net_saved_size(net, 0, &need));
    unsigned char *buf = malloc(need + 32);
    assert_non_null(buf);
    memset(buf, 0xA5, need + 32);
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_net_save_mem(net, NULL, need, 0, &written),
                          "buf is NULL");
    assert_int_equal(written, 0);
    for (size_t i = 0; i < N_BAD_FLAGS; i++) {
        char key[32];
        snprintf(key, sizeof key, "flags 0x%x", bad_flags[i]);
        written = 99;
        EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG,
                              nnf_net_save_mem(net, buf, need + 32, bad_flags[i], &written), key,
                              "unknown bits");
        assert_int_equal(written, 0);
    }
    const size_t caps[3] = {0, 1, need - 1};
    for (int k = 0; k < 3; k++) {
        char key[48];
        snprintf(key, sizeof key, "cap = %zu bytes is too small", caps[k]);
        written = 99;
        EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_net_save_mem(net, buf, caps[k], 0, &written),
                              key);
        assert_int_equal(written, 0);
    }
    for (size_t i = 0; i < need + 32; i++)
        assert_int_equal(buf[i], 0xA5);
    assert_ok(net, nnf_net_save_mem(net, buf, need, 0, &written));
    assert_int_equal(written, need);
    for (size_t i = need; i < need + 32; i++)
        assert_int_equal(buf[i], 0xA5);
    free(buf);
    drop(net);
}

/* (In the build tree, the tests' working directory.) */
#define SAVE_PATH "nnf-errors-save.nnf"

static void test_save_with_path_null_or_unknown_flags_is_arg_and_creates_no_file(void **state)
{
    nnf_net *net = trained_net();
    (void)state;
    (void)remove(SAVE_PATH);
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_net_save(net, NULL, 0), "path is NULL");
    for (size_t i = 0; i < N_BAD_FLAGS; i++) {
        char key[32];
        snprintf(key, sizeof key, "flags 0x%x", bad_flags[i]);
        EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_net_save(net, SAVE_PATH, bad_flags[i]), key,
                              "unknown bits");
    }
    FILE *f = fopen(SAVE_PATH, "rb");
    if (f) {
        fclose(f);
        fail_msg("a failed nnf_net_save created %s", SAVE_PATH);
    }
    drop(net);
}

/* ======================================================================
 * Loading: nnf_net_load_mem, nnf_net_load; nnf_net_clone
 * ====================================================================== */

/* out NULL, or no data (buf or path NULL): ARG, *out NULL. (The message
 * says only what the header promises: the call's name first.) */
static void test_load_with_out_null_or_no_data_is_arg(void **state)
{
    nnf_net *src = trained_net(), *net = NOT_NULL_NET;
    unsigned char image[1024];
    size_t size = 0;
    char err[256];
    (void)state;
    assert_ok(src, nnf_net_save_mem(src, image, sizeof image, 0, &size));
    EXPECT_LOAD_FAIL(err, NNF_ERR_ARG, nnf_net_load_mem(NULL, image, size, err, sizeof err),
                     NO_KEYS);
    EXPECT_LOAD_FAIL(err, NNF_ERR_ARG, nnf_net_load_mem(&net, NULL, size, err, sizeof err),
                     NO_KEYS);
    assert_null(net);
    EXPECT_LOAD_FAIL(err, NNF_ERR_ARG, nnf_net_load(NULL, "nnf-errors.nnf", err, sizeof err),
                     NO_KEYS);
    net = NOT_NULL_NET;
    EXPECT_LOAD_FAIL(err, NNF_ERR_ARG, nnf_net_load(&net, NULL, err, sizeof err), NO_KEYS);
    assert_null(net);
    /* the same bytes do load */
    assert_int_equal(nnf_net_load_mem(&net, image, size, err, sizeof err), NNF_OK);
    drop(net);
    drop(src);
}

/* The error buffer may be NULL or of any size: the message is cut to fit,
 * ends in '\0', and nothing is written past errbuf_size (0: not even the
 * '\0'); what is left is the start of the whole message. For bad bytes and
 * for a file that cannot be opened. */
static void test_load_with_a_null_or_tiny_error_buffer_cuts_the_message_safely(void **state)
{
    static const unsigned char junk[40] = "this is not a model at all, not at all";
    const char *missing = "nnf-errors-no-such-dir/no-such-file.nnf";
    nnf_net *net = NOT_NULL_NET;
    char full[256], err[16];
    (void)state;
    EXPECT_LOAD_FAIL(full, NNF_ERR_FORMAT,
                     nnf_net_load_mem(&net, junk, sizeof junk, full, sizeof full),
                     "wrong magic number");
    assert_null(net);
    assert_int_equal(nnf_net_load_mem(&net, junk, sizeof junk, NULL, 100), NNF_ERR_FORMAT);
    memset(err, 'X', sizeof err);
    assert_int_equal(nnf_net_load_mem(&net, junk, sizeof junk, err, 0), NNF_ERR_FORMAT);
    assert_int_equal(err[0], 'X');
    assert_int_equal(nnf_net_load_mem(&net, junk, sizeof junk, err, 1), NNF_ERR_FORMAT);
    assert_int_equal(err[0], '\0');
    assert_int_equal(err[1], 'X');
    assert_int_equal(nnf_net_load_mem(&net, junk, sizeof junk, err, 8), NNF_ERR_FORMAT);
    assert_int_equal(strlen(err), 7);
    assert_int_equal(err[8], 'X');
    assert_memory_equal(err, full, 7);

    EXPECT_LOAD_FAIL(full, NNF_ERR_IO, nnf_net_load(&net, missing, full, sizeof full), missing,
                     "cannot open");
    assert_null(net);
    assert_int_equal(nnf_net_load(&net, missing, NULL, 0), NNF_ERR_IO);
    memset(err, 'X', sizeof err);
    assert_int_equal(nnf_net_load(&net, missing, err, 1), NNF_ERR_IO);
    assert_int_equal(err[0], '\0');
    assert_int_equal(err[1], 'X');
    assert_int_equal(nnf_net_load(&net, missing, err, 5), NNF_ERR_IO);
    assert_int_equal(strlen(err), 4);
    assert_int_equal(err[5], 'X');
    assert_memory_equal(err, full, 4);
    assert_null(net);
}

static void test_clone_with_out_null_is_arg_and_changes_nothing(void **state)
{
    nnf_net *net = trained_net();
    (void)state;
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_net_clone(net, NULL), "out is NULL");
    assert_trains(net);
    drop(net);
}

/* ======================================================================
 * The calls of 1.3: dropout, weight decay, input scaling, classify,
 * metrics, metadata, gradient checking, the exchange hook, the trainer
 * ====================================================================== */

static void test_calls_of_1_3_on_null_handles_are_arg_or_give_zero(void **state)
{
    float rate = 0.25f, buf[8] = {0};
    uint32_t labels[M];
    double v = -7.0;
    char text[16] = "untouched";
    (void)state;
    assert_int_equal(nnf_layer_set_dropout(NULL, 0.5f), NNF_ERR_ARG);
    assert_int_equal(nnf_layer_get_dropout(NULL, &rate), NNF_ERR_ARG);
    assert_true(rate == 0.25f);
    assert_int_equal(nnf_net_set_exchange(NULL, NULL, NULL), NNF_ERR_ARG);
    assert_int_equal(nnf_net_fit_input_scaling(NULL, &X[0][0], M), NNF_ERR_ARG);
    assert_int_equal(nnf_net_set_input_scaling(NULL, buf, buf), NNF_ERR_ARG);
    assert_int_equal(nnf_net_get_input_scaling(NULL, buf, buf), NNF_ERR_ARG);
    assert_int_equal(nnf_net_classify(NULL, &X[0][0], M, labels), NNF_ERR_ARG);
    assert_int_equal(nnf_net_metrics(NULL, &X[0][0], &Y[0][0], M, &v, 1), NNF_ERR_ARG);
    assert_true(v == -7.0);
    assert_int_equal(nnf_net_set_meta(NULL, "k", "v"), NNF_ERR_ARG);
    assert_int_equal(nnf_net_get_meta(NULL, "k", text, sizeof text), NNF_ERR_ARG);
    assert_int_equal(nnf_net_meta_key(NULL, 0, text, sizeof text), NNF_ERR_ARG);
    assert_string_equal(text, "untouched");
    assert_int_equal(nnf_net_meta_count(NULL), 0);
    assert_int_equal(nnf_net_gradcheck(NULL, &X[0][0], &Y[0][0], M, &v), NNF_ERR_ARG);
    assert_true(v == -7.0);
    assert_int_equal(nnf_net_epochs(NULL), 0);
    /* the trainer's */
    nnf_trainer *t = NULL;
    assert_int_equal(nnf_trainer_create(NULL), NNF_ERR_ARG);
    assert_int_equal(nnf_trainer_set(NULL, NNF_TRAIN_EPOCHS, 2), NNF_ERR_ARG);
    assert_int_equal(nnf_trainer_get(NULL, NNF_TRAIN_EPOCHS, &v), NNF_ERR_ARG);
    assert_int_equal(nnf_trainer_set_validation(NULL, NULL, NULL, 0), NNF_ERR_ARG);
    assert_int_equal(nnf_trainer_set_progress(NULL, NULL, NULL), NNF_ERR_ARG);
    assert_int_equal(nnf_trainer_result(NULL, NNF_RESULT_EPOCHS_RUN, &v), NNF_ERR_ARG);
    assert_true(v == -7.0);
    assert_int_equal(nnf_trainer_create(&t), NNF_OK);
    assert_int_equal(nnf_trainer_run(NULL, NULL, &X[0][0], &Y[0][0], M), NNF_ERR_ARG);
    assert_int_equal(nnf_trainer_run(t, NULL, &X[0][0], &Y[0][0], M), NNF_ERR_ARG);
    assert_int_equal(strncmp(nnf_trainer_errmsg(t), "nnf_trainer_run: ", 17), 0);
    assert_non_null(strstr(nnf_trainer_errmsg(t), "net is NULL"));
    assert_non_null(nnf_trainer_errmsg(NULL));
    assert_true(nnf_trainer_errmsg(NULL)[0] != '\0');
    assert_true(isnan(nnf_progress_get(NULL, NNF_PROGRESS_EPOCH)));
    assert_null(nnf_progress_net(NULL));
    nnf_trainer_destroy(t);
    nnf_trainer_destroy(NULL);
}

static void
test_set_dropout_out_of_range_or_on_the_output_layer_fails_and_keeps_the_rate(void **state)
{
    static const float bad[] = {-0.1f, 1.0f, 1.5f, -0.0f - 1e-30f, NAN, INFINITY, -INFINITY};
    nnf_net *net = trained_net();
    nnf_layer *hidden = nnf_net_layer(net, 1), *out = nnf_net_layer(net, 2);
    float rate = -1.0f;
    (void)state;
    assert_ok(net, nnf_layer_set_dropout(hidden, 0.25f));
    assert_ok(net, nnf_net_train_step(net, &X[0][0], &Y[0][0], M, NULL));
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_layer_set_dropout(hidden, bad[i]), "rate");
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_STATE, nnf_layer_set_dropout(out, 0.5f), "output layer");
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_layer_get_dropout(hidden, NULL), "NULL");
    assert_ok(net, nnf_layer_get_dropout(hidden, &rate));
    assert_true(rate == 0.25f);
    assert_ok(net, nnf_layer_get_dropout(out, &rate));
    assert_true(rate == 0.0f);
    assert_trains(net);
    drop(net);
}

static void test_set_weight_decay_negative_or_not_finite_is_arg_and_changes_nothing(void **state)
{
    const double bad[] = {-0.01, -1e-300, (double)NAN, (double)INFINITY, -(double)INFINITY};
    (void)state;
    expect_bad_settings(NNF_PARAM_WEIGHT_DECAY, bad, sizeof bad / sizeof bad[0], "decay");
}

/* A call refused because a context reads the net (prime() cannot run then:
 * its own call is refused the same way): NNF_ERR_STATE and a message of fn
 * that speaks of the contexts. The callers check that nothing changed. */
static void expect_state_with_a_context(const nnf_net *net, const char *fn, nnf_status got)
{
    const char *msg = nnf_net_errmsg(net);
    if (got != NNF_ERR_STATE)
        fail_msg("%s with a context: %s (%s)", fn, nnf_status_str(got), msg);
    if (strncmp(msg, fn, strlen(fn)) != 0 || msg[strlen(fn)] != ':' || !strstr(msg, "context"))
        fail_msg("%s with a context: message \"%s\"", fn, msg);
}

static void test_input_scaling_with_bad_arguments_fails_and_changes_nothing(void **state)
{
    nnf_net *net = trained_net();
    float x[M][N_IN], mean[N_IN] = {0.5f, -1.0f, 2.0f}, sd[N_IN] = {1.0f, 2.0f, 0.5f};
    float bad[N_IN], gm[N_IN], gs[N_IN];
    (void)state;
    memcpy(x, X, sizeof x);
    x[3][1] = NAN;
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_STATE, nnf_net_get_input_scaling(net, gm, gs),
                          "no input scaling");
    assert_ok(net, nnf_net_set_input_scaling(net, mean, sd));
    assert_ok(net, nnf_net_train_step(net, &X[0][0], &Y[0][0], M, NULL));
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_net_fit_input_scaling(net, NULL, M), "x is NULL");
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_net_fit_input_scaling(net, &X[0][0], 0), "m is 0");
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_NUMERIC, nnf_net_fit_input_scaling(net, &x[0][0], M),
                          "x[3][1] is nan");
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_net_set_input_scaling(net, NULL, sd),
                          "mean is NULL");
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_net_set_input_scaling(net, mean, NULL),
                          "std is NULL");
    memcpy(bad, mean, sizeof bad);
    bad[2] = INFINITY;
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_net_set_input_scaling(net, bad, sd), "mean[2]");
    memcpy(bad, sd, sizeof bad);
    bad[1] = -0.5f;
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_net_set_input_scaling(net, mean, bad), "std[1]");
    bad[1] = NAN;
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_net_set_input_scaling(net, mean, bad), "std[1]");
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_net_get_input_scaling(net, NULL, gs),
                          "mean is NULL");
    /* while contexts read the net */
    nnf_ctx *ctx = NULL;
    assert_ok(net, nnf_ctx_create(net, M, &ctx));
    expect_state_with_a_context(net, "nnf_net_fit_input_scaling",
                                nnf_net_fit_input_scaling(net, &X[0][0], M));
    expect_state_with_a_context(net, "nnf_net_set_input_scaling",
                                nnf_net_set_input_scaling(net, NULL, NULL));
    nnf_ctx_destroy(ctx);
    assert_ok(net, nnf_net_get_input_scaling(net, gm, gs));
    assert_memory_equal(gm, mean, sizeof gm);
    assert_memory_equal(gs, sd, sizeof gs);
    assert_trains(net);
    drop(net);
}

static void test_classify_and_metrics_with_bad_arguments_fail_and_change_nothing(void **state)
{
    nnf_net *net = trained_net(),
            *linear = keep(tiny_net(1, NNF_ACT_LINEAR, NNF_ACT_LINEAR, NNF_LOSS_MSE, 0.5f, 0.0f));
    nnf_net *empty = NULL;
    uint32_t labels[M];
    double v[NNF_METRIC_COUNT];
    float x[M][N_IN], y[M][N_OUT];
    const float x1[M] = {0.5f, -0.5f, 1.0f, 0.0f, 2.0f};
    (void)state;
    memcpy(x, X, sizeof x);
    memcpy(y, Y, sizeof y);
    x[2][0] = INFINITY;
    y[4][1] = 1.5f;
    EXPECT_FAIL_UNCHANGED(linear, NNF_ERR_STATE, nnf_net_classify(linear, x1, M, labels),
                          "sigmoid");
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_net_classify(net, NULL, M, labels), "x is NULL");
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_net_classify(net, &X[0][0], 0, labels), "m is 0");
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_net_classify(net, &X[0][0], M, NULL), "labels");
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_NUMERIC, nnf_net_classify(net, &x[0][0], M, labels),
                          "x[2][0] is inf");
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_net_metrics(net, &X[0][0], &Y[0][0], M, NULL, 2),
                          "values is NULL");
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_net_metrics(net, NULL, &Y[0][0], M, v, 6),
                          "x is NULL");
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_net_metrics(net, &X[0][0], NULL, M, v, 6),
                          "y is NULL");
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_net_metrics(net, &X[0][0], &Y[0][0], 0, v, 6),
                          "m is 0");
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_net_metrics(net, &X[0][0], &y[0][0], M, v, 6),
                          "y[4][1] = 1.5");
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_NUMERIC, nnf_net_metrics(net, &x[0][0], &Y[0][0], M, v, 6),
                          "x[2][0] is inf");
    assert_int_equal(nnf_net_create(&empty, N_IN), NNF_OK);
    keep(empty);
    EXPECT_FAIL(empty, NNF_ERR_STATE, nnf_net_classify(empty, &X[0][0], M, labels), "no layer");
    EXPECT_FAIL(empty, NNF_ERR_STATE, nnf_net_metrics(empty, &X[0][0], &Y[0][0], M, v, 6),
                "no layer");
    assert_trains(net);
    drop(net);
    drop(linear);
    drop(empty);
}

static void
test_metadata_that_is_not_utf8_too_long_or_too_many_fails_and_changes_nothing(void **state)
{
    static const char *const not_utf8[] = {
        "\x80",             /* a lone continuation byte */
        "a\xc3",            /* cut short */
        "\xc0\xaf",         /* overlong '/' */
        "\xe0\x80\xaf",     /* overlong, 3 bytes */
        "\xed\xa0\x80",     /* a UTF-16 surrogate */
        "\xf4\x90\x80\x80", /* above U+10FFFF */
        "\xff",             /* never in UTF-8 */
        "\xe2\x82x",        /* a continuation missing */
    };
    static char key[NNF_META_KEY_MAX + 2], value[NNF_META_VALUE_MAX + 2];
    char buf[64];
    nnf_net *net = trained_net();
    (void)state;
    assert_ok(net, nnf_net_set_meta(net, "name", "std"));
    for (size_t i = 0; i < sizeof not_utf8 / sizeof not_utf8[0]; i++) {
        EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_net_set_meta(net, not_utf8[i], "v"), "key");
        EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_net_set_meta(net, "name", not_utf8[i]),
                              "value");
    }
    memset(key, 'k', NNF_META_KEY_MAX + 1);
    memset(value, 'v', NNF_META_VALUE_MAX + 1);
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_net_set_meta(net, key, "v"), "65");
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_net_set_meta(net, "name", value), "4097");
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_net_set_meta(net, "", "v"), "key");
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_net_set_meta(net, NULL, "v"), "key is NULL");
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_net_get_meta(net, "absent", buf, sizeof buf),
                          "absent");
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_net_get_meta(net, "name", buf, 3), "4");
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_net_get_meta(net, "name", NULL, 8), "buf");
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_net_get_meta(net, NULL, buf, sizeof buf), "key");
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_net_meta_key(net, 1, buf, sizeof buf), "1");
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_net_meta_key(net, 0, buf, 2), "5");
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_net_meta_key(net, 0, NULL, 8), "buf");
    for (unsigned i = 1; i < NNF_META_MAX; i++) {
        (void)snprintf(buf, sizeof buf, "key %u", i);
        assert_ok(net, nnf_net_set_meta(net, buf, "x"));
    }
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_SHAPE, nnf_net_set_meta(net, "one too many", "x"), "64");
    assert_int_equal(nnf_net_meta_count(net), NNF_META_MAX);
    assert_ok(net, nnf_net_get_meta(net, "name", buf, sizeof buf));
    assert_string_equal(buf, "std");
    drop(net);
}

static void test_gradcheck_and_set_exchange_with_bad_arguments_fail_and_change_nothing(void **state)
{
    nnf_net *net = trained_net(), *empty = NULL;
    float x[M][N_IN], y[M][N_OUT];
    double err = -7.0;
    (void)state;
    memcpy(x, X, sizeof x);
    memcpy(y, Y, sizeof y);
    x[0][2] = -INFINITY;
    y[1][0] = -0.5f;
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_net_gradcheck(net, &X[0][0], &Y[0][0], M, NULL),
                          "rel_err is NULL");
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_net_gradcheck(net, NULL, &Y[0][0], M, &err),
                          "x is NULL");
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_net_gradcheck(net, &X[0][0], NULL, M, &err),
                          "y is NULL");
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_net_gradcheck(net, &X[0][0], &Y[0][0], 0, &err),
                          "m is 0");
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_NUMERIC, nnf_net_gradcheck(net, &x[0][0], &Y[0][0], M, &err),
                          "x[0][2] is -inf");
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_net_gradcheck(net, &X[0][0], &y[0][0], M, &err),
                          "y[1][0] = -0.5");
    assert_true(err == -7.0);
    assert_int_equal(nnf_net_create(&empty, N_IN), NNF_OK);
    keep(empty);
    EXPECT_FAIL(empty, NNF_ERR_STATE, nnf_net_gradcheck(empty, &X[0][0], &Y[0][0], M, &err),
                "no layer");
    assert_true(err == -7.0);
    assert_ok(net, nnf_net_set_exchange(net, NULL, NULL)); /* removing none is fine */
    assert_trains(net);
    drop(net);
    drop(empty);
}

/* ---- the trainer: its message starts with the call's name */

/* Make the trainer's message a known one (a failed nnf_trainer_set). */
static void prime_trainer(nnf_trainer *t, char *buf, size_t size)
{
    assert_int_equal(nnf_trainer_set(t, (nnf_train_key)77, 1.0), NNF_ERR_ARG);
    snprintf(buf, size, "%s", nnf_trainer_errmsg(t));
    assert_non_null(strstr(buf, "77"));
}

static void check_trainer_failure(nnf_trainer *t, const char *call, nnf_status got, nnf_status want,
                                  const char *primed, const char *const *keys, int line)
{
    char why[768];
    const char *msg = nnf_trainer_errmsg(t);
    if (got != want)
        fail_msg("line %d: %s returned %s, expected %s (message: \"%s\")", line, call,
                 nnf_status_str(got), nnf_status_str(want), msg);
    if (msg[0] == '\0' || strcmp(msg, primed) == 0)
        fail_msg("line %d: %s left no message of its own (message: \"%s\")", line, call, msg);
    if (lacks_key(call, msg, keys, why, sizeof why) ||
        lacks_prefix(call, NULL, msg, why, sizeof why))
        fail_msg("line %d: %s", line, why);
}

/* call fails with status want and a trainer message with every key */
#define EXPECT_TRAINER_FAIL(t, want, call, ...)                                    \
    do {                                                                           \
        char primed_[256];                                                         \
        prime_trainer((t), primed_, sizeof primed_);                               \
        nnf_status got_ = (call);                                                  \
        check_trainer_failure((t), #call, got_, (want), primed_,                   \
                              (const char *const[]){__VA_ARGS__, NULL}, __LINE__); \
    } while (0)

/* Every setting of a trainer, bit for bit. */
static void take_trainer(const nnf_trainer *t, double *v)
{
    for (int k = 0; k <= NNF_TRAIN_CLIP_NORM; k++)
        assert_int_equal(nnf_trainer_get(t, (nnf_train_key)k, &v[k]), NNF_OK);
}

static void test_trainer_settings_out_of_range_are_arg_and_change_nothing(void **state)
{
    static const struct {
        nnf_train_key key;
        const char *name;
        double bad[6];
    } cases[] = {
        {NNF_TRAIN_BATCH_SIZE, "batch size", {0, -1, 1.5, NAN, INFINITY, 2147483648.0}},
        {NNF_TRAIN_EPOCHS, "epochs", {0, 0.5, -3, NAN, -INFINITY, 9007199254740994.0}},
        {NNF_TRAIN_SEED, "seed", {-1, 0.25, NAN, INFINITY, 18014398509481984.0, -0.5}},
        {NNF_TRAIN_PATIENCE, "patience", {-1, 2.5, NAN, INFINITY, -INFINITY, 1e300}},
        {NNF_TRAIN_RESTORE_BEST, "restore-best", {2, -1, 0.5, NAN, INFINITY, 1e9}},
        {NNF_TRAIN_SCHEDULE, "schedule", {4, -1, 1.5, NAN, INFINITY, 99}},
        {NNF_TRAIN_DECAY, "decay", {-0.1, 1.1, NAN, INFINITY, -INFINITY, -1e-300}},
        {NNF_TRAIN_DECAY_EPOCHS, "decay epochs", {0, 1.5, -2, NAN, INFINITY, 0.999}},
        {NNF_TRAIN_CLIP_NORM, "clip norm", {-1, NAN, INFINITY, -INFINITY, 1e39, -1e-300}},
    };
    nnf_trainer *t = NULL;
    double before[NNF_TRAIN_CLIP_NORM + 1], after[NNF_TRAIN_CLIP_NORM + 1], v = -7.0;
    (void)state;
    assert_int_equal(nnf_trainer_create(&t), NNF_OK);
    assert_int_equal(nnf_trainer_set(t, NNF_TRAIN_EPOCHS, 3), NNF_OK);
    assert_int_equal(nnf_trainer_set(t, NNF_TRAIN_DECAY, 0.5), NNF_OK);
    take_trainer(t, before);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        for (size_t i = 0; i < 6; i++) {
            EXPECT_TRAINER_FAIL(t, NNF_ERR_ARG, nnf_trainer_set(t, cases[c].key, cases[c].bad[i]),
                                cases[c].name);
            take_trainer(t, after);
            if (memcmp(before, after, sizeof before) != 0)
                fail_msg("nnf_trainer_set(%s, %g) failed but changed a setting", cases[c].name,
                         cases[c].bad[i]);
        }
    EXPECT_TRAINER_FAIL(t, NNF_ERR_ARG, nnf_trainer_set(t, (nnf_train_key)9, 1), "key = 9");
    EXPECT_TRAINER_FAIL(t, NNF_ERR_ARG, nnf_trainer_set(t, (nnf_train_key)-1, 1), "key = -1");
    EXPECT_TRAINER_FAIL(t, NNF_ERR_ARG, nnf_trainer_get(t, (nnf_train_key)9, &v), "key = 9");
    EXPECT_TRAINER_FAIL(t, NNF_ERR_ARG, nnf_trainer_get(t, NNF_TRAIN_SEED, NULL), "value");
    EXPECT_TRAINER_FAIL(t, NNF_ERR_ARG, nnf_trainer_result(t, (nnf_train_result)6, &v), "key = 6");
    EXPECT_TRAINER_FAIL(t, NNF_ERR_ARG, nnf_trainer_result(t, NNF_RESULT_EPOCHS_RUN, NULL),
                        "value");
    assert_true(v == -7.0);
    EXPECT_TRAINER_FAIL(t, NNF_ERR_ARG, nnf_trainer_set_validation(t, &X[0][0], NULL, M),
                        "y is NULL");
    EXPECT_TRAINER_FAIL(t, NNF_ERR_ARG, nnf_trainer_set_validation(t, &X[0][0], &Y[0][0], 0),
                        "m is 0");
    take_trainer(t, after);
    assert_memory_equal(before, after, sizeof before);
    /* the largest values are taken */
    assert_int_equal(nnf_trainer_set(t, NNF_TRAIN_SEED, 9007199254740992.0), NNF_OK);
    assert_int_equal(nnf_trainer_set(t, NNF_TRAIN_DECAY, 1.0), NNF_OK);
    assert_int_equal(nnf_trainer_set(t, NNF_TRAIN_DECAY, 0.0), NNF_OK);
    /* before any run every result is NaN */
    for (int k = 0; k <= NNF_RESULT_LAST_COST; k++) {
        assert_int_equal(nnf_trainer_result(t, (nnf_train_result)k, &v), NNF_OK);
        assert_true(isnan(v));
    }
    nnf_trainer_destroy(t);
}

static void test_trainer_run_with_bad_data_fails_before_any_step_and_changes_nothing(void **state)
{
    nnf_net *net = trained_net(), *empty = NULL;
    nnf_trainer *t = NULL;
    float x[M][N_IN], y[M][N_OUT];
    (void)state;
    memcpy(x, X, sizeof x);
    memcpy(y, Y, sizeof y);
    x[4][0] = NAN;
    y[3][1] = 3.0f;
    assert_int_equal(nnf_trainer_create(&t), NNF_OK);
    assert_int_equal(nnf_trainer_set(t, NNF_TRAIN_BATCH_SIZE, 2), NNF_OK);
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_trainer_run(t, net, NULL, &Y[0][0], M),
                          "x is NULL");
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_trainer_run(t, net, &X[0][0], NULL, M),
                          "y is NULL");
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_trainer_run(t, net, &X[0][0], &Y[0][0], 0),
                          "m is 0");
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_NUMERIC, nnf_trainer_run(t, net, &x[0][0], &Y[0][0], M),
                          "x[4][0] is nan");
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_trainer_run(t, net, &X[0][0], &y[0][0], M),
                          "y[3][1] = 3");
    /* the trainer has the net's message */
    assert_int_equal(strncmp(nnf_trainer_errmsg(t), "nnf_trainer_run: ", 17), 0);
    assert_non_null(strstr(nnf_trainer_errmsg(t), "y[3][1] = 3"));
    /* a bad validation set fails before the first step too */
    assert_int_equal(nnf_trainer_set_validation(t, &X[0][0], &y[0][0], M), NNF_OK);
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_ARG, nnf_trainer_run(t, net, &X[0][0], &Y[0][0], M),
                          "y[3][1] = 3");
    assert_int_equal(nnf_trainer_set_validation(t, &x[0][0], &Y[0][0], M), NNF_OK);
    EXPECT_FAIL_UNCHANGED(net, NNF_ERR_NUMERIC, nnf_trainer_run(t, net, &X[0][0], &Y[0][0], M),
                          "validation");
    assert_int_equal(nnf_trainer_set_validation(t, NULL, NULL, 0), NNF_OK);
    assert_int_equal(nnf_net_epochs(net), 0);
    /* while a context reads the net */
    nnf_ctx *ctx = NULL;
    assert_ok(net, nnf_ctx_create(net, M, &ctx));
    expect_state_with_a_context(net, "nnf_trainer_run",
                                nnf_trainer_run(t, net, &X[0][0], &Y[0][0], M));
    nnf_ctx_destroy(ctx);
    /* a net without layers */
    assert_int_equal(nnf_net_create(&empty, N_IN), NNF_OK);
    keep(empty);
    EXPECT_FAIL(empty, NNF_ERR_STATE, nnf_trainer_run(t, empty, &X[0][0], &Y[0][0], M), "no layer");
    assert_ok(net, nnf_trainer_run(t, net, &X[0][0], &Y[0][0], M));
    assert_int_equal(nnf_net_epochs(net), 10);
    nnf_trainer_destroy(t);
    drop(net);
    drop(empty);
}

/* ======================================================================
 * After failures the net behaves exactly as if they never happened
 * ====================================================================== */

static void test_a_net_after_many_failed_calls_trains_exactly_like_an_untouched_twin(void **state)
{
    nnf_net *net = trained_net(), *twin = trained_net();
    nnf_layer *l1 = nnf_net_layer(net, 1), *l2 = nnf_net_layer(net, 2);
    float x[M][N_IN], y[M][N_OUT], w[MAX_W] = {0}, out[M * N_OUT], cost_a = 0, cost_b = 0;
    (void)state;
    memcpy(x, X, sizeof x);
    memcpy(y, Y, sizeof y);
    x[1][2] = NAN;
    y[2][0] = 2.0f;
    w[0] = INFINITY;
    EXPECT_FAIL(net, NNF_ERR_ARG, nnf_net_add_dense(net, 0, NNF_ACT_RELU, NULL), "units is 0");
    EXPECT_FAIL(net, NNF_ERR_ARG, nnf_net_add_dense(net, 2, (nnf_act)7, NULL), "act = 7");
    EXPECT_FAIL(net, NNF_ERR_ARG, nnf_net_set_loss(net, (nnf_loss)5), "loss = 5");
    EXPECT_FAIL(net, NNF_ERR_ARG, nnf_net_set_param(net, NNF_PARAM_LEARNING_RATE, -1.0),
                "learning rate");
    EXPECT_FAIL(net, NNF_ERR_ARG, nnf_net_init(net, (nnf_init)8, 1), "scheme = 8");
    EXPECT_FAIL(net, NNF_ERR_ARG, nnf_layer_set_slope(l1, 1.0f), "alpha = 1");
    EXPECT_FAIL(net, NNF_ERR_STATE, nnf_layer_set_slope(l2, 0.5f), "leaky_relu");
    EXPECT_FAIL(net, NNF_ERR_NUMERIC, nnf_layer_set_weights(l2, w), "w[0] is inf");
    EXPECT_FAIL(net, NNF_ERR_NUMERIC, nnf_layer_set_bias(l1, w), "b[0] is inf");
    EXPECT_FAIL(net, NNF_ERR_STATE, nnf_net_backward(net, &Y[0][0], NULL), "no forward pass");
    EXPECT_FAIL(net, NNF_ERR_STATE, nnf_net_update(net), "already applied");
    EXPECT_FAIL(net, NNF_ERR_NUMERIC, nnf_net_forward(net, &x[0][0], M, out), "x[1][2] is nan");
    EXPECT_FAIL(net, NNF_ERR_ARG, nnf_net_predict(net, &X[0][0], M, NULL), "y is NULL");
    EXPECT_FAIL(net, NNF_ERR_ARG, nnf_net_train_step(net, &X[0][0], &y[0][0], M, NULL),
                "y[2][0] = 2");
    EXPECT_FAIL(net, NNF_ERR_NUMERIC, nnf_net_train_step(net, &x[0][0], &Y[0][0], M, NULL),
                "x[1][2] is nan");
    EXPECT_FAIL(net, NNF_ERR_SHAPE,
                nnf_net_train_step(net, &X[0][0], &Y[0][0], (size_t)INT_MAX + 1, NULL),
                "2147483647");
    count_alloc_budget(0);
    EXPECT_FAIL(net, NNF_ERR_NOMEM, nnf_net_add_dense(net, 3, NNF_ACT_RELU, NULL),
                "could not allocate");
    /* same batch size as before: a step allocates nothing */
    assert_int_equal(nnf_net_train_step(net, &X[0][0], &Y[0][0], M, NULL), NNF_OK);
    assert_int_equal(nnf_net_train_step(twin, &X[0][0], &Y[0][0], M, NULL), NNF_OK);
    count_alloc_budget(-1);
    for (int i = 0; i < 3; i++) {
        assert_ok(net, nnf_net_train_step(net, &X[0][0], &Y[0][0], M, &cost_a));
        assert_ok(twin, nnf_net_train_step(twin, &X[0][0], &Y[0][0], M, &cost_b));
        assert_memory_equal(&cost_a, &cost_b, sizeof cost_a);
    }
    assert_twins(net, twin, EVERYTHING);
    /* the seed is not readable, but a new layer's weights come from it */
    assert_ok(net, nnf_net_add_dense(net, 2, NNF_ACT_SIGMOID, NULL));
    assert_ok(twin, nnf_net_add_dense(twin, 2, NNF_ACT_SIGMOID, NULL));
    assert_twins(net, twin, EVERYTHING);
    drop(net);
    drop(twin);
}

#define T(name) cmocka_unit_test_setup_teardown(name, count_alloc_reset, drop_kept)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_queries_on_null_handles_give_zero_and_destroy_null_is_a_no_op),
        T(test_every_fallible_call_on_a_null_handle_is_arg),
        T(test_net_layer_outside_1_to_depth_is_null),
        T(test_a_net_that_never_failed_has_an_empty_message),
        T(test_set_allocator_with_one_null_function_is_arg_and_keeps_the_hook),
        T(test_set_allocator_while_a_net_lives_is_state_and_keeps_the_hook),
        T(test_set_threads_below_1_is_arg_and_keeps_the_count),
        T(test_a_message_stays_until_the_next_failing_call),
        T(test_create_with_out_null_is_arg),
        T(test_create_with_zero_inputs_is_arg_and_sets_out_to_null),
        T(test_create_with_inputs_above_int_max_is_shape_and_int_max_is_accepted),
        T(test_add_dense_with_zero_units_is_arg_and_changes_nothing),
        T(test_add_dense_with_unknown_act_is_arg_and_changes_nothing),
        T(test_add_dense_with_units_above_int_max_is_shape_and_changes_nothing),
        T(test_add_dense_of_int_max_by_int_max_weights_fails_without_adding_a_layer),
        T(test_set_loss_with_unknown_loss_is_arg_and_keeps_the_loss),
        T(test_get_loss_with_null_out_is_arg),
        T(test_set_param_with_unknown_key_is_arg_and_changes_nothing),
        T(test_set_learning_rate_not_positive_or_not_finite_is_arg_and_keeps_the_rate),
        T(test_get_param_with_null_value_or_unknown_key_is_arg),
        T(test_init_with_unknown_scheme_is_arg_and_changes_nothing),
        T(test_set_slope_outside_0_1_or_not_finite_is_arg_and_keeps_the_slope),
        T(test_set_slope_on_a_layer_that_is_not_leaky_relu_is_state),
        T(test_get_slope_with_null_out_is_arg),
        T(test_set_optimizer_to_a_non_optimizer_value_is_arg_and_changes_nothing),
        T(test_set_momentum_outside_0_1_is_arg_and_changes_nothing),
        T(test_set_adam_betas_outside_0_1_is_arg_and_changes_nothing),
        T(test_set_adam_epsilon_not_positive_or_not_finite_is_arg_and_changes_nothing),
        T(test_set_l2_penalty_negative_or_not_finite_is_arg_and_changes_nothing),
        T(test_settings_that_underflow_float_are_arg_and_change_nothing),
        T(test_layer_copies_with_a_null_buffer_are_arg_and_change_nothing),
        T(test_set_weights_with_nan_or_infinity_is_numeric_and_changes_nothing),
        T(test_set_bias_with_nan_or_infinity_is_numeric_and_changes_nothing),
        T(test_a_failed_set_weights_or_set_bias_keeps_the_forward_pass),
        T(test_gradients_before_any_backward_are_state),
        T(test_gradients_after_add_dense_or_init_are_state),
        T(test_batch_calls_with_x_null_are_arg_and_change_nothing),
        T(test_batch_calls_with_m_zero_are_arg_and_change_nothing),
        T(test_batch_calls_with_m_above_int_max_are_shape_and_change_nothing),
        T(test_batch_calls_on_a_net_with_no_layer_are_state),
        T(test_forward_with_nan_or_infinity_in_x_is_numeric_and_names_the_element),
        T(test_predict_with_nan_or_infinity_in_x_is_numeric_and_names_the_element),
        T(test_train_step_with_nan_or_infinity_in_x_is_numeric_and_changes_nothing),
        T(test_predict_with_y_null_is_arg_and_changes_nothing),
        T(test_failed_forward_or_predict_keeps_the_stored_forward_pass),
        T(test_forward_with_a_non_finite_output_is_numeric_and_discards_the_forward_pass),
        T(test_backward_without_a_forward_pass_is_state),
        T(test_backward_twice_after_one_forward_is_state_and_keeps_the_gradients),
        T(test_backward_with_y_null_is_arg_and_keeps_the_forward_pass),
        T(test_backward_with_nan_or_infinity_in_y_is_numeric_and_keeps_the_forward_pass),
        T(test_backward_with_bce_label_outside_0_1_is_arg_and_keeps_the_forward_pass),
        T(test_backward_with_bce_on_a_non_sigmoid_output_is_state_and_mse_works),
        T(test_backward_with_a_non_finite_gradient_is_numeric_and_keeps_no_gradient),
        T(test_backward_with_a_non_finite_cost_is_numeric_and_keeps_no_gradient),
        T(test_update_without_a_backward_is_state_and_changes_nothing),
        T(test_update_twice_after_one_backward_is_state_and_changes_nothing),
        T(test_train_step_with_y_null_is_arg_and_changes_nothing),
        T(test_train_step_with_nan_or_infinity_in_y_is_numeric_and_changes_nothing),
        T(test_train_step_with_bce_label_outside_0_1_is_arg_and_changes_nothing),
        T(test_train_step_with_bce_on_a_non_sigmoid_output_is_state_and_mse_works),
        T(test_train_step_with_a_non_finite_output_is_numeric_and_changes_nothing),
        T(test_train_step_with_a_non_finite_cost_is_numeric_and_changes_nothing),
        T(test_train_step_with_a_non_finite_gradient_is_numeric_and_changes_nothing),
        T(test_train_step_that_diverges_fails_without_changing_the_parameters),
        T(test_update_whose_result_would_overflow_is_numeric_and_changes_nothing),
        T(test_add_dense_after_a_softmax_layer_is_state_and_changes_nothing),
        T(test_softmax_output_with_bce_or_mse_is_state_and_changes_nothing),
        T(test_cross_entropy_without_a_softmax_output_is_state_and_changes_nothing),
        T(test_cross_entropy_labels_outside_0_1_are_arg_and_keep_the_forward_pass),
        T(test_train_with_zero_batch_size_or_epochs_is_arg_and_changes_nothing),
        T(test_train_with_nan_in_x_fails_before_any_step_and_names_the_row),
        T(test_train_whose_step_diverges_stops_there_and_keeps_the_last_good_parameters),
        T(test_train_with_bad_data_or_net_fails_before_any_step),
        T(test_evaluate_with_infinity_in_x_is_numeric_and_names_the_callers_row),
        T(test_evaluate_with_bad_data_or_net_fails_and_writes_no_result),
        T(test_saved_size_with_size_null_or_unknown_flags_is_arg_and_changes_nothing),
        T(test_save_mem_with_buf_null_unknown_flags_or_a_small_cap_writes_nothing),
        T(test_save_with_path_null_or_unknown_flags_is_arg_and_creates_no_file),
        T(test_load_with_out_null_or_no_data_is_arg),
        T(test_load_with_a_null_or_tiny_error_buffer_cuts_the_message_safely),
        T(test_clone_with_out_null_is_arg_and_changes_nothing),
        T(test_calls_of_1_3_on_null_handles_are_arg_or_give_zero),
        T(test_set_dropout_out_of_range_or_on_the_output_layer_fails_and_keeps_the_rate),
        T(test_set_weight_decay_negative_or_not_finite_is_arg_and_changes_nothing),
        T(test_input_scaling_with_bad_arguments_fails_and_changes_nothing),
        T(test_classify_and_metrics_with_bad_arguments_fail_and_change_nothing),
        T(test_metadata_that_is_not_utf8_too_long_or_too_many_fails_and_changes_nothing),
        T(test_gradcheck_and_set_exchange_with_bad_arguments_fail_and_change_nothing),
        T(test_trainer_settings_out_of_range_are_arg_and_change_nothing),
        T(test_trainer_run_with_bad_data_fails_before_any_step_and_changes_nothing),
        T(test_a_net_after_many_failed_calls_trains_exactly_like_an_untouched_twin),
    };
    return cmocka_run_group_tests(tests, count_alloc_install, count_alloc_remove);
}
