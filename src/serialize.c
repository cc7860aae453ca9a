/* SPDX-License-Identifier: MIT */
/* serialize.c - the saved-model format of docs/format.md: a net written into
 * a buffer, and a buffer checked completely (without allocating) before a net
 * is built from it; nnf_net_saved_size, nnf_net_save_mem, nnf_net_load_mem. */
#include "serialize.h"
#include "arena.h"
#include "format.h"
#include "alloc.h"
#include "meta.h"
#include "optimizer.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- writing */

/* The optimizer's state is stored when asked for and when there is one. */
static size_t state_floats(const nnf_net *net, unsigned flags)
{
    if (!(flags & NNF_SAVE_OPTIMIZER_STATE) || nnf__optimizer(net) == NNF_OPT_SGD)
        return 0;
    return nnf__optim_state_floats(nnf__optimizer(net), net->n_params);
}

/* Version 2's tail starts at the next multiple of 8 after the arrays. */
static size_t pad8(size_t n)
{
    return (n + 7) / 8 * 8;
}

/* Bytes of a metadata entry: its lengths, its bytes, zeros to 4. */
static size_t entry_size(size_t key_len, size_t value_len)
{
    return NNF__META_HEAD + (key_len + value_len + 3) / 4 * 4;
}

static size_t arrays_end(const nnf_net *net, unsigned flags)
{
    return NNF__AT_TABLE + NNF__RECORD * net->depth +
           sizeof(float) * (net->n_params + state_floats(net, flags));
}

static size_t tail_size(const nnf_net *net)
{
    size_t n = NNF__TAIL_DROPOUT + 4 * net->depth + (net->scale ? 8 * net->n_in : 0);
    for (size_t i = 0; i < net->n_meta; i++) {
        size_t k = strlen(net->meta[i]);
        n += entry_size(k, strlen(net->meta[i] + k + 1));
    }
    return n;
}

size_t nnf__saved_size(const nnf_net *net, unsigned flags)
{
    return pad8(arrays_end(net, flags)) + tail_size(net) + NNF__TRAILER;
}

/* Version 2's tail at p (see docs/format.md). */
static void tail_write(const nnf_net *net, unsigned char *p, size_t n_state)
{
    nnf__u64_put(p + NNF__TAIL_EPOCHS, n_state ? net->epochs : 0);
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
        size_t k = strlen(key), v = strlen(value), size = entry_size(k, v);
        memset(p, 0, size);
        nnf__u32_put(p, (uint32_t)k);
        nnf__u32_put(p + 4, (uint32_t)v);
        memcpy(p + NNF__META_HEAD, key, k);
        memcpy(p + NNF__META_HEAD + k, value, v);
        p += size;
    }
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

static const unsigned char *arrays_read(nnf_net *net, const unsigned char *p, float *arena)
{
    for (size_t l = 0; l < net->depth; l++) {
        const nnf_layer *ly = net->layers[l];
        size_t n = ly->n_in * ly->n_out + ly->n_out;
        nnf__floats_read(p, arena + ly->offset, n);
        p += 4 * n;
    }
    return p;
}

void nnf__save_to(const nnf_net *net, unsigned char *buf, unsigned flags)
{
    size_t n_state = state_floats(net, flags), size = nnf__saved_size(net, flags);
    nnf__head h;
    memset(&h, 0, sizeof h);
    h.version = NNF__FORMAT_VERSION;
    h.flags = n_state ? NNF__FORMAT_FLAG_STATE : 0;
    h.length = (uint64_t)(size - NNF__HEADER - NNF__TRAILER);
    h.n_in = net->n_in;
    h.seed = net->seed;
    h.t = n_state ? net->opt_t : 0;
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
    for (size_t k = 0; k < n_state / (net->n_params ? net->n_params : 1); k++) {
        if (net->opt_state)
            p = arrays_write(net, p, net->opt_state + k * net->n_floats);
        else { /* not allocated until the first update: all zeros */
            memset(p, 0, 4 * net->n_params);
            p += 4 * net->n_params;
        }
    }
    size_t end = (size_t)(p - buf);
    memset(p, 0, pad8(end) - end);
    tail_write(net, buf + pad8(end), n_state);
    nnf__u32_put(buf + size - NNF__TRAILER, nnf__crc32(buf, size - NNF__TRAILER));
}

