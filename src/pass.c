/* SPDX-License-Identifier: MIT */
/* pass.c - forward and backward propagation over the layers, the update, and
 * the public calls that run them: nnf_net_forward, nnf_net_backward,
 * nnf_net_update, nnf_net_train_step and nnf_net_predict. */
#include "pass.h"
#include "arena.h"
#include "alloc.h"
#include "check.h"
#include "dense.h"
#include "exchange.h"
#include "optimizer.h"
#include "workspace.h"

#include <math.h>
#include <string.h>

const float *nnf__output(const nnf_net *net, const nnf__work *w)
{
    return nnf__work_a(w, nnf__output_layer(net));
}

/* Why the forward pass stopped at layer l (0-based): name the bad value. A
 * NaN or infinity anywhere in x always reaches Z[1] (NaN times any weight is
 * NaN, infinity times zero is NaN), so the pass does not scan a wide x up
 * front: it checks the small Z[l] in the pass that already reads it, and
 * only on failure looks for the cause. */
static nnf_status forward_failure(const nnf_net *net, const nnf__work *w, const float *x, size_t m,
                                  size_t l)
{
    const nnf_layer *ly = net->layers[l];
    if (l == 0 && nnf__check_finite("x", x, net->n_in, m) != NNF_OK)
        return NNF_ERR_NUMERIC;
    if (l + 1 == net->depth) {
        const float *logits = nnf__work_logits(net, w);
        size_t n = ly->n_out * m, k = nnf__find_nonfinite(logits, n);
        if (k < n)
            return nnf__fail(NNF_ERR_NUMERIC,
                             "the output A[%zu] of sample %zu, unit %zu is not "
                             "finite (Z = %g): the weights or inputs are too large",
                             net->depth, k / ly->n_out, k % ly->n_out, (double)logits[k]);
    }
    return nnf__fail(NNF_ERR_NUMERIC,
                     "the pre-activation Z[%zu] of layer %zu is not finite: "
                     "the weights or inputs are too large",
                     l + 1, l + 1);
}

/* Hidden layers compute Z in place in A's matrix; the output layer keeps its
 * logits apart for the stable BCE and cross-entropy. */
/* x through the input scaling: (x - mean) / std per feature (a zero std
 * is stored as 1), into w's input matrix. */
static const float *scaled_input(const nnf_net *net, nnf__work *w, const float *x, size_t m,
                                 const nnf__pass *pass)
{
    if (!net->scale || (pass && pass->x_scaled))
        return x;
    float *xs = nnf__work_input(net, w);
    nnf__standardize(xs, x, net->scale, net->scale + net->n_in, net->n_in, m);
    return xs;
}

nnf_status nnf__forward(const nnf_net *net, nnf__work *w, const float *x, size_t m,
                        const nnf__pass *pass)
{
    const float *a_in = scaled_input(net, w, x, m, pass);
    for (size_t l = 0; l < net->depth; l++) {
        const nnf_layer *ly = net->layers[l];
        float *a = nnf__work_a(w, ly);
        float *z = l + 1 == net->depth ? nnf__work_logits(net, w) : a;
        nnf__dropout d;
        if (nnf__dense_forward(ly, a_in, z, a, m, nnf__work_pad(net, w),
                               nnf__pass_dropout(net, pass, l, &d)))
            return forward_failure(net, w, x, m, l);
        a_in = a;
    }
    return NNF_OK;
}

nnf__pass nnf__direct_pass(const nnf_net *net)
{
    nnf__pass p = {1, 0, net->seed, net->epochs, net->passes};
    return p;
}

/* The forward pass in the net's own workspace, kept for a backward. */
static nnf_status net_forward(nnf_net *net, const float *x, size_t m, const nnf__pass *pass)
{
    nnf__forget_forward(net); /* overwritten by the pass, whatever happens */
    nnf_status st = nnf__forward(net, &net->work, x, m, pass);
    if (st == NNF_OK) {
        net->fwd_m = m;
        net->fwd_x = net->scale && !pass->x_scaled ? nnf__work_input(net, &net->work) : x;
        net->fwd_pass = *pass;
    }
    return st;
}

