/* SPDX-License-Identifier: MIT */
/* fuzz_api.c - libFuzzer target that drives the public API from the fuzzer's
 * bytes and checks the promises of nnfast.h after every call.
 *
 * Input: a small net (n_inputs 1..8, depth 0..4, units 1..8, a loss), then up
 * to MAX_OPS ops, each an op byte (its value modulo OP_COUNT, table below)
 * followed by the op's arguments. Missing bytes read as 0. Arguments include
 * invalid enum values (raw bytes cast to nnf_act, nnf_loss, nnf_param,
 * nnf_init), settings from a table of edge values or raw doubles (NaN, inf,
 * huge, tiny, denormal, 1 - 2^-26), and data (x, labels, weights) either from
 * a cheap pattern or value by value, with NaN, inf, huge and denormal floats.
 *
 * Checked after every call (a failure ends in __builtin_trap() after a line
 * on stderr naming the check):
 *  - the status is a known nnf_status, and the one the header promises where
 *    it is determined by the arguments (e.g. ARG for units 0, STATE for a
 *    backward without a forward pass, NUMERIC for NaN in x, OK or NUMERIC
 *    for valid data);
 *  - a failed call changed nothing: the net's saved bytes with its optimizer
 *    state (parameters, settings, slopes, seed, state, t) are bit-identical,
 *    and nnf_net_errmsg() is not empty (for calls on a non-NULL handle);
 *  - calls that only read (forward, backward, predict, evaluate, getters,
 *    save, clone) change no parameter even when they succeed;
 *  - after a successful update, train step or train, every parameter is
 *    finite;
 *  - the net the calls have built always saves, loads and saves again to
 *    the same bytes (so every value is finite, Adam's v >= 0 and every
 *    setting in range), and a clone saves to the same bytes;
 *  - the stored forward pass and the gradients behave as documented, by a
 *    model with states yes / no / unknown (a backward needs a forward, an
 *    update needs a backward, gradients are applied once).
 */
#include "nnfast.h"
#include "settings.h" /* the ranges of the settings and enums: the library's own table */

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(cond)                                                                  \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "fuzz_api.c:%d: invariant failed: %s\n", __LINE__, #cond); \
            __builtin_trap();                                                          \
        }                                                                              \
    } while (0)

enum { MAX_IN = 8, MAX_UNITS = 8, MAX_M = 16, MAX_DEPTH = 8, MAX_OPS = 64 };
enum { NO = 0, YES = 1, UNK = 2 }; /* what the model knows of a state */

typedef struct fuzz {
    const uint8_t *p; /* unread input */
    size_t n;
    nnf_net *net;        /* never NULL between ops */
    int fwd;             /* a stored forward pass */
    size_t fwd_m;        /* m of the last successful nnf_net_forward */
    int grads, applied;  /* gradients of a backward, and whether an update used them */
    unsigned char *snap; /* the net saved with its state before the current call */
    size_t snap_n;
    float x[MAX_M * MAX_IN], y[MAX_M * MAX_UNITS], out[MAX_M * MAX_UNITS];
    float w[MAX_UNITS * MAX_DEPTH * MAX_IN];
} fuzz;

/* ---- reading the input */

static unsigned byte(fuzz *f)
{
    if (!f->n)
        return 0;
    f->n--;
    return *f->p++;
}

static uint32_t u32(fuzz *f)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)byte(f) << (8 * i);
    return v;
}

static uint64_t u64(fuzz *f)
{
    return (uint64_t)u32(f) | (uint64_t)u32(f) << 32;
}

static float raw_f32(fuzz *f)
{
    uint32_t u = u32(f);
    float v;
    memcpy(&v, &u, sizeof v);
    return v;
}

static const float special_f32[16] = {0.0f,
                                      -0.0f,
                                      1.0f,
                                      -1.0f,
                                      NAN,
                                      INFINITY,
                                      -INFINITY,
                                      FLT_MAX,
                                      -FLT_MAX,
                                      FLT_MIN,
                                      0x1p-149f /* denormal */,
                                      1e30f,
                                      -1e30f,
                                      1e-30f,
                                      0.5f,
                                      1e19f};

/* Mostly small values in [-3.5, 3.5], sometimes an edge value or raw bits. */
static float value(fuzz *f)
{
    unsigned b = byte(f);
    if (b < 224)
        return (float)((int)b - 112) / 32.0f;
    if (b < 240)
        return special_f32[b - 224];
    return raw_f32(f);
}

/* Mostly labels in [0, 1], sometimes an edge value or raw bits. */
static float label(fuzz *f)
{
    unsigned b = byte(f);
    if (b < 224)
        return (float)(b % 17) / 16.0f;
    if (b < 240)
        return special_f32[b - 224];
    return raw_f32(f);
}

