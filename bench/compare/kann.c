/* SPDX-License-Identifier: MIT */
/* kann.c - the KANN peer, through KANN's public API (kann.h, kautodiff.h).
 * The graph is KANN's own MLP: kann_layer_input, kann_layer_dense with
 * kad_relu / kad_tanh / kad_sigm for the hidden layers, and kann_layer_cost
 * (a dense layer, then sigmoid + kad_ce_bin for KANN_C_CEB, softmax +
 * kad_ce_multi for KANN_C_CEM). A step is kann_cost(ann, 0, 1) (forward and
 * backward, gradients in ann->g) and the update, a plain loop over ann->x and
 * ann->g: KANN ships only kann_RMSprop, so SGD and Adam are written here.
 *
 * Built twice from this file: "kann" with KANN's own SSE kernels, as KANN's
 * Makefile builds by default, and "kann+blas" with -DHAVE_CBLAS, KANN's
 * option that routes its matrix products to cblas_sgemm (OpenBLAS here).
 * Threads: KANN's own model, kann_mt(), which splits the batch over T
 * threads, each running the whole graph on its share; the BLAS stays on one
 * thread per caller so that T threads in all compute. */
#include "common.h"

#include "kann.h"

#ifdef HAVE_CBLAS
#include <cblas.h> /* OpenBLAS's: openblas_set_num_threads */
#define NAME "kann+blas"
#else
#define NAME "kann"
#endif

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct ctx {
    const cmp_problem *p;
    kann_t *ann;
    kad_node_t *logits; /* the output layer's dense node */
    int i_logits;       /* its index in ann->v */
    int n_var, adam_t;
    float *mo, *ve; /* Adam's state over ann->x */
} ctx;

static void destroy(void *v)
{
    ctx *c = v;
    if (c == NULL)
        return;
    if (c->ann) {
        kann_mt(c->ann, 1, 0); /* stops and frees the worker threads */
        kann_delete(c->ann);
    }
    free(c->mo);
    free(c->ve);
    free(c);
}

/* kann_layer_dense(in, n) is kad_add(kad_cmul(in, W), b) with W a
 * [n][n_in] variable, row j = unit j's weights: nnfast's layout, so the
 * weights are copied as they are. Checks the shapes before trusting them. */
static int load_dense(kad_node_t *dense, const float *w, const float *b, size_t n_out, size_t n_in)
{
    if (dense->n_child != 2 || dense->child[0]->n_child != 2)
        return -1;
    kad_node_t *wn = dense->child[0]->child[1], *bn = dense->child[1];
    if (!kad_is_var(wn) || !kad_is_var(bn) || wn->n_d != 2 || bn->n_d != 1 ||
        (size_t)wn->d[0] != n_out || (size_t)wn->d[1] != n_in || (size_t)bn->d[0] != n_out)
        return -1;
    memcpy(wn->x, w, n_out * n_in * sizeof(float));
    memcpy(bn->x, b, n_out * sizeof(float));
    return 0;
}

/* kann_mt splits the batch as below and points each thread's feed at
 * &x[k * kad_len(feed) / batch] with k and the product in int (kann.c,
 * mt_kickoff). Past INT_MAX a thread reads its samples from a wrong address
 * (big at 2 threads: 512 * 1024 * 4096 = 2^31), so such a split is refused. */
static int mt_split_fits(const bench_case *bc, int threads)
{
    int n_thr = threads < (int)bc->m ? threads : (int)bc->m, b = (int)bc->m, k = 0;
    size_t widest = bc->n[0] > bc->n[bc->L] ? bc->n[0] : bc->n[bc->L]; /* of the two feeds */
    for (int i = 0; i < n_thr; i++) {
        if ((double)k * (double)b * (double)widest > (double)INT_MAX)
            return 0;
        k += (b - k) / (n_thr - i);
    }
    return 1;
}

