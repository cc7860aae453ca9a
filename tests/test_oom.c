/* SPDX-License-Identifier: MIT */
/*
 * test_oom.c - black-box: every allocation failure, in one place (libuv's
 * test-loop-oom, sqlite's OOM tests). For each public call that can
 * allocate, allocation k = 1, 2, ... of the call is made to fail until the
 * call succeeds. Each failure must fail cleanly: NNF_ERR_NOMEM with a
 * message saying so, nothing leaked, *out NULL, the net bit-identical
 * (architecture, settings, parameters, gradients, optimizer state and seed)
 * and usable, files as they were; the same call then succeeds once
 * allocations do, making exactly the allocations that were failed one by
 * one. (That calls at a steady size allocate nothing is in test_memory.c.)
 */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "assert_ok.h"
#include "count_alloc.h"
#include "nets.h"
#include "snapshot.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nnfast.h"

/* ---- data: up to M_BIG samples of at most N_MAX features or outputs */

enum { N_IN = 3, N_HID = 4, N_OUT = 2, N_MAX = 4, M_SMALL = 2, M_BIG = 8 };

static float g_x[M_BIG * N_MAX], g_y[M_BIG * N_MAX];

/* Saved nets, with their optimizer state, for the load cases: in memory
 * and in a file of the scratch directory. */
#define IMAGE_CAP 4096

typedef struct saved {
    unsigned char bytes[IMAGE_CAP];
    size_t size;
    char path[128];
} saved;

static saved g_adam;  /* net_adam() below */
static saved g_mixed; /* mixed_net() of nets.h: three layers, momentum, softmax */

/* a scratch directory (mkdtemp) for nnf_net_save and nnf_net_load */
static char g_dir[64], g_save_path[128];

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

/* Four layers, trained a step (so it holds gradients): the fifth layer
 * outgrows the layer array. */
static nnf_net *net_four(void)
{
    nnf_net *net = net_empty();
    assert_ok(net, nnf_net_add_dense(net, N_HID, NNF_ACT_TANH, NULL));
    assert_ok(net, nnf_net_add_dense(net, N_HID, NNF_ACT_RELU, NULL));
    assert_ok(net, nnf_net_add_dense(net, N_HID, NNF_ACT_LEAKY_RELU, NULL));
    assert_ok(net, nnf_net_add_dense(net, N_OUT, NNF_ACT_SIGMOID, NULL));
    assert_ok(net, nnf_net_train_step(net, g_x, g_y, M_SMALL, NULL));
    return net;
}

static nnf_net *trained_net_with(nnf_optimizer opt)
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
    return trained_net_with(NNF_OPT_MOMENTUM);
}

static nnf_net *net_adam(void)
{
    return trained_net_with(NNF_OPT_ADAM);
}

/* Adam with one hidden layer only, for adding a layer (the state grows). */
static nnf_net *net_adam_hidden(void)
{
    nnf_net *net = net_hidden();
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_OPTIMIZER, NNF_OPT_ADAM));
    assert_ok(net, nnf_net_train_step(net, g_x, g_y, M_SMALL, NULL));
    return net;
}

/* A trained net whose optimizer was just switched, with fresh gradients:
 * its next update allocates the new optimizer's state. */
static nnf_net *switched_to(nnf_net *net, nnf_optimizer opt)
{
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_OPTIMIZER, (double)opt));
    assert_ok(net, nnf_net_forward(net, g_x, M_SMALL, NULL));
    assert_ok(net, nnf_net_backward(net, g_y, NULL));
    return net;
}

static nnf_net *net_switched_momentum(void)
{
    return switched_to(net_trained(), NNF_OPT_MOMENTUM);
}

static nnf_net *net_switched_adam(void)
{
    return switched_to(net_momentum(), NNF_OPT_ADAM);
}

/* A trained net with a stored forward pass of M_SMALL samples. */
static nnf_net *net_forwarded(void)
{
    nnf_net *net = net_trained();
    assert_ok(net, nnf_net_forward(net, g_x, M_SMALL, NULL));
    return net;
}

/* ---- the calls under test */

typedef enum call_kind {
    CREATE,
    ADD_SIGMOID,
    ADD_FIFTH,
    UPDATE,
    FORWARD_BIG,
    FORWARD_SMALL,
    TRAIN_STEP_BIG,
    PREDICT_BIG,
    TRAIN_IN_ORDER,
    TRAIN_SHUFFLED,
    EVALUATE_BIG,
    SAVE,
    LOAD_MEM,
    LOAD_FILE,
    CLONE
} call_kind;

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

