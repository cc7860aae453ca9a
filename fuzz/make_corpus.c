/* SPDX-License-Identifier: MIT */
/* make_corpus.c - writes the seed corpus of the fuzzers:
 *   make_corpus DIR   writes DIR/load/seed-* and DIR/api/seed-*
 * load seeds are fuzz_load's input layout (a mode byte, then a model; see
 * fuzz_load.c): valid models of every activation and optimizer, with and
 * without state, and a few malformed ones whose CRC is right, so that the
 * loader's field checks reject them. api seeds are op sequences of
 * fuzz_api.c (see its op table). */
#define _POSIX_C_SOURCE 200809L
#include "nnfast.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

static const char *g_dir;

static void die(const char *what)
{
    fprintf(stderr, "make_corpus: %s\n", what);
    exit(1);
}

static void ok(nnf_status st, const char *what)
{
    if (st != NNF_OK) {
        fprintf(stderr, "make_corpus: %s: %s\n", what, nnf_status_str(st));
        exit(1);
    }
}

static void write_file(const char *sub, const char *name, unsigned char mode,
                       const unsigned char *bytes, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s/%s", g_dir, sub, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        die(path);
    if (mode != 0xff && fputc(mode, f) == EOF)
        die(path);
    if (n && fwrite(bytes, 1, n, f) != n)
        die(path);
    if (fclose(f))
        die(path);
}

/* ---- load seeds */

static unsigned char *saved(const nnf_net *net, unsigned flags, size_t *n)
{
    ok(nnf_net_saved_size(net, flags, n), "saved_size");
    unsigned char *buf = malloc(*n);
    if (!buf)
        die("out of memory");
    ok(nnf_net_save_mem(net, buf, *n, flags, NULL), "save_mem");
    return buf;
}

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void fix_crc(unsigned char *buf, size_t n)
{
    put_u32(buf + n - 4, (uint32_t)crc32(crc32(0L, Z_NULL, 0), buf, (uInt)(n - 4)));
}

/* A small net: n_in inputs, hidden layers of acts[] (4 units), an output
 * layer of out_act (3 units), trained a few steps with the optimizer. */
static nnf_net *make_net(size_t n_in, const nnf_act *acts, size_t n_hidden, nnf_act out_act,
                         nnf_loss loss, nnf_optimizer opt, int steps)
{
    nnf_net *net;
    ok(nnf_net_create(&net, n_in), "create");
    for (size_t i = 0; i < n_hidden; i++) {
        nnf_layer *ly;
        ok(nnf_net_add_dense(net, 4, acts[i], &ly), "add_dense");
        if (acts[i] == NNF_ACT_LEAKY_RELU)
            ok(nnf_layer_set_slope(ly, 0.2f), "set_slope");
    }
    ok(nnf_net_add_dense(net, 3, out_act, NULL), "add_dense out");
    ok(nnf_net_set_loss(net, loss), "set_loss");
    ok(nnf_net_set_param(net, NNF_PARAM_OPTIMIZER, (double)opt), "optimizer");
    ok(nnf_net_set_param(net, NNF_PARAM_LEARNING_RATE, 0.05), "lr");
    float x[4 * 8], y[4 * 3];
    for (size_t i = 0; i < 4 * n_in; i++)
        x[i] = (float)((int)(i * 7 % 11) - 5) * 0.3f;
    for (size_t i = 0; i < 4 * 3; i++)
        y[i] = i % 3 == i / 3 % 3 ? 1.0f : 0.0f; /* one-hot rows */
    for (int s = 0; s < steps; s++)
        ok(nnf_net_train_step(net, x, y, 4, NULL), "train_step");
    return net;
}

static void seed_net(const char *name, nnf_net *net, unsigned flags)
{
    size_t n;
    unsigned char *b = saved(net, flags, &n);
    write_file("load", name, 0, b, n);
    free(b);
}

static void v2_seeds(void);

