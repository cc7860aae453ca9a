/* SPDX-License-Identifier: MIT */
/*
 * test_threads.c - black-box: distinct nets are independent across threads.
 * Threads that each build, train (train steps, forward/backward/update,
 * shuffled mini-batches), save/load, predict and evaluate their own net, and
 * threads that train clones of one net, all at once, give bit-identical
 * parameters, costs, predictions and saved bytes to the same work run one
 * job after another on one thread; the cloned net is not changed. One net
 * used by several threads at once is refused, never corrupted: a call that
 * finds another thread changing the net returns NNF_ERR_STATE, readers of an
 * idle net never wait for each other, and more threads computing at once
 * than the BLAS can serve are refused instead of crashing it. OpenBLAS runs
 * on one thread (nnf_set_threads(1)). Run under ThreadSanitizer by the tsan
 * preset (label `threads`).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "assert_ok.h"
#include "nnfast.h"
#include "params.h"
#include "planar.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    MAX_PARAMS = 1024, /* weights and biases of the largest net below */
    MAX_COSTS = 128,   /* recorded costs per job */
    MAX_OUT = 1200,    /* m * n_L of the largest data set */
    N_JOBS = 4,        /* own-net jobs, and as many clone jobs */
    SPIRAL_M = 300,
    SPIRAL_K = 3
};

/* A data set `float x[m][n_in]`, `float y[m][n_out]`, shared read-only by
 * every thread. */
typedef struct dataset {
    const float *x, *y;
    size_t m, n_in, n_out;
} dataset;

static float g_flower_x[PLANAR_M * 2], g_flower_y[PLANAR_M];
static float g_spiral_x[SPIRAL_M * 2], g_spiral_y[SPIRAL_M * SPIRAL_K];
static const dataset g_flower = {g_flower_x, g_flower_y, PLANAR_M, 2, 1};
static const dataset g_spirals = {g_spiral_x, g_spiral_y, SPIRAL_M, 2, SPIRAL_K};

/* ---- one job: what to build and what to do with it */

typedef enum work {
    WORK_STEPS,     /* nnf_net_train_step on in-order batches, cycling */
    WORK_MANUAL,    /* nnf_net_forward + nnf_net_backward + nnf_net_update */
    WORK_MINIBATCH, /* nnf_net_train, shuffled, costs through the progress callback */
    WORK_SAVE_LOAD  /* half the steps, save_mem + load_mem, the other half on the copy */
} work;

typedef struct spec {
    const char *name;
    const dataset *data;
    /* the net, when the job builds its own */
    size_t depth;
    size_t units[3];
    nnf_act acts[3];
    float slope; /* of leaky ReLU layers */
    nnf_loss loss;
    nnf_optimizer opt;
    double lr, l2;
    nnf_init init;
    uint64_t seed;
    /* the work */
    work kind;
    size_t steps, batch, epochs; /* epochs: WORK_MINIBATCH only */
    uint64_t shuffle_seed;
} spec;

/* Everything a job produces; compared bit for bit. */
typedef struct result {
    int failed;
    char msg[512];
    size_t n_costs;
    float costs[MAX_COSTS];
    size_t n_params;
    float params[MAX_PARAMS];
    float pred[MAX_OUT];
    float eval_cost0;          /* evaluate before the work */
    float eval_cost, eval_acc; /* and after */
    size_t saved_size;
    uint64_t saved_hash;
    nnf_status bad_status; /* of a train step on a batch holding a NaN */
    char bad_msg[256];     /* and its message */
    int bad_kept_params;   /* 1 when that step changed no parameter */
} result;

typedef struct job {
    const spec *sp;
    nnf_net *net;    /* in: a clone to work on (NULL: build from sp); out: the final net */
    double clone_lr; /* > 0: set this learning rate on the given net first */
    pthread_barrier_t *start;
    result res;
} job;

/* ---- the work, run on any thread: no cmocka calls here (not thread-safe);
 * a failure is recorded in the result and checked by the main thread. */

#define TRY(j, net, call)                                                                      \
    do {                                                                                       \
        nnf_status st_ = (call);                                                               \
        if (st_ != NNF_OK) {                                                                   \
            (void)snprintf((j)->res.msg, sizeof(j)->res.msg, "%s: %s: %s (%s)", (j)->sp->name, \
                           #call, nnf_status_str(st_), nnf_net_errmsg(net));                   \
            (j)->res.failed = 1;                                                               \
            return -1;                                                                         \
        }                                                                                      \
    } while (0)

static void record_cost(result *r, float cost)
{
    if (r->n_costs < MAX_COSTS)
        r->costs[r->n_costs] = cost;
    r->n_costs++;
}

static int record_progress(void *user, size_t epoch, size_t batch, float cost)
{
    (void)epoch;
    (void)batch;
    record_cost(user, cost);
    return 0;
}

static uint64_t fnv1a(const unsigned char *p, size_t n)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * UINT64_C(0x100000001b3);
    return h;
}

