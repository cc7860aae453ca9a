/* SPDX-License-Identifier: MIT */
/*
 * test_trainer.c - black-box: nnf_trainer_run as nnfast.h's "Trainer"
 * promises. Epochs continue: 10 + 10 epochs (with shuffling, dropout and a
 * schedule) give the bits of 20, at 1 and 2 threads, and across a save and
 * load with the optimizer's state in the middle. Early stopping on a case
 * built to overfit stops after patience epochs without a better validation
 * loss and ends with the parameters the net had at the end of the best
 * epoch. The progress function cannot change or train the running net, and
 * a non-zero return stops the run with NNF_OK. A small classification
 * problem trained with everything (scaling, dropout, early stopping, a
 * cosine schedule) reaches a good test accuracy.
 * Set NNF_TEST_VERBOSE=1 to print the epochs, losses and accuracies.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "assert_ok.h"
#include "nets.h"
#include "params.h"
#include "planar.h"
#include "verbose.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nnfast.h"
#include "ref.h"

#define assert_t_ok(t, call)                                                            \
    do {                                                                                \
        nnf_status st_ = (call);                                                        \
        if (st_ != NNF_OK)                                                              \
            fail_msg("%s: %s (%s)", #call, nnf_status_str(st_), nnf_trainer_errmsg(t)); \
    } while (0)

static double result(const nnf_trainer *t, nnf_train_result key)
{
    double v = NAN;
    assert_int_equal(nnf_trainer_result(t, key, &v), NNF_OK);
    return v;
}

static nnf_trainer *trainer(size_t batch, size_t epochs, uint64_t seed)
{
    nnf_trainer *t = NULL;
    assert_int_equal(nnf_trainer_create(&t), NNF_OK);
    assert_t_ok(t, nnf_trainer_set(t, NNF_TRAIN_BATCH_SIZE, (double)batch));
    assert_t_ok(t, nnf_trainer_set(t, NNF_TRAIN_EPOCHS, (double)epochs));
    assert_t_ok(t, nnf_trainer_set(t, NNF_TRAIN_SEED, (double)seed));
    return t;
}

/* ---- epochs continue */

#define REP_M   150
#define REP_IN  6
#define REP_OUT 3

static float rep_x[REP_M * REP_IN], rep_y[REP_M * REP_OUT];

/* 6 -> 24 ReLU (dropout 0.3) -> 16 tanh (dropout 0.2) -> 3 softmax, Adam. */
static nnf_net *rep_net(void)
{
    static const size_t units[] = {24, 16, REP_OUT};
    static const nnf_act acts[] = {NNF_ACT_RELU, NNF_ACT_TANH, NNF_ACT_SOFTMAX};
    nnf_net *net = net_build(&(net_spec){.inputs = REP_IN,
                                         .depth = 3,
                                         .units = units,
                                         .acts = acts,
                                         .loss = NNF_LOSS_CROSS_ENTROPY,
                                         .lr = 0.01,
                                         .seed = 12});
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_OPTIMIZER, NNF_OPT_ADAM));
    assert_ok(net, nnf_layer_set_dropout(nnf_net_layer(net, 1), 0.3f));
    assert_ok(net, nnf_layer_set_dropout(nnf_net_layer(net, 2), 0.2f));
    make_data(rep_x, rep_y, REP_M, REP_IN, REP_OUT, 1);
    return net;
}

/* A trainer of `epochs` epochs of 16 samples, seed 5, a cosine schedule
 * over 20 epochs, clipping. */
static nnf_trainer *rep_trainer(size_t epochs)
{
    nnf_trainer *t = trainer(16, epochs, 5);
    assert_t_ok(t, nnf_trainer_set(t, NNF_TRAIN_SCHEDULE, NNF_SCHEDULE_COSINE));
    assert_t_ok(t, nnf_trainer_set(t, NNF_TRAIN_DECAY, 0.05));
    assert_t_ok(t, nnf_trainer_set(t, NNF_TRAIN_DECAY_EPOCHS, 20));
    assert_t_ok(t, nnf_trainer_set(t, NNF_TRAIN_CLIP_NORM, 5.0));
    return t;
}

static void run_epochs(nnf_net *net, size_t epochs)
{
    nnf_trainer *t = rep_trainer(epochs);
    assert_ok(net, nnf_trainer_run(t, net, rep_x, rep_y, REP_M));
    assert_int_equal((size_t)result(t, NNF_RESULT_EPOCHS_RUN), epochs);
    nnf_trainer_destroy(t);
}