static void load_seeds(void)
{
    static const nnf_act all[5] = {NNF_ACT_LINEAR, NNF_ACT_SIGMOID, NNF_ACT_TANH, NNF_ACT_RELU,
                                   NNF_ACT_LEAKY_RELU};
    nnf_net *net;

    /* every activation once, SGD, softmax + cross-entropy output */
    net = make_net(3, all, 5, NNF_ACT_SOFTMAX, NNF_LOSS_CROSS_ENTROPY, NNF_OPT_SGD, 2);
    seed_net("seed-acts-softmax-sgd", net, 0);
    nnf_net_destroy(net);

    /* every optimizer, with and without its state */
    static const struct {
        nnf_optimizer opt;
        const char *name, *name_state;
    } opts[3] = {{NNF_OPT_SGD, "seed-sgd-sigmoid-bce", NULL},
                 {NNF_OPT_MOMENTUM, "seed-momentum-nostate", "seed-momentum-state"},
                 {NNF_OPT_ADAM, "seed-adam-nostate", "seed-adam-state"}};
    for (int i = 0; i < 3; i++) {
        net = make_net(2, all + 3, 1, NNF_ACT_SIGMOID, NNF_LOSS_BCE, opts[i].opt, 3);
        seed_net(opts[i].name, net, 0);
        if (opts[i].name_state)
            seed_net(opts[i].name_state, net, NNF_SAVE_OPTIMIZER_STATE);
        nnf_net_destroy(net);
    }

    /* each activation as the output of an MSE net, non-default settings */
    static const char *const names[5] = {"seed-out-linear", "seed-out-sigmoid", "seed-out-tanh",
                                         "seed-out-relu", "seed-out-leaky"};
    for (int i = 0; i < 5; i++) {
        net = make_net(1 + (size_t)i, all + 2, 1, all[i], NNF_LOSS_MSE, NNF_OPT_ADAM, i);
        ok(nnf_net_set_param(net, NNF_PARAM_L2_PENALTY, 0.5 * i), "l2");
        ok(nnf_net_set_param(net, NNF_PARAM_ADAM_BETA2, 0.99), "beta2");
        ok(nnf_net_set_param(net, NNF_PARAM_MOMENTUM, 0.0), "momentum");
        ok(nnf_net_init(net, NNF_INIT_XAVIER, 1234567u + (unsigned)i), "init");
        seed_net(names[i], net, (unsigned)i & NNF_SAVE_OPTIMIZER_STATE);
        nnf_net_destroy(net);
    }

    /* depth 0 is a valid file */
    ok(nnf_net_create(&net, 5), "create");
    seed_net("seed-depth0", net, 0);
    size_t n;
    unsigned char *b = saved(net, 0, &n);
    write_file("load", "seed-depth0-repair", 1, b, n);
    free(b);
    nnf_net_destroy(net);

    /* malformed, each with a valid CRC so that a field check rejects it */
    net = make_net(2, all + 1, 2, NNF_ACT_SOFTMAX, NNF_LOSS_CROSS_ENTROPY, NNF_OPT_MOMENTUM, 1);
    b = saved(net, NNF_SAVE_OPTIMIZER_STATE, &n);
    nnf_net_destroy(net);
    unsigned char *m = malloc(n + 1);
    if (!m)
        die("out of memory");

    memcpy(m, b, n);
    put_u32(m + 112 + 16 + 8, NNF_ACT_SOFTMAX); /* layer 2 softmax, layer 3 follows */
    fix_crc(m, n);
    write_file("load", "bad-softmax-not-last", 0, m, n);

    memcpy(m, b, n);
    put_u32(m + 112 + 16 * 3 + 4 * 5, 0x7fc00000u); /* a NaN weight */
    fix_crc(m, n);
    write_file("load", "bad-nan-weight", 0, m, n);

    memcpy(m, b, n);
    put_u32(m + 12, 0); /* t != 0 without the state flag */
    fix_crc(m, n);
    write_file("load", "bad-steps-without-state", 0, m, n);

    memcpy(m, b, n);
    put_u64(m + 112, 0x80000000u); /* units above INT_MAX */
    fix_crc(m, n);
    write_file("load", "bad-units", 0, m, n);

    memcpy(m, b, n);
    put_u64(m + 16, 1000); /* content length against the size */
    fix_crc(m, n);
    write_file("load", "bad-length", 0, m, n);

    memcpy(m, b, n);
    m[4] = '\n'; /* CR LF -> LF LF: a text-mode copy */
    write_file("load", "bad-text-mode-magic", 0, m, n);

    memcpy(m, b, n);
    m[n] = 0; /* trailing byte */
    write_file("load", "bad-trailing-byte", 0, m, n + 1);

    write_file("load", "bad-truncated", 0, b, n / 2);

    /* Adam with its state and t = 2^64 - 1 (valid): t + 1 wrapped to 0 */
    net = make_net(2, all + 1, 1, NNF_ACT_SIGMOID, NNF_LOSS_BCE, NNF_OPT_ADAM, 2);
    unsigned char *a = saved(net, NNF_SAVE_OPTIMIZER_STATE, &n);
    nnf_net_destroy(net);
    put_u64(a + 40, UINT64_MAX);
    fix_crc(a, n);
    write_file("load", "regress-adam-t-max", 0, a, n);
    free(a);
    write_file("load", "bad-empty", 0, b, 0);
    free(m);
    free(b);
    v2_seeds();
}