/* A setting: sensible values, edges of the ranges, or raw bits. */
static double setting(fuzz *f)
{
    static const double table[24] = {0.01,
                                     0.1,
                                     0.5,
                                     0.9,
                                     0.999,
                                     1e-8,
                                     0.0,
                                     -0.0,
                                     1.0,
                                     2.0,
                                     -0.5,
                                     (double)NAN,
                                     (double)INFINITY,
                                     -(double)INFINITY,
                                     DBL_MAX,
                                     (double)FLT_MAX,
                                     1e39,
                                     DBL_MIN,
                                     0x1p-1074 /* denormal */,
                                     1.0 - 0x1p-26 /* < 1, but 1.0f as a float */,
                                     1.0 - 0x1p-53,
                                     1e-50,
                                     100.0,
                                     1e6};
    unsigned b = byte(f);
    if (b < 192)
        return table[b % 24];
    if (b < 224)
        return (double)value(f);
    uint64_t u = u64(f);
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

/* An enum value: 0..n_valid (the last one invalid), or an odd int. */
static int enum_value(fuzz *f, int n_valid)
{
    static const int odd[8] = {-1, INT_MIN, INT_MAX, 6, 7, 255, 256, 1 << 20};
    unsigned b = byte(f);
    if (b < 240)
        return (int)(b % (unsigned)(n_valid + 1));
    return odd[b % 8];
}

/* m of a batch call: 1..MAX_M, sometimes 0 or above INT_MAX (never read). */
static size_t batch_m(fuzz *f, int allow_huge)
{
    unsigned b = byte(f);
    if (b < 248)
        return 1 + b % MAX_M;
    if (b == 248)
        return 0;
    if (b == 249 && allow_huge)
        return (size_t)INT_MAX + 1;
    if (b == 250 && allow_huge)
        return SIZE_MAX;
    return 1;
}

typedef struct fill {
    int nonfinite; /* some value is NaN or infinite */
    int outside;   /* some finite value is outside [0, 1] */
} fill;

/* n values into v: a pattern (one byte, so short inputs still train), a
 * pattern with one value from the input, or every value from the input. */
static fill fill_values(fuzz *f, float *v, size_t n, int labels)
{
    unsigned mode = byte(f), s = byte(f);
    for (size_t i = 0; i < n; i++) {
        if (mode % 4 == 3)
            v[i] = labels ? label(f) : value(f);
        else if (labels)
            v[i] = (i * (2 * s + 1) + s) % 3 == 0 ? 1.0f : 0.0f;
        else
            v[i] = (float)((int)((i * (2 * s + 1) + s) % 13) - 6) * 0.25f;
    }
    if (mode % 4 == 2 && n)
        v[byte(f) % n] = labels ? label(f) : value(f);
    fill r = {0, 0};
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(v[i]))
            r.nonfinite = 1;
        else if (!(v[i] >= 0.0f && v[i] <= 1.0f))
            r.outside = 1;
    }
    return r;
}

/* ---- the net's bytes and the checks after a call */

static unsigned char *save(const nnf_net *net, unsigned flags, size_t *n)
{
    REQUIRE(nnf_net_saved_size(net, flags, n) == NNF_OK);
    unsigned char *buf = malloc(*n);
    REQUIRE(buf);
    size_t written = 0;
    REQUIRE(nnf_net_save_mem(net, buf, *n, flags, &written) == NNF_OK);
    REQUIRE(written == *n);
    return buf;
}

static int same_bytes(const unsigned char *a, size_t na, const unsigned char *b, size_t nb)
{
    return na == nb && memcmp(a, b, na) == 0;
}

/* The bytes load, and the loaded net saves to them again. */
static void check_reload(const unsigned char *bytes, size_t n)
{
    nnf_net *net = NULL;
    char err[256];
    nnf_status st = nnf_net_load_mem(&net, bytes, n, err, sizeof err);
    if (st != NNF_OK)
        fprintf(stderr, "fuzz_api: the net's own bytes do not load: %s\n", err);
    REQUIRE(st == NNF_OK);
    size_t n2;
    unsigned char *again = save(net, NNF_SAVE_OPTIMIZER_STATE, &n2);
    REQUIRE(same_bytes(bytes, n, again, n2));
    free(again);
    nnf_net_destroy(net);
}

static void params_finite(fuzz *f)
{
    size_t depth = nnf_net_depth(f->net);
    for (size_t l = 1; l <= depth; l++) {
        nnf_layer *ly = nnf_net_layer(f->net, l);
        size_t nw = nnf_layer_units(ly) * nnf_layer_inputs(ly);
        REQUIRE(nw <= sizeof f->w / sizeof f->w[0]);
        REQUIRE(nnf_layer_get_weights(ly, f->w) == NNF_OK);
        for (size_t i = 0; i < nw; i++)
            REQUIRE(isfinite(f->w[i]));
        REQUIRE(nnf_layer_get_bias(ly, f->w) == NNF_OK);
        for (size_t i = 0; i < nnf_layer_units(ly); i++)
            REQUIRE(isfinite(f->w[i]));
    }
}

enum {
    CHANGES = 1,      /* the call may change the net's bytes when it succeeds */
    FAIL_CHANGES = 2, /* ... and when it fails (nnf_net_train after some steps) */
    NO_HANDLE = 4     /* the call had a NULL handle: no message to expect */
};

/* NNF_FUZZ_TRACE=1 in the environment prints every checked call. */
static int g_trace;
static const char *g_op;

/* After every call: a known status; a failure left a message and changed
 * nothing; a reading call changed nothing; the net still round-trips. */
static void after(fuzz *f, nnf_status st, unsigned how)
{
    REQUIRE((unsigned)st <= (unsigned)NNF_ERR_FORMAT);
    if (g_trace)
        fprintf(stderr, "%-12s %-15s %s\n", g_op, nnf_status_str(st),
                st != NNF_OK && !(how & NO_HANDLE) ? nnf_net_errmsg(f->net) : "");
    if (st != NNF_OK && !(how & NO_HANDLE)) {
        const char *msg = nnf_net_errmsg(f->net);
        REQUIRE(msg && msg[0] != '\0');
    }
    size_t n;
    unsigned char *now = save(f->net, NNF_SAVE_OPTIMIZER_STATE, &n);
    int may_change = st == NNF_OK ? (how & CHANGES) : (how & FAIL_CHANGES);
    if (!may_change)
        REQUIRE(same_bytes(f->snap, f->snap_n, now, n));
    else
        check_reload(now, n);
    free(f->snap);
    f->snap = now;
    f->snap_n = n;
}

