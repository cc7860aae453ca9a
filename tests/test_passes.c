/* SPDX-License-Identifier: MIT */
/*
 * test_passes.c - black-box: forward, backward, update, train step and
 * predict of whole networks through nnfast.h against the float64 reference
 * of tests/ref.c (itself checked by test_reference.c): outputs, cost, every
 * layer's gradients and the parameters after updates, for shallow and deep
 * nets, every loss, every activation and awkward sizes, and a softmax output
 * with cross-entropy (one-hot and soft labels, huge logits).
 * Set NNF_TEST_VERBOSE=1 to print the worst error of each configuration.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assert_ok.h"
#include "nets.h"
#include "nnfast.h"
#include "ref.h"
#include "verbose.h"

/* float32 library against the float64 reference, normwise per quantity
 * (ref_rel_err): a correct library lands near 1e-7..1e-6. */
#define TOL 1e-4
/* Two library paths over the same data and parameters (train step against
 * forward + backward + update, predict against forward): the same
 * computation, so at most a few roundings apart. */
#define SAME_TOL 1e-6
/* Every sample's softmax outputs sum to 1 within this. */
#define SUM_TOL 1e-6
/* ReLU and leaky ReLU pre-activations are kept at least this far from 0, so
 * that float32 and float64 agree on the side of the kink (float32 error in
 * z is ~1e-6 here); see ref_kink_shift(). */
#define KINK_MARGIN 1e-4
/* Learning rate of every test: exact in float, and large enough that the
 * step lr * dW stands well above the float rounding of the parameters. */
#define LR 0.5

#define MAXL 8

typedef struct config {
    const char *name;
    size_t L;
    size_t n[MAXL + 1];
    nnf_act act[MAXL]; /* act[l - 1] of layer l */
    float slope[MAXL]; /* alpha of a leaky layer; 0 keeps the default 0.01 */
    nnf_loss loss;
    size_t m, m2;     /* batch sizes of step 1 and step 2 */
    int library_init; /* keep the weights nnf_net_add_dense() chose */
    uint64_t seed;
} config;

/* float parameters or gradients of every layer, user layout */
typedef struct fparams {
    float *w[MAXL + 1], *b[MAXL + 1];
} fparams;

static double worst_ref, worst_same; /* for NNF_TEST_VERBOSE */

static void expect_err(const config *c, const char *what, size_t l, double err, double tol)
{
    if (tol == TOL)
        worst_ref = fmax(worst_ref, err);
    else
        worst_same = fmax(worst_same, err);
    if (!(err < tol)) {
        print_error("%s: %s (layer %zu): relative error %.3g, tolerance %g\n", c->name, what, l,
                    err, tol);
        fail();
    }
}

static void *xmalloc(size_t size)
{
    void *p = malloc(size);
    assert_non_null(p);
    return p;
}

static double *dvec(size_t n)
{
    return xmalloc(n * sizeof(double));
}

static float *fvec(size_t n)
{
    return xmalloc(n * sizeof(float));
}

static void fparams_alloc(fparams *p, const config *c)
{
    memset(p, 0, sizeof *p);
    for (size_t l = 1; l <= c->L; l++) {
        p->w[l] = fvec(c->n[l] * c->n[l - 1]);
        p->b[l] = fvec(c->n[l]);
    }
}

static void fparams_free(fparams *p)
{
    for (size_t l = 0; l <= MAXL; l++) {
        free(p->w[l]);
        free(p->b[l]);
    }
}

static void read_params(fparams *p, nnf_net *net, const config *c)
{
    for (size_t l = 1; l <= c->L; l++) {
        assert_ok(net, nnf_layer_get_weights(nnf_net_layer(net, l), p->w[l]));
        assert_ok(net, nnf_layer_get_bias(nnf_net_layer(net, l), p->b[l]));
    }
}

static void write_params(const fparams *p, nnf_net *net, const config *c)
{
    for (size_t l = 1; l <= c->L; l++) {
        assert_ok(net, nnf_layer_set_weights(nnf_net_layer(net, l), p->w[l]));
        assert_ok(net, nnf_layer_set_bias(nnf_net_layer(net, l), p->b[l]));
    }
}

static void read_grads(fparams *p, nnf_net *net, const config *c)
{
    for (size_t l = 1; l <= c->L; l++) {
        assert_ok(net, nnf_layer_get_weight_grad(nnf_net_layer(net, l), p->w[l]));
        assert_ok(net, nnf_layer_get_bias_grad(nnf_net_layer(net, l), p->b[l]));
    }
}

static float slope_of(const config *c, size_t l)
{
    return c->slope[l - 1] != 0.0f ? c->slope[l - 1] : 0.01f;
}

static nnf_net *new_net(const config *c)
{
    nnf_net *net = NULL;

    assert_int_equal(nnf_net_create(&net, c->n[0]), NNF_OK);
    for (size_t l = 1; l <= c->L; l++) {
        nnf_layer *layer = NULL;
        float alpha = 0.0f;
        assert_ok(net, nnf_net_add_dense(net, c->n[l], c->act[l - 1], &layer));
        assert_ptr_equal(layer, nnf_net_layer(net, l));
        if (c->act[l - 1] != NNF_ACT_LEAKY_RELU)
            continue;
        if (c->slope[l - 1] != 0.0f)
            assert_ok(net, nnf_layer_set_slope(layer, c->slope[l - 1]));
        assert_ok(net, nnf_layer_get_slope(layer, &alpha));
        assert_true(alpha == slope_of(c, l));
    }
    assert_ok(net, nnf_net_set_loss(net, c->loss));
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_LEARNING_RATE, LR));
    return net;
}

