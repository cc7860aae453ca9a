/* SPDX-License-Identifier: MIT */
/* snapshot.h - a net's whole state read through the public API, to show
 * that a failed call changed nothing, or that two nets are twins. */
#ifndef NNF_TESTS_SNAPSHOT_H
#define NNF_TESTS_SNAPSHOT_H

#include <stddef.h>

#include "nnfast.h"

#define SNAPSHOT_SETTINGS 7 /* the keys of nnf_param, 0..6 */

/* What a comparison looks at besides what it always compares: the
 * architecture (inputs, layers, units, activations, slopes), the loss,
 * every setting of nnf_param, and every weight and bias. */
enum {
    SNAP_GRADS = 1, /* whether the net holds gradients, and their values */
    SNAP_STATE = 2  /* the bytes nnf_net_save_mem writes with the optimizer's
                       state: also the state, its step count and the seed */
};

typedef struct snapshot {
    size_t depth, inputs, outputs;
    nnf_loss loss;
    double setting[SNAPSHOT_SETTINGS];
    size_t *units, *fan_in; /* per layer, [depth] */
    nnf_act *act;
    float *slope;
    size_t n_params;       /* every W then b, layer after layer */
    float *params, *grads; /* grads NULL: the net held no gradients */
    size_t image_size;
    unsigned char *image;
} snapshot;

/* Read everything of net into s (malloc'd; free with snapshot_free). Where
 * the net holds no gradients, finding that out makes a gradient getter
 * fail, which writes the net's message: take snapshots before a test sets
 * the message it checks, and after it has checked it. */
void snapshot_take(nnf_net *net, snapshot *s);
void snapshot_free(snapshot *s);

/* 0 when a and b agree in all that flags ask for; else 1, with the first
 * difference described in why (size bytes; why may be NULL). */
int snapshot_differ(const snapshot *a, const snapshot *b, unsigned flags, char *why, size_t size);

/* Fail the test (what: the call to blame) unless net is as before in all
 * that flags ask for. before stays the caller's to free. */
void assert_unchanged(nnf_net *net, const snapshot *before, unsigned flags, const char *what);

/* Fail the test unless a and b agree in all that flags ask for. */
void assert_twins(nnf_net *a, nnf_net *b, unsigned flags);

#endif