/* Version 2's tail: make_net's net with dropout, input scaling, metadata,
 * AdamW with a weight decay, and epochs of a trainer; saved with and
 * without the state, and malformed in the tail's fields. */
static void v2_seeds(void)
{
    static const nnf_act hidden[2] = {NNF_ACT_RELU, NNF_ACT_TANH};
    nnf_net *net =
        make_net(3, hidden, 2, NNF_ACT_SOFTMAX, NNF_LOSS_CROSS_ENTROPY, NNF_OPT_ADAMW, 0);
    ok(nnf_net_set_param(net, NNF_PARAM_WEIGHT_DECAY, 0.05), "weight decay");
    ok(nnf_layer_set_dropout(nnf_net_layer(net, 1), 0.25f), "dropout");
    ok(nnf_layer_set_dropout(nnf_net_layer(net, 2), 0.5f), "dropout");
    const float mean[3] = {0.5f, -1.0f, 2.0f}, sd[3] = {2.0f, 1.0f, 0.25f};
    ok(nnf_net_set_input_scaling(net, mean, sd), "input scaling");
    ok(nnf_net_set_meta(net, "name", "seed-v2"), "meta");
    ok(nnf_net_set_meta(net, "k\xc3\xa9y", ""), "meta");
    float x[6 * 3], y[6 * 3];
    for (size_t i = 0; i < 6 * 3; i++) {
        x[i] = (float)((int)(i * 5 % 7) - 3) * 0.5f;
        y[i] = i % 3 == i / 3 % 3 ? 1.0f : 0.0f;
    }
    nnf_trainer *t;
    ok(nnf_trainer_create(&t), "trainer");
    ok(nnf_trainer_set(t, NNF_TRAIN_BATCH_SIZE, 4), "batch size");
    ok(nnf_trainer_set(t, NNF_TRAIN_EPOCHS, 2), "epochs");
    ok(nnf_trainer_run(t, net, x, y, 6), "trainer run");
    nnf_trainer_destroy(t);
    ok(nnf_net_train_step(net, x, y, 6, NULL), "train_step"); /* a pass with dropout: counted */
    seed_net("seed-v2-adamw-state", net, NNF_SAVE_OPTIMIZER_STATE);
    seed_net("seed-v2-nostate", net, 0);

    size_t n, n0;
    unsigned char *b = saved(net, NNF_SAVE_OPTIMIZER_STATE, &n), *b0 = saved(net, 0, &n0);
    nnf_net_destroy(net);
    unsigned char *m = malloc(n);
    if (!m)
        die("out of memory");
    /* the tail: header, 3 records, 3 layers of parameters and 2 of state */
    size_t p = 3 * 4 + 4 + 4 * 4 + 4 + 4 * 3 + 3, tail = (112 + 16 * 3 + 4 * 3 * p + 7) / 8 * 8;

    memcpy(m, b, n);
    put_u32(m + tail + 32 + 8, 0x3f000000u); /* dropout 0.5 on the output layer */
    fix_crc(m, n);
    write_file("load", "bad-v2-output-dropout", 0, m, n);

    memcpy(m, b, n);
    put_u32(m + tail + 32 + 12 + 12, 0); /* a standard deviation of 0 */
    fix_crc(m, n);
    write_file("load", "bad-v2-zero-std", 0, m, n);

    memcpy(m, b, n);
    m[tail + 32 + 12 + 24 + 8] = 0xff; /* the first key not UTF-8 */
    fix_crc(m, n);
    write_file("load", "bad-v2-meta-not-utf8", 0, m, n);

    /* without the state: no arrays of it before the tail */
    size_t tail0 = (112 + 16 * 3 + 4 * p + 7) / 8 * 8;
    put_u64(b0 + tail0, 2); /* epochs without the state */
    fix_crc(b0, n0);
    write_file("load", "bad-v2-epochs-without-state", 0, b0, n0);
    put_u64(b0 + tail0, 0);
    put_u64(b0 + tail0 + 24, 3); /* training passes without the state */
    fix_crc(b0, n0);
    write_file("load", "bad-v2-passes-without-state", 0, b0, n0);
    free(m);
    free(b);
    free(b0);
}

