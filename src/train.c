/* SPDX-License-Identifier: MIT */
/* train.c - mini-batch training over a data set (order, batches, progress)
 * and evaluation (cost and accuracy in chunks of the workspace):
 * nnf_net_train and nnf_net_evaluate. */
#include "alloc.h"
#include "check.h"
#include "net.h"
#include "optimizer.h"
#include "pass.h"
#include "workspace.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* The shuffle's stream of nnf__rng: layer initialization uses streams 1..L. */
#define SHUFFLE_STREAM UINT64_C(0x73687566666c65) /* "shuffle" */

/* Uniform in [0, n), n >= 1, without modulo bias: draws below 2^64 mod n
 * are rejected, so the accepted range is a multiple of n. */
static uint64_t rng_below(nnf__rng *r, uint64_t n)
{
    uint64_t reject = (0 - n) % n, v;
    do
        v = nnf__rng_next(r);
    while (v < reject);
    return v % n;
}

/* Fisher-Yates: every permutation of order[0..m) equally likely. */
static void shuffle_order(size_t *order, size_t m, nnf__rng *r)
{
    for (size_t i = m - 1; i > 0; i--) {
        size_t j = (size_t)rng_below(r, (uint64_t)i + 1);
        size_t t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
}

/* Copy rows order[0..mb) of the `float v[m][n]` data set to dst[mb][n]. */
static void gather(float *dst, const float *v, size_t n, const size_t *order, size_t mb)
{
    for (size_t r = 0; r < mb; r++)
        memcpy(dst + r * n, v + order[r] * n, n * sizeof(float));
}

/* Where a run is, for the message of a step that fails. */
typedef struct position {
    size_t epoch, batch;
} position;

static void where_in_run(char *buf, size_t cap, const void *data)
{
    const position *p = data;
    (void)snprintf(buf, cap, "epoch %zu, batch %zu", p->epoch, p->batch);
}

/* The order 0..m-1 and the two batch buffers of a shuffled run. */
static nnf_status alloc_shuffle(const nnf_net *net, size_t m, size_t batch, size_t **order,
                                float **xb, float **yb)
{
    size_t n_out = nnf__output_layer(net)->n_out;
    if (m > SIZE_MAX / sizeof **order)
        return nnf__fail(NNF_ERR_SHAPE, "the order of m = %zu samples overflows size_t", m);
    *order = nnf__malloc(m * sizeof **order);
    *xb = nnf__malloc(batch * net->n_in * sizeof(float));
    *yb = nnf__malloc(batch * n_out * sizeof(float));
    if (!*order || !*xb || !*yb)
        return nnf__fail(NNF_ERR_NOMEM,
                         "could not allocate the order of %zu samples and batch "
                         "buffers of %zu",
                         m, batch);
    for (size_t i = 0; i < m; i++)
        (*order)[i] = i;
    return NNF_OK;
}

static nnf_status run(nnf_net *net, const float *x, const float *y, size_t m, size_t batch,
                      size_t epochs, int shuffle, uint64_t seed, nnf_progress_fn progress,
                      void *user, size_t *steps)
{
    size_t n_in = net->n_in, n_out = nnf__output_layer(net)->n_out;
    size_t *order = NULL;
    float *xb = NULL, *yb = NULL;

    /* Everything is allocated before the first step: NNF_ERR_NOMEM changes nothing. */
    nnf_status st = shuffle ? alloc_shuffle(net, m, batch, &order, &xb, &yb) : NNF_OK;
    if (st == NNF_OK)
        st = nnf__step_prepare(net, batch);

    nnf__rng rng;
    nnf__rng_seed(&rng, seed, SHUFFLE_STREAM);
    position at = {0, 0};
    nnf__call_where(where_in_run, &at);
    int stop = 0;
    for (at.epoch = 0; st == NNF_OK && !stop && at.epoch < epochs; at.epoch++) {
        if (shuffle)
            shuffle_order(order, m, &rng);
        double sum = 0.0; /* sum over the epoch's batches of J_b m_b */
        at.batch = 0;
        for (size_t first = 0; first < m; at.batch++, first += batch) {
            size_t mb = m - first < batch ? m - first : batch;
            const float *xs = x + first * n_in, *ys = y + first * n_out;
            if (shuffle) {
                gather(xb, x, n_in, order + first, mb);
                gather(yb, y, n_out, order + first, mb);
                xs = xb;
                ys = yb;
            }
            float cost;
            st = nnf__step(net, xs, ys, mb, &cost);
            if (st != NNF_OK)
                break;
            ++*steps;
            sum += (double)cost * (double)mb;
            if (progress) {
                uint64_t shape = net->shape;
                stop = progress(user, at.epoch, at.batch, (float)(sum / (double)(first + mb)));
                if (net->shape != shape) /* the batches and checks no longer fit the net */
                    st = nnf__fail(NNF_ERR_STATE,
                                   "the progress function changed the net's layers "
                                   "or loss (it may read, evaluate and predict with the net and "
                                   "change its settings, nothing else)");
                if (stop || st != NNF_OK)
                    break;
            }
        }
    }
    nnf__call_where(NULL, NULL);
    nnf__free(order);
    nnf__free(xb);
    nnf__free(yb);
    return st;
}

static nnf_status train(nnf_net *net, const float *x, const float *y, size_t m, size_t batch_size,
                        size_t epochs, int shuffle, uint64_t seed, nnf_progress_fn progress,
                        void *user, size_t *steps)
{
    if (batch_size == 0)
        return nnf__fail(NNF_ERR_ARG, "batch_size is 0 (expected at least 1)");
    if (epochs == 0)
        return nnf__fail(NNF_ERR_ARG, "epochs is 0 (expected at least 1)");
    /* the batch goes to BLAS; the data set only has to be addressable */
    size_t batch = batch_size < m ? batch_size : m;
    nnf_status st = nnf__check_batch(net, x, batch);
    if (st == NNF_OK) {
        size_t n_out = nnf__output_layer(net)->n_out;
        size_t width = net->n_in > n_out ? net->n_in : n_out;
        if (width > SIZE_MAX / sizeof(float) / m)
            st = nnf__fail(NNF_ERR_SHAPE, "a data set of m = %zu samples overflows size_t", m);
    }
    if (st == NNF_OK)
        st = nnf__check_loss(net);
    if (st == NNF_OK)
        st = nnf__check_labels(net, y, m);
    if (st == NNF_OK) /* bad data fails before the first step, not in epoch 3 */
        st = nnf__check_finite("x", x, net->n_in, m);
    if (st == NNF_OK)
        st = run(net, x, y, m, batch, epochs, shuffle, seed, progress, user, steps);
    return st;
}

NNF_API nnf_status nnf_net_train(nnf_net *net, const float *x, const float *y, size_t m,
                                 size_t batch_size, size_t epochs, int shuffle, uint64_t seed,
                                 nnf_progress_fn progress, void *user, size_t *steps)
{
    nnf__call c;
    size_t done = 0;
    nnf_status st = nnf__enter_compute(&c, __func__, net);
    if (st == NNF_OK)
        st = nnf__check_unserved(net);
    if (st == NNF_OK)
        st = train(net, x, y, m, batch_size, epochs, shuffle, seed, progress, user, &done);
    if (steps)
        *steps = done;
    return nnf__leave(&c, st);
}

/* Correct predictions in a chunk of mb samples: with BCE the output values
 * on the label's side of 0.5, with cross-entropy the samples whose largest
 * output (the first one) is at the largest label. */
static size_t count_correct(nnf_loss loss, const float *a, const float *y, size_t n, size_t mb)
{
    size_t correct = 0;
    if (loss == NNF_LOSS_BCE) {
        for (size_t i = 0; i < n * mb; i++)
            if ((a[i] > 0.5f) == (y[i] > 0.5f))
                correct++;
        return correct;
    }
    for (size_t s = 0; s < mb; s++) {
        const float *as = a + s * n, *ys = y + s * n;
        size_t ka = 0, ky = 0;
        for (size_t k = 1; k < n; k++) {
            if (as[k] > as[ka])
                ka = k;
            if (ys[k] > ys[ky])
                ky = k;
        }
        if (ka == ky)
            correct++;
    }
    return correct;
}

static nnf_status evaluate_chunks(nnf_net *net, const float *x, const float *y, size_t m,
                                  float *cost, float *accuracy)
{
    size_t n_in = net->n_in, n_out = nnf__output_layer(net)->n_out;
    /* chunks as large as the workspace already is, and at least 256 samples */
    size_t chunk = m < 256 ? m : 256;
    if (net->work.cap_m > chunk)
        chunk = net->work.cap_m;
    nnf_status st = nnf__work_reserve(net, &net->work, chunk);
    if (st != NNF_OK)
        return st;
    nnf__forget_forward(net); /* the chunks overwrite it */

    double loss = 0.0;
    size_t correct = 0;
    for (size_t first = 0; first < m; first += chunk) {
        size_t mb = m - first < chunk ? m - first : chunk;
        const float *xs = x + first * n_in, *ys = y + first * n_out;
        st = nnf__forward(net, &net->work, xs, mb);
        if (st == NNF_ERR_NUMERIC) /* name a bad input by its row in the caller's x */
            (void)nnf__check_finite("x", x, n_in, first + mb);
        if (st != NNF_OK)
            return st;
        loss += nnf__loss_sum(net, &net->work, ys, mb);
        if (net->loss != NNF_LOSS_MSE)
            correct += count_correct(net->loss, nnf__output(net, &net->work), ys, n_out, mb);
    }

    /* J as a full-batch backward computes it: loss / m + lambda/(2m) sum ||W||^2 */
    double j = loss / (double)m + nnf__l2_cost(net, m);
    float jf = (float)j;
    if (!isfinite(jf))
        return nnf__fail(NNF_ERR_NUMERIC,
                         "the cost J = %g is not finite in float: the outputs "
                         "are too far from the labels",
                         j);
    if (cost)
        *cost = jf;
    if (accuracy) {
        size_t total = net->loss == NNF_LOSS_BCE ? m * n_out : m;
        *accuracy = net->loss == NNF_LOSS_MSE ? NAN : (float)((double)correct / (double)total);
    }
    return NNF_OK;
}

static nnf_status evaluate(nnf_net *net, const float *x, const float *y, size_t m, float *cost,
                           float *accuracy)
{
    nnf_status st = nnf__check_labeled_batch(net, x, y, m);
    if (st == NNF_OK)
        st = evaluate_chunks(net, x, y, m, cost, accuracy);
    return st;
}

NNF_API nnf_status nnf_net_evaluate(nnf_net *net, const float *x, const float *y, size_t m,
                                    float *cost, float *accuracy)
{
    nnf__call c;
    nnf_status st = nnf__enter_compute(&c, __func__, net);
    if (st == NNF_OK)
        st = evaluate(net, x, y, m, cost, accuracy);
    return nnf__leave(&c, st);
}
