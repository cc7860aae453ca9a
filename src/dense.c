/* SPDX-License-Identifier: MIT */
/* dense.c - a fully-connected layer written as core calls (docs/math.md):
 * each product as the blocks of its plan, each elementwise pass as blocks of
 * columns, all run on nnfast's threads (pool.c). Every cut depends on the
 * shapes alone, so the bits do not depend on the thread count. */
#include "dense.h"
#include "pool.h"

#include <string.h>

/* An elementwise pass over an n x m matrix is cut into blocks of whole
 * columns of at least this many values: smaller passes run on one thread. */
enum { PASS_BLOCK = 1 << 15, MAX_PASS_BLOCKS = 64 };

typedef struct column_blocks {
    size_t n, m, cols; /* the matrix, and columns per block */
} column_blocks;

static column_blocks cut_columns(size_t n, size_t m)
{
    size_t cols = (PASS_BLOCK + n - 1) / n;
    if ((m + cols - 1) / cols > MAX_PASS_BLOCKS)
        cols = (m + MAX_PASS_BLOCKS - 1) / MAX_PASS_BLOCKS;
    return (column_blocks){n, m, cols < m ? cols : m};
}

static size_t blocks_of(const column_blocks *cb)
{
    return (cb->m + cb->cols - 1) / cb->cols;
}

/* Columns [*first, *first + *count) of block b. */
static void block_columns(const column_blocks *cb, size_t b, size_t *first, size_t *count)
{
    *first = b * cb->cols;
    *count = cb->m - *first < cb->cols ? cb->m - *first : cb->cols;
}

/* ---- a product, block by block */

typedef struct product_job {
    nnf__product p;
    nnf__plan plan;
} product_job;

static void product_task(void *ctx, size_t b)
{
    product_job *j = ctx;
    nnf__product_block(&j->p, &j->plan, b);
}

void nnf__run_product(nnf__product p)
{
    product_job j = {p, nnf__plan_of(&p)};
    nnf__parallel(j.plan.blocks, product_task, &j);
}

/* ---- the forward pass */

typedef struct forward_job {
    const nnf_layer *layer;
    float *z, *a;
    const nnf__dropout *drop;
    column_blocks cb;
    uint32_t bad[MAX_PASS_BLOCKS];
} forward_job;

static void bias_act_task(void *ctx, size_t b)
{
    forward_job *j = ctx;
    const nnf_layer *ly = j->layer;
    size_t first, count, off;
    block_columns(&j->cb, b, &first, &count);
    off = first * ly->n_out;
    if (ly->act == NNF_ACT_SOFTMAX) /* the output layer: z != a */
        j->bad[b] =
            (uint32_t)nnf__bias_softmax_forward(j->z + off, ly->b, j->a + off, ly->n_out, count);
    else
        j->bad[b] = (uint32_t)nnf__bias_act_forward(ly->act, ly->alpha, j->z + off, ly->b,
                                                    j->a + off, ly->n_out, count);
    if (j->drop)
        nnf__dropout_forward(j->a + off, ly->n_out, first, count, j->drop);
}

/* The rows of Z a padded layer keeps: z (n_out x m) from zp (n_pad x m). */
static void drop_pad_rows(float *z, const float *zp, size_t n_out, size_t n_pad, size_t m)
{
    for (size_t j = 0; j < m; j++)
        memcpy(z + j * n_out, zp + j * n_pad, n_out * sizeof(float));
}

/* dZ with a zero row per padded unit: dzp (n_pad x m) from dz (n_out x m). */
static void add_pad_rows(float *dzp, const float *dz, size_t n_out, size_t n_pad, size_t m)
{
    for (size_t j = 0; j < m; j++) {
        memcpy(dzp + j * n_pad, dz + j * n_out, n_out * sizeof(float));
        memset(dzp + j * n_pad + n_out, 0, (n_pad - n_out) * sizeof(float));
    }
}

int nnf__dense_forward(const nnf_layer *layer, const float *a_in, float *z, float *a, size_t m,
                       float *pad, const nnf__dropout *drop)
{
    if (layer->n_pad > layer->n_out) { /* Wt read as n_in x n_pad: the extra unit's row dropped */
        nnf__run_product(nnf__forward_product(layer->wt, a_in, pad, layer->n_in, layer->n_pad, m));
        drop_pad_rows(z, pad, layer->n_out, layer->n_pad, m);
    } else {
        nnf__run_product(nnf__forward_product(layer->wt, a_in, z, layer->n_in, layer->n_out, m));
    }
    forward_job j = {layer, z, a, drop, cut_columns(layer->n_out, m), {0}};
    size_t blocks = blocks_of(&j.cb);
    nnf__parallel(blocks, bias_act_task, &j);
    uint32_t bad = 0;
    for (size_t b = 0; b < blocks; b++)
        bad |= j.bad[b];
    return bad != 0;
}

/* ---- the backward pass */

void nnf__dense_backward(nnf_layer *layer, const float *a_in, const float *dz, float *da_in,
                         size_t m, float *pad)
{
    float inv_m = 1.0f / (float)m;
    if (layer->n_pad > layer->n_out) {
        /* dWt as n_in x n_pad: the extra unit's zero row of dZ gives a zero
         * column, over db (computed next) and the arena's zeros */
        add_pad_rows(pad, dz, layer->n_out, layer->n_pad, m);
        nnf__run_product(
            nnf__weight_grad_product(a_in, pad, layer->dwt, layer->n_in, layer->n_pad, m, inv_m));
    } else {
        nnf__run_product(
            nnf__weight_grad_product(a_in, dz, layer->dwt, layer->n_in, layer->n_out, m, inv_m));
    }
    nnf__bias_grad(dz, layer->db, layer->n_out, m, inv_m);
    if (da_in)
        nnf__run_product(
            nnf__input_grad_product(layer->wt, dz, da_in, layer->n_in, layer->n_out, m));
}

typedef struct deriv_job {
    int act;
    float alpha;
    float *a, *d;
    const nnf__dropout *drop;
    column_blocks cb;
} deriv_job;

static void deriv_task(void *ctx, size_t b)
{
    deriv_job *j = ctx;
    size_t first, count, off;
    block_columns(&j->cb, b, &first, &count);
    off = first * j->cb.n;
    if (j->drop)
        nnf__dropout_backward(j->a + off, j->d + off, j->cb.n, first, count, j->drop);
    nnf__act_backward_over_a(j->act, j->alpha, j->a + off, j->d + off, j->cb.n * count);
}

void nnf__dense_deriv_over_a(const nnf_layer *layer, float *a, float *d, size_t m,
                             const nnf__dropout *drop)
{
    deriv_job j = {layer->act, layer->alpha, a, d, drop, cut_columns(layer->n_out, m)};
    nnf__parallel(blocks_of(&j.cb), deriv_task, &j);
}
