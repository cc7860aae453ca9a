/* SPDX-License-Identifier: MIT */
/* tail.c - version 2's tail of a saved net (docs/format.md): what nnfast
 * 1.3 added to a net (epoch and pass counts, weight decay, dropout rates,
 * input scaling, metadata), written, checked and read. */
#include "tail.h"
#include "alloc.h"
#include "meta.h"
#include "settings.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

typedef unsigned long long ull; /* for printf */

size_t nnf__tail_size(const nnf_net *net)
{
    size_t n = NNF__TAIL_DROPOUT + 4 * net->depth + (net->scale ? 8 * net->n_in : 0);
    for (size_t i = 0; i < net->n_meta; i++) {
        size_t k = strlen(net->meta[i]);
        n += nnf__meta_entry_size(k, strlen(net->meta[i] + k + 1));
    }
    return n;
}

/* Version 2's tail at p (see docs/format.md). The epoch count and the
 * count of training passes outside trainers are training state: they key
 * the dropout masks (and the epochs the schedule) of what comes next, so
 * they are saved with NNF_SAVE_OPTIMIZER_STATE, for every optimizer (SGD
 * has no arrays, but its training continues all the same). */
void nnf__tail_write(const nnf_net *net, unsigned char *p, unsigned flags)
{
    int state = (flags & NNF_SAVE_OPTIMIZER_STATE) != 0;
    nnf__u64_put(p + NNF__TAIL_EPOCHS, state ? net->epochs : 0);
    nnf__u64_put(p + NNF__TAIL_PASSES, state ? net->passes : 0);
    nnf__f64_put(p + NNF__TAIL_DECAY, net->param[NNF_PARAM_WEIGHT_DECAY]);
    nnf__u32_put(p + NNF__TAIL_FLAGS, net->scale ? NNF__TAIL_FLAG_SCALING : 0);
    nnf__u32_put(p + NNF__TAIL_N_META, (uint32_t)net->n_meta);
    p += NNF__TAIL_DROPOUT;
    for (size_t l = 0; l < net->depth; l++, p += 4)
        nnf__floats_write(p, &net->layers[l]->dropout, 1);
    if (net->scale) {
        nnf__floats_write(p, net->scale, 2 * net->n_in);
        p += 8 * net->n_in;
    }
    for (size_t i = 0; i < net->n_meta; i++) {
        const char *key = net->meta[i], *value = key + strlen(key) + 1;
        size_t k = strlen(key), v = strlen(value), size = nnf__meta_entry_size(k, v);
        memset(p, 0, size);
        nnf__u32_put(p, (uint32_t)k);
        nnf__u32_put(p + 4, (uint32_t)v);
        memcpy(p + NNF__META_HEAD, key, k);
        memcpy(p + NNF__META_HEAD + k, value, v);
        p += size;
    }
}

/* Version 2's tail, which the content length bounds (check_layers): every
 * field in range, the metadata walked entry by entry within the content,
 * and the content ending exactly after it. */