static void new_ref(ref_net *r, const config *c)
{
    double slope[MAXL];
    for (size_t l = 1; l <= c->L; l++)
        slope[l - 1] = (double)slope_of(c, l);
    assert_int_equal(ref_net_init(r, c->L, c->n, c->act, slope, c->loss), 0);
}

/* A batch of m samples: x uniform in [-1, 1); BCE labels 0, 1 or a fraction
 * in between; MSE labels uniform in [-1, 1), or in [0, 1) for an output that
 * cannot go negative (negative targets would drive a ReLU output dead and
 * leave nothing to compare in the next step). */
static void make_batch(const config *c, ref_rng *g, size_t m, float *x, float *y)
{
    nnf_act out = c->act[c->L - 1];
    double lo = (out == NNF_ACT_SIGMOID || out == NNF_ACT_RELU) ? 0.0 : -1.0;

    for (size_t i = 0; i < m * c->n[0]; i++)
        x[i] = (float)ref_rng_uniform(g, -1.0, 1.0);
    for (size_t i = 0; i < m * c->n[c->L]; i++) {
        if (c->loss == NNF_LOSS_MSE) {
            y[i] = (float)ref_rng_uniform(g, lo, 1.0);
        } else {
            uint64_t k = ref_rng_next(g) % 4;
            y[i] = k < 2 ? (float)k : (float)ref_rng_uniform(g, 0.0, 1.0);
        }
    }
}

/* Move ReLU pre-activations off the kink for the batch xd, layer by layer:
 * shift the bias of each offending unit of net by d, and the reference's by
 * exactly the change the float bias saw. */
static void avoid_kinks(const config *c, nnf_net *net, ref_net *r, const double *xd, size_t m)
{
    for (size_t l = 1; l <= c->L; l++) {
        nnf_layer *layer = nnf_net_layer(net, l);
        float *b = fvec(c->n[l]);
        int changed = 0;
        assert_non_null(ref_forward(r, xd, m));
        assert_ok(net, nnf_layer_get_bias(layer, b));
        for (size_t j = 0; j < c->n[l]; j++) {
            double d = ref_kink_shift(r, l, j, KINK_MARGIN);
            if (d > 0.0) {
                float old = b[j];
                b[j] = (float)((double)old + d);
                r->b[l][j] += (double)b[j] - (double)old;
                changed = 1;
            }
        }
        if (changed)
            assert_ok(net, nnf_layer_set_bias(layer, b));
        free(b);
    }
}

static void expect_grads(const config *c, const char *step, nnf_net *net, const ref_net *r)
{
    char what[64];
    fparams g;

    fparams_alloc(&g, c);
    read_grads(&g, net, c);
    for (size_t l = 1; l <= c->L; l++) {
        size_t nw = c->n[l] * c->n[l - 1];
        /* the data must give every layer a gradient, or the check is vacuous */
        if (!(ref_max_abs(r->dw[l], nw) > 0.0)) {
            print_error("%s: %s: test data give layer %zu a zero dW\n", c->name, step, l);
            fail();
        }
        snprintf(what, sizeof what, "%s dW", step);
        expect_err(c, what, l, ref_rel_err_f(g.w[l], r->dw[l], nw), TOL);
        snprintf(what, sizeof what, "%s db", step);
        expect_err(c, what, l, ref_rel_err_f(g.b[l], r->db[l], c->n[l]), TOL);
    }
    fparams_free(&g);
}

/* One parameter array after an update, against the reference's: the values
 * within TOL, and the step (after - before) within TOL of the reference's
 * step, allowing the rounding of the stored float parameter. */
static void expect_array_update(const config *c, const char *what, size_t l, const float *got,
                                const double *want, const double *before, size_t n)
{
    double diff = 0.0, step = 0.0, err;
    char label[80];

    expect_err(c, what, l, ref_rel_err_f(got, want, n), TOL);
    for (size_t i = 0; i < n; i++) {
        diff = fmax(diff, fabs((double)got[i] - want[i]));
        step = fmax(step, fabs(want[i] - before[i]));
    }
    err = (diff - 2.0 * (double)FLT_EPSILON * ref_max_abs(want, n)) / fmax(step, REF_TINY);
    snprintf(label, sizeof label, "%s, its step (after - before)", what);
    expect_err(c, label, l, fmax(err, 0.0), TOL);
}

/* ref_update(r, LR), and the library's parameters against the result. */
static void update_and_expect_params(const config *c, const char *step, nnf_net *net, ref_net *r)
{
    double *wb[MAXL + 1] = {0}, *bb[MAXL + 1] = {0};
    char what[64];
    fparams p;

    for (size_t l = 1; l <= c->L; l++) {
        size_t nw = c->n[l] * c->n[l - 1];
        wb[l] = dvec(nw);
        bb[l] = dvec(c->n[l]);
        memcpy(wb[l], r->w[l], nw * sizeof(double));
        memcpy(bb[l], r->b[l], c->n[l] * sizeof(double));
    }
    ref_update(r, LR);
    fparams_alloc(&p, c);
    read_params(&p, net, c);
    for (size_t l = 1; l <= c->L; l++) {
        snprintf(what, sizeof what, "%s W", step);
        expect_array_update(c, what, l, p.w[l], r->w[l], wb[l], c->n[l] * c->n[l - 1]);
        snprintf(what, sizeof what, "%s b", step);
        expect_array_update(c, what, l, p.b[l], r->b[l], bb[l], c->n[l]);
        free(wb[l]);
        free(bb[l]);
    }
    fparams_free(&p);
}

