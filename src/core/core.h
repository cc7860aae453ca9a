/* SPDX-License-Identifier: MIT */
/*
 * core.h - the compute core: pure kernels on float arrays. No handles, no
 * status codes, no allocation; nothing here includes src/internal.h.
 *
 * Layout convention (all kernels): matrices are column-major, one column per
 * sample. An activation A of a layer with n units over a batch of m samples
 * is n x m with leading dimension n, which is the user's `float a[m][n]`.
 *
 * Weights are kept as the user passes them, `float w[n_out][n_in]`, which is
 * the column-major n_in x n_out matrix W^T (called Wt below): each unit's
 * weights are contiguous. The products of docs/math.md then read
 *     Z  = W A       = Wt^T A       (sgemm Trans,   NoTrans)
 *     dW = dZ A^T  -> dWt = A dZ^T  (sgemm NoTrans, Trans)
 *     dA = W^T dZ    = Wt dZ        (sgemm NoTrans, NoTrans)
 * Why this storage: get/set of weights is a plain copy, and on a wide input
 * feeding few units OpenBLAS computes the 12288 x 7 dWt about 1.5x faster
 * than the 7 x 12288 dW (a whole cat2 step's GEMMs 1.13x); on square layers
 * the two layouts time the same. docs/math.md has the measurement.
 */
#ifndef NNF_CORE_H
#define NNF_CORE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Elementwise kernels walk an n x m matrix in blocks of w values: one column
 * (w = n) for wide layers, and for narrow ones (n < 16) w = the least
 * multiple of n that is a multiple of 8, so that a per-row vector (the bias)
 * repeats exactly inside a block and the inner loop is long enough to
 * vectorize. (Per-column loops over 1 or 4 units stay scalar: on the 2-4-1
 * planar net they took half of a step.) */
enum { NNF__NARROW = 16, NNF__MAX_BLOCK = 120 };
static inline size_t nnf__block_width(size_t n)
{
    size_t w = n;
    if (n < NNF__NARROW)
        while (w % 8)
            w += n;
    return w;
}

/* The elementwise kernels are compiled three times on x86-64 with GCC, for
 * AVX-512F, AVX2 and the baseline, and the loader picks one (an ifunc). Each
 * lane computes the same IEEE-754 operations in the same order, so all give
 * identical bits (checked with SSE2, AVX2, AVX2+FMA, AVX-512F, -O0 and clang
 * builds; a trainer run with dropout, scaling and Adam saves the same bytes
 * with the AVX2 and the AVX-512 clones); AVX2 took the planar 2-4-1 step
 * from 10.0 to 7.3 us on a Zen 3, AVX-512 from 8.3-8.8 to 7.5-7.8 us on a
 * Sapphire Rapids core (the update of digits-adam is memory-bound either
 * way: 0.33 ms). Not with -fsanitize=thread:
 * GCC 12 instruments the ifunc resolvers, which the loader runs before the
 * TSan runtime is initialized, and the library crashes as it loads. */
#ifndef NNF__VECTOR
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && \
    !defined(__SANITIZE_THREAD__)
#define NNF__VECTOR __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define NNF__VECTOR
#endif
#endif

/* 1 when v is NaN or infinite: all exponent bits set. Branch-free, so the
 * loops that test every value with it still vectorize. */
static inline uint32_t nnf__nonfinite(float v)
{
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    return (u & 0x7f800000u) == 0x7f800000u;
}

/* Activation codes; the same numbers as the public nnf_act (settings.c
 * checks that they are). */
enum { NNF__LINEAR = 0, NNF__SIGMOID = 1, NNF__TANH = 2, NNF__RELU = 3, NNF__LEAKY = 4 };

/* ---- gemm.c: the only matrix product, and the only user of <cblas.h>. */

/* C = alpha op(A) op(B) + beta C, column-major; op(A) is rows x inner,
 * op(B) is inner x cols, C is rows x cols with leading dimension ldc.
 * Sizes must fit BLAS's int (checked by the caller). */
void nnf__gemm(int trans_a, int trans_b, size_t rows, size_t cols, size_t inner, float alpha,
               const float *a, size_t lda, const float *b, size_t ldb, float beta, float *c,
               size_t ldc);

/* The thread count of the BLAS products (process-wide). */
void nnf__set_threads(int n);
int nnf__get_threads(void);
/* How many threads may call the BLAS at once without exhausting it:
 * OpenBLAS keeps a fixed table of buffers (two per thread it was built for,
 * MAX_THREADS in openblas_get_config()); each calling thread holds one
 * during a call and each of its own worker threads one for good. When the
 * table is full it prints and aborts the process. INT_MAX for a BLAS
 * without such a limit. */
