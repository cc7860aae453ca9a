/* SPDX-License-Identifier: MIT */
/*
 * test_regularize.c - black-box: what 1.3 added to a training step, each
 * against its formula in nnfast.h computed in double by tests/ref.c:
 * inverted dropout with the mask read back through the public API (a rate
 * of 0 bit-identical to none; prediction, evaluation, metrics, gradient
 * checking and contexts never drop), AdamW's decoupled decay of the
 * weights only, the trainer's learning-rate schedules seen in the progress
 * function and in the parameters, and clipping by the global norm before
 * the optimizer. Set NNF_TEST_VERBOSE=1 to print the errors reached.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "assert_ok.h"
#include "nets.h"
#include "params.h"
#include "verbose.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nnfast.h"
#include "ref.h"

#define REL_TOL 1e-4 /* float32 library against the double reference (ref.h) */

static void report(const char *what, double err)
{
    if (verbose())
        printf("  %-52s %.3g\n", what, err);
}

/* ---- dropout */

#define DROP_M 16
#define DROP_H 8

/* 5 -> 8 tanh (dropout rate) -> 8 linear, MSE, whose second layer is
 * diagonal with b = 0: its output j is d_j times the first layer's
 * (dropped) unit j, so the mask shows in the output. */
static void dropout_pair(pair *p, float rate)
{
    static const size_t n[] = {5, DROP_H, DROP_H};
    static const nnf_act act[] = {NNF_ACT_TANH, NNF_ACT_LINEAR};
    pair_init(p, 2, n, act, NNF_LOSS_MSE, DROP_M, 0, 31);
    float w[DROP_H * DROP_H] = {0}, b[DROP_H] = {0};
    for (size_t j = 0; j < DROP_H; j++)
        w[j * DROP_H + j] = 0.5f + 0.125f * (float)j;
    nnf_layer *l2 = nnf_net_layer(p->net, 2);
    assert_ok(p->net, nnf_layer_set_weights(l2, w));
    assert_ok(p->net, nnf_layer_set_bias(l2, b));
    pair_sync_layer(p, 2);
    assert_ok(p->net, nnf_layer_set_dropout(nnf_net_layer(p->net, 1), rate));
}

static void test_dropout_forward_and_gradients_match_the_reference_with_its_mask(void **state)
{
    (void)state;
    const float rate = 0.375f;
    pair p;
    dropout_pair(&p, rate);
    float out[DROP_M * DROP_H];
    double mask[DROP_M * DROP_H];
    assert_ok(p.net, nnf_net_forward(p.net, p.x, DROP_M, out));
    size_t dropped = 0;
    for (size_t i = 0; i < DROP_M * DROP_H; i++) {
        mask[i] = out[i] == 0.0f ? 0.0 : 1.0 / (1.0 - (double)rate);
        dropped += out[i] == 0.0f;
    }
    /* about rate of the 128 units, and some kept and dropped in every unit */
    assert_in_range(dropped, 24, 72);
    p.ref.drop[1] = mask;
    const double *a = ref_forward(&p.ref, p.xd, DROP_M);
    assert_non_null(a);
    double e_fwd = ref_rel_err_f(out, a, DROP_M * DROP_H);
    /* a kept unit is tanh(z) / (1 - rate) exactly as in double */
    assert_true(e_fwd < 1e-6);
    float cost = NAN;
    assert_ok(p.net, nnf_net_backward(p.net, p.y, &cost));
    double j = ref_cost(&p.ref, p.yd);
    assert_int_equal(ref_backward(&p.ref, p.yd), 0);
    double e_cost = fabs((double)cost - j) / fabs(j), e_grad = pair_worst_err(&p, 1);
    report("dropout forward vs reference", e_fwd);
    report("dropout cost vs reference", e_cost);
    report("dropout gradients vs reference", e_grad);
    assert_true(e_cost < 1e-6);
    assert_true(e_grad < REL_TOL);

    /* without the mask the reference disagrees: the mask matters */
    p.ref.drop[1] = NULL;
    assert_non_null(ref_forward(&p.ref, p.xd, DROP_M));
    assert_int_equal(ref_backward(&p.ref, p.yd), 0);
    assert_true(pair_worst_err(&p, 1) > 1e-2);
    pair_free(&p);
}