/* ---- checking: every check names the byte and the problem */

typedef struct reader {
    const unsigned char *buf;
    size_t size;         /* bytes of the saved net */
    size_t have;         /* of them at buf: size, or a prefix (nnf__check_prefix) */
    nnf__head h;         /* the fixed fields, once the size is known to hold them */
    uint64_t n_params;   /* from the layer table, once checked */
    uint64_t arrays_end; /* where the arrays end, once the table is checked */
    size_t tail;         /* version 2: where the tail starts */
} reader;

typedef unsigned long long ull; /* for printf */

static nnf_status check_magic(const reader *r)
{
    size_t n = r->have < sizeof nnf__magic ? r->have : sizeof nnf__magic;
    if (memcmp(r->buf, nnf__magic, n))
        return nnf__fail(NNF_ERR_FORMAT, "%s",
                         n >= 4 && !memcmp(r->buf, nnf__magic, 4)
                             ? "bytes 4-7: the magic number's line-end bytes are changed "
                               "(was the file copied in text mode?)"
                             : "bytes 0-7: wrong magic number: not an nnfast model");
    if (r->size < NNF__HEADER)
        return nnf__fail(NNF_ERR_FORMAT, "truncated: %zu bytes, less than the %d-byte header",
                         r->size, NNF__HEADER);
    return NNF_OK;
}

/* Magic, version, flags, content length against the size, CRC. */
static nnf_status check_header(const reader *r)
{
    nnf_status st = check_magic(r);
    if (st != NNF_OK)
        return st;
    uint32_t version = nnf__u32_at(r->buf + NNF__AT_VERSION);
    if (version > NNF__FORMAT_VERSION)
        return nnf__fail(NNF_ERR_FORMAT,
                         "byte %d: version %u is newer than this library reads "
                         "(%d)",
                         NNF__AT_VERSION, (unsigned)version, NNF__FORMAT_VERSION);
    if (version < 1)
        return nnf__fail(NNF_ERR_FORMAT,
                         "byte %d: version %u is not a format version (expected "
                         "1..%d)",
                         NNF__AT_VERSION, (unsigned)version, NNF__FORMAT_VERSION);
    uint32_t flags = nnf__u32_at(r->buf + NNF__AT_FLAGS);
    if (flags & ~(uint32_t)NNF__FORMAT_FLAG_STATE)
        return nnf__fail(NNF_ERR_FORMAT,
                         "byte %d: flags 0x%x have unknown bits (version %u "
                         "knows 0x%x)",
                         NNF__AT_FLAGS, (unsigned)flags, (unsigned)version, NNF__FORMAT_FLAG_STATE);
    uint64_t len = nnf__u64_at(r->buf + NNF__AT_LENGTH);
    if (len > UINT64_MAX - NNF__HEADER - NNF__TRAILER)
        return nnf__fail(NNF_ERR_FORMAT, "byte %d: content length %llu is larger than any file",
                         NNF__AT_LENGTH, (ull)len);
    uint64_t total = len + NNF__HEADER + NNF__TRAILER;
    if (total > (uint64_t)r->size)
        return nnf__fail(NNF_ERR_FORMAT, "truncated: %zu bytes, the header says %llu", r->size,
                         (ull)total);
    if (total < (uint64_t)r->size)
        return nnf__fail(NNF_ERR_FORMAT, "%zu bytes, but the header says %llu: trailing data",
                         r->size, (ull)total);
    if (r->have < r->size)
        return NNF_OK; /* the CRC waits for the whole */
    uint32_t stored = nnf__u32_at(r->buf + r->size - NNF__TRAILER);
    uint32_t computed = nnf__crc32(r->buf, r->size - NNF__TRAILER);
    if (stored != computed)
        return nnf__fail(NNF_ERR_FORMAT, "CRC mismatch: stored 0x%08x, computed 0x%08x",
                         (unsigned)stored, (unsigned)computed);
    return NNF_OK;
}

