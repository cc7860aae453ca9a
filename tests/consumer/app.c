/* SPDX-License-Identifier: MIT */
/* app.c - an outside program, built only against the installed nnfast.h and
 * library (through find_package or pkg-config): for every activation and
 * both losses it checks nnfast's forward output, cost, gradients and updated
 * parameters against the float64 reference of tests/ref.c. Exit 0 = match. */
#include "nnfast.h"
#include "ref.h"

#include <stdio.h>
#include <stdlib.h>

enum { N0 = 4, N1 = 5, N2 = 3, M = 9 };

static int failures;

static void check(const char *what, const char *name, double err)
{
    if (!(err < 1e-4)) {
        printf("FAIL %s: %s relative error %.3g\n", what, name, err);
        failures++;
    }
}

static int run(nnf_act hidden, nnf_act out, nnf_loss loss, const char *what)
{
    size_t n[3] = {N0, N1, N2};
    nnf_act acts[2] = {hidden, out};
    double slope[2] = {0.1, 0.1}, lr = 0.3;
    ref_net r = {0};
    ref_rng g = {42};
    nnf_net *net = NULL;
    float fx[M * N0], fy[M * N2], fout[M * N2], fw[N1 * N0], fb[N1], cost;
    double x[M * N0], y[M * N2], got[N1 * N0];

    if (ref_net_init(&r, 2, n, acts, slope, loss) != 0 || nnf_net_create(&net, N0) != NNF_OK)
        return 1;
    nnf_net_set_loss(net, loss);
    nnf_net_set_param(net, NNF_PARAM_LEARNING_RATE, lr);
    for (size_t l = 1; l <= 2; l++) {
        nnf_layer *ly;
        if (nnf_net_add_dense(net, n[l], acts[l - 1], &ly) != NNF_OK)
            return 1;
        if (acts[l - 1] == NNF_ACT_LEAKY_RELU)
            nnf_layer_set_slope(ly, 0.1f);
        for (size_t i = 0; i < n[l] * n[l - 1]; i++)
            fw[i] = (float)ref_rng_uniform(&g, -1, 1);
        for (size_t i = 0; i < n[l]; i++)
            fb[i] = (float)ref_rng_uniform(&g, -0.5, 0.5);
        nnf_layer_set_weights(ly, fw);
        nnf_layer_set_bias(ly, fb);
        ref_to_double(r.w[l], fw, n[l] * n[l - 1]);
        ref_to_double(r.b[l], fb, n[l]);
    }
    for (size_t i = 0; i < M * N0; i++)
        fx[i] = (float)ref_rng_uniform(&g, -2, 2);
    for (size_t i = 0; i < M * N2; i++)
        fy[i] = (float)ref_rng_uniform(&g, 0, 1);
    ref_to_double(x, fx, M * N0);
    ref_to_double(y, fy, M * N2);

    const double *a = ref_forward(&r, x, M);
    double j = ref_cost(&r, y);
    ref_backward(&r, y);
    if (nnf_net_forward(net, fx, M, fout) != NNF_OK || nnf_net_backward(net, fy, &cost) != NNF_OK) {
        printf("FAIL %s: %s\n", what, nnf_net_errmsg(net));
        return 1;
    }
    check(what, "forward output", ref_rel_err_f(fout, a, M * N2));
    check(what, "cost", ref_rel_err_f(&cost, &j, 1));
    for (size_t l = 1; l <= 2; l++) {
        nnf_layer *ly = nnf_net_layer(net, l);
        nnf_layer_get_weight_grad(ly, fw);
        nnf_layer_get_bias_grad(ly, fb);
        check(what, "dW", ref_rel_err_f(fw, r.dw[l], n[l] * n[l - 1]));
        check(what, "db", ref_rel_err_f(fb, r.db[l], n[l]));
    }
    nnf_net_update(net);
    ref_update(&r, lr);
    for (size_t l = 1; l <= 2; l++) {
        nnf_layer *ly = nnf_net_layer(net, l);
        nnf_layer_get_weights(ly, fw);
        ref_to_double(got, fw, n[l] * n[l - 1]);
        check(what, "updated W", ref_rel_err(got, r.w[l], n[l] * n[l - 1]));
        nnf_layer_get_bias(ly, fb);
        check(what, "updated b", ref_rel_err_f(fb, r.b[l], n[l]));
    }
    nnf_net_destroy(net);
    ref_net_free(&r);
    return 0;
}

int main(void)
{
    static const char *names[] = {"linear", "sigmoid", "tanh", "relu", "leaky_relu"};
    char what[64];
    int cases = 0;
    for (int h = 0; h <= 4; h++) {
        snprintf(what, sizeof what, "%s hidden, sigmoid out, BCE", names[h]);
        failures += run((nnf_act)h, NNF_ACT_SIGMOID, NNF_LOSS_BCE, what);
        cases++;
        for (int o = 0; o <= 4; o++) {
            snprintf(what, sizeof what, "%s hidden, %s out, MSE", names[h], names[o]);
            failures += run((nnf_act)h, (nnf_act)o, NNF_LOSS_MSE, what);
            cases++;
        }
    }
    printf("nnfast %s consumer: %d cases against the float64 reference, %d failures\n",
           nnf_version_string(), cases, failures);
    return failures ? EXIT_FAILURE : EXIT_SUCCESS;
}
