/* SPDX-License-Identifier: MIT */
/* load.c - the bytes of docs/format.md checked completely, without
 * allocating, before a net is built from them: nnf__check_prefix (a file
 * judged before it is read whole), nnf__load_from and nnf_net_load_mem
 * (io.c reads files). */
#include "serialize.h"
#include "tail.h"
#include "arena.h"
#include "alloc.h"
#include "meta.h"
#include "optimizer.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

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
    if (h->optimizer >= (uint32_t)n_opts) /* unsigned: a huge value is no negative int */
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
                         NNF_META_MAX * nnf__meta_entry_size(NNF_META_KEY_MAX, NNF_META_VALUE_MAX);
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
    r->tail = nnf__pad8((size_t)r->arrays_end);
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

/* ---- building: only once everything was checked */

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
        /* a net without layers has no state arrays (opt_state stays NULL) */
        size_t arrays = net->opt_state ? nnf__optim_state_floats(nnf__optimizer(net), 1) : 0;
        for (size_t k = 0; k < arrays; k++)
            p = arrays_read(net, p, net->opt_state + k * net->n_floats);
        net->opt_t = h->t;
    }
    if (h->version >= 2 && nnf__tail_read(r->buf, r->tail, net) != NNF_OK) {
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
        st = nnf__tail_check(r.buf, (size_t)r.arrays_end, r.tail, &r.h);
    if (st == NNF_OK)
        st = build(&r, out);
    return st;
}

/* ---- the public call */

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
