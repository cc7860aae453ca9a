/* SPDX-License-Identifier: MIT */
/* library.c - what belongs to the library as a whole: its run-time version
 * and the thread count of the matrix products. */
#include "call.h"
#include "core/core.h"
#include "pool.h"

#include <stdatomic.h>

static atomic_int g_plan_mode; /* nnf_plan_mode */

/* The plans follow the thread count only in NNF_PLAN_FASTEST. */
static void update_plans(void)
{
    nnf__plan_follow_threads(atomic_load(&g_plan_mode) == NNF_PLAN_FASTEST ? nnf__pool_threads()
                                                                           : 0);
}

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
    update_plans();
    return nnf__leave(&c, NNF_OK);
}

NNF_API int nnf_get_threads(void)
{
    return nnf__pool_threads();
}

NNF_API nnf_status nnf_set_plan_mode(nnf_plan_mode mode)
{
    nnf__call c;
    nnf__enter(&c, __func__, NULL, 0, NULL, 0);
    if (mode != NNF_PLAN_REPRODUCIBLE && mode != NNF_PLAN_FASTEST)
        return nnf__leave(&c, nnf__fail(NNF_ERR_ARG,
                                        "mode = %d is not an nnf_plan_mode (expected "
                                        "NNF_PLAN_REPRODUCIBLE or NNF_PLAN_FASTEST)",
                                        (int)mode));
    atomic_store(&g_plan_mode, (int)mode);
    update_plans();
    return nnf__leave(&c, NNF_OK);
}

NNF_API nnf_plan_mode nnf_get_plan_mode(void)
{
    return (nnf_plan_mode)atomic_load(&g_plan_mode);
}
