/*
 * test_oom.c - black-box: every allocation failure (libuv's test-loop-oom,
 * sqlite's OOM tests). For each public call that can allocate, allocation
 * k = 1, 2, ... of the call is made to fail until the call succeeds. Each
 * failure must be NNF_ERR_NOMEM with a message, leak nothing, leave *out
 * NULL, and leave the net bit-identical (parameters, settings, optimizer
 * state) and usable; the same call then succeeds once allocations do.
 * Calls that must not allocate are shown to allocate nothing.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "assert_ok.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nnfast.h"
#include "count_alloc.h"
#include "nets.h"
#include "params.h"
#include "snapshot.h"

/* ---- data: up to M_BIG samples of at most N_MAX features or outputs */

enum { N_IN = 3, N_HID = 4, N_OUT = 2, N_MAX = 4, M_SMALL = 2, M_BIG = 8 };

static float g_x[M_BIG * N_MAX], g_y[M_BIG * N_MAX];

/* a scratch directory (mkdtemp) for nnf_net_save / nnf_net_load */
static char g_dir[64];
static char g_load_path[128], g_save_path[128];

/* a saved Adam net with its optimizer state, for the load cases */
#define IMAGE_CAP 4096
static unsigned char g_image[IMAGE_CAP];
static size_t g_image_size;

/* ---- nets the calls work on (built with allocation working) */

static nnf_net *net_empty(void)
{
    nnf_net *net = NULL;
    assert_ok(net, nnf_net_create(&net, N_IN));
    /* MSE fits any output layer, so every net here can take a train step */
    assert_ok(net, nnf_net_set_loss(net, NNF_LOSS_MSE));
    return net;
}

static nnf_net *net_hidden(void)
{
    nnf_net *net = net_empty();
    assert_ok(net, nnf_net_add_dense(net, N_HID, NNF_ACT_TANH, NULL));
    return net;
}

static nnf_net *net_full(void)
{
    nnf_net *net = net_hidden();
    assert_ok(net, nnf_net_add_dense(net, N_OUT, NNF_ACT_SIGMOID, NULL));
    return net;
}

/* A full net after one step at M_SMALL: a workspace for M_SMALL, gradients. */
static nnf_net *net_trained(void)
{
    nnf_net *net = net_full();
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_LEARNING_RATE, 0.1));
    assert_ok(net, nnf_net_train_step(net, g_x, g_y, M_SMALL, NULL));
    return net;
}

/* Four layers: the fifth outgrows the layer array. */
static nnf_net *net_four(void)
{
    nnf_net *net = net_empty();
    assert_ok(net, nnf_net_add_dense(net, N_HID, NNF_ACT_TANH, NULL));
    assert_ok(net, nnf_net_add_dense(net, N_HID, NNF_ACT_RELU, NULL));
    assert_ok(net, nnf_net_add_dense(net, N_HID, NNF_ACT_LEAKY_RELU, NULL));
    assert_ok(net, nnf_net_add_dense(net, N_OUT, NNF_ACT_SIGMOID, NULL));
    return net;
}

static nnf_net *net_with_optimizer(nnf_optimizer opt)
{
    nnf_net *net = net_trained();
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_OPTIMIZER, (double)opt));
    /* two steps: a non-zero state and t = 2, which a failure must keep */
    assert_ok(net, nnf_net_train_step(net, g_x, g_y, M_SMALL, NULL));
    assert_ok(net, nnf_net_train_step(net, g_x, g_y, M_SMALL, NULL));
    return net;
}

static nnf_net *net_momentum(void)
{
    return net_with_optimizer(NNF_OPT_MOMENTUM);
}

static nnf_net *net_adam(void)
{
    return net_with_optimizer(NNF_OPT_ADAM);
}

/* Adam with one hidden layer only, for adding a layer (the state grows). */
static nnf_net *net_adam_hidden(void)
{
    nnf_net *net = net_hidden();
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_OPTIMIZER, NNF_OPT_ADAM));
    assert_ok(net, nnf_net_train_step(net, g_x, g_y, M_SMALL, NULL));
    return net;
}

/* A trained net with a stored forward pass of M_SMALL samples. */
static nnf_net *net_forwarded(void)
{
    nnf_net *net = net_trained();
    assert_ok(net, nnf_net_forward(net, g_x, M_SMALL, NULL));
    return net;
}