nnf_status nnf__tail_check(const unsigned char *buf, size_t arrays_end, size_t t,
                           const nnf__head *h)
{
    size_t end = NNF__HEADER + (size_t)h->length;
    for (size_t i = arrays_end; i < t; i++)
        if (buf[i])
            return nnf__fail(NNF_ERR_FORMAT, "byte %zu: padding is 0x%x (expected 0)", i,
                             (unsigned)buf[i]);
    uint64_t epochs = nnf__u64_at(buf + t + NNF__TAIL_EPOCHS);
    if (epochs && !(h->flags & NNF__FORMAT_FLAG_STATE) && h->optimizer != NNF_OPT_SGD)
        return nnf__fail(NNF_ERR_FORMAT,
                         "byte %zu: %llu epochs without a stored optimizer state (expected 0)",
                         t + NNF__TAIL_EPOCHS, (ull)epochs);
    uint64_t passes = nnf__u64_at(buf + t + NNF__TAIL_PASSES);
    if (passes && !(h->flags & NNF__FORMAT_FLAG_STATE) && h->optimizer != NNF_OPT_SGD)
        return nnf__fail(NNF_ERR_FORMAT,
                         "byte %zu: %llu training passes without a stored optimizer state "
                         "(expected 0)",
                         t + NNF__TAIL_PASSES, (ull)passes);
    double decay = nnf__f64_at(buf + t + NNF__TAIL_DECAY);
    if (!nnf__param_valid(NNF_PARAM_WEIGHT_DECAY, decay)) {
        char where[32];
        (void)snprintf(where, sizeof where, "byte %zu: ", t + NNF__TAIL_DECAY);
        return nnf__param_fail(NNF_ERR_FORMAT, where, NNF_PARAM_WEIGHT_DECAY, decay);
    }
    uint32_t flags = nnf__u32_at(buf + t + NNF__TAIL_FLAGS);
    if (flags & ~(uint32_t)NNF__TAIL_FLAG_SCALING)
        return nnf__fail(NNF_ERR_FORMAT, "byte %zu: flags 0x%x have unknown bits (known: 0x%x)",
                         t + NNF__TAIL_FLAGS, (unsigned)flags, NNF__TAIL_FLAG_SCALING);
    uint32_t n_meta = nnf__u32_at(buf + t + NNF__TAIL_N_META);
    if (n_meta > NNF_META_MAX)
        return nnf__fail(NNF_ERR_FORMAT, "byte %zu: %u metadata entries (expected at most %u)",
                         t + NNF__TAIL_N_META, (unsigned)n_meta, NNF_META_MAX);
    size_t p = t + NNF__TAIL_DROPOUT;
    for (uint32_t l = 0; l < h->depth; l++, p += 4) {
        float rate = nnf__f32_at(buf + p);
        if (!(rate >= 0.0f && rate < 1.0f) || (rate > 0.0f && l + 1 == h->depth))
            return nnf__fail(NNF_ERR_FORMAT,
                             "layer %u (byte %zu): dropout %g is out of range (expected 0 <= "
                             "rate < 1, and 0 for the output layer)",
                             (unsigned)l + 1, p, (double)rate);
    }
    if (flags & NNF__TAIL_FLAG_SCALING) {
        size_t n = (size_t)h->n_in;
        if (end - p < 8 * n)
            return nnf__fail(NNF_ERR_FORMAT,
                             "byte %zu: the input scaling does not fit in the "
                             "content",
                             p);
        for (size_t i = 0; i < 2 * n; i++, p += 4) {
            float v = nnf__f32_at(buf + p);
            if (!isfinite(v) || (i >= n && !(v > 0.0f)))
                return nnf__fail(NNF_ERR_FORMAT,
                                 "input scaling (byte %zu): %s[%zu] is %g (expected a finite "
                                 "value%s)",
                                 p, i < n ? "mean" : "std", i % n, (double)v, i < n ? "" : " > 0");
        }
    }
    for (uint32_t k = 0; k < n_meta; k++) {
        if (end - p < NNF__META_HEAD)
            return nnf__fail(NNF_ERR_FORMAT,
                             "metadata entry %u (byte %zu) does not fit in the "
                             "content",
                             (unsigned)k + 1, p);
        uint32_t kl = nnf__u32_at(buf + p), vl = nnf__u32_at(buf + p + 4);
        if (kl > NNF_META_KEY_MAX || vl > NNF_META_VALUE_MAX ||
            end - p < nnf__meta_entry_size(kl, vl))
            return nnf__fail(NNF_ERR_FORMAT,
                             "metadata entry %u (byte %zu): lengths %u and %u (expected a key "
                             "of 1 to %u bytes and a value of at most %u, inside the content)",
                             (unsigned)k + 1, p, (unsigned)kl, (unsigned)vl, NNF_META_KEY_MAX,
                             NNF_META_VALUE_MAX);
        const char *key = (const char *)buf + p + NNF__META_HEAD;
        nnf_status st = nnf__meta_check(NNF_ERR_FORMAT, "key", key, kl, 1, NNF_META_KEY_MAX);
        if (st == NNF_OK)
            st = nnf__meta_check(NNF_ERR_FORMAT, "value", key + kl, vl, 0, NNF_META_VALUE_MAX);
        if (st != NNF_OK)
            return st;
        for (size_t z = NNF__META_HEAD + kl + vl; z < nnf__meta_entry_size(kl, vl); z++)
            if (buf[p + z])
                return nnf__fail(NNF_ERR_FORMAT, "byte %zu: padding is 0x%x (expected 0)", p + z,
                                 (unsigned)buf[p + z]);
        /* keys are unique: compare with the entries before */
        for (size_t q = t + NNF__TAIL_DROPOUT + 4 * h->depth +
                        (flags & NNF__TAIL_FLAG_SCALING ? 8 * (size_t)h->n_in : 0);
             q < p;) {
            uint32_t ql = nnf__u32_at(buf + q), qv = nnf__u32_at(buf + q + 4);
            if (ql == kl && !memcmp(buf + q + NNF__META_HEAD, key, kl))
                return nnf__fail(NNF_ERR_FORMAT,
                                 "metadata entry %u (byte %zu): key \"%.*s\" is repeated",
                                 (unsigned)k + 1, p, (int)kl, key);
            q += nnf__meta_entry_size(ql, qv);
        }
        p += nnf__meta_entry_size(kl, vl);
    }
    if (p != end)
        return nnf__fail(NNF_ERR_FORMAT,
                         "byte %d: content length %llu, but the tail ends at byte %zu",
                         NNF__AT_LENGTH, (ull)h->length, p);
    return NNF_OK;
}

/* The tail's values into the net (checked by check_tail). */
nnf_status nnf__tail_read(const unsigned char *buf, size_t t, nnf_net *net)
{
    size_t p = t + NNF__TAIL_DROPOUT;
    net->epochs = nnf__u64_at(buf + t + NNF__TAIL_EPOCHS);
    net->passes = nnf__u64_at(buf + t + NNF__TAIL_PASSES);
    net->param[NNF_PARAM_WEIGHT_DECAY] = nnf__f64_at(buf + t + NNF__TAIL_DECAY);
    for (size_t l = 0; l < net->depth; l++, p += 4)
        net->layers[l]->dropout = nnf__f32_at(buf + p);
    if (nnf__u32_at(buf + t + NNF__TAIL_FLAGS) & NNF__TAIL_FLAG_SCALING) {
        net->scale = nnf__malloc(8 * net->n_in);
        if (!net->scale)
            return nnf__fail(NNF_ERR_NOMEM, "out of memory allocating the input scaling");
        nnf__floats_read(buf + p, net->scale, 2 * net->n_in);
        p += 8 * net->n_in;
    }
    uint32_t n_meta = nnf__u32_at(buf + t + NNF__TAIL_N_META);
    for (uint32_t k = 0; k < n_meta; k++) {
        uint32_t kl = nnf__u32_at(buf + p), vl = nnf__u32_at(buf + p + 4);
        const char *key = (const char *)buf + p + NNF__META_HEAD;
        if (nnf__meta_put(net, key, kl, key + kl, vl) != NNF_OK)
            return NNF_ERR_NOMEM;
        p += nnf__meta_entry_size(kl, vl);
    }
    return NNF_OK;
}
