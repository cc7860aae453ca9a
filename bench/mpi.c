/* SPDX-License-Identifier: MIT */
/* mpi.c - nnfast-bench --mpi, run under mpirun -np R: weak scaling of the
 * collective step (nnf_mpi_train_step, each rank at the case's batch) against
 * one rank's nnf_net_train_step at the same batch while the other ranks sleep,
 * and the sum of the gradients over the ranks timed alone (what the step
 * spends communicating, and all that overlapping it with the backward pass
 * could hide). Then a probe of that overlap: the sum as one MPI_Iallreduce
 * started before a local step and waited for after it, against the step
 * then the blocking sum ("hidden": the share of the sum's time saved). The four are interleaved rep by
 * rep, so that the machine's noise falls on all of them. Built with nnfast_mpi's sources compiled in
 * (the bench links the library's objects, not libnnfast.so). */
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#include "bench.h"

#ifdef NNF_BENCH_MPI

#include "agree.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static bench_stats stats(double *t, int n)
{
    qsort(t, (size_t)n, sizeof *t, cmp_double);
    bench_stats s = {n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2.0, t[0], t[n - 1]};
    return s;
}

/* A barrier that waits asleep, not spinning: the ranks that are not timed
 * leave the cores to the one that is. */
static void sleepy_barrier(void)
{
    MPI_Request req;
    int done = 0;
    MPI_Ibarrier(MPI_COMM_WORLD, &req);
    struct timespec nap = {0, 200000};
    while (MPI_Test(&req, &done, MPI_STATUS_IGNORE) == MPI_SUCCESS && !done)
        nanosleep(&nap, NULL);
}

