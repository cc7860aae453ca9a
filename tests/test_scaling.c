/* SPDX-License-Identifier: MIT */
/*
 * test_scaling.c - black-box: what a net holds beside its layers since
 * 1.3, and what it reports. Input scaling: fitted as a double computation
 * of the mean and population deviation (0 read as 1), and a scaled net
 * predicts, trains and serves exactly as an unscaled one on standardized x
 * (and as the float64 reference there). nnf_net_classify against argmax /
 * threshold of nnf_net_predict; nnf_net_metrics against double
 * computations (the loss against the float64 reference, the rest from the
 * predictions), NaN past the known metrics. Metadata: set, replace,
 * remove, order, copies and the limits of nnfast.h.
 * Set NNF_TEST_VERBOSE=1 to print the errors reached.
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

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nnfast.h"
#include "ref.h"

static void report(const char *what, double err)
{
    if (verbose())
        printf("  %-52s %.3g\n", what, err);
}

/* ---- input scaling */

#define SC_M 300
#define SC_N 4

/* Features far from standardized: a large offset over a small spread, a
 * negative one, a constant, and one already standard. */
static void raw_data(float *x, size_t m, uint64_t seed)
{
    ref_rng g = {seed};
    for (size_t i = 0; i < m; i++) {
        x[i * SC_N + 0] = (float)(1e4 + ref_rng_uniform(&g, -0.5, 0.5));
        x[i * SC_N + 1] = (float)(-40.0 + 12.0 * ref_rng_uniform(&g, -1.0, 1.0));
        x[i * SC_N + 2] = 7.25f;
        x[i * SC_N + 3] = (float)ref_rng_uniform(&g, -1.0, 1.0);
    }
}

/* mean and population deviation of each feature, in double, two passes */
static void double_moments(const float *x, size_t m, double *mean, double *sd)
{
    for (size_t k = 0; k < SC_N; k++) {
        double s = 0.0, q = 0.0;
        for (size_t i = 0; i < m; i++)
            s += (double)x[i * SC_N + k];
        mean[k] = s / (double)m;
        for (size_t i = 0; i < m; i++) {
            double d = (double)x[i * SC_N + k] - mean[k];
            q += d * d;
        }
        sd[k] = sqrt(q / (double)m);
    }
}

static void test_fit_computes_the_mean_and_population_deviation_in_double(void **state)
{
    (void)state;
    static float x[SC_M * SC_N];
    raw_data(x, SC_M, 1);
    nnf_net *net = NULL;
    assert_int_equal(nnf_net_create(&net, SC_N), NNF_OK);
    float mean[SC_N], sd[SC_N];
    assert_int_equal(nnf_net_get_input_scaling(net, mean, sd), NNF_ERR_STATE);
    assert_ok(net, nnf_net_fit_input_scaling(net, x, SC_M));
    assert_ok(net, nnf_net_get_input_scaling(net, mean, sd));
    double dm[SC_N], ds[SC_N];
    double_moments(x, SC_M, dm, ds);
    double worst = 0.0;
    for (size_t k = 0; k < SC_N; k++) {
        /* the float nearest the double value: one rounding, none before */
        assert_true(mean[k] == (float)dm[k]);
        if (ds[k] > 0.0) {
            assert_true(sd[k] == (float)ds[k]);
            worst = fmax(worst, fabs((double)sd[k] - ds[k]) / ds[k]);
        }
    }
    report("fitted deviation vs double (relative)", worst);
    /* the spread of feature 0 is 1/sqrt(12) of its width, below float's
     * resolution at 1e4 for a one-pass E[x^2] - E[x]^2 in float */
    assert_true(fabs((double)sd[0] - 1.0 / sqrt(12.0)) < 0.02);
    assert_true(sd[2] == 1.0f); /* a constant feature: deviation 0 reads 1 */
    assert_true(mean[2] == 7.25f);

    /* set: a 0 reads as 1; both NULL removes it */
    const float m2[SC_N] = {1, 2, 3, 4}, s2[SC_N] = {0.5f, 0.0f, 2.0f, 1.0f};
    assert_ok(net, nnf_net_set_input_scaling(net, m2, s2));
    assert_ok(net, nnf_net_get_input_scaling(net, mean, sd));
    assert_memory_equal(mean, m2, sizeof mean);
    assert_true(sd[0] == 0.5f && sd[1] == 1.0f && sd[2] == 2.0f && sd[3] == 1.0f);
    assert_ok(net, nnf_net_set_input_scaling(net, NULL, NULL));
    assert_int_equal(nnf_net_get_input_scaling(net, mean, sd), NNF_ERR_STATE);
    nnf_net_destroy(net);
}