static double rel_f(const float *got, const float *want, size_t n)
{
    double *wd = dvec(n), e;
    ref_to_double(wd, want, n);
    e = ref_rel_err_f(got, wd, n);
    free(wd);
    return e;
}

static double rel_scalar(double got, double want)
{
    return fabs(got - want) / fmax(fabs(want), REF_TINY);
}

/*
 * The whole comparison for one configuration. Net a runs step 1 as
 * predict, forward, backward, update, then step 2 as a train step on a new
 * batch of another size; net b, with the same parameters, runs step 1 as
 * one train step and must agree with net a. The reference follows along.
 */
static void run_config(const config *c)
{
    size_t L = c->L, n0 = c->n[0], nL = c->n[L], m = c->m, m2 = c->m2;
    nnf_net *a = new_net(c), *b = new_net(c);
    ref_net r;
    ref_rng g = {c->seed};
    fparams p, ga, pa, pb;
    float *x = fvec(m * n0), *y = fvec(m * nL), *out = fvec(m * nL), *pred = fvec(m * nL);
    float *x2 = fvec(m2 * n0), *y2 = fvec(m2 * nL);
    double *xd = dvec(m * n0), *yd = dvec(m * nL), *x2d = dvec(m2 * n0), *y2d = dvec(m2 * nL);
    float cost = 0.0f, cost_b = 0.0f, cost2 = 0.0f;
    double jref;

    worst_ref = worst_same = 0.0;
    assert_true(L <= MAXL);
    new_ref(&r, c);
    fparams_alloc(&p, c);

    /* parameters: the library's initial weights or ours; always our biases */
    read_params(&p, a, c);
    if (c->library_init) {
        fparams pb0;
        fparams_alloc(&pb0, c);
        read_params(&pb0, b, c);
        for (size_t l = 1; l <= L; l++) /* the default init is deterministic */
            assert_memory_equal(p.w[l], pb0.w[l], c->n[l] * c->n[l - 1] * sizeof(float));
        fparams_free(&pb0);
    }
    for (size_t l = 1; l <= L; l++) {
        double s = sqrt(3.0 / (double)c->n[l - 1]); /* variance 1/n_in */
        if (!c->library_init)
            for (size_t i = 0; i < c->n[l] * c->n[l - 1]; i++)
                p.w[l][i] = (float)ref_rng_uniform(&g, -s, s);
        for (size_t j = 0; j < c->n[l]; j++)
            p.b[l][j] = (float)ref_rng_uniform(&g, -0.5, 0.5);
        ref_to_double(r.w[l], p.w[l], c->n[l] * c->n[l - 1]);
        ref_to_double(r.b[l], p.b[l], c->n[l]);
    }
    write_params(&p, a, c);
    make_batch(c, &g, m, x, y);
    ref_to_double(xd, x, m * n0);
    ref_to_double(yd, y, m * nL);
    avoid_kinks(c, a, &r, xd, m);
    read_params(&p, a, c); /* with the shifted biases */
    write_params(&p, b, c);

    /* ---- step 1 on net a: predict, forward, backward, update */
    assert_non_null(ref_forward(&r, xd, m));
    assert_ok(a, nnf_net_predict(a, x, m, pred));
    expect_err(c, "predict output", L, ref_rel_err_f(pred, r.a[L], m * nL), TOL);
    assert_ok(a, nnf_net_forward(a, x, m, out));
    expect_err(c, "forward output", L, ref_rel_err_f(out, r.a[L], m * nL), TOL);
    expect_err(c, "predict vs forward", L, rel_f(pred, out, m * nL), SAME_TOL);

    jref = ref_cost(&r, yd);
    assert_int_equal(ref_backward(&r, yd), 0);
    assert_ok(a, nnf_net_backward(a, y, &cost));
    expect_err(c, "cost", L, rel_scalar((double)cost, jref), TOL);
    expect_grads(c, "step 1", a, &r);
    fparams_alloc(&ga, c);
    read_grads(&ga, a, c);

    assert_ok(a, nnf_net_update(a));
    update_and_expect_params(c, "step 1", a, &r);

    /* ---- step 1 on net b: one train step does the same */
    assert_ok(b, nnf_net_train_step(b, x, y, m, &cost_b));
    expect_err(c, "train step cost vs backward cost", L, rel_scalar((double)cost_b, (double)cost),
               SAME_TOL);
    fparams_alloc(&pa, c);
    fparams_alloc(&pb, c);
    read_params(&pa, a, c);
    read_params(&pb, b, c);
    read_grads(&p, b, c);
    for (size_t l = 1; l <= L; l++) {
        size_t nw = c->n[l] * c->n[l - 1];
        expect_err(c, "train step dW vs backward dW", l, rel_f(p.w[l], ga.w[l], nw), SAME_TOL);
        expect_err(c, "train step db vs backward db", l, rel_f(p.b[l], ga.b[l], c->n[l]), SAME_TOL);
        expect_err(c, "train step W vs update W", l, rel_f(pb.w[l], pa.w[l], nw), SAME_TOL);
        expect_err(c, "train step b vs update b", l, rel_f(pb.b[l], pa.b[l], c->n[l]), SAME_TOL);
    }

    /* ---- step 2 on net a: a train step on a batch of another size */
    make_batch(c, &g, m2, x2, y2);
    ref_to_double(x2d, x2, m2 * n0);
    ref_to_double(y2d, y2, m2 * nL);
    avoid_kinks(c, a, &r, x2d, m2);
    assert_non_null(ref_forward(&r, x2d, m2));
    jref = ref_cost(&r, y2d);
    assert_int_equal(ref_backward(&r, y2d), 0);
    assert_ok(a, nnf_net_train_step(a, x2, y2, m2, &cost2));
    expect_err(c, "step 2 cost", L, rel_scalar((double)cost2, jref), TOL);
    expect_grads(c, "step 2", a, &r);
    update_and_expect_params(c, "step 2", a, &r);

    /* ---- inference with the trained parameters */
    assert_non_null(ref_forward(&r, xd, m));
    assert_ok(a, nnf_net_predict(a, x, m, pred));
    expect_err(c, "predict after training", L, ref_rel_err_f(pred, r.a[L], m * nL), TOL);

    if (verbose())
        printf("  %-40s worst vs reference %.3g, between paths %.3g\n", c->name, worst_ref,
               worst_same);
    fparams_free(&p);
    fparams_free(&ga);
    fparams_free(&pa);
    fparams_free(&pb);
    free(x);
    free(y);
    free(out);
    free(pred);
    free(x2);
    free(y2);
    free(xd);
    free(yd);
    free(x2d);
    free(y2d);
    ref_net_free(&r);
    nnf_net_destroy(a);
    nnf_net_destroy(b);
}

