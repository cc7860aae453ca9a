/* SPDX-License-Identifier: MIT */
/* test_serialize.c - saving and loading, black-box through nnfast.h and
 * docs/format.md: round trips are bit-exact, training resumes exactly, every
 * corrupted or truncated model is NNF_ERR_FORMAT, files are replaced
 * atomically, and the committed version-1 file still loads. (The save and
 * load calls' argument errors are in test_errors.c, their allocation
 * failures in test_oom.c.) */
#define _DEFAULT_SOURCE /* mkfifo, flock, utimensat with C11 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "count_alloc.h"

#include "assert_ok.h"
#include "nets.h"
#include "nnfast.h"
#include "params.h"
#include "snapshot.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef NNF_TEST_DATA
#error "define NNF_TEST_DATA as the path of tests/data"
#endif

/* ---- the counting allocator (count_alloc.h): every test ends with no live block */

static char g_dir[] = "nnf-serialize-XXXXXX"; /* in the working directory (the build tree) */

static int group_setup(void **state)
{
    (void)state;
    if (!mkdtemp(g_dir))
        return -1;
    return count_alloc_install(state);
}

static void remove_tree(const char *path)
{
    DIR *d = opendir(path);
    if (!d) {
        (void)unlink(path);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char sub[512];
        (void)snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        remove_tree(sub);
    }
    closedir(d);
    (void)rmdir(path);
}

static int group_teardown(void **state)
{
    (void)state;
    remove_tree(g_dir);
    return count_alloc_remove(state);
}

static long g_live_before;

static int count_live(void **state)
{
    (void)state;
    g_live_before = g_count.live;
    return 0;
}

static int no_leak(void **state)
{
    (void)state;
    g_count.fail_at = 0;
    return g_count.live == g_live_before ? 0 : -1;
}

/* A fresh empty directory under g_dir for one test; path receives it. */
static void fresh_dir(char *path, size_t size, const char *name)
{
    (void)snprintf(path, size, "%s/%s", g_dir, name);
    assert_int_equal(mkdir(path, 0700), 0);
}

/* The number of entries in dir (temporary files included); *only receives
 * the name of one of them. */
static int count_entries(const char *dir, char *only, size_t size)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            n++;
            (void)snprintf(only, size, "%s", e->d_name);
        }
    closedir(d);
    return n;
}

/* ---- nets and data */

/* 2 -> 3 tanh -> 1 sigmoid, BCE: 13 parameters, small enough to corrupt
 * every byte of. */
static nnf_net *make_small(nnf_optimizer opt, int steps)
{
    nnf_net *net = NULL;
    assert_int_equal(nnf_net_create(&net, 2), NNF_OK);
    assert_ok(net, nnf_net_add_dense(net, 3, NNF_ACT_TANH, NULL));
    assert_ok(net, nnf_net_add_dense(net, 1, NNF_ACT_SIGMOID, NULL));
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_OPTIMIZER, opt));
    train_steps(net, steps);
    return net;
}

/* Bytes of net saved with flags, in a buffer of the test's own. */
static unsigned char *save(const nnf_net *net, unsigned flags, size_t *size)
{
    assert_ok(net, nnf_net_saved_size(net, flags, size));
    unsigned char *buf = malloc(*size);
    assert_non_null(buf);
    size_t written = 0;
    assert_ok(net, nnf_net_save_mem(net, buf, *size, flags, &written));
    assert_int_equal(written, *size);
    return buf;
}

static nnf_net *load(const unsigned char *buf, size_t size)
{
    nnf_net *net = NULL;
    char err[256];
    nnf_status st = nnf_net_load_mem(&net, buf, size, err, sizeof err);
    if (st != NNF_OK)
        fail_msg("nnf_net_load_mem: %s (%s)", nnf_status_str(st), err);
    return net;
}

/* Same architecture, settings and parameters (snapshot.h), and the same
 * predictions, bit for bit. */
static void assert_same_net(nnf_net *a, nnf_net *b)
{
    assert_twins(a, b, 0);
    if (nnf_net_depth(a)) {
        float x[5 * 4], y[5 * 3], pa[5 * 3], pb[5 * 3];
        assert_true(nnf_net_inputs(a) <= 4 && nnf_net_outputs(a) <= 3);
        make_data(x, y, 5, nnf_net_inputs(a), nnf_net_outputs(a), 0);
        assert_ok(a, nnf_net_predict(a, x, 5, pa));
        assert_ok(b, nnf_net_predict(b, x, 5, pb));
        assert_memory_equal(pa, pb, 5 * nnf_net_outputs(a) * sizeof(float));
    }
}

/* ---- the format, read and written by the test itself (docs/format.md) */

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const unsigned char *p)
{
    return get32(p) | (uint64_t)get32(p + 4) << 32;
}

