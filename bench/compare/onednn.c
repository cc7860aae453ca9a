/* SPDX-License-Identifier: MIT */
/* onednn.c - the oneDNN peer (C API, CPU engine). Per layer: an inner
 * product forward (training) with bias, an eltwise activation in place, and
 * in backward an eltwise backward in place on dA, the inner product backward
 * weights (dW and db in one primitive) and backward data (not for layer 1:
 * nobody needs dX, as in nnfast). The loss and its gradient dZ[L] = (A - Y) / m
 * are C loops (m n_L values); the SGD update is a sum primitive in place,
 * W = 1 W + (-lr) dW; oneDNN has no Adam, so Adam is a C loop, threaded with
 * OpenMP as oneDNN's primitives are.
 *
 * User memory is plain: x, Z, A and dA are `nc` (sample-major, nnfast's
 * layout), biases `x`. Weights are `oi` (nnfast's layout) unless
 * COMPARE_DNNL_WEIGHTS=any lets the inner product choose (on an AVX2 CPU
 * its gemm-based kernel picks `io`, no faster); the weights are then
 * reordered once at creation and kept, with their gradients and the
 * optimizer state, in the chosen layout. Threads: oneDNN's OpenMP runtime,
 * omp_set_num_threads() before any primitive is created. */
#include "common.h"

#include <dnnl.h>
#include <dnnl_debug.h>
#include <math.h>
#include <omp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME "onednn"

typedef struct layer {
    dnnl_dim_t n_in, n_out;
    int act;                              /* nnf_act of the layer */
    dnnl_memory_t w, b, z, a, dw, db, da; /* a == z for hidden layers (in place) */
    dnnl_primitive_t fwd, act_fwd, act_bwd, bwd_w, bwd_d, upd_w, upd_b;
    size_t w_len;             /* floats of w and dw in their chosen layout (with padding) */
    float *mw, *vw, *mb, *vb; /* Adam's state, in the layout of w and b */
} layer;

typedef struct ctx {
    const cmp_problem *p;
    dnnl_engine_t eng;
    dnnl_stream_t strm;
    dnnl_memory_t x;
    layer ly[BENCH_MAX_LAYERS + 1];
    size_t L;
    dnnl_dim_t m;
    int adam_t;
} ctx;

typedef struct failure {
    char *err;
    size_t len;
} failure;

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int
fail(failure *f, dnnl_status_t s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(f->err, f->len, fmt, ap);
    va_end(ap);
    if (k >= 0 && (size_t)k < f->len)
        snprintf(f->err + k, f->len - (size_t)k, ": %s", dnnl_status2str(s));
    return -1;
}

/* Creates the primitive of pd and destroys pd, or fails. */
#define PRIM(out, pd, what)                                                          \
    do {                                                                             \
        dnnl_status_t s_ = dnnl_primitive_create(&(out), (pd));                      \
        if (s_ != dnnl_success)                                                      \
            return fail(f, s_, "creating the %s primitive of layer %zu", (what), l); \
    } while (0)

#define OK(call, what)                                       \
    do {                                                     \
        dnnl_status_t s_ = (call);                           \
        if (s_ != dnnl_success)                              \
            return fail(f, s_, "%s (layer %zu)", (what), l); \
    } while (0)

static void md2(dnnl_memory_desc_t *md, dnnl_dim_t d0, dnnl_dim_t d1, dnnl_format_tag_t tag)
{
    dnnl_dims_t dims = {d0, d1};
    dnnl_memory_desc_init_by_tag(md, 2, dims, dnnl_f32, tag);
}

static void md1(dnnl_memory_desc_t *md, dnnl_dim_t d0)
{
    dnnl_dims_t dims = {d0};
    dnnl_memory_desc_init_by_tag(md, 1, dims, dnnl_f32, dnnl_a);
}

static const char *impl_of(const_dnnl_primitive_desc_t pd)
{
    const char *s = NULL;
    if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &s) != dnnl_success || !s)
        return "?";
    return s;
}

