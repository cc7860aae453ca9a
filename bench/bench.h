/* SPDX-License-Identifier: MIT */
/* bench.h - the types shared by the files of nnfast-bench: a case (shapes,
 * activations, loss, batch), the plan of a run, and the figures of a case. */
#ifndef NNF_BENCH_H
#define NNF_BENCH_H

#include <stddef.h>
#include <stdio.h>

#include "nnfast.h"

#define BENCH_MAX_LAYERS  16 /* layers with weights; the reference's limit */
#define BENCH_MAX_THREADS 64 /* entries of a --threads list */
#define BENCH_MAX_BATCHES 64 /* entries of a --sweep-batch list */
#define BENCH_NAME_MAX    48
#define BENCH_LR          0.01 /* small, so parameters stay sane over the reps */
#define BENCH_CHECK_M     8    /* the reference check runs at min(m, 8) samples */
#define BENCH_CHECK_TOL   1e-3 /* normwise relative error of the check */

/* One benchmark case: layers n[0] (inputs) .. n[L], batch m. */
typedef struct bench_case {
    char name[BENCH_NAME_MAX];
    size_t L;
    size_t n[BENCH_MAX_LAYERS + 1];
    size_t m;
    nnf_act hidden, output;
    nnf_loss loss;
    nnf_optimizer optimizer;
} bench_case;

typedef enum bench_format { BENCH_TABLE, BENCH_CSV, BENCH_JSON } bench_format;

/* What the command line asked for. */
typedef struct bench_opts {
    bench_case *cases; /* malloc'ed */
    size_t n_cases;
    int threads[BENCH_MAX_THREADS];
    size_t n_threads;
    int reps;   /* 0: chosen per case */
    int warmup; /* -1: 3, or 1 for a case whose step is slow */
    int quick;
    int serve; /* --serve: predictions per second through contexts (serve.c) */
    int mpi;   /* --mpi: weak scaling over MPI ranks (mpi.c) */
    bench_format format;
} bench_opts;

/* Median, min and max of a series of times, in seconds. */
typedef struct bench_stats {
    double med, min, max;
} bench_stats;

/* What the machine can do at one thread count, measured in the run. */
typedef struct bench_machine {
    int threads;
    double peak_gflops; /* sgemm 2048^3, the BLAS on that many threads */
    double read_gbs;    /* summing a buffer larger than the last-level cache */
    size_t cache_bytes; /* of the last-level cache */
} bench_machine;

/* The figures of one case at one thread count. */
typedef struct bench_result {
    const bench_case *c;
    int threads, reps;
    bench_stats step, fwd, bwd, upd, gemm, gemm1;
    double gflops;     /* of the step median */
    double efficiency; /* GEMM time of the plan / step median */
    double floor_ms;   /* max(flops / peak, bytes / bandwidth) */
    double floor_eff;  /* floor / step median */
    double peak_gflops, read_gbs;
    double allocs_per_step; /* in the timed steps */
    size_t bytes_held;      /* live bytes of the net after warm-up */
    size_t bytes_min;       /* 4 ((2 + state) P + sum_l n_l m + widest hidden m) */
    size_t check_m;         /* batch of the reference check */
    double check_err;       /* its largest relative error */
} bench_result;

/* cli.c: 0 to run, 1 when --help or --version was printed, -1 after a
 * message on stderr. */
int bench_parse_args(int argc, char **argv, bench_opts *o);
void bench_usage(FILE *f);

/* cases.c: the standard suite, and how a case becomes a net and data. */
size_t bench_suite_size(void);
void bench_suite_case(size_t i, bench_case *out);
const char *bench_act_name(nnf_act act);
int bench_act_parse(const char *s, nnf_act *act);
void bench_layers_str(const bench_case *c, char sep, char *buf, size_t len);
const char *bench_loss_name(nnf_loss loss);
const char *bench_optimizer_name(nnf_optimizer opt);
double bench_case_flops(const bench_case *c);
size_t bench_case_bytes_min(const bench_case *c);
/* Bytes a step must move from memory at least: x read twice (forward and
 * weight gradient), and when the parameters do not fit in a cache of
 * cache_bytes, the parameters read twice and written once. */
double bench_case_bytes_moved(const bench_case *c, size_t cache_bytes);
/* The case's net: learning rate BENCH_LR, the case's optimizer (with its
 * default constants), nnf_net_init(DEFAULT, seed 1).
 * On failure writes a message to err and returns the status. */
nnf_status bench_make_net(const bench_case *c, nnf_net **out, char *err, size_t len);
/* x (`float[m][n_0]`, uniform in [-1, 1]) and y (`float[m][n_L]`: 0/1 labels
 * for BCE, uniform in [0, 1] for MSE, one-hot rows of a uniform class for
 * cross-entropy) from fixed seeds; the first k samples do not depend on m.
 * Returns -1 when an allocation fails. */
int bench_make_data(const bench_case *c, size_t m, float **x, float **y);

/* check.c: one train step of a copy of net (same shapes and weights) at
 * check_m samples against tests/ref.c. 0 and *max_err when every relative
 * error is at most BENCH_CHECK_TOL, else -1 with the reason in err. */
int bench_check(nnf_net *net, const bench_case *c, size_t check_m, double *max_err, char *err,
                size_t len);

/* clock.c: monotonic seconds. */
double bench_now(void);

/* machine.c: the machine's sgemm peak and read bandwidth at the current
 * thread count (nnf_get_threads()), and the BLAS's name and kernel. */
void bench_machine_measure(bench_machine *m, int quick);
const char *bench_blas_name(void);
/* Wait until the BLAS's own threads, used for the peak and the one-call
 * GEMMs, stop spinning: they would take cores from nnfast's threads. */
void bench_let_blas_sleep(void);

/* measure.c: times one case at the current thread count into r.
 * 0, or -1 with a message in err. */
int bench_measure(const bench_case *c, const bench_opts *o, const bench_machine *mach,
                  bench_result *r, char *err, size_t len);

/* serve.c: the --serve run of every case (its m the batch) at every thread
 * count. 0, or 1 after a message on stderr. */
int bench_serve(const bench_opts *o);

/* mpi.c: the --mpi run of every case under mpirun (MPI_Init to
 * MPI_Finalize). 0, 1 after a failure, 2 when built without MPI. */
int bench_mpi(const bench_opts *o);

/* gemm_only.c: the sgemm calls of one train step on the bench's own
 * buffers, laid out as the net's: as nnfast runs them (each product as the
 * blocks of its plan, on nnfast's threads), or one call per product with
 * the BLAS's own threads (what nnfast 1.2 did). */
typedef struct gemm_only gemm_only;
gemm_only *gemm_only_create(const bench_case *c);
void gemm_only_pass(gemm_only *g, const float *x);
void gemm_one_call_pass(gemm_only *g, const float *x, int threads);
void gemm_only_destroy(gemm_only *g);

/* counting.c: the allocator hook that counts the library's allocations. */
int counting_install(void);
size_t counting_allocs(void);
size_t counting_live_bytes(void);

/* progress.c: one updating status line on stderr, only when it is a tty. */
void progress_init(void);
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
void progress(int force, const char *fmt, ...);
void progress_clear(void);

/* report.c: table, csv or json lines on f. */
typedef struct bench_report {
    FILE *f;
    bench_format format;
    int name_w, layers_w;
} bench_report;
void report_begin(bench_report *rp, FILE *f, const bench_opts *o, const bench_machine *mach);
void report_row(const bench_report *rp, const bench_result *r);

#endif /* NNF_BENCH_H */