/* (x - mean) / std in float, as nnfast.h defines the scaled input */
static void standardize(float *dst, const float *x, size_t m, const float *mean, const float *sd)
{
    for (size_t i = 0; i < m; i++)
        for (size_t k = 0; k < SC_N; k++)
            dst[i * SC_N + k] = (x[i * SC_N + k] - mean[k]) / sd[k];
}

static void test_a_scaled_net_is_an_unscaled_net_on_standardized_x(void **state)
{
    (void)state;
    static float x[SC_M * SC_N], xs[SC_M * SC_N], y[SC_M * 3], a[SC_M * 3], b[SC_M * 3];
    raw_data(x, SC_M, 2);
    float dummy[SC_M * SC_N];
    make_data(dummy, y, SC_M, SC_N, 3, 1);
    static const size_t units[] = {6, 3};
    static const nnf_act acts[] = {NNF_ACT_TANH, NNF_ACT_SOFTMAX};
    nnf_net *scaled = net_build(&(net_spec){.inputs = SC_N,
                                            .depth = 2,
                                            .units = units,
                                            .acts = acts,
                                            .loss = NNF_LOSS_CROSS_ENTROPY,
                                            .lr = 0.1,
                                            .seed = 5});
    nnf_net *plain = NULL;
    assert_ok(scaled, nnf_net_clone(scaled, &plain));
    assert_ok(scaled, nnf_net_fit_input_scaling(scaled, x, SC_M));
    float mean[SC_N], sd[SC_N];
    assert_ok(scaled, nnf_net_get_input_scaling(scaled, mean, sd));
    standardize(xs, x, SC_M, mean, sd);

    /* predictions, a context, forward, evaluate, metrics, classify */
    assert_ok(scaled, nnf_net_predict(scaled, x, SC_M, a));
    assert_ok(plain, nnf_net_predict(plain, xs, SC_M, b));
    assert_memory_equal(a, b, sizeof a);
    nnf_ctx *ctx = NULL;
    assert_ok(scaled, nnf_ctx_create(scaled, SC_M, &ctx));
    memset(a, 0, sizeof a);
    assert_int_equal(nnf_ctx_predict(ctx, x, SC_M, a), NNF_OK);
    assert_memory_equal(a, b, sizeof a);
    nnf_ctx_destroy(ctx);
    assert_ok(scaled, nnf_net_forward(scaled, x, 20, a));
    assert_ok(plain, nnf_net_forward(plain, xs, 20, b));
    assert_memory_equal(a, b, 20 * 3 * sizeof(float));
    float ca, cb;
    assert_ok(scaled, nnf_net_backward(scaled, y, &ca));
    assert_ok(plain, nnf_net_backward(plain, y, &cb));
    assert_memory_equal(&ca, &cb, sizeof ca);
    double ma[NNF_METRIC_COUNT], mb[NNF_METRIC_COUNT];
    assert_ok(scaled, nnf_net_metrics(scaled, x, y, SC_M, ma, NNF_METRIC_COUNT));
    assert_ok(plain, nnf_net_metrics(plain, xs, y, SC_M, mb, NNF_METRIC_COUNT));
    assert_memory_equal(ma, mb, sizeof ma);
    uint32_t la[SC_M], lb[SC_M];
    assert_ok(scaled, nnf_net_classify(scaled, x, SC_M, la));
    assert_ok(plain, nnf_net_classify(plain, xs, SC_M, lb));
    assert_memory_equal(la, lb, sizeof la);

    /* training: steps, nnf_net_train and a trainer see the standardized x */
    assert_ok(scaled, nnf_net_train_step(scaled, x, y, 40, NULL));
    assert_ok(plain, nnf_net_train_step(plain, xs, y, 40, NULL));
    assert_ok(scaled, nnf_net_train(scaled, x, y, SC_M, 50, 2, 1, 3, NULL, NULL, NULL));
    assert_ok(plain, nnf_net_train(plain, xs, y, SC_M, 50, 2, 1, 3, NULL, NULL, NULL));
    nnf_trainer *t = NULL;
    assert_int_equal(nnf_trainer_create(&t), NNF_OK);
    assert_int_equal(nnf_trainer_set(t, NNF_TRAIN_BATCH_SIZE, 64), NNF_OK);
    assert_int_equal(nnf_trainer_set(t, NNF_TRAIN_EPOCHS, 2), NNF_OK);
    assert_int_equal(nnf_trainer_set_validation(t, x, y, 100), NNF_OK);
    assert_ok(scaled, nnf_trainer_run(t, scaled, x, y, SC_M));
    double va = NAN, vb = NAN;
    assert_int_equal(nnf_trainer_result(t, NNF_RESULT_BEST_VAL_COST, &va), NNF_OK);
    assert_int_equal(nnf_trainer_set_validation(t, xs, y, 100), NNF_OK);
    assert_ok(plain, nnf_trainer_run(t, plain, xs, y, SC_M));
    assert_int_equal(nnf_trainer_result(t, NNF_RESULT_BEST_VAL_COST, &vb), NNF_OK);
    assert_true(va == vb);
    assert_true(same_params(scaled, plain));
    nnf_trainer_destroy(t);
    nnf_net_destroy(plain);
    nnf_net_destroy(scaled);
}

