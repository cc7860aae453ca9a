/* SPDX-License-Identifier: MIT */
/*
 * ref.c - the double-precision reference network of the tests: MATH.md's
 * forward, cost, backward and update as naive loops, written for reading;
 * with softmax + cross-entropy, the L2 penalty, momentum and Adam.
 */
#include "ref.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* element (i, j) of a sample-major m x n array: sample i, unit j */
#define AT(p, n, i, j) ((p)[(i) * (n) + (j)])

static void free_batch(ref_net *r)
{
    for (size_t l = 0; l <= REF_MAX_LAYERS; l++) {
        free(r->z[l]);
        free(r->a[l]);
        r->z[l] = NULL;
        r->a[l] = NULL;
    }
    r->m = 0;
}

void ref_net_free(ref_net *r)
{
    if (r == NULL)
        return;
    free_batch(r);
    for (size_t l = 0; l <= REF_MAX_LAYERS; l++) {
        free(r->w[l]);
        free(r->b[l]);
        free(r->dw[l]);
        free(r->db[l]);
        free(r->mw[l]);
        free(r->mb[l]);
        free(r->vw[l]);
        free(r->vb[l]);
        r->w[l] = r->b[l] = r->dw[l] = r->db[l] = NULL;
        r->mw[l] = r->mb[l] = r->vw[l] = r->vb[l] = NULL;
    }
    r->L = 0;
    r->t = 0;
}

int ref_net_init(ref_net *r, size_t L, const size_t *n, const nnf_act *act, const double *slope,
                 nnf_loss loss)
{
    memset(r, 0, sizeof *r);
    if (L < 1 || L > REF_MAX_LAYERS || n == NULL || act == NULL)
        return -1;
    if (loss == NNF_LOSS_BCE && act[L - 1] != NNF_ACT_SIGMOID)
        return -1;
    /* softmax: the output layer only, and exactly with cross-entropy */
    if ((loss == NNF_LOSS_CROSS_ENTROPY) != (act[L - 1] == NNF_ACT_SOFTMAX))
        return -1;
    for (size_t l = 0; l + 1 < L; l++)
        if (act[l] == NNF_ACT_SOFTMAX)
            return -1;
    r->L = L;
    r->loss = loss;
    r->n[0] = n[0];
    if (n[0] == 0)
        return -1;
    for (size_t l = 1; l <= L; l++) {
        r->n[l] = n[l];
        r->act[l] = act[l - 1];
        r->slope[l] = slope != NULL ? slope[l - 1] : 0.01;
        if (n[l] == 0)
            return -1;
        r->w[l] = calloc(n[l] * n[l - 1], sizeof(double));
        r->dw[l] = calloc(n[l] * n[l - 1], sizeof(double));
        r->b[l] = calloc(n[l], sizeof(double));
        r->db[l] = calloc(n[l], sizeof(double));
        if (!r->w[l] || !r->dw[l] || !r->b[l] || !r->db[l]) {
            ref_net_free(r);
            return -1;
        }
    }
    return 0;
}

double ref_act(nnf_act act, double slope, double z)
{
    switch (act) {
    case NNF_ACT_LINEAR: return z;
    case NNF_ACT_SIGMOID:
        /* 1 / (1 + e^-z), written so that neither branch overflows */
        if (z >= 0)
            return 1.0 / (1.0 + exp(-z));
        return exp(z) / (1.0 + exp(z));
    case NNF_ACT_TANH: return tanh(z);
    case NNF_ACT_RELU: return z > 0 ? z : 0.0;
    case NNF_ACT_LEAKY_RELU: return z > 0 ? z : slope * z;
    case NNF_ACT_SOFTMAX: /* not elementwise */ break;
    }
    return (double)NAN;
}

double ref_act_deriv(nnf_act act, double slope, double z)
{
    double a = ref_act(act, slope, z);

    switch (act) {
    case NNF_ACT_LINEAR: return 1.0;
    case NNF_ACT_SIGMOID: return a * (1.0 - a);
    case NNF_ACT_TANH: return 1.0 - a * a;
    case NNF_ACT_RELU: return z > 0 ? 1.0 : 0.0; /* g'(0) = 0 by definition */
    case NNF_ACT_LEAKY_RELU: return z > 0 ? 1.0 : slope;
    case NNF_ACT_SOFTMAX: /* not elementwise */ break;
    }
    return (double)NAN;
}

