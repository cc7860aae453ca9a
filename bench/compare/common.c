/* SPDX-License-Identifier: MIT */
/* common.c - the cases, the problem of a case, and the driver of a C peer:
 * create, loss before, 10 steps, loss after, then timed steps, one result line. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include "common.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MIN_REPS   5
#define MAX_REPS   2000
#define DUMP_MAGIC "NNFCMP1" /* and a NUL: 8 bytes */

nnf_status cmp_make_net(const cmp_case *k, nnf_net **out, char *err, size_t len)
{
    return bench_make_net(&k->c, out, err, len);
}

/* The suite case named name; 0 or -1. */
static int find_case(const char *name, bench_case *out)
{
    for (size_t i = 0; i < bench_suite_size(); i++) {
        bench_suite_case(i, out);
        if (strcmp(out->name, name) == 0)
            return 0;
    }
    return -1;
}

/* What every peer must use of the net's settings: read, not assumed. */
static int read_settings(nnf_net *net, cmp_case *k, char *err, size_t len)
{
    double opt;
    nnf_status st = nnf_net_get_param(net, NNF_PARAM_OPTIMIZER, &opt);
    if (st == NNF_OK)
        st = nnf_net_get_param(net, NNF_PARAM_LEARNING_RATE, &k->lr);
    if (st == NNF_OK)
        st = nnf_net_get_param(net, NNF_PARAM_ADAM_BETA1, &k->beta1);
    if (st == NNF_OK)
        st = nnf_net_get_param(net, NNF_PARAM_ADAM_BETA2, &k->beta2);
    if (st == NNF_OK)
        st = nnf_net_get_param(net, NNF_PARAM_ADAM_EPSILON, &k->eps);
    if (st != NNF_OK) {
        snprintf(err, len, "reading the net's settings: %s", nnf_status_str(st));
        return -1;
    }
    double l2 = 0.0;
    if (nnf_net_get_param(net, NNF_PARAM_L2_PENALTY, &l2) == NNF_OK && l2 != 0.0) {
        snprintf(err, len, "the net has an L2 penalty, which no peer implements");
        return -1;
    }
    k->opt = (nnf_optimizer)(int)opt;
    if (k->opt != NNF_OPT_SGD && k->opt != NNF_OPT_ADAM) {
        snprintf(err, len, "optimizer %d: the peers implement SGD and Adam only", (int)opt);
        return -1;
    }
    return 0;
}

void cmp_problem_free(cmp_problem *p)
{
    free(p->x);
    free(p->y);
    for (size_t l = 0; l <= BENCH_MAX_LAYERS; l++) {
        free(p->w[l]);
        free(p->b[l]);
    }
    memset(p, 0, sizeof *p);
}

int cmp_problem_make(const char *name, cmp_problem *p, char *err, size_t len)
{
    const bench_case *c = &p->k.c;
    nnf_net *net = NULL;
    memset(p, 0, sizeof *p);
    if (find_case(name, &p->k.c) != 0) {
        snprintf(err, len, "unknown case '%s' (see --list)", name);
        return -1;
    }
    if (cmp_make_net(&p->k, &net, err, len) != NNF_OK)
        return -1;
    if (read_settings(net, &p->k, err, len) != 0)
        goto fail;
    /* nnfast-bench's data: x uniform in [-1, 1]; 0/1 labels for BCE, one-hot
     * rows for cross-entropy */
    if (bench_make_data(c, c->m, &p->x, &p->y) != 0) {
        snprintf(err, len, "out of memory for the data");
        goto fail;
    }
    for (size_t l = 1; l <= c->L; l++) {
        nnf_layer *ly = nnf_net_layer(net, l);
        p->w[l] = malloc(c->n[l] * c->n[l - 1] * sizeof(float));
        p->b[l] = malloc(c->n[l] * sizeof(float));
        if (p->w[l] == NULL || p->b[l] == NULL) {
            snprintf(err, len, "out of memory for the parameters");
            goto fail;
        }
        nnf_status st = nnf_layer_get_weights(ly, p->w[l]);
        if (st == NNF_OK)
            st = nnf_layer_get_bias(ly, p->b[l]);
        if (st != NNF_OK) {
            snprintf(err, len, "reading layer %zu: %s", l, nnf_status_str(st));
            goto fail;
        }
    }
    nnf_net_destroy(net);
    return 0;
fail:
    nnf_net_destroy(net);
    cmp_problem_free(p);
    return -1;
}

static int put_u32(FILE *f, size_t v)
{
    uint32_t u = (uint32_t)v;
    return fwrite(&u, sizeof u, 1, f) == 1 ? 0 : -1;
}

static int put_f64(FILE *f, double v)
{
    return fwrite(&v, sizeof v, 1, f) == 1 ? 0 : -1;
}

static int put_floats(FILE *f, const float *v, size_t n)
{
    return fwrite(v, sizeof *v, n, f) == n ? 0 : -1;
}

