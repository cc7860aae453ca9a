/* api.c - every NNF_API function of the net and its layers: check the
 * arguments (one line each), call the object layer, report the status.
 * Nothing below this file validates user input again. */
#include "internal.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <string.h>

/* Record a failure named after the calling public function. */
#define FAIL(net, st, ...) nnf__fail((net), (st), __VA_ARGS__)
#define CHECK(net, cond, st, ...) \
    do { if (!(cond)) return FAIL((net), (st), __VA_ARGS__); } while (0)

static const char *const act_names[] = {"linear", "sigmoid", "tanh", "relu", "leaky_relu"};

static int valid_act(nnf_act act)
{
    return act >= NNF_ACT_LINEAR && act <= NNF_ACT_LEAKY_RELU;
}

static nnf_layer *output_layer(const nnf_net *net)
{
    return net->layers[net->depth - 1];
}

/* ---- checks shared by the calls that take a batch */

static nnf_status check_batch(nnf_net *net, const char *fn, const float *x, size_t m)
{
    CHECK(net, x, NNF_ERR_ARG, "%s: x is NULL (expected m x %zu floats)", fn, net->n_in);
    CHECK(net, m > 0, NNF_ERR_ARG, "%s: m is 0 (expected at least one sample)", fn);
    CHECK(net, m <= INT_MAX, NNF_ERR_SHAPE, "%s: m = %zu exceeds BLAS's limit of %d samples",
          fn, m, INT_MAX);
    CHECK(net, net->depth > 0, NNF_ERR_STATE,
          "%s: the net has no layer (add one with nnf_net_add_dense)", fn);
    CHECK(net, net->n_in <= SIZE_MAX / sizeof(float) / m, NNF_ERR_SHAPE,
          "%s: x of m = %zu samples of %zu features overflows size_t", fn, m, net->n_in);
    CHECK(net, output_layer(net)->n_out <= SIZE_MAX / sizeof(float) / m, NNF_ERR_SHAPE,
          "%s: y of m = %zu samples of %zu outputs overflows size_t", fn, m,
          output_layer(net)->n_out);
    return NNF_OK;
}

/* NaN or infinity in a user matrix `float v[m][n]` is NNF_ERR_NUMERIC. */
static nnf_status check_finite(nnf_net *net, const char *fn, const char *name,
                               const float *v, size_t n, size_t m)
{
    size_t bad = nnf__find_nonfinite(v, n * m);
    CHECK(net, bad == n * m, NNF_ERR_NUMERIC, "%s: %s[%zu][%zu] is %g (expected a finite value)",
          fn, name, bad / n, bad % n, bad < n * m ? (double)v[bad] : 0.0);
    return NNF_OK;
}

static nnf_status check_loss(nnf_net *net, const char *fn)
{
    nnf_layer *out = output_layer(net);
    CHECK(net, net->loss != NNF_LOSS_BCE || out->act == NNF_ACT_SIGMOID, NNF_ERR_STATE,
          "%s: loss BCE needs a sigmoid output layer, but layer %zu is %s "
          "(use NNF_LOSS_MSE or a sigmoid output)", fn, out->index, act_names[out->act]);
    return NNF_OK;
}

static nnf_status check_labels(nnf_net *net, const char *fn, const float *y, size_t m)
{
    size_t n = output_layer(net)->n_out;
    CHECK(net, y, NNF_ERR_ARG, "%s: y is NULL (expected m x %zu floats)", fn, n);
    nnf_status st = check_finite(net, fn, "y", y, n, m);
    if (st != NNF_OK)
        return st;
    if (net->loss == NNF_LOSS_BCE) {
        size_t bad = nnf__find_outside_unit(y, n * m);
        CHECK(net, bad == n * m, NNF_ERR_ARG, "%s: y[%zu][%zu] = %g (BCE labels must be in [0, 1])",
              fn, bad / n, bad % n, bad < n * m ? (double)y[bad] : 0.0);
    }
    return NNF_OK;
}

/* ---- network */

NNF_API nnf_status nnf_net_create(nnf_net **out, size_t n_inputs)
{
    if (!out)
        return NNF_ERR_ARG;
    *out = NULL;
    if (n_inputs == 0)
        return NNF_ERR_ARG;
    if (n_inputs > INT_MAX)
        return NNF_ERR_SHAPE;
    return nnf__net_create(out, n_inputs);
}

NNF_API void nnf_net_destroy(nnf_net *net)
{
    if (net)
        nnf__net_destroy(net);
}

