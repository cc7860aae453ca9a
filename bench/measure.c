/* SPDX-License-Identifier: MIT */
/* measure.c - the timing of one case: warm-up, then rep by rep one train
 * step and one GEMM-only pass (alternating which goes first), then the
 * phases forward, backward and update; medians with min and max. */
#include "bench.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TARGET_S    1.5 /* of stepping per case, when the reps are chosen */
#define MIN_REPS    5
#define MAX_REPS    2000
#define QUICK_REPS  3
#define SLOW_STEP_S 0.5 /* a warm-up step this slow: one warm-up is enough */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts t. */
static bench_stats stats_of(double *t, size_t n)
{
    bench_stats s;
    qsort(t, n, sizeof *t, cmp_double);
    s.min = t[0];
    s.max = t[n - 1];
    s.med = n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
    return s;
}

/* What a measurement works on. */
typedef struct run {
    const bench_case *c;
    nnf_net *net;
    gemm_only *g;
    float *x, *y, *out;
    double *t_step, *t_gemm, *t_gemm1, *t_fwd, *t_bwd, *t_upd;
    int threads;
    size_t allocs; /* during the timed steps */
    char *err;
    size_t len;
} run;

static int failed(run *r, const char *fn, nnf_status st)
{
    snprintf(r->err, r->len, "%s: %s (%s)", fn, nnf_status_str(st), nnf_net_errmsg(r->net));
    return -1;
}

static int timed_step(run *r, double *t)
{
    size_t a0 = counting_allocs();
    double t0 = bench_now();
    nnf_status st = nnf_net_train_step(r->net, r->x, r->y, r->c->m, NULL);
    *t = bench_now() - t0;
    r->allocs += counting_allocs() - a0;
    return st == NNF_OK ? 0 : failed(r, "nnf_net_train_step", st);
}

static void timed_gemm(run *r, double *t)
{
    double t0 = bench_now();
    gemm_only_pass(r->g, r->x);
    *t = bench_now() - t0;
}

static void timed_gemm1(run *r, double *t)
{
    double t0 = bench_now();
    gemm_one_call_pass(r->g, r->x, r->threads);
    *t = bench_now() - t0;
}

/* forward: nnf_net_predict (no copy of x); backward right after an untimed
 * nnf_net_forward; update right after that forward and backward. */
static int timed_phases(run *r, double *fwd, double *bwd, double *upd)
{
    double t0 = bench_now();
    nnf_status st = nnf_net_predict(r->net, r->x, r->c->m, r->out);
    *fwd = bench_now() - t0;
    if (st != NNF_OK)
        return failed(r, "nnf_net_predict", st);
    if ((st = nnf_net_forward(r->net, r->x, r->c->m, NULL)) != NNF_OK)
        return failed(r, "nnf_net_forward", st);
    t0 = bench_now();
    st = nnf_net_backward(r->net, r->y, NULL);
    *bwd = bench_now() - t0;
    if (st != NNF_OK)
        return failed(r, "nnf_net_backward", st);
    t0 = bench_now();
    st = nnf_net_update(r->net);
    *upd = bench_now() - t0;
    return st == NNF_OK ? 0 : failed(r, "nnf_net_update", st);
}

/* Warm-up steps and GEMM-only passes (at least one: it sizes the reps and
 * the workspace); returns the last step's time, or a negative value on failure. */
static double warm_up(run *r, const bench_opts *o, int threads)
{
    int n = o->warmup > 0 ? o->warmup : (o->quick ? 1 : 3);
    double t = 0.0, tg;
    for (int i = 0; i < n; i++) {
        progress(1, "%s t=%d: warm-up %d/%d", r->c->name, threads, i + 1, n);
        if (timed_step(r, &t) != 0)
            return -1.0;
        timed_gemm(r, &tg);
        if (o->warmup < 0 && t > SLOW_STEP_S)
            break;
    }
    return t;
}

static int choose_reps(const bench_opts *o, double est)
{
    if (o->reps > 0)
        return o->reps;
    if (o->quick)
        return QUICK_REPS;
    double want = ceil(TARGET_S / fmax(est, 1e-9));
    return want < MIN_REPS ? MIN_REPS : want > MAX_REPS ? MAX_REPS : (int)want;
}

