/* SPDX-License-Identifier: MIT */
/* header_c99.c - nnfast.h compiles as strict C99 (built with -std=c99
 * -pedantic-errors) and links; the run checks the version. */
#include "nnfast.h"

int main(void)
{
    nnf_net *net = 0;
    nnf_status st = nnf_net_create(&net, 1);
    nnf_net_destroy(net);
    return st == NNF_OK && nnf_version_number() == NNF_VERSION_NUMBER ? 0 : 1;
}
