/* SPDX-License-Identifier: MIT */
/* check.c - before any timing: one train step of a copy of the bench net
 * against the float64 reference of tests/ref.c (cost, every gradient, every
 * updated parameter). A wrong step gets no figures. */
#include "bench.h"
#include "ref.h"

#include <math.h>
#include <stdlib.h>

/* Everything the check owns, freed in one place. */
typedef struct check_state {
    nnf_net *net;
    ref_net ref;
    float *x, *y, *buf;
    double *xd, *yd;
} check_state;

static void check_free(check_state *s)
{
    nnf_net_destroy(s->net);
    ref_net_free(&s->ref);
    free(s->x);
    free(s->y);
    free(s->buf);
    free(s->xd);
    free(s->yd);
}

/* The same shapes, activations and loss as the bench net, with its weights
 * and biases copied in (float) and into the reference (double). */
static int copy_net(check_state *s, nnf_net *src, const bench_case *c, char *err, size_t len)
{
    nnf_act act[BENCH_MAX_LAYERS];
    for (size_t l = 1; l <= c->L; l++)
        act[l - 1] = l == c->L ? c->output : c->hidden;
    if (ref_net_init(&s->ref, c->L, c->n, act, NULL, c->loss) != 0) {
        snprintf(err, len, "reference net: bad shape or out of memory");
        return -1;
    }
    if (bench_make_net(c, &s->net, err, len) != NNF_OK)
        return -1;
    for (size_t l = 1; l <= c->L; l++) {
        nnf_layer *from = nnf_net_layer(src, l), *to = nnf_net_layer(s->net, l);
        size_t nw = c->n[l - 1] * c->n[l];
        nnf_status st = nnf_layer_get_weights(from, s->buf);
        if (st == NNF_OK)
            st = nnf_layer_set_weights(to, s->buf);
        ref_to_double(s->ref.w[l], s->buf, nw);
        if (st == NNF_OK)
            st = nnf_layer_get_bias(from, s->buf);
        if (st == NNF_OK)
            st = nnf_layer_set_bias(to, s->buf);
        ref_to_double(s->ref.b[l], s->buf, c->n[l]);
        if (st != NNF_OK) {
            snprintf(err, len, "copying layer %zu: %s", l, nnf_status_str(st));
            return -1;
        }
    }
    return 0;
}

/* Raises *worst to err (naming what) when larger; NaN counts as larger. */
static void note(double e, const char *what, size_t l, double *worst, char *name, size_t len)
{
    if (e > *worst || isnan(e)) {
        *worst = isnan(e) ? (double)INFINITY : e;
        if (l)
            snprintf(name, len, "layer %zu %s", l, what);
        else
            snprintf(name, len, "%s", what);
    }
}

/* Compares the net after its step with the reference after its own. */
static double compare(check_state *s, const bench_case *c, double cost, double cost_ref, char *name,
                      size_t len)
{
    double worst = 0.0;
    note(fabs(cost - cost_ref) / fmax(fabs(cost_ref), REF_TINY), "cost J", 0, &worst, name, len);
    for (size_t l = 1; l <= c->L; l++) {
        nnf_layer *ly = nnf_net_layer(s->net, l);
        size_t nw = c->n[l - 1] * c->n[l], nb = c->n[l];
        if (nnf_layer_get_weight_grad(ly, s->buf) != NNF_OK)
            return (double)INFINITY;
        note(ref_rel_err_f(s->buf, s->ref.dw[l], nw), "dW", l, &worst, name, len);
        if (nnf_layer_get_bias_grad(ly, s->buf) != NNF_OK)
            return (double)INFINITY;
        note(ref_rel_err_f(s->buf, s->ref.db[l], nb), "db", l, &worst, name, len);
        nnf_layer_get_weights(ly, s->buf);
        note(ref_rel_err_f(s->buf, s->ref.w[l], nw), "updated W", l, &worst, name, len);
        nnf_layer_get_bias(ly, s->buf);
        note(ref_rel_err_f(s->buf, s->ref.b[l], nb), "updated b", l, &worst, name, len);
    }
    return worst;
}

int bench_check(nnf_net *net, const bench_case *c, size_t check_m, double *max_err, char *err,
                size_t len)
{
    check_state s = {0};
    size_t biggest = 0, n0 = c->n[0], nL = c->n[c->L];
    float cost = 0.0f;
    char what[64] = "";
    int rc = -1;

    for (size_t l = 1; l <= c->L; l++)
        if (c->n[l - 1] * c->n[l] > biggest)
            biggest = c->n[l - 1] * c->n[l];
    s.buf = malloc(biggest * sizeof(float));
    s.xd = malloc(n0 * check_m * sizeof(double));
    s.yd = malloc(nL * check_m * sizeof(double));
    if (!s.buf || !s.xd || !s.yd || bench_make_data(c, check_m, &s.x, &s.y) != 0) {
        snprintf(err, len, "out of memory");
        goto out;
    }
    if (copy_net(&s, net, c, err, len) != 0)
        goto out;
    ref_to_double(s.xd, s.x, n0 * check_m);
    ref_to_double(s.yd, s.y, nL * check_m);

    nnf_status st = nnf_net_train_step(s.net, s.x, s.y, check_m, &cost);
    if (st != NNF_OK) {
        snprintf(err, len, "nnf_net_train_step: %s (%s)", nnf_status_str(st),
                 nnf_net_errmsg(s.net));
        goto out;
    }
    if (ref_forward(&s.ref, s.xd, check_m) == NULL) {
        snprintf(err, len, "reference forward: out of memory");
        goto out;
    }
    double cost_ref = ref_cost(&s.ref, s.yd);
    if (ref_backward(&s.ref, s.yd) != 0) {
        snprintf(err, len, "reference backward: out of memory");
        goto out;
    }
    /* the optimizer's first update, with nnfast's default constants */
    if (c->optimizer == NNF_OPT_MOMENTUM)
        rc = ref_update_momentum(&s.ref, BENCH_LR, 0.9);
    else if (c->optimizer == NNF_OPT_ADAM)
        rc = ref_update_adam(&s.ref, BENCH_LR, 0.9, 0.999, 1e-8);
    else
        ref_update(&s.ref, BENCH_LR);
    if (rc != 0 && c->optimizer != NNF_OPT_SGD) {
        snprintf(err, len, "reference update: out of memory");
        rc = -1;
        goto out;
    }
    rc = -1;

    *max_err = compare(&s, c, (double)cost, cost_ref, what, sizeof what);
    if (*max_err <= BENCH_CHECK_TOL)
        rc = 0;
    else
        snprintf(err, len,
                 "one train step at m = %zu differs from the float64 reference: "
                 "%s has relative error %.3g (tolerance %g)",
                 check_m, what[0] ? what : "a gradient", *max_err, BENCH_CHECK_TOL);
out:
    check_free(&s);
    return rc;
}
