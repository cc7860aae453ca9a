/* SPDX-License-Identifier: MIT */
/* test_mpi.c - black-box, run under mpirun -np R (R = 2, 3): nnfast_mpi.h's
 * collective step, broadcast and trainer run. Every rank also computes the
 * single-process reference (nnf_net_train_step / nnf_trainer_run on the
 * ranks' data concatenated in rank order) and checks the collective result
 * against it (1e-5 relative), and the ranks' states are compared byte for
 * byte. A test that fails on any rank aborts the job (MPI_Abort once
 * cmocka has printed why), so that no rank waits in a collective and mpirun
 * exits non-zero; the ranks other than 0 print only their failures. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "assert_ok.h"
#include "nets.h"
#include "params.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nnfast_mpi.h"

static int g_rank, g_size, g_done, g_failed;

/* After cmocka has printed a failure: the other ranks may wait in a
 * collective of the failed test. */
static void abort_if_failed(void)
{
    if (g_failed) {
        fprintf(stderr, "rank %d: a test failed, aborting the job\n", g_rank);
        fflush(stdout);
        fflush(stderr);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
}

static int setup(void **state)
{
    (void)state;
    abort_if_failed();
    g_done = 0;
    return MPI_Barrier(MPI_COMM_WORLD) == MPI_SUCCESS ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    g_failed |= !g_done; /* the job is aborted once cmocka has said why */
    return 0;
}

/* ---- nets and data */

enum { N_IN = 5, N_OUT = 3, MAX_M = 64 };

/* 5 -> 7 tanh -> 4 leaky ReLU -> 3 softmax, cross-entropy, Adam, L2. */
static nnf_net *build(uint64_t seed, size_t hidden)
{
    const size_t units[] = {7, hidden, N_OUT};
    static const nnf_act acts[] = {NNF_ACT_TANH, NNF_ACT_LEAKY_RELU, NNF_ACT_SOFTMAX};
    nnf_net *net = net_build(&(net_spec){.inputs = N_IN,
                                         .depth = 3,
                                         .units = units,
                                         .acts = acts,
                                         .loss = NNF_LOSS_CROSS_ENTROPY,
                                         .lr = 0.05,
                                         .init = NNF_INIT_XAVIER,
                                         .seed = seed});
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_OPTIMIZER, NNF_OPT_ADAM));
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_L2_PENALTY, 0.01));
    return net;
}

/* The whole data set, the same on every rank, and rank r's shard of it:
 * m[r] samples from first[r] on, in rank order. */
typedef struct data {
    float x[MAX_M * N_IN], y[MAX_M * N_OUT];
    size_t total, m[16], first[16];
} data;

static void make_shards(data *d, const size_t *m)
{
    d->total = 0;
    for (int r = 0; r < g_size; r++) {
        d->m[r] = m[r];
        d->first[r] = d->total;
        d->total += m[r];
    }
    assert_true(d->total <= MAX_M);
    make_data(d->x, d->y, d->total, N_IN, N_OUT, 1);
}

static const float *shard_x(const data *d)
{
    return d->m[g_rank] ? d->x + d->first[g_rank] * N_IN : NULL;
}
static const float *shard_y(const data *d)
{
    return d->m[g_rank] ? d->y + d->first[g_rank] * N_OUT : NULL;
}

/* The parameters' difference relative to their size: max |a - b| / max |b|
 * over every weight and bias. */
static double worst_relative(nnf_net *a, nnf_net *b)
{
    static float pa[PARAMS_MAX], pb[PARAMS_MAX];
    size_t n = net_params(a, pa);
    assert_int_equal(net_params(b, pb), n);
    double diff = 0.0, size = 0.0;
    for (size_t i = 0; i < n; i++) {
        diff = fmax(diff, fabs((double)pa[i] - (double)pb[i]));
        size = fmax(size, fabs((double)pb[i]));
    }
    return size > 0.0 ? diff / size : diff;
}

