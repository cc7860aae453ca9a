/* SPDX-License-Identifier: MIT */
/* app.c - an outside program of the installed nnfast_mpi.h: a broadcast and
 * one collective step, on however many ranks it runs. Exit 0 when both work. */
#include <stdio.h>

#include <nnfast_mpi.h>

int main(int argc, char **argv)
{
    static const float x[4][2] = {{0, 0}, {0, 1}, {1, 0}, {1, 1}}, y[4][1] = {{0}, {1}, {1}, {0}};
    nnf_net *net = NULL;
    float cost = 0.0f;
    int rc = 1;
    MPI_Init(&argc, &argv);
    if (nnf_net_create(&net, 2) == NNF_OK &&
        nnf_net_add_dense(net, 3, NNF_ACT_TANH, NULL) == NNF_OK &&
        nnf_net_add_dense(net, 1, NNF_ACT_SIGMOID, NULL) == NNF_OK &&
        nnf_mpi_bcast(net, MPI_COMM_WORLD, 0) == NNF_OK &&
        nnf_mpi_train_step(net, MPI_COMM_WORLD, &x[0][0], &y[0][0], 4, &cost) == NNF_OK) {
        printf("nnfast_mpi consumer: cost %.4f\n", (double)cost);
        rc = 0;
    } else {
        fprintf(stderr, "nnfast_mpi consumer: %s\n", nnf_net_errmsg(net));
    }
    nnf_net_destroy(net);
    MPI_Finalize();
    return rc;
}
