/* SPDX-License-Identifier: MIT */
/* serialize.h - a net to and from the bytes of docs/format.md. */
#ifndef NNF_SERIALIZE_H
#define NNF_SERIALIZE_H

#include "net.h"

/* Bytes the net takes saved with flags (known bits only). */
size_t nnf__saved_size(const nnf_net *net, unsigned flags);
/* Write them to buf (nnf__saved_size bytes). */
void nnf__save_to(const nnf_net *net, unsigned char *buf, unsigned flags);
/* A net from size bytes at buf, checked completely before anything is
 * allocated; failures are reported on the current call. */
nnf_status nnf__load_from(nnf_net **out, const unsigned char *buf, size_t size);
/* NNF_ERR_ARG for flag bits the save calls do not know. */
nnf_status nnf__check_save_flags(unsigned flags);

#endif /* NNF_SERIALIZE_H */
