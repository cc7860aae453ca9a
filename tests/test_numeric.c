/* SPDX-License-Identifier: MIT */
/*
 * test_numeric.c - black-box: numeric edges. Inputs of 1e30 and of
 * denormals through every activation, saturated sigmoid + BCE and softmax +
 * cross-entropy, 64 layers, m = 1, a single unit everywhere, m = 100000,
 * a huge learning rate, Adam with tiny and huge gradients. Every call ends
 * in finite results or in NNF_ERR_NUMERIC with a message and no parameter
 * changed; never a NaN or an infinity in the parameters. And the same seed
 * and thread count give bit-identical training.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "assert_ok.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nnfast.h"
#include "nets.h"
#include "ref.h"
#include "snapshot.h"

/* ---- nets and their state */

static void assert_all_finite(const float *v, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i]))
            fail_msg("%s: value %zu is %g", what, i, (double)v[i]);
}

/* The outcome of a call on extreme data: NNF_OK, or NNF_ERR_NUMERIC with a
 * message saying what is not finite, and then the net unchanged. Nothing
 * else, and the parameters are finite either way. */
static void check_outcome(nnf_net *net, nnf_status st, const snapshot *before, const char *what)
{
    if (st != NNF_OK && st != NNF_ERR_NUMERIC)
        fail_msg("%s: %s (%s), expected NNF_OK or NNF_ERR_NUMERIC", what, nnf_status_str(st),
                 nnf_net_errmsg(net));
    if (st == NNF_ERR_NUMERIC) {
        if (!strstr(nnf_net_errmsg(net), "finite"))
            fail_msg("%s: NNF_ERR_NUMERIC with message \"%s\"", what, nnf_net_errmsg(net));
        assert_unchanged(net, before, SNAP_STATE, what);
    }
    assert_params_finite(net, what);
}

/* ---- 1e30 and denormal inputs through every activation */

enum { XN = 4, XM = 3 };

typedef struct input_set {
    const char *name;
    float x[XM * XN];
    int must_succeed; /* finite small inputs: every call succeeds */
} input_set;

static const input_set g_inputs[] = {
    {"1e30",
     {1e30f, 1e30f, 1e30f, 1e30f, 1e30f, 1e30f, 1e30f, 1e30f, 1e30f, 1e30f, 1e30f, 1e30f},
     0},
    {"+-1e30",
     {1e30f, -1e30f, 1e30f, -1e30f, -1e30f, 1e30f, -1e30f, 1e30f, 1e30f, 1e30f, -1e30f, -1e30f},
     0},
    {"3e38", {3e38f, -3e38f, 3e38f, 3e38f, 3e38f, 3e38f, -3e38f, 3e38f, 1.0f, 2.0f, 3.0f, 4.0f}, 0},
    {"1e30 and denormals",
     {1e30f, -1e-40f, 0.0f, -1e30f, 1e-45f, 1e30f, -1e-38f, 0.5f, -1e30f, -1e30f, 1e-40f, 1.0f},
     0},
    {"denormals",
     {1e-40f, -1e-40f, 1e-45f, -1e-45f, 1e-39f, 1e-41f, -1e-42f, 1e-43f, -1e-39f, 1e-44f, 1e-40f,
      -1e-38f},
     1},
};

/* Labels for every output configuration: each row sums to 1, all in [0, 1]. */
static const float g_labels[XM * 3] = {1, 0, 0, 0, 1, 0, 0, 0, 1};

#define SAME_AS_HIDDEN 100

typedef struct out_config {
    const char *name;
    size_t units;
    nnf_act act; /* SAME_AS_HIDDEN: the hidden layer's activation */
    nnf_loss loss;
} out_config;

static const out_config g_outputs[] = {
    {"sigmoid + BCE", 1, NNF_ACT_SIGMOID, NNF_LOSS_BCE},
    {"softmax + cross-entropy", 3, NNF_ACT_SOFTMAX, NNF_LOSS_CROSS_ENTROPY},
    {"hidden's activation + MSE", 3, (nnf_act)SAME_AS_HIDDEN, NNF_LOSS_MSE},
};

static const nnf_act g_hidden[] = {NNF_ACT_LINEAR, NNF_ACT_SIGMOID, NNF_ACT_TANH, NNF_ACT_RELU,
                                   NNF_ACT_LEAKY_RELU};
static const char *const g_act_name[] = {"linear", "sigmoid", "tanh", "relu", "leaky_relu"};

/* The outputs for x all 0: what denormal inputs must give (to 1e-6). */
static void predict_zero(nnf_net *net, float *y)
{
    float zero[XM * XN] = {0};
    assert_ok(net, nnf_net_predict(net, zero, XM, y));
}

