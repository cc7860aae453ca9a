/* SPDX-License-Identifier: MIT */
/* clock.c - the bench's one clock: monotonic seconds. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include "bench.h"

#include <time.h>

double bench_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}