/* The slowest rank's time: the step is as fast as that one. */
static double slowest(double t)
{
    MPI_Allreduce(MPI_IN_PLACE, &t, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    return t;
}

/* The gradient's floats: every W and b. */
static size_t case_params(const bench_case *c)
{
    size_t n = 0;
    for (size_t l = 1; l <= c->L; l++)
        n += (c->n[l - 1] + 1) * c->n[l];
    return n;
}

typedef struct mpi_figures {
    bench_stats one, all, comm, seq, overlap;
} mpi_figures;

static int measure(const bench_case *c, const bench_opts *o, int rank, mpi_figures *f)
{
    char err[512];
    nnf_net *net = NULL, *solo = NULL, *probe = NULL;
    float *x = NULL, *y = NULL, *g = NULL;
    size_t n = case_params(c);
    int reps = o->reps ? o->reps : o->quick ? 3 : 15, warm = o->warmup > 0 ? o->warmup : 2;
    double *t = malloc(5 * (size_t)reps * sizeof *t);
    int rc = -1;
    if (!t || bench_make_net(c, &net, err, sizeof err) != NNF_OK ||
        bench_make_data(c, c->m, &x, &y) != 0 || !(g = calloc(n, sizeof *g))) {
        fprintf(stderr, "nnfast-bench: rank %d: case %s: could not set up\n", rank, c->name);
        goto out;
    }
    if (nnf_mpi_bcast(net, MPI_COMM_WORLD, 0) != NNF_OK || nnf_net_clone(net, &solo) != NNF_OK ||
        nnf_net_clone(net, &probe) != NNF_OK) {
        fprintf(stderr, "nnfast-bench: %s\n", nnf_net_errmsg(net));
        goto out;
    }
    nnf_mpi__run run;
    nnf_mpi__start(&run, MPI_COMM_WORLD);
    for (int k = -warm; k < reps; k++) {
        /* one rank alone at the same batch */
        double t0 = 0.0, one = 0.0;
        sleepy_barrier();
        if (rank == 0) {
            t0 = MPI_Wtime();
            nnf_status st = nnf_net_train_step(solo, x, y, c->m, NULL);
            one = MPI_Wtime() - t0;
            if (st != NNF_OK)
                fprintf(stderr, "nnfast-bench: %s\n", nnf_net_errmsg(solo));
        }
        sleepy_barrier();
        /* every rank, one collective step */
        MPI_Barrier(MPI_COMM_WORLD);
        t0 = MPI_Wtime();
        nnf_status st = nnf_mpi_train_step(net, MPI_COMM_WORLD, x, y, c->m, NULL);
        double all = slowest(MPI_Wtime() - t0);
        if (st != NNF_OK) {
            fprintf(stderr, "nnfast-bench: %s\n", nnf_net_errmsg(net));
            goto out;
        }
        /* what that step communicates, alone: the agreement, the gradient's
         * floats and the loss and samples */
        MPI_Barrier(MPI_COMM_WORLD);
        t0 = MPI_Wtime();
        double d[2] = {1.0, 1.0};
        st = nnf_mpi__agree(&run, NNF_EXCHANGE_STEP, NNF_OK, NULL, (long long)n, NULL);
        if (st == NNF_OK)
            st = nnf_mpi__sum_floats(&run, g, n);
        if (st == NNF_OK)
            st = nnf_mpi__sum_doubles(&run, d, 2);
        double comm = slowest(MPI_Wtime() - t0);
        /* the overlap probe, every rank stepping its own net at once: a local
         * step then the blocking sum, against the sum as a nonblocking
         * allreduce started before the step and waited for after it, no MPI
         * call between (what an overlap inside the backward pass would get) */
        MPI_Barrier(MPI_COMM_WORLD);
        t0 = MPI_Wtime();
        st = nnf_net_train_step(probe, x, y, c->m, NULL);
        MPI_Allreduce(MPI_IN_PLACE, g, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        double seq = slowest(MPI_Wtime() - t0);
        MPI_Barrier(MPI_COMM_WORLD);
        t0 = MPI_Wtime();
        MPI_Request req;
        MPI_Iallreduce(MPI_IN_PLACE, g, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, &req);
        st = nnf_net_train_step(probe, x, y, c->m, NULL);
        MPI_Wait(&req, MPI_STATUS_IGNORE);
        double overlap = slowest(MPI_Wtime() - t0);
        if (k >= 0) {
            t[k] = one;
            t[reps + k] = all;
            t[2 * reps + k] = comm;
            t[3 * reps + k] = overlap;
            t[4 * reps + k] = seq;
        }
    }
    MPI_Bcast(t, reps, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    f->one = stats(t, reps);
    f->all = stats(t + reps, reps);
    f->comm = stats(t + 2 * reps, reps);
    f->overlap = stats(t + 3 * reps, reps);
    f->seq = stats(t + 4 * reps, reps);
    rc = 0;
out:
    nnf_net_destroy(net);
    nnf_net_destroy(solo);
    nnf_net_destroy(probe);
    free(x);
    free(y);
    free(g);
    free(t);
    return rc;
}

int bench_mpi(const bench_opts *o)
{
    int rank = 0, size = 1, rc = 0;
    if (MPI_Init(NULL, NULL) != MPI_SUCCESS) {
        fprintf(stderr, "nnfast-bench: MPI_Init failed\n");
        return 1;
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    (void)nnf_set_threads(o->threads[0]);
    if (rank == 0)
        printf("%-10s %5s %7s %6s  %-27s  %-27s  %5s  %-26s  %6s  %8s  %8s  %6s\n", "case", "ranks",
               "threads", "m/rank", "1 rank: step ms (min-max)", "R ranks: step ms (min-max)",
               "eff", "comm ms (min-max)", "share", "seq ms", "ovl ms", "hidden");
    for (size_t i = 0; i < o->n_cases && rc == 0; i++) {
        const bench_case *c = &o->cases[i];
        mpi_figures f;
        rc = measure(c, o, rank, &f);
        if (rc == 0 && rank == 0)
            printf("%-10s %5d %7d %6zu  %8.2f (%7.2f-%7.2f)  %8.2f (%7.2f-%7.2f)  %5.2f  "
                   "%8.2f (%7.2f-%7.2f)  %5.1f%%  %8.2f  %8.2f  %5.0f%%\n",
                   c->name, size, o->threads[0], c->m, 1e3 * f.one.med, 1e3 * f.one.min,
                   1e3 * f.one.max, 1e3 * f.all.med, 1e3 * f.all.min, 1e3 * f.all.max,
                   f.one.med / f.all.med, 1e3 * f.comm.med, 1e3 * f.comm.min, 1e3 * f.comm.max,
                   100.0 * f.comm.med / f.all.med, 1e3 * f.seq.med, 1e3 * f.overlap.med,
                   100.0 * (f.seq.med - f.overlap.med) / f.comm.med);
        fflush(stdout);
    }
    MPI_Finalize();
    return rc == 0 ? 0 : 1;
}

#else

int bench_mpi(const bench_opts *o)
{
    (void)o;
    fprintf(stderr, "nnfast-bench: --mpi: this nnfast-bench was built without MPI (configure "
                    "with MPI found and NNF_BUILD_MPI on)\n");
    return 2;
}

#endif
