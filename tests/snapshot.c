/* SPDX-License-Identifier: MIT */
/* snapshot.c - see snapshot.h. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assert_ok.h"

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    assert_non_null(p);
    return p;
}

void snapshot_take(nnf_net *net, snapshot *s)
{
    memset(s, 0, sizeof *s);
    s->depth = nnf_net_depth(net);
    s->inputs = nnf_net_inputs(net);
    s->outputs = nnf_net_outputs(net);
    assert_ok(net, nnf_net_get_loss(net, &s->loss));
    for (int k = 0; k < SNAPSHOT_SETTINGS; k++)
        assert_ok(net, nnf_net_get_param(net, (nnf_param)k, &s->setting[k]));
    s->units = xcalloc(s->depth, sizeof *s->units);
    s->fan_in = xcalloc(s->depth, sizeof *s->fan_in);
    s->act = xcalloc(s->depth, sizeof *s->act);
    s->slope = xcalloc(s->depth, sizeof *s->slope);
    for (size_t l = 0; l < s->depth; l++) {
        const nnf_layer *ly = nnf_net_layer(net, l + 1);
        assert_non_null(ly);
        s->units[l] = nnf_layer_units(ly);
        s->fan_in[l] = nnf_layer_inputs(ly);
        s->act[l] = nnf_layer_act(ly);
        assert_ok(net, nnf_layer_get_slope(ly, &s->slope[l]));
        s->n_params += s->units[l] * (s->fan_in[l] + 1);
    }
    s->params = xcalloc(s->n_params, sizeof(float));
    /* the gradients exist for every layer or for none */
    s->grads = xcalloc(s->n_params, sizeof(float));
    int has_grads =
        s->depth > 0 && nnf_layer_get_bias_grad(nnf_net_layer(net, 1), s->grads) == NNF_OK;
    if (!has_grads) {
        free(s->grads);
        s->grads = NULL;
    }
    for (size_t l = 0, k = 0; l < s->depth; l++) {
        const nnf_layer *ly = nnf_net_layer(net, l + 1);
        size_t nw = s->units[l] * s->fan_in[l];
        assert_ok(net, nnf_layer_get_weights(ly, s->params + k));
        assert_ok(net, nnf_layer_get_bias(ly, s->params + k + nw));
        if (has_grads) {
            assert_ok(net, nnf_layer_get_weight_grad(ly, s->grads + k));
            assert_ok(net, nnf_layer_get_bias_grad(ly, s->grads + k + nw));
        }
        k += nw + s->units[l];
    }
    assert_ok(net, nnf_net_saved_size(net, NNF_SAVE_OPTIMIZER_STATE, &s->image_size));
    s->image = xcalloc(s->image_size, 1);
    assert_ok(net, nnf_net_save_mem(net, s->image, s->image_size, NNF_SAVE_OPTIMIZER_STATE, NULL));
}

void snapshot_free(snapshot *s)
{
    free(s->units);
    free(s->fan_in);
    free(s->act);
    free(s->slope);
    free(s->params);
    free(s->grads);
    free(s->image);
    memset(s, 0, sizeof *s);
}

static int differ(char *why, size_t size, const char *fmt, ...)
{
    if (why && size) {
        va_list ap;
        va_start(ap, fmt);
        (void)vsnprintf(why, size, fmt, ap);
        va_end(ap);
    }
    return 1;
}

/* The layer (from 1) and the name of parameter k of a snapshot. */
static const char *param_name(const snapshot *s, size_t k, size_t *layer)
{
    for (size_t l = 0; l < s->depth; l++) {
        size_t nw = s->units[l] * s->fan_in[l];
        *layer = l + 1;
        if (k < nw)
            return "weight";
        if (k < nw + s->units[l])
            return "bias";
        k -= nw + s->units[l];
    }
    return "?";
}

/* The first of n floats that differ in their bits, or n. */
static size_t first_difference(const float *a, const float *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], sizeof(float)) != 0)
            return i;
    return n;
}

int snapshot_differ(const snapshot *a, const snapshot *b, unsigned flags, char *why, size_t size)
{
    if (a->depth != b->depth || a->inputs != b->inputs || a->outputs != b->outputs)
        return differ(why, size,
                      "the architecture: %zu -> %zu layers -> %zu outputs, then "
                      "%zu -> %zu layers -> %zu outputs",
                      a->inputs, a->depth, a->outputs, b->inputs, b->depth, b->outputs);
    if (a->loss != b->loss)
        return differ(why, size, "the loss: %d, then %d", (int)a->loss, (int)b->loss);
    for (int k = 0; k < SNAPSHOT_SETTINGS; k++)
        if (memcmp(&a->setting[k], &b->setting[k], sizeof(double)) != 0)
            return differ(why, size, "setting %d (nnf_param): %.17g, then %.17g", k, a->setting[k],
                          b->setting[k]);
    for (size_t l = 0; l < a->depth; l++) {
        if (a->units[l] != b->units[l] || a->fan_in[l] != b->fan_in[l] || a->act[l] != b->act[l])
            return differ(why, size, "layer %zu: %zu x %zu act %d, then %zu x %zu act %d", l + 1,
                          a->units[l], a->fan_in[l], (int)a->act[l], b->units[l], b->fan_in[l],
                          (int)b->act[l]);
        if (memcmp(&a->slope[l], &b->slope[l], sizeof(float)) != 0)
            return differ(why, size, "the slope of layer %zu: %.9g, then %.9g", l + 1,
                          (double)a->slope[l], (double)b->slope[l]);
    }
    size_t i = first_difference(a->params, b->params, a->n_params), layer = 0;
    if (i < a->n_params) {
        const char *name = param_name(a, i, &layer);
        return differ(why, size, "the %s of layer %zu (parameter %zu): %.9g, then %.9g", name,
                      layer, i, (double)a->params[i], (double)b->params[i]);
    }
    if (flags & SNAP_GRADS) {
        if (!a->grads != !b->grads)
            return differ(why, size, "the gradients: %s, then %s", a->grads ? "some" : "none",
                          b->grads ? "some" : "none");
        i = a->grads ? first_difference(a->grads, b->grads, a->n_params) : a->n_params;
        if (i < a->n_params) {
            const char *name = param_name(a, i, &layer);
            return differ(why, size,
                          "the gradient of the %s of layer %zu (parameter %zu): "
                          "%.9g, then %.9g",
                          name, layer, i, (double)a->grads[i], (double)b->grads[i]);
        }
    }
    if ((flags & SNAP_STATE) &&
        (a->image_size != b->image_size || memcmp(a->image, b->image, a->image_size) != 0))
        return differ(why, size, "the saved image (optimizer state, step count or seed)");
    return 0;
}

void assert_unchanged(nnf_net *net, const snapshot *before, unsigned flags, const char *what)
{
    snapshot after;
    char why[256];
    snapshot_take(net, &after);
    int changed = snapshot_differ(before, &after, flags, why, sizeof why);
    snapshot_free(&after);
    if (changed)
        fail_msg("%s changed the net: %s", what, why);
}

void assert_twins(nnf_net *a, nnf_net *b, unsigned flags)
{
    snapshot sa, sb;
    char why[256];
    snapshot_take(a, &sa);
    snapshot_take(b, &sb);
    int differs = snapshot_differ(&sa, &sb, flags, why, sizeof why);
    snapshot_free(&sa);
    snapshot_free(&sb);
    if (differs)
        fail_msg("the nets differ in %s", why);
}
