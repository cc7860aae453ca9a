/* SPDX-License-Identifier: MIT */
/* metrics.c - measuring a net on labelled data, in chunks of its workspace
 * and in double (loss, cost, accuracy, RMSE, MAE, R^2: nnf_net_metrics and
 * nnf_net_evaluate, and a trainer's validation), and class labels from its
 * outputs (nnf_net_classify). */
#include "metrics.h"
#include "alloc.h"
#include "check.h"
#include "optimizer.h"
#include "pass.h"
#include "workspace.h"

#include <math.h>
#include <string.h>

/* The largest of n outputs (the first of equal ones). */
static size_t argmax(const float *a, size_t n)
{
    size_t k = 0;
    for (size_t i = 1; i < n; i++)
        if (a[i] > a[k])
            k = i;
    return k;
}

/* Right answers in a chunk of mb samples: for a sigmoid output the output
 * values on the label's side of 0.5 (both above it, or neither), for a
 * softmax output the samples whose largest output is at their largest
 * label (nnfast.h, NNF_METRIC_ACCURACY: by the output, whatever the loss). */
static size_t count_correct(nnf_act act, const float *a, const float *y, size_t n, size_t mb)
{
    size_t correct = 0;
    if (act == NNF_ACT_SIGMOID) {
        for (size_t i = 0; i < n * mb; i++)
            correct += (a[i] > 0.5f) == (y[i] > 0.5f);
        return correct;
    }
    for (size_t s = 0; s < mb; s++)
        correct += argmax(a + s * n, n) == argmax(y + s * n, n);
    return correct;
}

/* Per output unit: the labels' mean (first pass), then sum (y - mean)^2. */
static void label_spread(const float *y, size_t n, size_t m, double *mean, double *ss_tot)
{
    memset(mean, 0, n * sizeof(double));
    memset(ss_tot, 0, n * sizeof(double));
    for (size_t s = 0; s < m; s++)
        for (size_t k = 0; k < n; k++)
            mean[k] += (double)y[s * n + k];
    for (size_t k = 0; k < n; k++)
        mean[k] /= (double)m;
    for (size_t s = 0; s < m; s++)
        for (size_t k = 0; k < n; k++) {
            double d = (double)y[s * n + k] - mean[k];
            ss_tot[k] += d * d;
        }
}

nnf_status nnf__measure(nnf_net *net, const float *x, const float *y, size_t m, double *ss,
                        nnf__measures *out)
{
    size_t n_in = net->n_in, n_out = nnf__output_layer(net)->n_out;
    nnf_act act = (nnf_act)nnf__output_layer(net)->act;
    /* chunks as large as the workspace already is, and at least 256 samples */
    size_t chunk = m < 256 ? m : 256;
    if (net->work.cap_m > chunk)
        chunk = net->work.cap_m;
    nnf_status st = nnf__work_reserve(net, &net->work, chunk);
    if (st != NNF_OK)
        return st;
    nnf__forget_forward(net); /* the chunks overwrite it */
    memset(out, 0, sizeof *out);
    if (ss)
        memset(ss, 0, n_out * sizeof(double));
    for (size_t first = 0; first < m; first += chunk) {
        size_t mb = m - first < chunk ? m - first : chunk;
        const float *xs = x + first * n_in, *ys = y + first * n_out;
        st = nnf__forward(net, &net->work, xs, mb, NULL);
        if (st == NNF_ERR_NUMERIC) /* name a bad input by its row in the caller's x */
            (void)nnf__check_finite("x", x, n_in, first + mb);
        if (st != NNF_OK)
            return st;
        const float *a = nnf__output(net, &net->work);
        out->loss += nnf__loss_sum(net, &net->work, ys, mb);
        if (act == NNF_ACT_SIGMOID || act == NNF_ACT_SOFTMAX)
            out->correct += (double)count_correct(act, a, ys, n_out, mb);
        for (size_t i = 0; i < n_out * mb; i++) {
            double d = (double)a[i] - (double)ys[i];
            out->sq_err += d * d;
            out->abs_err += fabs(d);
            if (ss)
                ss[i % n_out] += d * d;
        }
    }
    out->samples = (double)m;
    out->answers = act == NNF_ACT_SIGMOID   ? (double)(m * n_out)
                   : act == NNF_ACT_SOFTMAX ? (double)m
                                            : 0.0;
    return NNF_OK;
}

/* values[0..n_values) from the sums (NaN for what is not defined). */
static nnf_status fill(nnf_net *net, const nnf__measures *s, const double *ss_res,
                       const double *ss_tot, size_t n_out, double *values, size_t n_values)
{
    double m = s->samples, units = m * (double)n_out;
    double loss = s->loss / m, cost = loss + nnf__l2_cost(net, m);
    if (!isfinite((float)cost))
        return nnf__fail(NNF_ERR_NUMERIC,
                         "the cost J = %g is not finite in float: the outputs are too far from "
                         "the labels",
                         cost);
    double r2 = (double)NAN;
    if (ss_res) {
        r2 = 0.0;
        for (size_t k = 0; k < n_out && !isnan(r2); k++)
            r2 = ss_tot[k] > 0.0 ? r2 + (1.0 - ss_res[k] / ss_tot[k]) / (double)n_out : (double)NAN;
    }
    const double all[NNF_METRIC_COUNT] = {
        [NNF_METRIC_LOSS] = loss,
        [NNF_METRIC_COST] = cost,
        [NNF_METRIC_ACCURACY] = s->answers > 0.0 ? s->correct / s->answers : (double)NAN,
        [NNF_METRIC_RMSE] = sqrt(s->sq_err / units),
        [NNF_METRIC_MAE] = s->abs_err / units,
        [NNF_METRIC_R2] = r2,
    };
    for (size_t k = 0; k < n_values; k++)
        values[k] = k < NNF_METRIC_COUNT ? all[k] : (double)NAN;
    return NNF_OK;
}