/* ---- the shallow case of MATH.md, equation by equation */

/* after == before - LR grad, elementwise, up to one float rounding. */
static void expect_sgd(const char *what, const float *after, const float *before, const float *grad,
                       size_t n)
{
    for (size_t i = 0; i < n; i++) {
        double want = (double)before[i] - LR * (double)grad[i];
        double slack = (double)FLT_EPSILON * (fabs(want) + LR * fabs((double)grad[i]));
        if (!(fabs((double)after[i] - want) <= slack)) {
            print_error("%s[%zu]: %.9g after the update, want %.9g - %g * %.9g = %.9g\n", what, i,
                        (double)after[i], (double)before[i], LR, (double)grad[i], want);
            fail();
        }
    }
}

static const config shallow = {"shallow 2-4-1 tanh/sigmoid BCE",
                               2,
                               {2, 4, 1},
                               {NNF_ACT_TANH, NNF_ACT_SIGMOID},
                               {0},
                               NNF_LOSS_BCE,
                               300,
                               7,
                               0,
                               1};

/*
 * A[1] comes from a second net holding only layer 1, so that each equation
 * of "The shallow case, written out" is checked on the library's own inputs:
 * the expected values are computed in double from the floats the library
 * produced one equation earlier.
 */
static void test_shallow_tanh_sigmoid_bce_follows_each_math_equation(void **state)
{
    enum { M = 300, N0 = 2, N1 = 4 };
    const config *c = &shallow;
    nnf_net *net = new_net(c), *first = NULL;
    ref_rng g = {77};
    float w1[N1 * N0], b1[N1], w2[N1], b2[1], x[M * N0], y[M], a1[M * N1], a2[M];
    float dw1[N1 * N0], db1[N1], dw2[N1], db2[1], after_w1[N1 * N0], after_b1[N1];
    float after_w2[N1], after_b2[1], cost = 0.0f;
    double want_a1[M * N1], want_a2[M], dz2[M], dz1[M * N1];
    double want_dw2[N1] = {0}, want_db2[1] = {0}, want_dw1[N1 * N0] = {0}, want_db1[N1] = {0};
    double j = 0.0;
    (void)state;

    assert_int_equal(c->m, M);
    for (size_t i = 0; i < N1 * N0; i++)
        w1[i] = (float)ref_rng_uniform(&g, -1.2, 1.2);
    for (size_t k = 0; k < N1; k++) {
        b1[k] = (float)ref_rng_uniform(&g, -0.5, 0.5);
        w2[k] = (float)ref_rng_uniform(&g, -1.2, 1.2);
    }
    b2[0] = 0.375f;
    make_batch(c, &g, M, x, y);
    assert_ok(net, nnf_layer_set_weights(nnf_net_layer(net, 1), w1));
    assert_ok(net, nnf_layer_set_bias(nnf_net_layer(net, 1), b1));
    assert_ok(net, nnf_layer_set_weights(nnf_net_layer(net, 2), w2));
    assert_ok(net, nnf_layer_set_bias(nnf_net_layer(net, 2), b2));
    assert_int_equal(nnf_net_create(&first, N0), NNF_OK);
    assert_ok(first, nnf_net_add_dense(first, N1, NNF_ACT_TANH, NULL));
    assert_ok(first, nnf_layer_set_weights(nnf_net_layer(first, 1), w1));
    assert_ok(first, nnf_layer_set_bias(nnf_net_layer(first, 1), b1));

    /* Z[1] = W[1] X + b[1], A[1] = tanh(Z[1]) */
    assert_ok(first, nnf_net_predict(first, x, M, a1));
    for (size_t i = 0; i < M; i++)
        for (size_t k = 0; k < N1; k++)
            want_a1[i * N1 + k] = tanh((double)b1[k] + (double)w1[k * N0] * (double)x[i * N0] +
                                       (double)w1[k * N0 + 1] * (double)x[i * N0 + 1]);
    expect_err(c, "A[1] = tanh(W[1] X + b[1])", 1, ref_rel_err_f(a1, want_a1, M * N1), TOL);

    /* Z[2] = W[2] A[1] + b[2], A[2] = sigmoid(Z[2]) */
    assert_ok(net, nnf_net_forward(net, x, M, a2));
    for (size_t i = 0; i < M; i++) {
        double z = (double)b2[0];
        for (size_t k = 0; k < N1; k++)
            z += (double)w2[k] * (double)a1[i * N1 + k];
        want_a2[i] = 1.0 / (1.0 + exp(-z));
    }
    expect_err(c, "A[2] = sigmoid(W[2] A[1] + b[2])", 2, ref_rel_err_f(a2, want_a2, M), TOL);

    /* J = (1/m) sum -y log a - (1 - y) log(1 - a) */
    assert_ok(net, nnf_net_backward(net, y, &cost));
    for (size_t i = 0; i < M; i++)
        j -= (double)y[i] * log((double)a2[i]) + (1.0 - (double)y[i]) * log(1.0 - (double)a2[i]);
    expect_err(c, "J", 2, rel_scalar((double)cost, j / M), TOL);

    /* dZ[2] = A[2] - Y;  dW[2] = (1/m) dZ[2] A[1]^T;  db[2] = (1/m) rowsum(dZ[2])
     * dZ[1] = W[2]^T dZ[2] * (1 - A[1]^2);  dW[1] = (1/m) dZ[1] X^T;  db[1] likewise */
    for (size_t i = 0; i < M; i++) {
        dz2[i] = (double)a2[i] - (double)y[i];
        want_db2[0] += dz2[i] / M;
        for (size_t k = 0; k < N1; k++) {
            double a = (double)a1[i * N1 + k];
            want_dw2[k] += dz2[i] * a / M;
            dz1[i * N1 + k] = (double)w2[k] * dz2[i] * (1.0 - a * a);
            want_db1[k] += dz1[i * N1 + k] / M;
            for (size_t f = 0; f < N0; f++)
                want_dw1[k * N0 + f] += dz1[i * N1 + k] * (double)x[i * N0 + f] / M;
        }
    }
    assert_ok(net, nnf_layer_get_weight_grad(nnf_net_layer(net, 2), dw2));
    assert_ok(net, nnf_layer_get_bias_grad(nnf_net_layer(net, 2), db2));
    assert_ok(net, nnf_layer_get_weight_grad(nnf_net_layer(net, 1), dw1));
    assert_ok(net, nnf_layer_get_bias_grad(nnf_net_layer(net, 1), db1));
    expect_err(c, "dW[2] = (1/m) dZ[2] A[1]^T", 2, ref_rel_err_f(dw2, want_dw2, N1), TOL);
    expect_err(c, "db[2] = (1/m) rowsum(dZ[2])", 2, ref_rel_err_f(db2, want_db2, 1), TOL);
    expect_err(c, "dW[1] = (1/m) dZ[1] X^T", 1, ref_rel_err_f(dw1, want_dw1, N1 * N0), TOL);
    expect_err(c, "db[1] = (1/m) rowsum(dZ[1])", 1, ref_rel_err_f(db1, want_db1, N1), TOL);

    /* W = W - alpha dW, b = b - alpha db, with the library's own gradients */
    assert_ok(net, nnf_net_update(net));
    assert_ok(net, nnf_layer_get_weights(nnf_net_layer(net, 1), after_w1));
    assert_ok(net, nnf_layer_get_bias(nnf_net_layer(net, 1), after_b1));
    assert_ok(net, nnf_layer_get_weights(nnf_net_layer(net, 2), after_w2));
    assert_ok(net, nnf_layer_get_bias(nnf_net_layer(net, 2), after_b2));
    expect_sgd("W[1]", after_w1, w1, dw1, N1 * N0);
    expect_sgd("b[1]", after_b1, b1, db1, N1);
    expect_sgd("W[2]", after_w2, w2, dw2, N1);
    expect_sgd("b[2]", after_b2, b2, db2, 1);

    nnf_net_destroy(first);
    nnf_net_destroy(net);

    /* and the whole sequence against the reference */
    run_config(c);
}

