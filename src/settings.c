/* SPDX-License-Identifier: MIT */
/* settings.c - the table of the nnf_param settings and the names of the
 * public enums. A new setting is one row here (plus its meaning where it is
 * used); defaults, set/get, clone, save, load and their checks follow. */
#include "settings.h"
#include "call.h"
#include "core/core.h"

#include <float.h>
#include <math.h>
#include <stdio.h>

/* The core's activation codes are the public values. */
_Static_assert(NNF__LINEAR == (int)NNF_ACT_LINEAR && NNF__SIGMOID == (int)NNF_ACT_SIGMOID &&
                   NNF__TANH == (int)NNF_ACT_TANH && NNF__RELU == (int)NNF_ACT_RELU &&
                   NNF__LEAKY == (int)NNF_ACT_LEAKY_RELU,
               "core activation codes must equal nnf_act");

#define OPEN   1
#define CLOSED 0

/* clang-format off */
const nnf__param_row nnf__params[NNF__N_PARAMS] = {
    /*                            name             type             default lo   hi               lo end  hi end  float */
    [NNF_PARAM_LEARNING_RATE] = {"learning rate", NULL,            0.01,  0.0, (double)FLT_MAX, OPEN,   CLOSED, 1},
    [NNF_PARAM_OPTIMIZER]     = {"optimizer",     "nnf_optimizer", 0.0,   0.0, NNF__N_OPTIMIZERS - 1, CLOSED, CLOSED, 0},
    [NNF_PARAM_MOMENTUM]      = {"momentum",      NULL,            0.9,   0.0, 1.0,             CLOSED, OPEN,   0},
    [NNF_PARAM_ADAM_BETA1]    = {"Adam beta1",    NULL,            0.9,   0.0, 1.0,             CLOSED, OPEN,   0},
    [NNF_PARAM_ADAM_BETA2]    = {"Adam beta2",    NULL,            0.999, 0.0, 1.0,             CLOSED, OPEN,   0},
    /* an epsilon below the float range acts as FLT_MIN (optimizer.c) */
    [NNF_PARAM_ADAM_EPSILON]  = {"Adam epsilon",  NULL,            1e-8,  0.0, (double)FLT_MAX, OPEN,   CLOSED, 0},
    [NNF_PARAM_L2_PENALTY]    = {"L2 penalty",    NULL,            0.0,   0.0, (double)FLT_MAX, CLOSED, CLOSED, 1},
    [NNF_PARAM_WEIGHT_DECAY]  = {"weight decay",  NULL,            0.01,  0.0, (double)FLT_MAX, CLOSED, CLOSED, 0},
};
/* clang-format on */

int nnf__param_known(long key)
{
    return key >= 0 && key < NNF__N_PARAMS;
}

int nnf__param_valid(nnf_param key, double v)
{
    const nnf__param_row *r = &nnf__params[key];
    if (r->type && v != floor(v)) /* a choice is an integer; NaN fails below */
        return 0;
    int above = r->lo_open ? v > r->lo : v >= r->lo;
    int below = r->hi_open ? v < r->hi : v <= r->hi;
    return above && below && !(r->in_float && v > 0.0 && (float)v == 0.0f);
}

/* "FLT_MAX" for FLT_MAX, else %g. */
static const char *bound(double v, char *buf, size_t cap)
{
    if (v == (double)FLT_MAX)
        return "FLT_MAX";
    (void)snprintf(buf, cap, "%g", v);
    return buf;
}

nnf_status nnf__param_fail(nnf_status st, const char *where, nnf_param key, double v)
{
    const nnf__param_row *r = &nnf__params[key];
    char lo[32], hi[32];
    if (r->type)
        return nnf__fail(st, "%s%s %g is not an %s (expected %g..%g)", where, r->name, v, r->type,
                         r->lo, r->hi);
    if (r->in_float && v > 0.0 && (float)v == 0.0f)
        return nnf__fail(st, "%s%s %g underflows to 0 in float (expected %sat least %g)", where,
                         r->name, v, r->lo_open ? "" : "0 or ", (double)FLT_TRUE_MIN);
    return nnf__fail(st, "%s%s %g is out of range (expected %s %s value %s %s)", where, r->name, v,
                     bound(r->lo, lo, sizeof lo),
                     r->lo_open ? "<" : "<=", r->hi_open ? "<" : "<=", bound(r->hi, hi, sizeof hi));
}

void nnf__param_defaults(double v[NNF__N_PARAMS])
{
    for (int k = 0; k < NNF__N_PARAMS; k++)
        v[k] = nnf__params[k].def;
}

static const char *const ACT_NAMES[NNF__N_ACTS] = {[NNF_ACT_LINEAR] = "linear",
                                                   [NNF_ACT_SIGMOID] = "sigmoid",
                                                   [NNF_ACT_TANH] = "tanh",
                                                   [NNF_ACT_RELU] = "relu",
                                                   [NNF_ACT_LEAKY_RELU] = "leaky_relu",
                                                   [NNF_ACT_SOFTMAX] = "softmax"};
static const char *const LOSS_NAMES[NNF__N_LOSSES] =
    {[NNF_LOSS_BCE] = "BCE", [NNF_LOSS_MSE] = "MSE", [NNF_LOSS_CROSS_ENTROPY] = "cross-entropy"};

int nnf__act_valid(long v)
{
    return v >= 0 && v < NNF__N_ACTS;
}

int nnf__loss_valid(long v)
{
    return v >= 0 && v < NNF__N_LOSSES;
}

const char *nnf__act_name(long act)
{
    return nnf__act_valid(act) ? ACT_NAMES[act] : "?";
}

const char *nnf__loss_name(long loss)
{
    return nnf__loss_valid(loss) ? LOSS_NAMES[loss] : "?";
}