static void put_le(unsigned char *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* CRC-32 (reflected 0xEDB88320), bit by bit: independent of zlib. */
static uint32_t crc32_of(const unsigned char *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return ~c;
}

static void fix_crc(unsigned char *buf, size_t size)
{
    put_le(buf + size - 4, crc32_of(buf, size - 4), 4);
}

/* Loading must fail with NNF_ERR_FORMAT, a message containing want (if not
 * NULL), *out NULL, and without allocating anything. */
static void assert_rejected(const unsigned char *buf, size_t size, const char *want)
{
    nnf_net *net = (nnf_net *)(uintptr_t)1;
    char err[256] = "";
    long allocs = g_count.allocs;
    nnf_status st = nnf_net_load_mem(&net, buf, size, err, sizeof err);
    if (st != NNF_ERR_FORMAT)
        fail_msg("expected NNF_ERR_FORMAT (%s), got %s: \"%s\"", want ? want : "",
                 nnf_status_str(st), err);
    assert_null(net);
    assert_true(err[0] != '\0');
    if (want && !strstr(err, want))
        fail_msg("message \"%s\" does not contain \"%s\"", err, want);
    assert_int_equal(g_count.allocs, allocs);
}

/* ---- round trips */

static void test_memory_round_trip_is_bit_exact(void **state)
{
    (void)state;
    nnf_net *net = mixed_net();
    for (unsigned flags = 0; flags <= NNF_SAVE_OPTIMIZER_STATE; flags++) {
        size_t size;
        unsigned char *buf = save(net, flags, &size);
        nnf_net *copy = load(buf, size);
        assert_same_net(net, copy);
        nnf_net_destroy(copy);
        free(buf);
    }
    nnf_net_destroy(net);
}

static void test_file_round_trip_is_bit_exact(void **state)
{
    (void)state;
    char dir[256], path[300];
    fresh_dir(dir, sizeof dir, "roundtrip");
    (void)snprintf(path, sizeof path, "%s/mixed.nnf", dir);
    nnf_net *net = mixed_net(), *copy = NULL;
    assert_ok(net, nnf_net_save(net, path, NNF_SAVE_OPTIMIZER_STATE));
    char err[256];
    assert_int_equal(nnf_net_load(&copy, path, err, sizeof err), NNF_OK);
    assert_same_net(net, copy);

    size_t size;
    struct stat st;
    assert_ok(net, nnf_net_saved_size(net, NNF_SAVE_OPTIMIZER_STATE, &size));
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal((size_t)st.st_size, size);
    nnf_net_destroy(copy);
    nnf_net_destroy(net);
}

/* Also the seed, which only shows in the layers added later. */
static void test_a_net_without_layers_round_trips(void **state)
{
    (void)state;
    nnf_net *net = NULL;
    assert_int_equal(nnf_net_create(&net, 4), NNF_OK);
    assert_ok(net, nnf_net_init(net, NNF_INIT_DEFAULT, 99));
    size_t size;
    unsigned char *buf = save(net, NNF_SAVE_OPTIMIZER_STATE, &size);
    assert_int_equal(size, 112 + 32 + 4); /* the header and version 2's tail */
    nnf_net *copy = load(buf, size);
    assert_int_equal(nnf_net_depth(copy), 0);
    assert_same_net(net, copy);
    assert_ok(net, nnf_net_add_dense(net, 3, NNF_ACT_RELU, NULL));
    assert_ok(copy, nnf_net_add_dense(copy, 3, NNF_ACT_RELU, NULL));
    assert_same_net(net, copy);
    nnf_net_destroy(copy);
    nnf_net_destroy(net);
    free(buf);
}

/* The bytes up to the tail: 112 + 16 L + 4 P (1 + S) rounded up to 8. */
static size_t tail_at(size_t depth, size_t params, size_t state)
{
    return (112 + 16 * depth + 4 * params * (1 + state) + 7) / 8 * 8;
}

/* tail_at + 32 + 4 L + 4 bytes without scaling or metadata, S = 0, 1
 * (momentum) or 2 (Adam), and SGD has no state to save: the flag then
 * changes nothing (no trainer ran, and passes without dropout are not
 * counted). */
static void test_saved_size_is_the_bytes_written(void **state)
{
    (void)state;
    const size_t p = 13, t = 32 + 8 + 4;
    const size_t expect[3][2] = {{tail_at(2, p, 0) + t, tail_at(2, p, 0) + t},
                                 {tail_at(2, p, 0) + t, tail_at(2, p, 1) + t},
                                 {tail_at(2, p, 0) + t, tail_at(2, p, 2) + t}};
    for (int opt = NNF_OPT_SGD; opt <= NNF_OPT_ADAM; opt++) {
        nnf_net *net = make_small((nnf_optimizer)opt, 2);
        size_t size[2];
        unsigned char *buf[2];
        for (unsigned f = 0; f < 2; f++) {
            buf[f] = save(net, f, &size[f]);
            assert_int_equal(size[f], expect[opt][f]);
            assert_int_equal(get64(buf[f] + 16), size[f] - 28);
            assert_int_equal(get32(buf[f] + 12), opt != NNF_OPT_SGD ? f : 0);
        }
        if (opt == NNF_OPT_SGD)
            assert_memory_equal(buf[0], buf[1], size[0]);
        free(buf[0]);
        free(buf[1]);
        nnf_net_destroy(net);
    }
}

/* ---- the optimizer's state */

/* Train the original and a copy loaded from its bytes the same way: with
 * the state saved, both must end bit-identical. */
static void resume(nnf_optimizer opt)
{
    nnf_net *net = make_small(opt, 3);
    size_t size;
    unsigned char *buf = save(net, NNF_SAVE_OPTIMIZER_STATE, &size);
    nnf_net *copy = load(buf, size);
    train_steps(net, 4);
    train_steps(copy, 4);
    assert_true(same_params(net, copy));
    nnf_net_destroy(copy);
    nnf_net_destroy(net);
    free(buf);
}

/* A layer of 7 units on a wide input is held padded (an extra column of
 * zeros in the arenas, core/plan.c): saved and loaded, the file holds just
 * its parameters and Adam's state, and training resumes exactly. */
static void test_a_padded_layer_round_trips_and_resumes_exactly(void **state)
{
    (void)state;
    nnf_net *net = NULL;
    assert_int_equal(nnf_net_create(&net, 2048), NNF_OK);
    assert_ok(net, nnf_net_add_dense(net, 7, NNF_ACT_RELU, NULL));
    assert_ok(net, nnf_net_add_dense(net, 1, NNF_ACT_SIGMOID, NULL));
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_OPTIMIZER, NNF_OPT_ADAM));
    train_steps(net, 2);
    size_t size;
    unsigned char *buf = save(net, NNF_SAVE_OPTIMIZER_STATE, &size);
    /* header, 2 records, 3 copies of (2049 * 7 + 8 * 1) floats, the tail, CRC */
    assert_int_equal(size, tail_at(2, 2049 * 7 + 8, 2) + 32 + 8 + 4);
    nnf_net *copy = load(buf, size);
    train_steps(net, 3);
    train_steps(copy, 3);
    assert_true(same_params(net, copy));
    nnf_net_destroy(copy);
    nnf_net_destroy(net);
    free(buf);
}

static void test_momentum_training_resumes_exactly(void **state)
{
    (void)state;
    resume(NNF_OPT_MOMENTUM);
}

static void test_adam_training_resumes_exactly(void **state)
{
    (void)state;
    resume(NNF_OPT_ADAM);
}

/* Without the flag the loaded net's optimizer starts afresh (zero moments,
 * t = 0), as after switching the optimizer away and back; the original's
 * own state would have given other parameters. */
static void test_without_the_state_the_optimizer_restarts(void **state)
{
    (void)state;
    nnf_net *net = make_small(NNF_OPT_ADAM, 3), *kept = NULL;
    size_t size;
    unsigned char *buf = save(net, 0, &size);
    nnf_net *copy = load(buf, size);
    assert_ok(net, nnf_net_clone(net, &kept));
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_OPTIMIZER, NNF_OPT_SGD));
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_OPTIMIZER, NNF_OPT_ADAM));
    train_steps(net, 2);
    train_steps(copy, 2);
    train_steps(kept, 2);
    assert_true(same_params(net, copy));
    float wa[6], wb[6];
    assert_ok(kept, nnf_layer_get_weights(nnf_net_layer(kept, 1), wa));
    assert_ok(copy, nnf_layer_get_weights(nnf_net_layer(copy, 1), wb));
    assert_memory_not_equal(wa, wb, sizeof wa);
    nnf_net_destroy(kept);
    nnf_net_destroy(copy);
    nnf_net_destroy(net);
    free(buf);
}

/* ---- malformed data */

/* The epoch count trainers made is training state: with
 * NNF_SAVE_OPTIMIZER_STATE it is saved for every optimizer, SGD too (whose
 * state has no arrays), so that a loaded net's next epoch is the one the
 * original would have run; without the flag a loaded net starts at 0. */
static void test_the_epoch_count_is_saved_with_the_state_for_every_optimizer(void **state)
{
    (void)state;
    static const float x[2 * 4] = {0, 0, 0, 1, 1, 0, 1, 1}, y[4] = {0, 1, 1, 0};
    const nnf_optimizer opts[] = {NNF_OPT_SGD, NNF_OPT_MOMENTUM, NNF_OPT_ADAM, NNF_OPT_ADAMW};
    for (size_t o = 0; o < sizeof opts / sizeof *opts; o++) {
        nnf_net *net = make_small(opts[o], 0);
        nnf_trainer *t = NULL;
        assert_int_equal(nnf_trainer_create(&t), NNF_OK);
        assert_int_equal(nnf_trainer_set(t, NNF_TRAIN_EPOCHS, 3), NNF_OK);
        assert_int_equal(nnf_trainer_set(t, NNF_TRAIN_BATCH_SIZE, 2), NNF_OK);
        assert_int_equal(nnf_trainer_run(t, net, x, y, 4), NNF_OK);
        assert_int_equal(nnf_net_epochs(net), 3);
        size_t size;
        unsigned char *buf = save(net, NNF_SAVE_OPTIMIZER_STATE, &size);
        nnf_net *back = load(buf, size);
        assert_int_equal(nnf_net_epochs(back), 3);
        nnf_net_destroy(back);
        free(buf);
        buf = save(net, 0, &size);
        back = load(buf, size);
        assert_int_equal(nnf_net_epochs(back), 0);
        nnf_net_destroy(back);
        free(buf);
        nnf_trainer_destroy(t);
        nnf_net_destroy(net);
    }
}

static void test_every_corrupted_byte_is_rejected(void **state)
{
    (void)state;
    nnf_net *net = make_small(NNF_OPT_ADAM, 2);
    size_t size;
    unsigned char *buf = save(net, NNF_SAVE_OPTIMIZER_STATE, &size);
    for (size_t i = 0; i < size; i++) {
        unsigned char keep = buf[i];
        buf[i] = (unsigned char)(keep ^ 0xFF);
        assert_rejected(buf, size, NULL);
        buf[i] = (unsigned char)(keep + 1);
        assert_rejected(buf, size, NULL);
        buf[i] = keep;
    }
    buf[150] ^= 1; /* a parameter: the CRC names both values */
    assert_rejected(buf, size, "CRC mismatch: stored 0x");
    free(buf);
    nnf_net_destroy(net);
}