NNF_API nnf_status nnf_net_add_dense(nnf_net *net, size_t units, nnf_act act, nnf_layer **layer)
{
    if (layer)
        *layer = NULL;
    if (!net)
        return NNF_ERR_ARG;
    size_t n_in = net->depth ? output_layer(net)->n_out : net->n_in;
    CHECK(net, units > 0, NNF_ERR_ARG, "nnf_net_add_dense: units is 0 (expected at least 1)");
    CHECK(net, valid_act(act), NNF_ERR_ARG,
          "nnf_net_add_dense: act = %d is not an nnf_act (expected 0..4)", (int)act);
    CHECK(net, units <= INT_MAX, NNF_ERR_SHAPE,
          "nnf_net_add_dense: units = %zu exceeds BLAS's limit of %d", units, INT_MAX);
    size_t limit = SIZE_MAX / sizeof(float);
    CHECK(net, n_in <= limit / units - 1 && net->n_params <= limit - (n_in + 1) * units,
          NNF_ERR_SHAPE, "nnf_net_add_dense: %zu x %zu weights overflow size_t", units, n_in);
    nnf_status st = nnf__net_add_layer(net, units, (int)act);
    CHECK(net, st == NNF_OK, st, "nnf_net_add_dense: could not allocate layer %zu (%zu x %zu)",
          net->depth + 1, units, n_in);
    if (layer)
        *layer = output_layer(net);
    return NNF_OK;
}

NNF_API size_t nnf_net_depth(const nnf_net *net)
{
    return net ? net->depth : 0;
}

NNF_API nnf_layer *nnf_net_layer(nnf_net *net, size_t l)
{
    return net && l >= 1 && l <= net->depth ? net->layers[l - 1] : NULL;
}

NNF_API size_t nnf_net_inputs(const nnf_net *net)
{
    return net ? net->n_in : 0;
}

NNF_API size_t nnf_net_outputs(const nnf_net *net)
{
    return net && net->depth ? output_layer(net)->n_out : 0;
}

NNF_API nnf_status nnf_net_set_loss(nnf_net *net, nnf_loss loss)
{
    if (!net)
        return NNF_ERR_ARG;
    CHECK(net, loss == NNF_LOSS_BCE || loss == NNF_LOSS_MSE, NNF_ERR_ARG,
          "nnf_net_set_loss: loss = %d is not an nnf_loss (expected 0 or 1)", (int)loss);
    net->loss = loss;
    return NNF_OK;
}

NNF_API nnf_status nnf_net_get_loss(const nnf_net *net, nnf_loss *loss)
{
    if (!net || !loss)
        return NNF_ERR_ARG;
    *loss = net->loss;
    return NNF_OK;
}

NNF_API nnf_status nnf_net_set_param(nnf_net *net, nnf_param key, double value)
{
    if (!net)
        return NNF_ERR_ARG;
    switch (key) {
    case NNF_PARAM_LEARNING_RATE:
        CHECK(net, isfinite(value) && value > 0.0 && value <= (double)FLT_MAX, NNF_ERR_ARG,
              "nnf_net_set_param: learning rate %g is out of range (expected > 0 and at most FLT_MAX)",
              value);
        net->lr = value;
        return NNF_OK;
    }
    return FAIL(net, NNF_ERR_ARG,
                "nnf_net_set_param: key = %d is not an nnf_param (expected NNF_PARAM_LEARNING_RATE)",
                (int)key);
}

NNF_API nnf_status nnf_net_get_param(const nnf_net *net, nnf_param key, double *value)
{
    if (!net || !value)
        return NNF_ERR_ARG;
    switch (key) {
    case NNF_PARAM_LEARNING_RATE:
        *value = net->lr;
        return NNF_OK;
    }
    return NNF_ERR_ARG;
}

NNF_API nnf_status nnf_net_init(nnf_net *net, nnf_init scheme, uint64_t seed)
{
    if (!net)
        return NNF_ERR_ARG;
    CHECK(net, scheme >= NNF_INIT_DEFAULT && scheme <= NNF_INIT_SMALL_NORMAL, NNF_ERR_ARG,
          "nnf_net_init: scheme = %d is not an nnf_init (expected 0..3)", (int)scheme);
    net->seed = seed;
    for (size_t l = 0; l < net->depth; l++)
        nnf__layer_init(net->layers[l], scheme, seed);
    nnf__net_forget(net);
    net->grads_valid = 0;
    return NNF_OK;
}

/* ---- layers */

NNF_API size_t nnf_layer_units(const nnf_layer *layer)
{
    return layer ? layer->n_out : 0;
}

NNF_API size_t nnf_layer_inputs(const nnf_layer *layer)
{
    return layer ? layer->n_in : 0;
}