/* The weights' layout, in oneDNN's names for the two plain ones. */
static const char *layout_of(const dnnl_memory_desc_t *md)
{
    dnnl_memory_desc_t oi, io;
    md2(&oi, md->dims[0], md->dims[1], dnnl_oi);
    md2(&io, md->dims[0], md->dims[1], dnnl_io);
    return dnnl_memory_desc_equal(md, &oi)   ? "oi"
           : dnnl_memory_desc_equal(md, &io) ? "io"
                                             : "blocked";
}

static void *data_of(dnnl_memory_t mem)
{
    void *h = NULL;
    dnnl_memory_get_data_handle(mem, &h);
    return h;
}

static int act_alg(int act, dnnl_alg_kind_t *alg)
{
    /* the _use_dst_for_bwd variants let the forward run in place on Z:
     * their backward reads A only, as nnfast's does */
    switch (act) {
    case NNF_ACT_RELU: *alg = dnnl_eltwise_relu_use_dst_for_bwd; return 0;
    case NNF_ACT_TANH: *alg = dnnl_eltwise_tanh_use_dst_for_bwd; return 0;
    case NNF_ACT_SIGMOID: *alg = dnnl_eltwise_logistic_use_dst_for_bwd; return 0;
    default: return -1;
    }
}

/* The update: a sum in place, dst = src0 = w. */
static int make_sgd(ctx *c, dnnl_memory_t w, dnnl_primitive_t *out, size_t l, failure *f)
{
    const dnnl_memory_desc_t *md = NULL;
    dnnl_memory_get_memory_desc(w, &md);
    dnnl_memory_desc_t srcs[2] = {*md, *md};
    float scales[2] = {1.0f, (float)-c->p->k.lr};
    dnnl_primitive_desc_t pd;
    OK(dnnl_sum_primitive_desc_create(&pd, md, 2, scales, srcs, NULL, c->eng), "sum pd");
    PRIM(*out, pd, "sum");
    dnnl_primitive_desc_destroy(pd);
    return 0;
}

static int alloc_mem(ctx *c, dnnl_memory_t *mem, const dnnl_memory_desc_t *md, size_t l, failure *f)
{
    OK(dnnl_memory_create(mem, md, c->eng, DNNL_MEMORY_ALLOCATE), "allocating memory");
    memset(data_of(*mem), 0, dnnl_memory_desc_get_size(md));
    return 0;
}

/* Layer l's memories and primitives. any: let the inner product choose the
 * weights' layout (it must then be the same for backward data and for dW). */