static void test_every_truncation_is_rejected(void **state)
{
    (void)state;
    nnf_net *net = make_small(NNF_OPT_MOMENTUM, 2);
    size_t size;
    unsigned char *buf = save(net, NNF_SAVE_OPTIMIZER_STATE, &size);
    for (size_t n = 0; n < size; n++)
        assert_rejected(buf, n, NULL);
    char want[64];
    (void)snprintf(want, sizeof want, "truncated: %zu bytes, the header says %zu", size - 1, size);
    assert_rejected(buf, size - 1, want);
    assert_rejected(buf, 10, "truncated: 10 bytes, less than the 24-byte header");
    unsigned char *longer = calloc(size + 1, 1);
    assert_non_null(longer);
    memcpy(longer, buf, size);
    assert_rejected(longer, size + 1, "trailing data");
    free(longer);
    free(buf);
    nnf_net_destroy(net);
}

/* A field set to a bad value, with a valid CRC: the check of the field
 * itself must catch it. Offsets are those of the small net (2-3-1, Adam,
 * state saved): table at 112, parameters at 144, m at 196, v at 248, the
 * tail at 304. */
typedef struct crafted {
    size_t at;
    char type; /* '4' u32, '8' u64, 'f' f32, 'd' f64 */
    double value;
    const char *want;
} crafted;

static const crafted bad_fields[] = {
    {8, '4', 3, "byte 8: version 3 is newer than this library reads (2)"},
    {8, '4', 0, "byte 8: version 0 is not a format version"},
    {12, '4', 3, "byte 12: flags 0x3 have unknown bits"},
    {16, '8', 400, "truncated: 348 bytes, the header says 428"},
    {16, '8', 18446744073709551615.0, "is larger than any file"},
    {24, '8', 0, "byte 24: n_inputs 0 is out of range"},
    {24, '8', 2147483648.0, "byte 24: n_inputs 2147483648 is out of range"},
    {48, 'd', 0, "byte 48: learning rate 0 is out of range"},
    {48, 'd', NAN, "byte 48: learning rate"},
    {48, 'd', INFINITY, "byte 48: learning rate inf"},
    {48, 'd', 1e39, "byte 48: learning rate 1e+39"},
    {56, 'd', 1, "byte 56: momentum 1 is out of range (expected 0 <= value < 1)"},
    {64, 'd', -0.5, "byte 64: Adam beta1 -0.5"},
    {72, 'd', 1, "byte 72: Adam beta2 1"},
    {80, 'd', 0, "byte 80: Adam epsilon 0"},
    {88, 'd', -1, "byte 88: L2 penalty -1"},
    {96, '4', 70000, "byte 96: depth 70000 exceeds the limit of 65535"},
    {96, '4', 65535, "content length 320 is too short for the table of 65535 layers"},
    /* one layer: its arrays end sooner, and what follows is no tail */
    {96, '4', 1, NULL},
    {100, '4', 3, "byte 100: loss 3 is not an nnf_loss"},
    {104, '4', 4, "byte 104: optimizer 4 is not an nnf_optimizer (version 2 knows 0..3)"},
    {104, '4', 0, "byte 12: flags say the optimizer's state is stored, but SGD has none"},
    {104, '4', 1, "byte 264: flags 0x"}, /* momentum: one state array, Adam's v read as the tail */
    {108, '4', 1, "byte 108: padding"},
    {112, '8', 0, "layer 1 (byte 112): units 0 is out of range"},
    {112, '8', 4, "does not match the layers"},
    {112, '8', 2147483647, "does not match the layers"},
    {112, '8', 2147483648.0, "layer 1 (byte 112): units 2147483648 is out of range"},
    {128, '8', 2147483647, "does not match the layers"},
    {120, '4', 9, "layer 1 (byte 120): activation 9 is not an nnf_act"},
    {120, '4', 5, "layer 1 (byte 120): softmax is for the output layer only, and layer 2 follows"},
    {124, 'f', 0, "layer 1 (byte 124): slope 0 is out of range"},
    {140, 'f', 1, "layer 2 (byte 140): slope 1 is out of range"},
    {124, 'f', NAN, "layer 1 (byte 124): slope"},
    {156, 'f', NAN, "layer 1: weight w[1][1] (byte 156) is NaN"},
    {172, 'f', INFINITY, "layer 1: bias b[1] (byte 172) is +inf"},
    {192, 'f', -INFINITY, "layer 2: bias b[0] (byte 192) is -inf"},
    {204, 'f', NAN, "optimizer state (byte 204): m[2] is NaN"},
    {252, 'f', -1, "optimizer state (byte 252): v[1] is negative"},
    /* version 2's tail, at 304 after 4 bytes of padding */
    {300, '4', 7, "byte 300: padding is 0x7"},
    {312, 'd', -1, "byte 312: weight decay -1 is out of range"},
    {320, '4', 2, "byte 320: flags 0x2 have unknown bits"},
    {324, '4', 65, "byte 324: 65 metadata entries (expected at most 64)"},
    {324, '4', 1, "metadata entry 1 (byte 344) does not fit in the content"},
    {336, 'f', 1, "layer 1 (byte 336): dropout 1 is out of range"},
    {340, 'f', 0.5, "layer 2 (byte 340): dropout 0.5 is out of range"},
    {320, '4', 1, "the input scaling does not fit in the content"},
};

static void set_field(unsigned char *buf, const crafted *c)
{
    uint64_t bits = 0;
    if (c->type == '4' || c->type == '8') {
        bits = c->value >= 18446744073709551615.0 ? UINT64_MAX : (uint64_t)c->value;
    } else if (c->type == 'f') {
        float f = (float)c->value;
        uint32_t u;
        memcpy(&u, &f, sizeof u);
        bits = u;
    } else {
        memcpy(&bits, &c->value, sizeof bits);
    }
    put_le(buf + c->at, bits, c->type == '4' || c->type == 'f' ? 4 : 8);
}

static void test_each_bad_field_is_named(void **state)
{
    (void)state;
    nnf_net *net = make_small(NNF_OPT_ADAM, 2);
    size_t size;
    unsigned char *good = save(net, NNF_SAVE_OPTIMIZER_STATE, &size), *buf = malloc(size);
    assert_int_equal(size, 348);
    assert_non_null(buf);
    for (size_t k = 0; k < sizeof bad_fields / sizeof bad_fields[0]; k++) {
        memcpy(buf, good, size);
        set_field(buf, &bad_fields[k]);
        fix_crc(buf, size);
        assert_rejected(buf, size, bad_fields[k].want);
    }
    memcpy(buf, good, size);
    buf[4] = '\n'; /* CR LF -> LF */
    assert_rejected(buf, size, "text mode");
    buf[0] = 'P';
    assert_rejected(buf, size, "wrong magic number: not an nnfast model");
    free(buf);
    free(good);

    /* without the state: a step count or an epoch count is impossible */
    good = save(net, 0, &size);
    put_le(good + 40, 5, 8);
    fix_crc(good, size);
    assert_rejected(good, size, "byte 40: step count 5 without a stored optimizer state");
    put_le(good + 40, 0, 8);
    put_le(good + 200, 5, 8); /* the tail after 112 + 32 + 4 * 13 bytes, at 200 */
    fix_crc(good, size);
    assert_rejected(good, size, "byte 200: 5 epochs without a stored optimizer state");
    put_le(good + 200, 0, 8);
    put_le(good + 224, 5, 8); /* the count of training passes, at 24 in the tail */
    fix_crc(good, size);
    assert_rejected(good, size, "byte 224: 5 training passes without a stored optimizer state");
    free(good);
    nnf_net_destroy(net);

    /* a consistent file whose content is shorter than the fixed fields */
    unsigned char tiny[28 + 40] = {0x89, 'N', 'N', 'F', '\r', '\n', 0x1a, '\n', 1};
    put_le(tiny + 16, 40, 8);
    fix_crc(tiny, sizeof tiny);
    assert_rejected(tiny, sizeof tiny, "byte 16: content length 40 is less than the 88 bytes");
}

/* ---- files */