static void run_extreme(const input_set *in, nnf_act hidden, const out_config *oc, int *numeric,
                        int *big_ok)
{
    char what[160];
    nnf_act out_act = (int)oc->act == SAME_AS_HIDDEN ? hidden : oc->act;
    size_t units[2] = {5, oc->units};
    nnf_act acts[2] = {hidden, out_act};
    nnf_net *net = net_build(
        &(net_spec){.inputs = XN, .depth = 2, .units = units, .acts = acts, .loss = oc->loss});
    size_t n_out = oc->units;
    float y[XM * 3], y0[XM * 3], cost;

    predict_zero(net, y0);
    snapshot before;
    snapshot_take(net, &before);
    (void)snprintf(what, sizeof what, "x %s, %s hidden, %s: nnf_net_forward", in->name,
                   g_act_name[hidden], oc->name);
    nnf_status st = nnf_net_forward(net, in->x, XM, y);
    check_outcome(net, st, &before, what);
    if (st == NNF_OK) {
        assert_all_finite(y, XM * n_out, what);
        (void)snprintf(what, sizeof what, "x %s, %s hidden, %s: nnf_net_backward", in->name,
                       g_act_name[hidden], oc->name);
        st = nnf_net_backward(net, g_labels, &cost);
        check_outcome(net, st, &before, what);
        if (st == NNF_OK) {
            assert_true(isfinite(cost));
            assert_grads_finite(net, what);
        }
    }
    *numeric += st == NNF_ERR_NUMERIC;
    if (in->must_succeed) {
        assert_int_equal(st, NNF_OK);
        for (size_t i = 0; i < XM * n_out; i++) /* a denormal input is an input of 0 */
            assert_true(fabsf(y[i] - y0[i]) <= 1e-6f);
    }

    for (int step = 0; step < 3; step++) {
        snapshot_free(&before);
        snapshot_take(net, &before);
        (void)snprintf(what, sizeof what, "x %s, %s hidden, %s: nnf_net_train_step %d", in->name,
                       g_act_name[hidden], oc->name, step);
        cost = NAN;
        st = nnf_net_train_step(net, in->x, g_labels, XM, &cost);
        check_outcome(net, st, &before, what);
        if (st == NNF_OK)
            assert_true(isfinite(cost));
        if (in->must_succeed)
            assert_int_equal(st, NNF_OK);
        *numeric += st == NNF_ERR_NUMERIC;
        *big_ok += st == NNF_OK && !in->must_succeed;
    }

    snapshot_free(&before);
    snapshot_take(net, &before);
    (void)snprintf(what, sizeof what, "x %s, %s hidden, %s: nnf_net_predict", in->name,
                   g_act_name[hidden], oc->name);
    st = nnf_net_predict(net, in->x, XM, y);
    check_outcome(net, st, &before, what);
    if (st == NNF_OK)
        assert_all_finite(y, XM * n_out, what);
    if (in->must_succeed)
        assert_int_equal(st, NNF_OK);
    *numeric += st == NNF_ERR_NUMERIC;
    snapshot_free(&before);
    nnf_net_destroy(net);
}

static void test_huge_and_denormal_inputs_give_finite_results_or_numeric_error(void **state)
{
    (void)state;
    int numeric = 0, big_ok = 0;
    for (size_t i = 0; i < sizeof g_inputs / sizeof g_inputs[0]; i++)
        for (size_t h = 0; h < sizeof g_hidden / sizeof g_hidden[0]; h++)
            for (size_t o = 0; o < sizeof g_outputs / sizeof g_outputs[0]; o++)
                run_extreme(&g_inputs[i], g_hidden[h], &g_outputs[o], &numeric, &big_ok);
    /* both outcomes were seen: saturation trains, overflow is reported */
    assert_true(numeric > 0);
    assert_true(big_ok > 0);
}

/* ---- saturated sigmoid + BCE */

/* One sigmoid unit, one input: logits w x for x = +-1. */
static nnf_net *one_unit(nnf_act act, size_t units, nnf_loss loss, const float *w)
{
    size_t u[1] = {units};
    nnf_act a[1] = {act};
    nnf_net *net =
        net_build(&(net_spec){.inputs = 1, .depth = 1, .units = u, .acts = a, .loss = loss});
    assert_ok(net, nnf_layer_set_weights(nnf_net_layer(net, 1), w));
    return net;
}