static int make_layer(ctx *c, size_t l, int any, failure *f)
{
    const bench_case *bc = &c->p->k.c;
    layer *y = &c->ly[l];
    dnnl_dim_t m = c->m;
    dnnl_memory_desc_t src, wq, bias, dst, w_user;
    dnnl_inner_product_desc_t ipd;
    dnnl_primitive_desc_t fwd_pd, pd;

    y->n_in = (dnnl_dim_t)bc->n[l - 1];
    y->n_out = (dnnl_dim_t)bc->n[l];
    y->act = l == bc->L ? (int)bc->output : (int)bc->hidden;
    md2(&src, m, y->n_in, dnnl_nc);
    md2(&w_user, y->n_out, y->n_in, dnnl_oi);
    md2(&wq, y->n_out, y->n_in, any ? dnnl_format_tag_any : dnnl_oi);
    md1(&bias, y->n_out);
    md2(&dst, m, y->n_out, dnnl_nc);

    OK(dnnl_inner_product_forward_desc_init(&ipd, dnnl_forward_training, &src, &wq, &bias, &dst),
       "inner product forward desc");
    OK(dnnl_primitive_desc_create(&fwd_pd, &ipd, NULL, c->eng, NULL), "inner product fwd pd");
    const dnnl_memory_desc_t *wmd = dnnl_primitive_desc_query_md(fwd_pd, dnnl_query_weights_md, 0);
    dnnl_memory_desc_t w_md = *wmd;
    cmp_info(NAME, bc->name, "layer %zu ip fwd: %s (weights %s)", l, impl_of(fwd_pd),
             layout_of(&w_md));
    PRIM(y->fwd, fwd_pd, "inner product forward");

    /* backward weights: dW in the weights' layout, so that the update is
     * elementwise */
    OK(dnnl_inner_product_backward_weights_desc_init(&ipd, &src, &w_md, &bias, &dst),
       "inner product backward weights desc");
    OK(dnnl_primitive_desc_create(&pd, &ipd, NULL, c->eng, fwd_pd), "ip bwd weights pd");
    cmp_info(NAME, bc->name, "layer %zu ip bwd weights: %s", l, impl_of(pd));
    PRIM(y->bwd_w, pd, "inner product backward weights");
    dnnl_primitive_desc_destroy(pd);

    if (l > 1) {
        OK(dnnl_inner_product_backward_data_desc_init(&ipd, &src, &w_md, &dst),
           "inner product backward data desc");
        OK(dnnl_primitive_desc_create(&pd, &ipd, NULL, c->eng, fwd_pd), "ip bwd data pd");
        cmp_info(NAME, bc->name, "layer %zu ip bwd data: %s", l, impl_of(pd));
        PRIM(y->bwd_d, pd, "inner product backward data");
        dnnl_primitive_desc_destroy(pd);
    }

    if (alloc_mem(c, &y->w, &w_md, l, f) || alloc_mem(c, &y->dw, &w_md, l, f) ||
        alloc_mem(c, &y->b, &bias, l, f) || alloc_mem(c, &y->db, &bias, l, f) ||
        alloc_mem(c, &y->z, &dst, l, f))
        return -1;
    y->w_len = dnnl_memory_desc_get_size(&w_md) / sizeof(float);
    memcpy(data_of(y->b), c->p->b[l], (size_t)y->n_out * sizeof(float));
    if (dnnl_memory_desc_equal(&w_md, &w_user)) {
        memcpy(data_of(y->w), c->p->w[l], (size_t)(y->n_out * y->n_in) * sizeof(float));
    } else {
        /* once, outside the timed steps */
        dnnl_memory_t user;
        dnnl_primitive_t r;
        OK(dnnl_memory_create(&user, &w_user, c->eng, c->p->w[l]), "user weights memory");
        OK(dnnl_reorder_primitive_desc_create(&pd, &w_user, c->eng, &w_md, c->eng, NULL),
           "reorder pd");
        PRIM(r, pd, "reorder");
        dnnl_primitive_desc_destroy(pd);
        dnnl_exec_arg_t args[] = {{DNNL_ARG_FROM, user}, {DNNL_ARG_TO, y->w}};
        OK(dnnl_primitive_execute(r, c->strm, 2, args), "reordering the weights");
        dnnl_stream_wait(c->strm);
        dnnl_primitive_destroy(r);
        dnnl_memory_destroy(user);
    }
    dnnl_primitive_desc_destroy(fwd_pd);

    if (l < bc->L) {
        /* hidden: A = g(Z) in place; dZ = g'(A) dA in place on dA */
        dnnl_alg_kind_t alg;
        dnnl_eltwise_desc_t ed;
        y->a = y->z;
        if (alloc_mem(c, &y->da, &dst, l, f))
            return -1;
        if (y->act == NNF_ACT_LINEAR)
            return 0;
        if (act_alg(y->act, &alg) != 0)
            return fail(f, dnnl_unimplemented, "activation %d of layer %zu", y->act, l);
        OK(dnnl_eltwise_forward_desc_init(&ed, dnnl_forward_training, alg, &dst, 0.0f, 0.0f),
           "eltwise forward desc");
        OK(dnnl_primitive_desc_create(&fwd_pd, &ed, NULL, c->eng, NULL), "eltwise fwd pd");
        cmp_info(NAME, bc->name, "layer %zu eltwise fwd: %s", l, impl_of(fwd_pd));
        PRIM(y->act_fwd, fwd_pd, "eltwise forward");
        OK(dnnl_eltwise_backward_desc_init(&ed, alg, &dst, &dst, 0.0f, 0.0f),
           "eltwise backward desc");
        OK(dnnl_primitive_desc_create(&pd, &ed, NULL, c->eng, fwd_pd), "eltwise bwd pd");
        PRIM(y->act_bwd, pd, "eltwise backward");
        dnnl_primitive_desc_destroy(pd);
        dnnl_primitive_desc_destroy(fwd_pd);
        return 0;
    }

    /* output: A separate from Z (the loss is computed from the logits Z, as
     * nnfast does), dZ written by the loss loop into da */
    if (alloc_mem(c, &y->a, &dst, l, f) || alloc_mem(c, &y->da, &dst, l, f))
        return -1;
    if (y->act == NNF_ACT_SIGMOID) {
        dnnl_eltwise_desc_t ed;
        OK(dnnl_eltwise_forward_desc_init(&ed, dnnl_forward_training, dnnl_eltwise_logistic, &dst,
                                          0.0f, 0.0f),
           "logistic desc");
        OK(dnnl_primitive_desc_create(&pd, &ed, NULL, c->eng, NULL), "logistic pd");
    } else if (y->act == NNF_ACT_SOFTMAX) {
        dnnl_softmax_v2_desc_t sd;
        OK(dnnl_softmax_v2_forward_desc_init(&sd, dnnl_forward_training, dnnl_softmax_accurate,
                                             &dst, &dst, 1),
           "softmax desc");
        OK(dnnl_primitive_desc_create(&pd, &sd, NULL, c->eng, NULL), "softmax pd");
    } else {
        return fail(f, dnnl_unimplemented, "output activation %d", y->act);
    }
    cmp_info(NAME, bc->name, "layer %zu output fwd: %s", l, impl_of(pd));
    PRIM(y->act_fwd, pd, "output activation");
    dnnl_primitive_desc_destroy(pd);
    return 0;
}

