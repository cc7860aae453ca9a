/* optim.c - the net's optimizer: its state arena, the update step over the
 * parameter arena, and the L2 penalty's terms (formulas in nnfast.h). */
#include "internal.h"

#include <float.h>
#include <math.h>
#include <string.h>

size_t nnf__optim_state_floats(nnf_optimizer opt, size_t n_params)
{
    switch (opt) {
    case NNF_OPT_MOMENTUM: return n_params;
    case NNF_OPT_ADAM: return 2 * n_params;
    default: return 0;
    }
}

/* Switch to opt with a zeroed state (t = 0). The new state is allocated
 * before the old one is dropped, so NNF_ERR_NOMEM changes nothing. */
nnf_status nnf__optim_reset(nnf_net *net, nnf_optimizer opt)
{
    size_t floats = nnf__optim_state_floats(opt, net->n_params);
    float *state = NULL;
    if (floats) {
        state = nnf__malloc(floats * sizeof(float));
        if (!state)
            return NNF_ERR_NOMEM;
        memset(state, 0, floats * sizeof(float));
    }
    nnf__free(net->opt_state);
    net->opt_state = state;
    net->optimizer = opt;
    net->opt_t = 0;
    return NNF_OK;
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
 * float operations as the kernels (core/optim.c). */
static int state_overflows(const nnf_net *net, size_t i, float beta, const nnf__adam_k *k)
{
    const float *s = net->opt_state, g = net->grads[i];
    switch (net->optimizer) {
    case NNF_OPT_MOMENTUM: return !isfinite(beta * s[i] + (1.0f - beta) * g);
    case NNF_OPT_ADAM:
        return !isfinite(k->b1 * s[i] + (1.0f - k->b1) * g) ||
               !isfinite(k->b2 * s[net->n_params + i] + (1.0f - k->b2) * (g * g));
    default: return 0;
    }
}

/* One update of every parameter with the gradients of the last backward.
 * The check runs first: an update that would make a parameter or the
 * optimizer's state NaN or infinite writes nothing. */
nnf_status nnf__optim_update(nnf_net *net)
{
    size_t n = net->n_params, bad;
    float lr = (float)net->lr, *p = net->params, *g = net->grads, *s = net->opt_state;
    float beta = (float)kernel_beta(net->momentum);
    nnf__adam_k k = {0};
    switch (net->optimizer) {
    case NNF_OPT_MOMENTUM:
        bad = nnf__momentum_check(p, s, g, n, lr, beta);
        break;
    case NNF_OPT_ADAM: {
        /* t + 1 in double: a loaded t of 2^64 - 1 must not wrap to 0 (c1 = 1/0) */
        double t = (double)net->opt_t + 1.0, b1 = kernel_beta(net->beta1);
        double b2 = kernel_beta(net->beta2);
        k.lr = lr;
        k.b1 = (float)b1;
        k.b2 = (float)b2;
        k.eps = kernel_eps(net->epsilon);
        k.c1 = (float)(1.0 / (1.0 - pow(b1, t)));
        k.c2 = (float)(1.0 / (1.0 - pow(b2, t)));
        bad = nnf__adam_check(p, s, s + n, g, n, &k);
        break;
    }
    default:
        bad = nnf__sgd_check(p, g, n, lr);
        break;
    }
    if (bad < n) {
        if (!isfinite(g[bad])) /* no gradient is kept */
            return nnf__net_check_grads(net);
        if (state_overflows(net, bad, beta, &k))
            return nnf__fail(net, NNF_ERR_NUMERIC, "the update would make the optimizer's state "
                             "of layer %zu infinite: the gradient %g is too large (not the "
                             "learning rate: scale the inputs or weights down)",
                             nnf__net_layer_of(net, bad), (double)g[bad]);
        return nnf__fail(net, NNF_ERR_NUMERIC, "the update would make a parameter of layer %zu "
                         "infinite: the learning rate %g is too large", nnf__net_layer_of(net, bad),
                         net->lr);
    }
    switch (net->optimizer) {
    case NNF_OPT_MOMENTUM: nnf__momentum(p, s, g, n, lr, beta); break;
    case NNF_OPT_ADAM: nnf__adam(p, s, s + n, g, n, &k); break;
    default: nnf__sgd(p, g, n, lr); break;
    }
    if (net->opt_t < UINT64_MAX) /* saturates: c1 and c2 are 1 long before */
        net->opt_t++;
    return NNF_OK;
}

/* The L2 penalty for a batch of m: dW[l] += (lambda/m) W[l] for every layer,
 * and the returned cost term lambda/(2m) sum_l ||W[l]||^2. Biases are not
 * penalized. Nothing to do for lambda = 0. */
double nnf__l2_apply(nnf_net *net, size_t m)
{
    if (net->l2 <= 0.0)
        return 0.0;
    double sumsq = 0.0;
    float scale = (float)(net->l2 / (double)m);
    for (size_t l = 0; l < net->depth; l++) {
        nnf_layer *ly = net->layers[l];
        size_t nw = ly->n_in * ly->n_out;
        sumsq += nnf__sum_squares(ly->wt, nw);
        nnf__add_scaled(ly->dwt, ly->wt, nw, scale);
    }
    return net->l2 / (2.0 * (double)m) * sumsq;
}
