/* SPDX-License-Identifier: MIT */
/* progress.c - one status line on stderr ("big t=2: rep 3/5"), rewritten in
 * place with \r, at most ten times a second, and only when stderr is a tty. */
#define _POSIX_C_SOURCE 200809L /* isatty */
#include "bench.h"

#include <stdarg.h>
#include <unistd.h>

static int g_on;
static double g_last = -1.0;

void progress_init(void)
{
    g_on = isatty(STDERR_FILENO);
}

void progress(int force, const char *fmt, ...)
{
    va_list ap;
    double now;

    if (!g_on)
        return;
    now = bench_now();
    if (!force && now - g_last < 0.1)
        return;
    g_last = now;
    fputs("\r\033[K", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fflush(stderr);
}

void progress_clear(void)
{
    if (!g_on)
        return;
    fputs("\r\033[K", stderr);
    fflush(stderr);
}