/* ---- deep nets, losses, sizes */

#define LIN   NNF_ACT_LINEAR
#define SIG   NNF_ACT_SIGMOID
#define TANH  NNF_ACT_TANH
#define RELU  NNF_ACT_RELU
#define LEAKY NNF_ACT_LEAKY_RELU

static void test_deep_l4_bce_mixed_activations_match_reference(void **state)
{
    static const config c = {"L=4 BCE relu/leaky/tanh/sigmoid",
                             4,
                             {5, 17, 3, 9, 1},
                             {RELU, LEAKY, TANH, SIG},
                             {0, 0.2f},
                             NNF_LOSS_BCE,
                             7,
                             1,
                             0,
                             11};
    (void)state;
    run_config(&c);
}

static void test_deep_l4_mse_linear_multi_output_matches_reference(void **state)
{
    static const config c = {"L=4 MSE linear output, 3 outputs",
                             4,
                             {4, 9, 17, 5, 3},
                             {SIG, RELU, LEAKY, LIN},
                             {0, 0, 0.3f},
                             NNF_LOSS_MSE,
                             300,
                             7,
                             0,
                             12};
    (void)state;
    run_config(&c);
}

static void test_deep_l8_mixed_activations_bce_match_reference(void **state)
{
    /* every activation, a 1-unit and a 129-unit layer, leaky with the default
     * and a non-default slope, the library's own initial weights */
    static const config c = {"L=8 BCE mixed, library init",
                             8,
                             {3, 17, 9, 1, 129, 5, 17, 3, 2},
                             {LIN, RELU, TANH, LEAKY, SIG, LEAKY, TANH, SIG},
                             {0, 0, 0, 0.2f, 0, 0, 0, 0},
                             NNF_LOSS_BCE,
                             300,
                             1,
                             1,
                             13};
    (void)state;
    run_config(&c);
}