static void test_a_scaled_net_predicts_the_reference_on_standardized_x(void **state)
{
    (void)state;
    static const size_t n[] = {SC_N, 5, 2};
    static const nnf_act act[] = {NNF_ACT_TANH, NNF_ACT_SIGMOID};
    pair p;
    pair_init(&p, 2, n, act, NNF_LOSS_BCE, 32, 0, 61);
    float x[32 * SC_N], mean[SC_N], sd[SC_N], out[32 * 2];
    double xd[32 * SC_N];
    raw_data(x, 32, 3);
    assert_ok(p.net, nnf_net_fit_input_scaling(p.net, x, 32));
    assert_ok(p.net, nnf_net_get_input_scaling(p.net, mean, sd));
    /* the reference standardizes in double */
    for (size_t i = 0; i < 32; i++)
        for (size_t k = 0; k < SC_N; k++)
            xd[i * SC_N + k] = ((double)x[i * SC_N + k] - (double)mean[k]) / (double)sd[k];
    const double *want = ref_forward(&p.ref, xd, 32);
    assert_non_null(want);
    assert_ok(p.net, nnf_net_predict(p.net, x, 32, out));
    double e = ref_rel_err_f(out, want, 32 * 2);
    report("scaled prediction vs reference", e);
    assert_true(e < 1e-5);
    pair_free(&p);
}

/* ---- classify */

