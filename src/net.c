/* net.c - the network object: its layer list, the parameter and gradient
 * arenas, the workspace, and the order of the forward and backward passes. */
#include "internal.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

nnf_status nnf__net_create(nnf_net **out, size_t n_in)
{
    nnf_net *net = nnf__malloc(sizeof *net);
    if (!net)
        return NNF_ERR_NOMEM;
    memset(net, 0, sizeof *net);
    net->n_in = n_in;
    net->loss = NNF_LOSS_BCE;
    net->lr = 0.01;
    net->seed = NNF_DEFAULT_SEED;
    net->optimizer = NNF_OPT_SGD;
    net->momentum = 0.9;
    net->beta1 = 0.9;
    net->beta2 = 0.999;
    net->epsilon = 1e-8;
    *out = net;
    return NNF_OK;
}

void nnf__net_destroy(nnf_net *net)
{
    for (size_t l = 0; l < net->depth; l++)
        nnf__free(net->layers[l]);
    nnf__free(net->layers);
    nnf__free(net->params);
    nnf__free(net->grads);
    nnf__free(net->work);
    nnf__free(net->x_copy);
    nnf__free(net->opt_state);
    nnf__free(net);
}

/* Point every layer into the arenas (after they moved). */
static void bind_arenas(nnf_net *net)
{
    for (size_t l = 0; l < net->depth; l++) {
        nnf_layer *ly = net->layers[l];
        size_t nw = ly->n_in * ly->n_out;
        ly->wt = net->params + ly->offset;
        ly->b = ly->wt + nw;
        ly->dwt = net->grads + ly->offset;
        ly->db = ly->dwt + nw;
    }
}

/* Drop the workspace: its layout follows the layers. */
static void drop_workspace(nnf_net *net)
{
    nnf__free(net->work);
    net->work = net->logits = net->scratch = NULL;
    net->cap_m = 0;
    for (size_t l = 0; l < net->depth; l++)
        net->layers[l]->a = NULL;
    nnf__net_forget(net);
}

/* Append a layer. Every block is allocated before anything changes, so a
 * failure leaves the net exactly as it was. The caller checked the sizes. */
nnf_status nnf__net_add_layer(nnf_net *net, size_t units, int act)
{
    size_t n_in = net->depth ? net->layers[net->depth - 1]->n_out : net->n_in;
    size_t count = n_in * units + units;
    size_t total = net->n_params + count;
    size_t cap = net->depth < net->layers_cap ? net->layers_cap
                                              : (net->layers_cap ? 2 * net->layers_cap : 4);

    size_t n_state = nnf__optim_state_floats(net->optimizer, total);

    nnf_layer *ly = nnf__malloc(sizeof *ly);
    nnf_layer **layers = cap != net->layers_cap ? nnf__malloc(cap * sizeof *layers) : net->layers;
    float *params = nnf__malloc(total * sizeof(float));
    float *grads = nnf__malloc(total * sizeof(float));
    float *state = n_state ? nnf__malloc(n_state * sizeof(float)) : NULL;
    if (!ly || !layers || !params || !grads || (n_state && !state)) {
        nnf__free(ly);
        if (layers != net->layers)
            nnf__free(layers);
        nnf__free(params);
        nnf__free(grads);
        nnf__free(state);
        return NNF_ERR_NOMEM;
    }
    /* a new layer restarts the optimizer: its state follows the arenas */
    if (n_state)
        memset(state, 0, n_state * sizeof(float));
    nnf__free(net->opt_state);
    net->opt_state = state;
    net->opt_t = 0;

    if (layers != net->layers) {
        if (net->depth)
            memcpy(layers, net->layers, net->depth * sizeof *layers);
        nnf__free(net->layers);
        net->layers = layers;
        net->layers_cap = cap;
    }
    if (net->n_params)
        memcpy(params, net->params, net->n_params * sizeof(float));
    memset(grads, 0, total * sizeof(float));
    nnf__free(net->params);
    nnf__free(net->grads);
    net->params = params;
    net->grads = grads;

    memset(ly, 0, sizeof *ly);
    ly->net = net;
    ly->index = net->depth + 1;
    ly->n_in = n_in;
    ly->n_out = units;
    ly->act = act;
    ly->alpha = 0.01f;
    ly->offset = net->n_params;
    net->layers[net->depth++] = ly;
    net->n_params = total;
    bind_arenas(net);
    nnf__layer_init(ly, NNF_INIT_DEFAULT, net->seed);

    drop_workspace(net);
    net->grads_valid = 0;
    return NNF_OK;
}

