/* SPDX-License-Identifier: MIT */
/*
 * test_optimizers.c - black-box: the optimizers (SGD, momentum, Adam) and
 * the L2 penalty through nnfast.h, against the double-precision reference
 * of tests/ref.c (itself checked in test_reference.c), with the formulas of
 * nnfast.h's nnf_optimizer and NNF_PARAM_L2_PENALTY; first steps in closed
 * form; the optimizer's state kept between steps and reset when training
 * starts over. (Their settings' defaults are in test_net.c.)
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

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nnfast.h"
#include "ref.h"

#define REL_TOL 1e-4 /* float32 library against the double reference */

/* ---- a library net and its reference twin (nets.h) under an optimizer */

/* Optimizer settings, applied to both nets. */
typedef struct opt_cfg {
    nnf_optimizer opt;
    double lr, beta, b1, b2, eps, l2;
} opt_cfg;

static void pair_configure(pair *p, const opt_cfg *c)
{
    nnf_net *net = p->net;
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_OPTIMIZER, (double)c->opt));
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_LEARNING_RATE, c->lr));
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_MOMENTUM, c->beta));
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_ADAM_BETA1, c->b1));
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_ADAM_BETA2, c->b2));
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_ADAM_EPSILON, c->eps));
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_L2_PENALTY, c->l2));
    p->ref.l2 = c->l2;
}

/* The reference's step: forward, cost, backward, the optimizer's update. */
static double ref_step(pair *p, const opt_cfg *c)
{
    assert_non_null(ref_forward(&p->ref, p->xd, p->m));
    double j = ref_cost(&p->ref, p->yd);
    assert_int_equal(ref_backward(&p->ref, p->yd), 0);
    switch (c->opt) {
    case NNF_OPT_MOMENTUM: assert_int_equal(ref_update_momentum(&p->ref, c->lr, c->beta), 0); break;
    case NNF_OPT_ADAM:
        assert_int_equal(ref_update_adam(&p->ref, c->lr, c->b1, c->b2, c->eps), 0);
        break;
    default: ref_update(&p->ref, c->lr); break;
    }
    return j;
}

/* The library's step, through train_step or (split) forward, backward and
 * update: the two must agree. */
static float lib_step(pair *p, int split)
{
    float cost = NAN;
    if (split) {
        assert_ok(p->net, nnf_net_forward(p->net, p->x, p->m, NULL));
        assert_ok(p->net, nnf_net_backward(p->net, p->y, &cost));
        assert_ok(p->net, nnf_net_update(p->net));
    } else {
        assert_ok(p->net, nnf_net_train_step(p->net, p->x, p->y, p->m, &cost));
    }
    return cost;
}

static double param_err(pair *p)
{
    return pair_worst_err(p, 0);
}

static double grad_err(pair *p)
{
    return pair_worst_err(p, 1);
}

/* Copy every parameter of src into dst (same architecture). */
static void copy_params(nnf_net *dst, nnf_net *src)
{
    float buf[PAIR_MAX_N * PAIR_MAX_N];
    for (size_t l = 1; l <= nnf_net_depth(src); l++) {
        nnf_layer *from = nnf_net_layer(src, l), *to = nnf_net_layer(dst, l);
        assert_ok(src, nnf_layer_get_weights(from, buf));
        assert_ok(dst, nnf_layer_set_weights(to, buf));
        assert_ok(src, nnf_layer_get_bias(from, buf));
        assert_ok(dst, nnf_layer_set_bias(to, buf));
    }
}

/* The standard architectures of these tests (no ReLU: a unit crossing its
 * kink in float but not in double over many steps would be a false alarm). */
static const size_t bce_n[] = {3, 5, 4, 2};
static const nnf_act bce_act[] = {NNF_ACT_TANH, NNF_ACT_SIGMOID, NNF_ACT_SIGMOID};
static const size_t mse_n[] = {4, 6, 3};
static const nnf_act mse_act[] = {NNF_ACT_TANH, NNF_ACT_LINEAR};
static const size_t ce_n[] = {3, 6, 4};
static const nnf_act ce_act[] = {NNF_ACT_TANH, NNF_ACT_SOFTMAX};