static void test_classify_is_argmax_or_threshold_of_predict(void **state)
{
    (void)state;
    enum { CM = 200 };
    static float x[CM * 3], y[CM * 4], out[CM * 4];
    uint32_t labels[CM];
    make_data(x, y, CM, 3, 4, 1);
    static const struct {
        nnf_act act;
        nnf_loss loss;
        size_t outs;
    } cases[] = {{NNF_ACT_SOFTMAX, NNF_LOSS_CROSS_ENTROPY, 4},
                 {NNF_ACT_SIGMOID, NNF_LOSS_BCE, 3},
                 {NNF_ACT_LINEAR, NNF_LOSS_MSE, 2},
                 {NNF_ACT_SIGMOID, NNF_LOSS_BCE, 1},
                 {NNF_ACT_SIGMOID, NNF_LOSS_MSE, 1}};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        const size_t units[] = {8, cases[c].outs};
        const nnf_act acts[] = {NNF_ACT_RELU, cases[c].act};
        nnf_net *net = net_build(&(net_spec){.inputs = 3,
                                             .depth = 2,
                                             .units = units,
                                             .acts = acts,
                                             .loss = cases[c].loss,
                                             .seed = 9 + c});
        assert_ok(net, nnf_net_predict(net, x, CM, out));
        assert_ok(net, nnf_net_classify(net, x, CM, labels));
        size_t k = cases[c].outs, ones = 0;
        for (size_t i = 0; i < CM; i++) {
            uint32_t want = 0;
            if (k == 1)
                want = out[i] >= 0.5f;
            else
                for (uint32_t j = 1; j < k; j++)
                    if (out[i * k + j] > out[i * k + want])
                        want = j;
            assert_int_equal(labels[i], want);
            ones += labels[i] != 0;
        }
        assert_true(ones > 0 && ones < CM); /* both sides seen */
        nnf_net_destroy(net);
    }
    /* ties go to the first unit: equal outputs from zero weights and biases */
    const size_t units[] = {3};
    const nnf_act acts[] = {NNF_ACT_SOFTMAX};
    nnf_net *net = net_build(&(net_spec){.inputs = 3,
                                         .depth = 1,
                                         .units = units,
                                         .acts = acts,
                                         .loss = NNF_LOSS_CROSS_ENTROPY});
    const float zero[9] = {0};
    assert_ok(net, nnf_layer_set_weights(nnf_net_layer(net, 1), zero));
    assert_ok(net, nnf_layer_set_bias(nnf_net_layer(net, 1), zero));
    assert_ok(net, nnf_net_classify(net, x, 5, labels));
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(labels[i], 0);
    /* one sigmoid unit at exactly 0.5 is class 1 */
    const size_t u1[] = {1};
    const nnf_act a1[] = {NNF_ACT_SIGMOID};
    nnf_net *one = net_build(&(net_spec){.inputs = 3, .depth = 1, .units = u1, .acts = a1});
    assert_ok(one, nnf_layer_set_weights(nnf_net_layer(one, 1), zero));
    assert_ok(one, nnf_layer_set_bias(nnf_net_layer(one, 1), zero));
    assert_ok(one, nnf_net_classify(one, x, 5, labels));
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(labels[i], 1);
    nnf_net_destroy(one);
    nnf_net_destroy(net);
}

/* ---- metrics */

/* RMSE, MAE, R2 (per unit, averaged) and accuracy in double from outputs a. */
static void double_metrics(const float *a, const float *y, size_t m, size_t n, nnf_act out,
                           double *v)
{
    double sq = 0.0, ab = 0.0, r2 = 0.0, right = 0.0;
    for (size_t i = 0; i < m * n; i++) {
        double d = (double)a[i] - (double)y[i];
        sq += d * d;
        ab += fabs(d);
    }
    for (size_t k = 0; k < n; k++) {
        double mean = 0.0, tot = 0.0, res = 0.0;
        for (size_t i = 0; i < m; i++)
            mean += (double)y[i * n + k];
        mean /= (double)m;
        for (size_t i = 0; i < m; i++) {
            double d = (double)y[i * n + k] - mean, e = (double)y[i * n + k] - (double)a[i * n + k];
            tot += d * d;
            res += e * e;
        }
        r2 += (1.0 - res / tot) / (double)n;
    }
    if (out == NNF_ACT_SIGMOID) { /* by the output, whatever the loss */
        for (size_t i = 0; i < m * n; i++)
            right += (a[i] > 0.5f) == (y[i] > 0.5f);
        right /= (double)(m * n);
    } else if (out == NNF_ACT_SOFTMAX) {
        for (size_t i = 0; i < m; i++) {
            size_t ka = 0, ky = 0;
            for (size_t k = 1; k < n; k++) {
                ka = a[i * n + k] > a[i * n + ka] ? k : ka;
                ky = y[i * n + k] > y[i * n + ky] ? k : ky;
            }
            right += ka == ky;
        }
        right /= (double)m;
    } else {
        right = (double)NAN;
    }
    v[NNF_METRIC_ACCURACY] = right;
    v[NNF_METRIC_RMSE] = sqrt(sq / (double)(m * n));
    v[NNF_METRIC_MAE] = ab / (double)(m * n);
    v[NNF_METRIC_R2] = r2;
}

static double rel(double got, double want)
{
    return fabs(got - want) / fmax(fabs(want), 1e-300);
}

