/* SPDX-License-Identifier: MIT */
/* test_contexts.c - black-box: inference contexts. Many threads predicting
 * through their own contexts on one net get what nnf_net_predict gives,
 * bit for bit; while contexts live, every call that would change what they
 * read is refused and changes nothing, and the rest still works; net and
 * contexts go in either order; a prediction allocates nothing; and a net
 * that only predicts holds its parameters, not its training state. Also run
 * under ThreadSanitizer (label `threads`). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "assert_ok.h"
#include "count_alloc.h"
#include "nets.h"
#include "nnfast.h"
#include "snapshot.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

enum { N0 = 12, N_OUT = 3, M = 37, THREADS = 6, ROUNDS = 40 };

/* 12 -> 16 tanh -> 9 relu -> 3 softmax, trained a little */
static const size_t g_units[] = {16, 9, N_OUT};
static const nnf_act g_acts[] = {NNF_ACT_TANH, NNF_ACT_RELU, NNF_ACT_SOFTMAX};

static nnf_net *make_net(void)
{
    nnf_net *net = net_build(&(net_spec){.inputs = N0,
                                         .depth = 3,
                                         .units = g_units,
                                         .acts = g_acts,
                                         .loss = NNF_LOSS_CROSS_ENTROPY,
                                         .init = NNF_INIT_XAVIER,
                                         .seed = 5});
    float x[M * N0], y[M * N_OUT];
    make_data(x, y, M, N0, N_OUT, 1);
    for (int i = 0; i < 3; i++)
        assert_ok(net, nnf_net_train_step(net, x, y, M, NULL));
    return net;
}

static void make_x(float *x, size_t m, uint64_t seed)
{
    uint64_t s = seed * 0x9E3779B97F4A7C15u + 1;
    for (size_t i = 0; i < m * N0; i++) {
        s = s * 6364136223846793005u + 1442695040888963407u;
        x[i] = (float)((double)(s >> 40) / (double)(1u << 24) * 2.0 - 1.0);
    }
}

static void test_a_context_predicts_what_the_net_predicts(void **state)
{
    (void)state;
    nnf_net *net = make_net();
    nnf_ctx *ctx = NULL;
    assert_ok(net, nnf_ctx_create(net, M, &ctx));
    assert_int_equal(nnf_ctx_max_batch(ctx), M);
    assert_int_equal(nnf_net_contexts(net), 1);
    float x[M * N0], want[M * N_OUT], got[M * N_OUT];
    for (size_t m = 1; m <= M; m += 4) {
        make_x(x, m, m);
        assert_ok(net, nnf_net_predict(net, x, m, want));
        memset(got, 0xff, sizeof got);
        assert_int_equal(nnf_ctx_predict(ctx, x, m, got), NNF_OK);
        assert_memory_equal(got, want, m * N_OUT * sizeof(float));
    }
    nnf_ctx_destroy(ctx);
    assert_int_equal(nnf_net_contexts(net), 0);
    nnf_net_destroy(net);
}

/* Padded layers (7 units on a wide input) and a single layer take other
 * paths through the context's workspace. */
static void test_wide_padded_and_one_layer_nets_predict_the_same(void **state)
{
    (void)state;
    const size_t wide_units[] = {7, 1}, one_unit[] = {4};
    const nnf_act wide_acts[] = {NNF_ACT_RELU, NNF_ACT_SIGMOID}, one_act[] = {NNF_ACT_LINEAR};
    net_spec specs[] = {
        {.inputs = 2048, .depth = 2, .units = wide_units, .acts = wide_acts},
        {.inputs = 3, .depth = 1, .units = one_unit, .acts = one_act, .loss = NNF_LOSS_MSE},
    };
    enum { MW = 9 };
    static float x[MW * 2048], want[MW * 4], got[MW * 4];
    for (size_t k = 0; k < 2; k++) {
        nnf_net *net = net_build(&specs[k]);
        size_t n = nnf_net_inputs(net), out = nnf_net_outputs(net);
        for (size_t i = 0; i < MW * n; i++)
            x[i] = (float)((i * 37) % 101) / 50.0f - 1.0f;
        nnf_ctx *ctx = NULL;
        assert_ok(net, nnf_ctx_create(net, MW, &ctx));
        assert_ok(net, nnf_net_predict(net, x, MW, want));
        assert_int_equal(nnf_ctx_predict(ctx, x, MW, got), NNF_OK);
        assert_memory_equal(got, want, MW * out * sizeof(float));
        nnf_ctx_destroy(ctx);
        nnf_net_destroy(net);
    }
}