static void destroy(void *v)
{
    ctx *c = v;
    if (c == NULL)
        return;
    for (size_t l = 1; l <= BENCH_MAX_LAYERS; l++) {
        layer *y = &c->ly[l];
        dnnl_primitive_t *p[] = {&y->fwd,   &y->act_fwd, &y->act_bwd, &y->bwd_w,
                                 &y->bwd_d, &y->upd_w,   &y->upd_b};
        for (size_t i = 0; i < sizeof p / sizeof p[0]; i++)
            if (*p[i])
                dnnl_primitive_destroy(*p[i]);
        if (y->a && y->a != y->z)
            dnnl_memory_destroy(y->a);
        dnnl_memory_t *mm[] = {&y->w, &y->b, &y->z, &y->dw, &y->db, &y->da};
        for (size_t i = 0; i < sizeof mm / sizeof mm[0]; i++)
            if (*mm[i])
                dnnl_memory_destroy(*mm[i]);
        free(y->mw);
        free(y->vw);
        free(y->mb);
        free(y->vb);
    }
    if (c->x)
        dnnl_memory_destroy(c->x);
    if (c->strm)
        dnnl_stream_destroy(c->strm);
    if (c->eng)
        dnnl_engine_destroy(c->eng);
    free(c);
}

static void *create(const cmp_problem *p, int threads, char *err, size_t len)
{
    failure fl = {err, len}, *f = &fl;
    ctx *c = calloc(1, sizeof *c);
    if (c == NULL) {
        snprintf(err, len, "out of memory");
        return NULL;
    }
    c->p = p;
    c->L = p->k.c.L;
    c->m = (dnnl_dim_t)p->k.c.m;
    /* before the engine: oneDNN's kernels size their blocking for the threads */
    omp_set_num_threads(threads);
    const char *wenv = getenv("COMPARE_DNNL_WEIGHTS");
    int any = wenv != NULL && strcmp(wenv, "any") == 0;
    size_t l = 0;
    dnnl_status_t s = dnnl_engine_create(&c->eng, dnnl_cpu, 0);
    if (s == dnnl_success)
        s = dnnl_stream_create(&c->strm, c->eng, dnnl_stream_default_flags);
    if (s != dnnl_success) {
        fail(f, s, "creating the CPU engine and stream");
        goto failed;
    }
    dnnl_memory_desc_t xmd;
    md2(&xmd, c->m, (dnnl_dim_t)p->k.c.n[0], dnnl_nc);
    /* x is only read: oneDNN's handle is not const */
    s = dnnl_memory_create(&c->x, &xmd, c->eng, (void *)p->x);
    if (s != dnnl_success) {
        fail(f, s, "wrapping x");
        goto failed;
    }
    for (l = 1; l <= c->L; l++) {
        layer *y = &c->ly[l];
        if (make_layer(c, l, any, f) != 0)
            goto failed;
        if (p->k.opt == NNF_OPT_SGD) {
            if (make_sgd(c, y->w, &y->upd_w, l, f) || make_sgd(c, y->b, &y->upd_b, l, f))
                goto failed;
        } else {
            y->mw = calloc(y->w_len, sizeof(float));
            y->vw = calloc(y->w_len, sizeof(float));
            y->mb = calloc((size_t)y->n_out, sizeof(float));
            y->vb = calloc((size_t)y->n_out, sizeof(float));
            if (!y->mw || !y->vw || !y->mb || !y->vb) {
                snprintf(err, len, "out of memory for Adam's state");
                goto failed;
            }
        }
    }
    const dnnl_version_t *ver = dnnl_version();
    cmp_info(NAME, p->k.c.name, "oneDNN %d.%d.%d, cpu runtime %s, omp threads %d, weights %s",
             ver->major, ver->minor, ver->patch, dnnl_runtime2str(ver->cpu_runtime),
             omp_get_max_threads(), any ? "any" : "oi");
    return c;
failed:
    destroy(c);
    return NULL;
}