int nnf__blas_callers_max(void);
/* The BLAS and the kernel it runs, e.g. "OpenBLAS 0.3.21 ... Zen (kernel Zen)",
 * as static text (the bench prints it beside its figures). */
const char *nnf__blas_name(void);
/* The BLAS's kernel family for the running CPU ("Zen", "Haswell", ...), or
 * "" if it does not say. */
const char *nnf__blas_kernel(void);

/* ---- plan.c: how a product is computed. A product is one call of
 * nnf__gemm, or the same product cut into blocks of C's rows or columns,
 * each block one call, so that blocks can run on several threads at once.
 * The cut is a function of the shapes alone: the same product gives the
 * same bits whatever the number of threads that runs its blocks (a
 * different cut would not: the BLAS's edge kernels round differently). */

/* C = alpha op(A) op(B) + beta C, as nnf__gemm takes it. */
typedef struct nnf__product {
    int trans_a, trans_b;
    size_t rows, cols, inner;
    float alpha, beta;
    const float *a, *b;
    size_t lda, ldb, ldc;
    float *c;
} nnf__product;

typedef struct nnf__plan {
    size_t blocks;  /* 1: one call */
    size_t step;    /* rows (or columns) of C per block, the last one shorter */
    int split_cols; /* blocks of columns, else of rows */
} nnf__plan;

nnf__plan nnf__plan_of(const nnf__product *p);
/* The most blocks a product is cut into (1, 2, 4 or 8): by the machine's
 * cores, or after nnf__plan_follow_threads(t) with t > 0 by t (one call per
 * product at one thread: faster there, but the bits then depend on t). */
size_t nnf__plan_max_blocks(void);
void nnf__plan_follow_threads(int threads);
/* The units a layer of n_out units fed by n_in inputs computes its forward
 * and weight-gradient products with: n_out, or n_out + 1 where the BLAS's
 * kernel is much faster at that size (the extra unit's weights are zero and
 * its results are dropped). A function of the shapes and the kernel. */
size_t nnf__plan_units(size_t n_in, size_t n_out);
/* Block b (0 .. plan->blocks - 1) of p: one nnf__gemm call. */
void nnf__product_block(const nnf__product *p, const nnf__plan *plan, size_t b);
/* Every block of p, one after another. */
void nnf__product_run(const nnf__product *p);

/* The three products of a dense layer (docs/math.md):
 * Z = Wt^T A.                    Wt: n_in x n_out, A: n_in x m, Z: n_out x m */
nnf__product nnf__forward_product(const float *wt, const float *a, float *z, size_t n_in,
                                  size_t n_out, size_t m);
/* dWt = scale A dZ^T.            A: n_in x m, dZ: n_out x m, dWt: n_in x n_out */
nnf__product nnf__weight_grad_product(const float *a, const float *dz, float *dwt, size_t n_in,
                                      size_t n_out, size_t m, float scale);
/* dA = Wt dZ.                    Wt: n_in x n_out, dZ: n_out x m, dA: n_in x m */
nnf__product nnf__input_grad_product(const float *wt, const float *dz, float *da, size_t n_in,
                                     size_t n_out, size_t m);

/* ---- act.c: activations and their derivatives (from A alone). */

/* Z += b broadcast over the columns, then A = g(Z), in one pass. With
 * a == z the activation replaces Z (hidden layers); otherwise z keeps the
 * biased logits and a receives g of them (the output layer).
 * Returns 1 if any Z + b is NaN or infinite, else 0.   Z, A: n x m, b: n */
int nnf__bias_act_forward(int act, float alpha, float *z, const float *b, float *a, size_t n,
                          size_t m);
/* d = d * g'(.) with g' computed from the activation a (docs/math.md's table). */
void nnf__act_backward(int act, float alpha, const float *a, float *d, size_t n);
/* a = d * g'(a): dZ[l] written over A[l], which backward no longer needs. */
void nnf__act_backward_over_a(int act, float alpha, float *a, const float *d, size_t n);
/* z = Z + b, A = softmax(z) per column (the column max is subtracted
 * before e^z). Out of place only (the output layer keeps its logits).
 * Returns 1 if any Z + b is NaN or infinite.   Z, A: n x m, b: n */
int nnf__bias_softmax_forward(float *z, const float *b, float *a, size_t n, size_t m);

/* ---- bias.c (the broadcast is fused into nnf__bias_act_forward) */

/* db = scale * rowsum(dZ).                   dZ: n x m, db: n */
void nnf__bias_grad(const float *dz, float *db, size_t n, size_t m, float scale);

/* ---- loss.c: loss values (sums over all n values, in double) and output
 * gradients. The caller divides a sum by m to get J. */

/* sum of max(z,0) - z y + log(1 + e^-|z|): BCE from the logits z. */
double nnf__bce_sum(const float *z, const float *y, size_t n);
/* sum over the m columns of -sum_k y_k log softmax(z)_k, from the logits:
 * log softmax(z)_k = z_k - max - log(sum_j e^(z_j - max)).   Z, Y: n x m */