/* ---- api seeds (op sequences of fuzz_api.c) */

static void api_seed(const char *name, const unsigned char *ops, size_t n)
{
    write_file("api", name, 0xff, ops, n);
}

static void api_seeds(void);

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_corpus DIR (writes DIR/load and DIR/api)\n");
        return 2;
    }
    g_dir = argv[1];
    char path[4096];
    snprintf(path, sizeof path, "%s/load", g_dir);
    if (mkdir(path, 0777) && errno != EEXIST)
        die(path);
    snprintf(path, sizeof path, "%s/api", g_dir);
    if (mkdir(path, 0777) && errno != EEXIST)
        die(path);
    load_seeds();
    api_seeds();
    return 0;
}

/* Op numbers and argument bytes as fuzz_api.c reads them. */
enum {
    ADD_DENSE,
    SET_LOSS,
    SET_PARAM,
    SET_SLOPE,
    INIT,
    SET_WEIGHTS,
    SET_BIAS,
    FORWARD,
    BACKWARD,
    UPDATE,
    TRAIN_STEP,
    PREDICT,
    TRAIN,
    EVALUATE,
    GRADS,
    SAVE_LOAD,
    CLONE,
    GETTERS,
    NULLS,
    NEW_NET
};

static void api_seeds(void)
{
    /* 2-4-1 tanh/sigmoid BCE net: train steps, forward/backward/update twice
     * (the second update is NNF_ERR_STATE), gradients, evaluate, save with
     * the state and continue with the loaded net. */
    static const unsigned char xor [
    ] = {1,          2, 3,        2, 0, 1, 0,         /* n_in 2, depth 2: 4 tanh, 1 sigmoid; BCE */
         SET_PARAM,  0, 2,                            /* learning rate 0.5 */
         TRAIN_STEP, 0, 3,        0, 1, 0, 2,      1, /* m 4, x pattern 1, y pattern 2, with cost */
         TRAIN_STEP, 0, 3,        0, 1, 0, 2,      1,         FORWARD, 0, 3, 0,
         1,          1, BACKWARD, 0, 0, 2, UPDATE, UPDATE,    GRADS,   1, 1, EVALUATE,
         0,          3, 0,        1, 0, 2, 0,      SAVE_LOAD, 9, /* with state, replace the net */
         TRAIN_STEP, 0, 3,        0, 1, 0, 2,      1,         GETTERS, 0, 0, 0};
    api_seed("seed-xor-train", xor, sizeof xor);

    /* 3-5-3 relu/softmax cross-entropy net with Adam: mini-batch training
     * with progress and steps, a clone trained apart, save with the state. */
    static const unsigned char softmax[] = {
        2,         2, 4, 3, 2,    5, 2, /* n_in 3: 5 relu, 3 softmax; cross-entropy */
        SET_PARAM, 1, 9,                /* optimizer 2.0: Adam */
        TRAIN,     0, 7, 0, 3,    0, 1,       0x31, 2,         2, 5,     0, /* m 8, batch 3, 2 epochs */
        CLONE,     2, 0, 7, 0,    3, 0,       1,    SAVE_LOAD, 1, TRAIN, 0, 7,
        0,         3, 0, 1, 0x39, 2, 3,       5,    4, /* shuffled, stop after 4 */
        PREDICT,   0, 7, 0, 3,    1, GETTERS, 0,    7,         9};
    api_seed("seed-softmax-adam", softmax, sizeof softmax);

    /* 4-2 leaky ReLU MSE net with momentum and L2: slope, steps, init, then
     * weights with a NaN (NNF_ERR_NUMERIC), biases, predict. */
    static const unsigned char leaky[] =
        {3,          1,   1,       4,   1, /* n_in 4: 2 leaky relu; MSE */
         SET_SLOPE,  1,   1,               /* 0.2 */
         SET_PARAM,  1,   8,               /* optimizer 1.0: momentum */
         SET_PARAM,  6,   1,               /* L2 0.1 */
         TRAIN_STEP, 0,   5,       0,   4,    0,   6,  1,           TRAIN_STEP,  0,        5, 0,
         4,          0,   6,       1,   INIT, 1,   7,  SET_WEIGHTS, 1,           1,        3, 0,
         100,        120, 140,     160, 0xe4, 90,  80, 70,          SET_WEIGHTS, 1,        1, 3,
         0,          100, 120,     140, 160,  180, 90, 80,          70,          SET_BIAS, 1, 1,
         0,          0,   PREDICT, 0,   5,    0,   4,  1,           SAVE_LOAD,   1};
    api_seed("seed-leaky-momentum-l2", leaky, sizeof leaky);

    /* Edge cases: NULL handles, a net without layers, invalid enums and sizes. */
    static const unsigned char edges[] =
        {0,         0,       0,                              /* n_in 1, no layer, BCE */
         NULLS,     FORWARD, 0,    0,    0,     0,        1, /* no layer: NNF_ERR_STATE */
         NEW_NET,   248,                                     /* n_inputs 0: NNF_ERR_ARG */
         ADD_DENSE, 0xf1,    0,    1,                        /* units INT_MAX + 1: NNF_ERR_SHAPE */
         ADD_DENSE, 2,       0xf0, 1,                        /* act -1: NNF_ERR_ARG */
         ADD_DENSE, 2,       5,    1,                        /* softmax */
         ADD_DENSE, 2,       1,    1,                        /* after softmax: NNF_ERR_STATE */
         SET_PARAM, 7,       0,                              /* key 7 */
         SET_PARAM, 0,       12,                             /* learning rate inf */
         SET_PARAM, 4,       19,                             /* beta2 1 - 2^-26 */
         SET_LOSS,  3,       INIT, 4,    0,     BACKWARD, 0,
         0,         0, /* no forward pass: NNF_ERR_STATE */
         UPDATE,       /* no gradient: NNF_ERR_STATE */
         GETTERS,   0,       0xf1, 0xf0, CLONE, 0};
    api_seed("seed-edges", edges, sizeof edges);

    /* Regressions: calls on a fresh net (no earlier message) that failed
     * without recording a message. */
    static const unsigned char clone_null[] = {1, 0, 0, CLONE, 0};
    api_seed("regress-errmsg-clone-null-out", clone_null, sizeof clone_null);
    static const unsigned char bad_key[] = {1, 1, 1, 0, 1, GETTERS, 0, 7, 0};
    api_seed("regress-errmsg-get-param-bad-key", bad_key, sizeof bad_key);
    static const unsigned char null_value[] = {1, 1, 1, 0, 1, GETTERS, 1, 0};
    api_seed("regress-errmsg-get-param-null-value", null_value, sizeof null_value);
    static const unsigned char null_loss[] = {1, 1, 1, 0, 1, GETTERS, 2, 0};
    api_seed("regress-errmsg-get-loss-null", null_loss, sizeof null_loss);
}