static int exec(ctx *c, dnnl_primitive_t prim, int n, const dnnl_exec_arg_t *args)
{
    dnnl_status_t s = dnnl_primitive_execute(prim, c->strm, n, args);
    if (s != dnnl_success) {
        fprintf(stderr, NAME ": dnnl_primitive_execute: %s\n", dnnl_status2str(s));
        return -1;
    }
    return 0;
}

static int forward(ctx *c)
{
    for (size_t l = 1; l <= c->L; l++) {
        layer *y = &c->ly[l];
        dnnl_memory_t in = l == 1 ? c->x : c->ly[l - 1].a;
        dnnl_exec_arg_t a_ip[] = {{DNNL_ARG_SRC, in},
                                  {DNNL_ARG_WEIGHTS, y->w},
                                  {DNNL_ARG_BIAS, y->b},
                                  {DNNL_ARG_DST, y->z}};
        if (exec(c, y->fwd, 4, a_ip) != 0)
            return -1;
        if (y->act_fwd) {
            dnnl_exec_arg_t a_act[] = {{DNNL_ARG_SRC, y->z}, {DNNL_ARG_DST, y->a}};
            if (exec(c, y->act_fwd, 2, a_act) != 0)
                return -1;
        }
    }
    return 0;
}

/* J from the logits Z[L] (cmp_cost_from_logits: nnfast's stable formulas);
 * with dz != NULL also dZ[L] = (A - Y) / m. */
static double loss_and_dz(ctx *c, float *dz)
{
    const layer *y = &c->ly[c->L];
    const float *z = data_of(y->z), *a = data_of(y->a), *lab = c->p->y;
    size_t m = (size_t)c->m, k = (size_t)y->n_out;
    double cost = cmp_cost_from_logits(&c->p->k.c, z, lab);
    if (dz) {
        float inv_m = 1.0f / (float)m;
        for (size_t i = 0; i < m * k; i++)
            dz[i] = (a[i] - lab[i]) * inv_m;
    }
    return cost;
}

