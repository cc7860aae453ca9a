/* SPDX-License-Identifier: MIT */
/* gemm_only.c - the bare cblas_sgemm calls of one train step (core.h's
 * layout: Wt = the user's w[n_out][n_in]), on buffers the bench allocates
 * itself in the net's arrangement: the time a step could take at best. */
#include "bench.h"
#include "ref.h"

#include <cblas.h>
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

/* One step's products, in the library's order. x: n_0 x m. */
void gemm_only_pass(gemm_only *g, const float *x)
{
    const bench_case *c = g->c;
    int m = (int)c->m;
    float inv_m = 1.0f / (float)c->m;
    const float *a_in = x;

    for (size_t l = 1; l <= c->L; l++) {
        int n_in = (int)c->n[l - 1], n_out = (int)c->n[l];
        float *z = l == c->L ? g->logits : g->a[l];
        /* Z = Wt^T A:  (n_out x n_in) (n_in x m) */
        cblas_sgemm(CblasColMajor, CblasTrans, CblasNoTrans, n_out, m, n_in, 1.0f, g->wt[l], n_in,
                    a_in, n_in, 0.0f, z, n_out);
        a_in = g->a[l];
    }
    const float *dz = g->logits;
    for (size_t l = c->L; l >= 1; l--) {
        int n_in = (int)c->n[l - 1], n_out = (int)c->n[l];
        a_in = l > 1 ? g->a[l - 1] : x;
        /* dWt = (1/m) A dZ^T:  (n_in x m) (m x n_out) */
        cblas_sgemm(CblasColMajor, CblasNoTrans, CblasTrans, n_in, n_out, m, inv_m, a_in, n_in, dz,
                    n_out, 0.0f, g->dwt[l], n_in);
        if (l > 1) {
            /* dA = Wt dZ:  (n_in x n_out) (n_out x m) */
            cblas_sgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, n_in, m, n_out, 1.0f, g->wt[l],
                        n_in, dz, n_out, 0.0f, g->scratch, n_in);
            dz = g->a[l - 1]; /* the net writes dZ[l-1] over A[l-1] */
        }
    }
    g_sink += g->dwt[1][0] + g->scratch[0];
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