/* Two epochs of nnf_net_train: no step reported when it fails, all of them
 * otherwise. */
static nnf_status train_twice(nnf_net *net, size_t batch, int shuffle, size_t want_steps)
{
    size_t steps = 99;
    nnf_status st = nnf_net_train(net, g_x, g_y, M_BIG, batch, 2, shuffle, 42, NULL, NULL, &steps);
    assert_int_equal(steps, st == NNF_OK ? want_steps : 0);
    return st;
}

static nnf_status evaluate(nnf_net *net)
{
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
        if (strcmp(n, ".") && strcmp(n, "..") && strcmp(n, "adam.nnf") && strcmp(n, "mixed.nnf") &&
            strcmp(n, "saved.nnf"))
            fail_msg("stray file %s/%s", g_dir, n);
    }
    closedir(d);
}

static void write_file(const char *path, const void *bytes, size_t size)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, size, f), size);
    assert_int_equal(fclose(f), 0);
}

static void assert_file_holds(const char *path, const void *bytes, size_t size)
{
    unsigned char got[IMAGE_CAP + 1];
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t n = fread(got, 1, sizeof got, f);
    fclose(f);
    assert_int_equal(n, size);
    assert_memory_equal(got, bytes, size);
}

/* Over an older model: a failed save leaves it whole, a successful one
 * writes exactly what nnf_net_save_mem writes. */
static nnf_status save_file(nnf_net *net)
{
    static const char old[] = "an older model, which a failed save must keep whole";
    write_file(g_save_path, old, sizeof old);
    nnf_status st = nnf_net_save(net, g_save_path, NNF_SAVE_OPTIMIZER_STATE);
    assert_no_stray_files();
    if (st != NNF_OK) {
        assert_file_holds(g_save_path, old, sizeof old);
        return st;
    }
    unsigned char want[IMAGE_CAP];
    size_t size = 0;
    assert_ok(net, nnf_net_save_mem(net, want, sizeof want, NNF_SAVE_OPTIMIZER_STATE, &size));
    assert_file_holds(g_save_path, want, size);
    return st;
}

/* The loaders report in their error buffer: it must say what failed. */
static void check_load_message(const char *fn, nnf_status st, const char *err)
{
    if (st != NNF_OK && !strstr(err, "memory") && !strstr(err, "allocat"))
        fail_msg("%s: %s: message \"%s\" does not say so", fn, nnf_status_str(st), err);
}

static nnf_status load_mem(const saved *im, nnf_net **out)
{
    char err[256] = "x";
    nnf_status st = nnf_net_load_mem(out, im->bytes, im->size, err, sizeof err);
    check_load_message("nnf_net_load_mem", st, err);
    return st;
}

static nnf_status load_file(const saved *im, nnf_net **out)
{
    char err[256] = "x";
    nnf_status st = nnf_net_load(out, im->path, err, sizeof err);
    check_load_message("nnf_net_load", st, err);
    return st;
}

/* ---- checks after a failure beyond the common ones */

/* A failed forward keeps the stored forward pass (only a non-finite output
 * discards it): its backward gives what a twin that never failed gets. */
static void keeps_forward_pass(nnf_net *net)
{
    nnf_net *twin = net_forwarded();
    assert_ok(net, nnf_net_backward(net, g_y, NULL));
    assert_ok(twin, nnf_net_backward(twin, g_y, NULL));
    assert_twins(net, twin, SNAP_GRADS | SNAP_STATE);
    nnf_net_destroy(twin);
}

/* A failed forward on a net without a stored forward pass leaves none. */
static void has_no_forward_pass(nnf_net *net)
{
    assert_int_equal(nnf_net_backward(net, g_y, NULL), NNF_ERR_STATE);
}

/* ---- the harness */

typedef struct oom_case {
    const char *name;        /* the call, then what is special about the case */
    nnf_net *(*setup)(void); /* the net the call works on; NULL: none */
    call_kind call;
    int makes_net;                       /* the call creates *out */
    const saved *image;                  /* loads: what they read, and *out must save to */
    void (*after_failure)(nnf_net *net); /* extra check (NULL: none) */
    const char *first_says;              /* in the message when the first allocation fails */
    int min_points;                      /* allocations the call must make at least */
} oom_case;

/* The call of case c on its net (NULL for create and load); *out receives
 * a new net (create, load, clone). */