/* The stored settings, with the ranges nnf_net_set_param() accepts. */
static nnf_status check_params(const reader *r)
{
    for (int i = 0; i < NNF__N_SAVED_PARAMS; i++) {
        nnf_param key = nnf__saved_params[i];
        if (!nnf__param_valid(key, r->h.param[key])) {
            char where[32];
            (void)snprintf(where, sizeof where, "byte %d: ", NNF__AT_PARAMS + 8 * i);
            return nnf__param_fail(NNF_ERR_FORMAT, where, key, r->h.param[key]);
        }
    }
    return NNF_OK;
}

static nnf_status check_fixed(reader *r)
{
    uint64_t len = nnf__u64_at(r->buf + NNF__AT_LENGTH);
    if (len < NNF__FIXED)
        return nnf__fail(NNF_ERR_FORMAT,
                         "byte %d: content length %llu is less than the %d bytes "
                         "of the fixed fields",
                         NNF__AT_LENGTH, (ull)len, NNF__FIXED);
    nnf__head_read(r->buf, &r->h);
    const nnf__head *h = &r->h;
    if (h->n_in < 1 || h->n_in > INT_MAX)
        return nnf__fail(NNF_ERR_FORMAT,
                         "byte %d: n_inputs %llu is out of range (expected "
                         "1..%d)",
                         NNF__AT_N_IN, (ull)h->n_in, INT_MAX);
    nnf_status st = check_params(r);
    if (st != NNF_OK)
        return st;
    if (h->depth > NNF_MAX_DEPTH)
        return nnf__fail(NNF_ERR_FORMAT, "byte %d: depth %u exceeds the limit of %u", NNF__AT_DEPTH,
                         (unsigned)h->depth, NNF_MAX_DEPTH);
    if (!nnf__loss_valid(h->loss))
        return nnf__fail(NNF_ERR_FORMAT, "byte %d: loss %u is not an nnf_loss (expected 0..%d)",
                         NNF__AT_LOSS, (unsigned)h->loss, NNF__N_LOSSES - 1);
    /* version 1 knew SGD, momentum and Adam */
    int n_opts = h->version == 1 ? NNF_OPT_ADAM + 1 : NNF__N_OPTIMIZERS;
    if (h->optimizer >= (uint32_t)n_opts) /* unsigned: 2^31 and above are not negative */
        return nnf__fail(NNF_ERR_FORMAT,
                         "byte %d: optimizer %u is not an nnf_optimizer "
                         "(version %u knows 0..%d)",
                         NNF__AT_OPTIMIZER, (unsigned)h->optimizer, (unsigned)h->version,
                         n_opts - 1);
    if (h->padding)
        return nnf__fail(NNF_ERR_FORMAT, "byte %d: padding is 0x%x (expected 0)", NNF__AT_PADDING,
                         (unsigned)h->padding);
    if ((h->flags & NNF__FORMAT_FLAG_STATE) && h->optimizer == NNF_OPT_SGD)
        return nnf__fail(NNF_ERR_FORMAT,
                         "byte %d: flags say the optimizer's state is stored, "
                         "but SGD has none",
                         NNF__AT_FLAGS);
    if ((h->flags & NNF__FORMAT_FLAG_STATE) && h->depth == 0)
        return nnf__fail(NNF_ERR_FORMAT,
                         "byte %d: flags say the optimizer's state is stored, "
                         "but a net of no layer has none",
                         NNF__AT_FLAGS);
    if (!(h->flags & NNF__FORMAT_FLAG_STATE) && h->t)
        return nnf__fail(NNF_ERR_FORMAT,
                         "byte %d: step count %llu without a stored optimizer "
                         "state (expected 0)",
                         NNF__AT_T, (ull)h->t);
    if (len < NNF__FIXED + (uint64_t)NNF__RECORD * h->depth)
        return nnf__fail(NNF_ERR_FORMAT,
                         "byte %d: content length %llu is too short for the "
                         "table of %u layers",
                         NNF__AT_LENGTH, (ull)len, (unsigned)h->depth);
    return NNF_OK;
}

