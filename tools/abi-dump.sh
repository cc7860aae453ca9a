#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# abi-dump.sh LIB [OUT] - write the ABI baseline that tools/abi-check.sh
# compares builds against: OUT (default abi/libnnfast.abi), the abidw dump
# of LIB, and constants.txt beside it, the public enum constants and value
# macros of include/nnfast.h (which abidiff cannot see, see abi-check.sh).
#
# Deliberate use only: when a release adds to the ABI (a new minor version),
# never to make a failing check pass. LIB must carry DWARF (RelWithDebInfo or
# Debug). The XML depends on the toolchain: make it with the CI's (Debian 12:
# gcc 12, libabigail 2.2); with these options it is byte-identical between
# runs and build directories. --drop-private-types keeps the definitions of
# the opaque structs (src/internal.h) out of it: they are not ABI.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

die() { printf 'abi-dump: %s\n' "$*" >&2; exit 1; }

[ $# -ge 1 ] && [ $# -le 2 ] || die "usage: tools/abi-dump.sh LIB [OUT]"
lib=$(realpath -e "$1" 2>/dev/null) || die "no such file: $1"
out=$(realpath -m "${2:-$root/abi/libnnfast.abi}")
consts=$(dirname "$out")/constants.txt
command -v abidw >/dev/null || die "abidw not found (apt-get install abigail-tools)"
# (no `readelf | grep -q` under pipefail: grep's early exit can SIGPIPE readelf)
sections=$(readelf -S "$lib") || die "readelf cannot read $lib"
grep -q '\.debug_info' <<<"$sections" ||
  die "$lib has no .debug_info: build it RelWithDebInfo or Debug (without DWARF the baseline is empty)"

cd "$root"   # --headers-dir and the short locations are relative to the source tree
mkdir -p "$(dirname "$out")"
abidw --no-corpus-path --no-comp-dir-path --short-locs --type-id-style hash \
      --drop-undefined-syms --headers-dir include --drop-private-types \
      --out-file "$out" "$lib"
"$root/tools/abi-check.sh" --constants include/nnfast.h >"$consts"
printf 'abi-dump: wrote %s (%s functions) and %s (%s constants) with %s\n' "$out" \
  "$(grep -c '<elf-symbol name=.*type=.func-type' "$out")" "$consts" "$(wc -l <"$consts")" \
  "$(abidw --version)"
