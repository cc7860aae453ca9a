#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# abi-check.sh [LIB] - the ABI gate (default LIB: build/dev/libnnfast.so).
#
# Fails (exit 1) unless
#   1. LIB has DWARF (.debug_info): without it abidiff sees no types and
#      silently passes;
#   2. LIB's SONAME is libnnfast.so.<MAJOR>, MAJOR from include/nnfast.h;
#   3. src/nnfast.map has exactly the version nodes NNFAST_<MAJOR>.0 ..
#      NNFAST_<MAJOR>.<MINOR>, in order, each inheriting the one before, and
#      LIB defines those versions;
#   4. `abidiff --no-added-syms` of abi/libnnfast.abi and LIB exits 0: no
#      exported function was removed, and no type reachable from one changed
#      (added functions are allowed). Private types (the definitions of the
#      opaque nnf_net and nnf_layer, outside include/) are left out;
#   5. every constant of abi/constants.txt has the same value in
#      include/nnfast.h: abidiff cannot see macros, nor enums that are in no
#      signature (nnf_optimizer values go through a double).
# The baseline is tied to the toolchain (gcc 12, libabigail 2.2 on Debian 12);
# tools/abi-dump.sh makes it. `abi-check.sh --constants HEADER` prints the
# constants of HEADER as constants.txt holds them.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
header=$root/include/nnfast.h
map=$root/src/nnfast.map
baseline=$root/abi/libnnfast.abi
constants=$root/abi/constants.txt

die() { printf 'abi-check: FAIL: %s\n' "$*" >&2; exit 1; }
ok() { printf 'abi-check: ok: %s\n' "$*"; }

