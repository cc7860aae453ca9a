/* SPDX-License-Identifier: MIT */
/* pool.c - the worker threads behind nnf__parallel. The caller publishes a
 * region in one atomic word (its generation and how many workers help), and
 * the helpers take task numbers from an atomic counter, as the caller does;
 * the caller returns once every helper has checked out of the region, so
 * no worker ever touches a region that is over. An idle worker spins a
 * little (the regions of one step follow each other within microseconds),
 * then sleeps on a condition variable until the next region. When the
 * library is unloaded (dlclose, or the end of the process) its destructor
 * stops and joins the workers, so none runs code that is no longer mapped. */
#include "pool.h"
#include "core/core.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

enum {
    MAX_WORKERS = 255, /* beyond the threads of any machine nnfast runs on */
    SPIN = 1 << 15     /* polls of an idle worker before it sleeps (~50 us) */
};

typedef struct pool {
    atomic_flag busy;     /* one region at a time */
    pthread_mutex_t lock; /* for sleeping and waking only */
    pthread_cond_t wake;
    atomic_int sleepers;
    atomic_uint_fast64_t region; /* generation << 16 | helpers of the current region */
    /* the current region: written before region is published, read by its
     * helpers, unchanged until they have all checked out */
    nnf__task_fn fn;
    void *ctx;
    size_t n_tasks;
    atomic_size_t next;              /* task numbers handed out */
    atomic_int checked_out;          /* helpers done with the region */
    int n_workers;                   /* started so far (changed by a caller holding busy) */
    uint_fast64_t born[MAX_WORKERS]; /* the region word when each worker was started */
    pthread_t tid[MAX_WORKERS];
    atomic_bool stop; /* set once, by the destructor: workers return */
    pthread_once_t start;
    atomic_int threads; /* the thread count */
} pool;

static pool g_pool = {
    .busy = ATOMIC_FLAG_INIT,
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .wake = PTHREAD_COND_INITIALIZER,
    .start = PTHREAD_ONCE_INIT,
};

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* Take and run tasks of the current region until none is left. */
static void run_tasks(pool *p)
{
    for (;;) {
        size_t t = atomic_fetch_add_explicit(&p->next, 1, memory_order_relaxed);
        if (t >= p->n_tasks)
            return;
        p->fn(p->ctx, t);
    }
}

/* The next region after generation seen: spin, then sleep. Returns seen
 * itself once the pool is stopping. */
static uint_fast64_t next_region(pool *p, uint_fast64_t seen)
{
    uint_fast64_t r = seen;
    for (int i = 0; i < SPIN && r >> 16 == seen >> 16 && !atomic_load(&p->stop); i++) {
        cpu_relax();
        r = atomic_load_explicit(&p->region, memory_order_acquire);
    }
    if (r >> 16 != seen >> 16 || atomic_load(&p->stop))
        return r;
    pthread_mutex_lock(&p->lock);
    atomic_fetch_add(&p->sleepers, 1);
    /* seq_cst here and in nnf__parallel: either the caller sees a sleeper and
     * wakes it, or the sleeper sees the new region before it waits */
    while ((r = atomic_load(&p->region)) >> 16 == seen >> 16 && !atomic_load(&p->stop))
        pthread_cond_wait(&p->wake, &p->lock);
    atomic_fetch_sub(&p->sleepers, 1);
    pthread_mutex_unlock(&p->lock);
    return r;
}

static void *worker(void *arg)
{
    pool *p = &g_pool;
    unsigned id = (unsigned)(uintptr_t)arg;
    uint_fast64_t seen = p->born[id]; /* not a later region it might otherwise skip */
    for (;;) {
        uint_fast64_t r = next_region(p, seen);
        if (r >> 16 == seen >> 16) /* no new region: the pool is stopping */
            return NULL;
        seen = r;
        if (id < (seen & 0xffffu)) { /* a helper of this region */
            run_tasks(p);
            atomic_fetch_add_explicit(&p->checked_out, 1, memory_order_release);
        }
    }
}

/* Run when the library is unloaded: wake every worker, tell it to return,
 * and wait for it. No region is running then (a caller inside nnfast while
 * the library goes away is a use after free of the caller's own). */
__attribute__((destructor)) static void stop_workers(void)
{
    pool *p = &g_pool;
    if (p->n_workers == 0)
        return;
    pthread_mutex_lock(&p->lock);
    atomic_store(&p->stop, true);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < p->n_workers; i++)
        pthread_join(p->tid[i], NULL);
    p->n_workers = 0;
}

/* The thread count of a process that never set one is the BLAS's own default
 * (OPENBLAS_NUM_THREADS, else every core); from then on the BLAS runs each
 * call on one thread, and the pool runs the blocks of a product at once. */
static void first_use(void)
{
    int n = nnf__get_threads();
    atomic_store(&g_pool.threads, n > 0 ? n : 1);
    nnf__set_threads(1);
}

int nnf__pool_threads(void)
{
    pthread_once(&g_pool.start, first_use);
    return atomic_load(&g_pool.threads);
}

void nnf__pool_set_threads(int n)
{
    pthread_once(&g_pool.start, first_use);
    atomic_store(&g_pool.threads, n);
}

/* Start workers until there are want (fewer if the system refuses). */
static void start_workers(pool *p, int want)
{
    while (p->n_workers < want && p->n_workers < MAX_WORKERS) {
        p->born[p->n_workers] = atomic_load(&p->region);
        if (pthread_create(&p->tid[p->n_workers], NULL, worker, (void *)(uintptr_t)p->n_workers) !=
            0)
            return;
        p->n_workers++;
    }
}

void nnf__parallel(size_t n_tasks, nnf__task_fn fn, void *ctx)
{
    pool *p = &g_pool;
    int threads = nnf__pool_threads();
    if (n_tasks == 0)
        return;
    if (threads <= 1 || n_tasks == 1 ||
        atomic_flag_test_and_set_explicit(&p->busy, memory_order_acquire)) {
        for (size_t t = 0; t < n_tasks; t++)
            fn(ctx, t);
        return;
    }
    start_workers(p, threads - 1);
    int helpers = threads - 1 < p->n_workers ? threads - 1 : p->n_workers;
    if ((size_t)helpers > n_tasks - 1)
        helpers = (int)(n_tasks - 1);
    p->fn = fn;
    p->ctx = ctx;
    p->n_tasks = n_tasks;
    atomic_store_explicit(&p->next, 0, memory_order_relaxed);
    atomic_store_explicit(&p->checked_out, 0, memory_order_relaxed);
    uint_fast64_t gen = (atomic_load_explicit(&p->region, memory_order_relaxed) >> 16) + 1;
    atomic_store(&p->region, gen << 16 | (uint_fast64_t)helpers);
    if (atomic_load(&p->sleepers) > 0) {
        pthread_mutex_lock(&p->lock);
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->lock);
    }
    run_tasks(p);
    while (atomic_load_explicit(&p->checked_out, memory_order_acquire) < helpers)
        cpu_relax();
    atomic_flag_clear_explicit(&p->busy, memory_order_release);
}
