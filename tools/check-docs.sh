#!/bin/sh
# SPDX-License-Identifier: MIT
# check-docs.sh ROOT - the documentation tells the truth about the code:
# every nnf_/nnf__/NNF_ name that README.md, CONTRIBUTING.md, SECURITY.md or
# docs/*.md mention exists in include/, src/, mpi/ (libnnfast_mpi) or, for a
# build option, in CMakeLists.txt or cmake/, and every file they cite
# (a markdown link, or a path in backquotes) exists. Exits 1 naming each
# name or file that does not.
set -eu
root=$1
cd "$root"
docs="README.md CONTRIBUTING.md SECURITY.md docs/*.md"
fail=0

# Names: whole words, at least one letter after the prefix.
names=$(grep -ohE '\b(nnf_|nnf__|NNF_|NNF__)[A-Za-z0-9][A-Za-z0-9_]*' $docs | grep -v '_$' | sort -u)
for n in $names; do
    if ! grep -rqw -- "$n" include src mpi CMakeLists.txt cmake; then
        printf 'check-docs: %s is mentioned in %s but exists nowhere in include/, src/, mpi/, CMakeLists.txt or cmake/\n' \
            "$n" "$(grep -lw -- "$n" $docs | tr '\n' ' ')" >&2
        fail=1
    fi
done

# Files: markdown links (relative to the document) and backquoted paths with
# a directory (relative to the repository).
for d in $docs; do
    dir=$(dirname "$d")
    for link in $(grep -oE '\]\([A-Za-z0-9_./-]+[)#]' "$d" | sed 's/^](//; s/.$//'); do
        [ -e "$dir/$link" ] || { echo "check-docs: $d links to $link, which does not exist" >&2; fail=1; }
    done
    for p in $(grep -oE '`[A-Za-z0-9_.-]+/[A-Za-z0-9_./-]+`' "$d" | tr -d '`'); do
        case $p in build/* | */ | lib/* | share/* | bin/*) continue ;; esac # build and install trees
        [ -e "$p" ] || { echo "check-docs: $d cites $p, which does not exist" >&2; fail=1; }
    done
done
[ "$fail" -eq 0 ] && echo "check-docs: ok: every name and file the docs cite exists"
exit "$fail"