typedef struct job {
    nnf_ctx *ctx;
    const float *x;    /* ROUNDS batches of M samples */
    const float *want; /* nnf_net_predict's outputs for them */
    int wrong, failed;
    size_t first_batch; /* where this thread starts in the batches */
} job;

static void *serve(void *arg)
{
    job *j = arg;
    float y[M * N_OUT];
    for (size_t r = 0; r < ROUNDS; r++) {
        size_t b = (j->first_batch + r) % ROUNDS, m = 1 + b % M;
        if (nnf_ctx_predict(j->ctx, j->x + b * M * N0, m, y) != NNF_OK) {
            j->failed++;
            continue;
        }
        j->wrong += memcmp(y, j->want + b * M * N_OUT, m * N_OUT * sizeof(float)) != 0;
    }
    return NULL;
}

/* Each thread its own context on one net, all at once, each batch size of
 * 1..M: every output equal to the serial nnf_net_predict's. */
static void predict_from_threads(nnf_net *net, int nnfast_threads)
{
    float *x = malloc(sizeof(float) * ROUNDS * M * N0);
    float *want = malloc(sizeof(float) * ROUNDS * M * N_OUT);
    assert_non_null(x);
    assert_non_null(want);
    assert_int_equal(nnf_set_threads(nnfast_threads), NNF_OK);
    for (size_t b = 0; b < ROUNDS; b++) {
        make_x(x + b * M * N0, M, 100 + b);
        assert_ok(net, nnf_net_predict(net, x + b * M * N0, 1 + b % M, want + b * M * N_OUT));
    }
    pthread_t th[THREADS];
    job jobs[THREADS];
    for (int t = 0; t < THREADS; t++) {
        jobs[t] = (job){NULL, x, want, 0, 0, (size_t)t * 7};
        assert_ok(net, nnf_ctx_create(net, M, &jobs[t].ctx));
    }
    assert_int_equal(nnf_net_contexts(net), THREADS);
    for (int t = 0; t < THREADS; t++)
        assert_int_equal(pthread_create(&th[t], NULL, serve, &jobs[t]), 0);
    for (int t = 0; t < THREADS; t++) {
        assert_int_equal(pthread_join(th[t], NULL), 0);
        assert_int_equal(jobs[t].failed, 0);
        assert_int_equal(jobs[t].wrong, 0);
        nnf_ctx_destroy(jobs[t].ctx);
    }
    assert_int_equal(nnf_set_threads(1), NNF_OK);
    free(x);
    free(want);
}

static void test_many_threads_predict_at_once_bit_identically(void **state)
{
    (void)state;
    nnf_net *net = make_net();
    predict_from_threads(net, 1);
    predict_from_threads(net, 2); /* nnfast's own threads shared by the servers */
    nnf_net_destroy(net);
}

/* Contexts made by several threads at once, and clones too: both only read. */
static void *make_and_clone(void *arg)
{
    nnf_net *net = arg, *copy = NULL;
    nnf_ctx *ctx = NULL;
    long bad = 0;
    for (int i = 0; i < 20; i++) {
        bad += nnf_ctx_create(net, 8, &ctx) != NNF_OK;
        bad += nnf_net_clone(net, &copy) != NNF_OK;
        nnf_net_destroy(copy);
        nnf_ctx_destroy(ctx);
    }
    return (void *)bad;
}

static void test_contexts_and_clones_are_made_by_many_threads_at_once(void **state)
{
    (void)state;
    nnf_net *net = make_net();
    pthread_t th[THREADS];
    for (int t = 0; t < THREADS; t++)
        assert_int_equal(pthread_create(&th[t], NULL, make_and_clone, net), 0);
    for (int t = 0; t < THREADS; t++) {
        void *bad = NULL;
        assert_int_equal(pthread_join(th[t], &bad), 0);
        assert_null(bad);
    }
    assert_int_equal(nnf_net_contexts(net), 0);
    nnf_net_destroy(net);
}

/* Every call that would change what a context reads: NNF_ERR_STATE naming
 * the number of contexts, the net bit-identical, the contexts still right. */
