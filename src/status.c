/* status.c - static texts of the status codes, the per-net error message,
 * the run-time version, and the process-wide thread count. */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>

#define NNF__STR2(x) #x
#define NNF__STR(x) NNF__STR2(x)

NNF_API unsigned nnf_version_number(void)
{
    return NNF_VERSION_NUMBER;
}

NNF_API const char *nnf_version_string(void)
{
    return NNF__STR(NNF_VERSION_MAJOR) "." NNF__STR(NNF_VERSION_MINOR) "." NNF__STR(NNF_VERSION_PATCH);
}

NNF_API nnf_status nnf_set_threads(int n)
{
    if (n < 1)
        return NNF_ERR_ARG;
    nnf__set_threads(n);
    return NNF_OK;
}

NNF_API int nnf_get_threads(void)
{
    return nnf__get_threads();
}

NNF_API const char *nnf_status_str(nnf_status status)
{
    switch (status) {
    case NNF_OK: return "success";
    case NNF_ERR_ARG: return "invalid argument";
    case NNF_ERR_SHAPE: return "sizes do not fit together or are too large";
    case NNF_ERR_NOMEM: return "out of memory";
    case NNF_ERR_STATE: return "call out of order or conflicting settings";
    case NNF_ERR_NUMERIC: return "NaN or infinity in data, cost or gradients";
    case NNF_ERR_IO: return "input/output error";
    case NNF_ERR_FORMAT: return "malformed serialized data";
    }
    return "unknown status";
}

NNF_API const char *nnf_net_errmsg(const nnf_net *net)
{
    return net ? net->errmsg : "net is NULL";
}

nnf_status nnf__fail(nnf_net *net, nnf_status st, const char *fmt, ...)
{
    if (net) {
        va_list ap;
        va_start(ap, fmt);
        (void)vsnprintf(net->errmsg, sizeof net->errmsg, fmt, ap);
        va_end(ap);
    }
    return st;
}