static void test_a_dropout_step_updates_as_the_reference_with_its_mask(void **state)
{
    (void)state;
    const float rate = 0.5f;
    pair p;
    dropout_pair(&p, rate);
    assert_ok(p.net, nnf_net_set_param(p.net, NNF_PARAM_LEARNING_RATE, 0.1));
    /* the mask of a pass of nnf_net_forward, then that pass's backward and update */
    float out[DROP_M * DROP_H];
    double mask[DROP_M * DROP_H];
    assert_ok(p.net, nnf_net_forward(p.net, p.x, DROP_M, out));
    for (size_t i = 0; i < DROP_M * DROP_H; i++)
        mask[i] = out[i] == 0.0f ? 0.0 : 2.0;
    assert_ok(p.net, nnf_net_backward(p.net, p.y, NULL));
    assert_ok(p.net, nnf_net_update(p.net));
    p.ref.drop[1] = mask;
    assert_non_null(ref_forward(&p.ref, p.xd, DROP_M));
    assert_int_equal(ref_backward(&p.ref, p.yd), 0);
    ref_update(&p.ref, 0.1);
    double e = pair_worst_err(&p, 0);
    report("dropout update vs reference", e);
    assert_true(e < REL_TOL);
    pair_free(&p);
}

/* Two twins trained the same way by nnf_net_train_step, nnf_net_train and a
 * trainer. */
static void train_both_ways(nnf_net *net, const float *x, const float *y, size_t m)
{
    assert_ok(net, nnf_net_train_step(net, x, y, m, NULL));
    assert_ok(net, nnf_net_train(net, x, y, m, 4, 2, 1, 5, NULL, NULL, NULL));
    nnf_trainer *t = NULL;
    assert_int_equal(nnf_trainer_create(&t), NNF_OK);
    assert_int_equal(nnf_trainer_set(t, NNF_TRAIN_BATCH_SIZE, 5), NNF_OK);
    assert_int_equal(nnf_trainer_set(t, NNF_TRAIN_EPOCHS, 3), NNF_OK);
    assert_int_equal(nnf_trainer_set(t, NNF_TRAIN_SEED, 9), NNF_OK);
    assert_ok(net, nnf_trainer_run(t, net, x, y, m));
    nnf_trainer_destroy(t);
}

static void test_a_dropout_rate_of_0_is_bit_identical_to_none(void **state)
{
    (void)state;
    pair p;
    dropout_pair(&p, 0.0f);
    nnf_net *plain = NULL;
    assert_ok(p.net, nnf_net_clone(p.net, &plain));
    /* a rate set and set back to 0 on one, never set on the other twin */
    nnf_net *back = NULL;
    assert_ok(p.net, nnf_net_clone(p.net, &back));
    assert_ok(back, nnf_layer_set_dropout(nnf_net_layer(back, 1), 0.5f));
    assert_ok(back, nnf_layer_set_dropout(nnf_net_layer(back, 1), 0.0f));
    float a[DROP_M * DROP_H], b[DROP_M * DROP_H];
    assert_ok(p.net, nnf_net_forward(p.net, p.x, DROP_M, a));
    assert_ok(plain, nnf_net_forward(plain, p.x, DROP_M, b));
    assert_memory_equal(a, b, sizeof a);
    train_both_ways(p.net, p.x, p.y, DROP_M);
    train_both_ways(plain, p.x, p.y, DROP_M);
    train_both_ways(back, p.x, p.y, DROP_M);
    assert_true(same_params(p.net, plain));
    assert_true(same_params(back, plain));
    nnf_net_destroy(plain);
    nnf_net_destroy(back);
    pair_free(&p);
}