static void test_saturated_sigmoid_bce_has_finite_large_cost_and_finite_gradients(void **state)
{
    (void)state;
    static const float ws[] = {100.0f, 1e4f, 1e30f};
    const float x[4] = {1, -1, 1, -1};
    const float wrong[4] = {0, 1, 0, 1}, right[4] = {1, 0, 1, 0};
    for (size_t i = 0; i < sizeof ws / sizeof ws[0]; i++) {
        float w = ws[i], dw, db, cost = NAN, acc = NAN, y[4];
        nnf_net *net = one_unit(NNF_ACT_SIGMOID, 1, NNF_LOSS_BCE, &w);
        nnf_layer *ly = nnf_net_layer(net, 1);

        /* every sample on the wrong side by w: the loss of each is w */
        assert_ok(net, nnf_net_forward(net, x, 4, y));
        assert_all_finite(y, 4, "saturated outputs");
        assert_ok(net, nnf_net_backward(net, wrong, &cost));
        assert_true(isfinite(cost));
        assert_true(fabs((double)cost - (double)w) <= 1e-6 * (double)w);
        /* dZ = A - Y = (1, -1, 1, -1): dW = mean(dZ x) = 1, db = mean(dZ) = 0 */
        assert_ok(net, nnf_layer_get_weight_grad(ly, &dw));
        assert_ok(net, nnf_layer_get_bias_grad(ly, &db));
        assert_true(fabsf(dw - 1.0f) <= 1e-6f);
        assert_true(fabsf(db) <= 1e-6f);
        assert_ok(net, nnf_net_evaluate(net, x, wrong, 4, &cost, &acc));
        assert_true(fabs((double)cost - (double)w) <= 1e-6 * (double)w);
        assert_true(acc == 0.0f);

        /* on the right side: a loss of log(1 + e^-w), finite and tiny */
        assert_ok(net, nnf_net_forward(net, x, 4, y));
        assert_ok(net, nnf_net_backward(net, right, &cost));
        assert_true(isfinite(cost) && cost >= 0.0f && cost < 1e-30f);
        assert_grads_finite(net, "saturated, right labels");
        assert_ok(net, nnf_net_evaluate(net, x, right, 4, &cost, &acc));
        assert_true(acc == 1.0f);

        /* a step on the wrong labels moves w by -lr dW = -0.01 */
        assert_ok(net, nnf_net_train_step(net, x, wrong, 4, &cost));
        assert_true(isfinite(cost));
        assert_params_finite(net, "saturated BCE step");
        float w1;
        assert_ok(net, nnf_layer_get_weights(ly, &w1));
        assert_true(w1 < w || w > 1e5f); /* 1e30 - 0.01 rounds to 1e30 */
        nnf_net_destroy(net);
    }
}

/* ---- saturated softmax + cross-entropy */

static void test_saturated_softmax_cross_entropy_has_finite_cost_and_gradients(void **state)
{
    (void)state;
    static const float scale[] = {1e4f, 1e30f};
    const float x[2] = {1, -1};
    /* sample 0: logits (s, -s, 0), label 1; sample 1: (-s, s, 0), label 0 */
    const float wrong[6] = {0, 1, 0, 1, 0, 0}, right[6] = {1, 0, 0, 0, 1, 0};
    for (size_t i = 0; i < sizeof scale / sizeof scale[0]; i++) {
        float s = scale[i], w[3] = {s, -s, 0}, dw[3], db[3], a[6], cost = NAN, acc;
        nnf_net *net = one_unit(NNF_ACT_SOFTMAX, 3, NNF_LOSS_CROSS_ENTROPY, w);
        nnf_layer *ly = nnf_net_layer(net, 1);

        assert_ok(net, nnf_net_forward(net, x, 2, a));
        assert_all_finite(a, 6, "saturated softmax");
        for (int k = 0; k < 2; k++)
            assert_true(fabsf(a[3 * k] + a[3 * k + 1] + a[3 * k + 2] - 1.0f) <= 1e-6f);
        /* L = max - z_label + log sum e^(z - max) = s - (-s) = 2s per sample */
        assert_ok(net, nnf_net_backward(net, wrong, &cost));
        assert_true(isfinite(cost));
        assert_true(fabs((double)cost - 2.0 * (double)s) <= 1e-6 * (double)s);
        /* dZ = A - Y: (1, -1, 0) and (-1, 1, 0); dW = mean(dZ x) = (1, -1, 0) */
        assert_ok(net, nnf_layer_get_weight_grad(ly, dw));
        assert_ok(net, nnf_layer_get_bias_grad(ly, db));
        assert_true(fabsf(dw[0] - 1.0f) <= 1e-6f && fabsf(dw[1] + 1.0f) <= 1e-6f);
        assert_true(fabsf(dw[2]) <= 1e-6f);
        for (int k = 0; k < 3; k++)
            assert_true(fabsf(db[k]) <= 1e-6f);
        assert_ok(net, nnf_net_evaluate(net, x, wrong, 2, &cost, &acc));
        assert_true(fabs((double)cost - 2.0 * (double)s) <= 1e-6 * (double)s);
        assert_true(acc == 0.0f);

        assert_ok(net, nnf_net_forward(net, x, 2, a));
        assert_ok(net, nnf_net_backward(net, right, &cost));
        assert_true(isfinite(cost) && cost >= 0.0f && cost < 1e-30f);
        assert_grads_finite(net, "saturated softmax, right labels");

        assert_ok(net, nnf_net_train_step(net, x, wrong, 2, &cost));
        assert_true(isfinite(cost));
        assert_params_finite(net, "saturated softmax step");
        assert_ok(net, nnf_net_predict(net, x, 2, a));
        assert_all_finite(a, 6, "saturated softmax prediction");
        nnf_net_destroy(net);
    }
}

