/* SPDX-License-Identifier: MIT */
/* cases.c - the standard suite (the table right below), and how a case
 * becomes a net, its data, its flop count and its minimum memory. */
#include "bench.h"
#include "ref.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The standard suite. Layer sizes input first, 0 ends. */
static const struct suite_row {
    const char *name;
    size_t n[BENCH_MAX_LAYERS + 1];
    size_t m;
    nnf_act hidden, output;
    nnf_loss loss;
    nnf_optimizer optimizer;
} SUITE[] = {
    /* clang-format off */
    /* name           layers                 batch hidden        output           loss                    optimizer */
    {"planar",      {2, 4, 1},                400, NNF_ACT_TANH, NNF_ACT_SIGMOID, NNF_LOSS_BCE,           NNF_OPT_SGD},
    {"cat2",        {12288, 7, 1},            209, NNF_ACT_RELU, NNF_ACT_SIGMOID, NNF_LOSS_BCE,           NNF_OPT_SGD},
    {"catL",        {12288, 20, 7, 5, 1},     209, NNF_ACT_RELU, NNF_ACT_SIGMOID, NNF_LOSS_BCE,           NNF_OPT_SGD},
    {"mlp-med",     {784, 256, 128, 1},       256, NNF_ACT_RELU, NNF_ACT_SIGMOID, NNF_LOSS_BCE,           NNF_OPT_SGD},
    {"mlp-wide",    {1024, 1024, 1024, 1},    512, NNF_ACT_RELU, NNF_ACT_SIGMOID, NNF_LOSS_BCE,           NNF_OPT_SGD},
    {"big",         {4096, 4096, 4096, 1},   1024, NNF_ACT_RELU, NNF_ACT_SIGMOID, NNF_LOSS_BCE,           NNF_OPT_SGD},
    {"digits-adam", {784, 256, 128, 10},      128, NNF_ACT_RELU, NNF_ACT_SOFTMAX, NNF_LOSS_CROSS_ENTROPY, NNF_OPT_ADAM},
    /* clang-format on */
};

#define SEED_X UINT64_C(0x6e6e66) /* inputs */
#define SEED_Y UINT64_C(0x6e6e67) /* labels */

static const char *const ACT_NAMES[] = {"linear", "sigmoid",    "tanh",
                                        "relu",   "leaky_relu", "softmax"};

size_t bench_suite_size(void)
{
    return sizeof SUITE / sizeof SUITE[0];
}

void bench_suite_case(size_t i, bench_case *out)
{
    const struct suite_row *s = &SUITE[i];
    memset(out, 0, sizeof *out);
    strcpy(out->name, s->name);
    while (s->n[out->L + 1] != 0)
        out->L++;
    memcpy(out->n, s->n, sizeof out->n);
    out->m = s->m;
    out->hidden = s->hidden;
    out->output = s->output;
    out->loss = s->loss;
    out->optimizer = s->optimizer;
}

const char *bench_act_name(nnf_act act)
{
    return (unsigned)act < sizeof ACT_NAMES / sizeof ACT_NAMES[0] ? ACT_NAMES[act] : "?";
}

int bench_act_parse(const char *s, nnf_act *act)
{
    for (size_t i = 0; i < sizeof ACT_NAMES / sizeof ACT_NAMES[0]; i++) {
        if (strcmp(s, ACT_NAMES[i]) == 0) {
            *act = (nnf_act)i;
            return 0;
        }
    }
    return -1;
}

const char *bench_loss_name(nnf_loss loss)
{
    return loss == NNF_LOSS_BCE ? "bce" : loss == NNF_LOSS_MSE ? "mse" : "ce";
}

const char *bench_optimizer_name(nnf_optimizer opt)
{
    return opt == NNF_OPT_SGD ? "sgd" : opt == NNF_OPT_MOMENTUM ? "momentum" : "adam";
}

/* "784-256-128-1" with sep '-' */
void bench_layers_str(const bench_case *c, char sep, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t l = 0; l <= c->L && used < len; l++) {
        int k = l ? snprintf(buf + used, len - used, "%c%zu", sep, c->n[l])
                  : snprintf(buf + used, len - used, "%zu", c->n[l]);
        if (k < 0)
            return;
        used += (size_t)k;
    }
}