const double *ref_forward(ref_net *r, const double *x, size_t m)
{
    if (m != r->m) {
        free_batch(r);
        for (size_t l = 0; l <= r->L; l++) {
            r->z[l] = malloc(m * r->n[l] * sizeof(double));
            r->a[l] = malloc(m * r->n[l] * sizeof(double));
            if (r->z[l] == NULL || r->a[l] == NULL) {
                free_batch(r);
                return NULL;
            }
        }
        r->m = m;
    }
    memcpy(r->a[0], x, m * r->n[0] * sizeof(double));
    memcpy(r->z[0], x, m * r->n[0] * sizeof(double));

    for (size_t l = 1; l <= r->L; l++) {
        size_t nin = r->n[l - 1], nout = r->n[l];
        for (size_t i = 0; i < m; i++) {
            for (size_t j = 0; j < nout; j++) {
                /* Z[l] = W[l] A[l-1] + b[l];  A[l] = g(Z[l]) */
                double z = r->b[l][j];
                for (size_t k = 0; k < nin; k++)
                    z += AT(r->w[l], nin, j, k) * AT(r->a[l - 1], nin, i, k);
                AT(r->z[l], nout, i, j) = z;
                AT(r->a[l], nout, i, j) = ref_act(r->act[l], r->slope[l], z);
                if (l < r->L && r->drop[l] != NULL) /* inverted dropout */
                    AT(r->a[l], nout, i, j) *= AT(r->drop[l], nout, i, j);
            }
            if (r->act[l] == NNF_ACT_SOFTMAX) {
                /* a_j = e^(z_j - max) / sum_k e^(z_k - max), per sample */
                double mx = -HUGE_VAL, sum = 0.0;
                for (size_t j = 0; j < nout; j++)
                    mx = fmax(mx, AT(r->z[l], nout, i, j));
                for (size_t j = 0; j < nout; j++) {
                    AT(r->a[l], nout, i, j) = exp(AT(r->z[l], nout, i, j) - mx);
                    sum += AT(r->a[l], nout, i, j);
                }
                for (size_t j = 0; j < nout; j++)
                    AT(r->a[l], nout, i, j) /= sum;
            }
        }
    }
    return r->a[r->L];
}

/* l2/(2m) sum_l ||W[l]||^2 for a batch of m; 0 when l2 is 0. */
static double l2_penalty(const ref_net *r, size_t m)
{
    double sum = 0.0;

    if (r->l2 == 0.0)
        return 0.0;
    for (size_t l = 1; l <= r->L; l++)
        for (size_t i = 0; i < r->n[l] * r->n[l - 1]; i++)
            sum += r->w[l][i] * r->w[l][i];
    return r->l2 / (2.0 * (double)m) * sum;
}

/* -sum_k y_k log softmax(z)_k of one sample of n logits, from the logits:
 * log softmax(z)_k = z_k - max - log sum_j e^(z_j - max). */
static double ce_sample(const double *z, const double *y, size_t n)
{
    double mx = -HUGE_VAL, s = 0.0, loss = 0.0;

    for (size_t k = 0; k < n; k++)
        mx = fmax(mx, z[k]);
    for (size_t k = 0; k < n; k++)
        s += exp(z[k] - mx);
    for (size_t k = 0; k < n; k++)
        loss -= y[k] * (z[k] - mx - log(s));
    return loss;
}

double ref_cost(const ref_net *r, const double *y)
{
    size_t nL = r->n[r->L], m = r->m;
    const double *z = r->z[r->L], *a = r->a[r->L];
    double sum = 0.0;

    for (size_t i = 0; i < m; i++) {
        if (r->loss == NNF_LOSS_CROSS_ENTROPY) {
            sum += ce_sample(z + i * nL, y + i * nL, nL);
            continue;
        }
        for (size_t k = 0; k < nL; k++) {
            double zk = AT(z, nL, i, k), ak = AT(a, nL, i, k), yk = AT(y, nL, i, k);
            if (r->loss == NNF_LOSS_BCE)
                sum += fmax(zk, 0.0) - zk * yk + log(1.0 + exp(-fabs(zk)));
            else
                sum += 0.5 * (ak - yk) * (ak - yk);
        }
    }
    return sum / (double)m + l2_penalty(r, m);
}

