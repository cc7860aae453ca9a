/* SPDX-License-Identifier: MIT */
/* common.h - what the C peers of the comparison share: the cases (nnfast-bench's
 * suite, from bench/cases.c itself), the problem of a case (its data and
 * nnfast's initial parameters), and the driver that checks the loss after 10
 * steps and times steps. A peer supplies four functions; cmp_main() does the
 * rest. */
#ifndef NNF_COMPARE_COMMON_H
#define NNF_COMPARE_COMMON_H

#include <stddef.h>

#include "bench.h" /* nnfast-bench's bench_case, compiled from bench/cases.c */

#define CMP_CHECK_STEPS 10 /* steps before the loss that all peers must agree on */

/* A case: nnfast-bench's shapes, activations, loss and optimizer, and the
 * optimizer's constants as nnfast-bench's net has them. */
typedef struct cmp_case {
    bench_case c;
    nnf_optimizer opt;            /* NNF_OPT_SGD or NNF_OPT_ADAM */
    double lr, beta1, beta2, eps; /* betas, eps: Adam only */
} cmp_case;

/* The inputs of every peer: `float x[m][n_0]`, `float y[m][n_L]` and, for
 * l = 1..L, `float w[l][n_l][n_{l-1}]` (row j = unit j) and `float b[l][n_l]`
 * as nnf_net_init(NNF_INIT_DEFAULT, 1) made them. */
typedef struct cmp_problem {
    cmp_case k;
    float *x, *y;
    float *w[BENCH_MAX_LAYERS + 1], *b[BENCH_MAX_LAYERS + 1];
} cmp_problem;

/* An err of create that starts with this: the peer cannot run the case as
 * asked (a limitation of the library, not a failure); exit status 3. */
#define CMP_UNSUPPORTED      "unsupported: "
#define CMP_EXIT_UNSUPPORTED 3

/* What a peer implements. create returns NULL after writing why to err;
 * step is one full-batch training step (forward, loss, backward, update),
 * 0 or -1; loss is J of the current parameters on the whole batch, changing
 * nothing (a negative value or NaN on failure). */
typedef struct cmp_peer {
    const char *name;
    void *(*create)(const cmp_problem *p, int threads, char *err, size_t len);
    int (*step)(void *ctx);
    double (*loss)(void *ctx);
    void (*destroy)(void *ctx);
} cmp_peer;

/* nnfast's net for the case: bench_make_net (layers, loss, learning rate,
 * optimizer, nnf_net_init(NNF_INIT_DEFAULT, 1)). */
nnf_status cmp_make_net(const cmp_case *k, nnf_net **out, char *err, size_t len);

/* The suite case named name, with its optimizer's constants read from its
 * nnfast net, and the problem: 0, or -1 with a message in err (an unknown
 * name included). cmp_problem_free accepts a zeroed problem. */
int cmp_problem_make(const char *name, cmp_problem *p, char *err, size_t len);
void cmp_problem_free(cmp_problem *p);

/* Writes the problem for pytorch.py (format in README.md); 0 or -1. */
int cmp_problem_dump(const cmp_problem *p, const char *path, char *err, size_t len);

/* J of the logits z (`float z[m][n_L]`) against the case's labels y, in
 * double with the stable formulas nnfast uses: BCE sums max(z, 0) - z y +
 * log1p(e^-|z|) over the m n_L outputs, cross-entropy sums logsumexp(z) -
 * sum_k y_k z_k over the samples; both divided by m. */
double cmp_cost_from_logits(const bench_case *c, const float *z, const float *y);

double cmp_now(void);

/* A line "info peer=... case=... <text>" on stderr: how the peer computes
 * (kernels chosen, fallbacks), which run.sh shows with --verbose. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
void cmp_info(const char *peer, const char *case_name, const char *fmt, ...);

/* The command line of every C peer (see usage in common.c); returns the
 * process's exit status. */
int cmp_main(int argc, char **argv, const cmp_peer *peer);

#endif /* NNF_COMPARE_COMMON_H */
