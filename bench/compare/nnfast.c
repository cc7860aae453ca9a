/* SPDX-License-Identifier: MIT */
/* nnfast.c - the reference peer: nnf_net_train_step() on a net holding the
 * case's initial parameters, with the BLAS on the given thread count. */
#include "common.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct ctx {
    nnf_net *net;
    const cmp_problem *p;
} ctx;

static void destroy(void *v)
{
    ctx *c = v;
    if (c == NULL)
        return;
    nnf_net_destroy(c->net);
    free(c);
}

static void *create(const cmp_problem *p, int threads, char *err, size_t len)
{
    ctx *c = calloc(1, sizeof *c);
    if (c == NULL) {
        snprintf(err, len, "out of memory");
        return NULL;
    }
    c->p = p;
    nnf_status st = nnf_set_threads(threads);
    if (st != NNF_OK) {
        snprintf(err, len, "nnf_set_threads(%d): %s", threads, nnf_status_str(st));
        destroy(c);
        return NULL;
    }
    if (cmp_make_net(&p->k, &c->net, err, len) != NNF_OK) {
        destroy(c);
        return NULL;
    }
    /* The net already holds these values (same init); setting them anyway
     * makes the start of every peer come from the same arrays. */
    for (size_t l = 1; l <= p->k.c.L && st == NNF_OK; l++) {
        nnf_layer *ly = nnf_net_layer(c->net, l);
        st = nnf_layer_set_weights(ly, p->w[l]);
        if (st == NNF_OK)
            st = nnf_layer_set_bias(ly, p->b[l]);
    }
    if (st != NNF_OK) {
        snprintf(err, len, "setting the parameters: %s", nnf_status_str(st));
        destroy(c);
        return NULL;
    }
    cmp_info("nnfast", p->k.c.name, "libnnfast %s, nnf_set_threads(%d)", nnf_version_string(),
             threads);
    return c;
}

static int step(void *v)
{
    ctx *c = v;
    nnf_status st = nnf_net_train_step(c->net, c->p->x, c->p->y, c->p->k.c.m, NULL);
    if (st != NNF_OK)
        fprintf(stderr, "nnf_net_train_step: %s (%s)\n", nnf_status_str(st),
                nnf_net_errmsg(c->net));
    return st == NNF_OK ? 0 : -1;
}

static double loss(void *v)
{
    ctx *c = v;
    float cost;
    nnf_status st = nnf_net_evaluate(c->net, c->p->x, c->p->y, c->p->k.c.m, &cost, NULL);
    return st == NNF_OK ? (double)cost : -1.0;
}

int main(int argc, char **argv)
{
    static const cmp_peer peer = {"nnfast", create, step, loss, destroy};
    return cmp_main(argc, argv, &peer);
}