/* The net's saved bytes with the optimizer's state (malloc'd). */
static unsigned char *image(nnf_net *net, size_t *size)
{
    assert_ok(net, nnf_net_saved_size(net, NNF_SAVE_OPTIMIZER_STATE, size));
    unsigned char *buf = malloc(*size);
    assert_non_null(buf);
    assert_ok(net, nnf_net_save_mem(net, buf, *size, NNF_SAVE_OPTIMIZER_STATE, NULL));
    return buf;
}

/* Every rank's net has the same bytes as rank 0's (checked on every rank). */
static void assert_ranks_identical(nnf_net *net)
{
    size_t size = 0;
    unsigned char *mine = image(net, &size), *root = malloc(size);
    assert_non_null(root);
    unsigned long long sizes[2] = {size, (unsigned long long)-size};
    assert_int_equal(MPI_Allreduce(MPI_IN_PLACE, sizes, 2, MPI_UNSIGNED_LONG_LONG, MPI_MIN,
                                   MPI_COMM_WORLD),
                     MPI_SUCCESS);
    assert_true(sizes[0] == size && sizes[1] == (unsigned long long)-size);
    memcpy(root, mine, size);
    assert_int_equal(MPI_Bcast(root, (int)size, MPI_BYTE, 0, MPI_COMM_WORLD), MPI_SUCCESS);
    int same = memcmp(root, mine, size) == 0, all = 0;
    assert_int_equal(MPI_Allreduce(&same, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD), MPI_SUCCESS);
    if (!all)
        fail_msg("the ranks' nets differ (rank %d: %s)", g_rank, same ? "as rank 0" : "differs");
    free(mine);
    free(root);
}

static void assert_prefix(const char *msg, const char *prefix)
{
    if (strncmp(msg, prefix, strlen(prefix)) != 0)
        fail_msg("message \"%s\" does not start with \"%s\"", msg, prefix);
}

/* ---- the step */

/* Steps over shards m (one per rank) against one process's steps on all. */
static void steps_match(const size_t *m, int steps, double *worst_out)
{
    static data d;
    make_shards(&d, m);
    nnf_net *net = build(11, 4), *ref = build(11, 4);
    double worst = 0.0;
    for (int s = 0; s < steps; s++) {
        float cost = NAN, ref_cost = NAN;
        assert_ok(net, nnf_mpi_train_step(net, MPI_COMM_WORLD, shard_x(&d), shard_y(&d),
                                          d.m[g_rank], &cost));
        assert_ok(ref, nnf_net_train_step(ref, d.x, d.y, d.total, &ref_cost));
        worst = fmax(worst, fabs((double)cost - (double)ref_cost) / fabs((double)ref_cost));
        worst = fmax(worst, worst_relative(net, ref));
    }
    if (worst > 1e-5)
        fail_msg("rank %d: %g relative from one process's steps", g_rank, worst);
    assert_ranks_identical(net);
    *worst_out = worst;
    nnf_net_destroy(net);
    nnf_net_destroy(ref);
}

static void test_step_equals_one_process_on_the_whole_batch(void **state)
{
    (void)state;
    size_t m[16];
    for (int r = 0; r < g_size; r++)
        m[r] = 8;
    double worst = 0.0;
    steps_match(m, 10, &worst);
    if (g_rank == 0)
        printf("equal shards, %d ranks, 10 Adam steps: worst relative difference %.3g\n", g_size,
               worst);
    g_done = 1;
}

static void test_step_with_uneven_shards_and_an_empty_rank(void **state)
{
    (void)state;
    size_t m[16];
    for (int r = 0; r < g_size; r++)
        m[r] = (size_t)(3 + 5 * r); /* 3, 8, 13 */
    double worst = 0.0;
    steps_match(m, 10, &worst);
    if (g_rank == 0)
        printf("uneven shards: worst relative difference %.3g\n", worst);
    m[g_size - 1] = 0; /* the last rank has no sample */
    steps_match(m, 10, &worst);
    if (g_rank == 0)
        printf("last rank empty: worst relative difference %.3g\n", worst);
    g_done = 1;
}