static void check_metrics(nnf_act out, nnf_loss loss, double l2)
{
    static const size_t n[] = {4, 7, 3};
    const nnf_act act[] = {NNF_ACT_TANH, out};
    pair p;
    pair_init(&p, 2, n, act, loss, 64, 0, 70 + (uint64_t)loss);
    assert_ok(p.net, nnf_net_set_param(p.net, NNF_PARAM_L2_PENALTY, l2));
    double got[NNF_METRIC_COUNT + 3], want[NNF_METRIC_COUNT];
    for (size_t k = 0; k < NNF_METRIC_COUNT + 3; k++)
        got[k] = -123.0;
    assert_ok(p.net, nnf_net_metrics(p.net, p.x, p.y, p.m, got, NNF_METRIC_COUNT + 3));
    /* loss and cost against the float64 reference */
    assert_non_null(ref_forward(&p.ref, p.xd, p.m));
    want[NNF_METRIC_LOSS] = ref_cost(&p.ref, p.yd);
    p.ref.l2 = l2;
    want[NNF_METRIC_COST] = ref_cost(&p.ref, p.yd);
    /* the others from the predictions, in double */
    float a[64 * 3];
    assert_ok(p.net, nnf_net_predict(p.net, p.x, p.m, a));
    double_metrics(a, p.y, p.m, 3, out, want);
    double e_loss = rel(got[NNF_METRIC_LOSS], want[NNF_METRIC_LOSS]);
    double e_cost = rel(got[NNF_METRIC_COST], want[NNF_METRIC_COST]);
    char what[96];
    (void)snprintf(what, sizeof what, "metrics, loss %d l2 %g: loss, cost vs reference", (int)loss,
                   l2);
    report(what, fmax(e_loss, e_cost));
    assert_true(e_loss < 1e-5);
    assert_true(e_cost < 1e-5);
    if (l2 > 0.0)
        assert_true(got[NNF_METRIC_COST] > got[NNF_METRIC_LOSS] * (1.0 + 1e-3));
    else
        assert_true(got[NNF_METRIC_COST] == got[NNF_METRIC_LOSS]);
    for (int k = NNF_METRIC_ACCURACY; k < NNF_METRIC_COUNT; k++) {
        if (isnan(want[k])) {
            assert_true(isnan(got[k]));
            continue;
        }
        if (rel(got[k], want[k]) > 1e-12)
            fail_msg("metric %d: %.17g, expected %.17g", k, got[k], want[k]);
    }
    for (size_t k = NNF_METRIC_COUNT; k < NNF_METRIC_COUNT + 3; k++)
        assert_true(isnan(got[k]));
    /* evaluate gives the same cost and accuracy, in float (NaN with MSE, as in 1.2) */
    float cost = NAN, acc = NAN;
    assert_ok(p.net, nnf_net_evaluate(p.net, p.x, p.y, p.m, &cost, &acc));
    assert_true(cost == (float)got[NNF_METRIC_COST]);
    if (loss == NNF_LOSS_MSE)
        assert_true(isnan(acc));
    else
        assert_true(acc == (float)got[NNF_METRIC_ACCURACY]);
    /* fewer values: only those written */
    double two[3] = {-1.0, -1.0, -1.0};
    assert_ok(p.net, nnf_net_metrics(p.net, p.x, p.y, p.m, two, 2));
    assert_true(two[0] == got[0] && two[1] == got[1] && two[2] == -1.0);
    assert_ok(p.net, nnf_net_metrics(p.net, p.x, p.y, p.m, NULL, 0));
    pair_free(&p);
}

static void test_metrics_match_double_computations(void **state)
{
    (void)state;
    check_metrics(NNF_ACT_SIGMOID, NNF_LOSS_BCE, 0.0);
    check_metrics(NNF_ACT_SIGMOID, NNF_LOSS_BCE, 0.8);
    check_metrics(NNF_ACT_LINEAR, NNF_LOSS_MSE, 0.0);
    check_metrics(NNF_ACT_LINEAR, NNF_LOSS_MSE, 0.8);
    check_metrics(NNF_ACT_SIGMOID, NNF_LOSS_MSE, 0.0); /* accuracy by the output */
    check_metrics(NNF_ACT_SOFTMAX, NNF_LOSS_CROSS_ENTROPY, 0.0);
    check_metrics(NNF_ACT_SOFTMAX, NNF_LOSS_CROSS_ENTROPY, 0.8);
}