static int backward(ctx *c)
{
    for (size_t l = c->L; l >= 1; l--) {
        layer *y = &c->ly[l];
        dnnl_memory_t in = l == 1 ? c->x : c->ly[l - 1].a;
        if (l < c->L && y->act_bwd) {
            dnnl_exec_arg_t a[] = {{DNNL_ARG_DST, y->a},
                                   {DNNL_ARG_DIFF_DST, y->da},
                                   {DNNL_ARG_DIFF_SRC, y->da}};
            if (exec(c, y->act_bwd, 3, a) != 0)
                return -1;
        }
        dnnl_exec_arg_t a_w[] = {{DNNL_ARG_SRC, in},
                                 {DNNL_ARG_DIFF_DST, y->da},
                                 {DNNL_ARG_DIFF_WEIGHTS, y->dw},
                                 {DNNL_ARG_DIFF_BIAS, y->db}};
        if (exec(c, y->bwd_w, 4, a_w) != 0)
            return -1;
        if (l > 1) {
            dnnl_exec_arg_t a_d[] = {{DNNL_ARG_DIFF_DST, y->da},
                                     {DNNL_ARG_WEIGHTS, y->w},
                                     {DNNL_ARG_DIFF_SRC, c->ly[l - 1].da}};
            if (exec(c, y->bwd_d, 3, a_d) != 0)
                return -1;
        }
    }
    return 0;
}

/* nnfast's Adam: W -= lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps). */
static void adam(float *w, const float *g, float *mo, float *ve, size_t n, float lr, float b1,
                 float b2, float c1, float c2, float eps)
{
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        mo[i] = b1 * mo[i] + (1.0f - b1) * g[i];
        ve[i] = b2 * ve[i] + (1.0f - b2) * g[i] * g[i];
        w[i] -= lr * (mo[i] / c1) / (sqrtf(ve[i] / c2) + eps);
    }
}

static int update(ctx *c)
{
    const cmp_case *k = &c->p->k;
    if (k->opt == NNF_OPT_ADAM) {
        c->adam_t++;
        float c1 = (float)(1.0 - pow(k->beta1, c->adam_t));
        float c2 = (float)(1.0 - pow(k->beta2, c->adam_t));
        for (size_t l = 1; l <= c->L; l++) {
            layer *y = &c->ly[l];
            adam(data_of(y->w), data_of(y->dw), y->mw, y->vw, y->w_len, (float)k->lr,
                 (float)k->beta1, (float)k->beta2, c1, c2, (float)k->eps);
            adam(data_of(y->b), data_of(y->db), y->mb, y->vb, (size_t)y->n_out, (float)k->lr,
                 (float)k->beta1, (float)k->beta2, c1, c2, (float)k->eps);
        }
        return 0;
    }
    for (size_t l = 1; l <= c->L; l++) {
        layer *y = &c->ly[l];
        dnnl_exec_arg_t a_w[] = {{DNNL_ARG_MULTIPLE_SRC, y->w},
                                 {DNNL_ARG_MULTIPLE_SRC + 1, y->dw},
                                 {DNNL_ARG_DST, y->w}};
        dnnl_exec_arg_t a_b[] = {{DNNL_ARG_MULTIPLE_SRC, y->b},
                                 {DNNL_ARG_MULTIPLE_SRC + 1, y->db},
                                 {DNNL_ARG_DST, y->b}};
        if (exec(c, y->upd_w, 3, a_w) != 0 || exec(c, y->upd_b, 3, a_b) != 0)
            return -1;
    }
    return 0;
}

static int step(void *v)
{
    ctx *c = v;
    if (forward(c) != 0)
        return -1;
    loss_and_dz(c, data_of(c->ly[c->L].da));
    if (backward(c) != 0 || update(c) != 0)
        return -1;
    dnnl_stream_wait(c->strm);
    return 0;
}

static double loss(void *v)
{
    ctx *c = v;
    if (forward(c) != 0)
        return -1.0;
    dnnl_stream_wait(c->strm);
    return loss_and_dz(c, NULL);
}

int main(int argc, char **argv)
{
    static const cmp_peer peer = {NAME, create, step, loss, destroy};
    return cmp_main(argc, argv, &peer);
}