/* ---- depth: 64 layers */

enum { DEEP_L = 64, DEEP_N = 4, DEEP_M = 8 };

static void deep_net(nnf_act hidden)
{
    size_t units[DEEP_L];
    nnf_act acts[DEEP_L];
    for (size_t l = 0; l < DEEP_L; l++) {
        units[l] = l + 1 < DEEP_L ? DEEP_N : 1;
        acts[l] = l + 1 < DEEP_L ? hidden : NNF_ACT_SIGMOID;
    }
    nnf_net *net = net_build(&(net_spec){.inputs = DEEP_N,
                                         .depth = DEEP_L,
                                         .units = units,
                                         .acts = acts,
                                         .loss = NNF_LOSS_BCE});
    assert_int_equal(nnf_net_depth(net), DEEP_L);
    float x[DEEP_M * DEEP_N], y[DEEP_M], out[DEEP_M], cost = NAN;
    ref_rng g = {7};
    for (size_t i = 0; i < DEEP_M * DEEP_N; i++)
        x[i] = (float)ref_rng_uniform(&g, -1.0, 1.0);
    for (size_t i = 0; i < DEEP_M; i++)
        y[i] = x[i * DEEP_N] > 0.0f ? 1.0f : 0.0f;

    assert_ok(net, nnf_net_forward(net, x, DEEP_M, out));
    assert_all_finite(out, DEEP_M, "64 layers: forward");
    assert_ok(net, nnf_net_backward(net, y, &cost));
    assert_true(isfinite(cost));
    assert_grads_finite(net, "64 layers: backward");
    assert_ok(net, nnf_net_update(net));
    for (int i = 0; i < 20; i++) {
        assert_ok(net, nnf_net_train_step(net, x, y, DEEP_M, &cost));
        assert_true(isfinite(cost));
    }
    assert_params_finite(net, "64 layers: train");
    assert_grads_finite(net, "64 layers: train");
    assert_ok(net, nnf_net_train(net, x, y, DEEP_M, 3, 2, 1, 5, NULL, NULL, NULL));
    assert_params_finite(net, "64 layers: nnf_net_train");
    assert_ok(net, nnf_net_predict(net, x, DEEP_M, out));
    assert_all_finite(out, DEEP_M, "64 layers: predict");
    nnf_net_destroy(net);
}

static void test_64_layers_forward_backward_and_train_stay_finite(void **state)
{
    (void)state;
    deep_net(NNF_ACT_TANH);
    deep_net(NNF_ACT_LEAKY_RELU);
    deep_net(NNF_ACT_RELU);
}

/* ---- m = 1 and a single unit everywhere, against the reference */

/* forward + backward at m against the double reference: the output and
 * every dW, db agree to 1e-4 (normwise, ref.h), the cost to 1e-5. */