static void std_pair(pair *p, nnf_loss loss, size_t m, uint64_t seed)
{
    switch (loss) {
    case NNF_LOSS_MSE: pair_init(p, 2, mse_n, mse_act, loss, m, 0, seed); break;
    case NNF_LOSS_CROSS_ENTROPY: pair_init(p, 2, ce_n, ce_act, loss, m, 0, seed); break;
    default: pair_init(p, 3, bce_n, bce_act, loss, m, 0, seed); break;
    }
}

static const opt_cfg defaults = {NNF_OPT_SGD, 0.01, 0.9, 0.9, 0.999, 1e-8, 0.0};

/* Run steps steps on both nets; check the parameters after each of the
 * steps listed in at[] (0-terminated) and the costs at every step.
 * Returns the worst parameter error seen. */
static double run_against_reference(pair *p, const opt_cfg *c, size_t steps, int split,
                                    const char *what)
{
    double worst = 0.0, worst_cost = 0.0;
    pair_configure(p, c);
    for (size_t s = 1; s <= steps; s++) {
        float cost = lib_step(p, split);
        double j = ref_step(p, c);
        worst_cost = fmax(worst_cost, fabs((double)cost - j) / fabs(j));
        double e = param_err(p);
        worst = fmax(worst, e);
        if (!(e < REL_TOL))
            fail_msg("%s: step %zu: parameters differ from the reference by %.3g", what, s, e);
    }
    if (!(worst_cost < REL_TOL))
        fail_msg("%s: cost differs from the reference by %.3g", what, worst_cost);
    if (verbose())
        printf("    %s: %zu steps, worst parameter error %.3g, cost %.3g\n", what, steps, worst,
               worst_cost);
    return worst;
}

/* ======================================================================
 * Updates against the reference
 * ====================================================================== */

static void test_sgd_matches_reference_over_5_steps(void **state)
{
    static const nnf_loss losses[] = {NNF_LOSS_BCE, NNF_LOSS_MSE, NNF_LOSS_CROSS_ENTROPY};
    opt_cfg c = defaults;
    pair p;
    (void)state;
    c.lr = 0.5;
    for (size_t k = 0; k < 3; k++) {
        std_pair(&p, losses[k], 16, 10 + k);
        run_against_reference(&p, &c, 5, (int)k == 1, "sgd");
        pair_free(&p);
    }
}

static void test_momentum_matches_reference_over_5_steps(void **state)
{
    static const nnf_loss losses[] = {NNF_LOSS_BCE, NNF_LOSS_MSE, NNF_LOSS_CROSS_ENTROPY};
    pair p;
    (void)state;
    for (size_t k = 0; k < 3; k++) {
        opt_cfg c = defaults; /* the default beta 0.9, then 0.5 */
        c.opt = NNF_OPT_MOMENTUM;
        c.lr = 0.5;
        std_pair(&p, losses[k], 16, 20 + k);
        run_against_reference(&p, &c, 5, 0, "momentum 0.9");
        pair_free(&p);
        c.beta = 0.5;
        std_pair(&p, losses[k], 16, 30 + k);
        run_against_reference(&p, &c, 5, 1, "momentum 0.5 (forward/backward/update)");
        pair_free(&p);
    }
}

/* Adam with the default hyper-parameters over 100 steps: the bias
 * correction matters at every step (at t = 100, 1 - beta2^t = 0.095). The
 * update of step 100 itself is compared too, not only its result. */
