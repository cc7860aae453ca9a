/* SPDX-License-Identifier: MIT */
/* machine.c - what the machine can do, measured in the same run as the
 * cases: the sgemm peak (2048^3, the BLAS on the thread count being
 * measured) and the read bandwidth (summing a buffer four times larger
 * than the last-level cache, on that many threads). A case's floor is the
 * larger of its flops at that peak and its bytes at that bandwidth. */
#define _DEFAULT_SOURCE /* sysconf's cache queries */
#include "bench.h"
#include "core/core.h"
#include "pool.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { PEAK_N = 2048, QUICK_PEAK_N = 512, TRIES = 3 };

const char *bench_blas_name(void)
{
    return nnf__blas_name();
}

/* The last-level cache: sysfs (the kernel's view), else sysconf (cpuid,
 * which virtual machines often fill with nonsense), else 32 MiB. */
static size_t cache_bytes(void)
{
    FILE *f = fopen("/sys/devices/system/cpu/cpu0/cache/index3/size", "r");
    unsigned long kib = 0;
    if (f) {
        if (fscanf(f, "%luK", &kib) != 1)
            kib = 0;
        fclose(f);
    }
    if (kib)
        return (size_t)kib << 10;
    long l3 = sysconf(_SC_LEVEL3_CACHE_SIZE);
    return l3 > 0 ? (size_t)l3 : (size_t)32 << 20;
}

static double peak(int threads, size_t n)
{
    float *a = malloc(n * n * sizeof(float)), *b = malloc(n * n * sizeof(float));
    float *c = malloc(n * n * sizeof(float));
    double best = 0.0;
    if (a && b && c) {
        for (size_t i = 0; i < n * n; i++) {
            a[i] = (float)(i % 7) * 0.125f;
            b[i] = (float)(i % 5) * 0.25f;
        }
        nnf__set_threads(threads); /* the BLAS's own threads, for once */
        for (int t = 0; t <= TRIES; t++) {
            double t0 = bench_now();
            nnf__gemm(0, 0, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
            double s = bench_now() - t0, g = 2.0 * (double)n * (double)n * (double)n / s * 1e-9;
            if (t && g > best) /* the first call warms up */
                best = g;
        }
        nnf__set_threads(1);
    }
    free(a);
    free(b);
    free(c);
    return best;
}

typedef struct sum_job {
    const float *v;
    size_t n, chunk;
    double part[64];
} sum_job;

/* 16 independent sums, so that the loop vectorizes without reassociation
 * (machine.c is compiled at -O3, and in AVX2 where the CPU has it). */
NNF__VECTOR
static void sum_task(void *ctx, size_t t)
{
    sum_job *j = ctx;
    size_t lo = t * j->chunk, hi = lo + j->chunk < j->n ? lo + j->chunk : j->n;
    float acc[16] = {0};
    for (size_t i = lo; i + 16 <= hi; i += 16)
        for (size_t k = 0; k < 16; k++)
            acc[k] += j->v[i + k];
    double s = 0.0;
    for (int k = 0; k < 16; k++)
        s += (double)acc[k];
    j->part[t] = s;
}

static double bandwidth(int threads, size_t bytes, int quick)
{
    size_t n = bytes / sizeof(float);
    float *v = malloc(n * sizeof(float));
    double best = 0.0;
    if (!v)
        return 0.0;
    for (size_t i = 0; i < n; i++)
        v[i] = 1.0f;
    sum_job j = {v, n, (n + 63) / 64 / 16 * 16, {0}};
    size_t tasks = (n + j.chunk - 1) / j.chunk;
    nnf__pool_set_threads(threads);
    for (int t = 0; t <= (quick ? 1 : TRIES); t++) {
        double t0 = bench_now();
        nnf__parallel(tasks, sum_task, &j);
        double s = bench_now() - t0;
        if (t && (double)bytes / s * 1e-9 > best)
            best = (double)bytes / s * 1e-9;
    }
    free(v);
    return best;
}

void bench_let_blas_sleep(void)
{
    /* OpenBLAS's workers spin for 2^28 cycles after a call (about 0.1 s) */
    struct timespec t = {0, 250000000};
    (void)nanosleep(&t, NULL);
}

void bench_machine_measure(bench_machine *m, int quick)
{
    m->threads = nnf_get_threads();
    m->cache_bytes = cache_bytes();
    m->peak_gflops = peak(m->threads, quick ? QUICK_PEAK_N : PEAK_N);
    size_t buf = quick ? m->cache_bytes : 4 * m->cache_bytes;
    m->read_gbs = bandwidth(m->threads, buf < ((size_t)64 << 20) ? (size_t)64 << 20 : buf, quick);
    nnf__pool_set_threads(m->threads);
    bench_let_blas_sleep();
}