/* A new net replaces the current one (create, load, clone). */
static void replace_net(fuzz *f, nnf_net *net)
{
    nnf_net_destroy(f->net);
    f->net = net;
    f->fwd = f->grads = f->applied = NO;
    f->fwd_m = 0;
    REQUIRE(nnf_net_errmsg(net)[0] == '\0');
    free(f->snap);
    f->snap = save(net, NNF_SAVE_OPTIMIZER_STATE, &f->snap_n);
    check_reload(f->snap, f->snap_n);
}

static int in_set(nnf_status st, nnf_status a, nnf_status b)
{
    return st == a || st == b;
}

/* ---- what the net is */

static size_t n_in(const fuzz *f)
{
    return nnf_net_inputs(f->net);
}

static size_t n_out(const fuzz *f)
{
    return nnf_net_outputs(f->net);
}

/* Softmax goes with cross-entropy, BCE with sigmoid. */
static int loss_fits(const fuzz *f)
{
    size_t depth = nnf_net_depth(f->net);
    nnf_loss loss;
    REQUIRE(nnf_net_get_loss(f->net, &loss) == NNF_OK);
    if (!depth)
        return 0;
    nnf_act out = nnf_layer_act(nnf_net_layer(f->net, depth));
    return (loss == NNF_LOSS_BCE && out == NNF_ACT_SIGMOID) ||
           (loss == NNF_LOSS_CROSS_ENTROPY && out == NNF_ACT_SOFTMAX) ||
           (loss == NNF_LOSS_MSE && out != NNF_ACT_SOFTMAX);
}

static int is_mse(const fuzz *f)
{
    nnf_loss loss;
    REQUIRE(nnf_net_get_loss(f->net, &loss) == NNF_OK);
    return loss == NNF_LOSS_MSE;
}

/* A layer 1..depth, or (sometimes) NULL from an index out of range. */
static nnf_layer *pick_layer(fuzz *f)
{
    size_t depth = nnf_net_depth(f->net);
    return nnf_net_layer(f->net, byte(f) % (depth + 2));
}

/* The status the argument checks of a batch call give, in the header's
 * order, or -1 when the data are valid (then OK or NUMERIC). */
typedef struct batch {
    size_t m;
    const float *x, *y;
    fill fx, fy;
} batch;

static int batch_status(const fuzz *f, const batch *b, int needs_labels)
{
    if (!b->x || b->m == 0)
        return NNF_ERR_ARG;
    if (b->m > INT_MAX)
        return NNF_ERR_SHAPE;
    if (!nnf_net_depth(f->net))
        return NNF_ERR_STATE;
    if (needs_labels) {
        if (!loss_fits(f))
            return NNF_ERR_STATE;
        if (!b->y)
            return NNF_ERR_ARG;
        if (b->fy.nonfinite)
            return NNF_ERR_NUMERIC;
        if (b->fy.outside && !is_mse(f))
            return NNF_ERR_ARG;
    }
    if (b->fx.nonfinite)
        return NNF_ERR_NUMERIC;
    return -1;
}

static void check_status(nnf_status st, int expected)
{
    if (expected >= 0)
        REQUIRE((int)st == expected);
    else
        REQUIRE(in_set(st, NNF_OK, NNF_ERR_NUMERIC));
}

/* x (and y) of m samples, sometimes NULL. */
static batch make_batch(fuzz *f, int allow_huge, int labels)
{
    batch b;
    unsigned nulls = byte(f);
    b.m = batch_m(f, allow_huge);
    size_t rows = b.m <= MAX_M ? b.m : 0;
    b.fx = fill_values(f, f->x, rows * n_in(f), 0);
    b.x = nulls % 16 == 1 ? NULL : f->x;
    b.fy = (fill){0, 0};
    b.y = NULL;
    if (labels) {
        b.fy = fill_values(f, f->y, rows * n_out(f), 1);
        b.y = nulls % 16 == 2 ? NULL : f->y;
    }
    return b;
}

static void outputs_finite(const fuzz *f, size_t m)
{
    for (size_t i = 0; i < m * n_out(f); i++)
        REQUIRE(isfinite(f->out[i]));
}

/* ---- the ops */

static void op_add_dense(fuzz *f)
{
    static const size_t odd[4] = {0, (size_t)INT_MAX + 1, SIZE_MAX, 0};
    unsigned b = byte(f);
    size_t units = b < 240 ? 1 + b % MAX_UNITS : odd[b % 4];
    int act = enum_value(f, 6);
    int want = byte(f) & 1;
    size_t depth = nnf_net_depth(f->net);
    if (depth >= MAX_DEPTH)
        return;
    int expected = NNF_OK;
    if (units == 0 || !nnf__act_valid(act))
        expected = NNF_ERR_ARG;
    else if (depth && nnf_layer_act(nnf_net_layer(f->net, depth)) == NNF_ACT_SOFTMAX)
        expected = NNF_ERR_STATE;
    else if (units > INT_MAX)
        expected = NNF_ERR_SHAPE;
    size_t prev = depth ? n_out(f) : n_in(f);
    nnf_layer *ly = (nnf_layer *)f; /* must be overwritten */
    nnf_status st = nnf_net_add_dense(f->net, units, (nnf_act)act, want ? &ly : NULL);
    REQUIRE((int)st == expected);
    after(f, st, CHANGES);
    if (want && st != NNF_OK)
        REQUIRE(ly == NULL);
    if (st != NNF_OK)
        return;
    REQUIRE(nnf_net_depth(f->net) == depth + 1 && n_out(f) == units);
    nnf_layer *last = nnf_net_layer(f->net, depth + 1);
    REQUIRE(!want || ly == last);
    REQUIRE(nnf_layer_units(last) == units && nnf_layer_inputs(last) == prev);
    REQUIRE((int)nnf_layer_act(last) == act);
    f->fwd = f->grads = NO;
}