static void test_adam_matches_reference_over_100_steps(void **state)
{
    static const nnf_loss losses[] = {NNF_LOSS_BCE, NNF_LOSS_MSE, NNF_LOSS_CROSS_ENTROPY};
    float before[PARAMS_MAX], after[PARAMS_MAX];
    double want[PARAMS_MAX], got[PARAMS_MAX];
    pair p;
    (void)state;
    for (size_t k = 0; k < 3; k++) {
        opt_cfg c = defaults;
        c.opt = NNF_OPT_ADAM;
        c.lr = 0.01;
        std_pair(&p, losses[k], 16, 40 + k);
        run_against_reference(&p, &c, 99, 0, "adam, steps 1-99");
        /* step 100: the change of the parameters, library against reference */
        size_t np = net_params(p.net, before), i = 0;
        for (size_t l = 1; l <= p.L; l++) {
            for (size_t q = 0; q < p.n[l] * p.n[l - 1]; q++, i++)
                want[i] = -p.ref.w[l][q];
            for (size_t q = 0; q < p.n[l]; q++, i++)
                want[i] = -p.ref.b[l][q];
        }
        lib_step(&p, 0);
        ref_step(&p, &c);
        assert_int_equal((int)p.ref.t, 100);
        net_params(p.net, after);
        i = 0;
        for (size_t l = 1; l <= p.L; l++) {
            for (size_t q = 0; q < p.n[l] * p.n[l - 1]; q++, i++)
                want[i] += p.ref.w[l][q];
            for (size_t q = 0; q < p.n[l]; q++, i++)
                want[i] += p.ref.b[l][q];
        }
        for (i = 0; i < np; i++)
            got[i] = (double)after[i] - (double)before[i];
        double e = ref_rel_err(got, want, np);
        if (verbose())
            printf("    adam step 100: update error %.3g, parameters %.3g\n", e, param_err(&p));
        assert_true(e < 1e-3); /* a difference of floats ~ 1: ulp(1) / lr ~ 1e-5 */
        assert_true(param_err(&p) < REL_TOL);
        pair_free(&p);
    }
}

/* Non-default hyper-parameters, with the L2 penalty, through both paths. */
static void test_adam_with_custom_settings_and_l2_matches_reference(void **state)
{
    opt_cfg c = {NNF_OPT_ADAM, 0.005, 0.9, 0.8, 0.99, 1e-4, 0.3};
    pair p;
    (void)state;
    std_pair(&p, NNF_LOSS_BCE, 16, 50);
    run_against_reference(&p, &c, 30, 0, "adam b1 0.8 b2 0.99 eps 1e-4 l2 0.3");
    pair_free(&p);
    std_pair(&p, NNF_LOSS_CROSS_ENTROPY, 16, 51);
    run_against_reference(&p, &c, 30, 1, "adam, cross-entropy, forward/backward/update");
    pair_free(&p);
}

static void test_momentum_with_l2_matches_reference(void **state)
{
    opt_cfg c = {NNF_OPT_MOMENTUM, 0.3, 0.8, 0.9, 0.999, 1e-8, 0.5};
    pair p;
    (void)state;
    std_pair(&p, NNF_LOSS_MSE, 16, 60);
    run_against_reference(&p, &c, 10, 0, "momentum 0.8 l2 0.5");
    pair_free(&p);
}

/* ======================================================================
 * First steps in closed form (gradients read from the library itself)
 * ====================================================================== */

/* max_i |(after_i - before_i) - want_i| / lr over the n parameters. */
static double step_err(const float *before, const float *after, const double *want, size_t n,
                       double lr)
{
    double worst = 0.0;
    for (size_t i = 0; i < n; i++)
        worst = fmax(worst, fabs(((double)after[i] - (double)before[i]) - want[i]) / lr);
    return worst;
}

/* Adam's first update: m1 / (1 - b1) = g and v1 / (1 - b2) = g^2, so the
 * change is -lr g / (|g| + eps): about -lr sign(g) for eps = 1e-8, and
 * visibly less where |g| is near eps = 1e-2. Without the bias correction
 * it would be 3.16 times larger (b1 = 0.9, b2 = 0.999). */