static nnf_status metrics(nnf_net *net, const float *x, const float *y, size_t m, double *values,
                          size_t n_values)
{
    nnf_status st = nnf__check_labeled_batch(net, x, y, m);
    if (st == NNF_OK && n_values && !values)
        st = nnf__fail(NNF_ERR_ARG, "values is NULL (expected %zu doubles)", n_values);
    if (st != NNF_OK)
        return st;
    size_t n_out = nnf__output_layer(net)->n_out;
    double *r2 = NULL; /* per output unit: ss_res, the labels' mean, ss_tot */
    if (n_values > NNF_METRIC_R2) {
        r2 = nnf__malloc(3 * n_out * sizeof(double));
        if (!r2)
            return nnf__fail(NNF_ERR_NOMEM, "could not allocate %zu bytes for R^2",
                             3 * n_out * sizeof(double));
        label_spread(y, n_out, m, r2 + n_out, r2 + 2 * n_out);
    }
    nnf__measures s;
    st = nnf__measure(net, x, y, m, r2, &s);
    if (st == NNF_OK)
        st = fill(net, &s, r2, r2 ? r2 + 2 * n_out : NULL, n_out, values, n_values);
    nnf__free(r2);
    return st;
}

NNF_API nnf_status nnf_net_metrics(nnf_net *net, const float *x, const float *y, size_t m,
                                   double *values, size_t n_values)
{
    nnf__call c;
    nnf_status st = nnf__enter_compute(&c, __func__, net);
    if (st == NNF_OK)
        st = metrics(net, x, y, m, values, n_values);
    return nnf__leave(&c, st);
}

NNF_API nnf_status nnf_net_evaluate(nnf_net *net, const float *x, const float *y, size_t m,
                                    float *cost, float *accuracy)
{
    nnf__call c;
    double v[NNF_METRIC_ACCURACY + 1];
    nnf_status st = nnf__enter_compute(&c, __func__, net);
    if (st == NNF_OK)
        st = metrics(net, x, y, m, v, NNF_METRIC_ACCURACY + 1);
    if (st == NNF_OK && cost)
        *cost = (float)v[NNF_METRIC_COST];
    if (st == NNF_OK && accuracy) /* 1.2's accuracy: NaN with MSE, whatever the output */
        *accuracy = net->loss == NNF_LOSS_MSE ? NAN : (float)v[NNF_METRIC_ACCURACY];
    return nnf__leave(&c, st);
}

/* ---- class labels */

static nnf_status classify(nnf_net *net, const float *x, size_t m, uint32_t *labels)
{
    nnf_status st = nnf__check_batch(net, x, m);
    const nnf_layer *out = st == NNF_OK ? nnf__output_layer(net) : NULL;
    if (st == NNF_OK && !labels)
        st = nnf__fail(NNF_ERR_ARG, "labels is NULL (expected m = %zu values)", m);
    if (st == NNF_OK && out->n_out == 1 && out->act != NNF_ACT_SIGMOID)
        st = nnf__fail(NNF_ERR_STATE,
                       "the output is one %s unit (expected one sigmoid unit, or several units)",
                       nnf__act_name(out->act));
    if (st == NNF_OK)
        st = nnf__check_x_keeps_forward(net, x, m);
    /* chunks as large as the workspace already is, and at least 256 samples */
    size_t chunk = m < 256 ? m : 256;
    if (st == NNF_OK && net->work.cap_m > chunk)
        chunk = net->work.cap_m;
    if (st == NNF_OK)
        st = nnf__work_reserve(net, &net->work, chunk);
    if (st != NNF_OK)
        return st;
    nnf__forget_forward(net);
    for (size_t first = 0; first < m; first += chunk) {
        size_t mb = m - first < chunk ? m - first : chunk;
        st = nnf__forward(net, &net->work, x + first * net->n_in, mb, NULL);
        if (st == NNF_ERR_NUMERIC)
            (void)nnf__check_finite("x", x, net->n_in, first + mb);
        if (st != NNF_OK)
            return st;
        const float *a = nnf__output(net, &net->work);
        for (size_t s = 0; s < mb; s++)
            labels[first + s] =
                out->n_out == 1 ? a[s] >= 0.5f : (uint32_t)argmax(a + s * out->n_out, out->n_out);
    }
    return NNF_OK;
}

NNF_API nnf_status nnf_net_classify(nnf_net *net, const float *x, size_t m, uint32_t *labels)
{
    nnf__call c;
    nnf_status st = nnf__enter_compute(&c, __func__, net);
    if (st == NNF_OK)
        st = classify(net, x, m, labels);
    return nnf__leave(&c, st);
}
