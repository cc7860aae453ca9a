#!/bin/sh
# SPDX-License-Identifier: MIT
# The shared library exports exactly the functions declared NNF_API in nnfast.h
# (or, with a third argument, declared with that macro: NNF_MPI_API), and a
# static library defines exactly those as global symbols.
# usage: check_exports.sh include/nnfast.h libnnfast.so|libnnfast.a [NNF_API]
set -eu
header=$1 lib=$2 api=${3:-NNF_API}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# declarations may span lines: join the header (without preprocessor lines), then take the name before '('
grep -v '^[[:space:]]*#' "$header" | tr '\n' ' ' | grep -o "$api [^;(]*(" | sed 's/($//; s/.*[ *]//' | sort -u >"$tmp/declared"
case $lib in
*.a) nm -g --defined-only "$lib" | awk 'NF == 3 { print $3 }' | sort -u >"$tmp/exported" ;;
*) nm -D --defined-only "$lib" | awk '$2 != "A" { sub(/@.*/, "", $3); print $3 }' | sort -u >"$tmp/exported" ;;
esac
if ! diff -u "$tmp/declared" "$tmp/exported"; then
    echo "exports differ from $(basename "$header") ('-' declared only, '+' exported only)"
    exit 1
fi
echo "$(wc -l <"$tmp/exported") functions: exports match $(basename "$header")"