void nnf__net_forget(nnf_net *net)
{
    net->fwd_m = 0;
    net->fwd_x = NULL;
}

/* Floats of workspace for m columns: A[l] of every layer, the logits Z[L],
 * and the scratch for dA[l-1] (l >= 2, so the widest hidden layer).
 * Returns 0 on overflow of size_t (in bytes). */
static size_t work_floats(const nnf_net *net, size_t m)
{
    size_t rows = 0, widest = 0;
    for (size_t l = 0; l < net->depth; l++) {
        size_t n = net->layers[l]->n_out;
        if (rows > SIZE_MAX - n)
            return 0;
        rows += n;
        if (l + 1 < net->depth && n > widest)
            widest = n;
    }
    size_t out = net->layers[net->depth - 1]->n_out;
    if (rows > SIZE_MAX - out - widest)
        return 0;
    rows += out + widest;
    if (rows > SIZE_MAX / sizeof(float) / m)
        return 0;
    return rows * m;
}

/* A new workspace block for m columns, not yet installed: NULL with *st
 * NNF_OK when the current block already holds m columns, NULL with *st set
 * (and the message recorded) on failure. */
float *nnf__net_work_alloc(nnf_net *net, const char *fn, size_t m, nnf_status *st)
{
    *st = NNF_OK;
    if (m <= net->cap_m)
        return NULL;
    size_t floats = work_floats(net, m);
    if (!floats) {
        *st = nnf__fail(net, NNF_ERR_SHAPE, "%s: batch of m = %zu samples: the workspace would "
                        "overflow size_t", fn, m);
        return NULL;
    }
    float *work = nnf__malloc(floats * sizeof(float));
    if (!work)
        *st = nnf__fail(net, NNF_ERR_NOMEM, "%s: could not allocate %zu bytes of workspace for "
                        "m = %zu", fn, floats * sizeof(float), m);
    return work;
}

/* Replace the workspace by work (from nnf__net_work_alloc for m): the
 * stored forward pass, which lived in the old block, is gone. */
void nnf__net_work_install(nnf_net *net, float *work, size_t m)
{
    nnf__free(net->work);
    net->work = work;
    net->cap_m = m;
    float *p = work;
    for (size_t l = 0; l < net->depth; l++) {
        net->layers[l]->a = p;
        p += net->layers[l]->n_out * m;
    }
    net->logits = p;
    p += net->layers[net->depth - 1]->n_out * m;
    net->scratch = p;
    nnf__net_forget(net);
}

/* Make the workspace hold at least m columns. Below the largest m seen it
 * does nothing, so steady training and inference never allocate. */
nnf_status nnf__net_reserve(nnf_net *net, const char *fn, size_t m)
{
    nnf_status st;
    float *work = nnf__net_work_alloc(net, fn, m, &st);
    if (work)
        nnf__net_work_install(net, work, m);
    return st;
}

const float *nnf__net_output(const nnf_net *net)
{
    return net->layers[net->depth - 1]->a;
}

/* Why the forward pass stopped at layer l: name the bad value. A NaN or
 * infinity anywhere in x always reaches Z[1] (NaN times any weight is NaN,
 * infinity times zero is NaN), so the pass does not scan a wide x up front:
 * it checks the small Z[l] in the pass that already reads it, and only on
 * failure looks for the cause. */
static nnf_status forward_failure(nnf_net *net, const char *fn, const float *x, size_t m,
                                  size_t l)
{
    nnf_layer *ly = net->layers[l];
    size_t nx = net->n_in * m, bad = nnf__find_nonfinite(x, nx);
    nnf__net_forget(net);
    if (l == 0 && bad < nx)
        return nnf__fail(net, NNF_ERR_NUMERIC, "%s: x[%zu][%zu] is %g (expected a finite value)",
                         fn, bad / net->n_in, bad % net->n_in, (double)x[bad]);
    if (l + 1 == net->depth) {
        size_t n = ly->n_out * m, k = nnf__find_nonfinite(net->logits, n);
        if (k < n)
            return nnf__fail(net, NNF_ERR_NUMERIC,
                             "%s: the output A[%zu] of sample %zu, unit %zu is not finite "
                             "(Z = %g): the weights or inputs are too large",
                             fn, net->depth, k / ly->n_out, k % ly->n_out, (double)net->logits[k]);
    }
    return nnf__fail(net, NNF_ERR_NUMERIC, "%s: the pre-activation Z[%zu] of layer %zu is not "
                     "finite: the weights or inputs are too large", fn, l + 1, l + 1);
}