static void test_changes_are_refused_while_contexts_live(void **state)
{
    (void)state;
    nnf_net *net = make_net();
    nnf_ctx *a = NULL, *b = NULL;
    assert_ok(net, nnf_ctx_create(net, M, &a));
    assert_ok(net, nnf_ctx_create(net, M, &b));
    float x[M * N0], y[M * N_OUT], before[M * N_OUT], after[M * N_OUT];
    float w[16 * N0] = {0}, bias[16] = {0};
    make_data(x, y, M, N0, N_OUT, 1);
    assert_int_equal(nnf_ctx_predict(a, x, M, before), NNF_OK);
    snapshot s;
    snapshot_take(net, &s);
    nnf_layer *l1 = nnf_net_layer(net, 1);
    struct {
        const char *what;
        nnf_status st;
    } calls[] = {
        {"nnf_net_add_dense", nnf_net_add_dense(net, 2, NNF_ACT_RELU, NULL)},
        {"nnf_net_set_loss", nnf_net_set_loss(net, NNF_LOSS_MSE)},
        {"nnf_net_init", nnf_net_init(net, NNF_INIT_HE, 9)},
        {"nnf_layer_set_weights", nnf_layer_set_weights(l1, w)},
        {"nnf_layer_set_bias", nnf_layer_set_bias(l1, bias)},
        {"nnf_layer_set_slope", nnf_layer_set_slope(l1, 0.2f)},
        {"nnf_net_train_step", nnf_net_train_step(net, x, y, M, NULL)},
        {"nnf_net_train", nnf_net_train(net, x, y, M, 8, 1, 1, 3, NULL, NULL, NULL)},
    };
    for (size_t k = 0; k < sizeof calls / sizeof calls[0]; k++)
        if (calls[k].st != NNF_ERR_STATE)
            fail_msg("%s with contexts: %s, expected NNF_ERR_STATE", calls[k].what,
                     nnf_status_str(calls[k].st));
    /* the message names the call and the number of contexts */
    assert_int_equal(nnf_layer_set_bias(l1, bias), NNF_ERR_STATE);
    assert_string_equal(nnf_net_errmsg(net),
                        "nnf_layer_set_bias: 2 contexts read this net (a change would alter what "
                        "they predict: expected them destroyed first)");
    assert_unchanged(net, &s, SNAP_STATE, "a refused change");
    /* a backward's gradients may be made, but not applied */
    assert_ok(net, nnf_net_forward(net, x, M, NULL));
    assert_ok(net, nnf_net_backward(net, y, NULL));
    assert_int_equal(nnf_net_update(net), NNF_ERR_STATE);
    assert_unchanged(net, &s, 0, "nnf_net_update");
    assert_int_equal(nnf_ctx_predict(b, x, M, after), NNF_OK);
    assert_memory_equal(after, before, sizeof after);
    snapshot_free(&s);
    nnf_ctx_destroy(a);
    assert_int_equal(nnf_layer_set_slope(l1, 0.2f), NNF_ERR_STATE);
    assert_string_equal(nnf_net_errmsg(net),
                        "nnf_layer_set_slope: 1 context reads this net (a change would alter what "
                        "it predicts: expected it destroyed first)");
    nnf_ctx_destroy(b);
    assert_ok(net, nnf_net_update(net)); /* no context left: changes work again */
    assert_ok(net, nnf_net_train_step(net, x, y, M, NULL));
    nnf_net_destroy(net);
}

/* What contexts do not read stays usable: settings, reading, saving,
 * cloning, the net's own workspace and trim. */
static void test_reads_settings_and_the_nets_own_passes_still_work(void **state)
{
    (void)state;
    nnf_net *net = make_net(), *copy = NULL;
    nnf_ctx *ctx = NULL;
    assert_ok(net, nnf_ctx_create(net, M, &ctx));
    float x[M * N0], y[M * N_OUT], out[M * N_OUT], got[M * N_OUT], cost, acc;
    make_data(x, y, M, N0, N_OUT, 1);
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_LEARNING_RATE, 0.5));
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_OPTIMIZER, NNF_OPT_ADAM));
    assert_ok(net, nnf_net_predict(net, x, M, out));
    assert_ok(net, nnf_net_evaluate(net, x, y, M, &cost, &acc));
    size_t size = 0;
    assert_ok(net, nnf_net_saved_size(net, NNF_SAVE_OPTIMIZER_STATE, &size));
    assert_ok(net, nnf_net_clone(net, &copy));
    assert_ok(copy, nnf_net_train_step(copy, x, y, M, NULL)); /* the clone is free */
    assert_ok(net, nnf_net_trim(net));
    assert_int_equal(nnf_ctx_predict(ctx, x, M, got), NNF_OK);
    assert_memory_equal(got, out, sizeof got);
    nnf_net_destroy(copy);
    nnf_ctx_destroy(ctx);
    nnf_net_destroy(net);
}