static void test_saving_over_a_file_replaces_it_atomically(void **state)
{
    (void)state;
    char dir[256], path[300], only[256];
    fresh_dir(dir, sizeof dir, "atomic");
    (void)snprintf(path, sizeof path, "%s/model.nnf", dir);
    nnf_net *a = make_small(NNF_OPT_SGD, 1), *b = make_small(NNF_OPT_ADAM, 4), *got = NULL;

    mode_t mask = umask(022);
    (void)umask(mask);
    struct stat st;
    assert_ok(a, nnf_net_save(a, path, 0));
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0666 & ~mask); /* as fopen would create it */
    assert_int_equal(chmod(path, 0640), 0);

    assert_ok(b, nnf_net_save(b, path, NNF_SAVE_OPTIMIZER_STATE));
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640); /* kept */
    assert_int_equal(nnf_net_load(&got, path, NULL, 0), NNF_OK);
    assert_same_net(b, got);
    assert_int_equal(count_entries(dir, only, sizeof only), 1);
    assert_string_equal(only, "model.nnf");

    /* a failing rename (the target is a directory) removes the temporary file */
    char sub[320];
    (void)snprintf(sub, sizeof sub, "%s/adir", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    assert_int_equal(nnf_net_save(a, sub, 0), NNF_ERR_IO);
    assert_non_null(strstr(nnf_net_errmsg(a), "rename"));
    assert_int_equal(count_entries(dir, only, sizeof only), 2);
    nnf_net_destroy(got);
    nnf_net_destroy(a);
    nnf_net_destroy(b);
}

/* A write that fails half-way (the file size limit, as a full disk would)
 * leaves the old file whole and no temporary file behind. */
static void test_a_failed_write_keeps_the_old_file(void **state)
{
    (void)state;
    char dir[256], path[300], only[256];
    fresh_dir(dir, sizeof dir, "fullDisk");
    (void)snprintf(path, sizeof path, "%s/model.nnf", dir);
    nnf_net *a = make_small(NNF_OPT_SGD, 1), *b = mixed_net(), *got = NULL;
    assert_ok(a, nnf_net_save(a, path, 0));

    struct rlimit old, small;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    small = old;
    small.rlim_cur = 100;
    void (*handler)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    nnf_status st = nnf_net_save(b, path, 0);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    (void)signal(SIGXFSZ, handler);

    assert_int_equal(st, NNF_ERR_IO);
    assert_non_null(strstr(nnf_net_errmsg(b), "cannot write"));
    assert_non_null(strstr(nnf_net_errmsg(b), strerror(EFBIG)));
    assert_int_equal(nnf_net_load(&got, path, NULL, 0), NNF_OK);
    assert_same_net(a, got);
    assert_int_equal(count_entries(dir, only, sizeof only), 1);
    nnf_net_destroy(got);
    nnf_net_destroy(a);
    nnf_net_destroy(b);
}

static void test_saving_into_a_missing_directory_is_an_io_error(void **state)
{
    (void)state;
    char dir[256], path[320], only[256];
    fresh_dir(dir, sizeof dir, "missing");
    (void)snprintf(path, sizeof path, "%s/not-there/model.nnf", dir);
    nnf_net *net = make_small(NNF_OPT_ADAM, 2), *before = NULL;
    assert_ok(net, nnf_net_clone(net, &before));
    assert_int_equal(nnf_net_save(net, path, NNF_SAVE_OPTIMIZER_STATE), NNF_ERR_IO);
    assert_non_null(strstr(nnf_net_errmsg(net), path));
    assert_non_null(strstr(nnf_net_errmsg(net), strerror(ENOENT)));
    assert_same_net(before, net);
    assert_int_equal(count_entries(dir, only, sizeof only), 0);
    nnf_net_destroy(before);
    nnf_net_destroy(net);
}

static void test_loading_a_bad_file_says_why(void **state)
{
    (void)state;
    char dir[256], path[300], err[512];
    fresh_dir(dir, sizeof dir, "badfiles");
    nnf_net *net = (nnf_net *)(uintptr_t)1;

    (void)snprintf(path, sizeof path, "%s/absent.nnf", dir);
    assert_int_equal(nnf_net_load(&net, path, err, sizeof err), NNF_ERR_IO);
    assert_null(net);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, strerror(ENOENT)));

    assert_int_equal(nnf_net_load(&net, dir, err, sizeof err), NNF_ERR_IO);
    assert_non_null(strstr(err, "is a directory"));

    (void)snprintf(path, sizeof path, "%s/empty.nnf", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(nnf_net_load(&net, path, err, sizeof err), NNF_ERR_FORMAT);
    assert_non_null(strstr(err, "empty.nnf: truncated: 0 bytes"));
    assert_null(net);
}

/* ---- hostile files and paths: no hang, no blow-up, the real reason */

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Faults injected into the library's file calls: this program's fsync and
 * fchmod come first in the dynamic symbol lookup, so libnnfast calls them. */
static int g_fail_dir_fsync, g_fail_fchmod;

__attribute__((visibility("default"))) int fsync(int fd)
{
    static int (*real)(int);
    struct stat st;
    if (g_fail_dir_fsync && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        errno = EIO;
        return -1;
    }
    if (!real)
        *(void **)&real = dlsym(RTLD_NEXT, "fsync");
    return real(fd);
}

__attribute__((visibility("default"))) int fchmod(int fd, mode_t mode)
{
    static int (*real)(int, mode_t);
    if (g_fail_fchmod) {
        errno = EPERM;
        return -1;
    }
    if (!real)
        *(void **)&real = dlsym(RTLD_NEXT, "fchmod");
    return real(fd, mode);
}

/* A failed flush of the directory after the rename is reported (the new
 * file is in place, but might not survive a crash); a failure to give the
 * temporary file the old file's permission bits fails before the old file
 * is touched. Both used to return NNF_OK. */
static void test_failures_after_the_data_is_written_are_reported(void **state)
{
    (void)state;
    char dir[256], path[300], only[300];
    fresh_dir(dir, sizeof dir, "faults");
    (void)snprintf(path, sizeof path, "%s/model.nnf", dir);
    nnf_net *a = make_small(NNF_OPT_SGD, 1), *b = make_small(NNF_OPT_SGD, 3), *back = NULL;
    assert_ok(a, nnf_net_save(a, path, 0));

    g_fail_fchmod = 1;
    assert_int_equal(nnf_net_save(b, path, 0), NNF_ERR_IO);
    g_fail_fchmod = 0;
    assert_non_null(strstr(nnf_net_errmsg(b), "permission bits"));
    assert_non_null(strstr(nnf_net_errmsg(b), strerror(EPERM)));
    assert_ok(back, nnf_net_load(&back, path, NULL, 0));
    assert_same_net(a, back); /* the old file, whole */
    nnf_net_destroy(back);
    assert_int_equal(count_entries(dir, only, sizeof only), 1);

    g_fail_dir_fsync = 1;
    assert_int_equal(nnf_net_save(b, path, 0), NNF_ERR_IO);
    g_fail_dir_fsync = 0;
    assert_non_null(strstr(nnf_net_errmsg(b), "cannot flush its directory"));
    assert_ok(back, nnf_net_load(&back, path, NULL, 0));
    assert_same_net(b, back); /* renamed into place before the flush failed */
    assert_int_equal(count_entries(dir, only, sizeof only), 1);
    nnf_net_destroy(back);
    nnf_net_destroy(a);
    nnf_net_destroy(b);
}

/* A net of first units, then depth - 1 layers of one unit each, saved to
 * memory; *bytes_added receives what adding its layers allocated. */
static unsigned char *deep_image(size_t first, size_t depth, size_t *size, size_t *bytes_added)
{
    nnf_net *net = NULL;
    assert_int_equal(nnf_net_create(&net, 1), NNF_OK);
    size_t before = g_count.bytes;
    assert_ok(net, nnf_net_add_dense(net, first, NNF_ACT_TANH, NULL));
    for (size_t l = 2; l <= depth; l++)
        assert_ok(net,
                  nnf_net_add_dense(net, 1, l == depth ? NNF_ACT_SIGMOID : NNF_ACT_TANH, NULL));
    *bytes_added = g_count.bytes - before;
    assert_ok(net, nnf_net_saved_size(net, 0, size));
    unsigned char *image = malloc(*size);
    assert_non_null(image);
    assert_ok(net, nnf_net_save_mem(net, image, *size, 0, NULL));
    nnf_net_destroy(net);
    return image;
}