/* Z[l] = W[l] A[l-1] + b[l], A[l] = g(Z[l]) for l = 1..L. Hidden layers
 * compute Z in place in A's buffer; the output layer keeps its logits for
 * the stable BCE. Every Z[l] is checked for NaN and infinity on the way.
 * Needs nnf__net_reserve(net, m) first. */
nnf_status nnf__net_forward(nnf_net *net, const char *fn, const float *x, size_t m)
{
    const float *a_in = x;
    for (size_t l = 0; l < net->depth; l++) {
        nnf_layer *ly = net->layers[l];
        float *z = l + 1 == net->depth ? net->logits : ly->a;
        if (nnf__dense_forward(ly, a_in, z, ly->a, m))
            return forward_failure(net, fn, x, m, l);
        a_in = ly->a;
    }
    net->fwd_m = m;
    net->fwd_x = x;
    return NNF_OK;
}

/* The loss summed over the batch, from the last forward pass: BCE and
 * cross-entropy from the logits (stable), MSE from A[L]. */
double nnf__net_loss_sum(nnf_net *net, const float *y, size_t m)
{
    nnf_layer *out = net->layers[net->depth - 1];
    switch (net->loss) {
    case NNF_LOSS_BCE: return nnf__bce_sum(net->logits, y, out->n_out * m);
    case NNF_LOSS_CROSS_ENTROPY: return nnf__ce_sum(net->logits, y, out->n_out, m);
    default: return nnf__mse_sum(out->a, y, out->n_out * m);
    }
}

/* The cost J and dZ[L] into the logits buffer (A[L] stays intact).
 * Sigmoid + BCE: dZ = A - Y. Softmax + cross-entropy: dZ = A sum_k y_k - Y.
 * MSE: dZ = (A - Y) * g'(A). */
static double output_layer_grad(nnf_net *net, const float *y, size_t m)
{
    nnf_layer *out = net->layers[net->depth - 1];
    size_t n = out->n_out * m;
    double sum = nnf__net_loss_sum(net, y, m);
    if (net->loss == NNF_LOSS_CROSS_ENTROPY)
        nnf__ce_output_grad(out->a, y, net->logits, out->n_out, m);
    else
        nnf__output_grad(out->a, y, net->logits, n);
    if (net->loss == NNF_LOSS_MSE)
        nnf__act_backward(out->act, out->alpha, out->a, net->logits, n);
    return sum / (double)m;
}

/* MATH.md's backward for l = L..1. dZ[L] is in the logits buffer; for
 * l < L, dZ[l] overwrites A[l] once dW[l+1] has used it, and dA[l-1] goes
 * to the scratch buffer. So backward uses the stored forward pass up. */
nnf_status nnf__net_backward(nnf_net *net, const float *y, float *cost)
{
    size_t m = net->fwd_m;
    double j = output_layer_grad(net, y, m);
    float *dz = net->logits;
    for (size_t l = net->depth; l-- > 0;) {
        nnf_layer *ly = net->layers[l];
        const float *a_in = l ? net->layers[l - 1]->a : net->fwd_x;
        float *da_in = l ? net->scratch : NULL; /* dA[0] is never computed */
        nnf__dense_backward(ly, a_in, dz, da_in, m);
        if (l) {
            nnf_layer *prev = net->layers[l - 1];
            /* dZ[l-1] = dA[l-1] * g'(A[l-1]), written over A[l-1] */
            nnf__act_backward_over_a(prev->act, prev->alpha, prev->a, net->scratch,
                                     prev->n_out * m);
            dz = prev->a;
        }
    }
    nnf__net_forget(net);
    j += nnf__l2_apply(net, m);

    float jf = (float)j;
    if (!isfinite(jf)) {
        net->grads_valid = 0;
        return nnf__fail(net, NNF_ERR_NUMERIC, "the cost J = %g is not finite in float: "
                         "the outputs are too far from the labels", j);
    }
    net->grads_valid = 1;
    net->grads_applied = 0;
    if (cost)
        *cost = jf;
    return NNF_OK;
}