static void test_a_failure_on_one_rank_fails_every_rank_and_changes_nothing(void **state)
{
    (void)state;
    static data d;
    size_t m[16];
    for (int r = 0; r < g_size; r++)
        m[r] = 6;
    make_shards(&d, m);
    nnf_net *net = build(3, 4);
    float cost = 0.0f;
    assert_ok(net, nnf_mpi_train_step(net, MPI_COMM_WORLD, shard_x(&d), shard_y(&d), 6, &cost));
    size_t size = 0;
    unsigned char *before = image(net, &size);

    /* a label out of range on the last rank (and on rank 1 too with 3 ranks:
     * the lowest failing rank is named) */
    int bad_from = g_size > 2 ? 1 : g_size - 1;
    float y[6 * N_OUT];
    memcpy(y, shard_y(&d), sizeof y);
    if (g_rank >= bad_from)
        y[4] = 2.0f;
    assert_int_equal(nnf_mpi_train_step(net, MPI_COMM_WORLD, shard_x(&d), y, 6, &cost),
                     NNF_ERR_ARG);
    char want[64];
    (void)snprintf(want, sizeof want, "nnf_mpi_train_step: rank %d: y[1][1] = 2", bad_from);
    assert_prefix(nnf_net_errmsg(net), want);

    /* a NaN in one rank's x: the summed cost is not finite on every rank */
    float x[6 * N_IN];
    memcpy(x, shard_x(&d), sizeof x);
    if (g_rank == g_size - 1)
        x[7] = NAN;
    assert_int_equal(nnf_mpi_train_step(net, MPI_COMM_WORLD, x, shard_y(&d), 6, &cost),
                     NNF_ERR_NUMERIC);
    assert_prefix(nnf_net_errmsg(net), "nnf_mpi_train_step: ");

    /* a NULL net on rank 0: the others learn of it, none waits */
    nnf_status st = nnf_mpi_train_step(g_rank == 0 ? NULL : net, MPI_COMM_WORLD, shard_x(&d),
                                       shard_y(&d), 6, &cost);
    assert_int_equal(st, NNF_ERR_ARG);
    if (g_rank != 0)
        assert_string_equal(nnf_net_errmsg(net), "nnf_mpi_train_step: rank 0: net is NULL");

    /* no sample anywhere */
    assert_int_equal(nnf_mpi_train_step(net, MPI_COMM_WORLD, NULL, NULL, 0, &cost), NNF_ERR_STATE);
    assert_prefix(nnf_net_errmsg(net), "nnf_mpi_train_step: ");

    size_t after_size = 0;
    unsigned char *after = image(net, &after_size);
    assert_true(after_size == size && memcmp(before, after, size) == 0);
    free(after);
    /* and the step works again */
    assert_ok(net, nnf_mpi_train_step(net, MPI_COMM_WORLD, shard_x(&d), shard_y(&d), 6, &cost));
    assert_ranks_identical(net);
    assert_int_equal(nnf_mpi_train_step(net, MPI_COMM_NULL, NULL, NULL, 0, &cost), NNF_ERR_ARG);
    assert_string_equal(nnf_net_errmsg(net), "nnf_mpi_train_step: comm is MPI_COMM_NULL");
    free(before);
    nnf_net_destroy(net);
    g_done = 1;
}

/* ---- the broadcast */

static void test_bcast_gives_every_rank_roots_state(void **state)
{
    (void)state;
    static data d;
    size_t m[16] = {0};
    m[0] = 10;
    make_shards(&d, m);
    int root = g_size - 1;
    nnf_net *net = build((uint64_t)(100 + g_rank), 4); /* a different start on every rank */
    if (g_rank == root) {                              /* root: trained, with Adam's state */
        assert_ok(net, nnf_net_set_param(net, NNF_PARAM_LEARNING_RATE, 0.02));
        assert_ok(net, nnf_layer_set_slope(nnf_net_layer(net, 2), 0.2f));
        for (int s = 0; s < 3; s++)
            assert_ok(net, nnf_net_train_step(net, d.x, d.y, 10, NULL));
    }
    assert_ok(net, nnf_mpi_bcast(net, MPI_COMM_WORLD, root));
    assert_ranks_identical(net);
    double lr = 0.0;
    assert_ok(net, nnf_net_get_param(net, NNF_PARAM_LEARNING_RATE, &lr));
    assert_true(lr == 0.02);
    /* and they train alike from there */
    float cost = 0.0f;
    assert_ok(net, nnf_mpi_train_step(net, MPI_COMM_WORLD, g_rank ? NULL : d.x, g_rank ? NULL : d.y,
                                      g_rank ? 0 : 10, &cost));
    assert_ranks_identical(net);
    nnf_net_destroy(net);
    g_done = 1;
}