/* Building and loading a deep net cost memory (and so time) linear in its
 * size: the arenas grow geometrically and the loader sizes them once. (A
 * quadratic build copies the arenas at every layer: terabytes here.) */
static void test_deep_models_build_and_load_in_linear_time(void **state)
{
    (void)state;
    static const size_t shapes[][2] = {{1, NNF_MAX_DEPTH}, {250000, NNF_MAX_DEPTH}};
    for (size_t k = 0; k < 2; k++) {
        size_t size, added;
        double t0 = now_s();
        unsigned char *image = deep_image(shapes[k][0], shapes[k][1], &size, &added);
        double t1 = now_s();
        size_t before = g_count.bytes;
        nnf_net *net = NULL;
        char err[256];
        if (nnf_net_load_mem(&net, image, size, err, sizeof err) != NNF_OK)
            fail_msg("%s", err);
        double t2 = now_s();
        size_t loaded = g_count.bytes - before;
        print_message("%zu then %zu layers of 1 unit, %zu bytes: built in %.3f s (%zu bytes "
                      "allocated), loaded in %.3f s (%zu bytes)\n",
                      shapes[k][0], shapes[k][1] - 1, size, t1 - t0, added, t2 - t1, loaded);
        assert_int_equal(nnf_net_depth(net), shapes[k][1]);
        /* per layer a small record; the parameters once (5 times while building) */
        assert_true(loaded <= 2 * size + 160 * shapes[k][1]);
        assert_true(added <= 6 * size + 160 * shapes[k][1]);
        nnf_net_destroy(net);
        free(image);
    }
}

static void test_a_fifo_is_refused_without_blocking(void **state)
{
    (void)state;
    char dir[256], path[300], err[512];
    fresh_dir(dir, sizeof dir, "fifo");
    (void)snprintf(path, sizeof path, "%s/model.nnf", dir);
    assert_int_equal(mkfifo(path, 0600), 0);
    nnf_net *net = NULL;
    /* before the fix, this open() waited for a writer forever */
    assert_int_equal(nnf_net_load(&net, path, err, sizeof err), NNF_ERR_IO);
    assert_null(net);
    assert_non_null(strstr(err, "is a FIFO"));
    assert_true(strncmp(err, "nnf_net_load: ", 14) == 0);
}

/* A valid small model followed by a hole of 4 GiB: judged by its first
 * bytes, so refused as malformed without reading or allocating the hole. */
static void test_a_small_model_in_a_huge_sparse_file_is_refused_without_reading_it(void **state)
{
    (void)state;
    char dir[256], path[300], err[512];
    fresh_dir(dir, sizeof dir, "sparse");
    (void)snprintf(path, sizeof path, "%s/model.nnf", dir);
    nnf_net *small = make_small(NNF_OPT_SGD, 0);
    assert_ok(small, nnf_net_save(small, path, 0));
    nnf_net_destroy(small);
    if (truncate(path, ((off_t)4 << 30) + 144) != 0) {
        print_message("skipped: the file system refuses a 4 GiB sparse file (%s)\n",
                      strerror(errno));
        return;
    }
    size_t peak0 = g_count.peak_bytes = g_count.live_bytes;
    nnf_net *net = NULL;
    double t0 = now_s();
    assert_int_equal(nnf_net_load(&net, path, err, sizeof err), NNF_ERR_FORMAT);
    double t1 = now_s();
    assert_null(net);
    assert_non_null(strstr(err, "trailing data"));
    print_message("4 GiB sparse file: %.4f s, %zu bytes at most\n", t1 - t0,
                  g_count.peak_bytes - peak0);
    assert_true(g_count.peak_bytes - peak0 < (size_t)10 << 20);
    assert_int_equal(unlink(path), 0);
}

static void test_a_proc_file_is_refused_with_the_reason(void **state)
{
    (void)state;
    char err[512];
    nnf_net *net = NULL;
    if (access("/proc/self/status", R_OK) != 0) {
        print_message("skipped: no /proc\n");
        return;
    }
    assert_int_equal(nnf_net_load(&net, "/proc/self/status", err, sizeof err), NNF_ERR_IO);
    assert_non_null(strstr(err, "/proc"));
    assert_null(strstr(err, "truncated"));
}

/* A file name of 255 bytes, the most a directory entry holds: the temporary
 * name is cut to fit, and nothing but the model is left behind. */
static void test_a_model_of_the_longest_file_name_saves_and_loads(void **state)
{
    (void)state;
    char dir[256], path[600], only[300];
    fresh_dir(dir, sizeof dir, "longname");
    int n = snprintf(path, sizeof path, "%s/", dir);
    memset(path + n, 'm', 255);
    path[n + 255] = '\0';
    nnf_net *net = make_small(NNF_OPT_ADAM, 2), *back = NULL;
    assert_ok(net, nnf_net_save(net, path, NNF_SAVE_OPTIMIZER_STATE));
    assert_ok(net, nnf_net_save(net, path, NNF_SAVE_OPTIMIZER_STATE)); /* over the first */
    char err[512];
    if (nnf_net_load(&back, path, err, sizeof err) != NNF_OK)
        fail_msg("%s", err);
    assert_same_net(net, back);
    assert_int_equal(count_entries(dir, only, sizeof only), 1);
    assert_int_equal(strlen(only), 255);
    nnf_net_destroy(net);
    nnf_net_destroy(back);
}

/* However long the path, the message keeps the system's reason. */
static void test_a_long_path_keeps_the_reason_in_the_message(void **state)
{
    (void)state;
    char path[2100], err[512];
    size_t n = 0;
    for (int i = 0; i < 20; i++) {
        path[n++] = '/';
        memset(path + n, 'd', 99);
        n += 99;
    }
    memcpy(path + n, "/model.nnf", sizeof "/model.nnf");
    nnf_net *net = NULL, *small = make_small(NNF_OPT_SGD, 0);
    assert_int_equal(nnf_net_load(&net, path, err, sizeof err), NNF_ERR_IO);
    assert_non_null(strstr(err, strerror(ENOENT)));
    assert_non_null(strstr(err, "model.nnf")); /* the end of the path is kept */
    assert_int_equal(nnf_net_save(small, path, 0), NNF_ERR_IO);
    assert_non_null(strstr(nnf_net_errmsg(small), strerror(ENOENT)));
    nnf_net_destroy(small);
}

/* Temporary files that killed saves of the same target left behind are
 * removed by the next save; one that a live save holds (locked), a young
 * one, and other files stay. */
static void test_a_save_removes_the_temporary_files_of_crashed_saves(void **state)
{
    (void)state;
    static const char *const stale[] = {".model.nnf.nnf-aaaaaa", ".model.nnf.nnf-bbbbbb"};
    static const char *const kept[] = {".model.nnf.nnf-locked", ".model.nnf.nnf-youngx",
                                       ".other.nnf.nnf-cccccc", "model.nnf.nnf-dddddd"};
    char dir[256], path[600], only[300];
    fresh_dir(dir, sizeof dir, "stale");
    struct timespec old[2] = {{time(NULL) - 3600, 0}, {time(NULL) - 3600, 0}};
    int locked = -1;
    for (int i = 0; i < 6; i++) {
        const char *name = i < 2 ? stale[i] : kept[i - 2];
        (void)snprintf(path, sizeof path, "%s/%s", dir, name);
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "partial", 7), 7);
        if (i != 3) /* all old but the young one */
            assert_int_equal(futimens(fd, old), 0);
        if (i == 2) {
            assert_int_equal(flock(fd, LOCK_EX), 0); /* a save still writing it */
            locked = fd;
        } else {
            assert_int_equal(close(fd), 0);
        }
    }
    nnf_net *net = make_small(NNF_OPT_SGD, 1);
    (void)snprintf(path, sizeof path, "%s/model.nnf", dir);
    assert_ok(net, nnf_net_save(net, path, 0));
    for (int i = 0; i < 6; i++) {
        const char *name = i < 2 ? stale[i] : kept[i - 2];
        (void)snprintf(path, sizeof path, "%s/%s", dir, name);
        if ((access(path, F_OK) == 0) != (i >= 2))
            fail_msg("%s: %s", name, i < 2 ? "left behind" : "removed");
    }
    assert_int_equal(count_entries(dir, only, sizeof only), 5);
    assert_int_equal(close(locked), 0);
    nnf_net_destroy(net);
}