/* One layer record, whose inputs are n_in. */
static nnf_status check_record(const reader *r, uint32_t l, uint64_t n_in, nnf__record *rec)
{
    size_t at = NNF__AT_TABLE + NNF__RECORD * (size_t)l;
    nnf__record_read(r->buf + at, rec);
    if (rec->units < 1 || rec->units > INT_MAX)
        return nnf__fail(NNF_ERR_FORMAT,
                         "layer %u (byte %zu): units %llu is out of range "
                         "(expected 1..%d)",
                         (unsigned)l + 1, at, (ull)rec->units, INT_MAX);
    if (!nnf__act_valid(rec->act))
        return nnf__fail(NNF_ERR_FORMAT,
                         "layer %u (byte %zu): activation %u is not an nnf_act "
                         "(expected 0..%d)",
                         (unsigned)l + 1, at + 8, (unsigned)rec->act, NNF__N_ACTS - 1);
    if (rec->act == NNF_ACT_SOFTMAX && l + 1 < r->h.depth)
        return nnf__fail(NNF_ERR_FORMAT,
                         "layer %u (byte %zu): softmax is for the output layer "
                         "only, and layer %u follows",
                         (unsigned)l + 1, at + 8, (unsigned)l + 2);
    if (!(rec->slope > 0.0f && rec->slope < 1.0f))
        return nnf__fail(NNF_ERR_FORMAT,
                         "layer %u (byte %zu): slope %g is out of range "
                         "(expected 0 < alpha < 1)",
                         (unsigned)l + 1, at + 12, (double)rec->slope);
    /* units <= INT_MAX and n_in <= INT_MAX: (n_in + 1) * units fits */
    const uint64_t limit =
        SIZE_MAX / sizeof(float) < UINT64_MAX / 4 ? SIZE_MAX / sizeof(float) : UINT64_MAX / 4;
    if ((n_in + 1) * rec->units > limit - r->n_params)
        return nnf__fail(NNF_ERR_FORMAT,
                         "layer %u (byte %zu): %llu x %llu weights overflow the "
                         "parameter count",
                         (unsigned)l + 1, at, (ull)rec->units, (ull)n_in);
    return NNF_OK;
}

/* The layer table; sums the parameter count as nnf_net_add_dense() checks
 * it, and the content length must match what the layers need. */
static nnf_status check_layers(reader *r)
{
    uint64_t n_in = r->h.n_in;
    r->n_params = 0;
    for (uint32_t l = 0; l < r->h.depth; l++) {
        nnf__record rec;
        nnf_status st = check_record(r, l, n_in, &rec);
        if (st != NNF_OK)
            return st;
        r->n_params += (n_in + 1) * rec.units;
        n_in = rec.units;
    }
    /* n_params < 2^62, so 3 n_params fits in 64 bits */
    unsigned copies = 1 + (unsigned)nnf__optim_state_floats(r->h.flags & NNF__FORMAT_FLAG_STATE
                                                                ? (nnf_optimizer)r->h.optimizer
                                                                : NNF_OPT_SGD,
                                                            1);
    uint64_t floats = r->n_params * copies;
    uint64_t expected = NNF__FIXED + (uint64_t)NNF__RECORD * r->h.depth;
    uint64_t len = r->h.length;
    /* version 2's tail: its fixed part and dropout rates, then at most the
     * scaling and NNF_META_MAX entries of the longest key and value */
    uint64_t tail_least = NNF__TAIL_DROPOUT + 4 * (uint64_t)r->h.depth;
    uint64_t tail_most = tail_least + 8 * r->h.n_in +
                         NNF_META_MAX * entry_size(NNF_META_KEY_MAX, NNF_META_VALUE_MAX);
    if (floats > (UINT64_MAX - expected - 8 - tail_most) / 4)
        return nnf__fail(NNF_ERR_FORMAT,
                         "byte %d: content length %llu does not match the layers "
                         "(they need more than 2^64 bytes)",
                         NNF__AT_LENGTH, (ull)len);
    r->arrays_end = NNF__HEADER + expected + 4 * floats;
    if (r->h.version == 1) {
        if (expected + 4 * floats != len)
            return nnf__fail(NNF_ERR_FORMAT,
                             "byte %d: content length %llu does not match the layers "
                             "(they need %llu)",
                             NNF__AT_LENGTH, (ull)len, (ull)(expected + 4 * floats));
        return NNF_OK;
    }
    r->tail = pad8((size_t)r->arrays_end);
    uint64_t least = r->tail - NNF__HEADER + tail_least, most = least - tail_least + tail_most;
    if (len < least || len > most)
        return nnf__fail(NNF_ERR_FORMAT,
                         "byte %d: content length %llu does not match the layers "
                         "(they need %llu to %llu)",
                         NNF__AT_LENGTH, (ull)len, (ull)least, (ull)most);
    return NNF_OK;
}