static void check_against_reference(size_t L, const size_t *n, const nnf_act *act, nnf_loss loss,
                                    size_t m, uint64_t seed)
{
    nnf_net *net = net_build(
        &(net_spec){.inputs = n[0], .depth = L, .units = n + 1, .acts = act, .loss = loss});
    assert_ok(net, nnf_net_init(net, NNF_INIT_DEFAULT, seed));
    ref_net r;
    assert_int_equal(ref_net_init(&r, L, n, act, NULL, loss), 0);
    float w[64], b[8], xf[16], yf[16], out[16], cost;
    double xd[16], yd[16];
    assert_true(n[0] * m <= 16 && n[L] * m <= 16);
    ref_rng g = {seed + 1};
    for (size_t i = 0; i < n[0] * m; i++)
        xf[i] = (float)ref_rng_uniform(&g, -2.0, 2.0);
    for (size_t i = 0; i < n[L] * m; i++)
        yf[i] = (float)ref_rng_uniform(&g, 0.0, 1.0) > 0.5f ? 1.0f : 0.0f;
    if (loss == NNF_LOSS_CROSS_ENTROPY) /* one-hot rows: the reference's dZ = A - Y */
        for (size_t i = 0; i < m; i++)
            for (size_t k = 0; k < n[L]; k++)
                yf[i * n[L] + k] = k == (i * 7 + seed) % n[L] ? 1.0f : 0.0f;
    ref_to_double(xd, xf, n[0] * m);
    ref_to_double(yd, yf, n[L] * m);
    for (size_t l = 1; l <= L; l++) {
        nnf_layer *ly = nnf_net_layer(net, l);
        assert_true(n[l] * n[l - 1] <= 64 && n[l] <= 8);
        assert_ok(net, nnf_layer_get_weights(ly, w));
        assert_ok(net, nnf_layer_get_bias(ly, b));
        ref_to_double(r.w[l], w, n[l] * n[l - 1]);
        ref_to_double(r.b[l], b, n[l]);
    }
    const double *a = ref_forward(&r, xd, m);
    assert_non_null(a);
    double j = ref_cost(&r, yd);
    assert_int_equal(ref_backward(&r, yd), 0);

    assert_ok(net, nnf_net_forward(net, xf, m, out));
    assert_true(ref_rel_err_f(out, a, n[L] * m) < 1e-5);
    assert_ok(net, nnf_net_backward(net, yf, &cost));
    assert_true(fabs((double)cost - j) <= 1e-5 * fabs(j) + 1e-7);
    for (size_t l = 1; l <= L; l++) {
        nnf_layer *ly = nnf_net_layer(net, l);
        assert_ok(net, nnf_layer_get_weight_grad(ly, w));
        assert_ok(net, nnf_layer_get_bias_grad(ly, b));
        if (ref_max_abs(r.dw[l], n[l] * n[l - 1]) > 0)
            assert_true(ref_rel_err_f(w, r.dw[l], n[l] * n[l - 1]) < 1e-4);
        if (ref_max_abs(r.db[l], n[l]) > 0)
            assert_true(ref_rel_err_f(b, r.db[l], n[l]) < 1e-4);
    }
    assert_ok(net, nnf_net_update(net));
    assert_ok(net, nnf_net_train_step(net, xf, yf, m, &cost));
    assert_true(isfinite(cost));
    assert_ok(net, nnf_net_predict(net, xf, m, out));
    assert_all_finite(out, n[L] * m, "prediction");
    float acc;
    assert_ok(net, nnf_net_evaluate(net, xf, yf, m, &cost, &acc));
    assert_true(isfinite(cost));
    if (loss == NNF_LOSS_MSE) /* no accuracy for MSE */
        assert_true(isnan(acc));
    else
        assert_true(acc >= 0.0f && acc <= 1.0f);
    assert_ok(net, nnf_net_train(net, xf, yf, m, 1, 3, 1, 9, NULL, NULL, NULL));
    assert_params_finite(net, "m = 1 / one unit");
    ref_net_free(&r);
    nnf_net_destroy(net);
}

static void test_single_sample_matches_reference(void **state)
{
    (void)state;
    const size_t n[] = {3, 4, 2};
    const nnf_act act[] = {NNF_ACT_TANH, NNF_ACT_SIGMOID};
    check_against_reference(2, n, act, NNF_LOSS_BCE, 1, 11);
    const size_t ns[] = {3, 4, 3};
    const nnf_act acts[] = {NNF_ACT_SIGMOID, NNF_ACT_SOFTMAX};
    check_against_reference(2, ns, acts, NNF_LOSS_CROSS_ENTROPY, 1, 12);
}

static void test_one_unit_everywhere_matches_reference(void **state)
{
    (void)state;
    const size_t n[] = {1, 1, 1};
    const nnf_act act[] = {NNF_ACT_TANH, NNF_ACT_SIGMOID};
    check_against_reference(2, n, act, NNF_LOSS_BCE, 1, 21);
    check_against_reference(2, n, act, NNF_LOSS_BCE, 5, 22);
    const nnf_act lin[] = {NNF_ACT_SIGMOID, NNF_ACT_LINEAR};
    check_against_reference(2, n, lin, NNF_LOSS_MSE, 4, 23);
    /* a softmax of one unit is 1 whatever z: a cost of 0 for label 1 */
    const size_t n1[] = {1, 1};
    const nnf_act sm[] = {NNF_ACT_SOFTMAX};
    check_against_reference(1, n1, sm, NNF_LOSS_CROSS_ENTROPY, 3, 24);
}

/* ---- m = 100000 with a small net */

enum { BIG_M = 100000, BIG_N = 4, BIG_H = 8 };

