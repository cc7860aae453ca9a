/* SPDX-License-Identifier: MIT */
/* save.c - a net written into the bytes of docs/format.md: the saved size,
 * the writer, nnf_net_saved_size and nnf_net_save_mem (io.c writes files). */
#include "serialize.h"
#include "tail.h"
#include "meta.h"
#include "optimizer.h"

#include <string.h>

/* The optimizer's state (header flag bit 0, t and the arrays) is stored
 * when asked for and when the optimizer has one: then its arrays are
 * state_arrays of P floats each (P may be 0: a net without layers keeps
 * the flag and t all the same). */
static int with_state(const nnf_net *net, unsigned flags)
{
    return (flags & NNF_SAVE_OPTIMIZER_STATE) && nnf__optimizer(net) != NNF_OPT_SGD;
}

static size_t state_arrays(const nnf_net *net, unsigned flags)
{
    return with_state(net, flags) ? nnf__optim_state_floats(nnf__optimizer(net), 1) : 0;
}

static size_t state_floats(const nnf_net *net, unsigned flags)
{
    return state_arrays(net, flags) * net->n_params;
}

static size_t arrays_end(const nnf_net *net, unsigned flags)
{
    return NNF__AT_TABLE + NNF__RECORD * net->depth +
           sizeof(float) * (net->n_params + state_floats(net, flags));
}

size_t nnf__saved_size(const nnf_net *net, unsigned flags)
{
    return nnf__pad8(arrays_end(net, flags)) + nnf__tail_size(net) + NNF__TRAILER;
}

/* An array laid out as the arenas (per layer Wt then b, and a padded
 * layer's unused column), in the format's order: per layer Wt then b. */
static unsigned char *arrays_write(const nnf_net *net, unsigned char *p, const float *arena)
{
    for (size_t l = 0; l < net->depth; l++) {
        const nnf_layer *ly = net->layers[l];
        size_t n = ly->n_in * ly->n_out + ly->n_out;
        nnf__floats_write(p, arena + ly->offset, n);
        p += 4 * n;
    }
    return p;
}

void nnf__save_to(const nnf_net *net, unsigned char *buf, unsigned flags)
{
    size_t size = nnf__saved_size(net, flags);
    int state = with_state(net, flags);
    nnf__head h;
    memset(&h, 0, sizeof h);
    h.version = NNF__FORMAT_VERSION;
    h.flags = state ? NNF__FORMAT_FLAG_STATE : 0;
    h.length = (uint64_t)(size - NNF__HEADER - NNF__TRAILER);
    h.n_in = net->n_in;
    h.seed = net->seed;
    h.t = state ? net->opt_t : 0;
    memcpy(h.param, net->param, sizeof h.param);
    h.depth = (uint32_t)net->depth;
    h.loss = (uint32_t)net->loss;
    h.optimizer = (uint32_t)nnf__optimizer(net);
    nnf__head_write(buf, &h);

    unsigned char *p = buf + NNF__AT_TABLE;
    for (size_t l = 0; l < net->depth; l++, p += NNF__RECORD) {
        const nnf_layer *ly = net->layers[l];
        nnf__record r = {ly->n_out, (uint32_t)ly->act, ly->alpha};
        nnf__record_write(p, &r);
    }
    p = arrays_write(net, p, net->params);
    for (size_t k = 0; k < state_arrays(net, flags); k++) {
        if (net->opt_state)
            p = arrays_write(net, p, net->opt_state + k * net->n_floats);
        else { /* not allocated until the first update: all zeros */
            memset(p, 0, 4 * net->n_params);
            p += 4 * net->n_params;
        }
    }
    size_t end = (size_t)(p - buf);
    memset(p, 0, nnf__pad8(end) - end);
    nnf__tail_write(net, buf + nnf__pad8(end), flags);
    nnf__u32_put(buf + size - NNF__TRAILER, nnf__crc32(buf, size - NNF__TRAILER));
}

nnf_status nnf__check_save_flags(unsigned flags)
{
    if (flags & ~NNF_SAVE_OPTIMIZER_STATE)
        return nnf__fail(NNF_ERR_ARG,
                         "flags 0x%x has unknown bits (expected "
                         "NNF_SAVE_OPTIMIZER_STATE)",
                         flags);
    return NNF_OK;
}

NNF_API nnf_status nnf_net_saved_size(const nnf_net *net, unsigned flags, size_t *size)
{
    nnf__call c;
    nnf_status st = nnf__enter_read(&c, __func__, net);
    if (st == NNF_OK && !size)
        st = nnf__fail(NNF_ERR_ARG, "size is NULL (expected a place for the byte count)");
    if (st == NNF_OK)
        st = nnf__check_save_flags(flags);
    if (st == NNF_OK)
        *size = nnf__saved_size(net, flags);
    return nnf__leave(&c, st);
}

static nnf_status save_mem(const nnf_net *net, void *buf, size_t cap, unsigned flags, size_t *size)
{
    if (!buf)
        return nnf__fail(NNF_ERR_ARG, "buf is NULL (expected cap bytes)");
    nnf_status st = nnf__check_save_flags(flags);
    if (st != NNF_OK)
        return st;
    size_t need = nnf__saved_size(net, flags);
    if (cap < need)
        return nnf__fail(NNF_ERR_ARG, "cap = %zu bytes is too small (the net needs %zu)", cap,
                         need);
    nnf__save_to(net, buf, flags);
    if (size)
        *size = need;
    return NNF_OK;
}

NNF_API nnf_status nnf_net_save_mem(const nnf_net *net, void *buf, size_t cap, unsigned flags,
                                    size_t *size)
{
    nnf__call c;
    if (size)
        *size = 0;
    nnf_status st = nnf__enter_read(&c, __func__, net);
    if (st == NNF_OK)
        st = save_mem(net, buf, cap, flags, size);
    return nnf__leave(&c, st);
}