NNF_API nnf_act nnf_layer_act(const nnf_layer *layer)
{
    return layer ? (nnf_act)layer->act : NNF_ACT_LINEAR;
}

NNF_API nnf_status nnf_layer_set_slope(nnf_layer *layer, float alpha)
{
    if (!layer)
        return NNF_ERR_ARG;
    CHECK(layer->net, alpha > 0.0f && alpha < 1.0f, NNF_ERR_ARG,
          "nnf_layer_set_slope: alpha = %g for layer %zu is out of range (expected 0 < alpha < 1)",
          (double)alpha, layer->index);
    CHECK(layer->net, layer->act == NNF_ACT_LEAKY_RELU, NNF_ERR_STATE,
          "nnf_layer_set_slope: layer %zu is %s; a slope applies to leaky_relu layers only",
          layer->index, act_names[layer->act]);
    layer->alpha = alpha;
    nnf__net_forget(layer->net);
    return NNF_OK;
}

NNF_API nnf_status nnf_layer_get_slope(const nnf_layer *layer, float *alpha)
{
    if (!layer)
        return NNF_ERR_ARG;
    CHECK(layer->net, alpha, NNF_ERR_ARG, "nnf_layer_get_slope: alpha is NULL (expected a float)");
    *alpha = layer->alpha;
    return NNF_OK;
}

/* Copy a layer's block (weights or biases) out to the user, or in from the
 * user after checking that every value is finite. */
static nnf_status copy_out(const nnf_layer *layer, const char *fn, const char *name,
                           const float *src, float *dst, size_t n)
{
    CHECK(layer->net, dst, NNF_ERR_ARG, "%s: %s is NULL (expected %zu floats for layer %zu)",
          fn, name, n, layer->index);
    memcpy(dst, src, n * sizeof(float));
    return NNF_OK;
}

static nnf_status copy_in(nnf_layer *layer, const char *fn, const char *name,
                          const float *src, float *dst, size_t n)
{
    CHECK(layer->net, src, NNF_ERR_ARG, "%s: %s is NULL (expected %zu floats for layer %zu)",
          fn, name, n, layer->index);
    size_t bad = nnf__find_nonfinite(src, n);
    CHECK(layer->net, bad == n, NNF_ERR_NUMERIC, "%s: %s[%zu] is %g (expected a finite value)",
          fn, name, bad, bad < n ? (double)src[bad] : 0.0);
    memcpy(dst, src, n * sizeof(float));
    nnf__net_forget(layer->net); /* its backward would need the old values */
    return NNF_OK;
}

static nnf_status check_grads(const nnf_layer *layer, const char *fn)
{
    CHECK(layer->net, layer->net->grads_valid, NNF_ERR_STATE,
          "%s: no gradient (call nnf_net_backward or nnf_net_train_step first)", fn);
    return NNF_OK;
}

NNF_API nnf_status nnf_layer_get_weights(const nnf_layer *layer, float *w)
{
    if (!layer)
        return NNF_ERR_ARG;
    return copy_out(layer, __func__, "w", layer->wt, w, layer->n_in * layer->n_out);
}

NNF_API nnf_status nnf_layer_set_weights(nnf_layer *layer, const float *w)
{
    if (!layer)
        return NNF_ERR_ARG;
    return copy_in(layer, __func__, "w", w, layer->wt, layer->n_in * layer->n_out);
}

NNF_API nnf_status nnf_layer_get_bias(const nnf_layer *layer, float *b)
{
    if (!layer)
        return NNF_ERR_ARG;
    return copy_out(layer, __func__, "b", layer->b, b, layer->n_out);
}

NNF_API nnf_status nnf_layer_set_bias(nnf_layer *layer, const float *b)
{
    if (!layer)
        return NNF_ERR_ARG;
    return copy_in(layer, __func__, "b", b, layer->b, layer->n_out);
}

NNF_API nnf_status nnf_layer_get_weight_grad(const nnf_layer *layer, float *dw)
{
    if (!layer)
        return NNF_ERR_ARG;
    nnf_status st = check_grads(layer, __func__);
    return st ? st : copy_out(layer, __func__, "dw", layer->dwt, dw, layer->n_in * layer->n_out);
}

NNF_API nnf_status nnf_layer_get_bias_grad(const nnf_layer *layer, float *db)
{
    if (!layer)
        return NNF_ERR_ARG;
    nnf_status st = check_grads(layer, __func__);
    return st ? st : copy_out(layer, __func__, "db", layer->db, db, layer->n_out);
}