/* An empty path or one that names a directory is refused before any file
 * is made (it used to leave a temporary file in the working directory). */
static void test_saving_to_an_empty_or_directory_path_makes_no_file(void **state)
{
    (void)state;
    char dir[256], path[300], only[300];
    fresh_dir(dir, sizeof dir, "empty");
    nnf_net *net = make_small(NNF_OPT_SGD, 0);
    (void)snprintf(path, sizeof path, "%s/", dir);
    assert_int_equal(nnf_net_save(net, path, 0), NNF_ERR_ARG);
    assert_non_null(strstr(nnf_net_errmsg(net), "ends in '/'"));
    char cwd[4096];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(dir), 0);
    assert_int_equal(nnf_net_save(net, "", 0), NNF_ERR_ARG);
    assert_non_null(strstr(nnf_net_errmsg(net), "path is empty"));
    assert_int_equal(chdir(cwd), 0);
    assert_int_equal(count_entries(dir, only, sizeof only), 0);
    nnf_net_destroy(net);
}

/* ---- the committed version-1 file */

/* tests/data/model-v1.nnf was written once by a throwaway program with the
 * library of format version 1: this net (3 -> 5 tanh -> 4 leaky 0.2 -> 2
 * sigmoid, BCE, Adam with the settings below, seed 12345), trained 3 steps,
 * then given these parameters, and saved with its optimizer state. */
static const size_t v1_units[3] = {5, 4, 2};
static const nnf_act v1_acts[3] = {NNF_ACT_TANH, NNF_ACT_LEAKY_RELU, NNF_ACT_SIGMOID};
static const double v1_params[7] = {0.05, NNF_OPT_ADAM, 0.8, 0.85, 0.995, 1e-7, 0.001};

static nnf_net *make_v1(void)
{
    nnf_net *net = NULL;
    assert_int_equal(nnf_net_create(&net, 3), NNF_OK);
    size_t n_in = 3;
    for (size_t l = 1; l <= 3; l++) {
        size_t n = v1_units[l - 1];
        float w[5 * 5], b[5];
        assert_ok(net, nnf_net_add_dense(net, n, v1_acts[l - 1], NULL));
        for (size_t j = 0; j < n; j++) {
            for (size_t i = 0; i < n_in; i++)
                w[j * n_in + i] = (float)((int)((l * 7 + j * 5 + i * 3) % 17) - 8) / 16.0f;
            b[j] = (float)((int)((l + j) % 5) - 2) / 32.0f;
        }
        assert_ok(net, nnf_layer_set_weights(nnf_net_layer(net, l), w));
        assert_ok(net, nnf_layer_set_bias(nnf_net_layer(net, l), b));
        n_in = n;
    }
    assert_ok(net, nnf_layer_set_slope(nnf_net_layer(net, 2), 0.2f));
    for (int k = 0; k < 7; k++)
        assert_ok(net, nnf_net_set_param(net, (nnf_param)k, v1_params[k]));
    return net;
}

static unsigned char *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    unsigned char *buf = malloc(4096);
    assert_non_null(buf);
    *size = fread(buf, 1, 4096, f);
    assert_int_equal(fclose(f), 0);
    return buf;
}

static void test_the_committed_v1_file_still_loads(void **state)
{
    (void)state;
    const char *path = NNF_TEST_DATA "/model-v1.nnf";
    nnf_net *got = NULL, *want = make_v1();
    char err[256];
    if (nnf_net_load(&got, path, err, sizeof err) != NNF_OK)
        fail_msg("%s", err);
    assert_same_net(want, got);

    /* the bytes, field by field as docs/format.md describes them */
    size_t size, p = 3 * 5 + 5 + 5 * 4 + 4 + 4 * 2 + 2;
    unsigned char *buf = read_file(path, &size);
    assert_int_equal(size, 112 + 16 * 3 + 4 * p * 3 + 4);
    assert_memory_equal(buf, "\x89NNF\r\n\x1a\n", 8);
    assert_int_equal(get32(buf + 8), 1);
    assert_int_equal(get32(buf + 12), 1);
    assert_int_equal(get64(buf + 16), size - 28);
    assert_int_equal(get64(buf + 24), 3);
    assert_int_equal(get64(buf + 32), 12345);
    assert_int_equal(get64(buf + 40), 3);
    for (int k = 0; k < 6; k++) {
        double d = v1_params[k == 0 ? 0 : k + 1];
        uint64_t bits;
        memcpy(&bits, &d, sizeof bits);
        assert_int_equal(get64(buf + 48 + 8 * k), bits);
    }
    assert_int_equal(get32(buf + 96), 3);
    assert_int_equal(get32(buf + 100), NNF_LOSS_BCE);
    assert_int_equal(get32(buf + 104), NNF_OPT_ADAM);
    assert_int_equal(get32(buf + 108), 0);
    for (size_t l = 0; l < 3; l++) {
        float slope = l == 1 ? 0.2f : 0.01f;
        uint32_t bits;
        memcpy(&bits, &slope, sizeof bits);
        assert_int_equal(get64(buf + 112 + 16 * l), v1_units[l]);
        assert_int_equal(get32(buf + 120 + 16 * l), v1_acts[l]);
        assert_int_equal(get32(buf + 124 + 16 * l), bits);
    }
    const float w0 = -1.0f / 16.0f; /* layer 1's w[0][0], first of the parameters */
    uint32_t w0bits;
    memcpy(&w0bits, &w0, sizeof w0bits);
    assert_int_equal(get32(buf + 160), w0bits);
    int nonzero = 0;
    for (size_t i = 160 + 4 * p; i < size - 4; i++)
        nonzero |= buf[i];
    assert_true(nonzero); /* the Adam moments of the 3 steps */
    assert_int_equal(get32(buf + size - 4), crc32_of(buf, size - 4));

    /* saving the loaded net again writes version 2 with the same fields,
     * state and t up to the tail (the new fields at their defaults) */
    size_t again_size, end = size - 4;
    unsigned char *again = save(got, NNF_SAVE_OPTIMIZER_STATE, &again_size);
    assert_int_equal(get32(again + 8), 2);
    assert_memory_equal(again + 24, buf + 24, end - 24);
    assert_int_equal(again_size, (end + 7) / 8 * 8 + 32 + 4 * 3 + 4);
    free(again);
    /* version 1 knew optimizers 0..2: 3 (AdamW) and the largest u32 (which
     * once passed as -1) are refused */
    put_le(buf + 104, 3, 4);
    fix_crc(buf, size);
    assert_rejected(buf, size,
                    "byte 104: optimizer 3 is not an nnf_optimizer (version 1 knows 0..2)");
    put_le(buf + 104, 0xffffffffu, 4);
    fix_crc(buf, size);
    assert_rejected(
        buf, size, "byte 104: optimizer 4294967295 is not an nnf_optimizer (version 1 knows 0..2)");
    free(buf);
    nnf_net_destroy(got);
    nnf_net_destroy(want);
}

/* ---- the new state of 1.3 */

/* mixed_net() with everything 1.3 added: dropout rates, input scaling,
 * metadata, weight decay, AdamW, and epochs from a trainer. */