/* BCE and cross-entropy from the logits (stable), MSE from A[L]. */
double nnf__loss_sum(const nnf_net *net, const nnf__work *w, const float *y, size_t m)
{
    const nnf_layer *out = nnf__output_layer(net);
    switch (net->loss) {
    case NNF_LOSS_BCE: return nnf__bce_sum(nnf__work_logits(net, w), y, out->n_out * m);
    case NNF_LOSS_CROSS_ENTROPY: return nnf__ce_sum(nnf__work_logits(net, w), y, out->n_out, m);
    default: return nnf__mse_sum(nnf__output(net, w), y, out->n_out * m);
    }
}

/* The loss summed over the batch, and dZ[L] into the logits matrix (A[L]
 * stays intact). Sigmoid + BCE: dZ = A - Y. Softmax + cross-entropy:
 * dZ = A sum_k y_k - Y. MSE: dZ = (A - Y) * g'(A). */
static double output_layer_grad(nnf_net *net, const float *y, size_t m)
{
    const nnf_layer *out = nnf__output_layer(net);
    const float *a = nnf__output(net, &net->work);
    float *dz = nnf__work_logits(net, &net->work);
    size_t n = out->n_out * m;
    double sum = nnf__loss_sum(net, &net->work, y, m);
    if (net->loss == NNF_LOSS_CROSS_ENTROPY)
        nnf__ce_output_grad(a, y, dz, out->n_out, m);
    else
        nnf__output_grad(a, y, dz, n);
    if (net->loss == NNF_LOSS_MSE)
        nnf__act_backward(out->act, out->alpha, a, dz, n);
    return sum;
}

/* J from the loss summed over samples, the penalty's gradient added: the
 * end of every backward, after the exchange (if any) has replaced the
 * sums by those of more samples. */
static nnf_status finish_backward(nnf_net *net, double loss, double samples, float *cost)
{
    double j = loss / samples + nnf__l2_apply(net, samples);
    float jf = (float)j;
    if (!isfinite(jf)) {
        net->grads_state = NNF__GRADS_NONE;
        return nnf__fail(NNF_ERR_NUMERIC,
                         "the cost J = %g is not finite in float: the outputs "
                         "are too far from the labels",
                         j);
    }
    net->grads_state = NNF__GRADS_FRESH;
    if (cost)
        *cost = jf;
    return NNF_OK;
}

/* docs/math.md's backward for l = L..1. dZ[L] is in the logits matrix; for
 * l < L, dZ[l] overwrites A[l] once dW[l+1] has used it, and dA[l-1] goes
 * to the scratch matrix. So backward uses the stored forward pass up. */
static nnf_status backward(nnf_net *net, const float *y, float *cost, int exchange)
{
    size_t m = net->fwd_m;
    nnf__work *w = &net->work;
    float *scratch = nnf__work_scratch(net, w);
    double loss = output_layer_grad(net, y, m), samples = (double)m;
    float *dz = nnf__work_logits(net, w);
    for (size_t l = net->depth; l-- > 0;) {
        nnf_layer *ly = net->layers[l];
        const float *a_in = l ? nnf__work_a(w, net->layers[l - 1]) : net->fwd_x;
        nnf__dense_backward(ly, a_in, dz, l ? scratch : NULL, m, /* dA[0] is never needed */
                            nnf__work_pad(net, w));
        if (l) {
            nnf_layer *prev = net->layers[l - 1];
            float *a_prev = nnf__work_a(w, prev);
            /* dZ[l-1] = dA[l-1] * g'(A[l-1]), written over A[l-1] */
            nnf__dropout d;
            nnf__dense_deriv_over_a(prev, a_prev, scratch, m,
                                    nnf__pass_dropout(net, &net->fwd_pass, l - 1, &d));
            dz = a_prev;
        }
    }
    nnf__forget_forward(net);
    if (exchange && net->exchange) {
        nnf_status st = nnf__exchange_step(net, &loss, &samples);
        if (st != NNF_OK)
            return st;
    }
    return finish_backward(net, loss, samples, cost);
}

/* A step without samples (m = 0, allowed with an exchange function): a
 * zero gradient, which the exchange replaces by the others'. */
static nnf_status empty_backward(nnf_net *net, float *cost)
{
    double loss = 0.0, samples = 0.0;
    memset(net->grads, 0, net->n_floats * sizeof(float));
    nnf__forget_forward(net);
    nnf_status st = nnf__exchange_step(net, &loss, &samples);
    return st == NNF_OK ? finish_backward(net, loss, samples, cost) : st;
}

