#!/bin/sh
# SPDX-License-Identifier: MIT
# check-layers.sh SRC_DIR OBJECT... - the shape of src/: no include circle
# among its headers, no call circle among its files (from the objects' symbol
# tables: a file that calls a function of another depends on it), and the
# compute core (src/core/) includes nothing from src/ and calls nothing out
# of src/core/. Prints the file order it found; exits 1 on a violation.
# An OBJECT argument may be a ;-separated list (as ctest passes a CMake list).
set -eu
src=$1
shift
objects=$(printf '%s\n' "$@" | tr ';' '\n')
[ -n "$objects" ] || { echo "usage: check-layers.sh SRC_DIR OBJECT..." >&2; exit 2; }
tmp=${TMPDIR:-/tmp}/nnf-layers.$$
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp"
fail=0

# Include edges "includer included" between the files of src/ (by base name).
for f in "$src"/*.c "$src"/*.h "$src"/core/*.c "$src"/core/*.h; do
    b=${f#"$src"/}
    sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f" | while read -r inc; do
        case $inc in
        nnfast.h) ;;
        core/*) echo "$b $inc" ;;
        *) case $b in core/*) echo "$b core/$inc" ;; *) echo "$b $inc" ;; esac ;;
        esac
    done
done >"$tmp/includes"
if grep -E '^core/[^ ]* [^c]' "$tmp/includes" | grep -v ' core/' >/dev/null; then
    echo "check-layers: FAIL: src/core/ includes a file outside src/core/:" >&2
    grep -E '^core/' "$tmp/includes" | grep -v ' core/' >&2
    fail=1
fi
if ! tsort "$tmp/includes" >/dev/null 2>"$tmp/err"; then
    echo "check-layers: FAIL: an include circle:" >&2
    cat "$tmp/err" >&2
    fail=1
fi

# Call edges "caller callee" between object files, from nm.
for o in $objects; do
    name=$(basename "$o" .c.o)
    case $o in */core/*) name=core/$name ;; esac
    nm "$o" | awk -v n="$name" '$2 ~ /^[TDBR]$/ && $3 ~ /^nnf_/ { print $3, n }'
done | sort -u >"$tmp/defs"
for o in $objects; do
    name=$(basename "$o" .c.o)
    case $o in */core/*) name=core/$name ;; esac
    nm "$o" | awk -v n="$name" '$1 == "U" && $2 ~ /^nnf_/ { print $2, n }'
done | sort -u >"$tmp/uses"
join "$tmp/uses" "$tmp/defs" | awk '$2 != $3 { print $2, $3 }' | sort -u >"$tmp/calls"
if awk '$1 ~ /^core\// && $2 !~ /^core\//' "$tmp/calls" | grep . >&2; then
    echo "check-layers: FAIL: src/core/ calls out of the core (above)" >&2
    fail=1
fi
if ! order=$(tsort "$tmp/calls" 2>"$tmp/err"); then
    echo "check-layers: FAIL: a call circle:" >&2
    cat "$tmp/err" >&2
    fail=1
fi
[ "$fail" -eq 0 ] || exit 1
echo "check-layers: ok: no include or call circle; files from the top down:"
echo "$order" | tr '\n' ' '
echo
