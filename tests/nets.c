/* SPDX-License-Identifier: MIT */
/* nets.c - see nets.h. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "nets.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "assert_ok.h"

/* |z| at ReLU kinks in a pair: far above float32's error in z */
#define KINK_MARGIN 1e-3

nnf_net *net_build(const net_spec *spec)
{
    nnf_net *net = NULL;
    assert_ok(net, nnf_net_create(&net, spec->inputs));
    for (size_t l = 0; l < spec->depth; l++)
        assert_ok(net, nnf_net_add_dense(net, spec->units[l], spec->acts[l], NULL));
    assert_ok(net, nnf_net_set_loss(net, spec->loss));
    if (spec->lr != 0.0)
        assert_ok(net, nnf_net_set_param(net, NNF_PARAM_LEARNING_RATE, spec->lr));
    if (spec->init != NNF_INIT_DEFAULT || spec->seed != 0)
        assert_ok(net, nnf_net_init(net, spec->init, spec->seed));
    return net;
}

void make_data(float *x, float *y, size_t m, size_t n_in, size_t n_out, int onehot)
{
    for (size_t i = 0; i < m; i++) {
        float s = 0.0f;
        for (size_t k = 0; k < n_in; k++) {
            x[i * n_in + k] = (float)((i * 7 + k * 13 + 3) % 29) / 14.5f - 1.0f;
            s += x[i * n_in + k] * (float)(k + 1);
        }
        for (size_t k = 0; k < n_out; k++)
            y[i * n_out + k] = onehot ? (float)((i + i / 3) % n_out == k)
                                      : (float)((s + (float)k * 0.3f > 0.0f) != (i % 5 == 0));
    }
}

double worst_row_sum(const float *out, size_t n, size_t m)
{
    double worst = 0.0;
    for (size_t i = 0; i < m; i++) {
        double s = 0.0;
        for (size_t k = 0; k < n; k++)
            s += (double)out[i * n + k];
        worst = fmax(worst, fabs(s - 1.0));
    }
    return worst;
}

/* Every weight and bias (grads = 0), or every dW and db (grads = 1), of
 * net is finite. */
static void assert_finite(nnf_net *net, int grads, const char *what)
{
    for (size_t l = 1; l <= nnf_net_depth(net); l++) {
        const nnf_layer *ly = nnf_net_layer(net, l);
        size_t nw = nnf_layer_units(ly) * nnf_layer_inputs(ly), nb = nnf_layer_units(ly);
        float *buf = malloc((nw + nb) * sizeof(float));
        assert_non_null(buf);
        assert_ok(net, grads ? nnf_layer_get_weight_grad(ly, buf) : nnf_layer_get_weights(ly, buf));
        assert_ok(net,
                  grads ? nnf_layer_get_bias_grad(ly, buf + nw) : nnf_layer_get_bias(ly, buf + nw));
        for (size_t i = 0; i < nw + nb; i++)
            if (!isfinite(buf[i])) {
                double v = (double)buf[i];
                free(buf);
                fail_msg("%s: %s%s %zu of layer %zu is %g", what, grads ? "the gradient of " : "",
                         i < nw ? "weight" : "bias", i < nw ? i : i - nw, l, v);
            }
        free(buf);
    }
}

void assert_params_finite(nnf_net *net, const char *what)
{
    assert_finite(net, 0, what);
}

void assert_grads_finite(nnf_net *net, const char *what)
{
    assert_finite(net, 1, what);
}

/* One train step on make_data of m samples (one-hot rows for
 * cross-entropy): its status, and its cost in *cost (may be NULL). */
static nnf_status step_on_data(nnf_net *net, size_t m, float *cost)
{
    size_t n_in = nnf_net_inputs(net), n_out = nnf_net_outputs(net);
    float *x = malloc(m * n_in * sizeof(float)), *y = malloc(m * n_out * sizeof(float));
    nnf_loss loss = NNF_LOSS_BCE;
    assert_true(x && y);
    assert_ok(net, nnf_net_get_loss(net, &loss));
    make_data(x, y, m, n_in, n_out, loss == NNF_LOSS_CROSS_ENTROPY);
    nnf_status st = nnf_net_train_step(net, x, y, m, cost);
    free(x);
    free(y);
    return st;
}

void train_steps(nnf_net *net, int steps)
{
    for (int s = 0; s < steps; s++)
        assert_ok(net, step_on_data(net, 8, NULL));
}

void assert_trains(nnf_net *net)
{
    float cost = NAN;
    assert_ok(net, step_on_data(net, 4, &cost));
    assert_true(isfinite(cost));
    assert_params_finite(net, "after a train step");
}

