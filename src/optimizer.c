/* SPDX-License-Identifier: MIT */
/* optimizer.c - the net's optimizer: its state arena, the update step over
 * the parameter arena, the L2 penalty's terms (formulas in nnfast.h), and
 * nnf_net_set_param / nnf_net_get_param, driven by the settings table. */
#include "optimizer.h"
#include "alloc.h"
#include "pool.h"

#include <float.h>
#include <math.h>
#include <string.h>

size_t nnf__optim_state_floats(nnf_optimizer opt, size_t n_params)
{
    switch (opt) {
    case NNF_OPT_MOMENTUM: return n_params;
    case NNF_OPT_ADAM:
    case NNF_OPT_ADAMW: return 2 * n_params;
    default: return 0;
    }
}

void nnf__optim_restart(nnf_net *net)
{
    size_t n = nnf__optim_state_floats(nnf__optimizer(net), net->n_floats);
    if (net->opt_state)
        memset(net->opt_state, 0, n * sizeof(float));
    net->opt_t = 0;
}

void nnf__optim_drop_state(nnf_net *net)
{
    nnf__free(net->opt_state);
    net->opt_state = NULL;
    net->opt_t = 0;
}

float *nnf__optim_state_alloc(const nnf_net *net, nnf_status *st)
{
    size_t n = nnf__optim_state_floats(nnf__optimizer(net), net->n_floats);
    *st = NNF_OK;
    if (!n || net->opt_state)
        return NULL;
    float *state = nnf__malloc(n * sizeof(float));
    if (!state)
        *st = nnf__fail(NNF_ERR_NOMEM, "could not allocate %zu bytes for the optimizer's state",
                        n * sizeof(float));
    return state;
}

void nnf__optim_state_install(nnf_net *net, float *state)
{
    if (!state)
        return;
    memset(state, 0, nnf__optim_state_floats(nnf__optimizer(net), net->n_floats) * sizeof(float));
    net->opt_state = state;
}

nnf_status nnf__optim_state_ready(nnf_net *net)
{
    nnf_status st;
    nnf__optim_state_install(net, nnf__optim_state_alloc(net, &st));
    return st;
}

/* The kernels compute in float. A beta in [1 - 2^-25, 1) is < 1 as a double
 * but rounds to 1.0f, which would freeze the moment (1 - beta = 0 in float;
 * Adam's v then stays 0 and its steps are lr m / eps, ~1e8 too large). Such
 * a beta is used as the largest float below 1, in the kernel and in the
 * bias correction alike; any other beta is used as it is. */
static double kernel_beta(double beta)
{
    return (float)beta < 1.0f ? beta : (double)nextafterf(1.0f, 0.0f);
}

/* Likewise an epsilon below the float range would be 0: 0 / 0 for every
 * parameter whose gradient has always been 0 (a dead ReLU unit). */
static float kernel_eps(double eps)
{
    float e = (float)eps;
    return e >= FLT_MIN ? e : FLT_MIN;
}

/* Whether element i fails because the optimizer's state would overflow
 * (a gradient so large that its moment, or Adam's g^2, is not finite in
 * float, whatever the learning rate) rather than the parameter. The same
 * float operations as the kernels (core/update.c). */
static int state_overflows(const nnf_net *net, size_t i, float beta, const nnf__adam_k *k)
{
    const float *s = net->opt_state, g = net->grads[i];
    switch (nnf__optimizer(net)) {
    case NNF_OPT_MOMENTUM: return !isfinite(beta * s[i] + (1.0f - beta) * g);
    case NNF_OPT_ADAM:
    case NNF_OPT_ADAMW:
        return !isfinite(k->b1 * s[i] + (1.0f - k->b1) * g) ||
               !isfinite(k->b2 * s[net->n_floats + i] + (1.0f - k->b2) * (g * g));
    default: return 0;
    }
}

nnf_status nnf__grads_check(nnf_net *net)
{
    size_t bad = nnf__find_nonfinite(net->grads, net->n_floats);
    if (bad == net->n_floats)
        return NNF_OK;
    net->grads_state = NNF__GRADS_NONE;
    return nnf__fail(NNF_ERR_NUMERIC,
                     "a gradient of layer %zu is not finite "
                     "(the inputs or weights are too large)",
                     nnf__layer_of(net, bad));
}

/* Adam's constants for the next update, t + 1 computed in double: a loaded
 * t of 2^64 - 1 must not wrap to 0 (c1 = 1/0). */
