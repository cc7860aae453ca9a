/* SPDX-License-Identifier: MIT */
/* meta.h - a net's metadata entries, as the public calls and the loader
 * check and add them. */
#ifndef NNF_META_H
#define NNF_META_H

#include "net.h"

/* s[0..n) as a metadata key or value (named what): least to most bytes of
 * UTF-8 without NUL; otherwise st (NNF_ERR_ARG for a call, NNF_ERR_FORMAT
 * for the loader), reported. */
nnf_status nnf__meta_check(nnf_status st, const char *what, const char *s, size_t n, size_t least,
                           size_t most);
/* The entry whose key is key, or net->n_meta. */
size_t nnf__meta_find(const nnf_net *net, const char *key);
/* Set key to value (checked; an entry beyond NNF_META_MAX is the caller's
 * to refuse): replaces the key's entry or appends one. */
nnf_status nnf__meta_put(nnf_net *net, const char *key, size_t key_len, const char *value,
                         size_t value_len);

#endif /* NNF_META_H */
