/* SPDX-License-Identifier: MIT */
/*
 * planar_demo.c - classify the deeplearning.ai "flower" with nnfast.
 *
 * First the course's shallow net: 2 inputs, 4 tanh units, 1 sigmoid output,
 * binary cross-entropy, full-batch gradient descent with learning rate 1.2.
 * Then a deeper ReLU net on the same 400 points.
 */
#include <stdio.h>
#include <stdlib.h>

#include "nnfast.h"
#include "planar.h"

/* On failure of an nnfast call: say what failed and why, then clean up. */
#define CHECK(call)                                                                            \
    do {                                                                                       \
        nnf_status st_ = (call);                                                               \
        if (st_ != NNF_OK) {                                                                   \
            fprintf(stderr, "%s: %s (%s)\n", #call, nnf_status_str(st_), nnf_net_errmsg(net)); \
            goto fail;                                                                         \
        }                                                                                      \
    } while (0)

/* Train a net of 2 inputs, the given hidden layers and a sigmoid output on
 * (x, y) with full-batch gradient descent, and print its cost every 1000
 * iterations and its training accuracy. Returns 0, or 1 on an error. */
static int train_classifier(size_t n_hidden, const size_t *units, const nnf_act *acts,
                            nnf_init init, double learning_rate, int iterations, const float *x,
                            const float *y, size_t m)
{
    static float pred[PLANAR_M];
    nnf_net *net = NULL;
    float cost;
    size_t l;
    int i;

    CHECK(nnf_net_create(&net, 2));
    for (l = 0; l < n_hidden; l++)
        CHECK(nnf_net_add_dense(net, units[l], acts[l], NULL));
    CHECK(nnf_net_add_dense(net, 1, NNF_ACT_SIGMOID, NULL));
    CHECK(nnf_net_set_loss(net, NNF_LOSS_BCE));
    CHECK(nnf_net_set_param(net, NNF_PARAM_LEARNING_RATE, learning_rate));
    CHECK(nnf_net_init(net, init, 1)); /* seed 1 */

    for (i = 0; i < iterations; i++) {
        CHECK(nnf_net_train_step(net, x, y, m, &cost));
        if (i % 1000 == 0)
            printf("  cost after iteration %5d: %.6f\n", i, (double)cost);
    }
    CHECK(nnf_net_predict(net, x, m, pred));
    printf("  training accuracy: %.1f %%\n", 100.0 * planar_accuracy(pred, y, m));
    nnf_net_destroy(net);
    return 0;

fail:
    nnf_net_destroy(net);
    return 1;
}

int main(void)
{
    static float x[PLANAR_M][2], y[PLANAR_M][1];
    const size_t shallow_units[] = {4};
    const nnf_act shallow_acts[] = {NNF_ACT_TANH};
    const size_t deep_units[] = {16, 16, 8};
    const nnf_act deep_acts[] = {NNF_ACT_RELU, NNF_ACT_RELU, NNF_ACT_RELU};

    printf("nnfast %s: the planar flower, %d points\n", nnf_version_string(), PLANAR_M);
    planar_flower(&x[0][0], &y[0][0], PLANAR_M, 1);

    /* The course's net: weights start as N(0,1) * 0.01. */
    printf("\n2-4-1 net, tanh hidden layer, learning rate 1.2\n");
    if (train_classifier(1, shallow_units, shallow_acts, NNF_INIT_SMALL_NORMAL, 1.2, 10000,
                         &x[0][0], &y[0][0], PLANAR_M))
        return EXIT_FAILURE;

    /* Deeper: ReLU layers start from He's scheme (the default). */
    printf("\n2-16-16-8-1 net, relu hidden layers, learning rate 0.1\n");
    if (train_classifier(3, deep_units, deep_acts, NNF_INIT_DEFAULT, 0.1, 10000, &x[0][0], &y[0][0],
                         PLANAR_M))
        return EXIT_FAILURE;
    return EXIT_SUCCESS;
}