static void test_adam_first_update_is_lr_g_over_abs_g_plus_eps(void **state)
{
    static const double eps[] = {1e-8, 1e-2};
    float before[PARAMS_MAX], after[PARAMS_MAX], g[PARAMS_MAX];
    double want[PARAMS_MAX];
    const double lr = 0.01;
    pair p;
    (void)state;
    for (size_t k = 0; k < 2; k++) {
        std_pair(&p, NNF_LOSS_BCE, 16, 70 + k);
        assert_ok(p.net, nnf_net_set_param(p.net, NNF_PARAM_OPTIMIZER, NNF_OPT_ADAM));
        assert_ok(p.net, nnf_net_set_param(p.net, NNF_PARAM_LEARNING_RATE, lr));
        assert_ok(p.net, nnf_net_set_param(p.net, NNF_PARAM_ADAM_EPSILON, eps[k]));
        size_t n = net_params(p.net, before);
        lib_step(&p, 0);
        net_params(p.net, after);
        assert_int_equal(net_grads(p.net, g), n);
        size_t near_lr = 0, below = 0;
        for (size_t i = 0; i < n; i++) {
            want[i] = -lr * (double)g[i] / (fabs((double)g[i]) + eps[k]);
            near_lr += fabs(fabs(want[i]) - lr) < 1e-3 * lr;
            below += fabs(want[i]) < 0.9 * lr;
        }
        double e = step_err(before, after, want, n, lr);
        if (verbose())
            printf("    adam first step, eps %g: error %.3g of lr (%zu of %zu steps ~lr, "
                   "%zu below 0.9 lr)\n",
                   eps[k], e, near_lr, n, below);
        assert_true(e < REL_TOL);
        if (k == 0)
            assert_int_equal(near_lr, n); /* sign-ish: every |step| is lr */
        else
            assert_true(below > 0); /* eps shows: the closed form is not just lr sign(g) */
        pair_free(&p);
    }
}

/* Betas that are < 1 but round to 1.0f (within 2^-25 of 1) must not freeze
 * Adam's moments: with v stuck at 0 the first step would be lr m / eps,
 * ~1e6 instead of ~lr. The first step keeps its closed form, and later
 * steps stay of the order of lr. */
static void test_adam_betas_that_round_to_1_in_float_still_work(void **state)
{
    static const double betas[][2] = {{0.9, 0.99999999},
                                      {0.99999999, 0.999},
                                      {0.99999999, 0.99999999}};
    float before[PARAMS_MAX], after[PARAMS_MAX], g[PARAMS_MAX];
    double want[PARAMS_MAX];
    const double lr = 0.01;
    pair p;
    (void)state;
    for (size_t k = 0; k < 3; k++) {
        std_pair(&p, NNF_LOSS_BCE, 16, 75 + k);
        assert_ok(p.net, nnf_net_set_param(p.net, NNF_PARAM_OPTIMIZER, NNF_OPT_ADAM));
        assert_ok(p.net, nnf_net_set_param(p.net, NNF_PARAM_LEARNING_RATE, lr));
        assert_ok(p.net, nnf_net_set_param(p.net, NNF_PARAM_ADAM_BETA1, betas[k][0]));
        assert_ok(p.net, nnf_net_set_param(p.net, NNF_PARAM_ADAM_BETA2, betas[k][1]));
        size_t n = net_params(p.net, before);
        lib_step(&p, 0);
        net_params(p.net, after);
        net_grads(p.net, g);
        for (size_t i = 0; i < n; i++)
            want[i] = -lr * (double)g[i] / (fabs((double)g[i]) + 1e-8);
        double e = step_err(before, after, want, n, lr), worst = 0.0;
        for (int s = 0; s < 10; s++) {
            memcpy(before, after, n * sizeof(float));
            lib_step(&p, 0);
            net_params(p.net, after);
            for (size_t i = 0; i < n; i++)
                worst = fmax(worst, fabs((double)after[i] - (double)before[i]) / lr);
        }
        if (verbose())
            printf("    adam betas %.8f %.8f: first step error %.3g of lr, "
                   "later steps <= %.3g lr\n",
                   betas[k][0], betas[k][1], e, worst);
        assert_true(e < REL_TOL);
        assert_true(worst < 3.0);
        pair_free(&p);
    }
}

/* An epsilon below the float range must not make 0 / 0 of a parameter whose
 * gradient is exactly 0 (here the weights of a dead ReLU unit). */
