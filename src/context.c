/* SPDX-License-Identifier: MIT */
/* context.c - inference contexts: one thread's activations for predicting
 * with a net that many threads read at once. A context holds the net (one
 * of its holders, net.h), so the layers and parameters it reads outlive the
 * handle; while any context lives, the calls that would change them are
 * refused (nnf__check_changeable). A prediction takes no hold on the net, so
 * contexts never contend with each other or with the net's own reads. */
#include "alloc.h"
#include "check.h"
#include "pass.h"
#include "workspace.h"

#include <limits.h>
#include <string.h>

struct nnf_ctx {
    nnf_net *net;     /* read only, never changed through the context */
    size_t max_batch; /* samples its workspace holds */
    nnf__work work;   /* the forward-only layout (workspace.h) */
    nnf__guard guard; /* a context is used by one thread at a time */
    char errmsg[NNF__MSG_MAX];
};

static nnf_status create(const nnf_net *net, size_t max_batch, nnf_ctx **out)
{
    if (!out)
        return nnf__fail(NNF_ERR_ARG, "out is NULL (expected a place for the new context)");
    if (max_batch == 0)
        return nnf__fail(NNF_ERR_ARG, "max_batch is 0 (expected at least one sample)");
    if (net->depth == 0)
        return nnf__fail(NNF_ERR_STATE, "the net has no layer (add one with nnf_net_add_dense)");
    if (nnf__guard_writing(net->guard))
        return nnf__fail(NNF_ERR_STATE, "the net is being changed by the call this one is nested "
                                        "in (expected a context made outside that call)");
    if (max_batch > INT_MAX)
        return nnf__fail(NNF_ERR_SHAPE, "max_batch = %zu exceeds BLAS's limit of %d samples",
                         max_batch, INT_MAX);
    nnf_status st;
    nnf_ctx *ctx = nnf__malloc(sizeof *ctx);
    if (!ctx)
        return nnf__fail(NNF_ERR_NOMEM, "could not allocate the context");
    memset(ctx, 0, sizeof *ctx);
    ctx->work.block = nnf__work_alloc_alternating(net, max_batch, ctx->work.alt_rows, &st);
    if (!ctx->work.block) {
        nnf__free(ctx);
        return st;
    }
    ctx->work.cap_m = max_batch;
    ctx->max_batch = max_batch;
    ctx->guard.busy = "context is in use by another thread (a context serves one thread at a "
                      "time: give each thread its own)";
    /* the only write to a shared net: the holders, atomically */
    ctx->net = (nnf_net *)net;
    atomic_fetch_add_explicit(&ctx->net->holders, 1, memory_order_relaxed);
    *out = ctx;
    return NNF_OK;
}

NNF_API nnf_status nnf_ctx_create(const nnf_net *net, size_t max_batch, nnf_ctx **out)
{
    nnf__call c;
    if (out)
        *out = NULL;
    nnf_status st = nnf__enter_read(&c, __func__, net);
    if (st == NNF_OK)
        st = create(net, max_batch, out);
    return nnf__leave(&c, st);
}

NNF_API void nnf_ctx_destroy(nnf_ctx *ctx)
{
    if (!ctx)
        return;
    nnf_net *net = ctx->net;
    nnf__work_free(&ctx->work);
    nnf__free(ctx);
    nnf__net_release(net);
}

/* The net's own predict, in the context's workspace: the same kernels on the
 * same shapes give the same bits. */
static nnf_status predict(nnf_ctx *ctx, const float *x, size_t m, float *y)
{
    const nnf_net *net = ctx->net;
    nnf_status st = nnf__check_batch(net, x, m);
    if (st == NNF_OK && !y)
        st = nnf__fail(NNF_ERR_ARG, "y is NULL (expected m x %zu floats)",
                       nnf__output_layer(net)->n_out);
    if (st == NNF_OK && m > ctx->max_batch)
        st = nnf__fail(NNF_ERR_SHAPE, "m = %zu exceeds the context's max_batch = %zu", m,
                       ctx->max_batch);
    if (st == NNF_OK)
        st = nnf__call_compute();
    if (st == NNF_OK)
        st = nnf__forward(net, &ctx->work, x, m, NULL);
    if (st == NNF_OK)
        memcpy(y, nnf__output(net, &ctx->work), nnf__output_layer(net)->n_out * m * sizeof(float));
    return st;
}

NNF_API nnf_status nnf_ctx_predict(nnf_ctx *ctx, const float *x, size_t m, float *y)
{
    nnf__call c;
    nnf__enter(&c, __func__, NULL, 0, NULL, 0);
    nnf_status st =
        ctx ? nnf__guard_hold(&c, &ctx->guard, 1) : nnf__fail(NNF_ERR_ARG, "ctx is NULL");
    if (st == NNF_OK) { /* the call owns the context: its failures are stored there */
        c.dst = ctx->errmsg;
        c.cap = sizeof ctx->errmsg;
        st = predict(ctx, x, m, y);
    }
    return nnf__leave(&c, st);
}

NNF_API const char *nnf_ctx_errmsg(const nnf_ctx *ctx)
{
    return ctx ? ctx->errmsg : "ctx is NULL";
}

NNF_API size_t nnf_ctx_max_batch(const nnf_ctx *ctx)
{
    return ctx ? ctx->max_batch : 0;
}