static const char *nonfinite_name(float v)
{
    return isnan(v) ? "NaN" : v > 0.0f ? "+inf" : "-inf";
}

/* Every parameter finite; every state value finite, Adam's v >= 0.
 * The content length matched the layers, so all of it is in the buffer. */
static nnf_status check_values(const reader *r)
{
    const unsigned char *p = r->buf + NNF__AT_TABLE + NNF__RECORD * (size_t)r->h.depth;
    uint64_t n_in = r->h.n_in;
    for (uint32_t l = 0; l < r->h.depth; l++) {
        uint64_t units = nnf__u64_at(r->buf + NNF__AT_TABLE + NNF__RECORD * (size_t)l);
        size_t nw = (size_t)(n_in * units);
        for (size_t i = 0; i < nw + units; i++, p += 4) {
            float v = nnf__f32_at(p);
            if (isfinite(v))
                continue;
            size_t at = (size_t)(p - r->buf);
            if (i < nw)
                return nnf__fail(NNF_ERR_FORMAT, "layer %u: weight w[%zu][%zu] (byte %zu) is %s",
                                 (unsigned)l + 1, i / (size_t)n_in, i % (size_t)n_in, at,
                                 nonfinite_name(v));
            return nnf__fail(NNF_ERR_FORMAT, "layer %u: bias b[%zu] (byte %zu) is %s",
                             (unsigned)l + 1, i - nw, at, nonfinite_name(v));
        }
        n_in = units;
    }
    if (!(r->h.flags & NNF__FORMAT_FLAG_STATE))
        return NNF_OK;
    int adam = nnf__optim_state_floats((nnf_optimizer)r->h.optimizer, 1) == 2; /* Adam, AdamW */
    size_t n = (size_t)r->n_params, n_state = adam ? 2 * n : n;
    for (size_t i = 0; i < n_state; i++, p += 4) {
        float v = nnf__f32_at(p);
        int adam_v = adam && i >= n;
        if (isfinite(v) && !(adam_v && v < 0.0f))
            continue;
        return nnf__fail(NNF_ERR_FORMAT, "optimizer state (byte %zu): %s[%zu] is %s",
                         (size_t)(p - r->buf), adam && !adam_v ? "m" : "v", adam_v ? i - n : i,
                         isfinite(v) ? "negative" : nonfinite_name(v));
    }
    return NNF_OK;
}

/* Version 2's tail, which the content length bounds (check_layers): every
 * field in range, the metadata walked entry by entry within the content,
 * and the content ending exactly after it. */