static void op_set_loss(fuzz *f)
{
    int loss = enum_value(f, 3);
    nnf_status st = nnf_net_set_loss(f->net, (nnf_loss)loss);
    REQUIRE(st == (nnf__loss_valid(loss) ? NNF_OK : NNF_ERR_ARG));
    after(f, st, CHANGES);
    nnf_loss got;
    REQUIRE(nnf_net_get_loss(f->net, &got) == NNF_OK);
    if (st == NNF_OK)
        REQUIRE((int)got == loss);
}

/* The ranges are those of the library's one table of settings. */
static int setting_valid(int key, double v)
{
    return nnf__param_known(key) && nnf__param_valid((nnf_param)key, v);
}

static void op_set_param(fuzz *f)
{
    int key = enum_value(f, 7);
    double v = setting(f);
    nnf_status st = nnf_net_set_param(f->net, (nnf_param)key, v);
    REQUIRE(st == (setting_valid(key, v) ? NNF_OK : NNF_ERR_ARG));
    after(f, st, CHANGES);
    if (st == NNF_OK) {
        double got;
        REQUIRE(nnf_net_get_param(f->net, (nnf_param)key, &got) == NNF_OK);
        REQUIRE(got == v);
    }
}

static void op_set_slope(fuzz *f)
{
    static const float table[8] = {0.01f, 0.2f, 0.5f, 0.0f, -0.0f, 1.0f, 0x1.fffffep-1f, 1.5f};
    nnf_layer *ly = pick_layer(f);
    unsigned b = byte(f);
    float alpha = b < 128 ? table[b % 8] : b < 192 ? special_f32[b % 16] : raw_f32(f);
    nnf_status st = nnf_layer_set_slope(ly, alpha);
    int expected = NNF_OK;
    if (!ly || !(alpha > 0.0f && alpha < 1.0f))
        expected = NNF_ERR_ARG;
    else if (nnf_layer_act(ly) != NNF_ACT_LEAKY_RELU)
        expected = NNF_ERR_STATE;
    REQUIRE((int)st == expected);
    after(f, st, CHANGES | (ly ? 0u : NO_HANDLE));
    if (st == NNF_OK) {
        float got;
        REQUIRE(nnf_layer_get_slope(ly, &got) == NNF_OK && got == alpha);
        f->fwd = NO;
    }
}

static void op_init(fuzz *f)
{
    int scheme = enum_value(f, 4);
    unsigned b = byte(f);
    uint64_t seed = b < 128 ? b : u64(f);
    nnf_status st = nnf_net_init(f->net, (nnf_init)scheme, seed);
    REQUIRE(st == (scheme >= 0 && scheme < NNF__N_INITS ? NNF_OK : NNF_ERR_ARG));
    after(f, st, CHANGES);
    if (st != NNF_OK)
        return;
    f->fwd = f->grads = NO;
    /* the same scheme and seed give the same net */
    REQUIRE(nnf_net_init(f->net, (nnf_init)scheme, seed) == NNF_OK);
    after(f, NNF_OK, 0);
}

static void op_set_weights(fuzz *f, int bias)
{
    nnf_layer *ly = pick_layer(f);
    int null_data = byte(f) % 8 == 0;
    size_t n = ly ? nnf_layer_units(ly) * (bias ? 1 : nnf_layer_inputs(ly)) : 0;
    REQUIRE(n <= sizeof f->w / sizeof f->w[0]);
    fill fw = fill_values(f, f->w, n, 0);
    const float *w = null_data ? NULL : f->w;
    nnf_status st = bias ? nnf_layer_set_bias(ly, w) : nnf_layer_set_weights(ly, w);
    int expected = !ly || !w ? NNF_ERR_ARG : fw.nonfinite ? NNF_ERR_NUMERIC : NNF_OK;
    REQUIRE((int)st == expected);
    after(f, st, CHANGES | (ly ? 0u : NO_HANDLE));
    if (st != NNF_OK)
        return;
    float back[MAX_UNITS * MAX_IN];
    REQUIRE((bias ? nnf_layer_get_bias(ly, back) : nnf_layer_get_weights(ly, back)) == NNF_OK);
    REQUIRE(memcmp(back, f->w, n * sizeof(float)) == 0);
    f->fwd = NO;
}

static void op_forward(fuzz *f, int predict)
{
    batch b = make_batch(f, 1, 0);
    int null_y = byte(f) % 4 == 0;
    int expected = batch_status(f, &b, 0);
    if (predict && null_y && (expected < 0 || expected == NNF_ERR_NUMERIC))
        expected = NNF_ERR_ARG; /* y is checked before the data's values */
    float *y = null_y ? NULL : f->out;
    nnf_status st =
        predict ? nnf_net_predict(f->net, b.x, b.m, y) : nnf_net_forward(f->net, b.x, b.m, y);
    check_status(st, expected);
    after(f, st, 0);
    if (st == NNF_OK) {
        if (y)
            outputs_finite(f, b.m);
        if (predict) {
            f->fwd = NO;
            /* the same input gives the same output */
            float first[MAX_M * MAX_UNITS];
            memcpy(first, f->out, sizeof first);
            REQUIRE(nnf_net_predict(f->net, b.x, b.m, f->out) == NNF_OK);
            REQUIRE(memcmp(first, f->out, b.m * n_out(f) * sizeof(float)) == 0);
            after(f, NNF_OK, 0);
        } else {
            f->fwd = YES;
            f->fwd_m = b.m;
        }
    } else if (st == NNF_ERR_NUMERIC && !b.fx.nonfinite) {
        f->fwd = NO; /* an overflow discards the stored pass */
    }
}

