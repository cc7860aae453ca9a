/* SPDX-License-Identifier: MIT */
/* serialize.h - a net to and from the bytes of docs/format.md. */
#ifndef NNF_SERIALIZE_H
#define NNF_SERIALIZE_H

#include "format.h"
#include "net.h"

/* Bytes the net takes saved with flags (known bits only). */
size_t nnf__saved_size(const nnf_net *net, unsigned flags);
/* Write them to buf (nnf__saved_size bytes). */
void nnf__save_to(const nnf_net *net, unsigned char *buf, unsigned flags);
/* A net from size bytes at buf, checked completely before anything is
 * allocated; failures are reported on the current call. */
nnf_status nnf__load_from(nnf_net **out, const unsigned char *buf, size_t size);
/* The bytes a reader needs before it can judge a saved net's structure. */
enum { NNF__PREFIX_MAX = NNF__AT_TABLE + NNF__RECORD * NNF_MAX_DEPTH };
/* The structure of a saved net of size bytes (header, fixed fields, layer
 * table) from its first have >= min(size, NNF__PREFIX_MAX) bytes: a file is
 * judged before it is read whole. */
nnf_status nnf__check_prefix(const unsigned char *buf, size_t have, size_t size);
/* Start a load call: errbuf (if any) emptied and made the message's place,
 * *out set to NULL; out NULL is NNF_ERR_ARG. */
nnf_status nnf__enter_load(nnf__call *c, const char *fn, nnf_net **out, char *errbuf,
                           size_t errbuf_size);
/* NNF_ERR_ARG for flag bits the save calls do not know. */
nnf_status nnf__check_save_flags(unsigned flags);

#endif /* NNF_SERIALIZE_H */
