/* SPDX-License-Identifier: MIT */
/* arena.c - the memory of a net's layers: the layer list, the parameter
 * arena (grown geometrically while layers are added) and the gradient arena
 * (allocated at the first backward). */
#include "arena.h"
#include "alloc.h"

#include <string.h>

/* Point every layer into the gradient arena (after it moved). Only the
 * gradients' pointers are written: inference contexts may be reading the
 * parameters' at the same time. */
static void bind_grads(nnf_net *net)
{
    for (size_t l = 0; l < net->depth; l++) {
        nnf_layer *ly = net->layers[l];
        ly->dwt = net->grads_cap ? net->grads + ly->offset : NULL;
        ly->db = ly->dwt ? ly->dwt + ly->n_in * ly->n_out : NULL;
    }
}

/* Point every layer into the arenas (after one of them moved). */
void nnf__arena_bind(nnf_net *net)
{
    for (size_t l = 0; l < net->depth; l++) {
        nnf_layer *ly = net->layers[l];
        ly->wt = net->params + ly->offset;
        ly->b = ly->wt + ly->n_in * ly->n_out;
    }
    bind_grads(net);
}

/* A capacity of at least need, a quarter more than the old one when it
 * grows: adding layer after layer copies O(P) floats in all (5 P at most),
 * not O(L P), and the arena holds at most a quarter more than it needs. */
static size_t grown(size_t cap, size_t need, size_t most)
{
    size_t more = cap <= most - cap / 4 ? cap + cap / 4 : most;
    return more > need ? more : need;
}

/* Make the layer list hold `layers` layers and the parameter arena `floats`
 * floats: exactly (the loader, which knows the whole net), or growing
 * geometrically (layers added one at a time). Moving the blocks changes no
 * value, so a later failure of the caller leaves the net as it was. */
nnf_status nnf__arena_make_room(nnf_net *net, size_t layers, size_t floats, int exact)
{
    size_t lcap = net->layers_cap, pcap = net->param_cap;
    if (layers > lcap)
        lcap = exact ? layers : grown(lcap ? lcap : 2, layers, NNF_MAX_DEPTH);
    if (floats > pcap)
        pcap = exact ? floats : grown(pcap, floats, SIZE_MAX / sizeof(float));
    nnf_layer **list = lcap != net->layers_cap ? nnf__malloc(lcap * sizeof *list) : NULL;
    float *params = pcap != net->param_cap ? nnf__malloc(pcap * sizeof(float)) : NULL;
    if ((lcap != net->layers_cap && !list) || (pcap != net->param_cap && !params)) {
        nnf__free(list);
        nnf__free(params);
        return NNF_ERR_NOMEM;
    }
    if (list) {
        if (net->depth)
            memcpy(list, net->layers, net->depth * sizeof *list);
        nnf__free(net->layers);
        net->layers = list;
        net->layers_cap = lcap;
    }
    if (params) {
        if (net->n_floats)
            memcpy(params, net->params, net->n_floats * sizeof(float));
        nnf__free(net->params);
        net->params = params;
        net->param_cap = pcap;
        nnf__arena_bind(net);
    }
    return NNF_OK;
}

void nnf__arena_fit(nnf_net *net)
{
    if (net->param_cap <= net->n_floats || !net->n_floats || nnf__contexts(net))
        return; /* contexts read the parameters where they are */
    float *params = nnf__malloc(net->n_floats * sizeof(float));
    if (!params)
        return; /* the larger block serves as well */
    memcpy(params, net->params, net->n_floats * sizeof(float));
    nnf__free(net->params);
    net->params = params;
    net->param_cap = net->n_floats;
    nnf__arena_bind(net);
}

nnf_status nnf__arena_reserve(nnf_net *net, size_t layers, size_t params)
{
    return nnf__arena_make_room(net, net->depth + layers, net->n_floats + params, 1);
}

float *nnf__arena_grads_alloc(const nnf_net *net, nnf_status *st)
{
    *st = NNF_OK;
    if (net->grads_cap >= net->n_floats)
        return NULL;
    float *grads = nnf__malloc(net->n_floats * sizeof(float));
    if (!grads)
        *st = nnf__fail(NNF_ERR_NOMEM, "could not allocate %zu bytes for the gradients",
                        net->n_floats * sizeof(float));
    return grads;
}

void nnf__arena_grads_install(nnf_net *net, float *grads)
{
    if (!grads)
        return;
    nnf__free(net->grads);
    net->grads = grads;
    net->grads_cap = net->n_floats;
    bind_grads(net);
}