/* The saved bytes with the optimizer's state: parameters, state, epochs. */
static void assert_same_bytes(nnf_net *a, nnf_net *b)
{
    size_t sa = 0, sb = 0;
    assert_ok(a, nnf_net_saved_size(a, NNF_SAVE_OPTIMIZER_STATE, &sa));
    assert_ok(b, nnf_net_saved_size(b, NNF_SAVE_OPTIMIZER_STATE, &sb));
    assert_int_equal(sa, sb);
    unsigned char *ba = malloc(sa), *bb = malloc(sb);
    assert_non_null(ba);
    assert_non_null(bb);
    assert_ok(a, nnf_net_save_mem(a, ba, sa, NNF_SAVE_OPTIMIZER_STATE, NULL));
    assert_ok(b, nnf_net_save_mem(b, bb, sb, NNF_SAVE_OPTIMIZER_STATE, NULL));
    assert_memory_equal(ba, bb, sa);
    free(ba);
    free(bb);
}

static void test_10_plus_10_epochs_are_the_bits_of_20(void **state)
{
    (void)state;
    int threads = nnf_get_threads();
    assert_int_equal(nnf_set_threads(1), NNF_OK);
    nnf_net *one = rep_net();
    run_epochs(one, 20);
    assert_int_equal(nnf_net_epochs(one), 20);

    assert_int_equal(nnf_set_threads(2), NNF_OK);
    nnf_net *two = rep_net();
    run_epochs(two, 20);
    nnf_net *split = rep_net();
    run_epochs(split, 10);
    assert_int_equal(nnf_net_epochs(split), 10);
    /* the first 10 were not those of 20 cut short by chance: they differ */
    assert_false(same_params(split, one));
    run_epochs(split, 10);
    assert_int_equal(nnf_net_epochs(split), 20);
    assert_int_equal(nnf_set_threads(threads), NNF_OK);

    float a[PARAMS_MAX], b[PARAMS_MAX];
    size_t n = net_params(one, a);
    assert_int_equal(net_params(two, b), n);
    assert_memory_equal(a, b, n * sizeof(float));
    assert_int_equal(net_params(split, b), n);
    assert_memory_equal(a, b, n * sizeof(float));
    assert_same_bytes(one, two);
    assert_same_bytes(one, split);
    nnf_net_destroy(one);
    nnf_net_destroy(two);
    nnf_net_destroy(split);
}

static void test_a_save_and_load_between_runs_keeps_the_bits(void **state)
{
    (void)state;
    nnf_net *whole = rep_net();
    run_epochs(whole, 20);
    nnf_net *first = rep_net();
    run_epochs(first, 10);
    size_t size = 0;
    assert_ok(first, nnf_net_saved_size(first, NNF_SAVE_OPTIMIZER_STATE, &size));
    unsigned char *buf = malloc(size);
    assert_non_null(buf);
    assert_ok(first, nnf_net_save_mem(first, buf, size, NNF_SAVE_OPTIMIZER_STATE, NULL));
    nnf_net_destroy(first);
    nnf_net *loaded = NULL;
    char err[256];
    assert_int_equal(nnf_net_load_mem(&loaded, buf, size, err, sizeof err), NNF_OK);
    assert_int_equal(nnf_net_epochs(loaded), 10);
    float rate = 0.0f;
    assert_ok(loaded, nnf_layer_get_dropout(nnf_net_layer(loaded, 1), &rate));
    assert_true(rate == 0.3f);
    run_epochs(loaded, 10);
    assert_true(same_params(whole, loaded));
    assert_same_bytes(whole, loaded);
    nnf_net_destroy(loaded);

    /* without the state the epochs start over: other bits */
    nnf_net *again = rep_net();
    run_epochs(again, 10);
    assert_ok(again, nnf_net_save_mem(again, buf, size, NNF_SAVE_OPTIMIZER_STATE, NULL));
    nnf_net_destroy(again);
    size_t plain = 0;
    assert_int_equal(nnf_net_load_mem(&again, buf, size, err, sizeof err), NNF_OK);
    assert_ok(again, nnf_net_saved_size(again, 0, &plain));
    assert_ok(again, nnf_net_save_mem(again, buf, plain, 0, NULL));
    nnf_net_destroy(again);
    assert_int_equal(nnf_net_load_mem(&again, buf, plain, err, sizeof err), NNF_OK);
    assert_int_equal(nnf_net_epochs(again), 0);
    run_epochs(again, 10);
    assert_false(same_params(whole, again));
    nnf_net_destroy(again);
    free(buf);
    nnf_net_destroy(whole);
}