static int build_net(job *j)
{
    const spec *sp = j->sp;
    TRY(j, j->net, nnf_net_create(&j->net, sp->data->n_in));
    for (size_t l = 0; l < sp->depth; l++) {
        nnf_layer *ly = NULL;
        TRY(j, j->net, nnf_net_add_dense(j->net, sp->units[l], sp->acts[l], &ly));
        if (sp->acts[l] == NNF_ACT_LEAKY_RELU)
            TRY(j, j->net, nnf_layer_set_slope(ly, sp->slope));
    }
    TRY(j, j->net, nnf_net_set_loss(j->net, sp->loss));
    TRY(j, j->net, nnf_net_set_param(j->net, NNF_PARAM_OPTIMIZER, sp->opt));
    TRY(j, j->net, nnf_net_set_param(j->net, NNF_PARAM_LEARNING_RATE, sp->lr));
    TRY(j, j->net, nnf_net_set_param(j->net, NNF_PARAM_L2_PENALTY, sp->l2));
    TRY(j, j->net, nnf_net_init(j->net, sp->init, sp->seed));
    return 0;
}

/* steps in-order batches of sp->batch rows, wrapping around the data set. */
static int do_steps(job *j, size_t steps)
{
    const dataset *d = j->sp->data;
    size_t first = 0;
    for (size_t s = 0; s < steps; s++) {
        size_t mb = d->m - first < j->sp->batch ? d->m - first : j->sp->batch;
        const float *x = d->x + first * d->n_in, *y = d->y + first * d->n_out;
        float cost = NAN;
        if (j->sp->kind == WORK_MANUAL) {
            TRY(j, j->net, nnf_net_forward(j->net, x, mb, NULL));
            TRY(j, j->net, nnf_net_backward(j->net, y, &cost));
            TRY(j, j->net, nnf_net_update(j->net));
        } else {
            TRY(j, j->net, nnf_net_train_step(j->net, x, y, mb, &cost));
        }
        record_cost(&j->res, cost);
        first = first + mb == d->m ? 0 : first + mb;
    }
    return 0;
}

static int do_save_load(job *j)
{
    size_t size = 0, written = 0;
    TRY(j, j->net, nnf_net_saved_size(j->net, NNF_SAVE_OPTIMIZER_STATE, &size));
    unsigned char *buf = malloc(size);
    if (!buf) {
        (void)snprintf(j->res.msg, sizeof j->res.msg, "%s: out of memory", j->sp->name);
        j->res.failed = 1;
        return -1;
    }
    nnf_status st = nnf_net_save_mem(j->net, buf, size, NNF_SAVE_OPTIMIZER_STATE, &written);
    nnf_net *copy = NULL;
    char err[256] = "";
    if (st == NNF_OK)
        st = nnf_net_load_mem(&copy, buf, written, err, sizeof err);
    j->res.saved_size = written;
    j->res.saved_hash = fnv1a(buf, written);
    free(buf);
    if (st != NNF_OK) {
        (void)snprintf(j->res.msg, sizeof j->res.msg, "%s: save/load: %s (%s%s)", j->sp->name,
                       nnf_status_str(st), nnf_net_errmsg(j->net), err);
        j->res.failed = 1;
        return -1;
    }
    nnf_net_destroy(j->net);
    j->net = copy;
    return 0;
}

/* A train step on a batch with a NaN fails with NNF_ERR_NUMERIC and its own
 * message on this net, and changes no parameter. */
static int do_bad_step(job *j)
{
    enum { BAD_M = 4 };
    const dataset *d = j->sp->data;
    float x[BAD_M * 2], before[MAX_PARAMS], after[MAX_PARAMS];
    memcpy(x, d->x, sizeof x);
    x[5] = NAN;
    size_t nb = test_net_params(j->net, before, MAX_PARAMS, 0);
    j->res.bad_status = nnf_net_train_step(j->net, x, d->y, BAD_M, NULL);
    (void)snprintf(j->res.bad_msg, sizeof j->res.bad_msg, "%s", nnf_net_errmsg(j->net));
    size_t na = test_net_params(j->net, after, MAX_PARAMS, 0);
    j->res.bad_kept_params =
        nb != SIZE_MAX && nb == na && memcmp(before, after, nb * sizeof(float)) == 0;
    return 0;
}