static void op_backward(fuzz *f)
{
    size_t m = f->fwd_m ? f->fwd_m : 1;
    unsigned nulls = byte(f);
    fill fy = fill_values(f, f->y, m * n_out(f), 1);
    const float *y = nulls % 8 == 1 ? NULL : f->y;
    float cost = NAN;
    nnf_status st = nnf_net_backward(f->net, y, nulls % 8 == 2 ? NULL : &cost);
    /* the statuses with a forward pass, in the header's order */
    int with_pass = -1;
    if (!loss_fits(f))
        with_pass = NNF_ERR_STATE;
    else if (!y)
        with_pass = NNF_ERR_ARG;
    else if (fy.nonfinite)
        with_pass = NNF_ERR_NUMERIC;
    else if (fy.outside && !is_mse(f))
        with_pass = NNF_ERR_ARG;
    if (f->fwd == NO)
        REQUIRE(st == NNF_ERR_STATE);
    else if (f->fwd == YES)
        check_status(st, with_pass);
    else if (st != NNF_ERR_STATE)
        check_status(st, with_pass);
    after(f, st, 0);
    if (st == NNF_OK) {
        REQUIRE(nulls % 8 == 2 || isfinite(cost));
        f->fwd = NO;
        f->grads = YES;
        f->applied = NO;
        nnf_layer *ly = nnf_net_layer(f->net, 1);
        REQUIRE(nnf_layer_get_bias_grad(ly, f->w) == NNF_OK);
        for (size_t i = 0; i < nnf_layer_units(ly); i++)
            REQUIRE(isfinite(f->w[i]));
    } else if (st == NNF_ERR_NUMERIC && !fy.nonfinite) {
        f->fwd = NO; /* a non-finite cost or gradient: the pass is used up, no gradient kept */
        f->grads = NO;
    }
}

static void op_update(fuzz *f)
{
    nnf_status st = nnf_net_update(f->net);
    if (f->grads == NO || (f->grads == YES && f->applied == YES))
        REQUIRE(st == NNF_ERR_STATE);
    else if (f->grads == YES && f->applied == NO)
        REQUIRE(in_set(st, NNF_OK, NNF_ERR_NUMERIC));
    after(f, st, CHANGES);
    if (st == NNF_OK) {
        params_finite(f);
        f->grads = f->applied = YES;
    }
}

static void op_train_step(fuzz *f)
{
    batch b = make_batch(f, 1, 1);
    int null_cost = byte(f) % 4 == 0;
    float cost = NAN;
    nnf_status st = nnf_net_train_step(f->net, b.x, b.y, b.m, null_cost ? NULL : &cost);
    int expected = batch_status(f, &b, 1);
    check_status(st, expected);
    after(f, st, CHANGES);
    if (st == NNF_OK) {
        REQUIRE(null_cost || isfinite(cost));
        params_finite(f);
        f->fwd = NO;
        f->grads = f->applied = YES;
    } else if (expected < 0) { /* failed in the forward, backward or update */
        f->fwd = NO;
        f->grads = f->applied = UNK;
    }
}

typedef struct progress {
    size_t calls, stop_at, epochs, batches;
} progress;

static int on_progress(void *user, size_t epoch, size_t batch_index, float cost)
{
    progress *p = user;
    REQUIRE(epoch == p->calls / p->batches && batch_index == p->calls % p->batches);
    REQUIRE(epoch < p->epochs && isfinite(cost));
    p->calls++;
    return p->stop_at && p->calls >= p->stop_at;
}

static void op_train(fuzz *f)
{
    batch b = make_batch(f, 0, 1);
    unsigned a = byte(f);
    size_t batch_size = a % 8 == 0 ? 0 : 1 + byte(f) % (MAX_M + 2);
    size_t epochs = byte(f) % 4;
    int shuffle = (int)(a >> 3 & 1u);
    uint64_t seed = byte(f);
    progress p = {0, byte(f) % 6, epochs, 1};
    if (batch_size && b.m)
        p.batches = (b.m + (batch_size < b.m ? batch_size : b.m) - 1) /
                    (batch_size < b.m ? batch_size : b.m);
    int with_progress = (a >> 4 & 1u) != 0, with_steps = (a >> 5 & 1u) != 0;
    size_t steps = 12345;
    nnf_status st = nnf_net_train(f->net, b.x, b.y, b.m, batch_size, epochs, shuffle, seed,
                                  with_progress ? on_progress : NULL, with_progress ? &p : NULL,
                                  with_steps ? &steps : NULL);
    int expected = batch_size == 0 || epochs == 0 ? NNF_ERR_ARG : batch_status(f, &b, 1);
    check_status(st, expected);
    size_t all = epochs * p.batches;
    if (with_steps) {
        REQUIRE(steps <= all);
        if (st == NNF_OK)
            REQUIRE(steps == (with_progress && p.stop_at && p.stop_at < all ? p.stop_at : all));
        if (with_progress)
            REQUIRE(p.calls == steps);
        if (expected >= 0)
            REQUIRE(steps == 0);
    }
    /* a failure after some steps leaves the parameters of the last one */
    int stepped = with_steps ? steps > 0 : expected < 0;
    after(f, st, CHANGES | (stepped ? FAIL_CHANGES : 0u));
    if (st == NNF_OK) {
        params_finite(f);
        f->fwd = NO;
        f->grads = f->applied = YES;
    } else if (expected < 0) {
        f->fwd = NO;
        f->grads = f->applied = UNK;
    }
}