static nnf_net *make_new_state(float *x, float *y, size_t m)
{
    nnf_net *net = mixed_net();
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_OPTIMIZER, NNF_OPT_ADAMW));
    assert_ok(net, nnf_net_set_param(net, NNF_PARAM_WEIGHT_DECAY, 0.03));
    assert_ok(net, nnf_layer_set_dropout(nnf_net_layer(net, 1), 0.125f));
    assert_ok(net, nnf_layer_set_dropout(nnf_net_layer(net, 2), 0.75f));
    make_data(x, y, m, 4, 3, 1);
    assert_ok(net, nnf_net_fit_input_scaling(net, x, m));
    assert_ok(net, nnf_net_set_meta(net, "data", "make_data(m, 4, 3)"));
    assert_ok(net, nnf_net_set_meta(net, "empty", ""));
    assert_ok(net, nnf_net_set_meta(net, "\xc3\xa9t\xc3\xa9", "\xe2\x82\xac 5"));
    nnf_trainer *t = NULL;
    assert_int_equal(nnf_trainer_create(&t), NNF_OK);
    assert_int_equal(nnf_trainer_set(t, NNF_TRAIN_BATCH_SIZE, 8), NNF_OK);
    assert_int_equal(nnf_trainer_set(t, NNF_TRAIN_EPOCHS, 3), NNF_OK);
    assert_ok(net, nnf_trainer_run(t, net, x, y, m));
    nnf_trainer_destroy(t);
    return net;
}

/* b holds a's 1.3 state (dropout rates, scaling, metadata, decay) and
 * epochs epochs. */
static void assert_same_new_state(nnf_net *a, nnf_net *b, uint64_t epochs)
{
    for (size_t l = 1; l <= nnf_net_depth(a); l++) {
        float ra = -1.0f, rb = -2.0f;
        assert_ok(a, nnf_layer_get_dropout(nnf_net_layer(a, l), &ra));
        assert_ok(b, nnf_layer_get_dropout(nnf_net_layer(b, l), &rb));
        assert_memory_equal(&ra, &rb, sizeof ra);
    }
    size_t n = nnf_net_inputs(a);
    float ma[8], sa[8], mb[8], sb[8];
    assert_true(n <= 8);
    nnf_status st = nnf_net_get_input_scaling(a, ma, sa);
    assert_int_equal(nnf_net_get_input_scaling(b, mb, sb), st);
    if (st == NNF_OK) {
        assert_memory_equal(ma, mb, n * sizeof(float));
        assert_memory_equal(sa, sb, n * sizeof(float));
    }
    assert_int_equal(nnf_net_meta_count(a), nnf_net_meta_count(b));
    for (size_t i = 0; i < nnf_net_meta_count(a); i++) {
        char ka[80], kb[80], va[200], vb[200];
        assert_ok(a, nnf_net_meta_key(a, i, ka, sizeof ka));
        assert_ok(b, nnf_net_meta_key(b, i, kb, sizeof kb));
        assert_string_equal(ka, kb);
        assert_ok(a, nnf_net_get_meta(a, ka, va, sizeof va));
        assert_ok(b, nnf_net_get_meta(b, kb, vb, sizeof vb));
        assert_string_equal(va, vb);
    }
    double da = NAN, db = NAN;
    assert_ok(a, nnf_net_get_param(a, NNF_PARAM_WEIGHT_DECAY, &da));
    assert_ok(b, nnf_net_get_param(b, NNF_PARAM_WEIGHT_DECAY, &db));
    assert_true(da == db);
    assert_int_equal(nnf_net_epochs(b), epochs);
}

static void test_the_new_state_round_trips(void **state)
{
    (void)state;
    float x[40 * 4], y[40 * 3];
    nnf_net *net = make_new_state(x, y, 40);
    assert_int_equal(nnf_net_epochs(net), 3);
    char dir[256], path[300];
    fresh_dir(dir, sizeof dir, "newstate");
    (void)snprintf(path, sizeof path, "%s/new.nnf", dir);
    for (unsigned flags = 0; flags <= NNF_SAVE_OPTIMIZER_STATE; flags++) {
        size_t size;
        unsigned char *buf = save(net, flags, &size);
        nnf_net *copy = load(buf, size);
        assert_same_net(net, copy);
        assert_same_new_state(net, copy, flags ? 3 : 0); /* epochs go with the state */
        /* and saved again, the same bytes */
        size_t again_size;
        unsigned char *again = save(copy, flags, &again_size);
        assert_int_equal(again_size, size);
        assert_memory_equal(again, buf, size);
        free(again);
        free(buf);
        nnf_net_destroy(copy);
        /* through a file */
        assert_ok(net, nnf_net_save(net, path, flags));
        char err[256];
        assert_int_equal(nnf_net_load(&copy, path, err, sizeof err), NNF_OK);
        assert_same_new_state(net, copy, flags ? 3 : 0); /* epochs go with the state */
        nnf_net_destroy(copy);
    }
    nnf_net_destroy(net);
}

static void test_adamw_training_with_the_new_state_resumes_exactly(void **state)
{
    (void)state;
    float x[40 * 4], y[40 * 3];
    nnf_net *net = make_new_state(x, y, 40);
    size_t size;
    unsigned char *buf = save(net, NNF_SAVE_OPTIMIZER_STATE, &size);
    nnf_net *copy = load(buf, size);
    free(buf);
    nnf_trainer *t = NULL;
    assert_int_equal(nnf_trainer_create(&t), NNF_OK);
    assert_int_equal(nnf_trainer_set(t, NNF_TRAIN_BATCH_SIZE, 8), NNF_OK);
    assert_int_equal(nnf_trainer_set(t, NNF_TRAIN_EPOCHS, 4), NNF_OK);
    assert_int_equal(nnf_trainer_set(t, NNF_TRAIN_SCHEDULE, NNF_SCHEDULE_STEP), NNF_OK);
    assert_int_equal(nnf_trainer_set(t, NNF_TRAIN_DECAY_EPOCHS, 2), NNF_OK);
    assert_ok(net, nnf_trainer_run(t, net, x, y, 40));
    assert_ok(copy, nnf_trainer_run(t, copy, x, y, 40));
    assert_true(same_params(net, copy));
    assert_twins(net, copy, SNAP_STATE);
    /* and the steps outside a trainer: their dropout masks count the net's
     * training passes, which the state holds too */
    train_steps(net, 2);
    train_steps(copy, 2);
    assert_twins(net, copy, SNAP_STATE);
    buf = save(net, NNF_SAVE_OPTIMIZER_STATE, &size);
    nnf_net *again = load(buf, size);
    free(buf);
    train_steps(net, 2);
    train_steps(again, 2);
    assert_twins(net, again, SNAP_STATE);
    nnf_net_destroy(again);
    nnf_trainer_destroy(t);
    nnf_net_destroy(copy);
    nnf_net_destroy(net);
}

/* ---- the committed version-2 file */

/* tests/data/model-v2.nnf was written once by a throwaway program with the
 * library of format version 2: this net (3 -> 5 tanh, dropout 0.25 -> 4
 * leaky 0.2, dropout 0.5 -> 2 sigmoid, BCE, AdamW with the settings below,
 * seed 12345, the input scaling and metadata below) given these
 * parameters, trained 2 epochs by a trainer (batches of 4 of 8 samples),
 * given these parameters again, and saved with its optimizer state. */
static const double v2_params[8] = {0.05, NNF_OPT_ADAMW, 0.8, 0.85, 0.995, 1e-7, 0.001, 0.02};
static const float v2_dropout[3] = {0.25f, 0.5f, 0.0f};
static const float v2_mean[3] = {1.5f, -2.0f, 0.25f}, v2_std[3] = {2.0f, 0.5f, 4.0f};
static const char *const v2_meta[2][2] = {{"name", "model-v2 test"},
                                          {"unit\xc3\xa9", "\xc2\xb0"
                                                           "C"}};

