/* SPDX-License-Identifier: MIT */
/* gradcheck.c - nnf_net_gradcheck: the backward pass against central
 * differences of J. J is evaluated in double by plain loops written here
 * from the definitions of docs/math.md, apart from the float kernels on
 * purpose: the check must not share the code it checks. Perturbing one
 * parameter of layer l changes one row of Z[l], so each evaluation updates
 * that row and recomputes the layers above it only. */
#include "alloc.h"
#include "check.h"
#include "pass.h"
#include "workspace.h"

#include <math.h>
#include <string.h>

enum { MAX_CHECKED = 10000 };

/* The net in double: its parameters and, from the last full evaluation,
 * Z[l] and A[l] of every layer (n[l] x m, column-major). */
typedef struct dnet {
    const nnf_net *net;
    size_t m;
    const double *x; /* A[0]: x through the input scaling, as the float passes see it */
    const float *y;
    double *w;       /* the parameter arena in double */
    double **z, **a; /* [depth] */
} dnet;

static double act(int g, double alpha, double v)
{
    switch (g) {
    case NNF_ACT_SIGMOID: return 1.0 / (1.0 + exp(-v));
    case NNF_ACT_TANH: return tanh(v);
    case NNF_ACT_RELU: return v > 0.0 ? v : 0.0;
    case NNF_ACT_LEAKY_RELU: return v > 0.0 ? v : alpha * v;
    default: return v;
    }
}

/* A[l] from Z[l], columns of n units (softmax per column). */
static void activate(const nnf_layer *ly, const double *z, double *a, size_t m)
{
    size_t n = ly->n_out;
    for (size_t s = 0; s < m; s++) {
        const double *zs = z + s * n;
        double *as = a + s * n;
        if (ly->act == NNF_ACT_SOFTMAX) {
            double top = zs[0], sum = 0.0;
            for (size_t k = 1; k < n; k++)
                top = zs[k] > top ? zs[k] : top;
            for (size_t k = 0; k < n; k++)
                sum += as[k] = exp(zs[k] - top);
            for (size_t k = 0; k < n; k++)
                as[k] /= sum;
        } else {
            for (size_t k = 0; k < n; k++)
                as[k] = act(ly->act, (double)ly->alpha, zs[k]);
        }
    }
}

/* Z[l] = W[l] A[l-1] + b[l] from the double parameters. */
static void layer_forward(const dnet *d, size_t l)
{
    const nnf_layer *ly = d->net->layers[l];
    const double *w = d->w + ly->offset, *b = w + ly->n_in * ly->n_out;
    const double *in = l ? d->a[l - 1] : d->x;
    for (size_t s = 0; s < d->m; s++)
        for (size_t j = 0; j < ly->n_out; j++) {
            double v = b[j];
            for (size_t i = 0; i < ly->n_in; i++)
                v += w[j * ly->n_in + i] * in[s * ly->n_in + i];
            d->z[l][s * ly->n_out + j] = v;
        }
    activate(ly, d->z[l], d->a[l], d->m);
}

/* J = (1/m) sum of the losses + the L2 penalty, from Z[L] and A[L]. */
static double cost(const dnet *d)
{
    const nnf_net *net = d->net;
    size_t L = net->depth - 1, n = net->layers[L]->n_out;
    const double *z = d->z[L], *a = d->a[L];
    double loss = 0.0;
    for (size_t s = 0; s < d->m; s++) {
        const double *zs = z + s * n, *as = a + s * n;
        const float *ys = d->y + s * n;
        if (net->loss == NNF_LOSS_BCE) { /* from the logits: max(z, 0) - z y + log(1 + e^-|z|) */
            for (size_t k = 0; k < n; k++)
                loss +=
                    (zs[k] > 0.0 ? zs[k] : 0.0) - zs[k] * (double)ys[k] + log1p(exp(-fabs(zs[k])));
        } else if (net->loss == NNF_LOSS_CROSS_ENTROPY) { /* -sum y (z - log sum e^z) */
            double top = zs[0], sum = 0.0;
            for (size_t k = 1; k < n; k++)
                top = zs[k] > top ? zs[k] : top;
            for (size_t k = 0; k < n; k++)
                sum += exp(zs[k] - top);
            for (size_t k = 0; k < n; k++)
                loss -= (double)ys[k] * (zs[k] - top - log(sum));
        } else {
            for (size_t k = 0; k < n; k++)
                loss += 0.5 * (as[k] - (double)ys[k]) * (as[k] - (double)ys[k]);
        }
    }
    double lambda = net->param[NNF_PARAM_L2_PENALTY], sumsq = 0.0;
    for (size_t l = 0; lambda > 0.0 && l < net->depth; l++) {
        const nnf_layer *ly = net->layers[l];
        for (size_t i = 0; i < ly->n_in * ly->n_out; i++)
            sumsq += d->w[ly->offset + i] * d->w[ly->offset + i];
    }
    return loss / (double)d->m + lambda / (2.0 * (double)d->m) * sumsq;
}