static int run_job(job *j)
{
    const spec *sp = j->sp;
    const dataset *d = sp->data;
    if (!j->net && build_net(j) != 0)
        return -1;
    if (j->clone_lr > 0.0)
        TRY(j, j->net, nnf_net_set_param(j->net, NNF_PARAM_LEARNING_RATE, j->clone_lr));
    TRY(j, j->net, nnf_net_evaluate(j->net, d->x, d->y, d->m, &j->res.eval_cost0, NULL));

    switch (sp->kind) {
    case WORK_STEPS:
    case WORK_MANUAL:
        if (do_steps(j, sp->steps) != 0)
            return -1;
        break;
    case WORK_MINIBATCH: {
        size_t steps = 0;
        TRY(j, j->net,
            nnf_net_train(j->net, d->x, d->y, d->m, sp->batch, sp->epochs, 1, sp->shuffle_seed,
                          record_progress, &j->res, &steps));
        record_cost(&j->res, (float)steps);
        break;
    }
    case WORK_SAVE_LOAD:
        if (do_steps(j, sp->steps / 2) != 0 || do_save_load(j) != 0 ||
            do_steps(j, sp->steps - sp->steps / 2) != 0)
            return -1;
        break;
    }

    TRY(j, j->net, nnf_net_predict(j->net, d->x, d->m, j->res.pred));
    TRY(j, j->net, nnf_net_evaluate(j->net, d->x, d->y, d->m, &j->res.eval_cost, &j->res.eval_acc));
    j->res.n_params = test_net_params(j->net, j->res.params, MAX_PARAMS, 0);
    if (j->res.n_params == SIZE_MAX) {
        (void)snprintf(j->res.msg, sizeof j->res.msg, "%s: reading the parameters failed",
                       sp->name);
        j->res.failed = 1;
        return -1;
    }
    return do_bad_step(j);
}

static void *worker(void *arg)
{
    job *j = arg;
    /* every thread starts its work at once, to overlap as much as possible */
    int rc = pthread_barrier_wait(j->start);
    if (rc != 0 && rc != PTHREAD_BARRIER_SERIAL_THREAD) {
        (void)snprintf(j->res.msg, sizeof j->res.msg, "pthread_barrier_wait: %d", rc);
        j->res.failed = 1;
        return NULL;
    }
    (void)run_job(j);
    return NULL;
}

/* ---- running and comparing (main thread) */

static void run_sequential(job *jobs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        (void)run_job(&jobs[i]);
        if (jobs[i].res.failed)
            fail_msg("sequential: %s", jobs[i].res.msg);
    }
}

static void run_parallel(job *jobs, size_t n)
{
    pthread_t tid[2 * N_JOBS];
    pthread_barrier_t start;
    assert_true(n <= 2 * N_JOBS);
    assert_int_equal(pthread_barrier_init(&start, NULL, (unsigned)n), 0);
    for (size_t i = 0; i < n; i++) {
        jobs[i].start = &start;
        assert_int_equal(pthread_create(&tid[i], NULL, worker, &jobs[i]), 0);
    }
    for (size_t i = 0; i < n; i++)
        assert_int_equal(pthread_join(tid[i], NULL), 0);
    assert_int_equal(pthread_barrier_destroy(&start), 0);
    for (size_t i = 0; i < n; i++)
        if (jobs[i].res.failed)
            fail_msg("parallel: %s", jobs[i].res.msg);
}

static void destroy_nets(job *jobs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        nnf_net_destroy(jobs[i].net);
        jobs[i].net = NULL;
    }
}

static void check_floats(const char *name, const char *what, const float *a, const float *b,
                         size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], sizeof(float)) != 0)
            fail_msg("%s: %s[%zu] differs: %.9g vs %.9g", name, what, i, (double)a[i],
                     (double)b[i]);
}

/* a (one thread, one job after another) and b (in parallel) are the same
 * to the last bit, and the job did learn something. */
