/* SPDX-License-Identifier: MIT */
/* format.h - the saved-model format of docs/format.md as one list of fields:
 * their offsets, a struct of their values, and the functions that write and
 * read them, shared by the writer (save.c), the reader (load.c) and the tail (tail.c). Every value
 * is little-endian whatever the host. */
#ifndef NNF_FORMAT_H
#define NNF_FORMAT_H

#include "settings.h"

#include <stddef.h>
#include <stdint.h>

enum {
    NNF__FORMAT_VERSION = 2,    /* written; versions 1 and 2 are read */
    NNF__FORMAT_FLAG_STATE = 1, /* flags bit 0: the optimizer's state is stored */

    /* offsets of the fields, in bytes from the start */
    NNF__AT_MAGIC = 0,
    NNF__AT_VERSION = 8,
    NNF__AT_FLAGS = 12,
    NNF__AT_LENGTH = 16, /* content length C: bytes from 24 to the CRC */
    NNF__AT_N_IN = 24,   /* the content starts here */
    NNF__AT_SEED = 32,
    NNF__AT_T = 40,      /* the optimizer's step count */
    NNF__AT_PARAMS = 48, /* the f64 settings of nnf__saved_params, 8 bytes each */
    NNF__AT_DEPTH = 96,
    NNF__AT_LOSS = 100,
    NNF__AT_OPTIMIZER = 104,
    NNF__AT_PADDING = 108,
    NNF__AT_TABLE = 112, /* the layer records, then the arrays */

    NNF__HEADER = 24,                         /* magic, version, flags, content length */
    NNF__FIXED = NNF__AT_TABLE - NNF__HEADER, /* content before the layer table */
    NNF__RECORD = 16, /* a layer: units u64 at 0, act u32 at 8, slope f32 at 12 */
    NNF__TRAILER = 4, /* CRC-32 */
    NNF__N_SAVED_PARAMS = 6,

    /* Version 2's tail, after the arrays at the next multiple of 8: offsets
     * from its start */
    NNF__TAIL_EPOCHS = 0,   /* u64: epochs trainers ran (0 without the state) */
    NNF__TAIL_DECAY = 8,    /* f64: NNF_PARAM_WEIGHT_DECAY */
    NNF__TAIL_FLAGS = 16,   /* u32: bit 0 input scaling present */
    NNF__TAIL_N_META = 20,  /* u32: metadata entries */
    NNF__TAIL_PASSES = 24,  /* u64: training passes outside trainers, the key of
                               their dropout masks (0 without the state) */
    NNF__TAIL_DROPOUT = 32, /* f32 per layer, then the scaling, then the metadata */
    NNF__TAIL_FLAG_SCALING = 1,
    NNF__META_HEAD = 8 /* an entry: u32 key length, u32 value length, the bytes, 0s to 4 */
};

/* The settings stored as f64 at NNF__AT_PARAMS + 8 i, in this order (the
 * optimizer is stored apart, as an enum). */
extern const nnf_param nnf__saved_params[NNF__N_SAVED_PARAMS];

/* The fixed fields' values. */
typedef struct nnf__head {
    uint32_t version, flags;
    uint64_t length;
    uint64_t n_in, seed, t;
    double param[NNF__N_PARAMS]; /* those of nnf__saved_params */
    uint32_t depth, loss, optimizer, padding;
} nnf__head;

typedef struct nnf__record {
    uint64_t units;
    uint32_t act;
    float slope;
} nnf__record;

extern const unsigned char nnf__magic[8];

void nnf__head_write(unsigned char *buf, const nnf__head *h);
void nnf__head_read(const unsigned char *buf, nnf__head *h);
void nnf__record_write(unsigned char *rec, const nnf__record *r);
void nnf__record_read(const unsigned char *rec, nnf__record *r);
/* n floats at p, 4 bytes each. */
void nnf__floats_write(unsigned char *p, const float *v, size_t n);
void nnf__floats_read(const unsigned char *p, float *v, size_t n);
float nnf__f32_at(const unsigned char *p);
uint32_t nnf__u32_at(const unsigned char *p);
uint64_t nnf__u64_at(const unsigned char *p);
void nnf__u32_put(unsigned char *p, uint32_t v);
void nnf__u64_put(unsigned char *p, uint64_t v);
void nnf__f64_put(unsigned char *p, double d);
double nnf__f64_at(const unsigned char *p);
/* zlib's CRC-32 of n bytes. */
uint32_t nnf__crc32(const unsigned char *p, size_t n);

/* Version 2's tail starts at the next multiple of 8 after the arrays. */
static inline size_t nnf__pad8(size_t n)
{
    return (n + 7) / 8 * 8;
}

/* Bytes of a metadata entry of the tail: its lengths, its bytes, zeros to 4. */
static inline size_t nnf__meta_entry_size(size_t key_len, size_t value_len)
{
    return NNF__META_HEAD + (key_len + value_len + 3) / 4 * 4;
}

#endif /* NNF_FORMAT_H */