static void test_deep_l8_mixed_activations_mse_match_reference(void **state)
{
    static const config c = {"L=8 MSE mixed, linear output",
                             8,
                             {7, 3, 129, 17, 1, 9, 17, 3, 1},
                             {TANH, RELU, SIG, LIN, LEAKY, RELU, TANH, LIN},
                             {0, 0, 0, 0, 0.05f, 0, 0, 0},
                             NNF_LOSS_MSE,
                             7,
                             300,
                             0,
                             14};
    (void)state;
    run_config(&c);
}

static void test_mse_each_output_activation_matches_reference(void **state)
{
    static const nnf_act outs[] = {LIN, SIG, TANH, RELU, LEAKY};
    static const char *names[] = {"MSE linear output", "MSE sigmoid output", "MSE tanh output",
                                  "MSE relu output", "MSE leaky output (slope 0.25)"};
    (void)state;
    for (size_t k = 0; k < 5; k++) {
        config c = {names[k],     2, {3, 17, 3}, {TANH, outs[k]}, {0, 0.25f},
                    NNF_LOSS_MSE, 7, 5,          (int)(k % 2),    20 + k};
        run_config(&c);
    }
}

static void test_bce_multi_output_fractional_labels_matches_reference(void **state)
{
    static const config c = {"BCE 4 outputs, labels 0, 1 and fractions",
                             2,
                             {6, 17, 4},
                             {RELU, SIG},
                             {0},
                             NNF_LOSS_BCE,
                             300,
                             7,
                             0,
                             30};
    (void)state;
    run_config(&c);
}

static void test_width_one_layers_and_single_sample_match_reference(void **state)
{
    static const config bce = {"1-1-1-1 BCE, m = 1",
                               3,
                               {1, 1, 1, 1},
                               {LEAKY, TANH, SIG},
                               {0.2f},
                               NNF_LOSS_BCE,
                               1,
                               7,
                               0,
                               40};
    static const config mse = {"1-1-1 MSE, m = 1", 2, {1, 1, 1}, {SIG, LIN}, {0},
                               NNF_LOSS_MSE,       1, 300,       1,          41};
    (void)state;
    run_config(&bce);
    run_config(&mse);
}

static void test_wide_129_inputs_and_units_300_samples_match_reference(void **state)
{
    static const config c = {"129-129-17-3 BCE, m = 300",
                             3,
                             {129, 129, 17, 3},
                             {RELU, LEAKY, SIG},
                             {0, 0.1f},
                             NNF_LOSS_BCE,
                             300,
                             7,
                             0,
                             50};
    (void)state;
    run_config(&c);
}

/* Layers of 7 and 15 units on a wide input: with OpenBLAS's Haswell
 * kernels their products compute one unit more (an extra column of zero
 * weights in the arenas, core/plan.c), which must change nothing but the
 * speed. */
static void test_wide_inputs_into_7_or_15_units_match_reference(void **state)
{
    static const config c7 = {"2100-7-1 tanh BCE, m = 40",
                              2,
                              {2100, 7, 1},
                              {TANH, SIG},
                              {0},
                              NNF_LOSS_BCE,
                              40,
                              13,
                              0,
                              61};
    static const config c15 = {"2048-15-3 relu MSE, m = 33",
                               2,
                               {2048, 15, 3},
                               {RELU, LIN},
                               {0},
                               NNF_LOSS_MSE,
                               33,
                               5,
                               1,
                               62};
    (void)state;
    run_config(&c7);
    run_config(&c15);
}

static int all_finite(const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return 0;
    return 1;
}

typedef struct errs {
    double out, cost, grad, rowsum;
} errs;

/* One forward and backward on both nets; the relative errors of the output,
 * the cost and the worst layer's dW or db, and the output row sums. */
static errs compare(pair *p)
{
    float cost = NAN, buf[PAIR_MAX_N * PAIR_MAX_N];
    size_t nL = p->n[p->L];
    errs e = {0.0, 0.0, 0.0, 0.0};

    assert_ok(p->net, nnf_net_forward(p->net, p->x, p->m, p->out));
    assert_ok(p->net, nnf_net_backward(p->net, p->y, &cost));
    const double *a = ref_forward(&p->ref, p->xd, p->m);
    assert_non_null(a);
    double j = ref_cost(&p->ref, p->yd);
    assert_int_equal(ref_backward(&p->ref, p->yd), 0);

    assert_true(all_finite(p->out, nL * p->m));
    e.out = ref_rel_err_f(p->out, a, nL * p->m);
    e.cost = fabs((double)cost - j) / fabs(j);
    e.rowsum = worst_row_sum(p->out, nL, p->m);
    for (size_t l = 1; l <= p->L; l++) {
        nnf_layer *ly = nnf_net_layer(p->net, l);
        size_t nw = p->n[l] * p->n[l - 1];
        assert_ok(p->net, nnf_layer_get_weight_grad(ly, buf));
        assert_true(all_finite(buf, nw));
        e.grad = fmax(e.grad, ref_rel_err_f(buf, p->ref.dw[l], nw));
        assert_ok(p->net, nnf_layer_get_bias_grad(ly, buf));
        assert_true(all_finite(buf, p->n[l]));
        e.grad = fmax(e.grad, ref_rel_err_f(buf, p->ref.db[l], p->n[l]));
    }
    return e;
}

static void expect_match(pair *p, const char *what)
{
    errs e = compare(p);
    if (verbose())
        printf("    %s: output %.3g, cost %.3g, gradients %.3g, row sums %.3g\n", what, e.out,
               e.cost, e.grad, e.rowsum);
    if (!(e.out < TOL && e.cost < TOL && e.grad < TOL))
        fail_msg("%s: output %.3g, cost %.3g, gradients %.3g (tolerance %g)", what, e.out, e.cost,
                 e.grad, TOL);
    if (!(e.rowsum < SUM_TOL))
        fail_msg("%s: a sample's outputs sum to 1 +- %.3g", what, e.rowsum);
}

