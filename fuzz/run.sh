#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# fuzz/run.sh SECONDS - build the fuzz preset (clang, libFuzzer, ASan, UBSan)
# and run each fuzz target for SECONDS seconds on a work corpus under
# build/fuzz/ (seeded from fuzz/corpus/<target>, kept between runs).
# Prints each target's executions; exits 1 if any target found a crash, a
# leak, a timeout or an out-of-memory (the input is then in
# build/fuzz/<target>-crash-* etc.: rename it descriptively and commit it to
# fuzz/corpus/<target>/, where the ordinary build's ctest replays it), and
# 2 if the build failed.
set -u

secs=${1:-}
case $secs in
'' | *[!0-9]*)
    echo "usage: bash fuzz/run.sh SECONDS" >&2
    exit 2
    ;;
esac
cd "$(dirname "$0")/.." || exit 2

mkdir -p build
if ! { cmake --preset fuzz && cmake --build --preset fuzz; } >build/fuzz-build.log 2>&1; then
    tail -n 40 build/fuzz-build.log
    echo "fuzz/run.sh: building the fuzz preset failed (log: build/fuzz-build.log)" >&2
    exit 2
fi

export OPENBLAS_NUM_THREADS=1 # the nets are tiny; threads only cost time
status=0
for target in fuzz_load fuzz_api; do
    name=${target#fuzz_}
    work=build/fuzz/corpus-$name
    log=build/fuzz/$target.log
    mkdir -p "$work"
    ./build/fuzz/fuzz/$target -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="build/fuzz/$target-" \
        "$work" "fuzz/corpus/$name" >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    if [ "$rc" -eq 0 ]; then
        echo "$target: ${execs:-?} executions in ${secs} s (${speed:-?}/s), corpus $(ls "$work" | wc -l) inputs: ok"
    else
        status=1
        echo "$target: ${execs:-?} executions, FAILED (exit $rc); log $log:"
        grep -E 'invariant failed|ERROR: |SUMMARY: |Test unit written|artifact' "$log" | head -n 20
    fi
done
exit $status
