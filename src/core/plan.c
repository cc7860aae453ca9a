/* SPDX-License-Identifier: MIT */
/* plan.c - how a product is cut into blocks (core.h), and the blocks run.
 *
 * The cut, measured with OpenBLAS 0.3.21 on one core (docs/performance.md):
 * a product of less than 4 MFLOP is one call (at ~70 GFLOP/s it takes under
 * 60 us, too little to share); above, 2, 4 or 8 blocks, one per 256 MFLOP
 * (a power of two, so that 2, 4 or 8 threads share them evenly), and no
 * more than the machine's cores need (nnf__plan_max_blocks). Cutting costs
 * time on one thread: OpenBLAS packs both operands at every call, so each
 * block packs the operand the blocks share again. It cuts C's larger
 * dimension, which repeats the packing of the smaller operand. Rows are cut
 * at multiples of 16 and columns at multiples of 4, the kernels' tiles. */
#define _DEFAULT_SOURCE /* sysconf(_SC_NPROCESSORS_ONLN) */
#include "core.h"

#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

enum { MIN_FLOPS = 4000000, FLOPS_PER_BLOCK = 256000000, MAX_BLOCKS = 8 };

/* OpenBLAS's Haswell kernels (Zen runs them too) compute a small dimension
 * of C as parts of 16, 8, 4, 2 and 1 rows, each part a pass over the other
 * operand: 7 units take three passes (4 + 2 + 1), 8 take one. Measured on
 * cat2's first layer (12288 inputs, m = 209, one thread): the forward
 * product of 7 units 2.0-2.6 ms, of 8 units 1.4-1.7 ms; the weight gradient
 * 1.7-1.9 ms against 1.0-1.2 ms. So a layer of 7 or 15 units (4 and 3
 * parts more than a power of two) computes one unit more when its input is
 * wide enough for the products to matter; the extra column of weights costs
 * n_in floats in each arena, an eighth of the layer at most. */
size_t nnf__plan_units(size_t n_in, size_t n_out)
{
    const char *k = nnf__blas_kernel();
    int haswell_kernels = !strcmp(k, "Haswell") || !strcmp(k, "Zen");
    if (haswell_kernels && n_in >= 2048 && (n_out == 7 || n_out == 15))
        return n_out + 1;
    return n_out;
}

/* The cores of the machine rounded up to a power of two, at most
 * MAX_BLOCKS: a constant of the machine, not of nnf_set_threads, so that a
 * product's blocks (and so its bits) are the same at any thread count.
 * Measured on mlp-wide (1024-1024-1024-1, m = 512) at one thread, 2 cores:
 * the step's products took 1.11-1.18x the time of one call each when cut
 * into 8 blocks, as many as 2 cores use no more than 2. */
static atomic_size_t g_threads_cap; /* nnf__plan_follow_threads; 0: the machine's */

static size_t pow2_at_least(long n)
{
    size_t most = 1;
    while (most < MAX_BLOCKS && (long)most < n)
        most *= 2;
    return most;
}

size_t nnf__plan_max_blocks(void)
{
    static atomic_size_t cached;
    size_t cap = atomic_load_explicit(&g_threads_cap, memory_order_relaxed);
    if (cap)
        return cap;
    size_t most = atomic_load_explicit(&cached, memory_order_relaxed);
    if (!most) {
        most = pow2_at_least(sysconf(_SC_NPROCESSORS_ONLN));
        atomic_store_explicit(&cached, most, memory_order_relaxed);
    }
    return most;
}

void nnf__plan_follow_threads(int threads)
{
    atomic_store_explicit(&g_threads_cap, threads > 0 ? pow2_at_least(threads) : 0,
                          memory_order_relaxed);
}

nnf__plan nnf__plan_of(const nnf__product *p)
{
    nnf__plan plan = {1, p->rows, 0};
    double flops = 2.0 * (double)p->rows * (double)p->cols * (double)p->inner;
    size_t most = nnf__plan_max_blocks();
    if (flops < MIN_FLOPS || most < 2)
        return plan;
    size_t want = 2;
    while (want < most && (double)want * FLOPS_PER_BLOCK < flops)
        want *= 2;
    plan.split_cols = p->cols > p->rows;
    size_t dim = plan.split_cols ? p->cols : p->rows, tile = plan.split_cols ? 4 : 16;
    size_t step = (dim + want - 1) / want;
    step = (step + tile - 1) / tile * tile;
    plan.step = step < dim ? step : dim;
    plan.blocks = (dim + plan.step - 1) / plan.step;
    return plan;
}

void nnf__product_block(const nnf__product *p, const nnf__plan *plan, size_t b)
{
    size_t lo = b * plan->step, dim = plan->split_cols ? p->cols : p->rows;
    size_t n = dim - lo < plan->step ? dim - lo : plan->step;
    const float *a = p->a, *bm = p->b;
    float *c = p->c;
    size_t rows = p->rows, cols = p->cols;
    if (plan->split_cols) { /* columns lo.. of op(B) and of C */
        bm += p->trans_b ? lo : lo * p->ldb;
        c += lo * p->ldc;
        cols = n;
    } else { /* rows lo.. of op(A) and of C */
        a += p->trans_a ? lo * p->lda : lo;
        c += lo;
        rows = n;
    }
    nnf__gemm(p->trans_a, p->trans_b, rows, cols, p->inner, p->alpha, a, p->lda, bm, p->ldb,
              p->beta, c, p->ldc);
}

void nnf__product_run(const nnf__product *p)
{
    nnf__plan plan = nnf__plan_of(p);
    for (size_t b = 0; b < plan.blocks; b++)
        nnf__product_block(p, &plan, b);
}