static void test_metrics_in_chunks_equal_one_pass_and_r2_of_constant_labels_is_nan(void **state)
{
    (void)state;
    enum { BM = 1000 }; /* more than one chunk of 256 */
    static float x[BM * 3], y[BM * 2], a[BM * 2];
    make_data(x, y, BM, 3, 2, 0);
    static const size_t units[] = {5, 2};
    static const nnf_act acts[] = {NNF_ACT_TANH, NNF_ACT_LINEAR};
    nnf_net *net = net_build(&(net_spec){
        .inputs = 3, .depth = 2, .units = units, .acts = acts, .loss = NNF_LOSS_MSE, .seed = 2});
    double got[NNF_METRIC_COUNT], want[NNF_METRIC_COUNT];
    assert_ok(net, nnf_net_metrics(net, x, y, BM, got, NNF_METRIC_COUNT));
    assert_ok(net, nnf_net_predict(net, x, BM, a));
    double_metrics(a, y, BM, 2, NNF_ACT_LINEAR, want);
    double loss = 0.0;
    for (size_t i = 0; i < BM * 2; i++)
        loss += 0.5 * ((double)a[i] - (double)y[i]) * ((double)a[i] - (double)y[i]);
    assert_true(rel(got[NNF_METRIC_LOSS], loss / BM) < 1e-6);
    assert_true(isnan(got[NNF_METRIC_ACCURACY]));
    for (int k = NNF_METRIC_RMSE; k < NNF_METRIC_COUNT; k++)
        assert_true(rel(got[k], want[k]) < 1e-12);
    /* every label of unit 1 equal: R2 is NaN, the rest defined */
    for (size_t i = 0; i < BM; i++)
        y[i * 2 + 1] = 0.25f;
    assert_ok(net, nnf_net_metrics(net, x, y, BM, got, NNF_METRIC_COUNT));
    assert_true(isnan(got[NNF_METRIC_R2]));
    assert_true(isfinite(got[NNF_METRIC_RMSE]) && isfinite(got[NNF_METRIC_MAE]));
    nnf_net_destroy(net);
}

/* ---- metadata */

static void assert_meta(nnf_net *net, const char *key, const char *want)
{
    char buf[NNF_META_VALUE_MAX + 1];
    assert_ok(net, nnf_net_get_meta(net, key, buf, sizeof buf));
    assert_string_equal(buf, want);
}

static void test_metadata_is_set_replaced_removed_and_kept_in_order(void **state)
{
    (void)state;
    nnf_net *net = NULL;
    assert_int_equal(nnf_net_create(&net, 2), NNF_OK);
    assert_int_equal(nnf_net_meta_count(net), 0);
    assert_int_equal(nnf_net_meta_count(NULL), 0);
    assert_ok(net, nnf_net_set_meta(net, "b", "first"));
    assert_ok(net, nnf_net_set_meta(net, "a", ""));
    assert_ok(net, nnf_net_set_meta(net, "\xe6\x97\xa5\xe6\x9c\xac", "\xf0\x9f\x98\x80 ok"));
    assert_ok(net, nnf_net_set_meta(net, "b", "second")); /* replaced, keeps its place */
    assert_int_equal(nnf_net_meta_count(net), 3);
    static const char *const order[] = {"b", "a", "\xe6\x97\xa5\xe6\x9c\xac"};
    char key[NNF_META_KEY_MAX + 1];
    for (size_t i = 0; i < 3; i++) {
        assert_ok(net, nnf_net_meta_key(net, i, key, sizeof key));
        assert_string_equal(key, order[i]);
    }
    assert_meta(net, "b", "second");
    assert_meta(net, "a", "");
    assert_meta(net, "\xe6\x97\xa5\xe6\x9c\xac", "\xf0\x9f\x98\x80 ok");
    /* a copy of exactly the size fits; one byte less writes nothing past cap */
    char small[8];
    memset(small, 'x', sizeof small);
    assert_ok(net, nnf_net_get_meta(net, "b", small, 7));
    assert_string_equal(small, "second");
    memset(small, 'x', sizeof small);
    assert_int_equal(nnf_net_get_meta(net, "b", small, 6), NNF_ERR_ARG);
    assert_non_null(strstr(nnf_net_errmsg(net), "7"));
    assert_true(small[6] == 'x' && small[7] == 'x');
    /* removed: the others close up */
    assert_ok(net, nnf_net_set_meta(net, "b", NULL));
    assert_int_equal(nnf_net_meta_count(net), 2);
    assert_ok(net, nnf_net_meta_key(net, 0, key, sizeof key));
    assert_string_equal(key, "a");
    assert_int_equal(nnf_net_get_meta(net, "b", small, sizeof small), NNF_ERR_ARG);
    /* a clone has its own copy */
    nnf_net *copy = NULL;
    assert_ok(net, nnf_net_clone(net, &copy));
    assert_ok(net, nnf_net_set_meta(net, "a", "changed"));
    assert_meta(copy, "a", "");
    nnf_net_destroy(copy);
    nnf_net_destroy(net);
}