static void test_batch_of_100000_trains_predicts_and_evaluates(void **state)
{
    (void)state;
    const size_t units[] = {BIG_H, 1};
    const nnf_act acts[] = {NNF_ACT_RELU, NNF_ACT_SIGMOID};
    nnf_net *net = net_build(&(
        net_spec){.inputs = BIG_N, .depth = 2, .units = units, .acts = acts, .loss = NNF_LOSS_BCE});
    float *x = malloc(sizeof(float) * BIG_M * BIG_N), *y = malloc(sizeof(float) * BIG_M);
    float *out = malloc(sizeof(float) * BIG_M);
    assert_true(x && y && out);
    ref_rng g = {99};
    for (size_t i = 0; i < (size_t)BIG_M * BIG_N; i++)
        x[i] = (float)ref_rng_uniform(&g, -1.0, 1.0);
    for (size_t i = 0; i < BIG_M; i++)
        y[i] = x[i * BIG_N] * x[i * BIG_N + 1] > 0.0f ? 1.0f : 0.0f;

    float cost0 = NAN, cost1 = NAN, cost2 = NAN, acc = NAN, one;
    assert_ok(net, nnf_net_evaluate(net, x, y, BIG_M, &cost0, &acc));
    assert_true(isfinite(cost0) && acc >= 0.0f && acc <= 1.0f);
    /* the step reports J before its update: the cost evaluate computed in chunks */
    assert_ok(net, nnf_net_train_step(net, x, y, BIG_M, &cost1));
    assert_true(fabsf(cost1 - cost0) <= 1e-5f * cost0);
    assert_ok(net, nnf_net_train_step(net, x, y, BIG_M, &cost2));
    assert_true(isfinite(cost2));
    assert_params_finite(net, "m = 100000");
    assert_grads_finite(net, "m = 100000");

    assert_ok(net, nnf_net_predict(net, x, BIG_M, out));
    for (size_t i = 0; i < BIG_M; i++)
        assert_true(out[i] >= 0.0f && out[i] <= 1.0f);
    /* the last sample on its own gives the same output */
    assert_ok(net, nnf_net_predict(net, x + (size_t)(BIG_M - 1) * BIG_N, 1, &one));
    assert_true(fabsf(one - out[BIG_M - 1]) <= 1e-6f);
    assert_ok(net, nnf_net_evaluate(net, x, y, BIG_M, &cost2, &acc));
    assert_true(isfinite(cost2) && acc >= 0.0f && acc <= 1.0f);
    free(x);
    free(y);
    free(out);
    nnf_net_destroy(net);
}

/* ---- a huge learning rate */

/* One sigmoid unit on 2 inputs with w = (0.5, 0.5), lr huge, x = (big, 0)
 * with the wrong label: dW = (big, 0), so lr dW overflows float. */
static void huge_step_fails(nnf_optimizer opt, float big)
{
    const float w[2] = {0.5f, 0.5f}, x[2] = {big, 0.0f}, y[1] = {0.0f};
    size_t u[1] = {1};
    nnf_act a[1] = {NNF_ACT_SIGMOID};
    nnf_net *net = net_build(
        &(net_spec){.inputs = 2, .depth = 1, .units = u, .acts = a, .loss = NNF_LOSS_BCE});
    assert_ok(net, nnf_layer_set_weights(nnf_net_layer(net, 1), w));
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_OPTIMIZER, (double)opt));
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_LEARNING_RATE, 1e30));

    snapshot before;
    snapshot_take(net, &before);
    float cost = NAN;
    assert_int_equal(nnf_net_train_step(net, x, y, 1, &cost), NNF_ERR_NUMERIC);
    if (!strstr(nnf_net_errmsg(net), "learning rate"))
        fail_msg("message \"%s\" does not name the learning rate", nnf_net_errmsg(net));
    assert_unchanged(net, &before, SNAP_STATE, "huge learning rate: train step");
    assert_params_finite(net, "huge learning rate");

    /* the same through forward, backward, update: the update fails alone */
    assert_ok(net, nnf_net_forward(net, x, 1, NULL));
    assert_ok(net, nnf_net_backward(net, y, &cost));
    assert_true(isfinite(cost));
    assert_int_equal(nnf_net_update(net), NNF_ERR_NUMERIC);
    assert_unchanged(net, &before, SNAP_STATE, "huge learning rate: update");

    /* with a sane learning rate the same step works */
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_LEARNING_RATE, 1e-12));
    assert_ok(net, nnf_net_train_step(net, x, y, 1, &cost));
    assert_params_finite(net, "huge learning rate, then a small one");
    snapshot_free(&before);
    nnf_net_destroy(net);
}

