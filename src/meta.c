/* SPDX-License-Identifier: MIT */
/* meta.c - a net's metadata: short UTF-8 key/value strings kept in the
 * order they were first set and saved with the model. Each entry is one
 * block "key\0value\0". The limits (nnfast.h) are checked here and by the
 * loader with the same function. */
#define _POSIX_C_SOURCE 200809L /* strnlen */
#include "meta.h"
#include "alloc.h"

#include <string.h>

/* Length of the UTF-8 sequence starting at s[0] in s[0..n), or 0 when it is
 * not well formed (RFC 3629: no overlong forms, no surrogates, at most
 * U+10FFFF). */
static size_t utf8_char(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len = c < 0x80             ? 1
                 : (c & 0xE0) == 0xC0 ? 2
                 : (c & 0xF0) == 0xE0 ? 3
                 : (c & 0xF8) == 0xF0 ? 4
                                      : 0;
    if (len == 0 || len > n)
        return 0;
    unsigned cp = len == 1 ? c : c & (0x7Fu >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3Fu);
    }
    static const unsigned least[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < least[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

nnf_status nnf__meta_check(nnf_status st, const char *what, const char *s, size_t n, size_t least,
                           size_t most)
{
    if (n < least || n > most)
        return nnf__fail(st, "the %s is %zu bytes long (expected %zu to %zu bytes)", what, n, least,
                         most);
    for (size_t i = 0; i < n;) {
        size_t len = s[i] ? utf8_char((const unsigned char *)s + i, n - i) : 0;
        if (!len)
            return nnf__fail(st, "the %s is not UTF-8 without NUL (byte %zu)", what, i);
        i += len;
    }
    return NNF_OK;
}

size_t nnf__meta_find(const nnf_net *net, const char *key)
{
    for (size_t i = 0; i < net->n_meta; i++)
        if (strcmp(net->meta[i], key) == 0)
            return i;
    return net->n_meta;
}

nnf_status nnf__meta_put(nnf_net *net, const char *key, size_t key_len, const char *value,
                         size_t value_len)
{
    char *entry = nnf__malloc(key_len + value_len + 2);
    if (!entry)
        return nnf__fail(NNF_ERR_NOMEM, "could not allocate %zu bytes of metadata",
                         key_len + value_len + 2);
    memcpy(entry, key, key_len);
    entry[key_len] = '\0';
    memcpy(entry + key_len + 1, value, value_len);
    entry[key_len + 1 + value_len] = '\0';
    size_t i = nnf__meta_find(net, entry);
    if (i < net->n_meta)
        nnf__free(net->meta[i]);
    else
        net->n_meta++;
    net->meta[i] = entry;
    return NNF_OK;
}

static nnf_status set_meta(nnf_net *net, const char *key, const char *value)
{
    if (!key)
        return nnf__fail(NNF_ERR_ARG, "key is NULL (expected a UTF-8 string)");
    size_t key_len = strnlen(key, NNF_META_KEY_MAX + 1);
    nnf_status st = nnf__meta_check(NNF_ERR_ARG, "key", key, key_len, 1, NNF_META_KEY_MAX);
    if (st != NNF_OK)
        return st;
    size_t i = nnf__meta_find(net, key);
    if (!value) { /* remove, keeping the others' order */
        if (i < net->n_meta) {
            nnf__free(net->meta[i]);
            memmove(net->meta + i, net->meta + i + 1, (net->n_meta - i - 1) * sizeof(char *));
            net->n_meta--;
        }
        return NNF_OK;
    }
    size_t value_len = strnlen(value, NNF_META_VALUE_MAX + 1);
    st = nnf__meta_check(NNF_ERR_ARG, "value", value, value_len, 0, NNF_META_VALUE_MAX);
    if (st != NNF_OK)
        return st;
    if (i == net->n_meta && net->n_meta == NNF_META_MAX)
        return nnf__fail(NNF_ERR_SHAPE, "the net holds %u metadata entries, the most it can",
                         NNF_META_MAX);
    return nnf__meta_put(net, key, key_len, value, value_len);
}

NNF_API nnf_status nnf_net_set_meta(nnf_net *net, const char *key, const char *value)
{
    nnf__call c;
    nnf_status st = nnf__enter_write(&c, __func__, net);
    if (st == NNF_OK)
        st = set_meta(net, key, value);
    return nnf__leave(&c, st);
}

/* s with its 0 into buf (cap bytes), or NNF_ERR_ARG saying the size. */
static nnf_status copy_out(const char *what, const char *s, char *buf, size_t cap)
{
    size_t need = strlen(s) + 1;
    if (!buf)
        return nnf__fail(NNF_ERR_ARG, "buf is NULL (expected %zu bytes for the %s)", need, what);
    if (cap < need)
        return nnf__fail(NNF_ERR_ARG, "cap = %zu is too small for the %s (expected %zu bytes)", cap,
                         what, need);
    memcpy(buf, s, need);
    return NNF_OK;
}

NNF_API nnf_status nnf_net_get_meta(const nnf_net *net, const char *key, char *buf, size_t cap)
{
    nnf__call c;
    nnf_status st = nnf__enter_read(&c, __func__, net);
    size_t i = 0;
    if (st == NNF_OK && !key)
        st = nnf__fail(NNF_ERR_ARG, "key is NULL (expected a UTF-8 string)");
    if (st == NNF_OK && (i = nnf__meta_find(net, key)) == net->n_meta)
        st = nnf__fail(NNF_ERR_ARG, "no metadata entry \"%.64s\"", key);
    if (st == NNF_OK)
        st = copy_out("value", net->meta[i] + strlen(net->meta[i]) + 1, buf, cap);
    return nnf__leave(&c, st);
}

NNF_API size_t nnf_net_meta_count(const nnf_net *net)
{
    return net ? net->n_meta : 0;
}

NNF_API nnf_status nnf_net_meta_key(const nnf_net *net, size_t i, char *buf, size_t cap)
{
    nnf__call c;
    nnf_status st = nnf__enter_read(&c, __func__, net);
    if (st == NNF_OK && i >= net->n_meta)
        st = nnf__fail(NNF_ERR_ARG, "i = %zu is past the %zu metadata entries", i, net->n_meta);
    if (st == NNF_OK)
        st = copy_out("key", net->meta[i], buf, cap);
    return nnf__leave(&c, st);
}