static nnf_status check_tail(const reader *r)
{
    const unsigned char *buf = r->buf;
    size_t end = NNF__HEADER + (size_t)r->h.length, t = r->tail;
    for (size_t i = (size_t)r->arrays_end; i < t; i++)
        if (buf[i])
            return nnf__fail(NNF_ERR_FORMAT, "byte %zu: padding is 0x%x (expected 0)", i,
                             (unsigned)buf[i]);
    uint64_t epochs = nnf__u64_at(buf + t + NNF__TAIL_EPOCHS);
    if (epochs && !(r->h.flags & NNF__FORMAT_FLAG_STATE))
        return nnf__fail(NNF_ERR_FORMAT,
                         "byte %zu: %llu epochs without a stored optimizer state (expected 0)",
                         t + NNF__TAIL_EPOCHS, (ull)epochs);
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
    for (uint32_t l = 0; l < r->h.depth; l++, p += 4) {
        float rate = nnf__f32_at(buf + p);
        if (!(rate >= 0.0f && rate < 1.0f) || (rate > 0.0f && l + 1 == r->h.depth))
            return nnf__fail(NNF_ERR_FORMAT,
                             "layer %u (byte %zu): dropout %g is out of range (expected 0 <= "
                             "rate < 1, and 0 for the output layer)",
                             (unsigned)l + 1, p, (double)rate);
    }
    if (flags & NNF__TAIL_FLAG_SCALING) {
        size_t n = (size_t)r->h.n_in;
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
        if (kl > NNF_META_KEY_MAX || vl > NNF_META_VALUE_MAX || end - p < entry_size(kl, vl))
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
        for (size_t z = NNF__META_HEAD + kl + vl; z < entry_size(kl, vl); z++)
            if (buf[p + z])
                return nnf__fail(NNF_ERR_FORMAT, "byte %zu: padding is 0x%x (expected 0)", p + z,
                                 (unsigned)buf[p + z]);
        /* keys are unique: compare with the entries before */
        for (size_t q = t + NNF__TAIL_DROPOUT + 4 * r->h.depth +
                        (flags & NNF__TAIL_FLAG_SCALING ? 8 * (size_t)r->h.n_in : 0);
             q < p;) {
            uint32_t ql = nnf__u32_at(buf + q), qv = nnf__u32_at(buf + q + 4);
            if (ql == kl && !memcmp(buf + q + NNF__META_HEAD, key, kl))
                return nnf__fail(NNF_ERR_FORMAT,
                                 "metadata entry %u (byte %zu): key \"%.*s\" is repeated",
                                 (unsigned)k + 1, p, (int)kl, key);
            q += entry_size(ql, qv);
        }
        p += entry_size(kl, vl);
    }
    if (p != end)
        return nnf__fail(NNF_ERR_FORMAT,
                         "byte %d: content length %llu, but the tail ends at byte %zu",
                         NNF__AT_LENGTH, (ull)r->h.length, p);
    return NNF_OK;
}

/* The tail's values into the net (checked by check_tail). */
static nnf_status tail_read(const reader *r, nnf_net *net)
{
    const unsigned char *buf = r->buf;
    size_t t = r->tail, p = t + NNF__TAIL_DROPOUT;
    net->epochs = nnf__u64_at(buf + t + NNF__TAIL_EPOCHS);
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
        p += entry_size(kl, vl);
    }
    return NNF_OK;
}

/* ---- building: only once everything was checked */

