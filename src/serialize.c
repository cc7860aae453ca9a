/* serialize.c - the saved-model format of docs/format.md: a net written into
 * a buffer, and a buffer checked completely (without allocating) before a net
 * is built from it. Every value is little-endian, written byte by byte. */
#include "internal.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

_Static_assert(sizeof(float) == 4 && FLT_MANT_DIG == 24, "float must be IEEE-754 binary32");
_Static_assert(sizeof(double) == 8 && DBL_MANT_DIG == 53, "double must be IEEE-754 binary64");

/* PNG's trick: a high-bit byte, CR LF, ^Z and LF, so that 7-bit and
 * text-mode transfers show up as a wrong magic number. */
static const unsigned char MAGIC[8] = {0x89, 'N', 'N', 'F', '\r', '\n', 0x1a, '\n'};

enum {
    VERSION = 1,
    HEADER = 24,       /* magic, version, flags, content length */
    FIXED = 88,        /* content before the layer table */
    TABLE = HEADER + FIXED, /* file offset of the layer table */
    RECORD = 16,       /* one layer: units u64, act u32, slope f32 */
    TRAILER = 4,       /* CRC-32 */
    MAX_DEPTH = NNF_MAX_DEPTH
};
#define FLAG_STATE 1u /* bit 0: the optimizer's state is stored */

/* ---- little-endian, whatever the host */

static unsigned char *put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
    return p + 4;
}

static unsigned char *put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
    return p + 8;
}

static unsigned char *put_f32(unsigned char *p, float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return put_u32(p, u);
}