/* ---- sizes of the nets above */

#define MAX_W 32
#define MAX_U 8

/* ---- the calls under test: net is the case's net (NULL for create and
 * load), *out receives a new net (create, load, clone) */

typedef nnf_status (*call_fn)(nnf_net *net, nnf_net **out);

static nnf_status call_create(nnf_net *net, nnf_net **out)
{
    (void)net;
    return nnf_net_create(out, N_IN);
}

/* add_dense must leave *layer NULL on failure, and set it on success */
static nnf_status add_layer(nnf_net *net, size_t units, nnf_act act)
{
    nnf_layer *layer = (nnf_layer *)&g_count;
    nnf_status st = nnf_net_add_dense(net, units, act, &layer);
    if (st != NNF_OK)
        assert_null(layer);
    else
        assert_ptr_equal(layer, nnf_net_layer(net, nnf_net_depth(net)));
    return st;
}

static nnf_status call_add_dense_sigmoid(nnf_net *net, nnf_net **out)
{
    (void)out;
    return add_layer(net, N_OUT, NNF_ACT_SIGMOID);
}

static nnf_status call_add_dense_fifth(nnf_net *net, nnf_net **out)
{
    (void)out;
    return add_layer(net, 3, NNF_ACT_LINEAR);
}

static nnf_status call_set_momentum(nnf_net *net, nnf_net **out)
{
    (void)out;
    return nnf_net_set_param(net, NNF_PARAM_OPTIMIZER, NNF_OPT_MOMENTUM);
}

static nnf_status call_set_adam(nnf_net *net, nnf_net **out)
{
    (void)out;
    return nnf_net_set_param(net, NNF_PARAM_OPTIMIZER, NNF_OPT_ADAM);
}

static nnf_status call_forward_big(nnf_net *net, nnf_net **out)
{
    (void)out;
    float y[M_BIG * N_MAX];
    return nnf_net_forward(net, g_x, M_BIG, y);
}

static nnf_status call_train_step_big(nnf_net *net, nnf_net **out)
{
    (void)out;
    return nnf_net_train_step(net, g_x, g_y, M_BIG, NULL);
}

static nnf_status call_predict_big(nnf_net *net, nnf_net **out)
{
    (void)out;
    float y[M_BIG * N_MAX];
    return nnf_net_predict(net, g_x, M_BIG, y);
}

static nnf_status call_train_in_order(nnf_net *net, nnf_net **out)
{
    (void)out;
    size_t steps = 99;
    nnf_status st = nnf_net_train(net, g_x, g_y, M_BIG, M_BIG / 2, 2, 0, 0, NULL, NULL, &steps);
    assert_int_equal(steps, st == NNF_OK ? 4 : 0);
    return st;
}

static nnf_status call_train_shuffled(nnf_net *net, nnf_net **out)
{
    (void)out;
    size_t steps = 99;
    nnf_status st = nnf_net_train(net, g_x, g_y, M_BIG, 3, 2, 1, 42, NULL, NULL, &steps);
    assert_int_equal(steps, st == NNF_OK ? 6 : 0);
    return st;
}

static nnf_status call_evaluate_big(nnf_net *net, nnf_net **out)
{
    (void)out;
    float cost = NAN, accuracy = NAN;
    nnf_status st = nnf_net_evaluate(net, g_x, g_y, M_BIG, &cost, &accuracy);
    if (st == NNF_OK)
        assert_true(isfinite(cost) && isnan(accuracy)); /* MSE: no accuracy */
    return st;
}

/* Only the files the test made may be in the directory: a failed save
 * leaves no temporary file behind. */
static void assert_no_stray_files(void)
{
    DIR *d = opendir(g_dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *n = e->d_name;
        if (strcmp(n, ".") && strcmp(n, "..") && strcmp(n, "load.nnf") && strcmp(n, "saved.nnf"))
            fail_msg("stray file %s/%s", g_dir, n);
    }
    closedir(d);
}