static void check_same(const spec *sp, const result *a, const result *b)
{
    const dataset *d = sp->data;
    assert_int_equal(a->n_costs, b->n_costs);
    assert_true(a->n_costs >= 2 && a->n_costs <= MAX_COSTS);
    check_floats(sp->name, "cost", a->costs, b->costs, a->n_costs);
    assert_int_equal(a->n_params, b->n_params);
    check_floats(sp->name, "param", a->params, b->params, a->n_params);
    check_floats(sp->name, "prediction", a->pred, b->pred, d->m * d->n_out);
    check_floats(sp->name, "evaluate cost before", &a->eval_cost0, &b->eval_cost0, 1);
    check_floats(sp->name, "evaluate cost", &a->eval_cost, &b->eval_cost, 1);
    check_floats(sp->name, "evaluate accuracy", &a->eval_acc, &b->eval_acc, 1);
    assert_int_equal(a->saved_size, b->saved_size);
    assert_true(a->saved_hash == b->saved_hash);
    if (sp->kind == WORK_SAVE_LOAD)
        assert_true(a->saved_size > 0);

    /* the failing step on each net reports on that net only */
    assert_int_equal(a->bad_status, NNF_ERR_NUMERIC);
    assert_int_equal(b->bad_status, NNF_ERR_NUMERIC);
    assert_string_equal(a->bad_msg, b->bad_msg);
    assert_non_null(strstr(b->bad_msg, "x[2][1]"));
    assert_true(a->bad_kept_params && b->bad_kept_params);

    /* not vacuous: training lowered the cost on the whole data set */
    if (!(isfinite(a->eval_cost) && a->eval_cost < a->eval_cost0))
        fail_msg("%s: did not learn: cost %g before, %g after", sp->name, (double)a->eval_cost0,
                 (double)a->eval_cost);
}

/* ---- the jobs */

/* Nets that each thread builds itself: different data, architectures,
 * activations, losses, optimizers, initializations and kinds of work. */
static const spec g_own[N_JOBS] = {
    {"own flower adam steps",
     &g_flower,
     3,
     {16, 8, 1},
     {NNF_ACT_TANH, NNF_ACT_RELU, NNF_ACT_SIGMOID},
     0.0f,
     NNF_LOSS_BCE,
     NNF_OPT_ADAM,
     0.01,
     0.0,
     NNF_INIT_HE,
     1,
     WORK_STEPS,
     120,
     64,
     0,
     0},
    {"own spirals momentum minibatch",
     &g_spirals,
     2,
     {24, SPIRAL_K, 0},
     {NNF_ACT_RELU, NNF_ACT_SOFTMAX, NNF_ACT_LINEAR},
     0.0f,
     NNF_LOSS_CROSS_ENTROPY,
     NNF_OPT_MOMENTUM,
     0.5,
     1e-3,
     NNF_INIT_DEFAULT,
     2,
     WORK_MINIBATCH,
     0,
     32,
     8,
     5},
    {"own flower sgd mse save/load",
     &g_flower,
     2,
     {10, 1, 0},
     {NNF_ACT_LEAKY_RELU, NNF_ACT_LINEAR, NNF_ACT_LINEAR},
     0.05f,
     NNF_LOSS_MSE,
     NNF_OPT_SGD,
     0.05,
     0.0,
     NNF_INIT_XAVIER,
     9,
     WORK_SAVE_LOAD,
     120,
     100,
     0,
     0},
    {"own spirals sgd forward/backward/update",
     &g_spirals,
     3,
     {8, 8, SPIRAL_K},
     {NNF_ACT_SIGMOID, NNF_ACT_TANH, NNF_ACT_SOFTMAX},
     0.0f,
     NNF_LOSS_CROSS_ENTROPY,
     NNF_OPT_SGD,
     1.0,
     0.0,
     NNF_INIT_DEFAULT,
     4,
     WORK_MANUAL,
     100,
     SPIRAL_M,
     0,
     0},
};

/* The net that is cloned, and the work done on the clones. */
static const spec g_base = {"base",
                            &g_flower,
                            3,
                            {12, 6, 1},
                            {NNF_ACT_RELU, NNF_ACT_TANH, NNF_ACT_SIGMOID},
                            0.0f,
                            NNF_LOSS_BCE,
                            NNF_OPT_ADAM,
                            0.01,
                            1e-4,
                            NNF_INIT_DEFAULT,
                            7,
                            WORK_STEPS,
                            20,
                            80,
                            0,
                            0};

static const spec g_on_clone[N_JOBS] = {
    {"clone steps", &g_flower, 0, {0}, {0}, 0.0f, 0, 0, 0, 0, 0, 0, WORK_STEPS, 100, 50, 0, 0},
    {"clone forward/backward/update",
     &g_flower,
     0,
     {0},
     {0},
     0.0f,
     0,
     0,
     0,
     0,
     0,
     0,
     WORK_MANUAL,
     60,
     PLANAR_M,
     0,
     0},
    {"clone minibatch",
     &g_flower,
     0,
     {0},
     {0},
     0.0f,
     0,
     0,
     0,
     0,
     0,
     0,
     WORK_MINIBATCH,
     0,
     40,
     6,
     11},
    {"clone save/load",
     &g_flower,
     0,
     {0},
     {0},
     0.0f,
     0,
     0,
     0,
     0,
     0,
     0,
     WORK_SAVE_LOAD,
     100,
     64,
     0,
     0},
};
static const double g_clone_lr[N_JOBS] = {0.0, 0.02, 0.0, 0.005};