static void *create(const cmp_problem *p, int threads, char *err, size_t len)
{
    const bench_case *bc = &p->k.c;
    kad_node_t *dense[BENCH_MAX_LAYERS + 1] = {0};
    ctx *c = calloc(1, sizeof *c);
    if (c == NULL) {
        snprintf(err, len, "out of memory");
        return NULL;
    }
    c->p = p;
    if (threads > 1 && !mt_split_fits(bc, threads)) {
        snprintf(err, len,
                 CMP_UNSUPPORTED "kann_mt's split of %zu samples over %d threads overflows "
                                 "KANN's int offsets (kann.c mt_kickoff) at this size",
                 bc->m, threads);
        free(c);
        return NULL;
    }
#ifdef HAVE_CBLAS
    openblas_set_num_threads(1);
#endif
    kad_node_t *t = kann_layer_input((int)bc->n[0]);
    for (size_t l = 1; l < bc->L; l++) {
        dense[l] = t = kann_layer_dense(t, (int)bc->n[l]);
        switch (bc->hidden) {
        case NNF_ACT_RELU: t = kad_relu(t); break;
        case NNF_ACT_TANH: t = kad_tanh(t); break;
        case NNF_ACT_SIGMOID: t = kad_sigm(t); break;
        case NNF_ACT_LINEAR: break;
        default: snprintf(err, len, "hidden activation %d", (int)bc->hidden); goto failed;
        }
    }
    int cost_type;
    if (bc->output == NNF_ACT_SIGMOID && bc->loss == NNF_LOSS_BCE)
        cost_type = KANN_C_CEB;
    else if (bc->output == NNF_ACT_SOFTMAX && bc->loss == NNF_LOSS_CROSS_ENTROPY)
        cost_type = KANN_C_CEM;
    else {
        snprintf(err, len, "output %d with loss %d", (int)bc->output, (int)bc->loss);
        goto failed;
    }
    kad_node_t *cost = kann_layer_cost(t, (int)bc->n[bc->L], cost_type);
    /* cost = ce(act(dense), truth): the output layer's dense node */
    c->logits = dense[bc->L] = cost->child[0]->child[0];
    c->ann = kann_new(cost, 0);
    if (c->ann == NULL) {
        snprintf(err, len, "kann_new failed");
        goto failed;
    }
    for (c->i_logits = 0; c->i_logits < c->ann->n; c->i_logits++)
        if (c->ann->v[c->i_logits] == c->logits)
            break;
    if (c->i_logits == c->ann->n) {
        snprintf(err, len, "the output layer is not in KANN's graph");
        goto failed;
    }
    for (size_t l = 1; l <= bc->L; l++) {
        if (load_dense(dense[l], p->w[l], p->b[l], bc->n[l], bc->n[l - 1]) != 0) {
            snprintf(err, len, "layer %zu: not the dense layer this file expects", l);
            goto failed;
        }
    }
    c->n_var = kann_size_var(c->ann);
    float *x = (float *)p->x, *y = (float *)p->y; /* KANN only reads the feeds */
    if (kann_feed_bind(c->ann, KANN_F_IN, 0, &x) != 1 ||
        kann_feed_bind(c->ann, KANN_F_TRUTH, 0, &y) != 1) {
        snprintf(err, len, "binding the input and truth feeds");
        goto failed;
    }
    kann_set_batch_size(c->ann, (int)bc->m);
    if (threads > 1)
        kann_mt(c->ann, threads, (int)bc->m);
    if (p->k.opt == NNF_OPT_ADAM) {
        c->mo = calloc((size_t)c->n_var, sizeof(float));
        c->ve = calloc((size_t)c->n_var, sizeof(float));
        if (c->mo == NULL || c->ve == NULL) {
            snprintf(err, len, "out of memory for Adam's state");
            goto failed;
        }
    }
    cmp_info(NAME, bc->name, "KANN %s, %d variables, kann_mt threads %d, %s", KANN_VERSION,
             c->n_var, threads,
#ifdef HAVE_CBLAS
             "cblas_sgemm (OpenBLAS, 1 thread per caller)"
#else
             "KANN's own sgemm"
#endif
    );
    return c;
failed:
    destroy(c);
    return NULL;
}

static int step(void *v)
{
    ctx *c = v;
    const cmp_case *k = &c->p->k;
    float *x = c->ann->x;
    const float *g = c->ann->g;
    float cost = kann_cost(c->ann, 0, 1);
    if (!isfinite(cost))
        return -1;
    if (k->opt == NNF_OPT_SGD) {
        float lr = (float)k->lr;
        for (int i = 0; i < c->n_var; i++)
            x[i] -= lr * g[i];
        return 0;
    }
    /* nnfast's Adam: W -= lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps) */
    c->adam_t++;
    float b1 = (float)k->beta1, b2 = (float)k->beta2, lr = (float)k->lr, eps = (float)k->eps;
    float c1 = (float)(1.0 - pow(k->beta1, c->adam_t));
    float c2 = (float)(1.0 - pow(k->beta2, c->adam_t));
    for (int i = 0; i < c->n_var; i++) {
        c->mo[i] = b1 * c->mo[i] + (1.0f - b1) * g[i];
        c->ve[i] = b2 * c->ve[i] + (1.0f - b2) * g[i] * g[i];
        x[i] -= lr * (c->mo[i] / c1) / (sqrtf(c->ve[i] / c2) + eps);
    }
    return 0;
}

/* J of the current parameters from the output layer's logits
 * (cmp_cost_from_logits: nnfast's stable formulas), not kann_cost()'s value:
 * KANN's kad_ce_bin / kad_ce_multi take the log of the rounded float
 * probability, which cannot resolve a loss of 1e-4 (digits-adam after 10
 * steps) to better than about 1e-3. That value is shown as info. */
static double loss(void *v)
{
    ctx *c = v;
    const bench_case *bc = &c->p->k.c;
    double own = kann_cost(c->ann, 0, 0);
    kann_copy_mt(c->ann, (int)bc->m, c->i_logits); /* from the threads' clones */
    double cost = cmp_cost_from_logits(bc, c->logits->x, c->p->y);
    cmp_info(NAME, bc->name, "kann_cost %.9g, from the logits %.9g", own, cost);
    return cost;
}

int main(int argc, char **argv)
{
    static const cmp_peer peer = {NAME, create, step, loss, destroy};
    return cmp_main(argc, argv, &peer);
}
