#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# memcheck.sh BUILD_DIR [CTEST_ARGS...] - every `unit` test of BUILD_DIR
# (or those CTEST_ARGS such as `-R api` select) under valgrind
# memcheck (ctest -T memcheck), one BLAS thread. Fails (exit 1) when a test
# fails or valgrind reports an error or a definite leak; prints each test's
# time, slowest first.
#
# BUILD_DIR is a configured and built tree with tests (include(CTest) writes
# its DartConfiguration.tcl). The valgrind options are the cache variable
# MEMORYCHECK_COMMAND_OPTIONS of the top-level CMakeLists.txt; they must hold
# --error-exitcode=1, or ctest passes a test whatever valgrind finds.
# MEMCHECK_JOBS (default: the number of CPUs) tests run at once.
set -euo pipefail

die() { printf 'memcheck: FAIL: %s\n' "$*" >&2; exit 1; }

[ $# -ge 1 ] || die "usage: tools/memcheck.sh BUILD_DIR [CTEST_ARGS...]"
build=$(realpath -e "$1" 2>/dev/null) || die "no such directory: $1"
shift
dart=$build/DartConfiguration.tcl
[ -f "$dart" ] || die "$dart missing: configure $1 with tests on (include(CTest))"
command -v valgrind >/dev/null || die "valgrind not found (apt-get install valgrind)"
opts=$(sed -n 's/^MemoryCheckCommandOptions: //p' "$dart")
case " $opts " in
  *" --error-exitcode=1 "*) ;;
  *) die "MEMORYCHECK_COMMAND_OPTIONS ('$opts') lacks --error-exitcode=1: errors would not fail the tests" ;;
esac
grep -q '^MemoryCheckCommand: .*valgrind' "$dart" || die "MemoryCheckCommand of $dart is not valgrind"

export OPENBLAS_NUM_THREADS=1   # deterministic, and valgrind serializes threads anyway
jobs=${MEMCHECK_JOBS:-$(nproc)}
log=$build/memcheck.log
printf 'memcheck: %s, valgrind %s, %s jobs\n' "$build" "$opts" "$jobs"

rm -f "$build"/Testing/Temporary/MemoryChecker.*.log   # no stale logs of an earlier run
t0=$SECONDS
set +e
ctest --test-dir "$build" -T memcheck -L unit -j "$jobs" --timeout 900 \
      --output-on-failure "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
elapsed=$((SECONDS - t0))

echo
echo "memcheck: time per test under valgrind (slowest first):"
sed -n 's/^ *[0-9]*\/[0-9]* *\(MemCheck\|Test\) *#[0-9]*: *\([^ ]*\) .* \([0-9.]*\) sec$/\3 \2/p' "$log" |
  sort -rn | awk '{ printf "  %8.2f s  %s\n", $1, $2 }'
echo "memcheck: ${elapsed} s wall in all"

# The start of each valgrind log with an error or a definite leak.
bad_logs=$(grep -lE 'ERROR SUMMARY: [1-9]|definitely lost: [1-9]|uninitialised|Invalid (read|write|free)' \
           "$build"/Testing/Temporary/MemoryChecker.*.log 2>/dev/null || true)
for f in $bad_logs; do
  printf '\n===== %s (first 80 lines)\n' "$f"
  head -n 80 "$f"
done
if [ "$rc" -ne 0 ] || [ -n "$bad_logs" ] || grep -q 'Defects: [1-9]' "$log"; then
  grep 'Defects: [1-9]' "$log" >&2 || true
  die "ctest rc=$rc: a unit test failed or valgrind found memory errors (see above, $log and $build/Testing/Temporary/MemoryChecker.*.log)"
fi
echo "memcheck: ok: every unit test passed without a memory error or a definite leak"
