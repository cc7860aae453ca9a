/* SPDX-License-Identifier: MIT */
/*
 * planar.c - the flower, spirals and XOR data sets, a seeded generator for them,
 * and binary accuracy. Example code: plain C, no nnfast calls.
 */
#include "planar.h"

#include <math.h>

static const double two_pi = 6.283185307179586476925286766559;

/* splitmix64 (Steele, Lea, Flood 2014): a Weyl sequence through a mixer. */
void planar_rng_seed(planar_rng *rng, uint64_t seed)
{
    rng->state = seed;
}

uint64_t planar_rng_next(planar_rng *rng)
{
    uint64_t z = (rng->state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

double planar_rng_uniform(planar_rng *rng)
{
    /* The top 53 bits, scaled by 2^-53: exact in a double. */
    return (double)(planar_rng_next(rng) >> 11) * 0x1.0p-53;
}

double planar_rng_normal(planar_rng *rng)
{
    /* Box-Muller: u1 in (0, 1] so that log(u1) is finite. */
    double u1 = 1.0 - planar_rng_uniform(rng);
    double u2 = planar_rng_uniform(rng);
    return sqrt(-2.0 * log(u1)) * cos(two_pi * u2);
}

/* One petal pair of the flower: n points of class label, angles spread
 * evenly over [t0, t1] (numpy's linspace, ends included). As in the course,
 * all n angle noises are drawn before the n radius noises. */
static void flower_class(planar_rng *rng, float *x, float *y, size_t n, double t0, double t1,
                         float label)
{
    const double a = 4.0;     /* petal length */
    const double noise = 0.2; /* standard deviation of both noises */
    size_t i;

    for (i = 0; i < n; i++) {
        double frac = n > 1 ? (double)i / (double)(n - 1) : 0.0;
        /* keep t in x[i][0] until the radius noise is drawn */
        x[2 * i] = (float)(t0 + (t1 - t0) * frac + noise * planar_rng_normal(rng));
    }
    for (i = 0; i < n; i++) {
        double t = (double)x[2 * i];
        double r = a * sin(4.0 * t) + noise * planar_rng_normal(rng);
        x[2 * i] = (float)(r * sin(t));
        x[2 * i + 1] = (float)(r * cos(t));
        y[i] = label;
    }
}

void planar_flower(float *x, float *y, size_t m, uint64_t seed)
{
    size_t n0 = m / 2; /* class 0 gets the first half, class 1 the rest */
    planar_rng rng;

    planar_rng_seed(&rng, seed);
    flower_class(&rng, x, y, n0, 0.0, 3.12, 0.0f);
    flower_class(&rng, x + 2 * n0, y + n0, m - n0, 3.12, 6.24, 1.0f);
}

void planar_spirals(float *x, float *y, size_t m, size_t classes, uint64_t seed)
{
    const double noise = 0.2; /* standard deviation of the angle noise */
    size_t n, k, i, j;
    planar_rng rng;

    if (classes == 0)
        return;
    n = m / classes;
    planar_rng_seed(&rng, seed);
    for (k = 0; k < classes; k++) {
        for (i = 0; i < n; i++) {
            size_t p = k * n + i;
            double frac = n > 1 ? (double)i / (double)(n - 1) : 0.0;
            double r = frac;
            double t = 4.0 * (double)k + 4.0 * frac + noise * planar_rng_normal(&rng);

            x[2 * p] = (float)(r * sin(t));
            x[2 * p + 1] = (float)(r * cos(t));
            for (j = 0; j < classes; j++)
                y[p * classes + j] = j == k ? 1.0f : 0.0f;
        }
    }
}

void xor_data(float *x, float *y)
{
    static const float xs[XOR_M][2] = {{0, 0}, {0, 1}, {1, 0}, {1, 1}};
    static const float ys[XOR_M] = {0, 1, 1, 0};
    size_t i;

    for (i = 0; i < XOR_M; i++) {
        x[2 * i] = xs[i][0];
        x[2 * i + 1] = xs[i][1];
        y[i] = ys[i];
    }
}

double planar_accuracy(const float *pred, const float *y, size_t n)
{
    size_t i, right = 0;

    if (n == 0)
        return 0.0;
    for (i = 0; i < n; i++)
        right += (pred[i] > 0.5f) == (y[i] > 0.5f);
    return (double)right / (double)n;
}