static void test_bcast_refuses_another_architecture_on_every_rank(void **state)
{
    (void)state;
    int odd = g_size - 1;
    nnf_net *net = build((uint64_t)(7 + g_rank), g_rank == odd ? 6 : 4);
    size_t size = 0, after_size = 0;
    unsigned char *before = image(net, &size);
    assert_int_equal(nnf_mpi_bcast(net, MPI_COMM_WORLD, 0), NNF_ERR_STATE);
    char want[64];
    (void)snprintf(want, sizeof want, "nnf_mpi_bcast: rank %d: layer 2 has 6 units", odd);
    assert_prefix(nnf_net_errmsg(net), want);
    unsigned char *after = image(net, &after_size);
    assert_true(after_size == size && memcmp(before, after, size) == 0);
    free(after);
    free(before);
    /* a root out of range, or not the same on every rank */
    assert_int_equal(nnf_mpi_bcast(net, MPI_COMM_WORLD, g_size), NNF_ERR_ARG);
    assert_prefix(nnf_net_errmsg(net), "nnf_mpi_bcast: rank 0: root is ");
    assert_int_equal(nnf_mpi_bcast(net, MPI_COMM_WORLD, g_rank), NNF_ERR_STATE);
    assert_prefix(nnf_net_errmsg(net), "nnf_mpi_bcast: the ranks differ in the root");
    assert_int_equal(nnf_mpi_bcast(g_rank == odd ? NULL : net, MPI_COMM_WORLD, 0), NNF_ERR_ARG);
    nnf_net_destroy(net);
    g_done = 1;
}

/* ---- the trainer */

typedef struct seen {
    double val_cost[32];
    int epochs;
} seen;

static int record(const nnf_progress *p, void *user)
{
    seen *s = user;
    if (nnf_progress_get(p, NNF_PROGRESS_EPOCH_END) == 1.0 && s->epochs < 32)
        s->val_cost[s->epochs++] = nnf_progress_get(p, NNF_PROGRESS_VAL_COST);
    return 0;
}

static nnf_trainer *trainer(size_t batch, int epochs, seen *s)
{
    nnf_trainer *t = NULL;
    assert_int_equal(nnf_trainer_create(&t), NNF_OK);
    assert_int_equal(nnf_trainer_set(t, NNF_TRAIN_BATCH_SIZE, (double)batch), NNF_OK);
    assert_int_equal(nnf_trainer_set(t, NNF_TRAIN_EPOCHS, epochs), NNF_OK);
    assert_int_equal(nnf_trainer_set(t, NNF_TRAIN_PATIENCE, 3), NNF_OK);
    assert_int_equal(nnf_trainer_set(t, NNF_TRAIN_SEED, 5), NNF_OK);
    assert_int_equal(nnf_trainer_set_progress(t, record, s), NNF_OK);
    return t;
}

/* Each rank's batch its whole shard: every epoch is one step on the whole
 * data set, as one process's run with a batch of all the samples; the
 * validation shards (none on rank 0) together are one process's set. */