static nnf__adam_k adam_constants(const nnf_net *net)
{
    double t = (double)net->opt_t + 1.0;
    double b1 = kernel_beta(net->param[NNF_PARAM_ADAM_BETA1]);
    double b2 = kernel_beta(net->param[NNF_PARAM_ADAM_BETA2]);
    nnf__adam_k k;
    k.lr = nnf__learning_rate(net);
    k.keep = 1.0f;
    k.b1 = (float)b1;
    k.b2 = (float)b2;
    k.eps = kernel_eps(net->param[NNF_PARAM_ADAM_EPSILON]);
    k.c1 = (float)(1.0 / (1.0 - pow(b1, t)));
    k.c2 = (float)(1.0 / (1.0 - pow(b2, t)));
    return k;
}

/* An update over the arena runs in chunks on nnfast's threads: the check
 * of every chunk, then (if no chunk found a bad value) the update of every
 * chunk. Elementwise, so the bits do not depend on the cut. */
enum { CHUNK = 1 << 16, MAX_CHUNKS = 256 };

typedef struct update_job {
    const nnf_net *net;
    nnf_optimizer opt;
    float *p, *g, *s;
    size_t n, chunk;
    float lr, beta;
    nnf__adam_k k;
    float keep;             /* AdamW's 1 - lr decay for the weights */
    size_t bad[MAX_CHUNKS]; /* per chunk: the first bad index (or n) */
} update_job;

static void chunk_of(const update_job *j, size_t c, size_t *lo, size_t *len)
{
    *lo = c * j->chunk;
    *len = j->n - *lo < j->chunk ? j->n - *lo : j->chunk;
}

/* Where the run of arena elements of one kind that starts at i ends: the
 * weights of i's layer, or its bias and padding (AdamW decays the first
 * kind only). */
static size_t run_end(const nnf_net *net, size_t i, int *weights)
{
    const nnf_layer *ly = net->layers[nnf__layer_of(net, i) - 1];
    size_t w_end = ly->offset + ly->n_in * ly->n_out;
    *weights = i < w_end;
    if (*weights)
        return w_end;
    return ly->index < net->depth ? net->layers[ly->index]->offset : net->n_floats;
}

/* Check (check = 1) or apply elements [lo, lo + n) of the update; for a
 * check, the first bad index in the run (or n). */
static size_t run(const update_job *j, size_t lo, size_t n, const nnf__adam_k *k, int check)
{
    float *p = j->p + lo, *g = j->g + lo, *s = j->s ? j->s + lo : NULL;
    float *v = j->s ? j->s + j->n + lo : NULL; /* Adam's second moment */
    switch (j->opt) {
    case NNF_OPT_MOMENTUM:
        if (check)
            return nnf__momentum_check(p, s, g, n, j->lr, j->beta);
        nnf__momentum(p, s, g, n, j->lr, j->beta);
        return n;
    case NNF_OPT_ADAM:
    case NNF_OPT_ADAMW:
        if (check)
            return nnf__adam_check(p, s, v, g, n, k);
        nnf__adam(p, s, v, g, n, k);
        return n;
    default:
        if (check)
            return nnf__sgd_check(p, g, n, j->lr);
        nnf__sgd(p, g, n, j->lr);
        return n;
    }
}

/* Chunk c as runs of weights and of the rest, for AdamW's decay; in one run
 * otherwise. The first bad index of the chunk, or j->n. */
static size_t run_chunk(update_job *j, size_t c, int check)
{
    size_t lo, n;
    chunk_of(j, c, &lo, &n);
    if (j->opt != NNF_OPT_ADAMW) {
        size_t at = run(j, lo, n, &j->k, check);
        return at < n ? lo + at : j->n;
    }
    for (size_t i = lo; i < lo + n;) {
        int weights;
        size_t end = run_end(j->net, i, &weights);
        end = end < lo + n ? end : lo + n;
        nnf__adam_k k = j->k;
        k.keep = weights ? j->keep : 1.0f;
        size_t at = run(j, i, end - i, &k, check);
        if (at < end - i)
            return i + at;
        i = end;
    }
    return j->n;
}

static void check_task(void *ctx, size_t c)
{
    update_job *j = ctx;
    j->bad[c] = run_chunk(j, c, 1);
}

static void apply_task(void *ctx, size_t c)
{
    (void)run_chunk(ctx, c, 0);
}

