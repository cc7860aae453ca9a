/* SPDX-License-Identifier: MIT */
/* verbose.h - NNF_TEST_VERBOSE=1 makes the tests print what they measured
 * (worst errors, accuracies), for tuning a tolerance or a learning rate. */
#ifndef NNF_TESTS_VERBOSE_H
#define NNF_TESTS_VERBOSE_H

/* 1 when NNF_TEST_VERBOSE is set to anything but "" or "0". */
int verbose(void);

#endif
