/* SPDX-License-Identifier: MIT */
/* fuzz_load.c - libFuzzer target for nnf_net_load_mem(): malformed data is
 * NNF_ERR_FORMAT with a message, never a crash; data that loads is a net that
 * saves back to exactly the same bytes, clones, predicts and trains.
 *
 * Input: one mode byte, then the model bytes (fuzz/corpus/load is in this
 * layout; fuzz/make_corpus.c writes it).
 *   mode bit 0 = 0: the model bytes are loaded as they are. Nearly every
 *                   random mutation then stops at the CRC check.
 *   mode bit 0 = 1: repair first, so that mutations reach the checks behind
 *                   the CRC: the content length (bytes 16..23) is set to
 *                   size - 28, unless mode bit 1 is set (then the length
 *                   checks see a mutated length with a valid CRC), and the
 *                   last 4 bytes become the CRC-32 (zlib crc32) of the rest.
 *   mode bits 2-3:  errbuf size 256, 1, 0 or 40 (an exact allocation, so that
 *                   AddressSanitizer sees a write past it).
 * The file loader judges a file by its first bytes before it reads the rest
 * (nnf__check_prefix): that judgement, on an exact copy of those bytes, must
 * accept every model that loads and read nothing past the prefix.
 * Every failed invariant ends in __builtin_trap() after a line on stderr.
 */