static void test_net_and_contexts_go_in_either_order(void **state)
{
    (void)state;
    float x[M * N0], want[M * N_OUT], got[M * N_OUT];
    make_x(x, M, 3);
    for (int net_first = 0; net_first < 2; net_first++) {
        nnf_net *net = make_net();
        nnf_ctx *a = NULL, *b = NULL;
        float want4[4 * N_OUT]; /* a sample's last bits may depend on its batch */
        assert_ok(net, nnf_net_predict(net, x, 4, want4));
        assert_ok(net, nnf_net_predict(net, x, M, want));
        assert_ok(net, nnf_ctx_create(net, M, &a));
        assert_ok(net, nnf_ctx_create(net, 4, &b));
        if (net_first) {
            nnf_net_destroy(net); /* the handle goes; a and b keep the weights */
            assert_int_equal(nnf_ctx_predict(a, x, M, got), NNF_OK);
            assert_memory_equal(got, want, sizeof got);
            nnf_ctx_destroy(a);
            assert_int_equal(nnf_ctx_predict(b, x, 4, got), NNF_OK);
            assert_memory_equal(got, want4, sizeof want4);
            nnf_ctx_destroy(b); /* frees the net */
        } else {
            nnf_ctx_destroy(b);
            nnf_ctx_destroy(a);
            assert_ok(net, nnf_net_predict(net, x, M, got));
            nnf_net_destroy(net);
        }
        assert_int_equal(g_count.live, 0);
    }
    nnf_ctx_destroy(NULL);
}

static void test_a_prediction_allocates_nothing(void **state)
{
    (void)state;
    nnf_net *net = make_net();
    nnf_ctx *ctx = NULL;
    float x[M * N0], y[M * N_OUT];
    make_x(x, M, 1);
    long before = g_count.allocs;
    assert_ok(net, nnf_ctx_create(net, M, &ctx));
    assert_int_equal(g_count.allocs - before, 2); /* the context and its activations */
    before = g_count.allocs;
    for (size_t m = 1; m <= M; m++)
        assert_int_equal(nnf_ctx_predict(ctx, x, m, y), NNF_OK);
    assert_int_equal(g_count.allocs, before);
    nnf_ctx_destroy(ctx);
    nnf_net_destroy(net);
}

static void test_bad_calls_on_a_context_say_why(void **state)
{
    (void)state;
    nnf_net *net = make_net(), *empty = NULL;
    nnf_ctx *ctx = NULL;
    float x[M * N0], y[M * N_OUT];
    make_x(x, M, 2);
    assert_int_equal(nnf_ctx_create(NULL, 4, &ctx), NNF_ERR_ARG);
    assert_null(ctx);
    assert_int_equal(nnf_ctx_create(net, 4, NULL), NNF_ERR_ARG);
    assert_string_equal(nnf_net_errmsg(net),
                        "nnf_ctx_create: out is NULL (expected a place for the new context)");
    assert_int_equal(nnf_ctx_create(net, 0, &ctx), NNF_ERR_ARG);
    assert_string_equal(nnf_net_errmsg(net),
                        "nnf_ctx_create: max_batch is 0 (expected at least one sample)");
    assert_int_equal(nnf_ctx_create(net, (size_t)1 << 40, &ctx), NNF_ERR_SHAPE);
    assert_null(ctx);
    assert_int_equal(nnf_net_create(&empty, 3), NNF_OK);
    assert_int_equal(nnf_ctx_create(empty, 4, &ctx), NNF_ERR_STATE);
    nnf_net_destroy(empty);
    assert_int_equal(nnf_net_contexts(net), 0); /* no failure took a hold */

    assert_ok(net, nnf_ctx_create(net, 8, &ctx));
    assert_int_equal(nnf_ctx_predict(NULL, x, 1, y), NNF_ERR_ARG);
    assert_string_equal(nnf_ctx_errmsg(NULL), "ctx is NULL");
    assert_string_equal(nnf_ctx_errmsg(ctx), "");
    assert_int_equal(nnf_ctx_predict(ctx, x, 9, y), NNF_ERR_SHAPE);
    assert_string_equal(nnf_ctx_errmsg(ctx),
                        "nnf_ctx_predict: m = 9 exceeds the context's max_batch = 8");
    assert_int_equal(nnf_ctx_predict(ctx, NULL, 1, y), NNF_ERR_ARG);
    assert_string_equal(nnf_ctx_errmsg(ctx), "nnf_ctx_predict: x is NULL (expected m x 12 floats)");
    assert_int_equal(nnf_ctx_predict(ctx, x, 1, NULL), NNF_ERR_ARG);
    assert_int_equal(nnf_ctx_predict(ctx, x, 0, y), NNF_ERR_ARG);
    x[2 * N0 + 5] = 1.0f / 0.0f;
    assert_int_equal(nnf_ctx_predict(ctx, x, 4, y), NNF_ERR_NUMERIC);
    assert_string_equal(nnf_ctx_errmsg(ctx),
                        "nnf_ctx_predict: x[2][5] is inf (expected a finite value)");
    nnf_ctx_destroy(ctx);
    nnf_net_destroy(net);
}