static nnf_status call(const oom_case *c, nnf_net *net, nnf_net **out)
{
    float y[M_BIG * N_MAX];
    switch (c->call) {
    case CREATE: return nnf_net_create(out, N_IN);
    case ADD_SIGMOID: return add_layer(net, N_OUT, NNF_ACT_SIGMOID);
    case ADD_FIFTH: return add_layer(net, 3, NNF_ACT_LINEAR);
    case UPDATE: return nnf_net_update(net);
    case FORWARD_BIG: return nnf_net_forward(net, g_x, M_BIG, y);
    /* at the size of the net's workspace: only the copy of x is new */
    case FORWARD_SMALL: return nnf_net_forward(net, g_x, M_SMALL, y);
    case TRAIN_STEP_BIG: return nnf_net_train_step(net, g_x, g_y, M_BIG, NULL);
    case PREDICT_BIG: return nnf_net_predict(net, g_x, M_BIG, y);
    case TRAIN_IN_ORDER: return train_twice(net, M_BIG / 2, 0, 4);
    case TRAIN_SHUFFLED: return train_twice(net, 3, 1, 6);
    case EVALUATE_BIG: return evaluate(net);
    case SAVE: return save_file(net);
    case LOAD_MEM: return load_mem(c->image, out);
    case LOAD_FILE: return load_file(c->image, out);
    case CLONE: return nnf_net_clone(net, out);
    }
    fail_msg("%s: no such call", c->name);
    return NNF_ERR_ARG;
}

/* The new net *out saves to the source's bytes: the clone's source, or the
 * image a load read. */
static void check_new_net(const oom_case *c, nnf_net *src, nnf_net *out)
{
    unsigned char got[IMAGE_CAP], want[IMAGE_CAP];
    size_t got_size = 0, want_size = 0;
    const unsigned char *w = NULL;
    assert_ok(out, nnf_net_save_mem(out, got, sizeof got, NNF_SAVE_OPTIMIZER_STATE, &got_size));
    if (src) {
        assert_ok(src,
                  nnf_net_save_mem(src, want, sizeof want, NNF_SAVE_OPTIMIZER_STATE, &want_size));
        w = want;
    } else if (c->image) {
        w = c->image->bytes;
        want_size = c->image->size;
    }
    if (w) {
        assert_int_equal(got_size, want_size);
        assert_memory_equal(got, w, got_size);
    }
}

/* The end of a round: the nets work, and then are gone without a leak. */
static void end_round(nnf_net *net, nnf_net *out, snapshot *before)
{
    if (nnf_net_depth(out))
        assert_trains(out);
    nnf_net_destroy(out);
    if (nnf_net_depth(net))
        assert_trains(net);
    nnf_net_destroy(net);
    snapshot_free(before);
    assert_int_equal(g_count.live, 0);
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
        nnf_status st = call(c, net, &out);
        g_count.fail_at = 0;
        long made = g_count.allocs - allocs;

        if (st == NNF_OK) {
            /* the successful call made k - 1 allocations: all were failed before */
            if (made != k - 1)
                fail_msg("%s: succeeded after %ld allocations with allocation %ld failing", c->name,
                         made, k);
            if (c->makes_net) {
                assert_non_null(out);
                assert_ptr_not_equal(out, (nnf_net *)&g_count);
                check_new_net(c, c->call == CLONE ? net : NULL, out);
            }
            end_round(net, c->makes_net ? out : NULL, &before);
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
            const char *msg = nnf_net_errmsg(net);
            if (!strstr(msg, "allocate") ||
                (k == 1 && c->first_says && !strstr(msg, c->first_says)))
                fail_msg("%s: allocation %ld failed: message \"%s\"", c->name, k, msg);
            assert_unchanged(net, &before, SNAP_GRADS | SNAP_STATE, c->name);
            if (c->after_failure)
                c->after_failure(net);
            if (nnf_net_depth(net) && c->call != UPDATE) /* training would use the gradients up */
                assert_trains(net);
        }
        /* the same call on the same net succeeds once allocations do */
        out = NULL;
        assert_int_equal(call(c, net, &out), NNF_OK);
        if (c->makes_net)
            assert_non_null(out);
        end_round(net, out, &before);
    }
    if (points < c->min_points)
        fail_msg("%s: %d allocation-failure points, expected at least %d", c->name, points,
                 c->min_points);
    return points;
}

