/* SPDX-License-Identifier: MIT */
// header_cxx.cpp - nnfast.h compiles as C++ (extern "C", no C-only
// constructs) and links from a C++ program.
#include "nnfast.h"

#include <memory>

int main()
{
    nnf_net *raw = nullptr;
    if (nnf_net_create(&raw, 2) != NNF_OK)
        return 1;
    std::unique_ptr<nnf_net, void (*)(nnf_net *)> net(raw, nnf_net_destroy);
    nnf_layer *layer = nullptr;
    if (nnf_net_add_dense(net.get(), 1, NNF_ACT_SIGMOID, &layer) != NNF_OK)
        return 1;
    float x[2] = {1.0f, -1.0f}, y[1];
    return nnf_net_predict(net.get(), x, 1, y) == NNF_OK && nnf_layer_units(layer) == 1 ? 0 : 1;
}
