/* SPDX-License-Identifier: MIT */
/* settings.h - one table row per nnf_param key (its name, default and range),
 * used by the defaults of a new net, set/get, clone, save, load and the
 * fuzzer; and the bounds and names of the public enums, in one place. */
#ifndef NNF_SETTINGS_H
#define NNF_SETTINGS_H

#include "nnfast.h"

#include <stddef.h>

/* How many values each public enum has (valid values are 0 .. count - 1). */
enum {
    NNF__N_PARAMS = NNF_PARAM_WEIGHT_DECAY + 1,
    NNF__N_ACTS = NNF_ACT_SOFTMAX + 1,
    NNF__N_LOSSES = NNF_LOSS_CROSS_ENTROPY + 1,
    NNF__N_OPTIMIZERS = NNF_OPT_ADAMW + 1,
    NNF__N_INITS = NNF_INIT_SMALL_NORMAL + 1
};

/* A setting's range is lo .. hi, each end included unless marked open; a
 * choice is one of the integers lo .. hi (an enum's values). */
typedef struct nnf__param_row {
    const char *name; /* as messages name it, e.g. "learning rate" */
    const char *type; /* the enum a choice is a value of, else NULL */
    double def;
    double lo, hi;
    unsigned char lo_open, hi_open;
    unsigned char in_float; /* used as a float factor: a positive value that rounds
                               to 0 in float would silently do nothing */
} nnf__param_row;

extern const nnf__param_row nnf__params[NNF__N_PARAMS];

/* Whether key is an nnf_param, and v a value of its range. */
int nnf__param_known(long key);
int nnf__param_valid(nnf_param key, double v);
/* Report v out of key's range (the current call fails with NNF_ERR_ARG, or
 * with st) as "<where><name> <v> is out of range (expected <range>)". */
nnf_status nnf__param_fail(nnf_status st, const char *where, nnf_param key, double v);
/* Every setting at its default, indexed by nnf_param. */
void nnf__param_defaults(double v[NNF__N_PARAMS]);

/* Whether v is a value of the enum, and its name ("?" for others). */
int nnf__act_valid(long v);
int nnf__loss_valid(long v);
const char *nnf__act_name(long act);
const char *nnf__loss_name(long loss);

#endif /* NNF_SETTINGS_H */