/* Host byte order: the file is written and read on the same machine. */
int cmp_problem_dump(const cmp_problem *p, const char *path, char *err, size_t len)
{
    const bench_case *c = &p->k.c;
    FILE *f = fopen(path, "wb");
    if (f == NULL) {
        snprintf(err, len, "%s: %s", path, strerror(errno));
        return -1;
    }
    int bad = fwrite(DUMP_MAGIC, 1, 8, f) != 8;
    bad |= put_u32(f, c->L) | put_u32(f, c->m);
    for (size_t l = 0; l <= c->L; l++)
        bad |= put_u32(f, c->n[l]);
    bad |= put_u32(f, (size_t)c->hidden) | put_u32(f, (size_t)c->output);
    bad |= put_u32(f, (size_t)c->loss) | put_u32(f, (size_t)p->k.opt);
    bad |= put_f64(f, p->k.lr) | put_f64(f, p->k.beta1) | put_f64(f, p->k.beta2);
    bad |= put_f64(f, p->k.eps);
    bad |= put_floats(f, p->x, c->m * c->n[0]) | put_floats(f, p->y, c->m * c->n[c->L]);
    for (size_t l = 1; l <= c->L; l++)
        bad |= put_floats(f, p->w[l], c->n[l] * c->n[l - 1]) | put_floats(f, p->b[l], c->n[l]);
    bad |= fclose(f) != 0;
    if (bad) {
        snprintf(err, len, "%s: write failed", path);
        return -1;
    }
    return 0;
}

double cmp_cost_from_logits(const bench_case *c, const float *z, const float *y)
{
    size_t m = c->m, k = c->n[c->L];
    double sum = 0.0;
    if (c->loss == NNF_LOSS_BCE) {
        for (size_t i = 0; i < m * k; i++) {
            double zi = (double)z[i];
            sum += fmax(zi, 0.0) - zi * (double)y[i] + log1p(exp(-fabs(zi)));
        }
    } else {
        for (size_t i = 0; i < m; i++) {
            const float *zi = z + i * k, *yi = y + i * k;
            double mx = (double)zi[0], s = 0.0, yz = 0.0;
            for (size_t j = 1; j < k; j++)
                mx = fmax(mx, (double)zi[j]);
            for (size_t j = 0; j < k; j++) {
                s += exp((double)zi[j] - mx);
                yz += (double)yi[j] * (double)zi[j];
            }
            sum += mx + log(s) - yz;
        }
    }
    return sum / (double)m;
}

double cmp_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

void cmp_info(const char *peer, const char *case_name, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "info peer=%s case=%s ", peer, case_name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts t; the median. */
static double median(double *t, size_t n)
{
    qsort(t, n, sizeof *t, cmp_double);
    return n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
}

static void usage(FILE *f, const char *prog)
{
    fprintf(f,
            "usage: %s --case NAME [--threads T] [--reps N] [--target-s S] [--dump FILE]\n"
            "       %s --list    (name layers batch hidden output loss optimizer GFLOP/step)\n"
            "One full-batch training step of the case, from nnfast's initial weights:\n"
            "prints J before and after %d steps, then the median, min and max of N timed\n"
            "steps (default: enough for S seconds, 1.0, at least %d) as one line\n"
            "  result peer=... case=... threads=... reps=... med_ms=... min_ms=... max_ms=...\n"
            "         loss0=... loss10=...\n"
            "--dump FILE writes the case's data and initial parameters for pytorch.py\n"
            "and exits. Exit status: 0; 1 on failure; 2 for a bad command line; 3 when\n"
            "the peer cannot run the case as asked (a limitation of the library).\n",
            prog, prog, CMP_CHECK_STEPS, MIN_REPS);
}

typedef struct args {
    const char *case_name, *dump;
    int threads, reps, list;
    double target_s;
} args;

static int parse_int(const char *s, int lo, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > 1000000)
        return -1;
    *out = (int)v;
    return 0;
}

