/* SPDX-License-Identifier: MIT */
/* metrics.h - a net measured on labelled data, as sums (metrics.c). */
#ifndef NNF_METRICS_H
#define NNF_METRICS_H

#include "net.h"

/* Sums over a data set, in double. */
typedef struct nnf__measures {
    double loss;             /* the per-sample losses */
    double correct, answers; /* right answers and answers (NNF_METRIC_ACCURACY; 0 for an
                                output that is neither sigmoid nor softmax) */
    double sq_err, abs_err;  /* (a - y)^2 and |a - y| over samples and units */
    double samples;
} nnf__measures;

/* Forward passes over the checked batch (x, y) of m samples in chunks of
 * the net's workspace (discarding a stored forward pass), summed into out;
 * ss_res (n_L doubles, or NULL) receives sum (a - y)^2 per output unit. */
nnf_status nnf__measure(nnf_net *net, const float *x, const float *y, size_t m, double *ss_res,
                        nnf__measures *out);

#endif /* NNF_METRICS_H */