/* 2 n_in n_out m for Z = W A, the same for dW, and for dA except layer 1. */
double bench_case_flops(const bench_case *c)
{
    double f = 0.0;
    for (size_t l = 1; l <= c->L; l++)
        f += 2.0 * (double)c->n[l - 1] * (double)c->n[l] * (double)c->m * (l == 1 ? 2.0 : 3.0);
    return f;
}

/* 4 ((2 + s) P + sum_l n_l m + w m): parameters, gradients, the
 * optimizer's s state arrays (1 for momentum, 2 for Adam), one activation
 * per layer, and the scratch matrix for dA[l-1] as wide as the widest
 * hidden layer, w (a product cannot write dA over the A it still reads). */
size_t bench_case_bytes_min(const bench_case *c)
{
    size_t p = 0, act = 0, widest = 0;
    size_t state = c->optimizer == NNF_OPT_ADAM ? 2 : c->optimizer == NNF_OPT_MOMENTUM ? 1 : 0;
    for (size_t l = 1; l <= c->L; l++) {
        p += c->n[l - 1] * c->n[l] + c->n[l];
        act += c->n[l] * c->m;
        if (l < c->L && c->n[l] > widest)
            widest = c->n[l];
    }
    return 4 * ((2 + state) * p + act + widest * c->m);
}

double bench_case_bytes_moved(const bench_case *c, size_t cache_bytes)
{
    double p = 0.0;
    for (size_t l = 1; l <= c->L; l++)
        p += (double)c->n[l - 1] * (double)c->n[l] + (double)c->n[l];
    double bytes = 2.0 * 4.0 * (double)c->n[0] * (double)c->m;
    if (4.0 * p > (double)cache_bytes)
        bytes += 3.0 * 4.0 * p;
    return bytes;
}

nnf_status bench_make_net(const bench_case *c, nnf_net **out, char *err, size_t len)
{
    nnf_net *net = NULL;
    nnf_status st = nnf_net_create(&net, c->n[0]);
    for (size_t l = 1; l <= c->L && st == NNF_OK; l++)
        st = nnf_net_add_dense(net, c->n[l], l == c->L ? c->output : c->hidden, NULL);
    if (st == NNF_OK)
        st = nnf_net_set_loss(net, c->loss);
    if (st == NNF_OK)
        st = nnf_net_set_param(net, NNF_PARAM_LEARNING_RATE, BENCH_LR);
    if (st == NNF_OK)
        st = nnf_net_set_param(net, NNF_PARAM_OPTIMIZER, (double)c->optimizer);
    if (st == NNF_OK)
        st = nnf_net_init(net, NNF_INIT_DEFAULT, 1);
    if (st != NNF_OK) {
        snprintf(err, len, "creating the net: %s (%s)", nnf_status_str(st), nnf_net_errmsg(net));
        nnf_net_destroy(net);
        net = NULL;
    }
    *out = net;
    return st;
}

int bench_make_data(const bench_case *c, size_t m, float **x, float **y)
{
    size_t nx = c->n[0] * m, ny = c->n[c->L] * m;
    ref_rng gx = {SEED_X}, gy = {SEED_Y};

    *x = malloc(nx * sizeof **x);
    *y = malloc(ny * sizeof **y);
    if (*x == NULL || *y == NULL) {
        free(*x);
        free(*y);
        *x = *y = NULL;
        return -1;
    }
    for (size_t i = 0; i < nx; i++)
        (*x)[i] = (float)ref_rng_uniform(&gx, -1.0, 1.0);
    size_t k = c->n[c->L];
    if (c->loss == NNF_LOSS_CROSS_ENTROPY) { /* one-hot rows: sample i is of class floor(u k) */
        for (size_t i = 0; i < m; i++) {
            size_t cls = (size_t)(ref_rng_uniform(&gy, 0.0, 1.0) * (double)k) % k;
            for (size_t j = 0; j < k; j++)
                (*y)[i * k + j] = j == cls ? 1.0f : 0.0f;
        }
        return 0;
    }
    for (size_t i = 0; i < ny; i++) {
        double u = ref_rng_uniform(&gy, 0.0, 1.0);
        (*y)[i] = c->loss == NNF_LOSS_BCE ? (u < 0.5 ? 0.0f : 1.0f) : (float)u;
    }
    return 0;
}