static unsigned char *put_f64(unsigned char *p, double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return put_u64(p, u);
}

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const unsigned char *p)
{
    return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

static float get_f32(const unsigned char *p)
{
    uint32_t u = get_u32(p);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static double get_f64(const unsigned char *p)
{
    uint64_t u = get_u64(p);
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

/* zlib's crc32() takes an unsigned int length: feed it in chunks. */
static uint32_t crc_of(const unsigned char *p, size_t n)
{
    uLong crc = crc32(0L, Z_NULL, 0);
    while (n) {
        uInt chunk = n > (1u << 30) ? 1u << 30 : (uInt)n;
        crc = crc32(crc, p, chunk);
        p += chunk;
        n -= chunk;
    }
    return (uint32_t)crc;
}

/* ---- writing */

/* The optimizer's state is stored when asked for and when there is one. */
static size_t state_floats(const nnf_net *net, unsigned flags)
{
    if (!(flags & NNF_SAVE_OPTIMIZER_STATE) || net->optimizer == NNF_OPT_SGD)
        return 0;
    return nnf__optim_state_floats(net->optimizer, net->n_params);
}

size_t nnf__saved_size(const nnf_net *net, unsigned flags)
{
    return TABLE + RECORD * net->depth
           + sizeof(float) * (net->n_params + state_floats(net, flags)) + TRAILER;
}

void nnf__save_mem(const nnf_net *net, unsigned char *buf, unsigned flags)
{
    int state = (flags & NNF_SAVE_OPTIMIZER_STATE) && net->optimizer != NNF_OPT_SGD;
    size_t n_state = state_floats(net, flags), size = nnf__saved_size(net, flags);
    unsigned char *p = buf;

    memcpy(p, MAGIC, sizeof MAGIC);
    p = put_u32(p + sizeof MAGIC, VERSION);
    p = put_u32(p, state ? FLAG_STATE : 0);
    p = put_u64(p, (uint64_t)(size - HEADER - TRAILER));

    p = put_u64(p, net->n_in);
    p = put_u64(p, net->seed);
    p = put_u64(p, state ? net->opt_t : 0);
    const double hyper[6] = {net->lr, net->momentum, net->beta1, net->beta2, net->epsilon, net->l2};
    for (int i = 0; i < 6; i++)
        p = put_f64(p, hyper[i]);
    p = put_u32(p, (uint32_t)net->depth);
    p = put_u32(p, (uint32_t)net->loss);
    p = put_u32(p, (uint32_t)net->optimizer);
    p = put_u32(p, 0); /* padding: 8-byte alignment of the table */

    for (size_t l = 0; l < net->depth; l++) {
        const nnf_layer *ly = net->layers[l];
        p = put_u64(p, ly->n_out);
        p = put_u32(p, (uint32_t)ly->act);
        p = put_f32(p, ly->alpha);
    }
    /* the arena is already in the format's order: per layer Wt, then b */
    for (size_t i = 0; i < net->n_params; i++)
        p = put_f32(p, net->params[i]);
    for (size_t i = 0; i < n_state; i++)
        p = put_f32(p, net->opt_state[i]);
    put_u32(p, crc_of(buf, size - TRAILER));
}

/* ---- checking */

typedef struct reader {
    const unsigned char *buf;
    size_t size;
    char *err;
    size_t err_size;
    /* from the header and the fixed fields, once checked */
    unsigned flags;
    uint64_t n_in, n_params;
    uint32_t depth, optimizer;
} reader;

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static nnf_status bad(const reader *r, nnf_status st, const char *fmt, ...)
{
    if (r->err && r->err_size) {
        va_list ap;
        va_start(ap, fmt);
        (void)vsnprintf(r->err, r->err_size, fmt, ap);
        va_end(ap);
    }
    return st;
}

typedef unsigned long long ull; /* for printf */

static nnf_status check_magic(const reader *r)
{
    size_t n = r->size < sizeof MAGIC ? r->size : sizeof MAGIC;
    if (memcmp(r->buf, MAGIC, n))
        return bad(r, NNF_ERR_FORMAT, n >= 4 && !memcmp(r->buf, MAGIC, 4)
                   ? "bytes 4-7: the magic number's line-end bytes are changed "
                     "(was the file copied in text mode?)"
                   : "bytes 0-7: wrong magic number: not an nnfast model");
    if (r->size < HEADER)
        return bad(r, NNF_ERR_FORMAT, "truncated: %zu bytes, less than the %d-byte header",
                   r->size, HEADER);
    return NNF_OK;
}

/* Magic, version, flags, content length against the size, CRC. */
static nnf_status check_header(reader *r)
{
    nnf_status st = check_magic(r);
    if (st != NNF_OK)
        return st;
    uint32_t version = get_u32(r->buf + 8);
    if (version > VERSION)
        return bad(r, NNF_ERR_FORMAT, "byte 8: version %u is newer than this library reads (%d)",
                   (unsigned)version, VERSION);
    if (version != VERSION)
        return bad(r, NNF_ERR_FORMAT, "byte 8: version %u is not a format version (expected %d)",
                   (unsigned)version, VERSION);
    r->flags = get_u32(r->buf + 12);
    if (r->flags & ~FLAG_STATE)
        return bad(r, NNF_ERR_FORMAT, "byte 12: flags 0x%x have unknown bits "
                   "(version 1 knows 0x%x)", r->flags, FLAG_STATE);
    uint64_t len = get_u64(r->buf + 16);
    if (len > UINT64_MAX - HEADER - TRAILER)
        return bad(r, NNF_ERR_FORMAT, "byte 16: content length %llu is larger than any file",
                   (ull)len);
    uint64_t total = len + HEADER + TRAILER;
    if (total > (uint64_t)r->size)
        return bad(r, NNF_ERR_FORMAT, "truncated: %zu bytes, the header says %llu", r->size,
                   (ull)total);
    if (total < (uint64_t)r->size)
        return bad(r, NNF_ERR_FORMAT, "%zu bytes, but the header says %llu: trailing data",
                   r->size, (ull)total);
    uint32_t stored = get_u32(r->buf + r->size - TRAILER);
    uint32_t computed = crc_of(r->buf, r->size - TRAILER);
    if (stored != computed)
        return bad(r, NNF_ERR_FORMAT, "CRC mismatch: stored 0x%08x, computed 0x%08x",
                   (unsigned)stored, (unsigned)computed);
    return NNF_OK;
}

/* The hyper-parameters, with the ranges nnf_net_set_param() accepts. */
static nnf_status check_hyper(const reader *r)
{
    static const char *const names[6] = {"learning rate", "momentum", "Adam beta1",
                                         "Adam beta2", "Adam epsilon", "L2 penalty"};
    for (int i = 0; i < 6; i++) {
        size_t at = 48 + 8 * (size_t)i;
        double v = get_f64(r->buf + at);
        int unit = i >= 1 && i <= 3, ok;
        if (unit)
            ok = v >= 0.0 && v < 1.0;
        else
            ok = v <= (double)FLT_MAX && (i == 5 ? v >= 0.0 : v > 0.0);
        if (!ok)
            return bad(r, NNF_ERR_FORMAT, "byte %zu: %s %g is out of range (expected %s)", at,
                       names[i], v, unit ? "0 <= beta < 1" : i == 5 ? "0 <= lambda <= FLT_MAX"
                                                                    : "0 < value <= FLT_MAX");
    }
    return NNF_OK;
}

static nnf_status check_fixed(reader *r)
{
    uint64_t len = get_u64(r->buf + 16);
    if (len < FIXED)
        return bad(r, NNF_ERR_FORMAT, "byte 16: content length %llu is less than the %d bytes "
                   "of the fixed fields", (ull)len, FIXED);
    r->n_in = get_u64(r->buf + 24);
    if (r->n_in < 1 || r->n_in > INT_MAX)
        return bad(r, NNF_ERR_FORMAT, "byte 24: n_inputs %llu is out of range (expected 1..%d)",
                   (ull)r->n_in, INT_MAX);
    uint64_t opt_t = get_u64(r->buf + 40);
    nnf_status st = check_hyper(r);
    if (st != NNF_OK)
        return st;
    r->depth = get_u32(r->buf + 96);
    uint32_t loss = get_u32(r->buf + 100);
    r->optimizer = get_u32(r->buf + 104);
    if (r->depth > MAX_DEPTH)
        return bad(r, NNF_ERR_FORMAT, "byte 96: depth %u exceeds the limit of %d",
                   (unsigned)r->depth, MAX_DEPTH);
    if (loss > NNF_LOSS_CROSS_ENTROPY)
        return bad(r, NNF_ERR_FORMAT, "byte 100: loss %u is not an nnf_loss (expected 0..2)",
                   (unsigned)loss);
    if (r->optimizer > NNF_OPT_ADAM)
        return bad(r, NNF_ERR_FORMAT, "byte 104: optimizer %u is not an nnf_optimizer "
                   "(expected 0..2)", (unsigned)r->optimizer);
    if (get_u32(r->buf + 108))
        return bad(r, NNF_ERR_FORMAT, "byte 108: padding is 0x%x (expected 0)",
                   (unsigned)get_u32(r->buf + 108));
    if ((r->flags & FLAG_STATE) && r->optimizer == NNF_OPT_SGD)
        return bad(r, NNF_ERR_FORMAT, "byte 12: flags say the optimizer's state is stored, "
                   "but SGD has none");
    if (!(r->flags & FLAG_STATE) && opt_t)
        return bad(r, NNF_ERR_FORMAT, "byte 40: step count %llu without a stored optimizer "
                   "state (expected 0)", (ull)opt_t);
    if (len < FIXED + (uint64_t)RECORD * r->depth)
        return bad(r, NNF_ERR_FORMAT, "byte 16: content length %llu is too short for the table "
                   "of %u layers", (ull)len, (unsigned)r->depth);
    return NNF_OK;
}

/* The layer table; sums the parameter count as nnf_net_add_dense() checks it. */
static nnf_status check_layers(reader *r)
{
    const uint64_t limit = SIZE_MAX / sizeof(float) < UINT64_MAX / 4 ? SIZE_MAX / sizeof(float)
                                                                      : UINT64_MAX / 4;
    uint64_t n_in = r->n_in;
    r->n_params = 0;
    for (uint32_t l = 0; l < r->depth; l++) {
        size_t at = TABLE + RECORD * (size_t)l;
        const unsigned char *p = r->buf + at;
        uint64_t units = get_u64(p);
        uint32_t act = get_u32(p + 8);
        float slope = get_f32(p + 12);
        if (units < 1 || units > INT_MAX)
            return bad(r, NNF_ERR_FORMAT, "layer %u (byte %zu): units %llu is out of range "
                       "(expected 1..%d)", (unsigned)l + 1, at, (ull)units, INT_MAX);
        if (act > NNF_ACT_SOFTMAX)
            return bad(r, NNF_ERR_FORMAT, "layer %u (byte %zu): activation %u is not an nnf_act "
                       "(expected 0..5)", (unsigned)l + 1, at + 8, (unsigned)act);
        if (act == NNF_ACT_SOFTMAX && l + 1 < r->depth)
            return bad(r, NNF_ERR_FORMAT, "layer %u (byte %zu): softmax is for the output layer "
                       "only, and layer %u follows", (unsigned)l + 1, at + 8, (unsigned)l + 2);
        if (!(slope > 0.0f && slope < 1.0f))
            return bad(r, NNF_ERR_FORMAT, "layer %u (byte %zu): slope %g is out of range "
                       "(expected 0 < alpha < 1)", (unsigned)l + 1, at + 12, (double)slope);
        /* units <= INT_MAX and n_in <= INT_MAX: (n_in + 1) * units fits */
        uint64_t count = (n_in + 1) * units;
        if (count > limit - r->n_params)
            return bad(r, NNF_ERR_FORMAT, "layer %u (byte %zu): %llu x %llu weights overflow "
                       "the parameter count", (unsigned)l + 1, at, (ull)units, (ull)n_in);
        r->n_params += count;
        n_in = units;
    }
    /* n_params < 2^62, so 3 n_params fits in 64 bits */
    unsigned copies = !(r->flags & FLAG_STATE) ? 1 : r->optimizer == NNF_OPT_ADAM ? 3 : 2;
    uint64_t floats = r->n_params * copies;
    uint64_t expected = FIXED + (uint64_t)RECORD * r->depth;
    uint64_t len = get_u64(r->buf + 16);
    if (floats > (UINT64_MAX - expected) / 4)
        return bad(r, NNF_ERR_FORMAT, "byte 16: content length %llu does not match the layers "
                   "(they need more than 2^64 bytes)", (ull)len);
    if (expected + 4 * floats != len)
        return bad(r, NNF_ERR_FORMAT, "byte 16: content length %llu does not match the layers "
                   "(they need %llu)", (ull)len, (ull)(expected + 4 * floats));
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
    const unsigned char *p = r->buf + TABLE + RECORD * (size_t)r->depth;
    uint64_t n_in = r->n_in;
    for (uint32_t l = 0; l < r->depth; l++) {
        uint64_t units = get_u64(r->buf + TABLE + RECORD * (size_t)l);
        size_t nw = (size_t)(n_in * units);
        for (size_t i = 0; i < nw + units; i++, p += 4) {
            float v = get_f32(p);
            if (isfinite(v))
                continue;
            size_t at = (size_t)(p - r->buf);
            if (i < nw)
                return bad(r, NNF_ERR_FORMAT, "layer %u: weight w[%zu][%zu] (byte %zu) is %s",
                           (unsigned)l + 1, i / (size_t)n_in, i % (size_t)n_in, at,
                           nonfinite_name(v));
            return bad(r, NNF_ERR_FORMAT, "layer %u: bias b[%zu] (byte %zu) is %s",
                       (unsigned)l + 1, i - nw, at, nonfinite_name(v));
        }
        n_in = units;
    }
    if (!(r->flags & FLAG_STATE))
        return NNF_OK;
    size_t n = (size_t)r->n_params, n_state = r->optimizer == NNF_OPT_ADAM ? 2 * n : n;
    for (size_t i = 0; i < n_state; i++, p += 4) {
        float v = get_f32(p);
        int adam_v = r->optimizer == NNF_OPT_ADAM && i >= n;
        if (isfinite(v) && !(adam_v && v < 0.0f))
            continue;
        return bad(r, NNF_ERR_FORMAT, "optimizer state (byte %zu): %s[%zu] is %s",
                   (size_t)(p - r->buf), r->optimizer == NNF_OPT_ADAM && !adam_v ? "m" : "v",
                   adam_v ? i - n : i, isfinite(v) ? "negative" : nonfinite_name(v));
    }
    return NNF_OK;
}

/* ---- building: only once everything was checked */

static nnf_status build(const reader *r, nnf_net **out)
{
    const unsigned char *b = r->buf;
    nnf_net *net = NULL;
    if (nnf__net_create(&net, (size_t)r->n_in) != NNF_OK)
        return bad(r, NNF_ERR_NOMEM, "out of memory creating the net");
    net->seed = get_u64(b + 32);
    for (uint32_t l = 0; l < r->depth; l++) {
        const unsigned char *p = b + TABLE + RECORD * (size_t)l;
        if (nnf__net_add_layer(net, (size_t)get_u64(p), (int)get_u32(p + 8)) != NNF_OK) {
            nnf__net_destroy(net);
            return bad(r, NNF_ERR_NOMEM, "out of memory allocating layer %u of %u",
                       (unsigned)l + 1, (unsigned)r->depth);
        }
        net->layers[l]->alpha = get_f32(p + 12);
    }
    if (nnf__optim_reset(net, (nnf_optimizer)r->optimizer) != NNF_OK) {
        nnf__net_destroy(net);
        return bad(r, NNF_ERR_NOMEM, "out of memory allocating the optimizer's state");
    }
    net->loss = (nnf_loss)get_u32(b + 100);
    net->lr = get_f64(b + 48);
    net->momentum = get_f64(b + 56);
    net->beta1 = get_f64(b + 64);
    net->beta2 = get_f64(b + 72);
    net->epsilon = get_f64(b + 80);
    net->l2 = get_f64(b + 88);

    const unsigned char *p = b + TABLE + RECORD * (size_t)r->depth;
    for (size_t i = 0; i < net->n_params; i++, p += 4)
        net->params[i] = get_f32(p);
    if (r->flags & FLAG_STATE) {
        size_t n_state = nnf__optim_state_floats(net->optimizer, net->n_params);
        for (size_t i = 0; i < n_state; i++, p += 4)
            net->opt_state[i] = get_f32(p);
        net->opt_t = get_u64(b + 40);
    }
    *out = net;
    return NNF_OK;
}

nnf_status nnf__load_mem(nnf_net **out, const unsigned char *buf, size_t size, char *errbuf,
                         size_t errbuf_size)
{
    reader r = {buf, size, errbuf, errbuf_size, 0, 0, 0, 0, 0};
    nnf_status st = check_header(&r);
    if (st == NNF_OK)
        st = check_fixed(&r);
    if (st == NNF_OK)
        st = check_layers(&r);
    if (st == NNF_OK)
        st = check_values(&r);
    if (st == NNF_OK)
        st = build(&r, out);
    return st;
}
