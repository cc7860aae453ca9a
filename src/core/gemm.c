/* SPDX-License-Identifier: MIT */
/* gemm.c - the one matrix product of nnfast: every W·A, dZ·Aᵀ and Wᵀ·dZ is
 * computed by cblas_sgemm calls made here (one, or one per block of its
 * plan), and the BLAS's thread control. The only file that includes <cblas.h>,
 * and the only one that knows which BLAS it is (NNF_BLAS in CMakeLists.txt:
 * NNF_BLAS_OPENBLAS, NNF_BLAS_BLIS, or neither for any other CBLAS). */
#define _DEFAULT_SOURCE /* sysconf(_SC_NPROCESSORS_ONLN) */
#include "core.h"

#include <cblas.h>
#if NNF_BLAS_BLIS
#include <blis.h>
#endif
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void nnf__gemm(int trans_a, int trans_b, size_t rows, size_t cols, size_t inner, float alpha,
               const float *a, size_t lda, const float *b, size_t ldb, float beta, float *c,
               size_t ldc)
{
    /* Sizes were checked against INT_MAX at the API boundary. */
    cblas_sgemm(CblasColMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, (int)rows, (int)cols, (int)inner, alpha, a,
                (int)lda, b, (int)ldb, beta, c, (int)ldc);
}

nnf__product nnf__forward_product(const float *wt, const float *a, float *z, size_t n_in,
                                  size_t n_out, size_t m)
{
    /* Z = W A[l-1] = Wt^T A:  (n_out x n_in) (n_in x m) */
    return (nnf__product){1, 0, n_out, m, n_in, 1.0f, 0.0f, wt, a, n_in, n_in, n_out, z};
}

nnf__product nnf__weight_grad_product(const float *a, const float *dz, float *dwt, size_t n_in,
                                      size_t n_out, size_t m, float scale)
{
    /* dW = (1/m) dZ A^T, stored transposed: dWt = (1/m) A dZ^T:  (n_in x m) (m x n_out) */
    return (nnf__product){0, 1, n_in, n_out, m, scale, 0.0f, a, dz, n_in, n_out, n_in, dwt};
}

nnf__product nnf__input_grad_product(const float *wt, const float *dz, float *da, size_t n_in,
                                     size_t n_out, size_t m)
{
    /* dA[l-1] = W^T dZ = Wt dZ:  (n_in x n_out) (n_out x m) */
    return (nnf__product){0, 0, n_in, m, n_out, 1.0f, 0.0f, wt, dz, n_in, n_out, n_in, da};
}

#if NNF_BLAS_OPENBLAS

void nnf__set_threads(int n)
{
    openblas_set_num_threads(n);
}

int nnf__get_threads(void)
{
    return openblas_get_num_threads();
}

/* MAX_THREADS of openblas_get_config(), or 0 if it does not say. */
static long built_threads(void)
{
    const char *config = openblas_get_config(),
               *at = config ? strstr(config, "MAX_THREADS=") : NULL;
    return at ? strtol(at + strlen("MAX_THREADS="), NULL, 10) : 0;
}

int nnf__blas_callers_max(void)
{
    static long built = -1; /* the same in every thread: a benign race to compute it */
    if (built < 0)
        built = built_threads();
    if (built <= 0)
        return INT_MAX;
    /* two buffers per thread it was built for, less those of its own workers */
    long limit = 2 * built - (openblas_get_num_threads() - 1);
    return limit > 1 ? (int)limit : 1;
}

const char *nnf__blas_name(void)
{
    static char name[256];
    if (!name[0]) /* the same in every thread: a benign race to compute it */
        (void)snprintf(name, sizeof name, "%s (kernel %s)", openblas_get_config(),
                       openblas_get_corename());
    return name;
}

const char *nnf__blas_kernel(void)
{
    const char *name = openblas_get_corename();
    return name ? name : "";
}

#else /* BLIS, or any other CBLAS */

/* The BLAS's default thread count: BLIS's own setting (BLIS_NUM_THREADS,
 * OMP_NUM_THREADS) where it has one, else one per online core, as
 * OpenBLAS's default. A BLAS without thread control is told nothing: the
 * count is kept here, for the pool's default (src/pool.c). */
static long online_cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? n : 1;
}

#if NNF_BLAS_BLIS

void nnf__set_threads(int n)
{
    bli_thread_set_num_threads(n);
}

int nnf__get_threads(void)
{
    long n = (long)bli_thread_get_num_threads();
    if (n < 1)
        n = online_cores();
    return n < INT_MAX ? (int)n : INT_MAX;
}

const char *nnf__blas_name(void)
{
    static char name[256];
    if (!name[0]) /* the same in every thread: a benign race to compute it */
        (void)snprintf(name, sizeof name, "BLIS %s (kernel %s)", bli_info_get_version_str(),
                       bli_arch_string(bli_arch_query_id()));
    return name;
}

#else

static int g_threads; /* 0: not set yet */

void nnf__set_threads(int n)
{
    g_threads = n;
}

int nnf__get_threads(void)
{
    if (g_threads > 0)
        return g_threads;
    long n = online_cores();
    return n < INT_MAX ? (int)n : INT_MAX;
}

const char *nnf__blas_name(void)
{
    return "CBLAS " NNF_BLAS_NAME;
}

#endif

/* Neither BLIS nor a generic CBLAS is known to have a table of callers. */
int nnf__blas_callers_max(void)
{
    return INT_MAX;
}

/* The kernel names of nnf__plan_units are OpenBLAS's: no other BLAS has them. */
const char *nnf__blas_kernel(void)
{
    return "";
}

#endif