double nnf__ce_sum(const float *z, const float *y, size_t n, size_t m);
/* sum of 1/2 (a - y)^2: MSE. */
double nnf__mse_sum(const float *a, const float *y, size_t n);
/* d = a - y: dZ for sigmoid+BCE (fused), dA for MSE. */
void nnf__output_grad(const float *a, const float *y, float *d, size_t n);
/* dZ = A sum_k y_k - Y per column: softmax + cross-entropy (fused). */
void nnf__ce_output_grad(const float *a, const float *y, float *d, size_t n, size_t m);

/* ---- vec.c: whole-array helpers. */

/* Index of the first NaN or infinity in x[0..n), or n if all are finite. */
size_t nnf__find_nonfinite(const float *x, size_t n);
/* Index of the first value outside [0, 1] (or NaN), or n if none. */
size_t nnf__find_outside_unit(const float *x, size_t n);
/* sum of x^2 in double (the L2 penalty). */
double nnf__sum_squares(const float *x, size_t n);
/* y += a x (the L2 penalty's gradient term). */
void nnf__add_scaled(float *y, const float *x, size_t n, float a);
/* x *= a (gradient clipping). */
void nnf__scale(float *x, size_t n, float a);
/* dst = (x - mean) / std per feature, over the m samples of `float x[m][n]`
 * (input scaling). */
void nnf__standardize(float *dst, const float *x, const float *mean, const float *std, size_t n,
                      size_t m);

/* ---- update.c: the optimizers' updates over a parameter arena p with gradients g.
 * Each has a check that runs the same arithmetic without writing and
 * returns the first index whose new parameter or state would be NaN or
 * infinite (n if none), so that a failing update writes nothing. */

/* p -= lr g */
void nnf__sgd(float *p, const float *g, size_t n, float lr);
size_t nnf__sgd_check(const float *p, const float *g, size_t n, float lr);
/* v = beta v + (1 - beta) g;  p -= lr v */
void nnf__momentum(float *p, float *v, const float *g, size_t n, float lr, float beta);
size_t nnf__momentum_check(const float *p, const float *v, const float *g, size_t n, float lr,
                           float beta);
/* m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;  p -= lr (m c1) / (sqrt(v c2) + eps),
 * with the bias corrections c1 = 1/(1 - b1^t), c2 = 1/(1 - b2^t). */
typedef struct nnf__adam_k {
    float lr, b1, b2, eps, c1, c2;
    float keep; /* AdamW's 1 - lr decay on weights, else 1 (p * 1 is p) */
} nnf__adam_k;
void nnf__adam(float *p, float *m, float *v, const float *g, size_t n, const nnf__adam_k *k);
size_t nnf__adam_check(const float *p, const float *m, const float *v, const float *g, size_t n,
                       const nnf__adam_k *k);

/* ---- dropout.c: inverted dropout with masks hashed from a key. */

typedef struct nnf__dropout {
    uint64_t key;       /* the pass and layer (nnf__dropout_key) */
    uint32_t threshold; /* a unit is dropped when its hash is below */
    float scale;        /* 1 / (1 - rate) */
} nnf__dropout;
/* The key of layer's masks in the pass of (seed, epoch, batch). */
uint64_t nnf__dropout_key(uint64_t seed, uint64_t epoch, uint64_t batch, size_t layer);
nnf__dropout nnf__dropout_of(float rate, uint64_t key);
/* A (n x m, columns first .. first + m - 1 of the batch): kept units scaled
 * by 1 / (1 - rate), dropped ones 0. */
void nnf__dropout_forward(float *a, size_t n, size_t first, size_t m, const nnf__dropout *d);
/* The same mask on dA (kept: times the scale, dropped: 0) and on the
 * dropped A, whose kept values are divided back (g' reads them). */
void nnf__dropout_backward(float *a, float *da, size_t n, size_t first, size_t m,
                           const nnf__dropout *d);

/* ---- rng.c: nnfast's own generator, bit-identical on every machine. */

typedef struct nnf__rng {
    uint64_t s;
} nnf__rng;
/* A stream for (seed, stream): different streams are independent. */
void nnf__rng_seed(nnf__rng *r, uint64_t seed, uint64_t stream);
uint64_t nnf__rng_next(nnf__rng *r);
/* splitmix64's finalizer, a bijection of 64 bits. */
uint64_t nnf__rng_mix(uint64_t z);
/* Uniform in (0, 1), never 0 or 1. */
double nnf__rng_uniform(nnf__rng *r);
/* A standard normal draw, computed with +, -, *, /, sqrt only. */
double nnf__rng_normal(nnf__rng *r);

#endif /* NNF_CORE_H */