static void test_prediction_evaluation_and_contexts_never_drop(void **state)
{
    (void)state;
    pair p;
    dropout_pair(&p, 0.5f);
    nnf_net *none = NULL;
    assert_ok(p.net, nnf_net_clone(p.net, &none));
    assert_ok(none, nnf_layer_set_dropout(nnf_net_layer(none, 1), 0.0f));
    float a[DROP_M * DROP_H], b[DROP_M * DROP_H];
    /* a training pass drops */
    assert_ok(p.net, nnf_net_forward(p.net, p.x, DROP_M, a));
    assert_ok(none, nnf_net_forward(none, p.x, DROP_M, b));
    assert_true(memcmp(a, b, sizeof a) != 0);
    /* predict */
    assert_ok(p.net, nnf_net_predict(p.net, p.x, DROP_M, a));
    assert_ok(none, nnf_net_predict(none, p.x, DROP_M, b));
    assert_memory_equal(a, b, sizeof a);
    /* a context */
    nnf_ctx *ctx = NULL;
    assert_ok(p.net, nnf_ctx_create(p.net, DROP_M, &ctx));
    memset(a, 0, sizeof a);
    assert_int_equal(nnf_ctx_predict(ctx, p.x, DROP_M, a), NNF_OK);
    assert_memory_equal(a, b, sizeof a);
    nnf_ctx_destroy(ctx);
    /* evaluate and metrics */
    float c1, c2, acc1, acc2;
    assert_ok(p.net, nnf_net_evaluate(p.net, p.x, p.y, DROP_M, &c1, &acc1));
    assert_ok(none, nnf_net_evaluate(none, p.x, p.y, DROP_M, &c2, &acc2));
    assert_memory_equal(&c1, &c2, sizeof c1);
    double m1[NNF_METRIC_COUNT], m2[NNF_METRIC_COUNT];
    assert_ok(p.net, nnf_net_metrics(p.net, p.x, p.y, DROP_M, m1, NNF_METRIC_COUNT));
    assert_ok(none, nnf_net_metrics(none, p.x, p.y, DROP_M, m2, NNF_METRIC_COUNT));
    for (int k = 0; k < NNF_METRIC_COUNT; k++)
        assert_true(m1[k] == m2[k] || (isnan(m1[k]) && isnan(m2[k])));
    /* gradient checking measures the net without dropout */
    double g1 = NAN, g2 = NAN;
    assert_ok(p.net, nnf_net_gradcheck(p.net, p.x, p.y, 4, &g1));
    assert_ok(none, nnf_net_gradcheck(none, p.x, p.y, 4, &g2));
    assert_true(g1 < 1e-6);
    assert_true(g1 == g2);
    nnf_net_destroy(none);
    pair_free(&p);
}

/* ---- AdamW */

static void test_adamw_matches_the_reference_and_decays_weights_only(void **state)
{
    (void)state;
    static const size_t n[] = {4, 6, 3};
    static const nnf_act act[] = {NNF_ACT_TANH, NNF_ACT_SIGMOID};
    const double lr = 0.02, decay = 0.5, b1 = 0.8, b2 = 0.99, eps = 1e-6;
    pair p;
    pair_init(&p, 2, n, act, NNF_LOSS_BCE, 24, 0, 41);
    nnf_net *net = p.net;
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_OPTIMIZER, NNF_OPT_ADAMW));
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_LEARNING_RATE, lr));
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_WEIGHT_DECAY, decay));
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_ADAM_BETA1, b1));
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_ADAM_BETA2, b2));
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_ADAM_EPSILON, eps));
    /* an Adam twin that differs only in the decay */
    ref_net adam;
    assert_int_equal(ref_net_init(&adam, 2, n, act, NULL, NNF_LOSS_BCE), 0);
    for (size_t l = 1; l <= 2; l++) {
        memcpy(adam.w[l], p.ref.w[l], n[l] * n[l - 1] * sizeof(double));
        memcpy(adam.b[l], p.ref.b[l], n[l] * sizeof(double));
    }
    double worst = 0.0;
    for (int s = 0; s < 20; s++) {
        assert_ok(net, nnf_net_train_step(net, p.x, p.y, p.m, NULL));
        assert_non_null(ref_forward(&p.ref, p.xd, p.m));
        assert_int_equal(ref_backward(&p.ref, p.yd), 0);
        assert_int_equal(ref_update_adamw(&p.ref, lr, b1, b2, eps, decay), 0);
        assert_non_null(ref_forward(&adam, p.xd, p.m));
        assert_int_equal(ref_backward(&adam, p.yd), 0);
        assert_int_equal(ref_update_adam(&adam, lr, b1, b2, eps), 0);
        worst = fmax(worst, pair_worst_err(&p, 0));
    }
    report("AdamW parameters vs reference (20 steps)", worst);
    assert_true(worst < REL_TOL);
    /* the decay shrank the weights against Adam's, and left the biases
     * on Adam's course (they differ only through the weights' effect) */
    double nw = 0.0, na = 0.0;
    for (size_t l = 1; l <= 2; l++)
        for (size_t i = 0; i < n[l] * n[l - 1]; i++) {
            nw += p.ref.w[l][i] * p.ref.w[l][i];
            na += adam.w[l][i] * adam.w[l][i];
        }
    assert_true(nw < 0.95 * na);
    ref_net_free(&adam);
    pair_free(&p);
}