static void test_trainer_run_over_shards_equals_one_process(void **state)
{
    (void)state;
    static data d, v;
    size_t m[16], vm[16];
    for (int r = 0; r < g_size; r++) {
        m[r] = (size_t)(10 + 3 * r);
        vm[r] = r ? 6 : 0;
    }
    make_shards(&d, m);
    make_shards(&v, vm);
    for (size_t i = 0; i < v.total; i++) /* another set than the training data */
        v.x[i * N_IN] = -v.x[i * N_IN];
    nnf_net *net = build(21, 4), *ref = build(21, 4);
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_LEARNING_RATE, 0.3));
    assert_ok(ref, nnf_net_set_param(ref, NNF_PARAM_LEARNING_RATE, 0.3));
    seen s = {{0}, 0}, rs = {{0}, 0};
    nnf_trainer *t = trainer(MAX_M, 30, &s), *rt = trainer(MAX_M, 30, &rs);
    if (v.m[g_rank])
        assert_int_equal(nnf_trainer_set_validation(t, shard_x(&v), shard_y(&v), v.m[g_rank]),
                         NNF_OK);
    assert_int_equal(nnf_trainer_set_validation(rt, v.x, v.y, v.total), NNF_OK);
    nnf_status st =
        nnf_mpi_trainer_run(t, net, MPI_COMM_WORLD, shard_x(&d), shard_y(&d), d.m[g_rank]);
    if (st != NNF_OK)
        fail_msg("%s", nnf_trainer_errmsg(t));
    assert_int_equal(nnf_trainer_run(rt, ref, d.x, d.y, d.total), NNF_OK);
    assert_int_equal(s.epochs, rs.epochs);
    double worst = 0.0;
    for (int e = 0; e < s.epochs; e++)
        worst = fmax(worst, fabs(s.val_cost[e] - rs.val_cost[e]) / rs.val_cost[e]);
    for (int k = NNF_RESULT_EPOCHS_RUN; k <= NNF_RESULT_RESTORED; k++) {
        double a = 0.0, b = 0.0;
        assert_int_equal(nnf_trainer_result(t, (nnf_train_result)k, &a), NNF_OK);
        assert_int_equal(nnf_trainer_result(rt, (nnf_train_result)k, &b), NNF_OK);
        if (k == NNF_RESULT_BEST_VAL_COST)
            worst = fmax(worst, fabs(a - b) / b);
        else
            assert_true(a == b);
    }
    worst = fmax(worst, worst_relative(net, ref));
    if (worst > 1e-5)
        fail_msg("rank %d: %g relative from one process's run", g_rank, worst);
    double stopped = 0.0, epochs = 0.0;
    assert_int_equal(nnf_trainer_result(t, NNF_RESULT_STOPPED_EARLY, &stopped), NNF_OK);
    assert_int_equal(nnf_trainer_result(t, NNF_RESULT_EPOCHS_RUN, &epochs), NNF_OK);
    if (g_rank == 0)
        printf("trainer, full batch: %g epochs (stopped early %g), worst relative %.3g\n", epochs,
               stopped, worst);
    assert_ranks_identical(net);
    nnf_trainer_destroy(t);
    nnf_trainer_destroy(rt);
    nnf_net_destroy(net);
    nnf_net_destroy(ref);
    g_done = 1;
}

static int stop_rank0(const nnf_progress *p, void *user)
{
    (void)user;
    return g_rank == 0 && nnf_progress_get(p, NNF_PROGRESS_EPOCH) == 1.0;
}

/* A progress function that stops one rank alone: every rank fails, none
 * waits for the others. */
static void test_trainer_run_stopped_on_one_rank_fails_every_rank(void **state)
{
    (void)state;
    static data d;
    size_t m[16];
    for (int r = 0; r < g_size; r++)
        m[r] = 12;
    make_shards(&d, m);
    nnf_net *net = build(41, 4);
    nnf_trainer *t = NULL;
    assert_int_equal(nnf_trainer_create(&t), NNF_OK);
    assert_int_equal(nnf_trainer_set(t, NNF_TRAIN_BATCH_SIZE, 4), NNF_OK);
    assert_int_equal(nnf_trainer_set(t, NNF_TRAIN_EPOCHS, 3), NNF_OK);
    assert_int_equal(nnf_trainer_set_progress(t, stop_rank0, NULL), NNF_OK);
    assert_int_equal(nnf_mpi_trainer_run(t, net, MPI_COMM_WORLD, shard_x(&d), shard_y(&d), 12),
                     NNF_ERR_STATE);
    assert_prefix(nnf_trainer_errmsg(t), "nnf_mpi_trainer_run: the ranks are at different points");
    /* and the ranks work together again */
    assert_int_equal(nnf_trainer_set_progress(t, NULL, NULL), NNF_OK);
    assert_int_equal(nnf_mpi_bcast(net, MPI_COMM_WORLD, 0), NNF_OK);
    assert_ranks_identical(net);
    nnf_trainer_destroy(t);
    nnf_net_destroy(net);
    g_done = 1;
}

