/* SPDX-License-Identifier: MIT */
/* net.c - the network object: its life (create, layers, clone, destroy), its
 * layer list and its arenas, the loss, and the public calls that drive them. */
#include "net.h"
#include "alloc.h"
#include "arena.h"
#include "init.h"
#include "optimizer.h"
#include "workspace.h"

#include <limits.h>
#include <string.h>

nnf_status nnf__net_new(nnf_net **out, size_t n_in)
{
    nnf_net *net = nnf__malloc(sizeof *net);
    if (!net)
        return NNF_ERR_NOMEM;
    memset(net, 0, sizeof *net);
    net->serial = nnf__new_serial();
    net->guard = &net->guard_data;
    atomic_init(&net->holders, 1);
    net->n_in = n_in;
    net->loss = NNF_LOSS_BCE;
    net->seed = NNF_DEFAULT_SEED;
    nnf__param_defaults(net->param);
    net->lr_scale = 1.0;
    *out = net;
    return NNF_OK;
}

void nnf__net_free(nnf_net *net)
{
    for (size_t l = 0; l < net->depth; l++)
        nnf__free(net->layers[l]);
    nnf__free(net->layers);
    nnf__free(net->params);
    nnf__free(net->grads);
    nnf__free(net->opt_state);
    nnf__work_free(&net->work);
    nnf__free(net->x_copy);
    nnf__free(net->scale);
    for (size_t i = 0; i < net->n_meta; i++)
        nnf__free(net->meta[i]);
    nnf__free(net);
}

/* The new layer restarts the optimizer (its state follows the arenas) and
 * drops the workspace (its layout follows the layers), the stored forward
 * pass and the gradients: all in O(1), whatever the depth. */
nnf_status nnf__net_append(nnf_net *net, size_t units, int act)
{
    size_t n_in = net->depth ? nnf__output_layer(net)->n_out : net->n_in;
    size_t n_pad = nnf__plan_units(n_in, units);
    size_t floats = nnf__layer_floats(n_in, units, n_pad), total = net->n_floats + floats;
    nnf_layer *ly = nnf__malloc(sizeof *ly);
    if (!ly || nnf__arena_make_room(net, net->depth + 1, total, 0) != NNF_OK) {
        nnf__free(ly);
        return NNF_ERR_NOMEM;
    }
    memset(ly, 0, sizeof *ly);
    ly->net = net;
    ly->index = net->depth + 1;
    ly->n_in = n_in;
    ly->n_out = units;
    ly->act = act;
    ly->alpha = 0.01f;
    ly->offset = net->n_floats;
    ly->n_pad = n_pad;
    ly->rows_before = net->rows;
    ly->wt = net->params + ly->offset;
    ly->b = ly->wt + n_in * units;
    if (net->depth && nnf__output_layer(net)->n_out > net->widest_hidden)
        net->widest_hidden = nnf__output_layer(net)->n_out; /* no longer the output layer */
    net->layers[net->depth++] = ly;
    net->shape++;
    net->n_floats = total;
    net->n_params += n_in * units + units;
    net->rows += units;
    if (n_pad > units && n_pad > net->widest_padded)
        net->widest_padded = n_pad;
    nnf__layer_init(ly, NNF_INIT_DEFAULT, net->seed);
    size_t used = n_in * units + units; /* the padded column's zeros */
    memset(ly->wt + used, 0, (floats - used) * sizeof(float));

    nnf__optim_drop_state(net);
    nnf__work_free(&net->work);
    nnf__forget_passes(net); /* the gradient arena is re-sized at the next backward */
    return NNF_OK;
}

/* ---- the public calls */

NNF_API nnf_status nnf_net_create(nnf_net **out, size_t n_inputs)
{
    nnf__call c;
    nnf__enter(&c, __func__, NULL, 0, NULL, 0);
    nnf_status st = NNF_OK;
    if (out)
        *out = NULL;
    if (!out)
        st = nnf__fail(NNF_ERR_ARG, "out is NULL (expected a place for the new net)");
    else if (n_inputs == 0)
        st = nnf__fail(NNF_ERR_ARG, "n_inputs is 0 (expected at least one feature)");
    else if (n_inputs > INT_MAX)
        st = nnf__fail(NNF_ERR_SHAPE, "n_inputs = %zu exceeds BLAS's limit of %d", n_inputs,
                       INT_MAX);
    else if (nnf__net_new(out, n_inputs) != NNF_OK)
        st = nnf__fail(NNF_ERR_NOMEM, "could not allocate the net");
    return nnf__leave(&c, st);
}