static const oom_case g_cases[] = {
    {"nnf_net_create", NULL, CREATE, 1, NULL, NULL, NULL, 1},
    /* the layer, the layer list and the parameter arena */
    {"nnf_net_add_dense (first layer)", net_empty, ADD_SIGMOID, 0, NULL, NULL, "layer 1", 3},
    {"nnf_net_add_dense (second layer)", net_hidden, ADD_SIGMOID, 0, NULL, NULL, "layer 2", 1},
    {"nnf_net_add_dense (fifth layer, gradients kept)", net_four, ADD_FIFTH, 0, NULL, NULL,
     "layer 5", 1},
    {"nnf_net_add_dense (Adam: the state is dropped)", net_adam_hidden, ADD_SIGMOID, 0, NULL, NULL,
     NULL, 1},
    /* a new optimizer's state comes with its first update */
    {"nnf_net_update (SGD -> momentum)", net_switched_momentum, UPDATE, 0, NULL, NULL,
     "optimizer's state", 1},
    {"nnf_net_update (momentum -> Adam)", net_switched_adam, UPDATE, 0, NULL, NULL,
     "optimizer's state", 1},
    {"nnf_net_forward (first call)", net_full, FORWARD_BIG, 0, NULL, has_no_forward_pass, "m = 8",
     2},
    {"nnf_net_forward (the same m after a train step: the copy of x)", net_trained, FORWARD_SMALL,
     0, NULL, has_no_forward_pass, "for x", 1},
    {"nnf_net_forward (larger m)", net_trained, FORWARD_BIG, 0, NULL, NULL, NULL, 2},
    {"nnf_net_forward (larger m, forward pass stored)", net_forwarded, FORWARD_BIG, 0, NULL,
     keeps_forward_pass, NULL, 1},
    {"nnf_net_train_step (first call)", net_full, TRAIN_STEP_BIG, 0, NULL, NULL, "m = 8", 1},
    {"nnf_net_train_step (larger m)", net_trained, TRAIN_STEP_BIG, 0, NULL, NULL, NULL, 1},
    {"nnf_net_train_step (larger m, Adam)", net_adam, TRAIN_STEP_BIG, 0, NULL, NULL, NULL, 1},
    {"nnf_net_predict (first call)", net_full, PREDICT_BIG, 0, NULL, NULL, "m = 8", 1},
    {"nnf_net_predict (larger m)", net_trained, PREDICT_BIG, 0, NULL, NULL, NULL, 1},
    {"nnf_net_train (in order, first call)", net_full, TRAIN_IN_ORDER, 0, NULL, NULL, NULL, 1},
    {"nnf_net_train (in order)", net_trained, TRAIN_IN_ORDER, 0, NULL, NULL, NULL, 1},
    {"nnf_net_train (shuffled, first call: order, batch buffers, workspace)", net_full,
     TRAIN_SHUFFLED, 0, NULL, NULL, "nnf_net_train: could not allocate", 4},
    {"nnf_net_train (shuffled)", net_trained, TRAIN_SHUFFLED, 0, NULL, NULL, NULL, 2},
    {"nnf_net_train (shuffled, Adam)", net_adam, TRAIN_SHUFFLED, 0, NULL, NULL, NULL, 2},
    {"nnf_net_evaluate (larger m)", net_trained, EVALUATE_BIG, 0, NULL, NULL, NULL, 1},
    {"nnf_net_save (Adam)", net_adam, SAVE, 0, NULL, NULL, NULL, 1},
    {"nnf_net_save (three layers, momentum)", mixed_net, SAVE, 0, NULL, NULL, NULL, 1},
    {"nnf_net_load_mem (Adam)", NULL, LOAD_MEM, 1, &g_adam, NULL, NULL, 3},
    {"nnf_net_load_mem (three layers, momentum)", NULL, LOAD_MEM, 1, &g_mixed, NULL, NULL, 3},
    {"nnf_net_load (Adam)", NULL, LOAD_FILE, 1, &g_adam, NULL, NULL, 4},
    {"nnf_net_load (three layers, momentum)", NULL, LOAD_FILE, 1, &g_mixed, NULL, NULL, 4},
    {"nnf_net_clone (SGD)", net_trained, CLONE, 1, NULL, NULL, NULL, 3},
    {"nnf_net_clone (Adam)", net_adam, CLONE, 1, NULL, NULL, NULL, 4},
    {"nnf_net_clone (empty net)", net_empty, CLONE, 1, NULL, NULL, NULL, 1},
};

/* Every case of the call fn (the names that are fn, or fn and a space). */
static void run_cases_of(const char *fn)
{
    size_t len = strlen(fn);
    int cases = 0, total = 0;
    for (size_t i = 0; i < sizeof g_cases / sizeof g_cases[0]; i++) {
        const char *name = g_cases[i].name;
        if (strncmp(name, fn, len) != 0 || (name[len] != '\0' && name[len] != ' '))
            continue;
        int points = run_case(&g_cases[i]);
        print_message("  %-68s %2d\n", name, points);
        cases++;
        total += points;
    }
    assert_true(cases > 0 && total > 0);
}