static void test_adam_with_an_epsilon_below_float_range_keeps_zero_gradients_at_rest(void **state)
{
    const float x[] = {1, 2, -1, 0.5f}, y[] = {1, 0};
    const float w1[] = {1, 1, 0, -1, 0.5f, 0.5f}, b1[] = {0, 0, 0}; /* unit 2: z < 0 */
    float before[PARAMS_MAX], after[PARAMS_MAX], g[PARAMS_MAX];
    const size_t units[] = {3, 1};
    const nnf_act acts[] = {NNF_ACT_RELU, NNF_ACT_SIGMOID};
    nnf_net *net = net_build(&(net_spec){.inputs = 2, .depth = 2, .units = units, .acts = acts});
    (void)state;
    assert_ok(net, nnf_layer_set_weights(nnf_net_layer(net, 1), w1));
    assert_ok(net, nnf_layer_set_bias(nnf_net_layer(net, 1), b1));
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_OPTIMIZER, NNF_OPT_ADAM));
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_ADAM_EPSILON, 1e-50));
    size_t n = net_params(net, before);
    for (int s = 0; s < 3; s++)
        assert_ok(net, nnf_net_train_step(net, x, y, 2, NULL));
    net_params(net, after);
    net_grads(net, g);
    size_t zero = 0;
    for (size_t i = 0; i < n; i++) {
        assert_true(isfinite(after[i]));
        if (g[i] == 0.0f) {
            zero++;
            assert_true(after[i] == before[i]);
        }
    }
    assert_true(zero >= 3); /* the dead unit's two weights and its bias */
    assert_true(memcmp(before, after, n * sizeof(float)) != 0); /* the others trained */
    nnf_net_destroy(net);
}

/* Momentum's first update: v1 = (1 - beta) g, so the change is -lr (1 - beta) g. */
static void test_momentum_first_update_is_lr_times_1_minus_beta_times_g(void **state)
{
    float before[PARAMS_MAX], after[PARAMS_MAX], g[PARAMS_MAX];
    double want[PARAMS_MAX];
    const double lr = 0.5, beta = 0.75;
    pair p;
    (void)state;
    std_pair(&p, NNF_LOSS_MSE, 16, 80);
    assert_ok(p.net, nnf_net_set_param(p.net, NNF_PARAM_OPTIMIZER, NNF_OPT_MOMENTUM));
    assert_ok(p.net, nnf_net_set_param(p.net, NNF_PARAM_LEARNING_RATE, lr));
    assert_ok(p.net, nnf_net_set_param(p.net, NNF_PARAM_MOMENTUM, beta));
    size_t n = net_params(p.net, before);
    lib_step(&p, 0);
    net_params(p.net, after);
    net_grads(p.net, g);
    for (size_t i = 0; i < n; i++)
        want[i] = -lr * (1.0 - beta) * (double)g[i];
    double e = step_err(before, after, want, n, lr);
    if (verbose())
        printf("    momentum first step: error %.3g of lr\n", e);
    assert_true(e < 1e-6);
    pair_free(&p);
}

/* ======================================================================
 * The optimizer's state: kept between steps, reset by a change of
 * optimizer and by nnf_net_init
 * ====================================================================== */

/* Train a std BCE net with opt for steps steps. */
static nnf_net *trained(pair *p, nnf_optimizer opt, size_t steps, uint64_t seed)
{
    std_pair(p, NNF_LOSS_BCE, 16, seed);
    assert_ok(p->net, nnf_net_set_param(p->net, NNF_PARAM_OPTIMIZER, (double)opt));
    assert_ok(p->net, nnf_net_set_param(p->net, NNF_PARAM_LEARNING_RATE, 0.05));
    for (size_t s = 0; s < steps; s++)
        lib_step(p, 0);
    return p->net;
}

/* A fresh net of the std BCE architecture with net's parameters, lr 0.05,
 * and optimizer opt with a zero state. */
static nnf_net *fresh_twin(nnf_net *net, nnf_optimizer opt)
{
    nnf_net *twin = net_build(&(
        net_spec){.inputs = bce_n[0], .depth = 3, .units = bce_n + 1, .acts = bce_act, .lr = 0.05});
    assert_ok(twin, nnf_net_set_param(twin, NNF_PARAM_OPTIMIZER, (double)opt));
    copy_params(twin, net);
    return twin;
}