/* The layer (1..L) that holds arena index i. */
size_t nnf__net_layer_of(const nnf_net *net, size_t i)
{
    size_t l = 0;
    while (l + 1 < net->depth && net->layers[l + 1]->offset <= i)
        l++;
    return l + 1;
}

nnf_status nnf__net_check_grads(nnf_net *net)
{
    size_t bad = nnf__find_nonfinite(net->grads, net->n_params);
    if (bad == net->n_params)
        return NNF_OK;
    net->grads_valid = 0;
    return nnf__fail(net, NNF_ERR_NUMERIC, "a gradient of layer %zu is not finite "
                     "(the inputs or weights are too large)", nnf__net_layer_of(net, bad));
}

/* One step of the optimizer with the gradients of the last backward. */
nnf_status nnf__net_update(nnf_net *net)
{
    nnf_status st = nnf__optim_update(net);
    if (st == NNF_OK)
        net->grads_applied = 1;
    return st;
}

/* A train step on a checked batch: forward, backward, update. x is read in
 * this call only. On failure no parameter has changed. */
nnf_status nnf__net_step(nnf_net *net, const char *fn, const float *x, const float *y,
                         size_t m, float *cost)
{
    nnf_status st = nnf__net_reserve(net, fn, m);
    if (st == NNF_OK)
        st = nnf__net_forward(net, fn, x, m);
    if (st == NNF_OK)
        st = nnf__net_backward(net, y, cost);
    if (st == NNF_OK) /* also finds a non-finite gradient */
        st = nnf__net_update(net);
    return st;
}

/* Copy a block of n floats into a new allocation (NULL for n = 0). */
static float *dup_floats(const float *src, size_t n, int *failed)
{
    if (!n)
        return NULL;
    float *p = nnf__malloc(n * sizeof(float));
    if (p)
        memcpy(p, src, n * sizeof(float));
    else
        *failed = 1;
    return p;
}

/* Same layers, settings, parameters and optimizer state; no gradients, no
 * forward pass, no workspace (it grows again at the first call). */
nnf_status nnf__net_clone(const nnf_net *net, nnf_net **out)
{
    nnf_net *c = nnf__malloc(sizeof *c);
    if (!c)
        return NNF_ERR_NOMEM;
    memset(c, 0, sizeof *c);
    c->n_in = net->n_in;
    c->loss = net->loss;
    c->lr = net->lr;
    c->seed = net->seed;
    c->optimizer = net->optimizer;
    c->momentum = net->momentum;
    c->beta1 = net->beta1;
    c->beta2 = net->beta2;
    c->epsilon = net->epsilon;
    c->l2 = net->l2;
    c->opt_t = net->opt_t;
    c->n_params = net->n_params;

    int failed = 0;
    c->params = dup_floats(net->params, net->n_params, &failed);
    c->grads = net->n_params ? nnf__malloc(net->n_params * sizeof(float)) : NULL;
    failed |= net->n_params && !c->grads;
    c->opt_state = dup_floats(net->opt_state,
                              nnf__optim_state_floats(net->optimizer, net->n_params), &failed);
    c->layers = net->depth ? nnf__malloc(net->depth * sizeof *c->layers) : NULL;
    failed |= net->depth && !c->layers;
    for (size_t l = 0; !failed && l < net->depth; l++) {
        nnf_layer *ly = nnf__malloc(sizeof *ly);
        if (!ly) {
            failed = 1;
            break;
        }
        *ly = *net->layers[l];
        ly->net = c;
        ly->a = NULL;
        c->layers[c->depth++] = ly;
    }
    c->layers_cap = c->depth;
    if (failed) {
        nnf__net_destroy(c);
        return NNF_ERR_NOMEM;
    }
    if (c->grads)
        memset(c->grads, 0, c->n_params * sizeof(float));
    bind_arenas(c);
    *out = c;
    return NNF_OK;
}