/* A context is for one thread at a time: a second thread inside it fails
 * with NNF_ERR_STATE rather than racing. Two threads predict on one context
 * many times: every call either gives the right output or is refused. */
typedef struct shared {
    nnf_ctx *ctx;
    const float *x, *want;
    long ok, refused, wrong;
} shared;

static void *share(void *arg)
{
    shared *s = arg;
    float y[M * N_OUT];
    long ok = 0, refused = 0, wrong = 0;
    for (int i = 0; i < 2000; i++) {
        nnf_status st = nnf_ctx_predict(s->ctx, s->x, M, y);
        if (st == NNF_OK)
            wrong += memcmp(y, s->want, sizeof y) != 0, ok++;
        else
            refused += st == NNF_ERR_STATE;
    }
    __atomic_add_fetch(&s->ok, ok, __ATOMIC_RELAXED);
    __atomic_add_fetch(&s->refused, refused, __ATOMIC_RELAXED);
    __atomic_add_fetch(&s->wrong, wrong, __ATOMIC_RELAXED);
    return NULL;
}

static void test_one_context_shared_by_two_threads_is_refused_not_raced(void **state)
{
    (void)state;
    nnf_net *net = make_net();
    float x[M * N0], want[M * N_OUT];
    make_x(x, M, 4);
    assert_ok(net, nnf_net_predict(net, x, M, want));
    shared s = {NULL, x, want, 0, 0, 0};
    assert_ok(net, nnf_ctx_create(net, M, &s.ctx));
    pthread_t a, b;
    assert_int_equal(pthread_create(&a, NULL, share, &s), 0);
    assert_int_equal(pthread_create(&b, NULL, share, &s), 0);
    assert_int_equal(pthread_join(a, NULL), 0);
    assert_int_equal(pthread_join(b, NULL), 0);
    assert_int_equal(s.ok + s.refused, 4000);
    assert_int_equal(s.wrong, 0);
    assert_true(s.ok > 0);
    nnf_ctx_destroy(s.ctx);
    nnf_net_destroy(net);
}

/* A progress function runs inside nnf_net_train, which changes the net:
 * a context made there would see the next step change its weights. */
static int make_context(void *user, size_t epoch, size_t batch, float cost)
{
    (void)epoch;
    (void)batch;
    (void)cost;
    nnf_net *net = user;
    nnf_ctx *ctx = NULL;
    return nnf_ctx_create(net, 4, &ctx) == NNF_ERR_STATE && !ctx ? 1 : 2;
}

static void test_no_context_is_made_inside_training(void **state)
{
    (void)state;
    nnf_net *net = make_net();
    float x[M * N0], y[M * N_OUT];
    make_data(x, y, M, N0, N_OUT, 1);
    size_t steps = 0;
    assert_ok(net, nnf_net_train(net, x, y, M, 8, 1, 0, 0, make_context, net, &steps));
    assert_int_equal(steps, 1); /* the callback saw the refusal and stopped */
    assert_int_equal(nnf_net_contexts(net), 0);
    nnf_net_destroy(net);
}

/* A net costs what it uses: built, cloned or loaded and only predicting,
 * it holds its parameters and O(depth) bytes (no gradients, no optimizer
 * state), and trim gives the workspace back. 784-256-128-10 with Adam. */
