/* SPDX-License-Identifier: MIT */
/* xor.c - the README's example: a 2-4-1 net learns XOR. */
#include <nnfast.h>
#include <stdio.h>

int main(void)
{
    /* XOR: 4 samples of 2 features, one label each */
    float x[4][2] = {{0, 0}, {0, 1}, {1, 0}, {1, 1}}, y[4][1] = {{0}, {1}, {1}, {0}};
    float pred[4][1], cost;
    nnf_net *net;

    if (nnf_net_create(&net, 2) != NNF_OK)
        return 1;
    nnf_net_add_dense(net, 4, NNF_ACT_TANH, NULL);    /* layer 1 */
    nnf_net_add_dense(net, 1, NNF_ACT_SIGMOID, NULL); /* layer 2, the output */
    nnf_net_set_loss(net, NNF_LOSS_BCE);
    nnf_net_set_param(net, NNF_PARAM_LEARNING_RATE, 1.0);

    for (int i = 0; i < 2000; i++) {
        nnf_status st = nnf_net_train_step(net, &x[0][0], &y[0][0], 4, &cost);
        if (st != NNF_OK) {
            fprintf(stderr, "%s: %s\n", nnf_status_str(st), nnf_net_errmsg(net));
            nnf_net_destroy(net);
            return 1;
        }
    }
    nnf_net_predict(net, &x[0][0], 4, &pred[0][0]);
    printf("cost %.4f, predictions %.2f %.2f %.2f %.2f\n", cost, pred[0][0], pred[1][0], pred[2][0],
           pred[3][0]);
    nnf_net_destroy(net);
    return 0;
}