static nnf_status call_save_file(nnf_net *net, nnf_net **out)
{
    (void)out;
    (void)unlink(g_save_path);
    nnf_status st = nnf_net_save(net, g_save_path, NNF_SAVE_OPTIMIZER_STATE);
    assert_no_stray_files();
    if (st != NNF_OK) {
        assert_int_equal(access(g_save_path, F_OK), -1);
        return st;
    }
    /* the file holds exactly what nnf_net_save_mem writes */
    unsigned char want[IMAGE_CAP], got[IMAGE_CAP + 1];
    size_t size = 0;
    assert_ok(net, nnf_net_save_mem(net, want, sizeof want, NNF_SAVE_OPTIMIZER_STATE, &size));
    FILE *f = fopen(g_save_path, "rb");
    assert_non_null(f);
    size_t n = fread(got, 1, sizeof got, f);
    fclose(f);
    assert_int_equal(n, size);
    assert_memory_equal(got, want, size);
    return st;
}

static nnf_status call_load_mem(nnf_net *net, nnf_net **out)
{
    (void)net;
    char err[256] = "x";
    nnf_status st = nnf_net_load_mem(out, g_image, g_image_size, err, sizeof err);
    if (st != NNF_OK && !strstr(err, "memory") && !strstr(err, "allocat"))
        fail_msg("nnf_net_load_mem: %s: message \"%s\" does not say so", nnf_status_str(st), err);
    return st;
}

static nnf_status call_load_file(nnf_net *net, nnf_net **out)
{
    (void)net;
    char err[256] = "x";
    nnf_status st = nnf_net_load(out, g_load_path, err, sizeof err);
    if (st != NNF_OK && !strstr(err, "memory") && !strstr(err, "allocat"))
        fail_msg("nnf_net_load: %s: message \"%s\" does not say so", nnf_status_str(st), err);
    return st;
}

static nnf_status call_clone(nnf_net *net, nnf_net **out)
{
    return nnf_net_clone(net, out);
}

/* ---- checks after a failure beyond the common ones */

/* A failed forward keeps the stored forward pass (only a non-finite
 * output discards it): its backward still works. */
static void keeps_forward_pass(nnf_net *net)
{
    assert_ok(net, nnf_net_backward(net, g_y, NULL));
}

/* ---- the harness */

typedef struct oom_case {
    const char *name;
    nnf_net *(*setup)(void); /* the net the call works on; NULL: none */
    call_fn call;
    int makes_net;           /* the call creates *out */
    const unsigned char *want_image; /* *out must save to this (NULL: skip) */
    void (*after_failure)(nnf_net *net); /* extra check (NULL: none) */
    int min_points;          /* allocations the call must make at least */
} oom_case;

/* The image the new net *out must save to: the source for clone. */
static void check_new_net(const oom_case *c, nnf_net *src, nnf_net *out)
{
    unsigned char got[IMAGE_CAP], want[IMAGE_CAP];
    size_t got_size = 0, want_size = g_image_size;
    const unsigned char *w = c->want_image;
    assert_ok(out, nnf_net_save_mem(out, got, sizeof got, NNF_SAVE_OPTIMIZER_STATE, &got_size));
    if (src) {
        assert_ok(src, nnf_net_save_mem(src, want, sizeof want, NNF_SAVE_OPTIMIZER_STATE,
                                        &want_size));
        w = want;
    }
    if (w) {
        assert_int_equal(got_size, want_size);
        assert_memory_equal(got, w, got_size);
    }
}

/* Fail allocation k = 1, 2, ... of the call until it succeeds. Returns the
 * number of failure points (allocations the successful call made). */