/* Mini-batches over uneven shards, the last rank empty: the ranks stay
 * bit-identical and step the most batches of any rank. */
static void test_trainer_minibatches_over_uneven_shards(void **state)
{
    (void)state;
    static data d;
    size_t m[16];
    for (int r = 0; r < g_size; r++)
        m[r] = (size_t)(9 + 7 * r);
    m[g_size - 1] = 0;
    make_shards(&d, m);
    nnf_net *net = build(31, 4);
    seen s = {{0}, 0};
    nnf_trainer *t = trainer(4, 3, &s);
    nnf_status st =
        nnf_mpi_trainer_run(t, net, MPI_COMM_WORLD, shard_x(&d), shard_y(&d), d.m[g_rank]);
    if (st != NNF_OK)
        fail_msg("%s", nnf_trainer_errmsg(t));
    assert_int_equal(nnf_net_epochs(net), 3);
    assert_ranks_identical(net);
    /* settings that differ between ranks are refused on every rank */
    assert_int_equal(nnf_trainer_set(t, NNF_TRAIN_EPOCHS, 2 + g_rank), NNF_OK);
    assert_int_equal(nnf_mpi_trainer_run(t, net, MPI_COMM_WORLD, shard_x(&d), shard_y(&d),
                                         d.m[g_rank]),
                     NNF_ERR_STATE);
    assert_prefix(nnf_trainer_errmsg(t), "nnf_mpi_trainer_run: the ranks differ in the trainer");
    /* bad data on rank 0 fails every rank */
    assert_int_equal(nnf_trainer_set(t, NNF_TRAIN_EPOCHS, 2), NNF_OK);
    float y[9 * N_OUT];
    memcpy(y, d.y, sizeof y);
    y[0] = -1.0f;
    st = nnf_mpi_trainer_run(t, net, MPI_COMM_WORLD, shard_x(&d), g_rank ? shard_y(&d) : y,
                             d.m[g_rank]);
    assert_int_equal(st, NNF_ERR_ARG);
    assert_prefix(nnf_trainer_errmsg(t), "nnf_mpi_trainer_run: rank 0: ");
    assert_prefix(nnf_net_errmsg(net), "nnf_mpi_trainer_run: rank 0: ");
    assert_int_equal(nnf_net_epochs(net), 3);
    nnf_trainer_destroy(t);
    nnf_net_destroy(net);
    g_done = 1;
}

int main(int argc, char **argv)
{
    if (MPI_Init(&argc, &argv) != MPI_SUCCESS)
        return 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
    if (g_rank != 0 && !getenv("NNF_TEST_VERBOSE") && !freopen("/dev/null", "w", stdout))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_step_equals_one_process_on_the_whole_batch, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_step_with_uneven_shards_and_an_empty_rank, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_a_failure_on_one_rank_fails_every_rank_and_changes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bcast_gives_every_rank_roots_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bcast_refuses_another_architecture_on_every_rank,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_trainer_run_over_shards_equals_one_process, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_trainer_minibatches_over_uneven_shards, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_trainer_run_stopped_on_one_rank_fails_every_rank,
                                        setup, teardown),
    };
    int failed = g_size <= 16 ? cmocka_run_group_tests(tests, NULL, NULL) : 1;
    abort_if_failed();
    MPI_Finalize();
    return failed;
}