static void op_evaluate(fuzz *f)
{
    batch b = make_batch(f, 1, 1);
    unsigned nulls = byte(f);
    float cost = NAN, acc = -1.0f;
    nnf_status st =
        nnf_net_evaluate(f->net, b.x, b.y, b.m, nulls & 1 ? NULL : &cost, nulls & 2 ? NULL : &acc);
    check_status(st, batch_status(f, &b, 1));
    after(f, st, 0);
    if (st == NNF_OK) {
        REQUIRE(nulls & 1 || isfinite(cost));
        REQUIRE(nulls & 2 || (is_mse(f) ? isnan(acc) : acc >= 0.0f && acc <= 1.0f));
        f->fwd = NO;
    } else if (st == NNF_ERR_NUMERIC && !b.fx.nonfinite && !b.fy.nonfinite) {
        f->fwd = NO;
    }
}

static void op_grads(fuzz *f)
{
    nnf_layer *ly = pick_layer(f);
    unsigned b = byte(f);
    float *dst = b % 8 == 0 ? NULL : f->w;
    nnf_status st = b & 8 ? nnf_layer_get_bias_grad(ly, dst) : nnf_layer_get_weight_grad(ly, dst);
    if (!ly)
        REQUIRE(st == NNF_ERR_ARG);
    else if (f->grads == NO)
        REQUIRE(st == NNF_ERR_STATE);
    else if (f->grads == YES)
        REQUIRE(st == (dst ? NNF_OK : NNF_ERR_ARG));
    after(f, st, ly ? 0u : NO_HANDLE);
    if (st == NNF_OK) {
        size_t n = nnf_layer_units(ly) * (b & 8 ? 1 : nnf_layer_inputs(ly));
        for (size_t i = 0; i < n; i++)
            REQUIRE(isfinite(f->w[i]));
    }
}

static void op_save_load(fuzz *f)
{
    static const unsigned flag_table[4] = {0u, NNF_SAVE_OPTIMIZER_STATE, 2u,
                                           NNF_SAVE_OPTIMIZER_STATE | 0x80u};
    unsigned b = byte(f);
    unsigned flags = flag_table[b % 4];
    int valid = b % 4 < 2, short_cap = (b & 4) != 0;
    size_t need = 0;
    nnf_status st = nnf_net_saved_size(f->net, flags, &need);
    REQUIRE(st == (valid ? NNF_OK : NNF_ERR_ARG));
    after(f, st, 0);
    if (!valid)
        need = f->snap_n; /* enough for any flags */
    size_t cap = short_cap && need ? need - 1 : need;
    unsigned char *buf = malloc(cap ? cap : 1);
    REQUIRE(buf);
    size_t written = 1;
    st = nnf_net_save_mem(f->net, buf, cap, flags, &written);
    REQUIRE(st == (valid && !short_cap ? NNF_OK : NNF_ERR_ARG));
    REQUIRE(written == (st == NNF_OK ? need : 0));
    after(f, st, 0);
    if (st == NNF_OK) {
        nnf_net *loaded = NULL;
        char err[64];
        REQUIRE(nnf_net_load_mem(&loaded, buf, written, err, sizeof err) == NNF_OK);
        size_t n2;
        unsigned char *again = save(loaded, flags, &n2);
        REQUIRE(same_bytes(buf, written, again, n2));
        free(again);
        if (b & 8)
            replace_net(f, loaded);
        else
            nnf_net_destroy(loaded);
    }
    free(buf);
}

static void op_clone(fuzz *f)
{
    unsigned b = byte(f);
    if (b % 8 == 0) {
        nnf_status st = nnf_net_clone(f->net, NULL);
        REQUIRE(st == NNF_ERR_ARG);
        after(f, st, 0);
        return;
    }
    nnf_net *copy = (nnf_net *)f;
    nnf_status st = nnf_net_clone(f->net, &copy);
    REQUIRE(st == NNF_OK && copy && copy != f->net);
    after(f, st, 0);
    size_t n;
    unsigned char *bytes = save(copy, NNF_SAVE_OPTIMIZER_STATE, &n);
    REQUIRE(same_bytes(bytes, n, f->snap, f->snap_n));
    free(bytes);
    if (b & 1) {
        replace_net(f, copy);
        return;
    }
    /* the copy is independent: training it leaves the original alone */
    nnf_net *orig = f->net;
    f->net = copy;
    batch bt = make_batch(f, 0, 1);
    (void)nnf_net_train_step(copy, bt.x, bt.y, bt.m, NULL);
    f->net = orig;
    nnf_net_destroy(copy);
    after(f, NNF_OK, 0);
}

/* The getters agree with each other and with the ranges; one getter,
 * chosen by a byte, is called so that it fails (first, so that a missing
 * message is not hidden by an earlier one). */
