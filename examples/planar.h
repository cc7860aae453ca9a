/* SPDX-License-Identifier: MIT */
/*
 * planar.h - small data sets for the examples and the tests: the "flower"
 * of deeplearning.ai's planar classification exercise, CS231n's spirals,
 * and XOR.
 *
 * Example code, not part of the nnfast API. Data use nnfast's layout:
 * inputs are `float x[m][2]` (one sample after another), labels `float y[m][1]`.
 */
#ifndef PLANAR_H
#define PLANAR_H

#include <stddef.h>
#include <stdint.h>

/** Number of points of the course's flower data set. */
#define PLANAR_M 400
/** Number of points of XOR. */
#define XOR_M 4

/** A small self-contained pseudo-random generator (splitmix64), so that a
 *  seed gives the same data everywhere, independent of rand(). */
typedef struct planar_rng {
    uint64_t state;
} planar_rng;

/** Start the generator from seed. */
void planar_rng_seed(planar_rng *rng, uint64_t seed);
/** Next 64 random bits. */
uint64_t planar_rng_next(planar_rng *rng);
/** Uniform in [0, 1), 53 random bits. */
double planar_rng_uniform(planar_rng *rng);
/** Standard normal N(0, 1), by Box-Muller. */
double planar_rng_normal(planar_rng *rng);

/** The flower: m points in 2 classes, 4 petals (the course uses m = 400).
 *  Class j (j = 0 for the first m/2 points, 1 for the rest) has
 *      t = linspace(3.12 j, 3.12 (j + 1)) + 0.2 N(0,1)
 *      r = 4 sin(4 t) + 0.2 N(0,1)
 *      x = (r sin t, r cos t),  y = j.
 *  x is `float x[m][2]`, y is `float y[m][1]`. The same seed gives the
 *  same points (up to the last bit of libm's sin and cos). */
void planar_flower(float *x, float *y, size_t m, uint64_t seed);

/** CS231n's spirals: m points in `classes` classes, m / classes per class
 *  (m must be a multiple of classes; if not, the last m % classes points are
 *  left untouched). With n = m / classes, class k (the points k n .. k n + n - 1) has
 *      r = linspace(0, 1, n)
 *      t = linspace(4 k, 4 (k + 1), n) + 0.2 N(0,1)
 *      x = (r sin t, r cos t),  y = one-hot(k).
 *  x is `float x[m][2]`, y is `float y[m][classes]` (one-hot). The same seed
 *  gives the same points (up to the last bit of libm's sin and cos). */
void planar_spirals(float *x, float *y, size_t m, size_t classes, uint64_t seed);

/** XOR: x = (0,0), (0,1), (1,0), (1,1) and y = 0, 1, 1, 0.
 *  x is `float x[4][2]`, y is `float y[4][1]`. */
void xor_data(float *x, float *y);

/** Fraction in [0, 1] of the n predictions on the right side of 0.5:
 *  a prediction p counts as class 1 when p > 0.5, a label when it is > 0.5. */
double planar_accuracy(const float *pred, const float *y, size_t n);

#endif /* PLANAR_H */
