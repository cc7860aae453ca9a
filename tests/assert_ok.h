/* SPDX-License-Identifier: MIT */
/* assert_ok.h - the tests' check of an nnfast call (include after cmocka.h). */
#ifndef NNF_TESTS_ASSERT_OK_H
#define NNF_TESTS_ASSERT_OK_H

#include "nnfast.h"

/* Fail the test with the status and the net's message unless call is OK. */
#define assert_ok(net, call)                                                          \
    do {                                                                              \
        nnf_status st_ = (call);                                                      \
        if (st_ != NNF_OK)                                                            \
            fail_msg("%s: %s (%s)", #call, nnf_status_str(st_), nnf_net_errmsg(net)); \
    } while (0)

#endif