void nnf__net_release(nnf_net *net)
{
    if (atomic_fetch_sub_explicit(&net->holders, 1, memory_order_acq_rel) == 1)
        nnf__net_free(net);
}

/* What only calls on the handle use goes with the handle; the layers and
 * parameters stay while inference contexts read them. */
NNF_API void nnf_net_destroy(nnf_net *net)
{
    if (!net)
        return;
    if (nnf__contexts(net)) {
        nnf__free(net->grads);
        net->grads = NULL;
        net->grads_cap = 0;
        nnf__free(net->opt_state);
        net->opt_state = NULL;
        nnf__work_free(&net->work);
        nnf__free(net->x_copy);
        net->x_copy = NULL;
    }
    nnf__net_release(net);
}

NNF_API size_t nnf_net_contexts(const nnf_net *net)
{
    return net ? nnf__contexts(net) : 0;
}

static nnf_status add_dense(nnf_net *net, size_t units, nnf_act act)
{
    size_t n_in = net->depth ? nnf__output_layer(net)->n_out : net->n_in;
    if (units == 0)
        return nnf__fail(NNF_ERR_ARG, "units is 0 (expected at least 1)");
    if (!nnf__act_valid(act))
        return nnf__fail(NNF_ERR_ARG, "act = %d is not an nnf_act (expected 0..%d)", (int)act,
                         NNF__N_ACTS - 1);
    if (net->depth && nnf__output_layer(net)->act == NNF_ACT_SOFTMAX)
        return nnf__fail(NNF_ERR_STATE,
                         "layer %zu is softmax, which is for the output layer "
                         "only: no layer can follow it",
                         net->depth);
    if (net->depth >= NNF_MAX_DEPTH)
        return nnf__fail(NNF_ERR_SHAPE, "the net has %zu layers, the most a net can have",
                         net->depth);
    if (units > INT_MAX)
        return nnf__fail(NNF_ERR_SHAPE, "units = %zu exceeds BLAS's limit of %d", units, INT_MAX);
    size_t limit = SIZE_MAX / sizeof(float);
    if (n_in > limit / units - 1 || net->n_floats > limit - (n_in + 1) * units ||
        net->n_floats > limit - nnf__layer_floats(n_in, units, nnf__plan_units(n_in, units)))
        return nnf__fail(NNF_ERR_SHAPE, "%zu x %zu weights overflow size_t", units, n_in);
    if (nnf__net_append(net, units, (int)act) != NNF_OK)
        return nnf__fail(NNF_ERR_NOMEM, "could not allocate layer %zu (%zu x %zu)", net->depth + 1,
                         units, n_in);
    return NNF_OK;
}

NNF_API nnf_status nnf_net_add_dense(nnf_net *net, size_t units, nnf_act act, nnf_layer **layer)
{
    nnf__call c;
    if (layer)
        *layer = NULL;
    nnf_status st = nnf__enter_write(&c, __func__, net);
    if (st == NNF_OK)
        st = nnf__check_changeable(net);
    if (st == NNF_OK)
        st = add_dense(net, units, act);
    if (st == NNF_OK && layer)
        *layer = nnf__output_layer(net);
    return nnf__leave(&c, st);
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
    return net && net->depth ? nnf__output_layer(net)->n_out : 0;
}

NNF_API nnf_status nnf_net_set_loss(nnf_net *net, nnf_loss loss)
{
    nnf__call c;
    nnf_status st = nnf__enter_write(&c, __func__, net);
    if (st == NNF_OK)
        st = nnf__check_changeable(net);
    if (st == NNF_OK && !nnf__loss_valid(loss))
        st = nnf__fail(NNF_ERR_ARG, "loss = %d is not an nnf_loss (expected 0..%d)", (int)loss,
                       NNF__N_LOSSES - 1);
    if (st == NNF_OK && net->loss != loss) {
        net->loss = loss;
        net->shape++;
    }
    return nnf__leave(&c, st);
}