/* ---- training and inference */

/* After check_batch: what a forward pass over (x, m) checks, and the
 * workspace it needs, before it touches the net. NaN and infinity in x are
 * found by the forward pass itself (nnf__net_forward); only when a stored
 * forward pass would be lost by a failure is x scanned first, so that the
 * failing call changes nothing. */
static nnf_status prepare_forward(nnf_net *net, const char *fn, const float *x, size_t m)
{
    nnf_status st = NNF_OK;
    if (net->fwd_m)
        st = check_finite(net, fn, "x", x, net->n_in, m);
    if (st == NNF_OK)
        st = nnf__net_reserve(net, fn, m);
    return st;
}

static void copy_output(const nnf_net *net, float *y, size_t m)
{
    if (y)
        memcpy(y, nnf__net_output(net), output_layer(net)->n_out * m * sizeof(float));
}

NNF_API nnf_status nnf_net_forward(nnf_net *net, const float *x, size_t m, float *y)
{
    if (!net)
        return NNF_ERR_ARG;
    nnf_status st = check_batch(net, __func__, x, m);
    if (st == NNF_OK)
        st = prepare_forward(net, __func__, x, m);
    if (st != NNF_OK)
        return st;
    /* backward needs A[0] after this call returns: keep a copy of x */
    size_t nx = net->n_in * m;
    if (nx > net->x_cap) {
        float *copy = nnf__malloc(nx * sizeof(float));
        CHECK(net, copy, NNF_ERR_NOMEM, "nnf_net_forward: could not allocate %zu bytes for x",
              nx * sizeof(float));
        nnf__free(net->x_copy);
        net->x_copy = copy;
        net->x_cap = nx;
    }
    memcpy(net->x_copy, x, nx * sizeof(float));
    st = nnf__net_forward(net, __func__, net->x_copy, m);
    if (st == NNF_OK)
        copy_output(net, y, m);
    return st;
}

NNF_API nnf_status nnf_net_backward(nnf_net *net, const float *y, float *cost)
{
    if (!net)
        return NNF_ERR_ARG;
    CHECK(net, net->fwd_m > 0, NNF_ERR_STATE,
          "nnf_net_backward: no forward pass to differentiate (call nnf_net_forward first; "
          "each backward uses one up)");
    nnf_status st = check_loss(net, __func__);
    if (st == NNF_OK)
        st = check_labels(net, __func__, y, net->fwd_m);
    if (st == NNF_OK)
        st = nnf__net_backward(net, y, cost);
    if (st == NNF_OK)
        st = nnf__net_check_grads(net);
    return st;
}

NNF_API nnf_status nnf_net_update(nnf_net *net)
{
    if (!net)
        return NNF_ERR_ARG;
    CHECK(net, net->grads_valid, NNF_ERR_STATE,
          "nnf_net_update: no gradient (call nnf_net_backward first)");
    CHECK(net, !net->grads_applied, NNF_ERR_STATE,
          "nnf_net_update: these gradients were already applied (call nnf_net_backward again)");
    return nnf__net_update(net);
}

NNF_API nnf_status nnf_net_train_step(nnf_net *net, const float *x, const float *y, size_t m,
                                      float *cost)
{
    if (!net)
        return NNF_ERR_ARG;
    nnf_status st = check_batch(net, __func__, x, m);
    if (st == NNF_OK)
        st = check_loss(net, __func__);
    if (st == NNF_OK)
        st = check_labels(net, __func__, y, m);
    if (st == NNF_OK)
        st = prepare_forward(net, __func__, x, m);
    /* x is the caller's: it is read in this call only, never kept */
    if (st == NNF_OK)
        st = nnf__net_forward(net, __func__, x, m);
    if (st == NNF_OK)
        st = nnf__net_backward(net, y, cost);
    if (st == NNF_OK) /* also finds a non-finite gradient */
        st = nnf__net_update(net);
    return st;
}

NNF_API nnf_status nnf_net_predict(nnf_net *net, const float *x, size_t m, float *y)
{
    if (!net)
        return NNF_ERR_ARG;
    nnf_status st = check_batch(net, __func__, x, m);
    if (st != NNF_OK)
        return st;
    CHECK(net, y, NNF_ERR_ARG, "nnf_net_predict: y is NULL (expected m x %zu floats)",
          output_layer(net)->n_out);
    st = prepare_forward(net, __func__, x, m);
    if (st != NNF_OK)
        return st;
    st = nnf__net_forward(net, __func__, x, m);
    nnf__net_forget(net);
    if (st == NNF_OK)
        copy_output(net, y, m);
    return st;
}
