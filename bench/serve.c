/* SPDX-License-Identifier: MIT */
/* serve.c - nnfast-bench --serve: how many predictions per second N threads
 * make, each through its own inference context on one loaded model,
 * against one thread doing the same, and what the model and each context
 * hold. The model is saved and loaded first, as a service gets it. Each
 * round runs one thread, then N, for a fixed time each, so both see the
 * same machine; the figures are medians over the rounds. nnfast's own
 * thread count is 1: every serving thread computes on its own core. */
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#include "bench.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { ROUNDS = 5, MAX_SERVERS = 1024 };

typedef struct server {
    nnf_ctx *ctx;
    const float *x;
    float *y;
    size_t m;
    atomic_int *go;    /* 1: start, 2: stop */
    atomic_int *ready; /* servers at the start line */
    long predictions;  /* made before the stop */
    nnf_status st;
} server;

static void *serve(void *arg)
{
    server *s = arg;
    atomic_fetch_add(s->ready, 1);
    while (atomic_load(s->go) == 0)
        ;
    long n = 0;
    while (atomic_load_explicit(s->go, memory_order_relaxed) == 1) {
        s->st = nnf_ctx_predict(s->ctx, s->x, s->m, s->y);
        if (s->st != NNF_OK)
            break;
        n++;
    }
    s->predictions = n;
    return NULL;
}

/* n servers on their contexts for seconds: predictions per second, or -1. */
static double run_servers(server *s, int n, double seconds, char *err, size_t len)
{
    static pthread_t th[MAX_SERVERS];
    atomic_int go = 0, ready = 0;
    for (int i = 0; i < n; i++) {
        s[i].go = &go;
        s[i].ready = &ready;
        s[i].predictions = 0;
        if (pthread_create(&th[i], NULL, serve, &s[i]) != 0) {
            atomic_store(&go, 2);
            for (int k = 0; k < i; k++)
                pthread_join(th[k], NULL);
            snprintf(err, len, "could not start server thread %d", i + 1);
            return -1.0;
        }
    }
    while (atomic_load(&ready) < n)
        ;
    double t0 = bench_now();
    atomic_store(&go, 1);
    struct timespec wait = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    while (nanosleep(&wait, &wait) != 0) /* not spinning: the servers need every core */
        ;
    atomic_store(&go, 2);
    double t = bench_now() - t0;
    long total = 0;
    int failed = 0;
    for (int i = 0; i < n; i++) {
        pthread_join(th[i], NULL);
        total += s[i].predictions;
        if (s[i].st != NNF_OK && !failed) {
            snprintf(err, len, "nnf_ctx_predict: %s", nnf_ctx_errmsg(s[i].ctx));
            failed = 1;
        }
    }
    return failed ? -1.0 : (double)total / t;
}

/* The case's net, saved and loaded back: the model a service serves. */
static nnf_net *loaded_model(const bench_case *c, char *err, size_t len)
{
    nnf_net *built = NULL, *net = NULL;
    if (bench_make_net(c, &built, err, len) != NNF_OK)
        return NULL;
    size_t size = 0;
    void *buf = NULL;
    if (nnf_net_saved_size(built, 0, &size) == NNF_OK && (buf = malloc(size)) != NULL &&
        nnf_net_save_mem(built, buf, size, 0, NULL) == NNF_OK &&
        nnf_net_load_mem(&net, buf, size, err, len) == NNF_OK) {
        free(buf);
        nnf_net_destroy(built);
        return net;
    }
    if (!err[0])
        snprintf(err, len, "saving the model: %s", nnf_net_errmsg(built));
    free(buf);
    nnf_net_destroy(built);
    return NULL;
}

static size_t case_params(const bench_case *c)
{
    size_t p = 0;
    for (size_t l = 1; l <= c->L; l++)
        p += c->n[l - 1] * c->n[l] + c->n[l];
    return p;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static bench_stats stats_of(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, by_value);
    bench_stats s = {v[n / 2], v[0], v[n - 1]};
    return s;
}

typedef struct serve_row {
    const bench_case *c;
    int threads, rounds;
    bench_stats one, many; /* predictions per second */
    size_t net_bytes, params_bytes, ctx_bytes;
} serve_row;