static int run_case(const oom_case *c)
{
    int points = 0;
    for (long k = 1;; k++) {
        g_count.fail_at = 0;
        assert_int_equal(g_count.live, 0);
        nnf_net *net = c->setup ? c->setup() : NULL;
        snapshot before = {0};
        if (net)
            snapshot_take(net, &before);
        long live = g_count.live, allocs = g_count.allocs;
        nnf_net *out = (nnf_net *)&g_count; /* must be set (NULL on failure) */
        g_count.fail_at = allocs + k;
        nnf_status st = c->call(net, &out);
        g_count.fail_at = 0;
        long made = g_count.allocs - allocs;

        if (st == NNF_OK) {
            /* the successful call made k - 1 allocations: all were failed before */
            if (made != k - 1)
                fail_msg("%s: succeeded after %ld allocations with allocation %ld failing",
                         c->name, made, k);
            if (c->makes_net) {
                assert_non_null(out);
                assert_ptr_not_equal(out, (nnf_net *)&g_count);
                check_new_net(c, c->call == call_clone ? net : NULL, out);
                if (nnf_net_depth(out))
                    assert_trains(out);
                nnf_net_destroy(out);
            }
            if (nnf_net_depth(net))
                assert_trains(net);
            nnf_net_destroy(net);
            snapshot_free(&before);
            assert_int_equal(g_count.live, 0);
            break;
        }

        points++;
        if (st != NNF_ERR_NOMEM)
            fail_msg("%s: allocation %ld failed: %s (%s), expected NNF_ERR_NOMEM", c->name, k,
                     nnf_status_str(st), net ? nnf_net_errmsg(net) : "");
        if (made < k)
            fail_msg("%s: failed at allocation %ld after only %ld allocations", c->name, k, made);
        if (g_count.live != live)
            fail_msg("%s: allocation %ld failed: %ld blocks leaked", c->name, k,
                     g_count.live - live);
        if (c->makes_net)
            assert_null(out);
        if (net) {
            if (!strstr(nnf_net_errmsg(net), "allocate"))
                fail_msg("%s: allocation %ld failed: message \"%s\"", c->name, k,
                         nnf_net_errmsg(net));
            assert_unchanged(net, &before, SNAP_STATE, c->name);
            if (c->after_failure)
                c->after_failure(net);
            if (nnf_net_depth(net))
                assert_trains(net);
        }
        /* the same call on the same net succeeds once allocations do */
        out = NULL;
        assert_int_equal(c->call(net, &out), NNF_OK);
        if (c->makes_net) {
            assert_non_null(out);
            nnf_net_destroy(out);
        }
        if (nnf_net_depth(net))
            assert_trains(net);
        nnf_net_destroy(net);
        snapshot_free(&before);
        assert_int_equal(g_count.live, 0);
    }
    if (points < c->min_points)
        fail_msg("%s: %d allocation-failure points, expected at least %d", c->name, points,
                 c->min_points);
    return points;
}

static const oom_case g_cases[] = {
    {"nnf_net_create", NULL, call_create, 1, NULL, NULL, 1},
    {"nnf_net_add_dense (first layer)", net_empty, call_add_dense_sigmoid, 0, NULL, NULL, 4},
    {"nnf_net_add_dense (second layer)", net_hidden, call_add_dense_sigmoid, 0, NULL, NULL, 3},
    {"nnf_net_add_dense (fifth layer)", net_four, call_add_dense_fifth, 0, NULL, NULL, 4},
    {"nnf_net_add_dense (Adam: the state grows)", net_adam_hidden, call_add_dense_sigmoid, 0,
     NULL, NULL, 4},
    {"nnf_net_set_param (SGD -> momentum)", net_trained, call_set_momentum, 0, NULL, NULL, 1},
    {"nnf_net_set_param (SGD -> Adam)", net_trained, call_set_adam, 0, NULL, NULL, 1},
    {"nnf_net_set_param (momentum -> Adam)", net_momentum, call_set_adam, 0, NULL, NULL, 1},
    {"nnf_net_set_param (Adam -> momentum)", net_adam, call_set_momentum, 0, NULL, NULL, 1},
    {"nnf_net_forward (first call)", net_full, call_forward_big, 0, NULL, NULL, 2},
    {"nnf_net_forward (larger m)", net_trained, call_forward_big, 0, NULL, NULL, 2},
    {"nnf_net_forward (larger m, forward pass stored)", net_forwarded, call_forward_big, 0,
     NULL, keeps_forward_pass, 1},
    {"nnf_net_train_step (first call)", net_full, call_train_step_big, 0, NULL, NULL, 1},
    {"nnf_net_train_step (larger m)", net_trained, call_train_step_big, 0, NULL, NULL, 1},
    {"nnf_net_train_step (larger m, Adam)", net_adam, call_train_step_big, 0, NULL, NULL, 1},
    {"nnf_net_predict (first call)", net_full, call_predict_big, 0, NULL, NULL, 1},
    {"nnf_net_predict (larger m)", net_trained, call_predict_big, 0, NULL, NULL, 1},
    {"nnf_net_train (in order)", net_trained, call_train_in_order, 0, NULL, NULL, 1},
    {"nnf_net_train (shuffled)", net_trained, call_train_shuffled, 0, NULL, NULL, 2},
    {"nnf_net_train (shuffled, Adam)", net_adam, call_train_shuffled, 0, NULL, NULL, 2},
    {"nnf_net_evaluate (larger m)", net_trained, call_evaluate_big, 0, NULL, NULL, 1},
    {"nnf_net_save", net_adam, call_save_file, 0, NULL, NULL, 1},
    {"nnf_net_load_mem", NULL, call_load_mem, 1, g_image, NULL, 3},
    {"nnf_net_load", NULL, call_load_file, 1, g_image, NULL, 4},
    {"nnf_net_clone (SGD)", net_trained, call_clone, 1, NULL, NULL, 3},
    {"nnf_net_clone (Adam)", net_adam, call_clone, 1, NULL, NULL, 4},
    {"nnf_net_clone (empty net)", net_empty, call_clone, 1, NULL, NULL, 1},
};