static void step_both(pair *p, nnf_net *twin, size_t steps)
{
    for (size_t s = 0; s < steps; s++) {
        assert_ok(p->net, nnf_net_train_step(p->net, p->x, p->y, p->m, NULL));
        assert_ok(twin, nnf_net_train_step(twin, p->x, p->y, p->m, NULL));
    }
}

/* The state matters: a net that has trained 5 steps and a fresh twin with
 * the same parameters take different next steps (so the reset tests below
 * can fail). */
static void test_optimizer_state_carries_over_between_steps(void **state)
{
    static const nnf_optimizer opts[] = {NNF_OPT_MOMENTUM, NNF_OPT_ADAM};
    pair p;
    (void)state;
    for (size_t k = 0; k < 2; k++) {
        nnf_net *twin = fresh_twin(trained(&p, opts[k], 5, 90), opts[k]);
        assert_true(same_params(p.net, twin));
        step_both(&p, twin, 1);
        assert_false(same_params(p.net, twin));
        nnf_net_destroy(twin);
        pair_free(&p);
    }
}

/* Switching to another optimizer and back starts from a zero state: the
 * net then trains bit for bit like a fresh twin. */
static void test_changing_the_optimizer_resets_its_state(void **state)
{
    static const nnf_optimizer opts[] = {NNF_OPT_MOMENTUM, NNF_OPT_ADAM};
    pair p;
    (void)state;
    for (size_t k = 0; k < 2; k++) {
        for (int other = NNF_OPT_SGD; other <= NNF_OPT_ADAM; other++) {
            if (other == (int)opts[k])
                continue;
            trained(&p, opts[k], 5, 100 + (uint64_t)other);
            assert_ok(p.net, nnf_net_set_param(p.net, NNF_PARAM_OPTIMIZER, (double)other));
            assert_ok(p.net, nnf_net_set_param(p.net, NNF_PARAM_OPTIMIZER, (double)opts[k]));
            nnf_net *twin = fresh_twin(p.net, opts[k]);
            step_both(&p, twin, 3);
            assert_true(same_params(p.net, twin));
            nnf_net_destroy(twin);
            pair_free(&p);
        }
    }
}

/* Setting the optimizer it already has is no change: the state is kept
 * (the net trains on like its clone, taken before). */
static void test_setting_the_same_optimizer_keeps_its_state(void **state)
{
    static const nnf_optimizer opts[] = {NNF_OPT_MOMENTUM, NNF_OPT_ADAM};
    pair p;
    (void)state;
    for (size_t k = 0; k < 2; k++) {
        nnf_net *clone = NULL;
        trained(&p, opts[k], 5, 110);
        assert_ok(p.net, nnf_net_clone(p.net, &clone));
        assert_ok(p.net, nnf_net_set_param(p.net, NNF_PARAM_OPTIMIZER, (double)opts[k]));
        step_both(&p, clone, 3);
        assert_true(same_params(p.net, clone));
        nnf_net_destroy(clone);
        pair_free(&p);
    }
}

/* nnf_net_init starts training over: the state is zeroed too, so the net
 * trains bit for bit like a fresh net initialized with the same seed.
 * (Setting the same parameters by hand keeps the state: it differs.) */
static void test_init_resets_the_optimizer_state(void **state)
{
    static const nnf_optimizer opts[] = {NNF_OPT_MOMENTUM, NNF_OPT_ADAM};
    pair p;
    (void)state;
    for (size_t k = 0; k < 2; k++) {
        trained(&p, opts[k], 5, 120);
        assert_ok(p.net, nnf_net_init(p.net, NNF_INIT_DEFAULT, 777));
        nnf_net *twin = fresh_twin(p.net, opts[k]);
        assert_ok(twin, nnf_net_init(twin, NNF_INIT_DEFAULT, 777));
        assert_true(same_params(p.net, twin));
        step_both(&p, twin, 3);
        assert_true(same_params(p.net, twin));
        nnf_net_destroy(twin);
        pair_free(&p);

        /* contrast: the same parameters set by hand, state kept */
        trained(&p, opts[k], 5, 120);
        twin = fresh_twin(p.net, opts[k]);
        assert_ok(twin, nnf_net_init(twin, NNF_INIT_DEFAULT, 777));
        copy_params(p.net, twin);
        step_both(&p, twin, 1);
        assert_false(same_params(p.net, twin));
        nnf_net_destroy(twin);
        pair_free(&p);
    }
}