static void test_adamw_first_step_in_closed_form(void **state)
{
    (void)state;
    /* t = 1: mhat = g, vhat = g^2, so w' = (1 - lr decay) w - lr g / (|g| + eps)
     * and b' = b - lr g / (|g| + eps) */
    static const size_t n[] = {3, 4, 2};
    static const nnf_act act[] = {NNF_ACT_TANH, NNF_ACT_LINEAR};
    const double lr = 0.01, decay = 2.0;
    pair p;
    pair_init(&p, 2, n, act, NNF_LOSS_MSE, 8, 0, 43);
    float w0[PARAMS_MAX], w1[PARAMS_MAX], g[PARAMS_MAX];
    size_t np = net_params(p.net, w0);
    assert_ok(p.net, nnf_net_set_param(p.net, NNF_PARAM_OPTIMIZER, NNF_OPT_ADAMW));
    assert_ok(p.net, nnf_net_set_param(p.net, NNF_PARAM_LEARNING_RATE, lr));
    assert_ok(p.net, nnf_net_set_param(p.net, NNF_PARAM_WEIGHT_DECAY, decay));
    assert_ok(p.net, nnf_net_train_step(p.net, p.x, p.y, p.m, NULL));
    net_params(p.net, w1);
    net_grads(p.net, g);
    size_t at = 0;
    double worst = 0.0;
    for (size_t l = 1; l <= 2; l++) {
        size_t nw = n[l] * n[l - 1];
        for (size_t i = 0; i < nw + n[l]; i++, at++) {
            double keep = i < nw ? 1.0 - lr * decay : 1.0, gi = g[at];
            double want = keep * (double)w0[at] - lr * gi / (fabs(gi) + 1e-8);
            worst = fmax(worst, fabs((double)w1[at] - want));
        }
    }
    assert_int_equal(at, np);
    report("AdamW first step vs closed form (abs)", worst);
    assert_true(worst < 1e-6);
    pair_free(&p);
}

/* ---- schedules */

typedef struct sched_log {
    size_t calls;
    double rate[64]; /* per epoch, from the progress function */
    int bad_batch;   /* a batch whose rate was not its epoch's */
    double worst;    /* of the parameters' change against rate * g */
    float before[PARAMS_MAX];
} sched_log;

/* Each batch of an SGD run moves the parameters by exactly rate * g. */
static int sched_progress(const nnf_progress *pr, void *user)
{
    sched_log *log = user;
    size_t e = (size_t)nnf_progress_get(pr, NNF_PROGRESS_EPOCH);
    double rate = nnf_progress_get(pr, NNF_PROGRESS_LEARNING_RATE);
    nnf_net *net = (nnf_net *)nnf_progress_net(pr);
    if (nnf_progress_get(pr, NNF_PROGRESS_EPOCH_END) != 0.0)
        return 0;
    if (nnf_progress_get(pr, NNF_PROGRESS_BATCH) == 0.0)
        log->rate[e % 64] = rate;
    else if (log->rate[e % 64] != rate)
        log->bad_batch = 1;
    float now[PARAMS_MAX], g[PARAMS_MAX];
    size_t np = test_net_params(net, now, PARAMS_MAX, 0);
    size_t ng = test_net_params(net, g, PARAMS_MAX, 1);
    if (np == SIZE_MAX || ng != np) {
        log->worst = INFINITY;
        return 1;
    }
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < np; i++) {
        double want = (double)log->before[i] - rate * (double)g[i];
        num = fmax(num, fabs((double)now[i] - want));
        den = fmax(den, fabs(rate * (double)g[i]));
    }
    log->worst = fmax(log->worst, den > 0.0 ? num / den : num); /* a rate of 0: no change */
    memcpy(log->before, now, np * sizeof(float));
    log->calls++;
    return 0;
}

