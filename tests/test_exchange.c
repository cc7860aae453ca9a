/* SPDX-License-Identifier: MIT */
/* test_exchange.c - black-box: the exchange function (nnfast.h,
 * "Exchanging gradients") as a data-parallel layer uses it, with a single
 * net standing for several: what a step and a trainer hand it and take
 * back. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "assert_ok.h"
#include "nets.h"
#include "params.h"

#include <math.h>
#include <string.h>

#include "nnfast.h"

/* Another net's contribution added to every STEP: `other` samples of zero
 * gradient and zero loss; EPOCH raised to `batches`. */
typedef struct others {
    double other;
    size_t batches;
    int steps, epochs, validations;
} others;

static nnf_status add_others(nnf_net *net, nnf_exchange *e, void *user)
{
    (void)net;
    others *o = user;
    if (e->status != NNF_OK)
        return e->status;
    switch (e->kind) {
    case NNF_EXCHANGE_STEP: o->steps++, e->samples += o->other; break;
    case NNF_EXCHANGE_EPOCH:
        o->epochs++;
        if (e->batches < o->batches)
            e->batches = o->batches;
        break;
    case NNF_EXCHANGE_VALIDATION: o->validations++; break;
    }
    return NNF_OK;
}

/* A trainer's net with no sample of its own steps as many empty batches as
 * the others have, every epoch. */
static void test_trainer_without_samples_steps_the_others_batches(void **state)
{
    (void)state;
    static const size_t units[] = {3, 1};
    static const nnf_act acts[] = {NNF_ACT_TANH, NNF_ACT_SIGMOID};
    nnf_net *net = net_build(&(net_spec){.inputs = 2, .depth = 2, .units = units, .acts = acts});
    float before[PARAMS_MAX], after[PARAMS_MAX];
    size_t n = net_params(net, before);
    others o = {4.0, 3, 0, 0, 0};
    assert_ok(net, nnf_net_set_exchange(net, add_others, &o));
    nnf_trainer *t = NULL;
    assert_int_equal(nnf_trainer_create(&t), NNF_OK);
    assert_int_equal(nnf_trainer_set(t, NNF_TRAIN_EPOCHS, 2), NNF_OK);
    assert_ok(net, nnf_trainer_run(t, net, NULL, NULL, 0));
    assert_int_equal(o.epochs, 2);
    assert_int_equal(o.steps, 6);
    assert_int_equal(o.validations, 2);
    assert_int_equal(nnf_net_epochs(net), 2);
    /* zero gradients from everyone: SGD without penalty leaves the parameters */
    assert_int_equal(net_params(net, after), n);
    assert_memory_equal(before, after, n * sizeof(float));
    nnf_trainer_destroy(t);
    nnf_net_destroy(net);
}

/* A step's sums: the gradient summed over the samples, the loss summed;
 * the step divides by the samples the exchange leaves. */
static void test_step_divides_by_the_exchanged_samples(void **state)
{
    (void)state;
    static const size_t units[] = {3, 1};
    static const nnf_act acts[] = {NNF_ACT_TANH, NNF_ACT_SIGMOID};
    nnf_net *a = net_build(&(net_spec){.inputs = 2, .depth = 2, .units = units, .acts = acts});
    nnf_net *b = net_build(&(net_spec){.inputs = 2, .depth = 2, .units = units, .acts = acts});
    float x[8], y[4], ga[PARAMS_MAX], gb[PARAMS_MAX];
    make_data(x, y, 4, 2, 1, 0);
    others o = {4.0, 0, 0, 0, 0}; /* 4 more samples of zero gradient: half the mean */
    assert_ok(a, nnf_net_set_exchange(a, add_others, &o));
    float ca = 0.0f, cb = 0.0f;
    assert_ok(a, nnf_net_train_step(a, x, y, 4, &ca));
    assert_ok(b, nnf_net_forward(b, x, 4, NULL));
    assert_ok(b, nnf_net_backward(b, y, &cb));
    assert_int_equal(o.steps, 1);
    size_t n = net_grads(a, ga);
    assert_int_equal(net_grads(b, gb), n);
    for (size_t i = 0; i < n; i++)
        assert_true(fabsf(ga[i] - gb[i] / 2.0f) <= 1e-6f * (fabsf(gb[i]) + 1e-6f));
    assert_true(fabsf(ca - cb / 2.0f) <= 1e-6f * cb);
    nnf_net_destroy(a);
    nnf_net_destroy(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trainer_without_samples_steps_the_others_batches),
        cmocka_unit_test(test_step_divides_by_the_exchanged_samples),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