# "NAME VALUE" for each enum constant with an explicit value and each
# #define'd value of the public header except the version macros.
print_constants() {
  sed -n -e 's/^[[:space:]]*\(NNF_[A-Z0-9_]*\)[[:space:]]*=[[:space:]]*\([-0-9][0-9xXa-fA-FuUlL]*\).*/\1 \2/p' \
         -e '/^#define NNF_VERSION_/d' -e '/^#define NNF_API/d' \
         -e 's/^#define \(NNF_[A-Z0-9_]*\)[[:space:]][[:space:]]*\([^/]*[^/[:space:]]\).*/\1 \2/p' "$1"
}
if [ "${1:-}" = --constants ]; then
  [ $# -eq 2 ] || die "usage: tools/abi-check.sh --constants HEADER"
  print_constants "$2"
  exit 0
fi

[ $# -le 1 ] || die "usage: tools/abi-check.sh [LIB]"
lib=${1:-$root/build/dev/libnnfast.so}
lib=$(realpath -e "$lib" 2>/dev/null) || die "no such file: ${1:-build/dev/libnnfast.so}"
command -v abidiff >/dev/null || die "abidiff not found (apt-get install abigail-tools)"
[ -f "$baseline" ] && [ -f "$constants" ] ||
  die "no baseline $baseline or $constants (make them with tools/abi-dump.sh)"

major=$(sed -n 's/^#define NNF_VERSION_MAJOR \([0-9][0-9]*\)$/\1/p' "$header")
minor=$(sed -n 's/^#define NNF_VERSION_MINOR \([0-9][0-9]*\)$/\1/p' "$header")
[ -n "$major" ] && [ -n "$minor" ] || die "cannot read NNF_VERSION_MAJOR/MINOR from $header"

# 1. DWARF
# (no `readelf | grep -q` under pipefail: grep's early exit can SIGPIPE readelf)
sections=$(readelf -S "$lib") || die "readelf cannot read $lib"
grep -q '\.debug_info' <<<"$sections" ||
  die "$lib has no .debug_info, so abidiff would compare nothing and pass: build RelWithDebInfo or Debug"
ok "$lib has DWARF"

# 2. SONAME
soname=$(readelf -d "$lib" | sed -n 's/.*Library soname: \[\(.*\)\]$/\1/p')
[ "$soname" = "libnnfast.so.$major" ] ||
  die "SONAME is '${soname:-none}', expected libnnfast.so.$major (NNF_VERSION_MAJOR $major)"
ok "SONAME $soname"

# 3. one version node per minor version, chained, and defined by the library
expected=()
for ((i = 0; i <= minor; i++)); do expected+=("NNFAST_$major.$i"); done
mapfile -t nodes < <(sed -n 's/^[[:space:]]*\(NNFAST_[0-9][0-9]*\.[0-9][0-9]*\)[[:space:]]*{.*/\1/p' "$map")
[ "${nodes[*]}" = "${expected[*]}" ] ||
  die "src/nnfast.map has the nodes '${nodes[*]}', expected '${expected[*]}' (one per minor version up to NNF_VERSION_MINOR $minor)"
# each node after the first ends with "} <previous node>;"
mapfile -t parents < <(sed -n 's/^}[[:space:]]*\(NNFAST_[0-9][0-9]*\.[0-9][0-9]*\)\{0,1\}[[:space:]]*;.*/\1/p' "$map")
want_parents=("" "${expected[@]:0:$minor}")
[ "${parents[*]}" = "${want_parents[*]}" ] ||
  die "src/nnfast.map: each node must end with '} <the node before>;' (the first with '};'): found '${parents[*]:-}', expected '${want_parents[*]}'"
defined=$(readelf -V "$lib" | sed -n 's/.*Name: \(NNFAST_[0-9.]*\)$/\1/p' | sort -V | tr '\n' ' ')
[ "$defined" = "${expected[*]} " ] ||
  die "$lib defines the versions '$defined', expected '${expected[*]}' (stale build?)"
ok "version nodes ${expected[*]}"

# 4. the ABI against the baseline
abidiff_() { abidiff --hd2 "$root/include" --drop-private-types "$@" "$baseline" "$lib"; }
set +e
report=$(abidiff_ --no-added-syms 2>&1)
rc=$?
set -e
if [ "$rc" -ne 0 ]; then
  printf '%s\n' "$report" >&2
  why=()
  ((rc & 1)) && why+=("abidiff error")
  ((rc & 2)) && why+=("usage error")
  ((rc & 4)) && why+=("ABI change")
  ((rc & 8)) && why+=("incompatible ABI change")
  die "abidiff rc=$rc (${why[*]}): the ABI of $lib differs from abi/libnnfast.abi. A released function, type or enum value was changed or removed; within libnnfast.so.$major only additions are allowed (add a new function instead, see STYLE.md)"
fi
ok "no change to the baseline ABI (abidiff)"

# 5. constants abidiff cannot see
now=$(print_constants "$header")
implicit=$(grep -nE '^[[:space:]]+NNF_[A-Z0-9_]+[[:space:]]*,?[[:space:]]*(/[*].*)?$' "$header" || true)
[ -z "$implicit" ] || die "$(printf 'enum constants of include/nnfast.h without an explicit value:\n%s' "$implicit")"
bad=$(while read -r name value; do
        grep -qxF "$name $value" <<<"$now" && continue
        cur=$(awk -v n="$name" '$1 == n { sub(/^[^ ]* /, ""); print }' <<<"$now")
        printf '  %s was %s, now %s\n' "$name" "$value" "${cur:-(gone)}"
      done <"$constants")
[ -z "$bad" ] || die "$(printf 'released constants of include/nnfast.h changed (values are fixed; only add new ones):\n%s' "$bad")"
ok "$(wc -l <"$constants") released constants unchanged"

if ! abidiff_ >/dev/null 2>&1 || [ "$(wc -l <<<"$now")" -ne "$(wc -l <"$constants")" ]; then
  echo "abi-check: note: $lib adds to the baseline; refresh abi/ with tools/abi-dump.sh when the release is made"
fi
