/* SPDX-License-Identifier: MIT */
/* library.c - what belongs to the library as a whole: its run-time version
 * and the thread count of the matrix products. */
#include "call.h"
#include "core/core.h"
#include "pool.h"

#define NNF__STR2(x) #x
#define NNF__STR(x)  NNF__STR2(x)

NNF_API unsigned nnf_version_number(void)
{
    return NNF_VERSION_NUMBER;
}

NNF_API const char *nnf_version_string(void)
{
    return NNF__STR(NNF_VERSION_MAJOR) "." NNF__STR(NNF_VERSION_MINOR) "." NNF__STR(
        NNF_VERSION_PATCH);
}

NNF_API nnf_status nnf_set_threads(int n)
{
    nnf__call c;
    nnf__enter(&c, __func__, NULL, 0, NULL, 0);
    if (n < 1)
        return nnf__leave(&c, nnf__fail(NNF_ERR_ARG, "n = %d (expected at least 1 thread)", n));
    nnf__pool_set_threads(n);
    return nnf__leave(&c, NNF_OK);
}

NNF_API int nnf_get_threads(void)
{
    return nnf__pool_threads();
}