int ref_backward(ref_net *r, const double *y)
{
    size_t m = r->m, L = r->L, nmax = 0;
    double *dz, *da;

    if (m == 0)
        return -1;
    for (size_t l = 0; l <= L; l++)
        nmax = r->n[l] > nmax ? r->n[l] : nmax;
    dz = malloc(m * nmax * sizeof(double));
    da = malloc(m * nmax * sizeof(double));
    if (dz == NULL || da == NULL) {
        free(dz);
        free(da);
        return -1;
    }

    /* dA[L] = A[L] - Y for MSE; for BCE with a sigmoid output and for
     * cross-entropy with a softmax output the chain rule collapses to
     * dZ[L] = A[L] - Y. */
    for (size_t i = 0; i < m * r->n[L]; i++)
        da[i] = r->a[L][i] - y[i];

    for (size_t l = L; l >= 1; l--) {
        size_t nin = r->n[l - 1], nout = r->n[l];
        int fused = (l == L && r->loss != NNF_LOSS_MSE);

        /* dZ[l] = dA[l] * g'(Z[l]), or dZ[L] = A[L] - Y when fused */
        for (size_t i = 0; i < m; i++) {
            for (size_t j = 0; j < nout; j++) {
                double gd =
                    fused ? 1.0 : ref_act_deriv(r->act[l], r->slope[l], AT(r->z[l], nout, i, j));
                if (l < L && r->drop[l] != NULL) /* through the dropout's mask */
                    gd *= AT(r->drop[l], nout, i, j);
                AT(dz, nout, i, j) = AT(da, nout, i, j) * gd;
            }
        }

        /* dW[l] = (1/m) dZ[l] A[l-1]^T;  db[l] = (1/m) rowsum(dZ[l]) */
        for (size_t j = 0; j < nout; j++) {
            double sb = 0.0;
            for (size_t i = 0; i < m; i++)
                sb += AT(dz, nout, i, j);
            r->db[l][j] = sb / (double)m;
            for (size_t k = 0; k < nin; k++) {
                double sw = 0.0;
                for (size_t i = 0; i < m; i++)
                    sw += AT(dz, nout, i, j) * AT(r->a[l - 1], nin, i, k);
                /* + (lambda/m) W[l]: the L2 penalty's term (none for b) */
                AT(r->dw[l], nin, j, k) =
                    sw / (double)m + r->l2 / (double)m * AT(r->w[l], nin, j, k);
            }
        }

        /* dA[l-1] = W[l]^T dZ[l], with W[l] of the forward pass */
        if (l > 1) {
            for (size_t i = 0; i < m; i++) {
                for (size_t k = 0; k < nin; k++) {
                    double s = 0.0;
                    for (size_t j = 0; j < nout; j++)
                        s += AT(r->w[l], nin, j, k) * AT(dz, nout, i, j);
                    AT(da, nin, i, k) = s;
                }
            }
        }
    }
    free(dz);
    free(da);
    return 0;
}

void ref_update(ref_net *r, double lr)
{
    for (size_t l = 1; l <= r->L; l++) {
        for (size_t i = 0; i < r->n[l] * r->n[l - 1]; i++)
            r->w[l][i] -= lr * r->dw[l][i];
        for (size_t j = 0; j < r->n[l]; j++)
            r->b[l][j] -= lr * r->db[l][j];
    }
}

/* Allocate the zeroed optimizer state (adam: m and v, else v only). */
static int alloc_state(ref_net *r, int adam)
{
    for (size_t l = 1; l <= r->L; l++) {
        size_t nw = r->n[l] * r->n[l - 1];
        if (r->mw[l] == NULL)
            r->mw[l] = calloc(nw, sizeof(double));
        if (r->mb[l] == NULL)
            r->mb[l] = calloc(r->n[l], sizeof(double));
        if (adam && r->vw[l] == NULL)
            r->vw[l] = calloc(nw, sizeof(double));
        if (adam && r->vb[l] == NULL)
            r->vb[l] = calloc(r->n[l], sizeof(double));
        if (!r->mw[l] || !r->mb[l] || (adam && (!r->vw[l] || !r->vb[l])))
            return -1;
    }
    return 0;
}

void ref_optim_reset(ref_net *r)
{
    for (size_t l = 1; l <= r->L; l++) {
        size_t nw = r->n[l] * r->n[l - 1];
        if (r->mw[l])
            memset(r->mw[l], 0, nw * sizeof(double));
        if (r->mb[l])
            memset(r->mb[l], 0, r->n[l] * sizeof(double));
        if (r->vw[l])
            memset(r->vw[l], 0, nw * sizeof(double));
        if (r->vb[l])
            memset(r->vb[l], 0, r->n[l] * sizeof(double));
    }
    r->t = 0;
}

/* v = beta v + (1 - beta) g;  p -= lr v */
static void momentum_block(double *p, double *v, const double *g, size_t n, double lr, double beta)
{
    for (size_t i = 0; i < n; i++) {
        v[i] = beta * v[i] + (1.0 - beta) * g[i];
        p[i] -= lr * v[i];
    }
}