static double schedule_factor(nnf_schedule s, double e, double d, double T)
{
    switch (s) {
    case NNF_SCHEDULE_STEP: return pow(d, floor(e / T));
    case NNF_SCHEDULE_EXPONENTIAL: return pow(d, e / T);
    case NNF_SCHEDULE_COSINE:
        return d + (1.0 - d) * (1.0 + cos(3.14159265358979323846 * fmin(e, T) / T)) / 2.0;
    default: return 1.0;
    }
}

static void check_schedule(nnf_schedule s, double d, double T)
{
    const double alpha = 0.2;
    const size_t m = 24;
    float x[24 * 3], y[24];
    make_data(x, y, m, 3, 1, 0);
    static const size_t units[] = {5, 1};
    static const nnf_act acts[] = {NNF_ACT_TANH, NNF_ACT_SIGMOID};
    nnf_net *net = net_build(
        &(net_spec){.inputs = 3, .depth = 2, .units = units, .acts = acts, .lr = alpha, .seed = 3});
    nnf_trainer *t = NULL;
    assert_int_equal(nnf_trainer_create(&t), NNF_OK);
    assert_int_equal(nnf_trainer_set(t, NNF_TRAIN_BATCH_SIZE, 8), NNF_OK);
    assert_int_equal(nnf_trainer_set(t, NNF_TRAIN_EPOCHS, 6), NNF_OK);
    assert_int_equal(nnf_trainer_set(t, NNF_TRAIN_SCHEDULE, s), NNF_OK);
    assert_int_equal(nnf_trainer_set(t, NNF_TRAIN_DECAY, d), NNF_OK);
    assert_int_equal(nnf_trainer_set(t, NNF_TRAIN_DECAY_EPOCHS, T), NNF_OK);
    sched_log log;
    memset(&log, 0, sizeof log);
    net_params(net, log.before);
    assert_int_equal(nnf_trainer_set_progress(t, sched_progress, &log), NNF_OK);
    /* two runs: the second's epochs continue the net's count */
    assert_ok(net, nnf_trainer_run(t, net, x, y, m));
    assert_ok(net, nnf_trainer_run(t, net, x, y, m));
    assert_int_equal(nnf_net_epochs(net), 12);
    assert_int_equal(log.calls, 12 * 3);
    assert_false(log.bad_batch);
    double worst_rate = 0.0;
    for (size_t e = 0; e < 12; e++) {
        double want = alpha * schedule_factor(s, (double)e, d, T);
        worst_rate = fmax(worst_rate, want > 0.0 ? fabs(log.rate[e] - want) / want : log.rate[e]);
    }
    char what[80];
    (void)snprintf(what, sizeof what, "schedule %d: rate vs formula", (int)s);
    report(what, worst_rate);
    (void)snprintf(what, sizeof what, "schedule %d: step vs rate * g", (int)s);
    report(what, log.worst);
    assert_true(worst_rate < 1e-6);   /* the rate is a float */
    assert_true(log.worst < REL_TOL); /* float rounding of p next to a small step */
    /* after the run the net's own rate is alpha again */
    double lr = 0.0;
    assert_ok(net, nnf_net_get_param(net, NNF_PARAM_LEARNING_RATE, &lr));
    assert_true(fabs(lr - alpha) < 1e-7);
    nnf_trainer_destroy(t);
    nnf_net_destroy(net);
}

static void test_each_schedule_follows_its_formula(void **state)
{
    (void)state;
    check_schedule(NNF_SCHEDULE_CONSTANT, 0.1, 10);
    check_schedule(NNF_SCHEDULE_STEP, 0.5, 4);
    check_schedule(NNF_SCHEDULE_EXPONENTIAL, 0.3, 5);
    check_schedule(NNF_SCHEDULE_COSINE, 0.05, 8);
    check_schedule(NNF_SCHEDULE_COSINE, 0.0, 1); /* a floor of 0: no steps after epoch 1 */
}

/* ---- clipping */