/* ---- early stopping */

#define OF_M        60  /* a small training set, 20% of its labels flipped */
#define OF_V        200 /* validation from the clean distribution */
#define OF_MAX      400
#define OF_PATIENCE 15
#define OF_N        10

typedef struct stop_log {
    size_t epochs;
    double val[OF_MAX];
    double best;
    size_t best_epoch;
    nnf_net *best_net; /* a clone taken at the end of the best epoch */
    int bad;
} stop_log;

static int stop_progress(const nnf_progress *p, void *user)
{
    stop_log *log = user;
    if (nnf_progress_get(p, NNF_PROGRESS_EPOCH_END) == 0.0)
        return 0;
    size_t e = (size_t)nnf_progress_get(p, NNF_PROGRESS_EPOCH);
    double v = nnf_progress_get(p, NNF_PROGRESS_VAL_COST);
    if (e != log->epochs || e >= OF_MAX || !isfinite(v)) {
        log->bad = 1;
        return 1;
    }
    log->val[e] = v;
    log->epochs++;
    if (e == 0 || v < log->best) {
        log->best = v;
        log->best_epoch = e;
        nnf_net_destroy(log->best_net);
        log->best_net = NULL;
        if (nnf_net_clone(nnf_progress_net(p), &log->best_net) != NNF_OK)
            log->bad = 1;
    }
    if (nnf_progress_get(p, NNF_PROGRESS_BEST_EPOCH) != (double)log->best_epoch ||
        nnf_progress_get(p, NNF_PROGRESS_BEST_VAL_COST) != log->best)
        log->bad = 1;
    return 0;
}

/* OF_N features, class 1 when the first two sum above 0 (clean), the
 * others distractors a big net can memorize noise with; the training
 * labels flipped with probability noise. */
static void noisy_set(float *x, float *y, size_t m, uint64_t seed, double noise)
{
    ref_rng g = {seed};
    for (size_t i = 0; i < m; i++) {
        for (size_t k = 0; k < OF_N; k++)
            x[OF_N * i + k] = (float)ref_rng_uniform(&g, -1.0, 1.0);
        int one = x[OF_N * i] + x[OF_N * i + 1] > 0.0f;
        if (ref_rng_uniform(&g, 0.0, 1.0) < noise)
            one = !one;
        y[i] = (float)one;
    }
}

