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

static const char *const act_names[] = {"linear", "sigmoid", "tanh", "relu", "leaky_relu",
                                        "softmax"};

static int valid_act(nnf_act act)
{
    return act >= NNF_ACT_LINEAR && act <= NNF_ACT_SOFTMAX;
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

/* The loss and the output layer must belong together: BCE with sigmoid,
 * cross-entropy with softmax, and softmax with nothing but cross-entropy. */
static nnf_status check_loss(nnf_net *net, const char *fn)
{
    nnf_layer *out = output_layer(net);
    CHECK(net, out->act != NNF_ACT_SOFTMAX || net->loss == NNF_LOSS_CROSS_ENTROPY, NNF_ERR_STATE,
          "%s: the softmax output layer %zu needs loss NNF_LOSS_CROSS_ENTROPY", fn, out->index);
    CHECK(net, net->loss != NNF_LOSS_BCE || out->act == NNF_ACT_SIGMOID, NNF_ERR_STATE,
          "%s: loss BCE needs a sigmoid output layer, but layer %zu is %s "
          "(use NNF_LOSS_MSE or a sigmoid output)", fn, out->index, act_names[out->act]);
    CHECK(net, net->loss != NNF_LOSS_CROSS_ENTROPY || out->act == NNF_ACT_SOFTMAX, NNF_ERR_STATE,
          "%s: loss cross-entropy needs a softmax output layer, but layer %zu is %s",
          fn, out->index, act_names[out->act]);
    return NNF_OK;
}

static nnf_status check_labels(nnf_net *net, const char *fn, const float *y, size_t m)
{
    size_t n = output_layer(net)->n_out;
    CHECK(net, y, NNF_ERR_ARG, "%s: y is NULL (expected m x %zu floats)", fn, n);
    nnf_status st = check_finite(net, fn, "y", y, n, m);
    if (st != NNF_OK)
        return st;
    if (net->loss != NNF_LOSS_MSE) {
        size_t bad = nnf__find_outside_unit(y, n * m);
        CHECK(net, bad == n * m, NNF_ERR_ARG, "%s: y[%zu][%zu] = %g (%s labels must be in [0, 1])",
              fn, bad / n, bad % n, bad < n * m ? (double)y[bad] : 0.0,
              net->loss == NNF_LOSS_BCE ? "BCE" : "cross-entropy");
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
          "nnf_net_add_dense: act = %d is not an nnf_act (expected 0..5)", (int)act);
    CHECK(net, !net->depth || output_layer(net)->act != NNF_ACT_SOFTMAX, NNF_ERR_STATE,
          "nnf_net_add_dense: layer %zu is softmax, which is for the output layer only: "
          "no layer can follow it", net->depth);
    CHECK(net, net->depth < NNF_MAX_DEPTH, NNF_ERR_SHAPE,
          "nnf_net_add_dense: the net has %zu layers, the most a net can have", net->depth);
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
    CHECK(net, loss >= NNF_LOSS_BCE && loss <= NNF_LOSS_CROSS_ENTROPY, NNF_ERR_ARG,
          "nnf_net_set_loss: loss = %d is not an nnf_loss (expected 0..2)", (int)loss);
    net->loss = loss;
    return NNF_OK;
}

NNF_API nnf_status nnf_net_get_loss(const nnf_net *net, nnf_loss *loss)
{
    if (!net)
        return NNF_ERR_ARG;
    CHECK((nnf_net *)(uintptr_t)net, loss, NNF_ERR_ARG, "nnf_net_get_loss: loss is NULL");
    *loss = net->loss;
    return NNF_OK;
}

/* A beta-like setting: 0 <= v < 1. */
static int unit_interval(double v)
{
    return v >= 0.0 && v < 1.0;
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
    case NNF_PARAM_OPTIMIZER: {
        CHECK(net, value == 0.0 || value == 1.0 || value == 2.0, NNF_ERR_ARG,
              "nnf_net_set_param: optimizer %g is not an nnf_optimizer (expected 0, 1 or 2)", value);
        nnf_optimizer opt = (nnf_optimizer)(int)value;
        if (opt == net->optimizer)
            return NNF_OK;
        nnf_status st = nnf__optim_reset(net, opt);
        CHECK(net, st == NNF_OK, st, "nnf_net_set_param: could not allocate the optimizer's state");
        return NNF_OK;
    }
    case NNF_PARAM_MOMENTUM:
        CHECK(net, unit_interval(value), NNF_ERR_ARG,
              "nnf_net_set_param: momentum %g is out of range (expected 0 <= beta < 1)", value);
        net->momentum = value;
        return NNF_OK;
    case NNF_PARAM_ADAM_BETA1:
    case NNF_PARAM_ADAM_BETA2:
        CHECK(net, unit_interval(value), NNF_ERR_ARG,
              "nnf_net_set_param: Adam beta%d %g is out of range (expected 0 <= beta < 1)",
              key == NNF_PARAM_ADAM_BETA1 ? 1 : 2, value);
        *(key == NNF_PARAM_ADAM_BETA1 ? &net->beta1 : &net->beta2) = value;
        return NNF_OK;
    case NNF_PARAM_ADAM_EPSILON:
        CHECK(net, isfinite(value) && value > 0.0 && value <= (double)FLT_MAX, NNF_ERR_ARG,
              "nnf_net_set_param: Adam epsilon %g is out of range (expected > 0)", value);
        net->epsilon = value;
        return NNF_OK;
    case NNF_PARAM_L2_PENALTY:
        CHECK(net, isfinite(value) && value >= 0.0 && value <= (double)FLT_MAX, NNF_ERR_ARG,
              "nnf_net_set_param: L2 penalty %g is out of range (expected finite and >= 0)", value);
        net->l2 = value;
        return NNF_OK;
    }
    return FAIL(net, NNF_ERR_ARG,
                "nnf_net_set_param: key = %d is not an nnf_param (expected 0..6)", (int)key);
}