/* Separate storage for each run: a result is about 10 kB. */
static job g_seq[2 * N_JOBS], g_par[2 * N_JOBS];

static void own_jobs(job *jobs)
{
    for (size_t i = 0; i < N_JOBS; i++) {
        memset(&jobs[i], 0, sizeof jobs[i]);
        jobs[i].sp = &g_own[i];
    }
}

/* The base net, built and trained on this thread (its Adam state is not
 * zero), its saved bytes into *bytes (malloc'd) and their count into *size. */
static nnf_net *make_base(unsigned char **bytes, size_t *size)
{
    job b = {0};
    b.sp = &g_base;
    if (build_net(&b) != 0 || do_steps(&b, g_base.steps) != 0)
        fail_msg("%s", b.res.msg);
    assert_ok(b.net, nnf_net_saved_size(b.net, NNF_SAVE_OPTIMIZER_STATE, size));
    *bytes = malloc(*size);
    assert_non_null(*bytes);
    assert_ok(b.net, nnf_net_save_mem(b.net, *bytes, *size, NNF_SAVE_OPTIMIZER_STATE, NULL));
    return b.net;
}

static void clone_jobs(job *jobs, nnf_net *base)
{
    for (size_t i = 0; i < N_JOBS; i++) {
        memset(&jobs[i], 0, sizeof jobs[i]);
        jobs[i].sp = &g_on_clone[i];
        jobs[i].clone_lr = g_clone_lr[i];
        assert_ok(base, nnf_net_clone(base, &jobs[i].net));
    }
}

/* ---- tests */

static int setup(void **state)
{
    (void)state;
    planar_flower(g_flower_x, g_flower_y, PLANAR_M, 1);
    planar_spirals(g_spiral_x, g_spiral_y, SPIRAL_M, SPIRAL_K, 2);
    /* OpenBLAS's thread count is process-wide; one thread per product keeps
     * every thread's sums in one order. */
    if (nnf_set_threads(1) != NNF_OK || nnf_get_threads() != 1)
        return -1;
    return 0;
}

static void test_own_nets_in_parallel_match_one_thread(void **state)
{
    (void)state;
    own_jobs(g_seq);
    run_sequential(g_seq, N_JOBS);
    own_jobs(g_par);
    run_parallel(g_par, N_JOBS);
    for (size_t i = 0; i < N_JOBS; i++)
        check_same(&g_own[i], &g_seq[i].res, &g_par[i].res);
    /* the jobs are different work: their results differ */
    assert_true(g_seq[0].res.n_params != g_seq[2].res.n_params ||
                memcmp(g_seq[0].res.params, g_seq[2].res.params, sizeof(float)) != 0);
    destroy_nets(g_seq, N_JOBS);
    destroy_nets(g_par, N_JOBS);
}

static void test_clones_in_parallel_match_one_thread_and_original(void **state)
{
    (void)state;
    unsigned char *before = NULL, *after = NULL;
    size_t size = 0, size_after = 0;
    nnf_net *base = make_base(&before, &size);

    clone_jobs(g_seq, base);
    run_sequential(g_seq, N_JOBS);
    clone_jobs(g_par, base); /* every clone made before the threads start */
    run_parallel(g_par, N_JOBS);
    for (size_t i = 0; i < N_JOBS; i++)
        check_same(&g_on_clone[i], &g_seq[i].res, &g_par[i].res);
    for (size_t i = 0; i + 1 < N_JOBS; i++)
        assert_true(memcmp(g_par[i].res.params, g_par[i + 1].res.params,
                           g_par[i].res.n_params * sizeof(float)) != 0);

    /* cloning and training the clones left the original as it was ... */
    assert_ok(base, nnf_net_saved_size(base, NNF_SAVE_OPTIMIZER_STATE, &size_after));
    assert_int_equal(size_after, size);
    after = malloc(size);
    assert_non_null(after);
    assert_ok(base, nnf_net_save_mem(base, after, size, NNF_SAVE_OPTIMIZER_STATE, NULL));
    assert_memory_equal(before, after, size);

    /* ... and the same work on the original gives what the clone gave:
     * parameters, settings and Adam state were all copied */
    job orig = {0};
    orig.sp = &g_on_clone[0];
    orig.net = base;
    if (run_job(&orig) != 0)
        fail_msg("%s", orig.res.msg);
    check_same(&g_on_clone[0], &orig.res, &g_par[0].res);

    free(before);
    free(after);
    nnf_net_destroy(orig.net);
    destroy_nets(g_seq, N_JOBS);
    destroy_nets(g_par, N_JOBS);
}