static void test_early_stopping_restores_the_best_epoch(void **state)
{
    (void)state;
    float x[OF_M * OF_N], y[OF_M], vx[OF_V * OF_N], vy[OF_V];
    noisy_set(x, y, OF_M, 1, 0.2);
    noisy_set(vx, vy, OF_V, 2, 0.0);
    static const size_t units[] = {64, 64, 1};
    static const nnf_act acts[] = {NNF_ACT_TANH, NNF_ACT_TANH, NNF_ACT_SIGMOID};
    nnf_net *net = net_build(&(net_spec){
        .inputs = OF_N, .depth = 3, .units = units, .acts = acts, .lr = 0.001, .seed = 4});
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_OPTIMIZER, NNF_OPT_ADAM));
    nnf_trainer *t = trainer(8, OF_MAX, 3);
    assert_t_ok(t, nnf_trainer_set(t, NNF_TRAIN_PATIENCE, OF_PATIENCE));
    assert_t_ok(t, nnf_trainer_set_validation(t, vx, vy, OF_V));
    stop_log log;
    memset(&log, 0, sizeof log);
    assert_t_ok(t, nnf_trainer_set_progress(t, stop_progress, &log));
    assert_t_ok(t, nnf_trainer_run(t, net, x, y, OF_M));
    assert_false(log.bad);
    assert_non_null(log.best_net);

    size_t run = (size_t)result(t, NNF_RESULT_EPOCHS_RUN);
    if (verbose()) {
        printf("  early stopping: %zu epochs run (of at most %d, patience %d), best epoch %zu\n",
               run, OF_MAX, OF_PATIENCE, log.best_epoch);
        printf("  validation loss: epoch 0 %.6f, best %.6f, last %.6f\n", log.val[0], log.best,
               log.val[run - 1]);
        for (size_t e = 0; e < run; e++)
            printf("%s%.4f", e % 10 ? " " : "\n    ", log.val[e]);
        printf("\n");
    }
    assert_true(result(t, NNF_RESULT_STOPPED_EARLY) == 1.0);
    assert_true(result(t, NNF_RESULT_RESTORED) == 1.0);
    assert_int_equal(run, log.epochs);
    assert_true(run < OF_MAX);
    assert_int_equal(run, log.best_epoch + OF_PATIENCE + 1);
    assert_true(log.best_epoch > 0); /* it learned before it overfit */
    assert_true(log.val[run - 1] > log.best);
    assert_true(result(t, NNF_RESULT_BEST_EPOCH) == (double)log.best_epoch);
    assert_true(result(t, NNF_RESULT_BEST_VAL_COST) == log.best);
    assert_int_equal(nnf_net_epochs(net), run); /* the count stays the last epoch's */
    /* the parameters of the end of the best epoch, and its validation loss */
    assert_true(same_params(net, log.best_net));
    double loss = NAN;
    assert_ok(net, nnf_net_metrics(net, vx, vy, OF_V, &loss, 1));
    if (verbose())
        printf("  validation loss of the restored net %.9f (best %.9f)\n", loss, log.best);
    assert_true(fabs(loss - log.best) <= 1e-12 * log.best);

    /* without restore-best the net keeps the last epoch's parameters */
    nnf_net *last = net_build(&(net_spec){
        .inputs = OF_N, .depth = 3, .units = units, .acts = acts, .lr = 0.001, .seed = 4});
    assert_ok(last, nnf_net_set_param(last, NNF_PARAM_OPTIMIZER, NNF_OPT_ADAM));
    assert_t_ok(t, nnf_trainer_set(t, NNF_TRAIN_RESTORE_BEST, 0));
    assert_t_ok(t, nnf_trainer_set_progress(t, NULL, NULL));
    assert_t_ok(t, nnf_trainer_run(t, last, x, y, OF_M));
    assert_true(result(t, NNF_RESULT_RESTORED) == 0.0);
    assert_true((size_t)result(t, NNF_RESULT_EPOCHS_RUN) == run);
    assert_ok(last, nnf_net_metrics(last, vx, vy, OF_V, &loss, 1));
    assert_true(fabs(loss - log.val[run - 1]) <= 1e-12 * loss);
    nnf_net_destroy(last);

    nnf_net_destroy(log.best_net);
    nnf_trainer_destroy(t);
    nnf_net_destroy(net);
}

/* ---- the progress function */

typedef struct meddle {
    nnf_trainer *other;
    const float *x, *y;
    size_t m;
    int calls, stop_at, bad_key;
    nnf_status st[8];
    char msg[8][160];
} meddle;

static void keep(meddle *md, int k, nnf_status st, const nnf_net *net)
{
    md->st[k] = st;
    (void)snprintf(md->msg[k], sizeof md->msg[k], "%s", nnf_net_errmsg(net));
}

static int meddle_progress(const nnf_progress *p, void *user)
{
    meddle *md = user;
    nnf_net *net = (nnf_net *)nnf_progress_net(p);
    if (!isnan(nnf_progress_get(p, (nnf_progress_key)10)) ||
        !isnan(nnf_progress_get(p, (nnf_progress_key)-1)))
        md->bad_key = 1; /* an unknown key gives NaN */
    if (md->calls++ == 0) {
        float w[4 * 2] = {0}, mean[2] = {0}, sd[2] = {1, 1};
        keep(md, 0, nnf_net_add_dense(net, 3, NNF_ACT_SIGMOID, NULL), net);
        keep(md, 1, nnf_net_init(net, NNF_INIT_DEFAULT, 1), net);
        keep(md, 2, nnf_trainer_run(md->other, net, md->x, md->y, md->m), net);
        keep(md, 3, nnf_layer_set_weights(nnf_net_layer(net, 1), w), net);
        keep(md, 4, nnf_layer_set_dropout(nnf_net_layer(net, 1), 0.5f), net);
        keep(md, 5, nnf_net_set_input_scaling(net, mean, sd), net);
        keep(md, 6, nnf_net_train_step(net, md->x, md->y, md->m, NULL), net);
        keep(md, 7, nnf_net_set_loss(net, NNF_LOSS_MSE), net);
    }
    return md->calls == md->stop_at;
}