/* ======================================================================
 * L2 penalty
 * ====================================================================== */

/* With lambda > 0 the cost of nnf_net_backward is the reference J with
 * the penalty, and dW, db are the reference's (dW with (lambda/m) W). */
static void test_l2_cost_and_gradients_match_reference(void **state)
{
    static const nnf_loss losses[] = {NNF_LOSS_BCE, NNF_LOSS_MSE, NNF_LOSS_CROSS_ENTROPY};
    static const double lambdas[] = {0.7, 0.01, 3.0};
    static const size_t ms[] = {1, 7, 64};
    pair p;
    (void)state;
    for (size_t k = 0; k < 3; k++) {
        for (size_t q = 0; q < 3; q++) {
            float cost = NAN;
            std_pair(&p, losses[k], ms[q], 130 + 3 * k + q);
            assert_ok(p.net, nnf_net_set_param(p.net, NNF_PARAM_L2_PENALTY, lambdas[q]));
            p.ref.l2 = lambdas[q];
            assert_ok(p.net, nnf_net_forward(p.net, p.x, p.m, NULL));
            assert_ok(p.net, nnf_net_backward(p.net, p.y, &cost));
            assert_non_null(ref_forward(&p.ref, p.xd, p.m));
            double j = ref_cost(&p.ref, p.yd);
            assert_int_equal(ref_backward(&p.ref, p.yd), 0);
            double ec = fabs((double)cost - j) / fabs(j), eg = grad_err(&p);
            if (verbose())
                printf("    l2 %g, loss %d, m %zu: cost error %.3g, gradient error %.3g\n",
                       lambdas[q], (int)losses[k], p.m, ec, eg);
            assert_true(ec < REL_TOL);
            assert_true(eg < REL_TOL);
            pair_free(&p);
        }
    }
}

/* The penalty's own terms, from the same net with and without it:
 * J(lambda) - J(0) = lambda/(2m) sum ||W||^2, dW(lambda) - dW(0) = (lambda/m) W,
 * and db(lambda) = db(0) bit for bit (biases are not penalized). */
