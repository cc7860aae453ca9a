/* SPDX-License-Identifier: MIT */
/* layer.c - the public calls on a layer: its shape and activation, the
 * leaky ReLU slope, the dropout rate, and copies of its weights, biases and
 * gradients in the user's layout. */
#include "net.h"

#include <string.h>

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

static nnf_status set_slope(nnf_layer *layer, float alpha)
{
    if (!(alpha > 0.0f && alpha < 1.0f))
        return nnf__fail(NNF_ERR_ARG,
                         "alpha = %g for layer %zu is out of range (expected 0 < "
                         "alpha < 1)",
                         (double)alpha, layer->index);
    if (layer->act != NNF_ACT_LEAKY_RELU)
        return nnf__fail(NNF_ERR_STATE,
                         "layer %zu is %s; a slope applies to leaky_relu layers "
                         "only",
                         layer->index, nnf__act_name(layer->act));
    layer->alpha = alpha;
    nnf__forget_forward(layer->net); /* its backward would need the old slope */
    return NNF_OK;
}

NNF_API nnf_status nnf_layer_set_slope(nnf_layer *layer, float alpha)
{
    nnf__call c;
    nnf_status st = nnf__enter_write(&c, __func__, layer ? layer->net : NULL);
    if (st == NNF_OK)
        st = nnf__check_changeable(layer->net);
    if (st == NNF_OK)
        st = set_slope(layer, alpha);
    return nnf__leave(&c, st);
}

NNF_API nnf_status nnf_layer_get_slope(const nnf_layer *layer, float *alpha)
{
    nnf__call c;
    nnf_status st = nnf__enter_read(&c, __func__, layer ? layer->net : NULL);
    if (st == NNF_OK && !alpha)
        st = nnf__fail(NNF_ERR_ARG, "alpha is NULL (expected a float)");
    if (st == NNF_OK)
        *alpha = layer->alpha;
    return nnf__leave(&c, st);
}

/* A copy out of one of the layer's blocks (weights, biases or their
 * gradients) into the user's n floats at dst. */
static nnf_status copy_out(const nnf_layer *layer, const char *name, const float *src, float *dst,
                           size_t n, int is_grad)
{
    if (is_grad && layer->net->grads_state == NNF__GRADS_NONE)
        return nnf__fail(NNF_ERR_STATE, "no gradient (call nnf_net_backward or "
                                        "nnf_net_train_step first)");
    if (!dst)
        return nnf__fail(NNF_ERR_ARG, "%s is NULL (expected %zu floats for layer %zu)", name, n,
                         layer->index);
    memcpy(dst, src, n * sizeof(float));
    return NNF_OK;
}

/* A copy in from the user's n floats at src, once every value is known to
 * be finite. The stored forward pass is gone: its backward needs the old
 * values. */
static nnf_status copy_in(nnf_layer *layer, const char *name, const float *src, float *dst,
                          size_t n)
{
    if (!src)
        return nnf__fail(NNF_ERR_ARG, "%s is NULL (expected %zu floats for layer %zu)", name, n,
                         layer->index);
    size_t bad = nnf__find_nonfinite(src, n);
    if (bad < n)
        return nnf__fail(NNF_ERR_NUMERIC, "%s[%zu] is %g (expected a finite value)", name, bad,
                         (double)src[bad]);
    memcpy(dst, src, n * sizeof(float));
    nnf__forget_forward(layer->net);
    return NNF_OK;
}

/* The four getters and two setters differ only in the block they copy. */
enum block { WEIGHTS, BIAS, WEIGHT_GRAD, BIAS_GRAD };

static nnf_status get_block(const char *fn, const nnf_layer *layer, enum block b, float *dst)
{
    static const char *const names[] = {"w", "b", "dw", "db"};
    nnf__call c;
    nnf_status st = nnf__enter_read(&c, fn, layer ? layer->net : NULL);
    if (st == NNF_OK) {
        size_t nw = layer->n_in * layer->n_out;
        const float *src[] = {layer->wt, layer->b, layer->dwt, layer->db};
        st = copy_out(layer, names[b], src[b], dst,
                      b == WEIGHTS || b == WEIGHT_GRAD ? nw : layer->n_out, b >= WEIGHT_GRAD);
    }
    return nnf__leave(&c, st);
}

static nnf_status set_block(const char *fn, nnf_layer *layer, enum block b, const float *src)
{
    nnf__call c;
    nnf_status st = nnf__enter_write(&c, fn, layer ? layer->net : NULL);
    if (st == NNF_OK)
        st = nnf__check_changeable(layer->net);
    if (st == NNF_OK)
        st = b == WEIGHTS ? copy_in(layer, "w", src, layer->wt, layer->n_in * layer->n_out)
                          : copy_in(layer, "b", src, layer->b, layer->n_out);
    return nnf__leave(&c, st);
}

NNF_API nnf_status nnf_layer_get_weights(const nnf_layer *layer, float *w)
{
    return get_block(__func__, layer, WEIGHTS, w);
}

NNF_API nnf_status nnf_layer_set_weights(nnf_layer *layer, const float *w)
{
    return set_block(__func__, layer, WEIGHTS, w);
}

NNF_API nnf_status nnf_layer_get_bias(const nnf_layer *layer, float *b)
{
    return get_block(__func__, layer, BIAS, b);
}

NNF_API nnf_status nnf_layer_set_bias(nnf_layer *layer, const float *b)
{
    return set_block(__func__, layer, BIAS, b);
}

NNF_API nnf_status nnf_layer_get_weight_grad(const nnf_layer *layer, float *dw)
{
    return get_block(__func__, layer, WEIGHT_GRAD, dw);
}

NNF_API nnf_status nnf_layer_get_bias_grad(const nnf_layer *layer, float *db)
{
    return get_block(__func__, layer, BIAS_GRAD, db);
}

static nnf_status set_dropout(nnf_layer *layer, float rate)
{
    if (!(rate >= 0.0f && rate < 1.0f))
        return nnf__fail(NNF_ERR_ARG,
                         "rate = %g for layer %zu is out of range (expected 0 <= rate < 1)",
                         (double)rate, layer->index);
    if (layer->index == layer->net->depth)
        return nnf__fail(NNF_ERR_STATE,
                         "layer %zu is the output layer; dropout is for hidden layers (add the "
                         "next layer first)",
                         layer->index);
    layer->dropout = rate;
    nnf__forget_forward(layer->net); /* its backward would recompute other masks */
    return NNF_OK;
}

NNF_API nnf_status nnf_layer_set_dropout(nnf_layer *layer, float rate)
{
    nnf__call c;
    nnf_status st = nnf__enter_write(&c, __func__, layer ? layer->net : NULL);
    if (st == NNF_OK)
        st = nnf__check_changeable(layer->net);
    if (st == NNF_OK)
        st = set_dropout(layer, rate);
    return nnf__leave(&c, st);
}

NNF_API nnf_status nnf_layer_get_dropout(const nnf_layer *layer, float *rate)
{
    nnf__call c;
    nnf_status st = nnf__enter_read(&c, __func__, layer ? layer->net : NULL);
    if (st == NNF_OK && !rate)
        st = nnf__fail(NNF_ERR_ARG, "rate is NULL (expected a float)");
    if (st == NNF_OK)
        *rate = layer->dropout;
    return nnf__leave(&c, st);
}
