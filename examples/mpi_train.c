/* SPDX-License-Identifier: MIT */
/*
 * mpi_train.c - train one net on R processes with nnfast_mpi.h.
 *
 *   mpirun -np 2 ./mpi_train
 *
 * Every rank generates the planar "flower" (400 points) and keeps its own
 * shard: rank r of R takes the points r, r + R, r + 2R, ..., one in five
 * of them (i % 5 == 4) for validation, the others for training. Rank 0 initializes
 * the net and broadcasts it; then every rank runs the trainer on its shard:
 * each step averages the gradients of all ranks' batches (global batch
 * R x 16), so every rank holds the same parameters throughout. Rank 0
 * prints the validation figures of all the shards together. Exit status 0
 * when the training accuracy over all shards is at least 85 %.
 */
#include <stdio.h>
#include <stdlib.h>

#include "nnfast_mpi.h"
#include "planar.h"

/* On failure of an nnfast call: say what failed and why (every rank sees
 * the same failure, naming the rank it happened on), then clean up. */
#define CHECK(call)                                                                            \
    do {                                                                                       \
        nnf_status st_ = (call);                                                               \
        if (st_ != NNF_OK) {                                                                   \
            fprintf(stderr, "%s: %s (%s)\n", #call, nnf_status_str(st_), nnf_net_errmsg(net)); \
            goto out;                                                                          \
        }                                                                                      \
    } while (0)

static int report(const nnf_progress *p, void *user)
{
    const int *rank = user;
    double epoch = nnf_progress_get(p, NNF_PROGRESS_EPOCH);
    if (*rank == 0 && nnf_progress_get(p, NNF_PROGRESS_EPOCH_END) == 1.0 &&
        ((int)epoch + 1) % 50 == 0)
        printf("  epoch %4.0f: validation loss %.4f, accuracy %.1f %%\n", epoch + 1,
               nnf_progress_get(p, NNF_PROGRESS_VAL_COST),
               100.0 * nnf_progress_get(p, NNF_PROGRESS_VAL_ACCURACY));
    return 0; /* the same answer on every rank (a stop on one rank alone fails them all) */
}

int main(int argc, char **argv)
{
    static float x[PLANAR_M * 2], y[PLANAR_M], sx[PLANAR_M * 2], sy[PLANAR_M];
    static float vx[PLANAR_M * 2], vy[PLANAR_M], pred[PLANAR_M];
    int rank = 0, size = 1, rc = EXIT_FAILURE;
    nnf_net *net = NULL;
    nnf_trainer *t = NULL;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    planar_flower(x, y, PLANAR_M, 1);
    size_t m = 0, vm = 0;
    for (size_t i = (size_t)rank; i < PLANAR_M; i += (size_t)size) {
        int train = i % 5 != 4;
        float *dx = train ? sx + 2 * m : vx + 2 * vm;
        dx[0] = x[2 * i];
        dx[1] = x[2 * i + 1];
        if (train)
            sy[m++] = y[i];
        else
            vy[vm++] = y[i];
    }

    CHECK(nnf_net_create(&net, 2));
    CHECK(nnf_net_add_dense(net, 16, NNF_ACT_TANH, NULL));
    CHECK(nnf_net_add_dense(net, 8, NNF_ACT_TANH, NULL));
    CHECK(nnf_net_add_dense(net, 1, NNF_ACT_SIGMOID, NULL));
    CHECK(nnf_net_set_param(net, NNF_PARAM_OPTIMIZER, NNF_OPT_ADAM));
    CHECK(nnf_net_set_param(net, NNF_PARAM_LEARNING_RATE, 0.01));
    CHECK(nnf_net_init(net, NNF_INIT_XAVIER, (uint64_t)rank)); /* different on every rank... */
    CHECK(nnf_mpi_bcast(net, MPI_COMM_WORLD, 0));              /* ...until rank 0's is everyone's */

    if (nnf_trainer_create(&t) != NNF_OK)
        goto out;
    nnf_trainer_set(t, NNF_TRAIN_BATCH_SIZE, 16); /* per rank: R x 16 per step */
    nnf_trainer_set(t, NNF_TRAIN_EPOCHS, 300);
    nnf_trainer_set(t, NNF_TRAIN_PATIENCE, 50);
    nnf_trainer_set_validation(t, vx, vy, vm);
    nnf_trainer_set_progress(t, report, &rank);
    if (rank == 0)
        printf("nnfast %s: the planar flower on %d ranks, %zu training points on rank 0\n",
               nnf_version_string(), size, m);
    CHECK(nnf_mpi_trainer_run(t, net, MPI_COMM_WORLD, sx, sy, m));

    /* the training accuracy over every shard: right answers summed */
    CHECK(nnf_net_predict(net, sx, m, pred));
    double right[2] = {planar_accuracy(pred, sy, m) * (double)m, (double)m};
    MPI_Allreduce(MPI_IN_PLACE, right, 2, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    double epochs = 0.0, best = 0.0;
    nnf_trainer_result(t, NNF_RESULT_EPOCHS_RUN, &epochs);
    nnf_trainer_result(t, NNF_RESULT_BEST_EPOCH, &best);
    if (rank == 0)
        printf("  %.0f epochs, best epoch %.0f; training accuracy over all shards %.1f %%\n",
               epochs, best, 100.0 * right[0] / right[1]);
    rc = right[0] / right[1] >= 0.85 ? EXIT_SUCCESS : EXIT_FAILURE;
out:
    nnf_trainer_destroy(t);
    nnf_net_destroy(net);
    MPI_Finalize();
    return rc;
}