nnf_status nnf__step_prepare(nnf_net *net, size_t m)
{
    nnf_status st, st_g, st_s;
    float *work = nnf__work_alloc(net, &net->work, m, &st);
    float *grads = st == NNF_OK ? nnf__arena_grads_alloc(net, &st_g) : NULL;
    float *state = st == NNF_OK && st_g == NNF_OK ? nnf__optim_state_alloc(net, &st_s) : NULL;
    if (st == NNF_OK)
        st = st_g != NNF_OK ? st_g : st_s;
    if (st != NNF_OK) {
        nnf__free(work);
        nnf__free(grads);
        nnf__free(state);
        return st;
    }
    if (work)
        nnf__work_install(net, &net->work, work, m);
    nnf__arena_grads_install(net, grads);
    nnf__optim_state_install(net, state);
    return NNF_OK;
}

/* g = g min(1, clip / ||g||) over the whole gradient arena (its padding is
 * 0): the global norm of the weights' and biases' gradients, in double. A
 * norm that is not finite is left to the update's check. */
static void clip_gradients(nnf_net *net, double clip)
{
    double norm = sqrt(nnf__sum_squares(net->grads, net->n_floats));
    if (clip > 0.0 && isfinite(norm) && norm > clip)
        nnf__scale(net->grads, net->n_floats, (float)(clip / norm));
}

nnf_status nnf__gradient(nnf_net *net, const float *x, const float *y, size_t m)
{
    nnf__pass pass = {0, 0, 0, 0, 0}; /* a prediction's pass, kept for the backward */
    nnf_status st = nnf__step_prepare(net, m);
    if (st == NNF_OK)
        st = net_forward(net, x, m, &pass);
    return st == NNF_OK ? backward(net, y, NULL, 1) : nnf__exchange_failure(net, st);
}

nnf_status nnf__step(nnf_net *net, const float *x, const float *y, size_t m, float *cost,
                     const nnf__pass *pass, double clip)
{
    nnf_status st = nnf__step_prepare(net, m);
    int exchanged = 0; /* an exchange function hears of every step once */
    if (st == NNF_OK && m == 0) {
        exchanged = 1;
        st = empty_backward(net, cost);
    } else {
        if (st == NNF_OK)
            st = net_forward(net, x, m, pass);
        if (st == NNF_OK) {
            exchanged = 1;
            st = backward(net, y, cost, 1);
        }
    }
    if (st != NNF_OK && !exchanged)
        return nnf__exchange_failure(net, st);
    if (st == NNF_OK && clip > 0.0)
        clip_gradients(net, clip);
    if (st == NNF_OK) /* also finds a non-finite gradient */
        st = nnf__optim_update(net);
    return st;
}

/* ---- the public calls */

static void copy_output(const nnf_net *net, float *y, size_t m)
{
    if (y)
        memcpy(y, nnf__output(net, &net->work), nnf__output_layer(net)->n_out * m * sizeof(float));
}

/* The workspace and a copy of x (backward needs A[0] after this call
 * returns; with input scaling the scaled x in the workspace is that copy)
 * are both allocated before either is installed, so that a failure changes
 * nothing: a stored forward pass survives it. */
static nnf_status forward(nnf_net *net, const float *x, size_t m, float *y)
{
    nnf_status st = nnf__check_batch(net, x, m);
    if (st == NNF_OK)
        st = nnf__check_x_keeps_forward(net, x, m);
    float *block = st == NNF_OK ? nnf__work_alloc(net, &net->work, m, &st) : NULL;
    if (st != NNF_OK)
        return st;
    size_t nx = net->n_in * m;
    if (!net->scale && nx > net->x_cap) {
        float *copy = nnf__malloc(nx * sizeof(float));
        if (!copy) {
            nnf__free(block);
            return nnf__fail(NNF_ERR_NOMEM, "could not allocate %zu bytes for x",
                             nx * sizeof(float));
        }
        nnf__free(net->x_copy);
        net->x_copy = copy;
        net->x_cap = nx;
    }
    if (block)
        nnf__work_install(net, &net->work, block, m);
    if (!net->scale)
        memcpy(net->x_copy, x, nx * sizeof(float));
    nnf__pass pass = nnf__direct_pass(net);
    st = net_forward(net, net->scale ? x : net->x_copy, m, &pass);
    if (st == NNF_OK) {
        nnf__count_pass(net);
        copy_output(net, y, m);
    }
    return st;
}

