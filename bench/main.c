/* SPDX-License-Identifier: MIT */
/* main.c - nnfast-bench: parse the command line, check every case against
 * the float64 reference, then time each case at each thread count and print
 * one line per case. Exit 0 ok, 1 a failed check or run, 2 bad arguments. */
#include "bench.h"

#include <stdlib.h>

#define ERR_LEN 512

/* The thread count of nnfast (its own threads; the BLAS runs each call on
 * one) for the next case. */
static void set_threads(int t)
{
    (void)nnf_set_threads(t);
}

/* One step of every case at every thread count against the reference,
 * before any timing: a wrong result gets no figures at all. */
static int check_all(const bench_opts *o, bench_result *res)
{
    char err[ERR_LEN];
    for (size_t i = 0; i < o->n_cases; i++) {
        const bench_case *c = &o->cases[i];
        for (size_t k = 0; k < o->n_threads; k++) {
            bench_result *r = &res[i * o->n_threads + k];
            nnf_net *net;
            set_threads(o->threads[k]);
            progress(1, "%s t=%d: reference check", c->name, o->threads[k]);
            r->check_m = c->m < BENCH_CHECK_M ? c->m : BENCH_CHECK_M;
            int rc = bench_make_net(c, &net, err, sizeof err) == NNF_OK
                         ? bench_check(net, c, r->check_m, &r->check_err, err, sizeof err)
                         : -1;
            nnf_net_destroy(net);
            if (rc != 0) {
                progress_clear();
                fprintf(stderr, "nnfast-bench: case %s (threads %d): reference check FAILED: %s\n",
                        c->name, o->threads[k], err);
                return -1;
            }
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    bench_opts o;
    bench_report rp;
    char err[ERR_LEN];
    double t0 = bench_now();

    /* Before any other nnfast call: the counting allocator sees every block. */
    if (counting_install() != 0) {
        fprintf(stderr, "nnfast-bench: nnf_set_allocator failed\n");
        return 1;
    }
    progress_init();
    int rc = bench_parse_args(argc, argv, &o);
    if (rc != 0) {
        free(o.cases);
        return rc > 0 ? 0 : 2;
    }

    if (o.mpi) {
        rc = bench_mpi(&o);
        free(o.cases);
        return rc;
    }
    if (o.serve) {
        rc = bench_serve(&o);
        free(o.cases);
        return rc;
    }
    bench_result *res = calloc(o.n_cases * o.n_threads, sizeof *res);
    bench_machine mach[BENCH_MAX_THREADS];
    if (res == NULL || check_all(&o, res) != 0) {
        free(res);
        free(o.cases);
        return 1;
    }
    for (size_t k = 0; k < o.n_threads; k++) {
        set_threads(o.threads[k]);
        progress(1, "t=%d: the machine's sgemm peak and read bandwidth", o.threads[k]);
        bench_machine_measure(&mach[k], o.quick);
    }
    progress_clear();
    report_begin(&rp, stdout, &o, mach);
    for (size_t i = 0; i < o.n_cases && rc == 0; i++) {
        for (size_t k = 0; k < o.n_threads && rc == 0; k++) {
            bench_result *r = &res[i * o.n_threads + k];
            set_threads(o.threads[k]);
            rc = bench_measure(&o.cases[i], &o, &mach[k], r, err, sizeof err);
            progress_clear();
            if (rc == 0)
                report_row(&rp, r);
            else
                fprintf(stderr, "nnfast-bench: case %s (threads %d): %s\n", o.cases[i].name,
                        o.threads[k], err);
        }
    }
    if (rc == 0)
        fprintf(stderr, "nnfast-bench: %zu case(s) in %.1f s\n", o.n_cases * o.n_threads,
                bench_now() - t0);
    free(res);
    free(o.cases);
    return rc == 0 ? 0 : 1;
}
