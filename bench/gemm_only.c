/* SPDX-License-Identifier: MIT */
/* gemm_only.c - the bare sgemm calls of one train step (core.h's layout:
 * Wt = the user's w[n_out][n_in]), on buffers the bench allocates itself in
 * the net's arrangement: the GEMM time of nnfast's plan, and of one call per
 * product. */
#include "bench.h"
#include "ref.h"

#include "core/core.h"
#include "dense.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The blocks mirror net.c's: one parameter arena and one gradient arena
 * (per layer Wt then b), one workspace (A[l] per layer, the logits Z[L],
 * the scratch for dA[l-1]), 64-byte aligned like the bench's allocator.
 * Same offsets, so the same alignment of every operand. */
struct gemm_only {
    const bench_case *c;
    float *params, *grads, *work;
    float *wt[BENCH_MAX_LAYERS + 1], *dwt[BENCH_MAX_LAYERS + 1];
    float *a[BENCH_MAX_LAYERS + 1];
    float *logits, *scratch;
};

/* The work's outputs feed this, so the compiler keeps every call. */
static volatile float g_sink;

static float *alloc_floats(size_t n)
{
    size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
    return aligned_alloc(64, bytes ? bytes : 64);
}

gemm_only *gemm_only_create(const bench_case *c)
{
    size_t p = 0, rows = 0, widest = 0, m = c->m;
    gemm_only *g = calloc(1, sizeof *g);
    if (g == NULL)
        return NULL;
    g->c = c;
    for (size_t l = 1; l <= c->L; l++) {
        p += c->n[l - 1] * c->n[l] + c->n[l];
        rows += c->n[l];
        if (l < c->L && c->n[l] > widest)
            widest = c->n[l];
    }
    rows += c->n[c->L] + widest;
    g->params = alloc_floats(p);
    g->grads = alloc_floats(p);
    g->work = alloc_floats(rows * m);
    if (!g->params || !g->grads || !g->work) {
        gemm_only_destroy(g);
        return NULL;
    }

    /* Wt uniform in +-1/sqrt(n_in): with no activation between the
     * products, values stay O(1) (never denormal, never overflowing). */
    ref_rng r = {UINT64_C(0x67656d6d)};
    size_t off = 0;
    float *w = g->work;
    for (size_t l = 1; l <= c->L; l++) {
        size_t nw = c->n[l - 1] * c->n[l];
        double s = 1.0 / sqrt((double)c->n[l - 1]);
        g->wt[l] = g->params + off;
        g->dwt[l] = g->grads + off;
        for (size_t i = 0; i < nw + c->n[l]; i++)
            g->params[off + i] = (float)ref_rng_uniform(&r, -s, s);
        off += nw + c->n[l];
        g->a[l] = w;
        w += c->n[l] * m;
    }
    g->logits = w;
    w += c->n[c->L] * m;
    g->scratch = w;
    memset(g->grads, 0, p * sizeof(float));
    memset(g->work, 0, rows * m * sizeof(float));
    return g;
}

/* The products of one step, in the library's order, each given to run:
 * x: n_0 x m. */
static void each_product(gemm_only *g, const float *x, void (*run)(nnf__product p))
{
    const bench_case *c = g->c;
    size_t m = c->m;
    float inv_m = 1.0f / (float)m;
    const float *a_in = x;

    for (size_t l = 1; l <= c->L; l++) {
        float *z = l == c->L ? g->logits : g->a[l];
        run(nnf__forward_product(g->wt[l], a_in, z, c->n[l - 1], c->n[l], m));
        a_in = g->a[l];
    }
    const float *dz = g->logits;
    for (size_t l = c->L; l >= 1; l--) {
        a_in = l > 1 ? g->a[l - 1] : x;
        run(nnf__weight_grad_product(a_in, dz, g->dwt[l], c->n[l - 1], c->n[l], m, inv_m));
        if (l > 1) {
            run(nnf__input_grad_product(g->wt[l], dz, g->scratch, c->n[l - 1], c->n[l], m));
            dz = g->a[l - 1]; /* the net writes dZ[l-1] over A[l-1] */
        }
    }
    g_sink += g->dwt[1][0] + g->scratch[0];
}

/* One call of the whole product, as nnfast 1.2 made it. */
static void one_call(nnf__product p)
{
    nnf__gemm(p.trans_a, p.trans_b, p.rows, p.cols, p.inner, p.alpha, p.a, p.lda, p.b, p.ldb,
              p.beta, p.c, p.ldc);
}

void gemm_only_pass(gemm_only *g, const float *x)
{
    each_product(g, x, nnf__run_product);
}

void gemm_one_call_pass(gemm_only *g, const float *x, int threads)
{
    nnf__set_threads(threads); /* the BLAS's own threads, as in 1.2 */
    each_product(g, x, one_call);
    nnf__set_threads(1);
}

void gemm_only_destroy(gemm_only *g)
{
    if (g == NULL)
        return;
    free(g->params);
    free(g->grads);
    free(g->work);
    free(g);
}