static void test_own_nets_and_clones_all_at_once(void **state)
{
    (void)state;
    unsigned char *bytes = NULL;
    size_t size = 0;
    nnf_net *base = make_base(&bytes, &size);
    own_jobs(g_seq);
    clone_jobs(g_seq + N_JOBS, base);
    run_sequential(g_seq, 2 * N_JOBS);
    own_jobs(g_par);
    clone_jobs(g_par + N_JOBS, base);
    run_parallel(g_par, 2 * N_JOBS);
    for (size_t i = 0; i < 2 * N_JOBS; i++)
        check_same(g_seq[i].sp, &g_seq[i].res, &g_par[i].res);
    free(bytes);
    nnf_net_destroy(base);
    destroy_nets(g_seq, 2 * N_JOBS);
    destroy_nets(g_par, 2 * N_JOBS);
}

/* ---- one net, several threads */

/* A 2-8-1 net trained a few steps on the flower. */
static nnf_net *flower_net(void)
{
    nnf_net *net = NULL;
    assert_int_equal(nnf_net_create(&net, 2), NNF_OK);
    assert_ok(net, nnf_net_add_dense(net, 8, NNF_ACT_TANH, NULL));
    assert_ok(net, nnf_net_add_dense(net, 1, NNF_ACT_SIGMOID, NULL));
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_LEARNING_RATE, 0.5));
    for (int s = 0; s < 5; s++)
        assert_ok(net, nnf_net_train_step(net, g_flower_x, g_flower_y, PLANAR_M, NULL));
    return net;
}

typedef struct sharer {
    nnf_net *net;
    const float *want; /* the serial outputs of predict on the flower */
    int rounds, ok, refused, wrong, other;
    pthread_barrier_t *start;
} sharer;

/* Predict on the shared net: either the right outputs, or NNF_ERR_STATE
 * because the other thread is inside the net. */
static void *predict_shared(void *arg)
{
    sharer *s = arg;
    float out[PLANAR_M];
    pthread_barrier_wait(s->start);
    for (int r = 0; r < s->rounds; r++) {
        nnf_status st = nnf_net_predict(s->net, g_flower_x, PLANAR_M, out);
        if (st == NNF_OK && memcmp(out, s->want, sizeof out) == 0)
            s->ok++;
        else if (st == NNF_OK)
            s->wrong++;
        else if (st == NNF_ERR_STATE && strstr(nnf_net_errmsg(s->net), "in use by another thread"))
            s->refused++;
        else
            s->other++;
    }
    return NULL;
}