/* ---- softmax + cross-entropy against the reference, on a pair (nets.h) */

/* Output sizes 2, 3, 10; a softmax-only net and hidden layers of mixed
 * activations; m = 1, 7, 64; one-hot and soft labels. */
static void test_softmax_cross_entropy_outputs_cost_and_gradients_match_reference(void **state)
{
    static const size_t outs[] = {2, 3, 10};
    static const size_t ms[] = {1, 7, 64};
    (void)state;
    for (size_t k = 0; k < 3; k++) {
        size_t o = outs[k];
        const size_t n1[] = {4, o}, n2[] = {3, 8, o}, n3[] = {5, 7, 6, o}, n4[] = {2, 6, 5, 4, o};
        const nnf_act a1[] = {NNF_ACT_SOFTMAX};
        const nnf_act a2[] = {NNF_ACT_TANH, NNF_ACT_SOFTMAX};
        const nnf_act a3[] = {NNF_ACT_RELU, NNF_ACT_SIGMOID, NNF_ACT_SOFTMAX};
        const nnf_act a4[] = {NNF_ACT_LEAKY_RELU, NNF_ACT_LINEAR, NNF_ACT_TANH, NNF_ACT_SOFTMAX};
        for (size_t q = 0; q < 3; q++) {
            for (int soft = 0; soft <= 1; soft++) {
                uint64_t seed = 1000 + 100 * k + 10 * q + (uint64_t)soft;
                char what[96];
                pair p;
                snprintf(what, sizeof what, "%zu outputs, m %zu, %s labels", o, ms[q],
                         soft ? "soft" : "one-hot");
                pair_init(&p, 1, n1, a1, NNF_LOSS_CROSS_ENTROPY, ms[q], soft, seed);
                expect_match(&p, what);
                pair_free(&p);
                pair_init(&p, 2, n2, a2, NNF_LOSS_CROSS_ENTROPY, ms[q], soft, seed + 1);
                expect_match(&p, what);
                pair_free(&p);
                pair_init(&p, 3, n3, a3, NNF_LOSS_CROSS_ENTROPY, ms[q], soft, seed + 2);
                expect_match(&p, what);
                pair_free(&p);
                pair_init(&p, 4, n4, a4, NNF_LOSS_CROSS_ENTROPY, ms[q], soft, seed + 3);
                expect_match(&p, what);
                pair_free(&p);
            }
        }
    }
}

/* nnf_net_predict gives the same outputs as nnf_net_forward. */
static void test_predict_gives_the_softmax_outputs_of_forward(void **state)
{
    const size_t n[] = {3, 8, 10};
    const nnf_act act[] = {NNF_ACT_TANH, NNF_ACT_SOFTMAX};
    float pred[PAIR_MAX_M * PAIR_MAX_N];
    pair p;
    (void)state;
    pair_init(&p, 2, n, act, NNF_LOSS_CROSS_ENTROPY, 64, 0, 2000);
    assert_ok(p.net, nnf_net_forward(p.net, p.x, p.m, p.out));
    assert_ok(p.net, nnf_net_predict(p.net, p.x, p.m, pred));
    assert_memory_equal(p.out, pred, 10 * p.m * sizeof(float));
    assert_true(worst_row_sum(pred, 10, p.m) < SUM_TOL);
    pair_free(&p);
}

/* A train step with softmax + cross-entropy is forward, backward and an
 * update with A - Y: after 5 SGD steps the parameters are the reference's. */
static void test_softmax_cross_entropy_train_steps_match_reference(void **state)
{
    const size_t n[] = {4, 6, 5};
    const nnf_act act[] = {NNF_ACT_TANH, NNF_ACT_SOFTMAX};
    float buf[PAIR_MAX_N * PAIR_MAX_N];
    pair p;
    (void)state;
    pair_init(&p, 2, n, act, NNF_LOSS_CROSS_ENTROPY, 16, 1, 2100);
    assert_ok(p.net, nnf_net_set_param(p.net, NNF_PARAM_LEARNING_RATE, 0.5));
    for (int s = 0; s < 5; s++) {
        float cost = NAN;
        assert_ok(p.net, nnf_net_train_step(p.net, p.x, p.y, p.m, &cost));
        assert_non_null(ref_forward(&p.ref, p.xd, p.m));
        double j = ref_cost(&p.ref, p.yd);
        assert_true(fabs((double)cost - j) < TOL * j);
        assert_int_equal(ref_backward(&p.ref, p.yd), 0);
        ref_update(&p.ref, 0.5);
    }
    for (size_t l = 1; l <= p.L; l++) {
        nnf_layer *ly = nnf_net_layer(p.net, l);
        assert_ok(p.net, nnf_layer_get_weights(ly, buf));
        assert_true(ref_rel_err_f(buf, p.ref.w[l], p.n[l] * p.n[l - 1]) < TOL);
        assert_ok(p.net, nnf_layer_get_bias(ly, buf));
        assert_true(ref_rel_err_f(buf, p.ref.b[l], p.n[l]) < TOL);
    }
    pair_free(&p);
}

/* ---- softmax + cross-entropy of huge logits */

/* Logits of +-1000 (e^1000 overflows even a double): the outputs are
 * finite, exact 0s and 1s that sum to 1; the cost is large (a label on a
 * logit 2000 below the largest costs 2000) and finite, and equal to the
 * reference's stable cost; the gradients are finite and the reference's. */