static void test_l2_adds_lambda_over_m_w_to_dw_and_nothing_to_db(void **state)
{
    const double lambda = 0.7;
    enum { NW = PAIR_MAX_N * PAIR_MAX_N };
    float w[NW], dw0[NW], dw1[NW], db0[PAIR_MAX_N], db1[PAIR_MAX_N];
    double got[NW], want[NW];
    float j0 = NAN, j1 = NAN;
    pair p;
    (void)state;
    std_pair(&p, NNF_LOSS_BCE, 7, 140);
    double sumsq = 0.0;
    for (size_t l = 1; l <= p.L; l++) {
        assert_ok(p.net, nnf_layer_get_weights(nnf_net_layer(p.net, l), w));
        for (size_t i = 0; i < p.n[l] * p.n[l - 1]; i++)
            sumsq += (double)w[i] * (double)w[i];
    }
    assert_ok(p.net, nnf_net_forward(p.net, p.x, p.m, NULL));
    assert_ok(p.net, nnf_net_backward(p.net, p.y, &j0));
    float g0[PARAMS_MAX];
    net_grads(p.net, g0);
    assert_ok(p.net, nnf_net_set_param(p.net, NNF_PARAM_L2_PENALTY, lambda));
    assert_ok(p.net, nnf_net_forward(p.net, p.x, p.m, NULL));
    assert_ok(p.net, nnf_net_backward(p.net, p.y, &j1));
    double pen = lambda / (2.0 * (double)p.m) * sumsq;
    double ec = fabs(((double)j1 - (double)j0) - pen) / pen;
    if (verbose())
        printf("    l2 cost term %.6g: error %.3g\n", pen, ec);
    assert_true(ec < REL_TOL);
    /* per layer: the weight gradients differ by (lambda/m) W, the bias
     * gradients not at all */
    size_t off = 0;
    for (size_t l = 1; l <= p.L; l++) {
        nnf_layer *ly = nnf_net_layer(p.net, l);
        size_t nw = p.n[l] * p.n[l - 1];
        assert_ok(p.net, nnf_layer_get_weights(ly, w));
        assert_ok(p.net, nnf_layer_get_weight_grad(ly, dw1));
        assert_ok(p.net, nnf_layer_get_bias_grad(ly, db1));
        memcpy(dw0, g0 + off, nw * sizeof(float));
        memcpy(db0, g0 + off + nw, p.n[l] * sizeof(float));
        off += nw + p.n[l];
        for (size_t i = 0; i < nw; i++) {
            got[i] = (double)dw1[i] - (double)dw0[i];
            want[i] = lambda / (double)p.m * (double)w[i];
        }
        double e = ref_rel_err(got, want, nw);
        if (verbose())
            printf("    l2 layer %zu: dW term error %.3g\n", l, e);
        assert_true(e < REL_TOL);
        assert_memory_equal(db0, db1, p.n[l] * sizeof(float));
    }
    pair_free(&p);
}

/* lambda = 0 is no penalty: cost and gradients bit-identical to the default. */
static void test_l2_of_zero_changes_nothing(void **state)
{
    float j0 = NAN, j1 = NAN, g0[PARAMS_MAX], g1[PARAMS_MAX];
    pair p;
    (void)state;
    std_pair(&p, NNF_LOSS_MSE, 7, 150);
    assert_ok(p.net, nnf_net_forward(p.net, p.x, p.m, NULL));
    assert_ok(p.net, nnf_net_backward(p.net, p.y, &j0));
    size_t n = net_grads(p.net, g0);
    assert_ok(p.net, nnf_net_set_param(p.net, NNF_PARAM_L2_PENALTY, 0.5));
    assert_ok(p.net, nnf_net_set_param(p.net, NNF_PARAM_L2_PENALTY, 0.0));
    assert_ok(p.net, nnf_net_forward(p.net, p.x, p.m, NULL));
    assert_ok(p.net, nnf_net_backward(p.net, p.y, &j1));
    net_grads(p.net, g1);
    assert_memory_equal(&j0, &j1, sizeof j0);
    assert_memory_equal(g0, g1, n * sizeof(float));
    pair_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sgd_matches_reference_over_5_steps),
        cmocka_unit_test(test_momentum_matches_reference_over_5_steps),
        cmocka_unit_test(test_adam_matches_reference_over_100_steps),
        cmocka_unit_test(test_adam_with_custom_settings_and_l2_matches_reference),
        cmocka_unit_test(test_momentum_with_l2_matches_reference),
        cmocka_unit_test(test_adam_first_update_is_lr_g_over_abs_g_plus_eps),
        cmocka_unit_test(test_adam_betas_that_round_to_1_in_float_still_work),
        cmocka_unit_test(test_adam_with_an_epsilon_below_float_range_keeps_zero_gradients_at_rest),
        cmocka_unit_test(test_momentum_first_update_is_lr_times_1_minus_beta_times_g),
        cmocka_unit_test(test_optimizer_state_carries_over_between_steps),
        cmocka_unit_test(test_changing_the_optimizer_resets_its_state),
        cmocka_unit_test(test_setting_the_same_optimizer_keeps_its_state),
        cmocka_unit_test(test_init_resets_the_optimizer_state),
        cmocka_unit_test(test_l2_cost_and_gradients_match_reference),
        cmocka_unit_test(test_l2_adds_lambda_over_m_w_to_dw_and_nothing_to_db),
        cmocka_unit_test(test_l2_of_zero_changes_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