static void test_every_failed_allocation_is_nomem_and_changes_nothing(void **state)
{
    (void)state;
    int total = 0;
    for (size_t i = 0; i < sizeof g_cases / sizeof g_cases[0]; i++) {
        int points = run_case(&g_cases[i]);
        print_message("  %-48s %2d\n", g_cases[i].name, points);
        total += points;
    }
    print_message("allocation-failure points exercised: %d\n", total);
    assert_true(total > 0);
}

/* The harness itself: a counter that never fails sees the calls allocate,
 * and one that fails shows the failure (so 0 points cannot pass silently). */
static void test_allocator_hook_sees_the_calls(void **state)
{
    (void)state;
    long a = g_count.allocs;
    nnf_net *net = net_full();
    assert_true(g_count.allocs - a >= 5);
    assert_true(g_count.live > 0);
    g_count.fail_at = g_count.allocs + 1;
    float out[M_BIG * N_MAX];
    assert_int_equal(nnf_net_predict(net, g_x, M_BIG, out), NNF_ERR_NOMEM);
    g_count.fail_at = 0;
    nnf_net_destroy(net);
    assert_int_equal(g_count.live, 0);
}

/* ---- the first calls on a net (from test_alloc.c) */

enum { A_N0 = 5, A_M = 64 };
static const size_t g_alloc_units[] = {8, 6, 1};
static const nnf_act g_alloc_acts[] = {NNF_ACT_RELU, NNF_ACT_TANH, NNF_ACT_SIGMOID};
static const net_spec g_alloc_spec = {.inputs = A_N0, .depth = 3, .units = g_alloc_units,
                                      .acts = g_alloc_acts};

/* Fail allocation k = 1, 2, ... of each call until it succeeds: each
 * failure is NNF_ERR_NOMEM, leaks nothing and changes no parameter. */
static void test_first_calls_fail_cleanly_at_every_allocation(void **state)
{
    (void)state;
    float x[A_M * A_N0], y[A_M], before[PARAMS_MAX], after[PARAMS_MAX];
    make_data(x, y, A_M, A_N0, 1, 0);

    for (long k = 1;; k++) { /* nnf_net_create */
        memset(&g_count, 0, sizeof g_count);
        g_count.fail_at = k;
        nnf_net *net = (nnf_net *)&g_count; /* must be reset to NULL on failure */
        nnf_status st = nnf_net_create(&net, A_N0);
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
        assert_int_equal(nnf_net_create(&net, A_N0), NNF_OK);
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
        nnf_net *net = net_build(&g_alloc_spec);
        size_t n = net_params(net, before);
        g_count.fail_at = g_count.allocs + k;
        nnf_status st = nnf_net_train_step(net, x, y, A_M, NULL);
        if (st == NNF_OK)
            st = nnf_net_forward(net, x, A_M, NULL);
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
        assert_int_equal(nnf_net_train_step(net, x, y, A_M, NULL), NNF_OK);
        nnf_net_destroy(net);
        assert_int_equal(g_count.live, 0);
    }
    assert_int_equal(points, 2);
}

/* ---- nnf_net_train's allocations (from test_minibatch.c) */

static const size_t g_bce_units[] = {5, 1};
static const nnf_act g_bce_acts[] = {NNF_ACT_TANH, NNF_ACT_SIGMOID};
static const net_spec g_bce_spec = {.inputs = 3, .depth = 2, .units = g_bce_units,
                                    .acts = g_bce_acts, .lr = 0.5, .seed = 3};