NNF_API nnf_status nnf_net_forward(nnf_net *net, const float *x, size_t m, float *y)
{
    nnf__call c;
    nnf_status st = nnf__enter_compute(&c, __func__, net);
    if (st == NNF_OK)
        st = forward(net, x, m, y);
    return nnf__leave(&c, st);
}

static nnf_status backward_checked(nnf_net *net, const float *y, float *cost)
{
    if (!net->fwd_m)
        return nnf__fail(NNF_ERR_STATE, "no forward pass to differentiate (call nnf_net_forward "
                                        "first; each backward uses one up)");
    nnf_status st = nnf__check_loss(net);
    if (st == NNF_OK)
        st = nnf__check_labels(net, y, net->fwd_m);
    if (st == NNF_OK)
        nnf__arena_grads_install(net, nnf__arena_grads_alloc(net, &st));
    if (st == NNF_OK)
        st = backward(net, y, cost, 0);
    if (st == NNF_OK)
        st = nnf__grads_check(net);
    return st;
}

NNF_API nnf_status nnf_net_backward(nnf_net *net, const float *y, float *cost)
{
    nnf__call c;
    nnf_status st = nnf__enter_compute(&c, __func__, net);
    if (st == NNF_OK)
        st = backward_checked(net, y, cost);
    return nnf__leave(&c, st);
}

NNF_API nnf_status nnf_net_update(nnf_net *net)
{
    nnf__call c;
    nnf_status st = nnf__enter_write(&c, __func__, net);
    if (st == NNF_OK)
        st = nnf__check_changeable(net);
    if (st == NNF_OK && net->grads_state == NNF__GRADS_NONE)
        st = nnf__fail(NNF_ERR_STATE, "no gradient (call nnf_net_backward first)");
    else if (st == NNF_OK && net->grads_state == NNF__GRADS_APPLIED)
        st = nnf__fail(NNF_ERR_STATE, "these gradients were already applied (call "
                                      "nnf_net_backward again)");
    if (st == NNF_OK)
        st = nnf__optim_update(net);
    return nnf__leave(&c, st);
}

static nnf_status train_step(nnf_net *net, const float *x, const float *y, size_t m, float *cost)
{
    /* with an exchange function a net may contribute no samples */
    nnf_status st = m == 0 && net->exchange && net->depth ? nnf__check_loss(net)
                                                          : nnf__check_labeled_batch(net, x, y, m);
    if (st != NNF_OK)
        return nnf__exchange_failure(net, st);
    nnf__pass pass = nnf__direct_pass(net);
    if (st == NNF_OK) /* x is the caller's: it is read in this call only, never kept */
        st = nnf__step(net, x, y, m, cost, &pass, 0.0);
    if (st == NNF_OK)
        nnf__count_pass(net);
    return st;
}

NNF_API nnf_status nnf_net_train_step(nnf_net *net, const float *x, const float *y, size_t m,
                                      float *cost)
{
    nnf__call c;
    nnf_status st = nnf__enter_compute(&c, __func__, net);
    if (st == NNF_OK)
        st = nnf__check_changeable(net);
    if (st == NNF_OK)
        st = train_step(net, x, y, m, cost);
    return nnf__leave(&c, st);
}

static nnf_status predict(nnf_net *net, const float *x, size_t m, float *y)
{
    nnf_status st = nnf__check_batch(net, x, m);
    if (st == NNF_OK && !y)
        st = nnf__fail(NNF_ERR_ARG, "y is NULL (expected m x %zu floats)",
                       nnf__output_layer(net)->n_out);
    if (st == NNF_OK)
        st = nnf__check_x_keeps_forward(net, x, m);
    if (st == NNF_OK)
        st = nnf__work_reserve(net, &net->work, m);
    if (st != NNF_OK)
        return st;
    nnf__forget_forward(net); /* the workspace is shared with training */
    st = nnf__forward(net, &net->work, x, m, NULL);
    if (st == NNF_OK)
        copy_output(net, y, m);
    return st;
}

NNF_API nnf_status nnf_net_predict(nnf_net *net, const float *x, size_t m, float *y)
{
    nnf__call c;
    nnf_status st = nnf__enter_compute(&c, __func__, net);
    if (st == NNF_OK)
        st = predict(net, x, m, y);
    return nnf__leave(&c, st);
}
