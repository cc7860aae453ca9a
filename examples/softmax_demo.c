/* SPDX-License-Identifier: MIT */
/*
 * softmax_demo.c - a softmax classifier for CS231n's three spirals, trained
 * in shuffled mini-batches with Adam, then saved, loaded back and checked.
 *
 *     softmax_demo [model-file]
 *
 * The model goes to model-file, or to spirals.nnf in the current directory
 * (removed again at the end: a given path is kept).
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nnfast.h"
#include "planar.h"

enum { M = 300, CLASSES = 3, HIDDEN = 100, BATCH = 32, EPOCHS = 300, PRINT_EVERY = 50 };

/* On failure of an nnfast call on net: say what failed and why, then clean up. */
#define CHECK(net, call)                                                                       \
    do {                                                                                       \
        nnf_status st_ = (call);                                                               \
        if (st_ != NNF_OK) {                                                                   \
            fprintf(stderr, "%s: %s (%s)\n", #call, nnf_status_str(st_), nnf_net_errmsg(net)); \
            goto done;                                                                         \
        }                                                                                      \
    } while (0)

/* Progress of nnf_net_train: print the epoch's mean cost at its last batch. */
typedef struct progress {
    size_t batches; /* per epoch */
} progress;

static int print_progress(void *user, size_t epoch, size_t batch, float cost)
{
    const progress *p = user;
    if (batch + 1 == p->batches && (epoch + 1) % PRINT_EVERY == 0)
        printf("  epoch %4zu: cost %.4f\n", epoch + 1, (double)cost);
    return 0; /* go on */
}

static double seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv)
{
    static float x[M][2], y[M][CLASSES], pred[M][CLASSES], pred2[M][CLASSES];
    const char *path = argc > 1 ? argv[1] : "spirals.nnf";
    nnf_net *net = NULL, *loaded = NULL;
    char err[256];
    float cost, acc;
    int status = EXIT_FAILURE, saved = 0;

    printf("nnfast %s: %d spiral points in %d classes\n", nnf_version_string(), M, CLASSES);
    planar_spirals(&x[0][0], &y[0][0], M, CLASSES, 1);

    /* 2 -> 100 ReLU -> 3 softmax, categorical cross-entropy, Adam */
    if (nnf_net_create(&net, 2) != NNF_OK) {
        fprintf(stderr, "nnf_net_create: out of memory\n");
        return EXIT_FAILURE;
    }
    CHECK(net, nnf_net_add_dense(net, HIDDEN, NNF_ACT_RELU, NULL));
    CHECK(net, nnf_net_add_dense(net, CLASSES, NNF_ACT_SOFTMAX, NULL));
    CHECK(net, nnf_net_set_loss(net, NNF_LOSS_CROSS_ENTROPY));
    CHECK(net, nnf_net_set_param(net, NNF_PARAM_OPTIMIZER, NNF_OPT_ADAM));
    CHECK(net, nnf_net_set_param(net, NNF_PARAM_LEARNING_RATE, 0.01));
    CHECK(net, nnf_net_set_param(net, NNF_PARAM_L2_PENALTY, 1e-3));
    CHECK(net, nnf_net_init(net, NNF_INIT_DEFAULT, 1));

    printf("\n2-%d-%d net, batches of %d, Adam, %d epochs\n", HIDDEN, CLASSES, BATCH, EPOCHS);
    progress p = {(M + BATCH - 1) / BATCH};
    size_t steps = 0;
    double t0 = seconds();
    CHECK(net, nnf_net_train(net, &x[0][0], &y[0][0], M, BATCH, EPOCHS, 1, 42, print_progress, &p,
                             &steps));
    double t = seconds() - t0;
    CHECK(net, nnf_net_evaluate(net, &x[0][0], &y[0][0], M, &cost, &acc));
    printf("  cost %.4f, training accuracy %.1f %%\n", (double)cost, 100.0 * (double)acc);
    printf("  %zu steps; one epoch of %d samples takes %.1f us\n", steps, M,
           1e6 * t / (double)EPOCHS);

    /* Save, load back: the loaded net predicts exactly what the original does. */
    CHECK(net, nnf_net_save(net, path, 0));
    saved = 1;
    if (nnf_net_load(&loaded, path, err, sizeof err) != NNF_OK) {
        fprintf(stderr, "nnf_net_load(%s): %s\n", path, err);
        goto done;
    }
    CHECK(net, nnf_net_predict(net, &x[0][0], M, &pred[0][0]));
    CHECK(loaded, nnf_net_predict(loaded, &x[0][0], M, &pred2[0][0]));
    if (memcmp(pred, pred2, sizeof pred) != 0) {
        fprintf(stderr, "the loaded net's predictions differ from the original's\n");
        goto done;
    }
    CHECK(loaded, nnf_net_evaluate(loaded, &x[0][0], &y[0][0], M, NULL, &acc));
    printf("\nsaved to %s and loaded back: same predictions, accuracy %.1f %%\n", path,
           100.0 * (double)acc);
    status = EXIT_SUCCESS;

done:
    if (saved && argc > 1) {
        printf("the model is kept in %s\n", path);
    } else if (saved) {
        if (remove(path) != 0) {
            perror(path);
            status = EXIT_FAILURE;
        } else {
            printf("removed %s again (softmax_demo FILE keeps the model in FILE)\n", path);
        }
    }
    nnf_net_destroy(loaded);
    nnf_net_destroy(net);
    return status;
}