static void test_metadata_limits_are_those_of_the_header(void **state)
{
    (void)state;
    nnf_net *net = NULL;
    assert_int_equal(nnf_net_create(&net, 2), NNF_OK);
    static char key[NNF_META_KEY_MAX + 2], value[NNF_META_VALUE_MAX + 2];
    memset(key, 'k', NNF_META_KEY_MAX);
    memset(value, 'v', NNF_META_VALUE_MAX);
    assert_ok(net, nnf_net_set_meta(net, key, value)); /* the longest of both */
    assert_meta(net, key, value);
    /* the longest value in 2-byte characters */
    for (size_t i = 0; i + 1 < NNF_META_VALUE_MAX; i += 2)
        memcpy(value + i, "\xc3\xa9", 2);
    assert_ok(net, nnf_net_set_meta(net, "utf8", value));
    /* NNF_META_MAX entries in all, then replacing and removing still work */
    for (unsigned i = (unsigned)nnf_net_meta_count(net); i < NNF_META_MAX; i++) {
        char k[16];
        (void)snprintf(k, sizeof k, "key%u", i);
        assert_ok(net, nnf_net_set_meta(net, k, "x"));
    }
    assert_int_equal(nnf_net_meta_count(net), NNF_META_MAX);
    assert_int_equal(nnf_net_set_meta(net, "one more", "x"), NNF_ERR_SHAPE);
    assert_int_equal(nnf_net_meta_count(net), NNF_META_MAX);
    assert_ok(net, nnf_net_set_meta(net, "utf8", "short"));
    assert_ok(net, nnf_net_set_meta(net, "utf8", NULL));
    assert_ok(net, nnf_net_set_meta(net, "one more", "x"));
    assert_int_equal(nnf_net_meta_count(net), NNF_META_MAX);
    /* a full net saves and loads */
    size_t size = 0;
    assert_ok(net, nnf_net_saved_size(net, 0, &size));
    unsigned char *buf = malloc(size);
    assert_non_null(buf);
    assert_ok(net, nnf_net_save_mem(net, buf, size, 0, NULL));
    nnf_net *back = NULL;
    char err[256];
    assert_int_equal(nnf_net_load_mem(&back, buf, size, err, sizeof err), NNF_OK);
    assert_int_equal(nnf_net_meta_count(back), NNF_META_MAX);
    memset(value, 'v', NNF_META_VALUE_MAX);
    assert_meta(back, key, value);
    free(buf);
    nnf_net_destroy(back);
    nnf_net_destroy(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fit_computes_the_mean_and_population_deviation_in_double),
        cmocka_unit_test(test_a_scaled_net_is_an_unscaled_net_on_standardized_x),
        cmocka_unit_test(test_a_scaled_net_predicts_the_reference_on_standardized_x),
        cmocka_unit_test(test_classify_is_argmax_or_threshold_of_predict),
        cmocka_unit_test(test_metrics_match_double_computations),
        cmocka_unit_test(test_metrics_in_chunks_equal_one_pass_and_r2_of_constant_labels_is_nan),
        cmocka_unit_test(test_metadata_is_set_replaced_removed_and_kept_in_order),
        cmocka_unit_test(test_metadata_limits_are_those_of_the_header),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
