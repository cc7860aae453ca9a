/* SPDX-License-Identifier: MIT */
/* scaling.c - the input scaling a net keeps: per feature a mean and a
 * standard deviation, x' = (x - mean) / std, applied to x by every pass
 * (pass.c) and saved with the model. Fitting computes both in double. */
#include "alloc.h"
#include "check.h"
#include "net.h"
#include "workspace.h"

#include <math.h>
#include <string.h>

/* Install scale (mean then std, 2 n_in floats; NULL removes the scaling):
 * the workspace's layout has one matrix more or less, so it goes. */
static void install(nnf_net *net, float *scale)
{
    nnf__free(net->scale);
    net->scale = scale;
    nnf__work_free(&net->work);
    nnf__forget_forward(net);
}

static float *new_scale(const nnf_net *net)
{
    float *scale = nnf__malloc(2 * net->n_in * sizeof(float));
    if (!scale)
        (void)nnf__fail(NNF_ERR_NOMEM, "could not allocate the input scaling (%zu bytes)",
                        2 * net->n_in * sizeof(float));
    return scale;
}

/* A deviation of 0 scales by 1 (a constant feature stays 0 once centred). */
static float deviation(double var)
{
    float s = (float)sqrt(var);
    return s > 0.0f ? s : 1.0f;
}

static nnf_status fit(nnf_net *net, const float *x, size_t m)
{
    size_t n = net->n_in;
    if (!x)
        return nnf__fail(NNF_ERR_ARG, "x is NULL (expected m x %zu floats)", n);
    if (m == 0)
        return nnf__fail(NNF_ERR_ARG, "m is 0 (expected at least one sample)");
    if (n > SIZE_MAX / sizeof(float) / m)
        return nnf__fail(NNF_ERR_SHAPE, "x of m = %zu samples of %zu features overflows size_t", m,
                         n);
    nnf_status st = nnf__check_finite("x", x, n, m);
    if (st != NNF_OK)
        return st;
    float *scale = new_scale(net);
    double *sum = nnf__malloc(2 * n * sizeof(double));
    if (!scale || !sum) {
        nnf__free(scale);
        nnf__free(sum);
        return scale ? nnf__fail(NNF_ERR_NOMEM, "could not allocate %zu bytes of sums",
                                 2 * n * sizeof(double))
                     : NNF_ERR_NOMEM;
    }
    /* two passes: the mean, then the squares about it (no cancellation) */
    memset(sum, 0, 2 * n * sizeof(double));
    for (size_t j = 0; j < m; j++)
        for (size_t i = 0; i < n; i++)
            sum[i] += (double)x[j * n + i];
    for (size_t i = 0; i < n; i++)
        sum[i] /= (double)m;
    for (size_t j = 0; j < m; j++)
        for (size_t i = 0; i < n; i++) {
            double d = (double)x[j * n + i] - sum[i];
            sum[n + i] += d * d;
        }
    for (size_t i = 0; i < n; i++) {
        scale[i] = (float)sum[i];
        scale[n + i] = deviation(sum[n + i] / (double)m);
        if (!isfinite(scale[n + i])) {
            nnf__free(scale);
            nnf__free(sum);
            return nnf__fail(NNF_ERR_NUMERIC,
                             "the deviation of feature %zu is not finite in float (expected "
                             "features below about 1.8e19)",
                             i);
        }
    }
    nnf__free(sum);
    install(net, scale);
    return NNF_OK;
}

NNF_API nnf_status nnf_net_fit_input_scaling(nnf_net *net, const float *x, size_t m)
{
    nnf__call c;
    nnf_status st = nnf__enter_write(&c, __func__, net);
    if (st == NNF_OK)
        st = nnf__check_changeable(net);
    if (st == NNF_OK)
        st = fit(net, x, m);
    return nnf__leave(&c, st);
}

static nnf_status set(nnf_net *net, const float *mean, const float *std)
{
    size_t n = net->n_in;
    if (!mean && !std) {
        if (net->scale)
            install(net, NULL);
        return NNF_OK;
    }
    if (!mean || !std)
        return nnf__fail(NNF_ERR_ARG,
                         "%s is NULL (expected %zu floats, or both NULL to remove "
                         "the scaling)",
                         mean ? "std" : "mean", n);
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(mean[i]))
            return nnf__fail(NNF_ERR_ARG, "mean[%zu] is %g (expected a finite value)", i,
                             (double)mean[i]);
        if (!isfinite(std[i]) || std[i] < 0.0f)
            return nnf__fail(NNF_ERR_ARG, "std[%zu] is %g (expected a finite value >= 0)", i,
                             (double)std[i]);
    }
    float *scale = new_scale(net);
    if (!scale)
        return NNF_ERR_NOMEM;
    memcpy(scale, mean, n * sizeof(float));
    for (size_t i = 0; i < n; i++)
        scale[n + i] = std[i] > 0.0f ? std[i] : 1.0f;
    install(net, scale);
    return NNF_OK;
}

NNF_API nnf_status nnf_net_set_input_scaling(nnf_net *net, const float *mean, const float *std)
{
    nnf__call c;
    nnf_status st = nnf__enter_write(&c, __func__, net);
    if (st == NNF_OK)
        st = nnf__check_changeable(net);
    if (st == NNF_OK)
        st = set(net, mean, std);
    return nnf__leave(&c, st);
}

NNF_API nnf_status nnf_net_get_input_scaling(const nnf_net *net, float *mean, float *std)
{
    nnf__call c;
    nnf_status st = nnf__enter_read(&c, __func__, net);
    if (st == NNF_OK && (!mean || !std))
        st = nnf__fail(NNF_ERR_ARG, "%s is NULL (expected %zu floats)", mean ? "std" : "mean",
                       net->n_in);
    if (st == NNF_OK && !net->scale)
        st = nnf__fail(NNF_ERR_STATE, "the net has no input scaling (set it with "
                                      "nnf_net_fit_input_scaling or nnf_net_set_input_scaling)");
    if (st == NNF_OK) {
        memcpy(mean, net->scale, net->n_in * sizeof(float));
        memcpy(std, net->scale + net->n_in, net->n_in * sizeof(float));
    }
    return nnf__leave(&c, st);
}
