/* SPDX-License-Identifier: MIT */
/* verbose.c - see verbose.h. */
#include "verbose.h"

#include <stdlib.h>

int verbose(void)
{
    const char *v = getenv("NNF_TEST_VERBOSE");
    return v != NULL && v[0] != '\0' && v[0] != '0';
}