static void test_the_progress_function_cannot_change_the_running_net(void **state)
{
    (void)state;
    static const char *const fn[8] = {"nnf_net_add_dense",     "nnf_net_init",
                                      "nnf_trainer_run",       "nnf_layer_set_weights",
                                      "nnf_layer_set_dropout", "nnf_net_set_input_scaling",
                                      "nnf_net_train_step",    "nnf_net_set_loss"};
    float x[20 * 2], y[20];
    make_data(x, y, 20, 2, 1, 0);
    static const size_t units[] = {4, 1};
    static const nnf_act acts[] = {NNF_ACT_TANH, NNF_ACT_SIGMOID};
    nnf_net *net = net_build(&(net_spec){.inputs = 2, .depth = 2, .units = units, .acts = acts});
    nnf_net *twin = NULL;
    assert_ok(net, nnf_net_clone(net, &twin));
    nnf_trainer *t = trainer(5, 3, 1);
    meddle md;
    memset(&md, 0, sizeof md);
    assert_int_equal(nnf_trainer_create(&md.other), NNF_OK);
    md.x = x;
    md.y = y;
    md.m = 20;
    assert_t_ok(t, nnf_trainer_set_progress(t, meddle_progress, &md));
    assert_t_ok(t, nnf_trainer_run(t, net, x, y, 20));
    for (int k = 0; k < 8; k++) {
        if (md.st[k] != NNF_ERR_STATE)
            fail_msg("%s in the progress function: %s (%s)", fn[k], nnf_status_str(md.st[k]),
                     md.msg[k]);
        assert_int_equal(strncmp(md.msg[k], fn[k], strlen(fn[k])), 0);
    }
    assert_false(md.bad_key);
    /* the run went on as if nothing had been tried: the twin's bits */
    assert_true((size_t)result(t, NNF_RESULT_EPOCHS_RUN) == 3);
    assert_int_equal(nnf_net_depth(net), 2);
    nnf_trainer *t2 = trainer(5, 3, 1);
    assert_t_ok(t2, nnf_trainer_run(t2, twin, x, y, 20));
    assert_true(same_params(net, twin));
    nnf_trainer_destroy(t2);
    nnf_trainer_destroy(md.other);
    nnf_trainer_destroy(t);
    nnf_net_destroy(twin);
    nnf_net_destroy(net);
}

static void test_a_non_zero_return_stops_the_run_with_ok(void **state)
{
    (void)state;
    float x[20 * 2], y[20];
    make_data(x, y, 20, 2, 1, 0);
    static const size_t units[] = {4, 1};
    static const nnf_act acts[] = {NNF_ACT_TANH, NNF_ACT_SIGMOID};
    nnf_net *net = net_build(&(net_spec){.inputs = 2, .depth = 2, .units = units, .acts = acts});
    nnf_trainer *t = trainer(5, 10, 1);
    meddle md;
    memset(&md, 0, sizeof md);
    assert_int_equal(nnf_trainer_create(&md.other), NNF_OK);
    md.x = x;
    md.y = y;
    md.m = 20;
    /* 4 batches and an epoch end per epoch: call 7 is epoch 1's batch 1 */
    md.stop_at = 7;
    assert_t_ok(t, nnf_trainer_set_progress(t, meddle_progress, &md));
    assert_int_equal(nnf_trainer_run(t, net, x, y, 20), NNF_OK);
    assert_int_equal(md.calls, 7);
    assert_true(result(t, NNF_RESULT_EPOCHS_RUN) == 1.0);
    assert_true(result(t, NNF_RESULT_STOPPED_EARLY) == 0.0);
    assert_int_equal(nnf_net_epochs(net), 1); /* an epoch cut short is not counted */
    assert_string_equal(nnf_trainer_errmsg(t), "");
    nnf_trainer_destroy(md.other);
    nnf_trainer_destroy(t);
    nnf_net_destroy(net);
}

/* ---- a classification problem with everything */

#define SP_CLASSES 3
#define SP_TRAIN   450
#define SP_TEST    300

typedef struct acc_log {
    size_t epochs;
    double last_val_acc;
} acc_log;

static int acc_progress(const nnf_progress *p, void *user)
{
    acc_log *log = user;
    if (nnf_progress_get(p, NNF_PROGRESS_EPOCH_END) != 0.0) {
        log->epochs++;
        log->last_val_acc = nnf_progress_get(p, NNF_PROGRESS_VAL_ACCURACY);
    }
    return 0;
}

/* Raw features far from standardized: an offset and a scale per feature. */
static void spirals_raw(float *x, float *y, size_t m, uint64_t seed)
{
    planar_spirals(x, y, m, SP_CLASSES, seed);
    for (size_t i = 0; i < m; i++) {
        x[2 * i] = x[2 * i] * 40.0f + 100.0f;
        x[2 * i + 1] = x[2 * i + 1] * 0.05f - 3.0f;
    }
}

