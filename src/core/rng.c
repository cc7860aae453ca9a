/* SPDX-License-Identifier: MIT */
/* rng.c - nnfast's own random numbers for initialization. splitmix64 gives
 * the bits; normals use only +, -, *, / and sqrt (correctly rounded by
 * IEEE-754) and frexp (exact), never libm's log, whose last bit differs
 * between C libraries. So a seed gives the same weights on every machine
 * (the library is built with -ffp-contract=off: no fused multiply-add). */
#include "core.h"

#include <math.h>

uint64_t nnf__rng_mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

void nnf__rng_seed(nnf__rng *r, uint64_t seed, uint64_t stream)
{
    r->s = nnf__rng_mix(seed) ^ nnf__rng_mix(stream + UINT64_C(0x6E6E66617374)); /* "nnfast" */
}

uint64_t nnf__rng_next(nnf__rng *r)
{
    r->s += UINT64_C(0x9E3779B97F4A7C15);
    return nnf__rng_mix(r->s);
}

/* (k + 0.5) / 2^53 for a 53-bit k: strictly inside (0, 1). */
double nnf__rng_uniform(nnf__rng *r)
{
    return ((double)(nnf__rng_next(r) >> 11) + 0.5) * 0x1.0p-53;
}

/* ln(s) for s > 0: s = f 2^e with f in [sqrt(1/2), sqrt(2)), then
 * ln f = 2 atanh(t) = 2 (t + t^3/3 + t^5/5 + ...), t = (f-1)/(f+1), |t| < 0.172.
 * 14 terms leave an error below 1e-19 relative to ln f. */
static double portable_log(double s)
{
    int e;
    double f = frexp(s, &e);
    if (f < 0.70710678118654752440) {
        f *= 2.0;
        e -= 1;
    }
    double t = (f - 1.0) / (f + 1.0), t2 = t * t, term = t, sum = 0.0;
    for (int k = 1; k <= 27; k += 2) {
        sum += term / (double)k;
        term *= t2;
    }
    return 2.0 * sum + (double)e * 0.69314718055994530942;
}

/* Marsaglia's polar method: u, v uniform in (-1, 1) with s = u^2 + v^2 in
 * (0, 1) give u sqrt(-2 ln s / s) ~ N(0, 1). The second draw is dropped so
 * that each call consumes whole pairs and the stream has no hidden state. */
double nnf__rng_normal(nnf__rng *r)
{
    for (;;) {
        double u = 2.0 * nnf__rng_uniform(r) - 1.0;
        double v = 2.0 * nnf__rng_uniform(r) - 1.0;
        double s = u * u + v * v;
        if (s > 0.0 && s < 1.0)
            return u * sqrt(-2.0 * portable_log(s) / s);
    }
}