static nnf_status build(const reader *r, nnf_net **out)
{
    const nnf__head *h = &r->h;
    nnf_net *net = NULL;
    if (nnf__net_new(&net, (size_t)h->n_in) != NNF_OK)
        return nnf__fail(NNF_ERR_NOMEM, "out of memory creating the net");
    net->seed = h->seed;
    net->param[NNF_PARAM_OPTIMIZER] = (double)h->optimizer;
    /* the arenas sized once, from the checked table: loading takes time
     * linear in the file, whatever the depth */
    size_t floats = 0, n_in = (size_t)h->n_in;
    for (uint32_t l = 0; l < h->depth; l++) {
        size_t units = (size_t)nnf__u64_at(r->buf + NNF__AT_TABLE + NNF__RECORD * (size_t)l);
        floats += nnf__layer_floats(n_in, units, nnf__plan_units(n_in, units));
        n_in = units;
    }
    if (nnf__arena_reserve(net, h->depth, floats) != NNF_OK) {
        nnf__net_free(net);
        return nnf__fail(NNF_ERR_NOMEM, "out of memory allocating %u layers of %llu parameters",
                         (unsigned)h->depth, (ull)r->n_params);
    }
    for (uint32_t l = 0; l < h->depth; l++) {
        nnf__record rec;
        nnf__record_read(r->buf + NNF__AT_TABLE + NNF__RECORD * (size_t)l, &rec);
        if (nnf__net_append(net, (size_t)rec.units, (int)rec.act) != NNF_OK) {
            nnf__net_free(net);
            return nnf__fail(NNF_ERR_NOMEM, "out of memory allocating layer %u of %u",
                             (unsigned)l + 1, (unsigned)h->depth);
        }
        net->layers[l]->alpha = rec.slope;
    }
    net->loss = (nnf_loss)h->loss;
    for (int i = 0; i < NNF__N_SAVED_PARAMS; i++)
        net->param[nnf__saved_params[i]] = h->param[nnf__saved_params[i]];

    const unsigned char *p = r->buf + NNF__AT_TABLE + NNF__RECORD * (size_t)h->depth;
    p = arrays_read(net, p, net->params);
    if (h->flags & NNF__FORMAT_FLAG_STATE) {
        if (nnf__optim_state_ready(net) != NNF_OK) {
            nnf__net_free(net);
            return NNF_ERR_NOMEM;
        }
        size_t arrays = nnf__optim_state_floats(nnf__optimizer(net), 1);
        for (size_t k = 0; k < arrays; k++)
            p = arrays_read(net, p, net->opt_state + k * net->n_floats);
        net->opt_t = h->t;
    }
    if (h->version >= 2 && tail_read(r, net) != NNF_OK) {
        nnf__net_free(net);
        return NNF_ERR_NOMEM;
    }
    *out = net;
    return NNF_OK;
}

/* Everything that the first bytes of a saved net decide: the header against
 * the whole size, the fixed fields and the layer table. have must hold
 * min(size, NNF__AT_TABLE + NNF__RECORD * NNF_MAX_DEPTH) bytes. */
static nnf_status check_structure(reader *r)
{
    nnf_status st = check_header(r);
    if (st == NNF_OK)
        st = check_fixed(r);
    if (st == NNF_OK)
        st = check_layers(r);
    return st;
}

nnf_status nnf__check_prefix(const unsigned char *buf, size_t have, size_t size)
{
    reader r;
    memset(&r, 0, sizeof r);
    r.buf = buf;
    r.size = size;
    r.have = have;
    return check_structure(&r);
}

nnf_status nnf__load_from(nnf_net **out, const unsigned char *buf, size_t size)
{
    reader r;
    memset(&r, 0, sizeof r);
    r.buf = buf;
    r.size = size;
    r.have = size;
    nnf_status st = check_header(&r);
    if (st == NNF_OK)
        st = check_fixed(&r);
    if (st == NNF_OK)
        st = check_layers(&r);
    if (st == NNF_OK)
        st = check_values(&r);
    if (st == NNF_OK && r.h.version >= 2)
        st = check_tail(&r);
    if (st == NNF_OK)
        st = build(&r, out);
    return st;
}

/* ---- the public calls */

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

nnf_status nnf__enter_load(nnf__call *c, const char *fn, nnf_net **out, char *errbuf,
                           size_t errbuf_size)
{
    if (errbuf && errbuf_size)
        errbuf[0] = '\0';
    nnf__enter(c, fn, errbuf, errbuf_size, NULL, 0);
    if (!out)
        return nnf__fail(NNF_ERR_ARG, "out is NULL (expected a place for the loaded net)");
    *out = NULL;
    return NNF_OK;
}

NNF_API nnf_status nnf_net_load_mem(nnf_net **out, const void *buf, size_t size, char *errbuf,
                                    size_t errbuf_size)
{
    nnf__call c;
    nnf_status st = nnf__enter_load(&c, __func__, out, errbuf, errbuf_size);
    if (st == NNF_OK && !buf)
        st = nnf__fail(NNF_ERR_ARG, "buf is NULL (expected the %zu bytes of a saved net)", size);
    if (st == NNF_OK)
        st = nnf__load_from(out, buf, size);
    return nnf__leave(&c, st);
}