NNF_API nnf_status nnf_net_get_loss(const nnf_net *net, nnf_loss *loss)
{
    nnf__call c;
    nnf_status st = nnf__enter_read(&c, __func__, net);
    if (st == NNF_OK && !loss)
        st = nnf__fail(NNF_ERR_ARG, "loss is NULL (expected a place for the nnf_loss)");
    if (st == NNF_OK)
        *loss = net->loss;
    return nnf__leave(&c, st);
}

NNF_API const char *nnf_net_errmsg(const nnf_net *net)
{
    return net ? nnf__message(net, net->serial, net->errmsg) : "net is NULL";
}

/* Same layers, settings, parameters, optimizer state, input scaling,
 * metadata and epoch count; no gradients, no forward pass, no workspace
 * (each comes back at the first call that needs it), no exchange function
 * (it belongs to the caller's setup). Every block is allocated before the
 * copy is returned. */
nnf_status nnf__net_clone(const nnf_net *net, nnf_net **out)
{
    nnf_net *c = NULL;
    size_t n_state =
        net->opt_state ? nnf__optim_state_floats(nnf__optimizer(net), net->n_floats) : 0;
    if (nnf__net_new(&c, net->n_in) != NNF_OK)
        return NNF_ERR_NOMEM;
    int failed = nnf__arena_reserve(c, net->depth, net->n_floats) != NNF_OK;
    float *state = n_state && !failed ? nnf__malloc(n_state * sizeof(float)) : NULL;
    failed |= n_state && !state;
    float *scale = !failed && net->scale ? nnf__malloc(2 * net->n_in * sizeof(float)) : NULL;
    failed |= net->scale && !scale;
    for (size_t i = 0; !failed && i < net->n_meta; i++) {
        size_t len = nnf__meta_bytes(net->meta[i]);
        c->meta[i] = nnf__malloc(len);
        if (!c->meta[i]) {
            failed = 1;
            break;
        }
        memcpy(c->meta[i], net->meta[i], len);
        c->n_meta = i + 1;
    }
    for (size_t l = 0; !failed && l < net->depth; l++) {
        nnf_layer *ly = nnf__malloc(sizeof *ly);
        if (!ly) {
            failed = 1;
            break;
        }
        *ly = *net->layers[l];
        ly->net = c;
        c->layers[c->depth++] = ly;
    }
    if (failed) {
        nnf__free(state);
        nnf__free(scale);
        nnf__net_free(c);
        return NNF_ERR_NOMEM;
    }
    if (scale)
        memcpy(scale, net->scale, 2 * net->n_in * sizeof(float));
    c->scale = scale;
    c->epochs = net->epochs;
    c->passes = net->passes;
    c->loss = net->loss;
    c->seed = net->seed;
    memcpy(c->param, net->param, sizeof c->param);
    c->n_floats = net->n_floats;
    c->n_params = net->n_params;
    c->widest_padded = net->widest_padded;
    c->rows = net->rows;
    c->widest_hidden = net->widest_hidden;
    if (net->n_floats)
        memcpy(c->params, net->params, net->n_floats * sizeof(float));
    if (state)
        memcpy(state, net->opt_state, n_state * sizeof(float));
    c->opt_state = state;
    c->opt_t = net->opt_t;
    nnf__arena_bind(c);
    *out = c;
    return NNF_OK;
}

NNF_API nnf_status nnf_net_clone(const nnf_net *net, nnf_net **out)
{
    nnf__call c;
    if (out)
        *out = NULL;
    nnf_status st = nnf__enter_read(&c, __func__, net);
    if (st == NNF_OK && !out)
        st = nnf__fail(NNF_ERR_ARG, "out is NULL (expected a place for the copy)");
    if (st == NNF_OK && nnf__net_clone(net, out) != NNF_OK)
        st = nnf__fail(NNF_ERR_NOMEM, "could not allocate the copy");
    return nnf__leave(&c, st);
}

/* Same architecture: inputs, and per layer units, activation and the layout
 * of the arenas (which the shapes decide on one machine). */