/* J with arena element p (of layer l: weight (j, i), or bias j when i is
 * n_in) set to v; the cached Z and A are left as they were. */
static double cost_with(dnet *d, size_t l, size_t j, size_t i, size_t p, double v, double *zrow,
                        double *zsave, double *asave)
{
    const nnf_net *net = d->net;
    const nnf_layer *ly = net->layers[l];
    size_t n = ly->n_out, m = d->m;
    const double *in = l ? d->a[l - 1] : d->x;
    double old = d->w[p], delta = v - old;
    /* Z[l] row j moves by delta times row i of A[l-1] (or by delta for b) */
    for (size_t s = 0; s < m; s++) {
        zrow[s] = d->z[l][s * n + j];
        d->z[l][s * n + j] += delta * (i < ly->n_in ? in[s * ly->n_in + i] : 1.0);
    }
    memcpy(asave, d->a[l], n * m * sizeof(double));
    d->w[p] = v;
    activate(ly, d->z[l], d->a[l], m);
    for (size_t k = l + 1; k < net->depth; k++) { /* the layers above, saved to restore */
        size_t nk = net->layers[k]->n_out * m;
        memcpy(zsave, d->z[k], nk * sizeof(double));
        memcpy(zsave + nk, d->a[k], nk * sizeof(double));
        zsave += 2 * nk;
        layer_forward(d, k);
    }
    double j_new = cost(d);
    for (size_t k = net->depth; k-- > l + 1;) {
        size_t nk = net->layers[k]->n_out * m;
        zsave -= 2 * nk;
        memcpy(d->z[k], zsave, nk * sizeof(double));
        memcpy(d->a[k], zsave + nk, nk * sizeof(double));
    }
    memcpy(d->a[l], asave, n * m * sizeof(double));
    for (size_t s = 0; s < m; s++)
        d->z[l][s * n + j] = zrow[s];
    d->w[p] = old;
    return j_new;
}

/* Arena element of parameter k of layer l (W row by row, then b) and its
 * unit j and input i (i = n_in for a bias). */
static size_t arena_index(const nnf_layer *ly, size_t k, size_t *j, size_t *i)
{
    size_t nw = ly->n_in * ly->n_out;
    if (k < nw) {
        *j = k / ly->n_in;
        *i = k % ly->n_in;
        return ly->offset + k;
    }
    *j = k - nw;
    *i = ly->n_in;
    return ly->offset + nw + *j;
}

/* The floats of a double evaluation: the arena, x, Z and A of each layer,
 * and the scratch of cost_with (a row, A[l], and Z, A of the layers above). */
static size_t doubles_needed(const nnf_net *net, size_t m)
{
    size_t rows = 0, widest = 0;
    for (size_t l = 0; l < net->depth; l++) {
        rows += net->layers[l]->n_out;
        widest = net->layers[l]->n_out > widest ? net->layers[l]->n_out : widest;
    }
    return net->n_floats + net->n_in * m + 4 * rows * m + widest * m + m;
}