static void test_train_failed_allocation_is_nomem_and_changes_nothing(void **state)
{
    (void)state;
    enum { M = 10, B = 4 };
    float x[M * 3], y[M], p0[PARAMS_MAX], p1[PARAMS_MAX];
    make_data(x, y, M, 3, 1, 0);
    counter *c = &g_count; /* installed by the test's setup */
    nnf_net *net = net_build(&g_bce_spec);
    size_t n = net_params(net, p0), steps = 99;

    /* shuffled on a net without workspace: fail each allocation in turn */
    long failures = 0;
    for (;;) {
        long live = c->live;
        c->fail_at = c->allocs + 1 + failures;
        nnf_status st = nnf_net_train(net, x, y, M, B, 2, 1, 9, NULL, NULL, &steps);
        if (st == NNF_OK)
            break;
        assert_int_equal(st, NNF_ERR_NOMEM);
        assert_int_equal(steps, 0);
        assert_non_null(strstr(nnf_net_errmsg(net), "nnf_net_train: could not allocate"));
        assert_int_equal(net_params(net, p1), n);
        assert_memory_equal(p0, p1, n * sizeof(float));
        assert_int_equal(c->live, live);
        failures++;
        assert_true(failures < 10);
    }
    c->fail_at = 0;
    assert_true(failures >= 4); /* order, two batch buffers, workspace */
    assert_int_equal(steps, 6);

    /* in order with the workspace in place: nothing to allocate */
    long allocs = c->allocs;
    assert_ok(net, nnf_net_train(net, x, y, M, B, 2, 0, 0, NULL, NULL, NULL));
    assert_int_equal(c->allocs, allocs);
    /* evaluate fits in the workspace training left (chunks of cap_m >= m) */
    assert_ok(net, nnf_net_train(net, x, y, M, M, 1, 0, 0, NULL, NULL, NULL));
    allocs = c->allocs;
    float cost;
    assert_ok(net, nnf_net_evaluate(net, x, y, M, &cost, NULL));
    assert_int_equal(c->allocs, allocs);
    nnf_net_destroy(net);

    /* in order on a fresh net: the workspace is the first allocation */
    net = net_build(&g_bce_spec);
    c->fail_at = c->allocs + 1;
    assert_int_equal(nnf_net_train(net, x, y, M, B, 2, 0, 0, NULL, NULL, &steps), NNF_ERR_NOMEM);
    c->fail_at = 0;
    assert_int_equal(steps, 0);
    assert_int_equal(net_params(net, p1), n);
    assert_memory_equal(p0, p1, n * sizeof(float));
    nnf_net_destroy(net);
    assert_int_equal(c->live, 0);
}

/* ---- fixtures */

static int group_setup(void **state)
{
    (void)state;
    for (size_t i = 0; i < M_BIG * N_MAX; i++) {
        g_x[i] = (float)((i * 7 + 3) % 13) / 6.5f - 1.0f;
        g_y[i] = (float)((i * 5 + 1) % 4) / 3.0f;
    }
    if (count_alloc_install(state) != 0)
        return -1;
    (void)snprintf(g_dir, sizeof g_dir, "nnf_oom.XXXXXX");
    if (!mkdtemp(g_dir))
        return -1;
    (void)snprintf(g_load_path, sizeof g_load_path, "%s/load.nnf", g_dir);
    (void)snprintf(g_save_path, sizeof g_save_path, "%s/saved.nnf", g_dir);

    /* the net the load cases read: Adam, with its state */
    nnf_net *net = net_adam();
    nnf_status st = nnf_net_save_mem(net, g_image, sizeof g_image, NNF_SAVE_OPTIMIZER_STATE,
                                     &g_image_size);
    if (st == NNF_OK)
        st = nnf_net_save(net, g_load_path, NNF_SAVE_OPTIMIZER_STATE);
    nnf_net_destroy(net);
    return st == NNF_OK && g_count.live == 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    (void)unlink(g_load_path);
    (void)unlink(g_save_path);
    int rc = rmdir(g_dir);
    return count_alloc_remove(state) == 0 && rc == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_first_calls_fail_cleanly_at_every_allocation, count_alloc_reset),
        cmocka_unit_test_setup(test_train_failed_allocation_is_nomem_and_changes_nothing,
                               count_alloc_reset),
        cmocka_unit_test_setup(test_allocator_hook_sees_the_calls, count_alloc_reset),
        cmocka_unit_test_setup(test_every_failed_allocation_is_nomem_and_changes_nothing,
                               count_alloc_reset),
    };
    return cmocka_run_group_tests_name("oom", tests, group_setup, group_teardown);
}
