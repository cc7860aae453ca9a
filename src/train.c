/* train.c - mini-batch training over a data set (order, batches, progress)
 * and evaluation (cost and accuracy in chunks of the workspace). Arguments
 * were checked by api.c. */
#include "internal.h"

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

/* A step or a chunk failed: restate the message for the whole data set.
 * A non-finite input names its row in the caller's x (the batch's row i is
 * sample rows[i], or first + i when rows is NULL); any other message gets
 * the context prefixed, without repeating the function's name. */
static nnf_status restate(nnf_net *net, nnf_status st, const char *fn, const char *ctx,
                          const float *xb, size_t mb, const size_t *rows, size_t first)
{
    size_t n = net->n_in, bad = st == NNF_ERR_NUMERIC ? nnf__find_nonfinite(xb, n * mb) : n * mb;
    if (bad < n * mb) {
        size_t row = bad / n;
        return nnf__fail(net, st, "%s: %sx[%zu][%zu] is %g (expected a finite value)", fn, ctx,
                         rows ? rows[row] : first + row, bad % n, (double)xb[bad]);
    }
    char msg[sizeof net->errmsg];
    const char *inner = net->errmsg;
    size_t len = strlen(fn);
    if (!strncmp(inner, fn, len) && !strncmp(inner + len, ": ", 2))
        inner += len + 2;
    (void)snprintf(msg, sizeof msg, "%s", inner);
    return nnf__fail(net, st, "%s: %s%s", fn, ctx, msg);
}

/* The order 0..m-1 and the two batch buffers of a shuffled run. */
static nnf_status alloc_shuffle(nnf_net *net, const char *fn, size_t m, size_t batch,
                                size_t **order, float **xb, float **yb)
{
    size_t n_out = net->layers[net->depth - 1]->n_out;
    if (m > SIZE_MAX / sizeof **order)
        return nnf__fail(net, NNF_ERR_SHAPE, "%s: the order of m = %zu samples overflows size_t",
                         fn, m);
    *order = nnf__malloc(m * sizeof **order);
    *xb = nnf__malloc(batch * net->n_in * sizeof(float));
    *yb = nnf__malloc(batch * n_out * sizeof(float));
    if (!*order || !*xb || !*yb)
        return nnf__fail(net, NNF_ERR_NOMEM, "%s: could not allocate the order of %zu samples "
                         "and batch buffers of %zu", fn, m, batch);
    for (size_t i = 0; i < m; i++)
        (*order)[i] = i;
    return NNF_OK;
}

nnf_status nnf__train(nnf_net *net, const float *x, const float *y, size_t m, size_t batch,
                      size_t epochs, int shuffle, uint64_t seed, nnf_progress_fn progress,
                      void *user, size_t *steps)
{
    static const char fn[] = "nnf_net_train";
    size_t n_in = net->n_in, n_out = net->layers[net->depth - 1]->n_out, done = 0;
    size_t *order = NULL;
    float *xb = NULL, *yb = NULL;

    /* Everything is allocated before the first step: NNF_ERR_NOMEM changes nothing. */
    nnf_status st = shuffle ? alloc_shuffle(net, fn, m, batch, &order, &xb, &yb) : NNF_OK;
    if (st == NNF_OK)
        st = nnf__net_reserve(net, fn, batch);

    nnf__rng rng;
    nnf__rng_seed(&rng, seed, SHUFFLE_STREAM);
    int stop = 0;
    for (size_t e = 0; st == NNF_OK && !stop && e < epochs; e++) {
        if (shuffle)
            shuffle_order(order, m, &rng);
        double sum = 0.0; /* sum over the epoch's batches of J_b m_b */
        for (size_t b = 0, first = 0; first < m; b++, first += batch) {
            size_t mb = m - first < batch ? m - first : batch;
            const float *xs = x + first * n_in, *ys = y + first * n_out;
            if (shuffle) {
                gather(xb, x, n_in, order + first, mb);
                gather(yb, y, n_out, order + first, mb);
                xs = xb;
                ys = yb;
            }
            float cost;
            st = nnf__net_step(net, fn, xs, ys, mb, &cost);
            if (st != NNF_OK) {
                char ctx[64];
                (void)snprintf(ctx, sizeof ctx, "epoch %zu, batch %zu: ", e, b);
                st = restate(net, st, fn, ctx, xs, mb, shuffle ? order + first : NULL, first);
                break;
            }
            done++;
            sum += (double)cost * (double)mb;
            if (progress && progress(user, e, b, (float)(sum / (double)(first + mb)))) {
                stop = 1;
                break;
            }
        }
    }
    if (steps)
        *steps = done;
    nnf__free(order);
    nnf__free(xb);
    nnf__free(yb);
    return st;
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

nnf_status nnf__evaluate(nnf_net *net, const float *x, const float *y, size_t m, float *cost,
                         float *accuracy)
{
    static const char fn[] = "nnf_net_evaluate";
    size_t n_in = net->n_in, n_out = net->layers[net->depth - 1]->n_out;
    /* chunks as large as the workspace already is, and at least 256 samples */
    size_t chunk = m < 256 ? m : 256;
    if (net->cap_m > chunk)
        chunk = net->cap_m;
    nnf_status st = nnf__net_reserve(net, fn, chunk);
    if (st != NNF_OK)
        return st;

    double loss = 0.0;
    size_t correct = 0;
    for (size_t first = 0; first < m; first += chunk) {
        size_t mb = m - first < chunk ? m - first : chunk;
        const float *xs = x + first * n_in, *ys = y + first * n_out;
        st = nnf__net_forward(net, fn, xs, mb);
        if (st != NNF_OK)
            return restate(net, st, fn, "", xs, mb, NULL, first);
        loss += nnf__net_loss_sum(net, ys, mb);
        if (net->loss != NNF_LOSS_MSE)
            correct += count_correct(net->loss, nnf__net_output(net), ys, n_out, mb);
    }
    nnf__net_forget(net);

    /* J as a full-batch backward computes it: loss / m + lambda/(2m) sum ||W||^2 */
    double j = loss / (double)m;
    if (net->l2 > 0.0) {
        double sumsq = 0.0;
        for (size_t l = 0; l < net->depth; l++)
            sumsq += nnf__sum_squares(net->layers[l]->wt,
                                      net->layers[l]->n_in * net->layers[l]->n_out);
        j += net->l2 / (2.0 * (double)m) * sumsq;
    }
    float jf = (float)j;
    if (!isfinite(jf))
        return nnf__fail(net, NNF_ERR_NUMERIC, "%s: the cost J = %g is not finite in float: "
                         "the outputs are too far from the labels", fn, j);
    if (cost)
        *cost = jf;
    if (accuracy) {
        size_t total = net->loss == NNF_LOSS_BCE ? m * n_out : m;
        *accuracy = net->loss == NNF_LOSS_MSE ? NAN : (float)((double)correct / (double)total);
    }
    return NNF_OK;
}