int ref_update_momentum(ref_net *r, double lr, double beta)
{
    if (alloc_state(r, 0) != 0)
        return -1;
    for (size_t l = 1; l <= r->L; l++) {
        momentum_block(r->w[l], r->mw[l], r->dw[l], r->n[l] * r->n[l - 1], lr, beta);
        momentum_block(r->b[l], r->mb[l], r->db[l], r->n[l], lr, beta);
    }
    r->t++;
    return 0;
}

/* m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;  p = keep p - lr mhat / (sqrt(vhat) + eps) */
static void adam_block(double *p, double *m, double *v, const double *g, size_t n, double lr,
                       double b1, double b2, double eps, double t, double keep)
{
    for (size_t i = 0; i < n; i++) {
        p[i] *= keep;
        m[i] = b1 * m[i] + (1.0 - b1) * g[i];
        v[i] = b2 * v[i] + (1.0 - b2) * g[i] * g[i];
        double mhat = m[i] / (1.0 - pow(b1, t));
        double vhat = v[i] / (1.0 - pow(b2, t));
        p[i] -= lr * mhat / (sqrt(vhat) + eps);
    }
}

int ref_update_adamw(ref_net *r, double lr, double b1, double b2, double eps, double decay)
{
    if (alloc_state(r, 1) != 0)
        return -1;
    double t = (double)(r->t + 1);
    for (size_t l = 1; l <= r->L; l++) {
        adam_block(r->w[l], r->mw[l], r->vw[l], r->dw[l], r->n[l] * r->n[l - 1], lr, b1, b2, eps, t,
                   1.0 - lr * decay);
        adam_block(r->b[l], r->mb[l], r->vb[l], r->db[l], r->n[l], lr, b1, b2, eps, t, 1.0);
    }
    r->t++;
    return 0;
}

int ref_update_adam(ref_net *r, double lr, double b1, double b2, double eps)
{
    return ref_update_adamw(r, lr, b1, b2, eps, 0.0);
}

double ref_clip_norm(ref_net *r, double max_norm)
{
    double sum = 0.0;
    for (size_t l = 1; l <= r->L; l++) {
        for (size_t i = 0; i < r->n[l] * r->n[l - 1]; i++)
            sum += r->dw[l][i] * r->dw[l][i];
        for (size_t j = 0; j < r->n[l]; j++)
            sum += r->db[l][j] * r->db[l][j];
    }
    double norm = sqrt(sum);
    if (norm > max_norm) {
        double f = max_norm / norm;
        for (size_t l = 1; l <= r->L; l++) {
            for (size_t i = 0; i < r->n[l] * r->n[l - 1]; i++)
                r->dw[l][i] *= f;
            for (size_t j = 0; j < r->n[l]; j++)
                r->db[l][j] *= f;
        }
    }
    return norm;
}

double ref_kink_shift(const ref_net *r, size_t l, size_t j, double margin)
{
    size_t nout;
    double d = 0.0;
    int near;

    if (l < 1 || l > r->L || r->m == 0)
        return 0.0;
    if (r->act[l] != NNF_ACT_RELU && r->act[l] != NNF_ACT_LEAKY_RELU)
        return 0.0;
    nout = r->n[l];
    do {
        near = 0;
        for (size_t i = 0; i < r->m && !near; i++)
            near = fabs(AT(r->z[l], nout, i, j) + d) < margin;
        if (near)
            d += 2.5 * margin;
    } while (near);
    return d;
}

void ref_to_double(double *dst, const float *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = (double)src[i];
}

void ref_to_float(float *dst, const double *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = (float)src[i];
}

double ref_max_abs(const double *x, size_t n)
{
    double mx = 0.0;
    for (size_t i = 0; i < n; i++)
        mx = fmax(mx, fabs(x[i]));
    return mx;
}

double ref_rel_err(const double *got, const double *want, size_t n)
{
    double diff = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs(got[i] - want[i]);
        if (d > diff || isnan(d)) {
            diff = d;
            if (isnan(d))
                break; /* a NaN anywhere is the result */
        }
    }
    return diff / fmax(ref_max_abs(want, n), REF_TINY);
}

double ref_rel_err_f(const float *got, const double *want, size_t n)
{
    double diff = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]);
        if (d > diff || isnan(d)) {
            diff = d;
            if (isnan(d))
                break; /* a NaN anywhere is the result */
        }
    }
    return diff / fmax(ref_max_abs(want, n), REF_TINY);
}

uint64_t ref_rng_next(ref_rng *g)
{
    uint64_t z = (g->state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

double ref_rng_uniform(ref_rng *g, double lo, double hi)
{
    /* 53 random bits -> [0, 1) */
    double u = (double)(ref_rng_next(g) >> 11) * 0x1.0p-53;
    return lo + (hi - lo) * u;
}