NNF_API nnf_status nnf_net_get_param(const nnf_net *net, nnf_param key, double *value)
{
    if (!net)
        return NNF_ERR_ARG;
    nnf_net *w = (nnf_net *)(uintptr_t)net; /* only its message is written */
    CHECK(w, value, NNF_ERR_ARG, "nnf_net_get_param: value is NULL");
    switch (key) {
    case NNF_PARAM_LEARNING_RATE: *value = net->lr; return NNF_OK;
    case NNF_PARAM_OPTIMIZER: *value = (double)net->optimizer; return NNF_OK;
    case NNF_PARAM_MOMENTUM: *value = net->momentum; return NNF_OK;
    case NNF_PARAM_ADAM_BETA1: *value = net->beta1; return NNF_OK;
    case NNF_PARAM_ADAM_BETA2: *value = net->beta2; return NNF_OK;
    case NNF_PARAM_ADAM_EPSILON: *value = net->epsilon; return NNF_OK;
    case NNF_PARAM_L2_PENALTY: *value = net->l2; return NNF_OK;
    }
    return FAIL(w, NNF_ERR_ARG, "nnf_net_get_param: key = %d is not an nnf_param (expected 0..6)",
                (int)key);
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
    /* training starts over: so does the optimizer */
    size_t n_state = nnf__optim_state_floats(net->optimizer, net->n_params);
    if (n_state)
        memset(net->opt_state, 0, n_state * sizeof(float));
    net->opt_t = 0;
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
    if (st == NNF_OK && net->fwd_m) /* as prepare_forward() */
        st = check_finite(net, __func__, "x", x, net->n_in, m);
    if (st != NNF_OK)
        return st;
    /* The workspace and a copy of x (backward needs A[0] after this call
     * returns) are both allocated before either is installed, so that a
     * failure changes nothing: a stored forward pass survives it. */
    float *work = nnf__net_work_alloc(net, __func__, m, &st);
    if (st != NNF_OK)
        return st;
    size_t nx = net->n_in * m;
    if (nx > net->x_cap) {
        float *copy = nnf__malloc(nx * sizeof(float));
        if (!copy) {
            nnf__free(work);
            return FAIL(net, NNF_ERR_NOMEM, "nnf_net_forward: could not allocate %zu bytes for x",
                        nx * sizeof(float));
        }
        nnf__free(net->x_copy);
        net->x_copy = copy;
        net->x_cap = nx;
    }
    if (work)
        nnf__net_work_install(net, work, m);
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
        st = nnf__net_step(net, __func__, x, y, m, cost);
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

/* ---- mini-batches and evaluation (train.c) */

NNF_API nnf_status nnf_net_train(nnf_net *net, const float *x, const float *y, size_t m,
                                 size_t batch_size, size_t epochs, int shuffle, uint64_t seed,
                                 nnf_progress_fn progress, void *user, size_t *steps)
{
    if (steps)
        *steps = 0;
    if (!net)
        return NNF_ERR_ARG;
    CHECK(net, batch_size > 0, NNF_ERR_ARG, "nnf_net_train: batch_size is 0 (expected at least 1)");
    CHECK(net, epochs > 0, NNF_ERR_ARG, "nnf_net_train: epochs is 0 (expected at least 1)");
    /* the batch goes to BLAS; the data set only has to be addressable */
    size_t batch = batch_size < m ? batch_size : m;
    nnf_status st = check_batch(net, __func__, x, batch);
    if (st == NNF_OK) {
        size_t width = net->n_in > output_layer(net)->n_out ? net->n_in : output_layer(net)->n_out;
        CHECK(net, width <= SIZE_MAX / sizeof(float) / m, NNF_ERR_SHAPE,
              "nnf_net_train: a data set of m = %zu samples overflows size_t", m);
    }
    if (st == NNF_OK)
        st = check_loss(net, __func__);
    if (st == NNF_OK)
        st = check_labels(net, __func__, y, m);
    if (st == NNF_OK) /* bad data fails before the first step, not in epoch 3 */
        st = check_finite(net, __func__, "x", x, net->n_in, m);
    if (st == NNF_OK)
        st = nnf__train(net, x, y, m, batch, epochs, shuffle, seed, progress, user, steps);
    return st;
}

NNF_API nnf_status nnf_net_evaluate(nnf_net *net, const float *x, const float *y, size_t m,
                                    float *cost, float *accuracy)
{
    if (!net)
        return NNF_ERR_ARG;
    nnf_status st = check_batch(net, __func__, x, m);
    if (st == NNF_OK)
        st = check_loss(net, __func__);
    if (st == NNF_OK)
        st = check_labels(net, __func__, y, m);
    if (st == NNF_OK && net->fwd_m) /* a failure must not cost the stored forward pass */
        st = check_finite(net, __func__, "x", x, net->n_in, m);
    if (st == NNF_OK)
        st = nnf__evaluate(net, x, y, m, cost, accuracy);
    return st;
}

/* ---- saving, loading, cloning (serialize.c, io.c) */

#define NNF__SAVE_FLAGS NNF_SAVE_OPTIMIZER_STATE

NNF_API nnf_status nnf_net_saved_size(const nnf_net *net, unsigned flags, size_t *size)
{
    if (!net)
        return NNF_ERR_ARG;
    nnf_net *w = (nnf_net *)(uintptr_t)net; /* only its message is written */
    CHECK(w, size, NNF_ERR_ARG, "nnf_net_saved_size: size is NULL");
    CHECK(w, !(flags & ~NNF__SAVE_FLAGS), NNF_ERR_ARG,
          "nnf_net_saved_size: flags 0x%x has unknown bits (expected NNF_SAVE_OPTIMIZER_STATE)",
          flags);
    *size = nnf__saved_size(net, flags);
    return NNF_OK;
}

NNF_API nnf_status nnf_net_save_mem(const nnf_net *net, void *buf, size_t cap, unsigned flags,
                                    size_t *size)
{
    if (size)
        *size = 0;
    if (!net)
        return NNF_ERR_ARG;
    nnf_net *w = (nnf_net *)(uintptr_t)net;
    CHECK(w, buf, NNF_ERR_ARG, "nnf_net_save_mem: buf is NULL");
    CHECK(w, !(flags & ~NNF__SAVE_FLAGS), NNF_ERR_ARG,
          "nnf_net_save_mem: flags 0x%x has unknown bits (expected NNF_SAVE_OPTIMIZER_STATE)",
          flags);
    size_t need = nnf__saved_size(net, flags);
    CHECK(w, cap >= need, NNF_ERR_ARG,
          "nnf_net_save_mem: cap = %zu bytes is too small (the net needs %zu)", cap, need);
    nnf__save_mem(net, buf, flags);
    if (size)
        *size = need;
    return NNF_OK;
}

NNF_API nnf_status nnf_net_save(const nnf_net *net, const char *path, unsigned flags)
{
    if (!net)
        return NNF_ERR_ARG;
    nnf_net *w = (nnf_net *)(uintptr_t)net;
    CHECK(w, path, NNF_ERR_ARG, "nnf_net_save: path is NULL");
    CHECK(w, !(flags & ~NNF__SAVE_FLAGS), NNF_ERR_ARG,
          "nnf_net_save: flags 0x%x has unknown bits (expected NNF_SAVE_OPTIMIZER_STATE)", flags);
    return nnf__save_file(w, path, flags);
}

NNF_API nnf_status nnf_net_load_mem(nnf_net **out, const void *buf, size_t size, char *errbuf,
                                    size_t errbuf_size)
{
    if (errbuf && errbuf_size)
        errbuf[0] = '\0';
    if (!out)
        return NNF_ERR_ARG;
    *out = NULL;
    if (!buf)
        return NNF_ERR_ARG;
    return nnf__load_mem(out, buf, size, errbuf, errbuf_size);
}

NNF_API nnf_status nnf_net_load(nnf_net **out, const char *path, char *errbuf,
                                size_t errbuf_size)
{
    if (errbuf && errbuf_size)
        errbuf[0] = '\0';
    if (!out)
        return NNF_ERR_ARG;
    *out = NULL;
    if (!path)
        return NNF_ERR_ARG;
    return nnf__load_file(out, path, errbuf, errbuf_size);
}

NNF_API nnf_status nnf_net_clone(const nnf_net *net, nnf_net **out)
{
    if (out)
        *out = NULL;
    if (!net)
        return NNF_ERR_ARG;
    nnf_net *w = (nnf_net *)(uintptr_t)net; /* only its message is written */
    CHECK(w, out, NNF_ERR_ARG, "nnf_net_clone: out is NULL");
    nnf_status st = nnf__net_clone(net, out);
    CHECK(w, st == NNF_OK, st, "nnf_net_clone: could not allocate the copy");
    return NNF_OK;
}