static void clipped_run(pair *p, double clip, int epochs, double l2)
{
    nnf_trainer *t = NULL;
    assert_ok(p->net, nnf_net_set_param(p->net, NNF_PARAM_L2_PENALTY, l2));
    assert_int_equal(nnf_trainer_create(&t), NNF_OK);
    assert_int_equal(nnf_trainer_set(t, NNF_TRAIN_BATCH_SIZE, (double)p->m), NNF_OK);
    assert_int_equal(nnf_trainer_set(t, NNF_TRAIN_EPOCHS, epochs), NNF_OK);
    assert_int_equal(nnf_trainer_set(t, NNF_TRAIN_CLIP_NORM, clip), NNF_OK);
    assert_ok(p->net, nnf_trainer_run(t, p->net, p->x, p->y, p->m));
    nnf_trainer_destroy(t);
}

static void test_clipping_scales_the_global_norm_before_the_optimizer(void **state)
{
    (void)state;
    static const size_t n[] = {4, 6, 5, 2};
    static const nnf_act act[] = {NNF_ACT_TANH, NNF_ACT_TANH, NNF_ACT_LINEAR};
    const double lr = 0.1, beta = 0.7, clip = 0.05, l2 = 0.3;
    pair p;
    pair_init(&p, 3, n, act, NNF_LOSS_MSE, 20, 0, 47);
    assert_ok(p.net, nnf_net_set_param(p.net, NNF_PARAM_OPTIMIZER, NNF_OPT_MOMENTUM));
    assert_ok(p.net, nnf_net_set_param(p.net, NNF_PARAM_MOMENTUM, beta));
    assert_ok(p.net, nnf_net_set_param(p.net, NNF_PARAM_LEARNING_RATE, lr));
    clipped_run(&p, clip, 3, l2);
    p.ref.l2 = l2;
    double norm_min = INFINITY;
    for (int e = 0; e < 3; e++) {
        assert_non_null(ref_forward(&p.ref, p.xd, p.m));
        assert_int_equal(ref_backward(&p.ref, p.yd), 0);
        norm_min = fmin(norm_min, ref_clip_norm(&p.ref, clip)); /* penalty included */
        assert_int_equal(ref_update_momentum(&p.ref, lr, beta), 0);
    }
    assert_true(norm_min > 2 * clip); /* every step was clipped */
    double e = pair_worst_err(&p, 0);
    report("clipped momentum vs reference (3 epochs)", e);
    assert_true(e < REL_TOL);
    /* the last gradient read back has the clip's norm */
    float g[PARAMS_MAX];
    size_t ng = net_grads(p.net, g);
    double sum = 0.0;
    for (size_t i = 0; i < ng; i++)
        sum += (double)g[i] * (double)g[i];
    assert_true(fabs(sqrt(sum) - clip) < 1e-6);
    pair_free(&p);
}

static void test_a_clip_above_the_norm_changes_nothing(void **state)
{
    (void)state;
    static const size_t n[] = {4, 6, 2};
    static const nnf_act act[] = {NNF_ACT_TANH, NNF_ACT_LINEAR};
    pair a, b;
    pair_init(&a, 2, n, act, NNF_LOSS_MSE, 20, 0, 53);
    pair_init(&b, 2, n, act, NNF_LOSS_MSE, 20, 0, 53);
    clipped_run(&a, 0.0, 3, 0.0);
    clipped_run(&b, 1e6, 3, 0.0);
    assert_true(same_params(a.net, b.net));
    pair_free(&a);
    pair_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dropout_forward_and_gradients_match_the_reference_with_its_mask),
        cmocka_unit_test(test_a_dropout_step_updates_as_the_reference_with_its_mask),
        cmocka_unit_test(test_a_dropout_rate_of_0_is_bit_identical_to_none),
        cmocka_unit_test(test_prediction_evaluation_and_contexts_never_drop),
        cmocka_unit_test(test_adamw_matches_the_reference_and_decays_weights_only),
        cmocka_unit_test(test_adamw_first_step_in_closed_form),
        cmocka_unit_test(test_each_schedule_follows_its_formula),
        cmocka_unit_test(test_clipping_scales_the_global_norm_before_the_optimizer),
        cmocka_unit_test(test_a_clip_above_the_norm_changes_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
