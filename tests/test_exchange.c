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
#include "snapshot.h"

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
    if (nnf_exchange_get_status(e) != NNF_OK)
        return nnf_exchange_get_status(e);
    switch (nnf_exchange_get_kind(e)) {
    case NNF_EXCHANGE_STEP:
        o->steps++;
        return nnf_exchange_set(e, NNF_EXCHANGE_SAMPLES,
                                nnf_exchange_get(e, NNF_EXCHANGE_SAMPLES) + o->other);
    case NNF_EXCHANGE_EPOCH:
        o->epochs++;
        if (nnf_exchange_get(e, NNF_EXCHANGE_BATCHES) < (double)o->batches)
            return nnf_exchange_set(e, NNF_EXCHANGE_BATCHES, (double)o->batches);
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

/* What an exchange function reads and writes through the accessors: the
 * figures of its kind (NaN for the others); a bad write is NNF_ERR_ARG with
 * a message that, returned, fails the step with nothing changed. */
typedef struct probe {
    int checked;
    nnf_exchange_key key; /* the write to try */
    double value;
} probe;

static nnf_status probing(nnf_net *net, nnf_exchange *e, void *user)
{
    (void)net;
    probe *p = user;
    if (nnf_exchange_get_kind(e) != NNF_EXCHANGE_STEP || nnf_exchange_get_status(e) != NNF_OK)
        return NNF_OK;
    size_t n = 0;
    assert_non_null(nnf_exchange_grads(e, &n));
    assert_int_equal(n, 3 * 2 + 3 + 1 * 3 + 1);
    assert_true(nnf_exchange_get(e, NNF_EXCHANGE_SAMPLES) == 4.0);
    assert_true(nnf_exchange_get(e, NNF_EXCHANGE_LOSS) > 0.0);
    assert_true(isnan(nnf_exchange_get(e, NNF_EXCHANGE_CORRECT)));
    assert_true(isnan(nnf_exchange_get(e, NNF_EXCHANGE_BATCHES)));
    assert_true(isnan(nnf_exchange_get(e, (nnf_exchange_key)99)));
    p->checked++;
    return nnf_exchange_set(e, p->key, p->value);
}

static void test_the_accessors_read_and_check_what_they_write(void **state)
{
    (void)state;
    assert_true((int)nnf_exchange_get_kind(NULL) == -1);
    assert_int_equal(nnf_exchange_get_status(NULL), NNF_ERR_ARG);
    size_t n = 7;
    assert_null(nnf_exchange_grads(NULL, &n));
    assert_int_equal(n, 0);
    assert_true(isnan(nnf_exchange_get(NULL, NNF_EXCHANGE_LOSS)));
    assert_int_equal(nnf_exchange_set(NULL, NNF_EXCHANGE_LOSS, 1.0), NNF_ERR_ARG);
    assert_int_equal(nnf_exchange_set_message(NULL, "x"), NNF_ERR_ARG);

    static const size_t units[] = {3, 1};
    static const nnf_act acts[] = {NNF_ACT_TANH, NNF_ACT_SIGMOID};
    const struct {
        nnf_exchange_key key;
        double value;
        const char *why; /* NULL: accepted */
    } writes[] = {
        {NNF_EXCHANGE_SAMPLES, 4.0, NULL},
        {NNF_EXCHANGE_SAMPLES, -1.0,
         "nnf_exchange_set: key 1 = -1 in a STEP exchange is not finite and >= 0"},
        {NNF_EXCHANGE_LOSS, NAN, "nnf_exchange_set: key 0 = nan in a STEP exchange is not finite"},
        {NNF_EXCHANGE_BATCHES, 3.0, "is not a figure of this kind of exchange"},
        {(nnf_exchange_key)99, 1.0, "is not a figure of this kind of exchange"},
    };
    for (size_t w = 0; w < sizeof writes / sizeof *writes; w++) {
        nnf_net *net =
            net_build(&(net_spec){.inputs = 2, .depth = 2, .units = units, .acts = acts});
        float x[8], y[4], cost = 0.0f;
        make_data(x, y, 4, 2, 1, 0);
        probe p = {0, writes[w].key, writes[w].value};
        assert_ok(net, nnf_net_set_exchange(net, probing, &p));
        snapshot before, after;
        snapshot_take(net, &before);
        nnf_status st = nnf_net_train_step(net, x, y, 4, &cost);
        assert_int_equal(p.checked, 1);
        if (!writes[w].why) {
            assert_ok(net, st);
        } else {
            assert_int_equal(st, NNF_ERR_ARG);
            const char *msg = nnf_net_errmsg(net);
            assert_true(strncmp(msg, "nnf_net_train_step: nnf_exchange_set: ", 38) == 0);
            assert_non_null(strstr(msg, writes[w].why));
            snapshot_take(net, &after);
            char why[256];
            assert_int_equal(snapshot_differ(&before, &after, SNAP_STATE, why, sizeof why), 0);
            snapshot_free(&after);
        }
        snapshot_free(&before);
        nnf_net_destroy(net);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trainer_without_samples_steps_the_others_batches),
        cmocka_unit_test(test_step_divides_by_the_exchanged_samples),
        cmocka_unit_test(test_the_accessors_read_and_check_what_they_write),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