static int time_reps(run *r, int reps, int threads)
{
    for (int i = 0; i < reps; i++) {
        progress(i == 0, "%s t=%d: rep %d/%d", r->c->name, threads, i + 1, reps);
        if (i % 2 == 0) {
            if (timed_step(r, &r->t_step[i]) != 0)
                return -1;
            timed_gemm(r, &r->t_gemm[i]);
        } else {
            timed_gemm(r, &r->t_gemm[i]);
            if (timed_step(r, &r->t_step[i]) != 0)
                return -1;
        }
    }
    /* The one-call GEMMs run on the BLAS's own threads, which spin for a
     * while after each call and would take cores from nnfast's: they are
     * timed apart, and the BLAS's threads are let go to sleep after. */
    for (int i = 0; i < reps; i++)
        timed_gemm1(r, &r->t_gemm1[i]);
    bench_let_blas_sleep();
    double d;
    if (timed_phases(r, &d, &d, &d) != 0) /* warms the phases' paths */
        return -1;
    for (int i = 0; i < reps; i++) {
        progress(i == 0, "%s t=%d: phases %d/%d", r->c->name, threads, i + 1, reps);
        if (timed_phases(r, &r->t_fwd[i], &r->t_bwd[i], &r->t_upd[i]) != 0)
            return -1;
    }
    return 0;
}

static void run_free(run *r)
{
    nnf_net_destroy(r->net);
    gemm_only_destroy(r->g);
    free(r->x);
    free(r->y);
    free(r->out);
    free(r->t_step);
    free(r->t_gemm);
    free(r->t_gemm1);
    free(r->t_fwd);
    free(r->t_bwd);
    free(r->t_upd);
}

static int alloc_times(run *r, int reps)
{
    size_t n = (size_t)reps;
    r->t_step = malloc(n * sizeof(double));
    r->t_gemm = malloc(n * sizeof(double));
    r->t_gemm1 = malloc(n * sizeof(double));
    r->t_fwd = malloc(n * sizeof(double));
    r->t_bwd = malloc(n * sizeof(double));
    r->t_upd = malloc(n * sizeof(double));
    return r->t_step && r->t_gemm && r->t_gemm1 && r->t_fwd && r->t_bwd && r->t_upd ? 0 : -1;
}

int bench_measure(const bench_case *c, const bench_opts *o, const bench_machine *mach,
                  bench_result *res, char *err, size_t len)
{
    run r;
    int rc = -1, threads = nnf_get_threads();

    memset(&r, 0, sizeof r);
    r.threads = threads;
    r.c = c;
    r.err = err;
    r.len = len;
    if (bench_make_net(c, &r.net, err, len) != NNF_OK)
        return -1;
    r.out = malloc(c->n[c->L] * c->m * sizeof(float));
    r.g = gemm_only_create(c);
    if (!r.out || !r.g || bench_make_data(c, c->m, &r.x, &r.y) != 0) {
        snprintf(err, len, "out of memory for the data or the GEMM-only buffers");
        goto out;
    }

    double est = warm_up(&r, o, threads);
    if (est < 0.0)
        goto out;
    res->bytes_held = counting_live_bytes();
    res->reps = choose_reps(o, est);
    if (alloc_times(&r, res->reps) != 0) {
        snprintf(err, len, "out of memory for %d reps", res->reps);
        goto out;
    }
    r.allocs = 0;
    if (time_reps(&r, res->reps, threads) != 0)
        goto out;

    size_t n = (size_t)res->reps;
    res->c = c;
    res->threads = threads;
    res->step = stats_of(r.t_step, n);
    res->gemm = stats_of(r.t_gemm, n);
    res->gemm1 = stats_of(r.t_gemm1, n);
    res->fwd = stats_of(r.t_fwd, n);
    res->bwd = stats_of(r.t_bwd, n);
    res->upd = stats_of(r.t_upd, n);
    res->gflops = bench_case_flops(c) / res->step.med * 1e-9;
    res->efficiency = res->gemm.med / res->step.med;
    res->peak_gflops = mach->peak_gflops;
    res->read_gbs = mach->read_gbs;
    double compute = bench_case_flops(c) / (mach->peak_gflops * 1e9);
    double memory = bench_case_bytes_moved(c, mach->cache_bytes) / (mach->read_gbs * 1e9);
    res->floor_ms = 1e3 * (compute > memory ? compute : memory);
    res->floor_eff = res->floor_ms / (res->step.med * 1e3);
    res->allocs_per_step = (double)r.allocs / (double)res->reps;
    res->bytes_min = bench_case_bytes_min(c);
    rc = 0;
out:
    run_free(&r);
    return rc;
}