/* Ordinary data, lr = 1e30: steps succeed with finite parameters or fail
 * with NNF_ERR_NUMERIC and change nothing; within a few steps one fails. */
static void huge_lr_training(nnf_optimizer opt)
{
    const size_t units[] = {4, 1};
    const nnf_act acts[] = {NNF_ACT_RELU, NNF_ACT_SIGMOID};
    nnf_net *net = net_build(
        &(net_spec){.inputs = 3, .depth = 2, .units = units, .acts = acts, .loss = NNF_LOSS_BCE});
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_OPTIMIZER, (double)opt));
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_LEARNING_RATE, 1e30));
    const float x[12] = {0.5f, -1, 0.25f, -0.75f, 0.5f, 1, 1.5f, 0.25f, -0.5f, 0, -0.25f, 0.75f};
    const float y[4] = {1, 0, 1, 0};
    int failed = 0;
    for (int i = 0; i < 10 && !failed; i++) {
        snapshot before;
        snapshot_take(net, &before);
        float cost = NAN;
        nnf_status st = nnf_net_train_step(net, x, y, 4, &cost);
        check_outcome(net, st, &before, "lr = 1e30: train step");
        if (st == NNF_OK)
            assert_true(isfinite(cost));
        failed = st == NNF_ERR_NUMERIC;
        snapshot_free(&before);
    }
    assert_true(failed);
    nnf_net_destroy(net);
}

static void test_huge_learning_rate_is_numeric_error_and_changes_nothing(void **state)
{
    (void)state;
    huge_step_fails(NNF_OPT_SGD, 1e9f);
    huge_step_fails(NNF_OPT_MOMENTUM, 1e10f);
    huge_lr_training(NNF_OPT_SGD);
    huge_lr_training(NNF_OPT_MOMENTUM);
    huge_lr_training(NNF_OPT_ADAM);
}

/* ---- Adam with tiny and huge gradients */

static nnf_net *adam_net(double eps)
{
    const size_t units[] = {3, 1};
    const nnf_act acts[] = {NNF_ACT_LINEAR, NNF_ACT_SIGMOID};
    nnf_net *net = net_build(
        &(net_spec){.inputs = 2, .depth = 2, .units = units, .acts = acts, .loss = NNF_LOSS_BCE});
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_OPTIMIZER, NNF_OPT_ADAM));
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_ADAM_EPSILON, eps));
    return net;
}

static void test_adam_with_tiny_and_huge_gradients_keeps_parameters_finite(void **state)
{
    (void)state;
    const float y[2] = {1, 0};
    /* tiny: gradients of the first layer are denormal or 0, g^2 underflows */
    static const float tiny[] = {1e-40f, 1e-45f, 0.0f};
    static const double eps[] = {1e-8, 1e-30, 1e-300};
    for (size_t i = 0; i < sizeof tiny / sizeof tiny[0]; i++)
        for (size_t e = 0; e < sizeof eps / sizeof eps[0]; e++) {
            nnf_net *net = adam_net(eps[e]);
            const float x[4] = {tiny[i], -tiny[i], -tiny[i], tiny[i]};
            for (int s = 0; s < 5; s++) {
                float cost = NAN;
                assert_ok(net, nnf_net_train_step(net, x, y, 2, &cost));
                assert_true(isfinite(cost));
                assert_params_finite(net, "Adam, tiny gradients");
            }
            nnf_net_destroy(net);
        }

    /* large but squarable gradients: steps of about lr, finite. The two
     * samples are the same x with labels 1 and 0: dZ sums to 2a - 1, which
     * saturation makes +-1, so the gradients are of the size of x. */
    static const float large[] = {1e6f, 1e15f};
    for (size_t i = 0; i < sizeof large / sizeof large[0]; i++) {
        nnf_net *net = adam_net(1e-8);
        const float x[4] = {large[i], large[i], large[i], large[i]};
        for (int s = 0; s < 5; s++) {
            snapshot before;
            snapshot_take(net, &before);
            float cost = NAN;
            nnf_status st = nnf_net_train_step(net, x, y, 2, &cost);
            check_outcome(net, st, &before, "Adam, large gradients");
            if (s == 0) /* the first step at least works: g^2 fits in float */
                assert_int_equal(st, NNF_OK);
            snapshot_free(&before);
        }
        nnf_net_destroy(net);
    }

    /* huge: g^2 overflows float, so Adam's v would be infinite, whatever
     * the learning rate: NUMERIC, nothing written, and the message says so */
    nnf_net *net = adam_net(1e-8);
    const float x[4] = {1e25f, 1e25f, 1e25f, 1e25f};
    for (int s = 0; s < 3; s++) {
        snapshot before;
        snapshot_take(net, &before);
        float cost = NAN;
        nnf_status st = nnf_net_train_step(net, x, y, 2, &cost);
        check_outcome(net, st, &before, "Adam, huge gradients");
        assert_int_equal(st, NNF_ERR_NUMERIC);
        if (!strstr(nnf_net_errmsg(net), "optimizer's state") ||
            !strstr(nnf_net_errmsg(net), "gradient"))
            fail_msg("Adam, huge gradients: message \"%s\"", nnf_net_errmsg(net));
        snapshot_free(&before);
    }
    nnf_net_destroy(net);
}