static void op_getters(fuzz *f)
{
    nnf_net *net = f->net;
    unsigned which = byte(f) % 6;
    nnf_status st = NNF_OK;
    double v;
    nnf_layer *first = nnf_net_layer(net, 1);
    switch (which) {
    case 0: {
        int key = enum_value(f, 7);
        st = nnf_net_get_param(net, (nnf_param)key, &v);
        REQUIRE(st == (nnf__param_known(key) ? NNF_OK : NNF_ERR_ARG));
        break;
    }
    case 1: st = nnf_net_get_param(net, NNF_PARAM_LEARNING_RATE, NULL); break;
    case 2: st = nnf_net_get_loss(net, NULL); break;
    case 3: st = nnf_net_saved_size(net, 0, NULL); break;
    case 4: st = nnf_net_save_mem(net, NULL, f->snap_n, 0, NULL); break;
    default:
        if (!first)
            return;
        st = byte(f) & 1 ? nnf_layer_get_slope(first, NULL) : nnf_layer_get_bias(first, NULL);
        break;
    }
    if (which)
        REQUIRE(st == NNF_ERR_ARG);
    after(f, st, 0);

    for (int k = 0; k < NNF__N_PARAMS; k++) {
        REQUIRE(nnf_net_get_param(net, (nnf_param)k, &v) == NNF_OK);
        REQUIRE(setting_valid(k, v));
    }
    size_t depth = nnf_net_depth(net), prev = n_in(f);
    REQUIRE(depth <= MAX_DEPTH && prev >= 1 && prev <= MAX_IN);
    REQUIRE(nnf_net_layer(net, 0) == NULL && nnf_net_layer(net, depth + 1) == NULL);
    for (size_t l = 1; l <= depth; l++) {
        nnf_layer *ly = nnf_net_layer(net, l);
        REQUIRE(ly && nnf_layer_inputs(ly) == prev);
        prev = nnf_layer_units(ly);
        REQUIRE(prev >= 1 && prev <= MAX_UNITS);
        int act = (int)nnf_layer_act(ly);
        REQUIRE(nnf__act_valid(act) && (act != NNF_ACT_SOFTMAX || l == depth));
        float alpha;
        REQUIRE(nnf_layer_get_slope(ly, &alpha) == NNF_OK && alpha > 0.0f && alpha < 1.0f);
    }
    REQUIRE(n_out(f) == (depth ? prev : 0));
    size_t size;
    REQUIRE(nnf_net_saved_size(net, NNF_SAVE_OPTIMIZER_STATE, &size) == NNF_OK);
    REQUIRE(size == f->snap_n);
    const char *text = nnf_status_str((nnf_status)enum_value(f, 8));
    REQUIRE(text && text[0]);
}

/* Every call with a NULL handle or a NULL out-pointer fails cleanly. */
static void op_nulls(fuzz *f)
{
    float v = 0.0f;
    double d;
    nnf_loss loss;
    nnf_net *out = (nnf_net *)f;
    nnf_layer *ly = (nnf_layer *)f;
    size_t steps = 7, size = 7;
    char err[16] = "x";
    REQUIRE(nnf_net_create(NULL, 1) == NNF_ERR_ARG);
    REQUIRE(nnf_net_create(&out, 0) == NNF_ERR_ARG && out == NULL);
    out = (nnf_net *)f;
    REQUIRE(nnf_net_create(&out, (size_t)INT_MAX + 1) == NNF_ERR_SHAPE && out == NULL);
    nnf_net_destroy(NULL);
    REQUIRE(nnf_net_add_dense(NULL, 1, NNF_ACT_RELU, &ly) == NNF_ERR_ARG && ly == NULL);
    REQUIRE(nnf_net_depth(NULL) == 0 && nnf_net_layer(NULL, 1) == NULL);
    REQUIRE(nnf_net_inputs(NULL) == 0 && nnf_net_outputs(NULL) == 0);
    REQUIRE(nnf_net_set_loss(NULL, NNF_LOSS_MSE) == NNF_ERR_ARG);
    REQUIRE(nnf_net_get_loss(NULL, &loss) == NNF_ERR_ARG);
    REQUIRE(nnf_net_set_param(NULL, NNF_PARAM_LEARNING_RATE, 0.1) == NNF_ERR_ARG);
    REQUIRE(nnf_net_get_param(NULL, NNF_PARAM_LEARNING_RATE, &d) == NNF_ERR_ARG);
    REQUIRE(nnf_net_init(NULL, NNF_INIT_HE, 1) == NNF_ERR_ARG);
    REQUIRE(nnf_layer_units(NULL) == 0 && nnf_layer_inputs(NULL) == 0);
    REQUIRE(nnf_layer_act(NULL) == NNF_ACT_LINEAR);
    REQUIRE(nnf_layer_set_slope(NULL, 0.5f) == NNF_ERR_ARG);
    REQUIRE(nnf_layer_get_slope(NULL, &v) == NNF_ERR_ARG);
    REQUIRE(nnf_layer_get_weights(NULL, f->w) == NNF_ERR_ARG);
    REQUIRE(nnf_layer_set_weights(NULL, f->w) == NNF_ERR_ARG);
    REQUIRE(nnf_layer_get_bias(NULL, f->w) == NNF_ERR_ARG);
    REQUIRE(nnf_layer_set_bias(NULL, f->w) == NNF_ERR_ARG);
    REQUIRE(nnf_layer_get_weight_grad(NULL, f->w) == NNF_ERR_ARG);
    REQUIRE(nnf_layer_get_bias_grad(NULL, f->w) == NNF_ERR_ARG);
    REQUIRE(nnf_net_forward(NULL, f->x, 1, f->out) == NNF_ERR_ARG);
    REQUIRE(nnf_net_backward(NULL, f->y, &v) == NNF_ERR_ARG);
    REQUIRE(nnf_net_update(NULL) == NNF_ERR_ARG);
    REQUIRE(nnf_net_train_step(NULL, f->x, f->y, 1, &v) == NNF_ERR_ARG);
    REQUIRE(nnf_net_predict(NULL, f->x, 1, f->out) == NNF_ERR_ARG);
    REQUIRE(nnf_net_train(NULL, f->x, f->y, 1, 1, 1, 0, 0, NULL, NULL, &steps) == NNF_ERR_ARG);
    REQUIRE(steps == 0);
    REQUIRE(nnf_net_evaluate(NULL, f->x, f->y, 1, &v, &v) == NNF_ERR_ARG);
    REQUIRE(nnf_net_saved_size(NULL, 0, &size) == NNF_ERR_ARG);
    REQUIRE(nnf_net_save_mem(NULL, f->w, sizeof f->w, 0, &size) == NNF_ERR_ARG && size == 0);
    out = (nnf_net *)f;
    REQUIRE(nnf_net_load_mem(NULL, f->snap, f->snap_n, err, sizeof err) == NNF_ERR_ARG);
    REQUIRE(strncmp(err, "nnf_net_load_mem: ", sizeof err - 1) == 0); /* truncated to err */
    REQUIRE(nnf_net_load_mem(&out, NULL, 10, NULL, 0) == NNF_ERR_ARG && out == NULL);
    out = (nnf_net *)f;
    REQUIRE(nnf_net_clone(NULL, &out) == NNF_ERR_ARG && out == NULL);
    REQUIRE(nnf_net_clone(NULL, NULL) == NNF_ERR_ARG);
    const char *msg = nnf_net_errmsg(NULL);
    REQUIRE(msg && msg[0]);
    after(f, NNF_OK, 0); /* none of it touched the net */
}