nnf_net *mixed_net(void)
{
    static const size_t units[] = {6, 5, 3};
    static const nnf_act acts[] = {NNF_ACT_LEAKY_RELU, NNF_ACT_RELU, NNF_ACT_SOFTMAX};
    static const double settings[7] = {0.03, NNF_OPT_MOMENTUM, 0.7, 0.8, 0.99, 1e-6, 0.002};
    nnf_net *net = net_build(&(net_spec){.inputs = 4,
                                         .depth = 3,
                                         .units = units,
                                         .acts = acts,
                                         .loss = NNF_LOSS_CROSS_ENTROPY,
                                         .init = NNF_INIT_XAVIER,
                                         .seed = 77});
    assert_ok(net, nnf_layer_set_slope(nnf_net_layer(net, 1), 0.3f));
    for (int k = 0; k < 7; k++)
        assert_ok(net, nnf_net_set_param(net, (nnf_param)k, settings[k]));
    train_steps(net, 3);
    return net;
}

void pair_sync_layer(pair *p, size_t l)
{
    float buf[PAIR_MAX_N * PAIR_MAX_N];
    nnf_layer *ly = nnf_net_layer(p->net, l);
    assert_ok(p->net, nnf_layer_get_weights(ly, buf));
    ref_to_double(p->ref.w[l], buf, p->n[l] * p->n[l - 1]);
    assert_ok(p->net, nnf_layer_get_bias(ly, buf));
    ref_to_double(p->ref.b[l], buf, p->n[l]);
}

void pair_init(pair *p, size_t L, const size_t *n, const nnf_act *act, nnf_loss loss, size_t m,
               int soft, uint64_t seed)
{
    ref_rng g = {seed};
    float b[PAIR_MAX_N];

    memset(p, 0, sizeof *p);
    assert_true(L <= PAIR_MAX_L && m <= PAIR_MAX_M);
    for (size_t l = 0; l <= L; l++)
        assert_true(n[l] <= PAIR_MAX_N);
    p->L = L;
    p->m = m;
    p->loss = loss;
    memcpy(p->n, n, (L + 1) * sizeof *n);
    p->net = net_build(
        &(net_spec){.inputs = n[0], .depth = L, .units = n + 1, .acts = act, .loss = loss});
    assert_ok(p->net, nnf_net_init(p->net, NNF_INIT_DEFAULT, seed));
    assert_int_equal(ref_net_init(&p->ref, L, n, act, NULL, loss), 0);
    for (size_t l = 1; l <= L; l++) {
        for (size_t j = 0; j < n[l]; j++)
            b[j] = (float)ref_rng_uniform(&g, -0.5, 0.5);
        assert_ok(p->net, nnf_layer_set_bias(nnf_net_layer(p->net, l), b));
        pair_sync_layer(p, l);
    }
    for (size_t i = 0; i < m * n[0]; i++)
        p->x[i] = (float)ref_rng_uniform(&g, -1.0, 1.0);
    for (size_t i = 0; i < m; i++) {
        size_t nL = n[L], hot = (size_t)(ref_rng_next(&g) % nL);
        float *row = p->y + i * nL, sum = 0.0f;
        for (size_t k = 0; k < nL; k++) {
            if (loss == NNF_LOSS_MSE)
                row[k] = (float)ref_rng_uniform(&g, -1.0, 1.0);
            else if (loss == NNF_LOSS_BCE)
                row[k] = ref_rng_uniform(&g, 0.0, 1.0) < 0.5 ? 0.0f : 1.0f;
            else
                row[k] = soft ? (float)ref_rng_uniform(&g, 0.05, 1.0) : (float)(k == hot);
            sum += row[k];
        }
        if (loss == NNF_LOSS_CROSS_ENTROPY) /* rows of a distribution */
            for (size_t k = 0; k < nL; k++)
                row[k] /= sum;
    }
    ref_to_double(p->xd, p->x, m * n[0]);
    ref_to_double(p->yd, p->y, m * n[L]);
    for (size_t l = 1; l < L; l++) {
        if (act[l - 1] != NNF_ACT_RELU && act[l - 1] != NNF_ACT_LEAKY_RELU)
            continue;
        assert_non_null(ref_forward(&p->ref, p->xd, m));
        for (size_t j = 0; j < n[l]; j++)
            b[j] = (float)(p->ref.b[l][j] + ref_kink_shift(&p->ref, l, j, KINK_MARGIN));
        assert_ok(p->net, nnf_layer_set_bias(nnf_net_layer(p->net, l), b));
        pair_sync_layer(p, l);
    }
}

void pair_free(pair *p)
{
    nnf_net_destroy(p->net);
    ref_net_free(&p->ref);
}

double pair_worst_err(pair *p, int grads)
{
    float buf[PAIR_MAX_N * PAIR_MAX_N];
    double worst = 0.0;
    for (size_t l = 1; l <= p->L; l++) {
        nnf_layer *ly = nnf_net_layer(p->net, l);
        assert_ok(p->net,
                  grads ? nnf_layer_get_weight_grad(ly, buf) : nnf_layer_get_weights(ly, buf));
        worst = fmax(worst,
                     ref_rel_err_f(buf, grads ? p->ref.dw[l] : p->ref.w[l], p->n[l] * p->n[l - 1]));
        assert_ok(p->net, grads ? nnf_layer_get_bias_grad(ly, buf) : nnf_layer_get_bias(ly, buf));
        worst = fmax(worst, ref_rel_err_f(buf, grads ? p->ref.db[l] : p->ref.b[l], p->n[l]));
    }
    return worst;
}