static nnf_status check(nnf_net *net, const float *x, const float *y, size_t m, double *rel_err)
{
    nnf_status st = nnf__check_labeled_batch(net, x, y, m);
    if (st == NNF_OK && !rel_err)
        st = nnf__fail(NNF_ERR_ARG, "rel_err is NULL (expected a double)");
    if (st == NNF_OK)
        st = nnf__check_finite("x", x, net->n_in, m);
    if (st != NNF_OK)
        return st;
    /* the backward pass, on a copy: the net stays bit-identical */
    nnf_net *copy = NULL;
    if (nnf__net_clone(net, &copy) != NNF_OK)
        return nnf__fail(NNF_ERR_NOMEM, "could not allocate the copy of the net");
    copy->exchange = net->exchange;
    copy->exchange_user = net->exchange_user;
    st = nnf__gradient(copy, x, y, m);

    size_t need = doubles_needed(net, m);
    double *mem = st == NNF_OK ? nnf__malloc(need * sizeof(double)) : NULL;
    double **za = st == NNF_OK ? nnf__malloc(2 * net->depth * sizeof(double *)) : NULL;
    if (st == NNF_OK && (!mem || !za))
        st = nnf__fail(NNF_ERR_NOMEM, "could not allocate %zu bytes for the float64 evaluation",
                       need * sizeof(double));
    if (st == NNF_OK) {
        dnet d = {net, m, NULL, y, mem, za, za + net->depth};
        double *p = mem + net->n_floats, *xs = p;
        for (size_t i = 0; i < net->n_floats; i++)
            mem[i] = (double)net->params[i];
        /* A[0] as the float passes see it: x through the scaling, in float */
        const float *a0 = copy->scale ? nnf__work_input(copy, &copy->work) : x;
        for (size_t i = 0; i < net->n_in * m; i++)
            xs[i] = (double)a0[i];
        d.x = xs;
        p += net->n_in * m;
        for (size_t l = 0; l < net->depth; l++) {
            d.z[l] = p;
            d.a[l] = p + net->layers[l]->n_out * m;
            p += 2 * net->layers[l]->n_out * m;
        }
        double *asave = p, *zrow = p + (need - (size_t)(p - mem)) - m, *zsave;
        size_t widest = 0;
        for (size_t l = 0; l < net->depth; l++)
            widest = net->layers[l]->n_out > widest ? net->layers[l]->n_out : widest;
        zsave = asave + widest * m;
        for (size_t l = 0; l < net->depth; l++)
            layer_forward(&d, l);

        size_t P = net->n_params, count = P <= MAX_CHECKED ? P : MAX_CHECKED;
        double diff = 0.0, g2 = 0.0, n2 = 0.0;
        size_t l = 0, before = 0; /* parameters in the layers before l */
        for (size_t c = 0; c < count; c++) {
            size_t k = P <= MAX_CHECKED ? c : (size_t)((double)c * (double)P / MAX_CHECKED);
            while (k - before >= (net->layers[l]->n_in + 1) * net->layers[l]->n_out)
                before += (net->layers[l]->n_in + 1) * net->layers[l]->n_out, l++;
            size_t j, i, at = arena_index(net->layers[l], k - before, &j, &i);
            double theta = mem[at], h = 1e-4 * (fabs(theta) > 1.0 ? fabs(theta) : 1.0);
            double up = cost_with(&d, l, j, i, at, theta + h, zrow, zsave, asave);
            double down = cost_with(&d, l, j, i, at, theta - h, zrow, zsave, asave);
            double approx = (up - down) / (2.0 * h), g = (double)copy->grads[at];
            diff += (g - approx) * (g - approx);
            g2 += g * g;
            n2 += approx * approx;
        }
        double denom = sqrt(g2) + sqrt(n2);
        *rel_err = denom > 0.0 ? sqrt(diff) / denom : 0.0;
    }
    nnf__free(mem);
    nnf__free(za);
    nnf__net_free(copy);
    return st;
}

NNF_API nnf_status nnf_net_gradcheck(nnf_net *net, const float *x, const float *y, size_t m,
                                     double *rel_err)
{
    nnf__call c;
    nnf_status st = nnf__enter_compute(&c, __func__, net);
    if (st == NNF_OK)
        st = check(net, x, y, m, rel_err);
    return nnf__leave(&c, st);
}