/* ---- reproducibility: same seed and thread count, same bits */

/* Big enough that OpenBLAS splits the first layer's products between two
 * threads (m n k = 3.2e6, well above its threshold of 2^18: with OpenBLAS
 * 0.3.21 one and two threads give different bits here), small enough for
 * valgrind. */
enum { R_IN = 784, R_HID = 32, R_OUT = 10, R_M = 128 };

/* Train a fresh 784-32-10 softmax net with Adam: a step and a shuffled epoch. */
static snapshot train_once(const float *x, const float *y)
{
    const size_t units[] = {R_HID, R_OUT};
    const nnf_act acts[] = {NNF_ACT_RELU, NNF_ACT_SOFTMAX};
    nnf_net *net = net_build(&(net_spec){.inputs = R_IN,
                                         .depth = 2,
                                         .units = units,
                                         .acts = acts,
                                         .loss = NNF_LOSS_CROSS_ENTROPY});
    assert_ok(net, nnf_net_init(net, NNF_INIT_DEFAULT, 2024));
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_OPTIMIZER, NNF_OPT_ADAM));
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_LEARNING_RATE, 1e-3));
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_L2_PENALTY, 0.01));
    float cost;
    assert_ok(net, nnf_net_train_step(net, x, y, R_M, &cost));
    assert_ok(net, nnf_net_train(net, x, y, R_M, R_M / 2, 1, 1, 77, NULL, NULL, NULL));
    assert_params_finite(net, "reproducibility run");
    snapshot s;
    snapshot_take(net, &s);
    nnf_net_destroy(net);
    return s;
}

static void test_same_seed_and_threads_give_bit_identical_training(void **state)
{
    (void)state;
    float *x = malloc(sizeof(float) * R_M * R_IN), *y = calloc(R_M * R_OUT, sizeof(float));
    assert_true(x && y);
    ref_rng g = {314};
    for (size_t i = 0; i < (size_t)R_M * R_IN; i++)
        x[i] = (float)ref_rng_uniform(&g, 0.0, 1.0);
    for (size_t i = 0; i < R_M; i++)
        y[i * R_OUT + ref_rng_next(&g) % R_OUT] = 1.0f;

    int saved = nnf_get_threads();
    assert_ok(NULL, nnf_set_threads(1));
    snapshot a = train_once(x, y), b = train_once(x, y);
    int same1 = !snapshot_differ(&a, &b, SNAP_STATE, NULL, 0);
    snapshot_free(&a);
    snapshot_free(&b);

    assert_ok(NULL, nnf_set_threads(2));
    int threads = nnf_get_threads();
    a = train_once(x, y);
    b = train_once(x, y);
    int same2 = !snapshot_differ(&a, &b, SNAP_STATE, NULL, 0);
    snapshot_free(&a);
    snapshot_free(&b);

    assert_ok(NULL, nnf_set_threads(saved));
    free(x);
    free(y);
    assert_int_equal(nnf_get_threads(), saved);
    assert_int_equal(threads, 2);
    assert_true(same1);
    assert_true(same2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_huge_and_denormal_inputs_give_finite_results_or_numeric_error),
        cmocka_unit_test(test_saturated_sigmoid_bce_has_finite_large_cost_and_finite_gradients),
        cmocka_unit_test(test_saturated_softmax_cross_entropy_has_finite_cost_and_gradients),
        cmocka_unit_test(test_64_layers_forward_backward_and_train_stay_finite),
        cmocka_unit_test(test_single_sample_matches_reference),
        cmocka_unit_test(test_one_unit_everywhere_matches_reference),
        cmocka_unit_test(test_batch_of_100000_trains_predicts_and_evaluates),
        cmocka_unit_test(test_huge_learning_rate_is_numeric_error_and_changes_nothing),
        cmocka_unit_test(test_adam_with_tiny_and_huge_gradients_keeps_parameters_finite),
        cmocka_unit_test(test_same_seed_and_threads_give_bit_identical_training),
    };
    return cmocka_run_group_tests_name("numeric", tests, NULL, NULL);
}