static void test_create_fails_cleanly_at_every_allocation(void **state)
{
    (void)state;
    run_cases_of("nnf_net_create");
}

static void test_add_dense_fails_cleanly_at_every_allocation(void **state)
{
    (void)state;
    run_cases_of("nnf_net_add_dense");
}

static void test_update_fails_cleanly_at_every_allocation(void **state)
{
    (void)state;
    run_cases_of("nnf_net_update");
}

static void test_forward_fails_cleanly_at_every_allocation(void **state)
{
    (void)state;
    run_cases_of("nnf_net_forward");
}

static void test_train_step_fails_cleanly_at_every_allocation(void **state)
{
    (void)state;
    run_cases_of("nnf_net_train_step");
}

static void test_predict_fails_cleanly_at_every_allocation(void **state)
{
    (void)state;
    run_cases_of("nnf_net_predict");
}

static void test_train_fails_cleanly_at_every_allocation(void **state)
{
    (void)state;
    run_cases_of("nnf_net_train");
}

static void test_evaluate_fails_cleanly_at_every_allocation(void **state)
{
    (void)state;
    run_cases_of("nnf_net_evaluate");
}

static void test_save_fails_cleanly_at_every_allocation(void **state)
{
    (void)state;
    run_cases_of("nnf_net_save");
}

static void test_load_mem_fails_cleanly_at_every_allocation(void **state)
{
    (void)state;
    run_cases_of("nnf_net_load_mem");
}

static void test_load_fails_cleanly_at_every_allocation(void **state)
{
    (void)state;
    run_cases_of("nnf_net_load");
}

static void test_clone_fails_cleanly_at_every_allocation(void **state)
{
    (void)state;
    run_cases_of("nnf_net_clone");
}

/* The harness itself: a counter that never fails sees the calls allocate,
 * and one that fails shows the failure (so 0 points cannot pass silently). */
static void test_a_refusing_hook_makes_the_call_fail_with_nomem(void **state)
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

/* ---- fixtures */

/* Save net in memory and to the file name of the scratch directory. */
static int save_image(nnf_net *net, saved *im, const char *name)
{
    (void)snprintf(im->path, sizeof im->path, "%s/%s", g_dir, name);
    nnf_status st =
        nnf_net_save_mem(net, im->bytes, sizeof im->bytes, NNF_SAVE_OPTIMIZER_STATE, &im->size);
    if (st == NNF_OK)
        st = nnf_net_save(net, im->path, NNF_SAVE_OPTIMIZER_STATE);
    nnf_net_destroy(net);
    return st == NNF_OK ? 0 : -1;
}

static int group_setup(void **state)
{
    make_data(g_x, g_y, M_BIG, N_IN, N_OUT, 0);
    if (count_alloc_install(state) != 0)
        return -1;
    (void)snprintf(g_dir, sizeof g_dir, "nnf_oom.XXXXXX");
    if (!mkdtemp(g_dir))
        return -1;
    (void)snprintf(g_save_path, sizeof g_save_path, "%s/saved.nnf", g_dir);
    if (save_image(net_adam(), &g_adam, "adam.nnf") != 0 ||
        save_image(mixed_net(), &g_mixed, "mixed.nnf") != 0)
        return -1;
    return g_count.live == 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)unlink(g_adam.path);
    (void)unlink(g_mixed.path);
    (void)unlink(g_save_path);
    int rc = rmdir(g_dir);
    return count_alloc_remove(state) == 0 && rc == 0 ? 0 : -1;
}

int main(void)
{
#define T(f) cmocka_unit_test_setup(f, count_alloc_reset)
    const struct CMUnitTest tests[] = {
        T(test_a_refusing_hook_makes_the_call_fail_with_nomem),
        T(test_create_fails_cleanly_at_every_allocation),
        T(test_add_dense_fails_cleanly_at_every_allocation),
        T(test_update_fails_cleanly_at_every_allocation),
        T(test_forward_fails_cleanly_at_every_allocation),
        T(test_train_step_fails_cleanly_at_every_allocation),
        T(test_predict_fails_cleanly_at_every_allocation),
        T(test_train_fails_cleanly_at_every_allocation),
        T(test_evaluate_fails_cleanly_at_every_allocation),
        T(test_save_fails_cleanly_at_every_allocation),
        T(test_load_mem_fails_cleanly_at_every_allocation),
        T(test_load_fails_cleanly_at_every_allocation),
        T(test_clone_fails_cleanly_at_every_allocation),
    };
#undef T
    return cmocka_run_group_tests_name("oom", tests, group_setup, group_teardown);
}