/* 0 to run, 1 after --help, -1 after a message. */
static int parse(int argc, char **argv, args *a)
{
    memset(a, 0, sizeof *a);
    a->threads = 1;
    a->target_s = 1.0;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int takes = strcmp(o, "--case") == 0 || strcmp(o, "--threads") == 0 ||
                    strcmp(o, "--reps") == 0 || strcmp(o, "--target-s") == 0 ||
                    strcmp(o, "--dump") == 0;
        if (takes && v == NULL) {
            fprintf(stderr, "%s: %s needs a value\n", argv[0], o);
            return -1;
        }
        if (strcmp(o, "--help") == 0 || strcmp(o, "-h") == 0) {
            usage(stdout, argv[0]);
            return 1;
        } else if (strcmp(o, "--list") == 0) {
            a->list = 1;
        } else if (strcmp(o, "--case") == 0) {
            a->case_name = v;
        } else if (strcmp(o, "--dump") == 0) {
            a->dump = v;
        } else if (strcmp(o, "--threads") == 0) {
            if (parse_int(v, 1, &a->threads) != 0) {
                fprintf(stderr, "%s: --threads %s: expected an integer >= 1\n", argv[0], v);
                return -1;
            }
        } else if (strcmp(o, "--reps") == 0) {
            if (parse_int(v, 0, &a->reps) != 0) {
                fprintf(stderr, "%s: --reps %s: expected an integer >= 0\n", argv[0], v);
                return -1;
            }
        } else if (strcmp(o, "--target-s") == 0) {
            char *end;
            a->target_s = strtod(v, &end);
            if (end == v || *end || !(a->target_s >= 0.0 && a->target_s < 1e6)) {
                fprintf(stderr, "%s: --target-s %s: expected seconds >= 0\n", argv[0], v);
                return -1;
            }
        } else {
            fprintf(stderr, "%s: unknown option %s (see --help)\n", argv[0], o);
            return -1;
        }
        i += takes;
    }
    if (!a->list && a->case_name == NULL) {
        fprintf(stderr, "%s: --case is required (see --help)\n", argv[0]);
        return -1;
    }
    return 0;
}

/* The check steps, the loss after them, then the timed steps. */
static int run(const cmp_peer *peer, void *ctx, const cmp_case *k, const args *a)
{
    double t_check[CMP_CHECK_STEPS], loss0 = peer->loss(ctx);
    for (int i = 0; i < CMP_CHECK_STEPS; i++) {
        double t0 = cmp_now();
        if (peer->step(ctx) != 0)
            return -1;
        t_check[i] = cmp_now() - t0;
    }
    double loss10 = peer->loss(ctx);
    /* The check steps are the warm-up; their median sizes the reps. */
    double est = median(t_check, CMP_CHECK_STEPS);
    int reps = a->reps;
    if (reps == 0) {
        double want = ceil(a->target_s / fmax(est, 1e-9));
        reps = want < MIN_REPS ? MIN_REPS : want > MAX_REPS ? MAX_REPS : (int)want;
    }
    double *t = malloc((size_t)reps * sizeof *t);
    if (t == NULL) {
        fprintf(stderr, "%s: out of memory for %d reps\n", peer->name, reps);
        return -1;
    }
    for (int i = 0; i < reps; i++) {
        double t0 = cmp_now();
        if (peer->step(ctx) != 0) {
            free(t);
            return -1;
        }
        t[i] = cmp_now() - t0;
    }
    double med = median(t, (size_t)reps);
    printf("result peer=%s case=%s threads=%d reps=%d med_ms=%.6g min_ms=%.6g max_ms=%.6g "
           "loss0=%.9g loss10=%.9g\n",
           peer->name, k->c.name, a->threads, reps, med * 1e3, t[0] * 1e3, t[reps - 1] * 1e3, loss0,
           loss10);
    fflush(stdout);
    free(t);
    return 0;
}

int cmp_main(int argc, char **argv, const cmp_peer *peer)
{
    args a;
    int rc = parse(argc, argv, &a);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    if (a.list) {
        /* name layers batch hidden output loss optimizer GFLOP-per-step:
         * what run.sh shows and how it spots a slow case */
        bench_case c;
        char layers[256];
        for (size_t i = 0; i < bench_suite_size(); i++) {
            bench_suite_case(i, &c);
            bench_layers_str(&c, '-', layers, sizeof layers);
            printf("%s %s %zu %s %s %s %s %.6g\n", c.name, layers, c.m, bench_act_name(c.hidden),
                   bench_act_name(c.output), c.loss == NNF_LOSS_BCE ? "bce" : "ce",
                   c.optimizer == NNF_OPT_ADAM ? "adam" : "sgd", bench_case_flops(&c) * 1e-9);
        }
        return 0;
    }

    char err[512] = "";
    cmp_problem p;
    if (cmp_problem_make(a.case_name, &p, err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s: %s\n", peer->name, a.case_name, err);
        return 1;
    }
    if (a.dump) {
        rc = cmp_problem_dump(&p, a.dump, err, sizeof err);
        if (rc != 0)
            fprintf(stderr, "%s: %s\n", peer->name, err);
        cmp_problem_free(&p);
        return rc ? 1 : 0;
    }
    void *ctx = peer->create(&p, a.threads, err, sizeof err);
    if (ctx == NULL) {
        fprintf(stderr, "%s: %s: %s\n", peer->name, p.k.c.name, err);
        cmp_problem_free(&p);
        return strncmp(err, CMP_UNSUPPORTED, strlen(CMP_UNSUPPORTED)) == 0 ? CMP_EXIT_UNSUPPORTED
                                                                           : 1;
    }
    rc = run(peer, ctx, &p.k, &a);
    if (rc != 0)
        fprintf(stderr, "%s: %s: a step failed\n", peer->name, p.k.c.name);
    peer->destroy(ctx);
    cmp_problem_free(&p);
    return rc ? 1 : 0;
}