static void test_a_net_that_only_predicts_holds_its_parameters(void **state)
{
    (void)state;
    const size_t units[] = {256, 128, 10};
    const nnf_act acts[] = {NNF_ACT_RELU, NNF_ACT_RELU, NNF_ACT_SOFTMAX};
    const size_t params = 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10;
    const size_t budget = params * sizeof(float) * 105 / 100 + 16384;
    nnf_net *net = net_build(&(net_spec){.inputs = 784,
                                         .depth = 3,
                                         .units = units,
                                         .acts = acts,
                                         .loss = NNF_LOSS_CROSS_ENTROPY,
                                         .init = NNF_INIT_HE,
                                         .seed = 1});
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_OPTIMIZER, NNF_OPT_ADAM));
    assert_true(g_count.live_bytes <= budget); /* built */
    size_t size = 0;
    assert_ok(net, nnf_net_saved_size(net, 0, &size));
    void *buf = malloc(size);
    assert_non_null(buf);
    assert_ok(net, nnf_net_save_mem(net, buf, size, 0, NULL));
    size_t held = g_count.live_bytes;
    nnf_net *loaded = NULL, *copy = NULL;
    assert_int_equal(nnf_net_load_mem(&loaded, buf, size, NULL, 0), NNF_OK);
    assert_true(g_count.live_bytes - held <= budget); /* loaded */
    held = g_count.live_bytes;
    assert_ok(loaded, nnf_net_clone(loaded, &copy));
    assert_true(g_count.live_bytes - held <= budget); /* cloned */
    free(buf);

    static float x[100 * 784], y[100 * 10];
    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++)
        x[i] = (float)(i % 17) / 17.0f;
    held = g_count.live_bytes;
    assert_ok(copy, nnf_net_predict(copy, x, 100, y));
    /* A[l], Z[L] and the scratch for training's dA */
    size_t workspace = (256 + 128 + 10 + 10 + 256) * 100 * sizeof(float);
    if (g_count.live_bytes - held > workspace)
        fail_msg("a prediction of 100 samples added %zu bytes, expected at most %zu",
                 g_count.live_bytes - held, workspace);
    assert_ok(copy, nnf_net_trim(copy));
    assert_int_equal(g_count.live_bytes, held);       /* and trim gives it back */
    assert_ok(copy, nnf_net_predict(copy, x, 10, y)); /* sized again */
    nnf_net_destroy(copy);
    nnf_net_destroy(loaded);
    nnf_net_destroy(net);
}

/* Contexts on one model cost their activations, not copies of the model:
 * 8 contexts hold at most 1.1x the parameters plus 8 workspaces. */
static void test_eight_contexts_share_one_copy_of_the_weights(void **state)
{
    (void)state;
    const size_t units[] = {512, 512, 1};
    const nnf_act acts[] = {NNF_ACT_RELU, NNF_ACT_RELU, NNF_ACT_SIGMOID};
    const size_t params = 512 * 512 * 2 + 512 * 2 + 512 + 1, batch = 16;
    nnf_net *net = net_build(&(net_spec){.inputs = 512, .depth = 3, .units = units, .acts = acts});
    /* layers added one by one leave growth room, which trim (like
     * nnf_net_init or a first prediction) gives back */
    assert_ok(net, nnf_net_trim(net));
    nnf_ctx *ctx[8];
    for (int i = 0; i < 8; i++)
        assert_ok(net, nnf_ctx_create(net, batch, &ctx[i]));
    /* a context: its struct and two 512-row matrices, Z[L] */
    size_t workspace = (2 * 512 + 1) * batch * sizeof(float) + 1024;
    if (g_count.live_bytes > params * sizeof(float) * 11 / 10 + 8 * workspace)
        fail_msg("held %zu bytes for %zu parameters and 8 contexts", g_count.live_bytes, params);
    for (int i = 0; i < 8; i++)
        nnf_ctx_destroy(ctx[i]);
    nnf_net_destroy(net);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup(f, count_alloc_reset)
    const struct CMUnitTest tests[] = {
        T(test_a_context_predicts_what_the_net_predicts),
        T(test_wide_padded_and_one_layer_nets_predict_the_same),
        T(test_many_threads_predict_at_once_bit_identically),
        T(test_contexts_and_clones_are_made_by_many_threads_at_once),
        T(test_changes_are_refused_while_contexts_live),
        T(test_reads_settings_and_the_nets_own_passes_still_work),
        T(test_net_and_contexts_go_in_either_order),
        T(test_a_prediction_allocates_nothing),
        T(test_bad_calls_on_a_context_say_why),
        T(test_one_context_shared_by_two_threads_is_refused_not_raced),
        T(test_no_context_is_made_inside_training),
        T(test_a_net_that_only_predicts_holds_its_parameters),
        T(test_eight_contexts_share_one_copy_of_the_weights),
    };
#undef T
    return cmocka_run_group_tests(tests, count_alloc_install, count_alloc_remove);
}