static void test_spirals_are_learned_with_scaling_dropout_early_stopping_and_cosine(void **state)
{
    (void)state;
    static float x[SP_TRAIN * 2], y[SP_TRAIN * SP_CLASSES], vx[SP_TEST * 2],
        vy[SP_TEST * SP_CLASSES], tx[SP_TEST * 2], ty[SP_TEST * SP_CLASSES];
    spirals_raw(x, y, SP_TRAIN, 11);
    spirals_raw(vx, vy, SP_TEST, 12);
    spirals_raw(tx, ty, SP_TEST, 13);
    static const size_t units[] = {48, 48, SP_CLASSES};
    static const nnf_act acts[] = {NNF_ACT_RELU, NNF_ACT_RELU, NNF_ACT_SOFTMAX};
    nnf_net *net = net_build(&(net_spec){.inputs = 2,
                                         .depth = 3,
                                         .units = units,
                                         .acts = acts,
                                         .loss = NNF_LOSS_CROSS_ENTROPY,
                                         .lr = 0.02,
                                         .seed = 8});
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_OPTIMIZER, NNF_OPT_ADAMW));
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_WEIGHT_DECAY, 1e-4));
    assert_ok(net, nnf_layer_set_dropout(nnf_net_layer(net, 1), 0.1f));
    assert_ok(net, nnf_net_fit_input_scaling(net, x, SP_TRAIN));
    nnf_trainer *t = trainer(45, 150, 2);
    assert_t_ok(t, nnf_trainer_set(t, NNF_TRAIN_SCHEDULE, NNF_SCHEDULE_COSINE));
    assert_t_ok(t, nnf_trainer_set(t, NNF_TRAIN_DECAY, 0.02));
    assert_t_ok(t, nnf_trainer_set(t, NNF_TRAIN_DECAY_EPOCHS, 150));
    assert_t_ok(t, nnf_trainer_set(t, NNF_TRAIN_PATIENCE, 10));
    assert_t_ok(t, nnf_trainer_set_validation(t, vx, vy, SP_TEST));
    acc_log log = {0, NAN};
    assert_t_ok(t, nnf_trainer_set_progress(t, acc_progress, &log));
    assert_t_ok(t, nnf_trainer_run(t, net, x, y, SP_TRAIN));
    double train[NNF_METRIC_COUNT], test[NNF_METRIC_COUNT];
    assert_ok(net, nnf_net_metrics(net, x, y, SP_TRAIN, train, NNF_METRIC_COUNT));
    assert_ok(net, nnf_net_metrics(net, tx, ty, SP_TEST, test, NNF_METRIC_COUNT));
    /* classify agrees with the metric */
    uint32_t labels[SP_TEST];
    assert_ok(net, nnf_net_classify(net, tx, SP_TEST, labels));
    size_t right = 0;
    for (size_t i = 0; i < SP_TEST; i++)
        right += ty[i * SP_CLASSES + labels[i]] == 1.0f;
    if (verbose())
        printf("  spirals: %zu epochs (stopped early %g, best epoch %g, best val loss %.4f), "
               "train accuracy %.4f, test accuracy %.4f (loss %.4f)\n",
               log.epochs, result(t, NNF_RESULT_STOPPED_EARLY), result(t, NNF_RESULT_BEST_EPOCH),
               result(t, NNF_RESULT_BEST_VAL_COST), train[NNF_METRIC_ACCURACY],
               test[NNF_METRIC_ACCURACY], test[NNF_METRIC_LOSS]);
    assert_true((double)right / SP_TEST == test[NNF_METRIC_ACCURACY]);
    assert_true(test[NNF_METRIC_ACCURACY] >= 0.9);
    nnf_trainer_destroy(t);
    nnf_net_destroy(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_10_plus_10_epochs_are_the_bits_of_20),
        cmocka_unit_test(test_a_save_and_load_between_runs_keeps_the_bits),
        cmocka_unit_test(test_early_stopping_restores_the_best_epoch),
        cmocka_unit_test(test_the_progress_function_cannot_change_the_running_net),
        cmocka_unit_test(test_a_non_zero_return_stops_the_run_with_ok),
        cmocka_unit_test(test_spirals_are_learned_with_scaling_dropout_early_stopping_and_cosine),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