static void print_row(FILE *f, bench_format fmt, const serve_row *r, int first)
{
    char layers[256];
    bench_layers_str(r->c, '-', layers, sizeof layers);
    double speedup = r->many.med / r->one.med,
           net_ratio = (double)r->net_bytes / (double)r->params_bytes;
    if (fmt == BENCH_JSON) {
        fprintf(f,
                "{\"name\":\"%s\",\"layers\":\"%s\",\"batch\":%zu,\"threads\":%d,\"rounds\":%d,"
                "\"pred_s\":%.1f,\"pred_s_min\":%.1f,\"pred_s_max\":%.1f,\"samples_s\":%.1f,"
                "\"pred_s_1\":%.1f,\"speedup\":%.3f,\"net_bytes\":%zu,\"params_bytes\":%zu,"
                "\"net_ratio\":%.4f,\"ctx_bytes\":%zu}\n",
                r->c->name, layers, r->c->m, r->threads, r->rounds, r->many.med, r->many.min,
                r->many.max, r->many.med * (double)r->c->m, r->one.med, speedup, r->net_bytes,
                r->params_bytes, net_ratio, r->ctx_bytes);
        return;
    }
    if (fmt == BENCH_CSV) {
        if (first)
            fprintf(f, "name,layers,batch,threads,rounds,pred_s,pred_s_min,pred_s_max,samples_s,"
                       "pred_s_1,speedup,net_bytes,params_bytes,net_ratio,ctx_bytes\n");
        fprintf(f, "%s,%s,%zu,%d,%d,%.1f,%.1f,%.1f,%.1f,%.1f,%.3f,%zu,%zu,%.4f,%zu\n", r->c->name,
                layers, r->c->m, r->threads, r->rounds, r->many.med, r->many.min, r->many.max,
                r->many.med * (double)r->c->m, r->one.med, speedup, r->net_bytes, r->params_bytes,
                net_ratio, r->ctx_bytes);
        return;
    }
    if (first)
        fprintf(f, "# predictions per second (median, min, max over rounds) of N threads, each "
                   "with its own context on one\n# loaded model, against 1 thread (pred_s_1) in "
                   "the same rounds; net = bytes the loaded model holds\n# (ratio to its "
                   "parameters), ctx = bytes of one context\n"
                   "name      layers              batch thr    pred_s       min       max  "
                   "samples_s  pred_s_1 speedup      net   ratio       ctx\n");
    fprintf(f, "%-9s %-19s %5zu %3d %9.0f %9.0f %9.0f %10.0f %9.0f %7.3f %8zu %7.4f %9zu\n",
            r->c->name, layers, r->c->m, r->threads, r->many.med, r->many.min, r->many.max,
            r->many.med * (double)r->c->m, r->one.med, speedup, r->net_bytes, net_ratio,
            r->ctx_bytes);
}

/* Every context's output must be nnf_net_predict's, bit for bit. */
static int check_contexts(nnf_net *net, server *s, int n, const float *x, size_t m, char *err,
                          size_t len)
{
    size_t out = nnf_net_outputs(net) * m;
    float *want = malloc(out * sizeof(float));
    int rc = want && nnf_net_predict(net, x, m, want) == NNF_OK ? 0 : -1;
    for (int i = 0; rc == 0 && i < n; i++)
        if (nnf_ctx_predict(s[i].ctx, x, m, s[i].y) != NNF_OK ||
            memcmp(s[i].y, want, out * sizeof(float)) != 0)
            rc = -1;
    if (rc != 0)
        snprintf(err, len, "a context's prediction differs from nnf_net_predict's");
    free(want);
    return rc;
}

static int serve_case(const bench_case *c, int threads, int quick, serve_row *row, char *err,
                      size_t len)
{
    int rc = -1, n = threads, made = 0;
    float *x = NULL, *y = NULL;
    server *s = calloc((size_t)n, sizeof *s);
    size_t before = counting_live_bytes();
    nnf_net *net = loaded_model(c, err, len);
    if (!s || !net || bench_make_data(c, c->m, &x, &y) != 0) {
        if (!err[0])
            snprintf(err, len, "out of memory");
        goto out;
    }
    memset(row, 0, sizeof *row);
    row->c = c;
    row->threads = threads;
    row->net_bytes = counting_live_bytes() - before;
    row->params_bytes = case_params(c) * sizeof(float);
    size_t ctx_start = counting_live_bytes();
    for (; made < n; made++) {
        s[made].x = x;
        s[made].m = c->m;
        s[made].y = malloc(nnf_net_outputs(net) * c->m * sizeof(float));
        if (!s[made].y || nnf_ctx_create(net, c->m, &s[made].ctx) != NNF_OK) {
            snprintf(err, len, "nnf_ctx_create: %s", nnf_net_errmsg(net));
            free(s[made].y);
            goto out;
        }
    }
    row->ctx_bytes = (counting_live_bytes() - ctx_start) / (size_t)n;
    if (check_contexts(net, s, n, x, c->m, err, len) != 0)
        goto out;
    double one[ROUNDS], many[ROUNDS], seconds = quick ? 0.1 : 0.5;
    row->rounds = quick ? 1 : ROUNDS;
    for (int r = 0; r < row->rounds; r++) {
        progress(1, "%s batch %zu: round %d/%d", c->name, c->m, r + 1, row->rounds);
        one[r] = run_servers(s, 1, seconds, err, len);
        many[r] = one[r] < 0 ? -1.0 : run_servers(s, n, seconds, err, len);
        if (many[r] < 0)
            goto out;
    }
    row->one = stats_of(one, row->rounds);
    row->many = stats_of(many, row->rounds);
    rc = 0;
out:
    for (int i = 0; i < made; i++) {
        nnf_ctx_destroy(s[i].ctx);
        free(s[i].y);
    }
    free(s);
    free(x);
    free(y);
    nnf_net_destroy(net);
    return rc;
}

int bench_serve(const bench_opts *o)
{
    char err[512];
    (void)nnf_set_threads(1);
    for (size_t k = 0; k < o->n_threads; k++)
        if (o->threads[k] > MAX_SERVERS) {
            fprintf(stderr, "nnfast-bench: --serve: at most %d threads\n", MAX_SERVERS);
            return 2;
        }
    int first = 1;
    for (size_t i = 0; i < o->n_cases; i++)
        for (size_t k = 0; k < o->n_threads; k++) {
            serve_row row;
            err[0] = '\0';
            if (serve_case(&o->cases[i], o->threads[k], o->quick, &row, err, sizeof err) != 0) {
                progress_clear();
                fprintf(stderr, "nnfast-bench: --serve %s batch %zu, %d threads: %s\n",
                        o->cases[i].name, o->cases[i].m, o->threads[k], err);
                return 1;
            }
            progress_clear();
            print_row(stdout, o->format, &row, first);
            first = 0;
        }
    return 0;
}
