/* SPDX-License-Identifier: MIT */
/* format.c - the fields of the saved-model format written and read, each
 * from its one offset in format.h; little-endian, byte by byte. */
#include "format.h"

#include <float.h>
#include <string.h>
#include <zlib.h>

_Static_assert(sizeof(float) == 4 && FLT_MANT_DIG == 24, "float must be IEEE-754 binary32");
_Static_assert(sizeof(double) == 8 && DBL_MANT_DIG == 53, "double must be IEEE-754 binary64");

/* PNG's trick: a high-bit byte, CR LF, ^Z and LF, so that 7-bit and
 * text-mode transfers show up as a wrong magic number. */
const unsigned char nnf__magic[8] = {0x89, 'N', 'N', 'F', '\r', '\n', 0x1a, '\n'};

const nnf_param nnf__saved_params[NNF__N_SAVED_PARAMS] = {NNF_PARAM_LEARNING_RATE,
                                                          NNF_PARAM_MOMENTUM,
                                                          NNF_PARAM_ADAM_BETA1,
                                                          NNF_PARAM_ADAM_BETA2,
                                                          NNF_PARAM_ADAM_EPSILON,
                                                          NNF_PARAM_L2_PENALTY};

void nnf__u32_put(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

void nnf__u64_put(unsigned char *p, uint64_t v)
{
    nnf__u32_put(p, (uint32_t)v);
    nnf__u32_put(p + 4, (uint32_t)(v >> 32));
}

static void f32_put(unsigned char *p, float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    nnf__u32_put(p, u);
}

void nnf__f64_put(unsigned char *p, double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    nnf__u64_put(p, u);
}

uint32_t nnf__u32_at(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint64_t nnf__u64_at(const unsigned char *p)
{
    return (uint64_t)nnf__u32_at(p) | (uint64_t)nnf__u32_at(p + 4) << 32;
}

float nnf__f32_at(const unsigned char *p)
{
    uint32_t u = nnf__u32_at(p);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

double nnf__f64_at(const unsigned char *p)
{
    uint64_t u = nnf__u64_at(p);
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

void nnf__head_write(unsigned char *buf, const nnf__head *h)
{
    memcpy(buf + NNF__AT_MAGIC, nnf__magic, sizeof nnf__magic);
    nnf__u32_put(buf + NNF__AT_VERSION, h->version);
    nnf__u32_put(buf + NNF__AT_FLAGS, h->flags);
    nnf__u64_put(buf + NNF__AT_LENGTH, h->length);
    nnf__u64_put(buf + NNF__AT_N_IN, h->n_in);
    nnf__u64_put(buf + NNF__AT_SEED, h->seed);
    nnf__u64_put(buf + NNF__AT_T, h->t);
    for (int i = 0; i < NNF__N_SAVED_PARAMS; i++)
        nnf__f64_put(buf + NNF__AT_PARAMS + 8 * i, h->param[nnf__saved_params[i]]);
    nnf__u32_put(buf + NNF__AT_DEPTH, h->depth);
    nnf__u32_put(buf + NNF__AT_LOSS, h->loss);
    nnf__u32_put(buf + NNF__AT_OPTIMIZER, h->optimizer);
    nnf__u32_put(buf + NNF__AT_PADDING, h->padding);
}

void nnf__head_read(const unsigned char *buf, nnf__head *h)
{
    memset(h, 0, sizeof *h);
    h->version = nnf__u32_at(buf + NNF__AT_VERSION);
    h->flags = nnf__u32_at(buf + NNF__AT_FLAGS);
    h->length = nnf__u64_at(buf + NNF__AT_LENGTH);
    h->n_in = nnf__u64_at(buf + NNF__AT_N_IN);
    h->seed = nnf__u64_at(buf + NNF__AT_SEED);
    h->t = nnf__u64_at(buf + NNF__AT_T);
    for (int i = 0; i < NNF__N_SAVED_PARAMS; i++)
        h->param[nnf__saved_params[i]] = nnf__f64_at(buf + NNF__AT_PARAMS + 8 * i);
    h->depth = nnf__u32_at(buf + NNF__AT_DEPTH);
    h->loss = nnf__u32_at(buf + NNF__AT_LOSS);
    h->optimizer = nnf__u32_at(buf + NNF__AT_OPTIMIZER);
    h->padding = nnf__u32_at(buf + NNF__AT_PADDING);
}

void nnf__record_write(unsigned char *rec, const nnf__record *r)
{
    nnf__u64_put(rec, r->units);
    nnf__u32_put(rec + 8, r->act);
    f32_put(rec + 12, r->slope);
}

void nnf__record_read(const unsigned char *rec, nnf__record *r)
{
    r->units = nnf__u64_at(rec);
    r->act = nnf__u32_at(rec + 8);
    r->slope = nnf__f32_at(rec + 12);
}

void nnf__floats_write(unsigned char *p, const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        f32_put(p + 4 * i, v[i]);
}

void nnf__floats_read(const unsigned char *p, float *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        v[i] = nnf__f32_at(p + 4 * i);
}

/* zlib's crc32() takes an unsigned int length: feed it in chunks. */
uint32_t nnf__crc32(const unsigned char *p, size_t n)
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
