/* SPDX-License-Identifier: MIT */
/* gemm.c - the one matrix product of nnfast: every W·A, dZ·Aᵀ and Wᵀ·dZ is a
 * single cblas_sgemm call made here. The only file that includes <cblas.h>. */
#include "core.h"

#include <cblas.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

void nnf__gemm(int trans_a, int trans_b, size_t rows, size_t cols, size_t inner, float alpha,
               const float *a, size_t lda, const float *b, size_t ldb, float beta, float *c,
               size_t ldc)
{
    /* Sizes were checked against INT_MAX at the API boundary. */
    cblas_sgemm(CblasColMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, (int)rows, (int)cols, (int)inner, alpha, a,
                (int)lda, b, (int)ldb, beta, c, (int)ldc);
}

/* Z = W A[l-1] = Wt^T A:  (n_out x n_in) (n_in x m) */
void nnf__linear_forward(const float *wt, const float *a, float *z, size_t n_in, size_t n_out,
                         size_t m)
{
    nnf__gemm(1, 0, n_out, m, n_in, 1.0f, wt, n_in, a, n_in, 0.0f, z, n_out);
}

/* dW = (1/m) dZ A^T, stored transposed: dWt = (1/m) A dZ^T:  (n_in x m) (m x n_out) */
void nnf__linear_weight_grad(const float *a, const float *dz, float *dwt, size_t n_in, size_t n_out,
                             size_t m, float scale)
{
    nnf__gemm(0, 1, n_in, n_out, m, scale, a, n_in, dz, n_out, 0.0f, dwt, n_in);
}

/* dA[l-1] = W^T dZ = Wt dZ:  (n_in x n_out) (n_out x m) */
void nnf__linear_input_grad(const float *wt, const float *dz, float *da, size_t n_in, size_t n_out,
                            size_t m)
{
    nnf__gemm(0, 0, n_in, m, n_out, 1.0f, wt, n_in, dz, n_out, 0.0f, da, n_in);
}

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
    /* two buffers per thread it was built for, less those of its workers */
    long limit = 2 * built - (openblas_get_num_threads() - 1);
    return limit > 1 ? (int)limit : 1;
}