static void test_threads_predicting_on_one_net_get_right_outputs_or_state(void **state)
{
    (void)state;
    enum { THREADS = 2, ROUNDS = 10000 };
    float want[PLANAR_M];
    nnf_net *net = flower_net();
    assert_ok(net, nnf_net_predict(net, g_flower_x, PLANAR_M, want));
    pthread_barrier_t start;
    assert_int_equal(pthread_barrier_init(&start, NULL, THREADS), 0);
    sharer sh[THREADS];
    pthread_t tid[THREADS];
    for (int i = 0; i < THREADS; i++) {
        sh[i] = (sharer){net, want, ROUNDS, 0, 0, 0, 0, &start};
        assert_int_equal(pthread_create(&tid[i], NULL, predict_shared, &sh[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_join(tid[i], NULL), 0);
    assert_int_equal(pthread_barrier_destroy(&start), 0);
    int refused = 0;
    for (int i = 0; i < THREADS; i++) {
        print_message("thread %d: %d right, %d refused, %d wrong, %d other\n", i, sh[i].ok,
                      sh[i].refused, sh[i].wrong, sh[i].other);
        assert_int_equal(sh[i].wrong, 0);
        assert_int_equal(sh[i].other, 0);
        refused += sh[i].refused;
    }
    /* which thread wins is the scheduler's choice; that none is wrong is not */
    assert_true(sh[0].ok + sh[1].ok > 0);
    assert_int_equal(sh[0].ok + sh[1].ok + refused, THREADS * ROUNDS);
    nnf_net_destroy(net);
}

typedef struct reader_job {
    const nnf_net *net;
    int rounds, failed;
    unsigned char *image;
    size_t size;
    pthread_barrier_t *start;
} reader_job;

/* Clone and save an idle net: calls that only read it never refuse each
 * other, and every copy is the same net. */
static void *read_shared(void *arg)
{
    reader_job *r = arg;
    unsigned char *mine = malloc(r->size);
    pthread_barrier_wait(r->start);
    for (int i = 0; mine && i < r->rounds; i++) {
        nnf_net *copy = NULL;
        size_t size = 0;
        if (nnf_net_clone(r->net, &copy) != NNF_OK ||
            nnf_net_save_mem(r->net, mine, r->size, NNF_SAVE_OPTIMIZER_STATE, &size) != NNF_OK ||
            size != r->size || memcmp(mine, r->image, size) != 0 ||
            nnf_net_save_mem(copy, mine, r->size, NNF_SAVE_OPTIMIZER_STATE, &size) != NNF_OK ||
            memcmp(mine, r->image, size) != 0)
            r->failed++;
        nnf_net_destroy(copy);
    }
    r->failed += !mine;
    free(mine);
    return NULL;
}

static void test_readers_of_an_idle_net_never_refuse_each_other(void **state)
{
    (void)state;
    enum { THREADS = 3, ROUNDS = 500 };
    nnf_net *net = flower_net();
    size_t size;
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_OPTIMIZER, NNF_OPT_ADAM));
    assert_ok(net, nnf_net_train_step(net, g_flower_x, g_flower_y, PLANAR_M, NULL));
    assert_ok(net, nnf_net_saved_size(net, NNF_SAVE_OPTIMIZER_STATE, &size));
    unsigned char *image = malloc(size);
    assert_non_null(image);
    assert_ok(net, nnf_net_save_mem(net, image, size, NNF_SAVE_OPTIMIZER_STATE, NULL));
    pthread_barrier_t start;
    assert_int_equal(pthread_barrier_init(&start, NULL, THREADS), 0);
    reader_job jobs[THREADS];
    pthread_t tid[THREADS];
    for (int i = 0; i < THREADS; i++) {
        jobs[i] = (reader_job){net, ROUNDS, 0, image, size, &start};
        assert_int_equal(pthread_create(&tid[i], NULL, read_shared, &jobs[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(tid[i], NULL), 0);
        assert_int_equal(jobs[i].failed, 0);
    }
    assert_int_equal(pthread_barrier_destroy(&start), 0);
    free(image);
    nnf_net_destroy(net);
}

typedef struct trainer_job {
    nnf_net *net;
    int rounds, steps, refused, other;
    pthread_barrier_t *start;
} trainer_job;

static void *train_shared(void *arg)
{
    trainer_job *t = arg;
    pthread_barrier_wait(t->start);
    for (int i = 0; i < t->rounds; i++) {
        nnf_status st = nnf_net_train_step(t->net, g_flower_x, g_flower_y, PLANAR_M, NULL);
        t->steps += st == NNF_OK;
        t->refused += st == NNF_ERR_STATE;
        t->other += st != NNF_OK && st != NNF_ERR_STATE;
    }
    return NULL;
}

/* One thread trains the net while another clones it: every clone is the net
 * after some number of steps, and the trained net is exactly the net after
 * as many steps as succeeded. */
static void test_a_writer_and_a_reader_of_one_net_exclude_each_other(void **state)
{
    (void)state;
    enum { ROUNDS = 400 };
    nnf_net *net = flower_net(), *twin = flower_net();
    pthread_barrier_t start;
    assert_int_equal(pthread_barrier_init(&start, NULL, 2), 0);
    trainer_job t = {net, ROUNDS, 0, 0, 0, &start};
    pthread_t tid;
    assert_int_equal(pthread_create(&tid, NULL, train_shared, &t), 0);
    pthread_barrier_wait(&start);
    int cloned = 0, refused = 0;
    for (int i = 0; i < ROUNDS; i++) {
        nnf_net *copy = NULL;
        nnf_status st = nnf_net_clone(net, &copy);
        if (st == NNF_OK) {
            cloned++;
            assert_ok(copy, nnf_net_predict(copy, g_flower_x, 1, &(float){0}));
        } else {
            assert_int_equal(st, NNF_ERR_STATE);
            assert_null(copy);
            refused++;
        }
        nnf_net_destroy(copy);
    }
    assert_int_equal(pthread_join(tid, NULL), 0);
    assert_int_equal(pthread_barrier_destroy(&start), 0);
    print_message("%d steps, %d refused; %d clones, %d refused\n", t.steps, t.refused, cloned,
                  refused);
    assert_int_equal(t.other, 0);
    assert_int_equal(t.steps + t.refused, ROUNDS);
    for (int i = 0; i < t.steps; i++)
        assert_ok(twin, nnf_net_train_step(twin, g_flower_x, g_flower_y, PLANAR_M, NULL));
    float a[64], b[64];
    assert_ok(net, nnf_layer_get_weights(nnf_net_layer(net, 1), a));
    assert_ok(twin, nnf_layer_get_weights(nnf_net_layer(twin, 1), b));
    assert_memory_equal(a, b, 16 * sizeof(float));
    nnf_net_destroy(net);
    nnf_net_destroy(twin);
}

/* ---- more threads computing at once than the BLAS can serve */

#ifdef NNF_TEST_OPENBLAS
char *openblas_get_config(void); /* OpenBLAS's own, to know its limit */
#endif

typedef struct parked {
    pthread_barrier_t *in, *out;
    int parked;
    nnf_status st;
} parked;

/* Wait inside nnf_net_train (a call that runs BLAS) until released. */
static int park(void *user, size_t epoch, size_t batch, float cost)
{
    parked *p = user;
    (void)epoch, (void)batch, (void)cost;
    if (!p->parked) {
        p->parked = 1;
        pthread_barrier_wait(p->in);
        pthread_barrier_wait(p->out);
    }
    return 1;
}

static void *park_in_train(void *arg)
{
    parked *p = arg;
    nnf_net *net = NULL;
    float x[2] = {0.5f, -0.5f}, y[1] = {1.0f};
    p->st = nnf_net_create(&net, 2);
    if (p->st == NNF_OK)
        p->st = nnf_net_add_dense(net, 1, NNF_ACT_SIGMOID, NULL);
    if (p->st == NNF_OK)
        p->st = nnf_net_train(net, x, y, 1, 1, 1, 0, 0, park, p, NULL);
    if (!p->parked) { /* refused (or failed) before its first step */
        pthread_barrier_wait(p->in);
        pthread_barrier_wait(p->out);
    }
    nnf_net_destroy(net);
    return NULL;
}

/* OpenBLAS keeps a table of buffers, two per thread it was built for, and
 * aborts the process when more threads call it at once: nnfast counts its
 * computing calls and refuses the ones beyond that. Here 150 threads wait
 * inside nnf_net_train at once. */
static void test_more_computing_threads_than_the_blas_serves_are_refused(void **state)
{
    (void)state;
    enum { K = 150 };
    nnf_net *net = flower_net(); /* before: building it computes */
    pthread_barrier_t in, out;
    assert_int_equal(pthread_barrier_init(&in, NULL, K + 1), 0);
    assert_int_equal(pthread_barrier_init(&out, NULL, K + 1), 0);
    static parked p[K];
    static pthread_t tid[K];
    for (int i = 0; i < K; i++) {
        p[i] = (parked){&in, &out, 0, NNF_OK};
        assert_int_equal(pthread_create(&tid[i], NULL, park_in_train, &p[i]), 0);
    }
    pthread_barrier_wait(&in); /* every thread is inside, or was refused */
    int inside = 0;
    for (int i = 0; i < K; i++)
        inside += p[i].parked;
    nnf_status st = nnf_net_train_step(net, g_flower_x, g_flower_y, PLANAR_M, NULL);
    const char *msg = nnf_net_errmsg(net);
    pthread_barrier_wait(&out);
    for (int i = 0; i < K; i++)
        assert_int_equal(pthread_join(tid[i], NULL), 0);
    assert_int_equal(pthread_barrier_destroy(&in), 0);
    assert_int_equal(pthread_barrier_destroy(&out), 0);
    int refused = 0;
    for (int i = 0; i < K; i++) {
        if (p[i].parked)
            assert_int_equal(p[i].st, NNF_OK);
        else
            refused += p[i].st == NNF_ERR_STATE;
    }
    print_message("%d threads inside, %d refused; one more: %s\n", inside, refused,
                  nnf_status_str(st));
    assert_int_equal(inside + refused, K);
#ifdef NNF_TEST_OPENBLAS
    /* two buffers per thread OpenBLAS was built for, at one BLAS thread */
    const char *config = openblas_get_config(), *at = strstr(config, "MAX_THREADS=");
    int built = at ? atoi(at + strlen("MAX_THREADS=")) : 0;
    if (built > 0 && 2 * built < K) {
        assert_int_equal(inside, 2 * built);
        assert_int_equal(st, NNF_ERR_STATE);
        assert_non_null(strstr(msg, "threads are computing with nnfast at once"));
    }
#endif
    (void)msg;
    nnf_net_destroy(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_own_nets_in_parallel_match_one_thread),
        cmocka_unit_test(test_clones_in_parallel_match_one_thread_and_original),
        cmocka_unit_test(test_own_nets_and_clones_all_at_once),
        cmocka_unit_test(test_threads_predicting_on_one_net_get_right_outputs_or_state),
        cmocka_unit_test(test_readers_of_an_idle_net_never_refuse_each_other),
        cmocka_unit_test(test_a_writer_and_a_reader_of_one_net_exclude_each_other),
        cmocka_unit_test(test_more_computing_threads_than_the_blas_serves_are_refused),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