static nnf_status check_same_architecture(const nnf_net *dst, const nnf_net *src)
{
    if (dst->n_in != src->n_in || dst->depth != src->depth)
        return nnf__fail(NNF_ERR_STATE,
                         "dst has %zu inputs and %zu layers, src %zu and %zu (expected the "
                         "same architecture)",
                         dst->n_in, dst->depth, src->n_in, src->depth);
    for (size_t l = 0; l < dst->depth; l++) {
        const nnf_layer *a = dst->layers[l], *b = src->layers[l];
        if (a->n_out != b->n_out || a->act != b->act)
            return nnf__fail(NNF_ERR_STATE,
                             "layer %zu has %zu units (activation %d) in dst, %zu (activation "
                             "%d) in src (expected the same architecture)",
                             l + 1, a->n_out, a->act, b->n_out, b->act);
        if (a->offset != b->offset || a->n_pad != b->n_pad)
            return nnf__fail(NNF_ERR_STATE, "layer %zu is laid out differently in dst and src",
                             l + 1);
    }
    return dst->n_floats == src->n_floats
               ? NNF_OK
               : nnf__fail(NNF_ERR_STATE, "the arenas of dst and src differ in size");
}

/* Everything nnf_net_copy_state copies, allocated first: all or nothing. */
static nnf_status copy_state(nnf_net *dst, const nnf_net *src)
{
    size_t n_state =
        src->opt_state ? nnf__optim_state_floats(nnf__optimizer(src), src->n_floats) : 0;
    float *state = n_state ? nnf__malloc(n_state * sizeof(float)) : NULL;
    float *scale = src->scale ? nnf__malloc(2 * src->n_in * sizeof(float)) : NULL;
    if ((n_state && !state) || (src->scale && !scale)) {
        nnf__free(state);
        nnf__free(scale);
        return nnf__fail(NNF_ERR_NOMEM, "could not allocate the optimizer's state or the "
                                        "input scaling");
    }
    if (state)
        memcpy(state, src->opt_state, n_state * sizeof(float));
    if (scale)
        memcpy(scale, src->scale, 2 * src->n_in * sizeof(float));
    nnf__free(dst->opt_state);
    dst->opt_state = state;
    dst->opt_t = src->opt_t;
    nnf__free(dst->scale);
    dst->scale = scale;
    if (dst->loss != src->loss)
        dst->shape++;
    dst->loss = src->loss;
    dst->seed = src->seed;
    memcpy(dst->param, src->param, sizeof dst->param);
    for (size_t l = 0; l < dst->depth; l++) {
        dst->layers[l]->alpha = src->layers[l]->alpha;
        dst->layers[l]->dropout = src->layers[l]->dropout;
    }
    if (dst->n_floats)
        memcpy(dst->params, src->params, dst->n_floats * sizeof(float));
    dst->epochs = src->epochs;
    dst->passes = src->passes;
    nnf__forget_passes(dst);
    return NNF_OK;
}

NNF_API nnf_status nnf_net_copy_state(nnf_net *dst, const nnf_net *src)
{
    nnf__call c;
    nnf_status st = nnf__enter_write(&c, __func__, dst);
    if (st == NNF_OK && !src)
        st = nnf__fail(NNF_ERR_ARG, "src is NULL");
    if (st == NNF_OK && src != dst) {
        st = nnf__check_changeable(dst);
        /* src is only read (other threads may read it at once); the failures
         * are dst's */
        nnf__call cs;
        if (st == NNF_OK) {
            nnf__enter(&cs, __func__, dst->errmsg, sizeof dst->errmsg, dst, dst->serial);
            st = nnf__guard_hold(&cs, src->guard, 0);
            if (st == NNF_OK)
                st = check_same_architecture(dst, src);
            if (st == NNF_OK)
                st = copy_state(dst, src);
            st = nnf__leave(&cs, st);
        }
    }
    return nnf__leave(&c, st);
}

NNF_API nnf_status nnf_net_report(nnf_net *net, nnf_status status, const char *msg)
{
    nnf__call c;
    nnf_status st = nnf__enter_write(&c, __func__, net);
    if (st == NNF_OK)
        st = nnf__report(status, msg);
    return nnf__leave(&c, st);
}
