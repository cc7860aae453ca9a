/* SPDX-License-Identifier: MIT */
/* train.c - mini-batch training over a data set (order, batches, progress)
 * (nnf_net_train). */
#include "alloc.h"
#include "batches.h"
#include "check.h"
#include "net.h"
#include "optimizer.h"
#include "pass.h"
#include "workspace.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static nnf_status run(nnf_net *net, const float *x, const float *y, size_t m, size_t batch,
                      size_t epochs, int shuffle, uint64_t seed, nnf_progress_fn progress,
                      void *user, size_t *steps)
{
    size_t n_in = net->n_in, n_out = nnf__output_layer(net)->n_out;
    size_t *order = NULL;
    float *xb = NULL, *yb = NULL;

    /* Everything is allocated before the first step: NNF_ERR_NOMEM changes nothing. */
    nnf_status st = shuffle ? nnf__batches_alloc(net, m, batch, &order, &xb, &yb) : NNF_OK;
    if (st == NNF_OK)
        st = nnf__step_prepare(net, batch);

    nnf__rng rng;
    nnf__rng_seed(&rng, seed, NNF__SHUFFLE_STREAM);
    nnf__position at = {0, 0};
    nnf__call_where(nnf__where_in_run, &at);
    int stop = 0;
    for (at.epoch = 0; st == NNF_OK && !stop && at.epoch < epochs; at.epoch++) {
        if (shuffle)
            nnf__shuffle(order, m, &rng);
        double sum = 0.0; /* sum over the epoch's batches of J_b m_b */
        at.batch = 0;
        for (size_t first = 0; first < m; at.batch++, first += batch) {
            size_t mb = m - first < batch ? m - first : batch;
            const float *xs = x + first * n_in, *ys = y + first * n_out;
            if (shuffle) {
                nnf__gather(xb, x, n_in, order + first, mb);
                nnf__gather(yb, y, n_out, order + first, mb);
                xs = xb;
                ys = yb;
            }
            float cost;
            nnf__pass pass = nnf__direct_pass(net);
            st = nnf__step(net, xs, ys, mb, &cost, &pass, 0.0);
            if (st != NNF_OK)
                break;
            ++*steps;
            nnf__count_pass(net);
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
        st = nnf__check_changeable(net);
    if (st == NNF_OK)
        st = train(net, x, y, m, batch_size, epochs, shuffle, seed, progress, user, &done);
    if (steps)
        *steps = done;
    return nnf__leave(&c, st);
}