static void test_softmax_of_huge_logits_gives_finite_outputs_cost_and_gradients(void **state)
{
    const size_t n[] = {2, 3};
    const nnf_act act[] = {NNF_ACT_SOFTMAX};
    /* z = W x + b with x = (+-1, +-1): rows of W and b of size 500 */
    const float w[] = {500.0f, 500.0f, -500.0f, -500.0f, 500.0f, -500.0f};
    const float b[] = {0.0f, 0.0f, 0.0f};
    const float x[] = {1, 1, -1, -1, 1, -1, -1, 1};
    /* z per sample: (1000, -1000, 0), (-1000, 1000, 0), (0, 0, 1000), (0, 0, -1000) */
    const float y[] = {0, 1, 0, /**/ 1, 0, 0, /**/ 0, 0, 1, /**/ 0.5f, 0.5f, 0};
    pair p;
    (void)state;
    pair_init(&p, 1, n, act, NNF_LOSS_CROSS_ENTROPY, 4, 0, 2200);
    assert_ok(p.net, nnf_layer_set_weights(nnf_net_layer(p.net, 1), w));
    assert_ok(p.net, nnf_layer_set_bias(nnf_net_layer(p.net, 1), b));
    pair_sync_layer(&p, 1);
    memcpy(p.x, x, sizeof x);
    memcpy(p.y, y, sizeof y);
    ref_to_double(p.xd, p.x, 8);
    ref_to_double(p.yd, p.y, 12);

    errs e = compare(&p);
    float cost = NAN;
    assert_ok(p.net, nnf_net_forward(p.net, p.x, p.m, p.out));
    assert_ok(p.net, nnf_net_backward(p.net, p.y, &cost));
    /* per sample: 2000, 2000, 0, log 2 (a tie at 0 against -1000) */
    if (verbose())
        printf("    huge logits: cost %.6g, output %.3g, cost %.3g, gradients %.3g, sums %.3g\n",
               (double)cost, e.out, e.cost, e.grad, e.rowsum);
    assert_true(isfinite(cost));
    assert_true(fabs((double)cost - (4000.0 + log(2.0)) / 4.0) < 1e-3);
    assert_true(e.out < TOL && e.cost < TOL && e.grad < TOL);
    assert_true(e.rowsum < SUM_TOL);
    const float want_out[] = {1, 0, 0, 0, 1, 0, 0, 0, 1, 0.5f, 0.5f, 0};
    for (size_t i = 0; i < 12; i++)
        assert_true(fabsf(p.out[i] - want_out[i]) < 1e-6f);

    /* a train step with such logits succeeds too */
    assert_ok(p.net, nnf_net_set_param(p.net, NNF_PARAM_LEARNING_RATE, 0.01));
    assert_ok(p.net, nnf_net_train_step(p.net, p.x, p.y, p.m, &cost));
    assert_true(isfinite(cost));
    pair_free(&p);
}

/* A deeper net whose hidden layer saturates and whose output weights are
 * huge: the same, and every sample's outputs sum to 1. */
static void test_softmax_of_huge_logits_behind_a_hidden_layer_stays_finite(void **state)
{
    const size_t n[] = {3, 6, 10};
    const nnf_act act[] = {NNF_ACT_TANH, NNF_ACT_SOFTMAX};
    float w[60], pred[PAIR_MAX_M * PAIR_MAX_N];
    pair p;
    (void)state;
    pair_init(&p, 2, n, act, NNF_LOSS_CROSS_ENTROPY, 64, 1, 2300);
    ref_rng g = {2301};
    for (size_t i = 0; i < 60; i++)
        w[i] = (float)ref_rng_uniform(&g, -300.0, 300.0);
    assert_ok(p.net, nnf_layer_set_weights(nnf_net_layer(p.net, 2), w));
    pair_sync_layer(&p, 2);
    errs e = compare(&p);
    if (verbose())
        printf("    huge logits, deep: output %.3g, cost %.3g, gradients %.3g, sums %.3g\n", e.out,
               e.cost, e.grad, e.rowsum);
    assert_true(e.out < TOL && e.cost < TOL && e.grad < TOL);
    assert_true(e.rowsum < SUM_TOL);
    assert_ok(p.net, nnf_net_predict(p.net, p.x, p.m, pred));
    assert_true(all_finite(pred, 10 * p.m));
    assert_true(worst_row_sum(pred, 10, p.m) < SUM_TOL);
    pair_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shallow_tanh_sigmoid_bce_follows_each_math_equation),
        cmocka_unit_test(test_deep_l4_bce_mixed_activations_match_reference),
        cmocka_unit_test(test_deep_l4_mse_linear_multi_output_matches_reference),
        cmocka_unit_test(test_deep_l8_mixed_activations_bce_match_reference),
        cmocka_unit_test(test_deep_l8_mixed_activations_mse_match_reference),
        cmocka_unit_test(test_mse_each_output_activation_matches_reference),
        cmocka_unit_test(test_bce_multi_output_fractional_labels_matches_reference),
        cmocka_unit_test(test_width_one_layers_and_single_sample_match_reference),
        cmocka_unit_test(test_wide_129_inputs_and_units_300_samples_match_reference),
        cmocka_unit_test(test_wide_inputs_into_7_or_15_units_match_reference),
        cmocka_unit_test(test_softmax_cross_entropy_outputs_cost_and_gradients_match_reference),
        cmocka_unit_test(test_predict_gives_the_softmax_outputs_of_forward),
        cmocka_unit_test(test_softmax_cross_entropy_train_steps_match_reference),
        cmocka_unit_test(test_softmax_of_huge_logits_gives_finite_outputs_cost_and_gradients),
        cmocka_unit_test(test_softmax_of_huge_logits_behind_a_hidden_layer_stays_finite),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