#include "nnfast.h"
#include "serialize.h" /* nnf__check_prefix, the file loader's first look */

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(cond)                                                                   \
    do {                                                                                \
        if (!(cond)) {                                                                  \
            fprintf(stderr, "fuzz_load.c:%d: invariant failed: %s\n", __LINE__, #cond); \
            __builtin_trap();                                                           \
        }                                                                               \
    } while (0)

enum { HEADER = 24, TRAILER = 4, MAX_PREDICT_INPUTS = 64, M = 2 };

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const unsigned char *p)
{
    return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

enum { CURRENT_VERSION = 2 }; /* the format version nnf_net_save_mem writes */

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* Mode bit 0: make the content length and the CRC match the bytes. */
static void repair(unsigned char *buf, size_t n, int keep_length)
{
    if (n < HEADER + TRAILER)
        return;
    if (!keep_length)
        put_u64(buf + 16, (uint64_t)(n - HEADER - TRAILER));
    uLong crc = crc32(0L, Z_NULL, 0);
    crc = crc32(crc, buf, (uInt)(n - TRAILER)); /* libFuzzer inputs are far below 4 GiB */
    put_u32(buf + n - TRAILER, (uint32_t)crc);
}

/* The bytes of net saved with flags; exactly the saved size is allocated. */
static unsigned char *save(const nnf_net *net, unsigned flags, size_t *size)
{
    REQUIRE(nnf_net_saved_size(net, flags, size) == NNF_OK);
    unsigned char *buf = malloc(*size);
    REQUIRE(buf);
    size_t written = 0;
    REQUIRE(nnf_net_save_mem(net, buf, *size, flags, &written) == NNF_OK);
    REQUIRE(written == *size);
    return buf;
}

/* One byte form per net: saving the loaded net (and its clone) gives back
 * the input, and a buffer one byte short is refused without a write past it. */
static void check_round_trip(const nnf_net *net, const unsigned char *in, size_t n, unsigned flags)
{
    size_t size;
    unsigned char *out = save(net, flags, &size);
    REQUIRE(size == n);
    REQUIRE(memcmp(out, in, n) == 0);
    free(out);
    unsigned char *small = malloc(n - 1); /* n >= 112 */
    REQUIRE(small);
    size_t written = 1;
    REQUIRE(nnf_net_save_mem(net, small, n - 1, flags, &written) == NNF_ERR_ARG);
    REQUIRE(written == 0);
    free(small);

    nnf_net *copy = NULL;
    REQUIRE(nnf_net_clone(net, &copy) == NNF_OK && copy);
    out = save(copy, flags, &size);
    REQUIRE(size == n && memcmp(out, in, n) == 0);
    free(out);
    nnf_net_destroy(copy);
}

/* Softmax goes with cross-entropy, BCE with sigmoid (nnf_net_backward). */
static int loss_fits(nnf_loss loss, nnf_act out)
{
    return (loss == NNF_LOSS_BCE && out == NNF_ACT_SIGMOID) ||
           (loss == NNF_LOSS_CROSS_ENTROPY && out == NNF_ACT_SOFTMAX) ||
           (loss == NNF_LOSS_MSE && out != NNF_ACT_SOFTMAX);
}

/* Adam's bias corrections 1 / (1 - beta^t) are exactly 1 for t >= 2^40
 * (every beta the library computes with is at most 1 - 2^-25), so a net
 * with a larger t must step exactly as the same net with t = 2^40: same
 * status, same bytes afterwards but for t and the CRC. (t = 2^64 - 1 once
 * wrapped to 0 in t + 1, and every update failed.) */
static void check_large_t(const unsigned char *in, size_t n, const float *x, const float *labels,
                          nnf_status st, const unsigned char *after)
{
    unsigned char *copy = malloc(n);
    REQUIRE(copy);
    memcpy(copy, in, n);
    put_u64(copy + 40, UINT64_C(1) << 40);
    repair(copy, n, 1);
    nnf_net *net = NULL;
    REQUIRE(nnf_net_load_mem(&net, copy, n, NULL, 0) == NNF_OK);
    REQUIRE(nnf_net_train_step(net, x, labels, M, NULL) == st);
    size_t size;
    unsigned char *bytes = save(net, NNF_SAVE_OPTIMIZER_STATE, &size);
    REQUIRE(size == n);
    REQUIRE(memcmp(bytes, after, 40) == 0);
    REQUIRE(memcmp(bytes + 48, after + 48, n - 48 - TRAILER) == 0);
    free(bytes);
    nnf_net_destroy(net);
    free(copy);
}

/* Predict and one train step on a fixed tiny batch. Whatever the loaded
 * weights, these succeed or report a non-finite result; a failed step
 * changes nothing; a successful one leaves a net that saves and loads. */
static void exercise(nnf_net *net, const unsigned char *in, size_t n)
{
    size_t depth = nnf_net_depth(net), n_in = nnf_net_inputs(net), n_out = nnf_net_outputs(net);
    if (!depth || n_in > MAX_PREDICT_INPUTS)
        return;
    float x[M * MAX_PREDICT_INPUTS];
    for (size_t i = 0; i < M * n_in; i++)
        x[i] = 0.5f * (float)(i % 5) - 1.0f;
    float *y = malloc(M * n_out * sizeof(float));
    float *labels = malloc(M * n_out * sizeof(float));
    REQUIRE(y && labels);
    for (size_t i = 0; i < M * n_out; i++)
        labels[i] = (float)(i % 3) * 0.5f;

    nnf_status st = nnf_net_predict(net, x, M, y);
    REQUIRE(st == NNF_OK || st == NNF_ERR_NUMERIC);
    for (size_t i = 0; st == NNF_OK && i < M * n_out; i++)
        REQUIRE(isfinite(y[i]));
    if (st != NNF_OK)
        REQUIRE(nnf_net_errmsg(net)[0] != '\0');

    nnf_loss loss;
    REQUIRE(nnf_net_get_loss(net, &loss) == NNF_OK);
    int fits = loss_fits(loss, nnf_layer_act(nnf_net_layer(net, depth)));
    size_t before_size, after_size;
    unsigned char *before = save(net, NNF_SAVE_OPTIMIZER_STATE, &before_size);
    float cost = NAN;
    st = nnf_net_train_step(net, x, labels, M, &cost);
    REQUIRE(fits ? st == NNF_OK || st == NNF_ERR_NUMERIC : st == NNF_ERR_STATE);
    unsigned char *after = save(net, NNF_SAVE_OPTIMIZER_STATE, &after_size);
    REQUIRE(before_size == after_size);
    if (st != NNF_OK) {
        REQUIRE(nnf_net_errmsg(net)[0] != '\0');
        REQUIRE(memcmp(before, after, before_size) == 0);
    } else {
        REQUIRE(isfinite(cost));
        nnf_net *again = NULL;
        char err[128];
        REQUIRE(nnf_net_load_mem(&again, after, after_size, err, sizeof err) == NNF_OK);
        nnf_net_destroy(again);
    }
    if ((get_u32(in + 12) & 1u) && get_u64(in + 40) > UINT64_C(1) << 40)
        check_large_t(in, n, x, labels, st, after);
    free(before);
    free(after);
    free(y);
    free(labels);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned mode = data[0];
    size_t n = size - 1;
    /* an exact copy: a read past the model is a read past an allocation */
    unsigned char *buf = malloc(n ? n : 1);
    REQUIRE(buf);
    if (n)
        memcpy(buf, data + 1, n);
    if (mode & 1u)
        repair(buf, n, (mode & 2u) != 0);

    static const size_t errbuf_sizes[4] = {256, 1, 0, 40};
    size_t errbuf_size = errbuf_sizes[(mode >> 2) & 3u];
    char *errbuf = errbuf_size ? malloc(errbuf_size) : NULL;
    REQUIRE(errbuf_size == 0 || errbuf);
    if (errbuf)
        memset(errbuf, 'x', errbuf_size);

    size_t have = n < NNF__PREFIX_MAX ? n : NNF__PREFIX_MAX;
    unsigned char *prefix = malloc(have ? have : 1);
    REQUIRE(prefix);
    if (have)
        memcpy(prefix, buf, have);
    nnf_status judged = nnf__check_prefix(prefix, have, n);
    REQUIRE(judged == NNF_OK || judged == NNF_ERR_FORMAT);
    free(prefix);

    nnf_net *net = (nnf_net *)buf; /* must be overwritten */
    nnf_status st = nnf_net_load_mem(&net, buf, n, errbuf, errbuf_size);
    REQUIRE(st != NNF_OK || judged == NNF_OK); /* the file loader would accept it too */
    if (st != NNF_OK) {
        REQUIRE(st == NNF_ERR_FORMAT || st == NNF_ERR_NOMEM);
        REQUIRE(net == NULL);
        if (errbuf) { /* a message, terminated inside the buffer */
            REQUIRE(memchr(errbuf, '\0', errbuf_size) != NULL);
            REQUIRE(errbuf_size == 1 || errbuf[0] != '\0');
        }
    } else {
        REQUIRE(net != NULL);
        if (errbuf)
            REQUIRE(errbuf[0] == '\0');
        REQUIRE(nnf_net_errmsg(net)[0] == '\0');
        REQUIRE(nnf_net_inputs(net) == get_u64(buf + 24));
        REQUIRE(nnf_net_depth(net) == get_u32(buf + 96));
        /* SGD has no state arrays, so its flag bit stays 0, but a net saved
         * with NNF_SAVE_OPTIMIZER_STATE keeps its training counts (epochs,
         * passes) in the tail: for SGD the flag changes those alone, and
         * with it the round trip keeps whatever counts the input has */
        unsigned flags = (get_u32(buf + 12) & 1u) || get_u32(buf + 104) == NNF_OPT_SGD
                             ? NNF_SAVE_OPTIMIZER_STATE
                             : 0u;
        /* an older version loads and saves as the current one: the round
         * trip is then that of the current bytes */
        size_t cn = n;
        unsigned char *canon = get_u32(buf + 8) == CURRENT_VERSION ? buf : save(net, flags, &cn);
        check_round_trip(net, canon, cn, flags);
        exercise(net, canon, cn);
        if (canon != buf)
            free(canon);
        nnf_net_destroy(net);
    }
    free(errbuf);
    free(buf);
    return 0;
}