static nnf_net *make_v2(void)
{
    nnf_net *net = NULL;
    assert_int_equal(nnf_net_create(&net, 3), NNF_OK);
    for (size_t l = 1; l <= 3; l++)
        assert_ok(net, nnf_net_add_dense(net, v1_units[l - 1], v1_acts[l - 1], NULL));
    assert_ok(net, nnf_net_init(net, NNF_INIT_DEFAULT, 12345));
    size_t n_in = 3;
    for (size_t l = 1; l <= 3; l++) {
        size_t n = v1_units[l - 1];
        float w[5 * 5], b[5];
        for (size_t j = 0; j < n; j++) {
            for (size_t i = 0; i < n_in; i++)
                w[j * n_in + i] = (float)((int)((l * 5 + j * 3 + i * 7) % 19) - 9) / 16.0f;
            b[j] = (float)((int)((l * 2 + j) % 7) - 3) / 32.0f;
        }
        assert_ok(net, nnf_layer_set_weights(nnf_net_layer(net, l), w));
        assert_ok(net, nnf_layer_set_bias(nnf_net_layer(net, l), b));
        if (l < 3) /* the output layer has none */
            assert_ok(net, nnf_layer_set_dropout(nnf_net_layer(net, l), v2_dropout[l - 1]));
        n_in = n;
    }
    assert_ok(net, nnf_layer_set_slope(nnf_net_layer(net, 2), 0.2f));
    for (int k = 0; k < 8; k++)
        assert_ok(net, nnf_net_set_param(net, (nnf_param)k, v2_params[k]));
    assert_ok(net, nnf_net_set_input_scaling(net, v2_mean, v2_std));
    for (int i = 0; i < 2; i++)
        assert_ok(net, nnf_net_set_meta(net, v2_meta[i][0], v2_meta[i][1]));
    return net;
}

static uint32_t bits32(float f)
{
    uint32_t b;
    memcpy(&b, &f, sizeof b);
    return b;
}

static uint64_t bits64(double d)
{
    uint64_t b;
    memcpy(&b, &d, sizeof b);
    return b;
}

static void test_the_committed_v2_file_loads_field_by_field(void **state)
{
    (void)state;
    const char *path = NNF_TEST_DATA "/model-v2.nnf";
    nnf_net *got = NULL, *want = make_v2();
    char err[256];
    if (nnf_net_load(&got, path, err, sizeof err) != NNF_OK)
        fail_msg("%s", err);
    assert_same_net(want, got);
    assert_same_new_state(want, got, 2);
    double decay = NAN;
    assert_ok(got, nnf_net_get_param(got, NNF_PARAM_WEIGHT_DECAY, &decay));
    assert_true(decay == 0.02);

    /* the bytes, field by field: version 1's header, table and arrays
     * (docs/format.md), then version 2's tail from the next multiple of 8 */
    size_t size, p = 3 * 5 + 5 + 5 * 4 + 4 + 4 * 2 + 2;
    unsigned char *buf = read_file(path, &size);
    size_t arrays = 112 + 16 * 3 + 4 * p * 3, t = (arrays + 7) / 8 * 8;
    size_t meta0 = 8 + (4 + 13 + 3) / 4 * 4, meta1 = 8 + (6 + 3 + 3) / 4 * 4;
    assert_int_equal(size, t + 32 + 4 * 3 + 8 * 3 + meta0 + meta1 + 4);
    assert_memory_equal(buf, "\x89NNF\r\n\x1a\n", 8);
    assert_int_equal(get32(buf + 8), 2);
    assert_int_equal(get32(buf + 12), 1);
    assert_int_equal(get64(buf + 16), size - 28);
    assert_int_equal(get64(buf + 24), 3);
    assert_int_equal(get64(buf + 32), 12345);
    assert_int_equal(get64(buf + 40), 4); /* AdamW's steps: 2 epochs of 2 batches */
    for (int k = 0; k < 6; k++)
        assert_int_equal(get64(buf + 48 + 8 * k), bits64(v2_params[k == 0 ? 0 : k + 1]));
    assert_int_equal(get32(buf + 96), 3);
    assert_int_equal(get32(buf + 100), NNF_LOSS_BCE);
    assert_int_equal(get32(buf + 104), NNF_OPT_ADAMW);
    assert_int_equal(get32(buf + 108), 0);
    for (size_t l = 0; l < 3; l++) {
        assert_int_equal(get64(buf + 112 + 16 * l), v1_units[l]);
        assert_int_equal(get32(buf + 120 + 16 * l), v1_acts[l]);
        assert_int_equal(get32(buf + 124 + 16 * l), bits32(l == 1 ? 0.2f : 0.01f));
    }
    /* layer 1's w[0][0], first of the parameters */
    assert_int_equal(get32(buf + 160), bits32((float)((5 % 19) - 9) / 16.0f));
    int nonzero = 0;
    for (size_t i = 160 + 4 * p; i < arrays; i++)
        nonzero |= buf[i];
    assert_true(nonzero); /* AdamW's moments of the 4 steps */
    for (size_t i = arrays; i < t; i++)
        assert_int_equal(buf[i], 0);
    assert_int_equal(get64(buf + t), 2);                /* epochs */
    assert_int_equal(get64(buf + t + 8), bits64(0.02)); /* weight decay */
    assert_int_equal(get32(buf + t + 16), 1);           /* input scaling present */
    assert_int_equal(get32(buf + t + 20), 2);           /* metadata entries */
    assert_int_equal(get64(buf + t + 24), 0);           /* training passes outside trainers: none */
    size_t q = t + 32;
    for (size_t l = 0; l < 3; l++, q += 4)
        assert_int_equal(get32(buf + q), bits32(v2_dropout[l]));
    for (size_t k = 0; k < 3; k++, q += 4)
        assert_int_equal(get32(buf + q), bits32(v2_mean[k]));
    for (size_t k = 0; k < 3; k++, q += 4)
        assert_int_equal(get32(buf + q), bits32(v2_std[k]));
    for (int i = 0; i < 2; i++) {
        size_t k = strlen(v2_meta[i][0]), v = strlen(v2_meta[i][1]);
        assert_int_equal(get32(buf + q), k);
        assert_int_equal(get32(buf + q + 4), v);
        assert_memory_equal(buf + q + 8, v2_meta[i][0], k);
        assert_memory_equal(buf + q + 8 + k, v2_meta[i][1], v);
        size_t end = q + 8 + (k + v + 3) / 4 * 4;
        for (size_t z = q + 8 + k + v; z < end; z++)
            assert_int_equal(buf[z], 0);
        q = end;
    }
    assert_int_equal(q, size - 4);
    assert_int_equal(get32(buf + size - 4), crc32_of(buf, size - 4));

    /* saved again, the same bytes */
    size_t again_size;
    unsigned char *again = save(got, NNF_SAVE_OPTIMIZER_STATE, &again_size);
    assert_int_equal(again_size, size);
    assert_memory_equal(again, buf, size);
    free(again);
    free(buf);
    nnf_net_destroy(got);
    nnf_net_destroy(want);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, count_live, no_leak)
    const struct CMUnitTest tests[] = {
        T(test_memory_round_trip_is_bit_exact),
        T(test_file_round_trip_is_bit_exact),
        T(test_a_net_without_layers_round_trips),
        T(test_saved_size_is_the_bytes_written),
        T(test_a_padded_layer_round_trips_and_resumes_exactly),
        T(test_momentum_training_resumes_exactly),
        T(test_adam_training_resumes_exactly),
        T(test_without_the_state_the_optimizer_restarts),
        T(test_the_epoch_count_is_saved_with_the_state_for_every_optimizer),
        T(test_every_corrupted_byte_is_rejected),
        T(test_every_truncation_is_rejected),
        T(test_each_bad_field_is_named),
        T(test_saving_over_a_file_replaces_it_atomically),
        T(test_a_failed_write_keeps_the_old_file),
        T(test_saving_into_a_missing_directory_is_an_io_error),
        T(test_loading_a_bad_file_says_why),
        T(test_deep_models_build_and_load_in_linear_time),
        T(test_a_fifo_is_refused_without_blocking),
        T(test_a_small_model_in_a_huge_sparse_file_is_refused_without_reading_it),
        T(test_a_proc_file_is_refused_with_the_reason),
        T(test_a_model_of_the_longest_file_name_saves_and_loads),
        T(test_a_long_path_keeps_the_reason_in_the_message),
        T(test_a_save_removes_the_temporary_files_of_crashed_saves),
        T(test_saving_to_an_empty_or_directory_path_makes_no_file),
        T(test_failures_after_the_data_is_written_are_reported),
        T(test_the_committed_v1_file_still_loads),
        T(test_the_new_state_round_trips),
        T(test_adamw_training_with_the_new_state_resumes_exactly),
        T(test_the_committed_v2_file_loads_field_by_field),
    };
#undef T
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