static void op_new_net(fuzz *f)
{
    unsigned b = byte(f);
    size_t n = b < 248 ? 1 + b % MAX_IN : b == 248 ? 0 : b == 249 ? (size_t)INT_MAX + 1 : 1;
    nnf_net *net = (nnf_net *)f;
    nnf_status st = nnf_net_create(&net, n);
    REQUIRE(st == (n == 0 ? NNF_ERR_ARG : n > INT_MAX ? NNF_ERR_SHAPE : NNF_OK));
    if (st != NNF_OK) {
        REQUIRE(net == NULL);
        return;
    }
    REQUIRE(nnf_net_inputs(net) == n && nnf_net_depth(net) == 0 && nnf_net_outputs(net) == 0);
    replace_net(f, net);
}

enum {
    OP_ADD_DENSE,
    OP_SET_LOSS,
    OP_SET_PARAM,
    OP_SET_SLOPE,
    OP_INIT,
    OP_SET_WEIGHTS,
    OP_SET_BIAS,
    OP_FORWARD,
    OP_BACKWARD,
    OP_UPDATE,
    OP_TRAIN_STEP,
    OP_PREDICT,
    OP_TRAIN,
    OP_EVALUATE,
    OP_GRADS,
    OP_SAVE_LOAD,
    OP_CLONE,
    OP_GETTERS,
    OP_NULLS,
    OP_NEW_NET,
    OP_COUNT
};

static void run_op(fuzz *f, unsigned op)
{
    static const char *const names[OP_COUNT] = {"add_dense", "set_loss",   "set_param",
                                                "set_slope", "init",       "set_weights",
                                                "set_bias",  "forward",    "backward",
                                                "update",    "train_step", "predict",
                                                "train",     "evaluate",   "grads",
                                                "save_load", "clone",      "getters",
                                                "nulls",     "new_net"};
    g_op = names[op % OP_COUNT];
    switch (op % OP_COUNT) {
    case OP_ADD_DENSE: op_add_dense(f); break;
    case OP_SET_LOSS: op_set_loss(f); break;
    case OP_SET_PARAM: op_set_param(f); break;
    case OP_SET_SLOPE: op_set_slope(f); break;
    case OP_INIT: op_init(f); break;
    case OP_SET_WEIGHTS: op_set_weights(f, 0); break;
    case OP_SET_BIAS: op_set_weights(f, 1); break;
    case OP_FORWARD: op_forward(f, 0); break;
    case OP_BACKWARD: op_backward(f); break;
    case OP_UPDATE: op_update(f); break;
    case OP_TRAIN_STEP: op_train_step(f); break;
    case OP_PREDICT: op_forward(f, 1); break;
    case OP_TRAIN: op_train(f); break;
    case OP_EVALUATE: op_evaluate(f); break;
    case OP_GRADS: op_grads(f); break;
    case OP_SAVE_LOAD: op_save_load(f); break;
    case OP_CLONE: op_clone(f); break;
    case OP_GETTERS: op_getters(f); break;
    case OP_NULLS: op_nulls(f); break;
    default: op_new_net(f); break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static fuzz f; /* large buffers: not on the stack */
    static int once;
    if (!once) {
        const char *trace = getenv("NNF_FUZZ_TRACE");
        g_trace = trace && trace[0] && trace[0] != '0';
        once = 1;
    }
    memset(&f, 0, sizeof f);
    f.p = data;
    f.n = size;

    /* the starting net: n_inputs 1..8, 0..4 layers of 1..8 units, a loss */
    size_t inputs = 1 + byte(&f) % MAX_IN, depth = byte(&f) % 5;
    REQUIRE(nnf_net_create(&f.net, inputs) == NNF_OK);
    for (size_t l = 0; l < depth; l++) {
        size_t units = 1 + byte(&f) % MAX_UNITS;
        nnf_status st = nnf_net_add_dense(f.net, units, (nnf_act)(byte(&f) % 6), NULL);
        REQUIRE(st == NNF_OK || st == NNF_ERR_STATE); /* STATE: after a softmax layer */
    }
    REQUIRE(nnf_net_set_loss(f.net, (nnf_loss)(byte(&f) % 3)) == NNF_OK);
    f.snap = save(f.net, NNF_SAVE_OPTIMIZER_STATE, &f.snap_n);

    for (int i = 0; i < MAX_OPS && f.n; i++)
        run_op(&f, byte(&f));

    nnf_net_destroy(f.net);
    free(f.snap);
    return 0;
}