/* Why element bad cannot be updated. */
static nnf_status update_failure(nnf_net *net, const update_job *j, size_t bad)
{
    const float *g = net->grads;
    if (!isfinite(g[bad])) /* no gradient is kept */
        return nnf__grads_check(net);
    if (state_overflows(net, bad, j->beta, &j->k))
        return nnf__fail(NNF_ERR_NUMERIC,
                         "the update would make the optimizer's state "
                         "of layer %zu infinite: the gradient %g is too large (not the "
                         "learning rate: scale the inputs or weights down)",
                         nnf__layer_of(net, bad), (double)g[bad]);
    return nnf__fail(NNF_ERR_NUMERIC,
                     "the update would make a parameter of layer %zu "
                     "infinite: the learning rate %g is too large",
                     nnf__layer_of(net, bad), (double)nnf__learning_rate(net));
}

nnf_status nnf__optim_update(nnf_net *net)
{
    nnf_status st = nnf__optim_state_ready(net);
    if (st != NNF_OK)
        return st;
    update_job j;
    j.net = net;
    j.opt = nnf__optimizer(net);
    j.p = net->params;
    j.g = net->grads;
    j.s = net->opt_state;
    j.n = net->n_floats;
    j.chunk = j.n / MAX_CHUNKS + 1 > CHUNK ? j.n / MAX_CHUNKS + 1 : CHUNK;
    j.lr = nnf__learning_rate(net);
    j.beta = (float)kernel_beta(net->param[NNF_PARAM_MOMENTUM]);
    memset(&j.k, 0, sizeof j.k);
    if (j.opt == NNF_OPT_ADAM || j.opt == NNF_OPT_ADAMW)
        j.k = adam_constants(net);
    j.keep = (float)(1.0 - (double)j.lr * net->param[NNF_PARAM_WEIGHT_DECAY]);
    size_t chunks = (j.n + j.chunk - 1) / j.chunk;
    nnf__parallel(chunks, check_task, &j);
    for (size_t c = 0; c < chunks; c++) /* the first bad element overall */
        if (j.bad[c] < j.n)
            return update_failure(net, &j, j.bad[c]);
    nnf__parallel(chunks, apply_task, &j);
    if (net->opt_t < UINT64_MAX) /* saturates: c1 and c2 are 1 long before */
        net->opt_t++;
    net->grads_state = NNF__GRADS_APPLIED;
    return NNF_OK;
}

double nnf__l2_cost(const nnf_net *net, double m)
{
    double lambda = net->param[NNF_PARAM_L2_PENALTY], sumsq = 0.0;
    if (lambda <= 0.0)
        return 0.0;
    for (size_t l = 0; l < net->depth; l++) {
        const nnf_layer *ly = net->layers[l];
        sumsq += nnf__sum_squares(ly->wt, ly->n_in * ly->n_out);
    }
    return lambda / (2.0 * m) * sumsq;
}

double nnf__l2_apply(nnf_net *net, double m)
{
    double lambda = net->param[NNF_PARAM_L2_PENALTY];
    if (lambda <= 0.0)
        return 0.0;
    float scale = (float)(lambda / m);
    for (size_t l = 0; l < net->depth; l++) {
        nnf_layer *ly = net->layers[l];
        nnf__add_scaled(ly->dwt, ly->wt, ly->n_in * ly->n_out, scale);
    }
    return nnf__l2_cost(net, m);
}

/* ---- the public calls */

static nnf_status set_param(nnf_net *net, nnf_param key, double value)
{
    if (!nnf__param_known(key))
        return nnf__fail(NNF_ERR_ARG, "key = %d is not an nnf_param (expected 0..%d)", (int)key,
                         NNF__N_PARAMS - 1);
    if (!nnf__param_valid(key, value))
        return nnf__param_fail(NNF_ERR_ARG, "", key, value);
    if (key == NNF_PARAM_OPTIMIZER && value != net->param[key])
        nnf__optim_drop_state(net); /* another optimizer starts afresh; the same one goes on */
    net->param[key] = value;
    return NNF_OK;
}

NNF_API nnf_status nnf_net_set_param(nnf_net *net, nnf_param key, double value)
{
    nnf__call c;
    nnf_status st = nnf__enter_write(&c, __func__, net);
    if (st == NNF_OK)
        st = set_param(net, key, value);
    return nnf__leave(&c, st);
}

NNF_API nnf_status nnf_net_get_param(const nnf_net *net, nnf_param key, double *value)
{
    nnf__call c;
    nnf_status st = nnf__enter_read(&c, __func__, net);
    if (st == NNF_OK && !value)
        st = nnf__fail(NNF_ERR_ARG, "value is NULL (expected a place for the setting)");
    else if (st == NNF_OK && !nnf__param_known(key))
        st = nnf__fail(NNF_ERR_ARG, "key = %d is not an nnf_param (expected 0..%d)", (int)key,
                       NNF__N_PARAMS - 1);
    if (st == NNF_OK)
        *value = net->param[key];
    return nnf__leave(&c, st);
}
