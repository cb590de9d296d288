#!/usr/bin/env bash
# The unit, integration, shim API and shim parts tests under ASan and UBSan (g++ 12,
# -DBERTH_SANITIZE=ON) in build-asan/, against the sanitized berth, berth-criu and shims
# they spawn. Reports of every process (the tests, and the berth and shim processes they
# start, whose stderr a test may swallow) go to build-asan/sanitizer-logs/; the run
# fails if a test fails or any report was written.
#   scripts/sanitize.sh [--build-dir DIR] [GTEST_FILTER]
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=$root/build-asan
if [ "${1:-}" = --build-dir ]; then build_dir=$2; shift 2; fi
filter=${1:-*}

cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DBERTH_SANITIZE=ON -DBERTH_BUILD_BENCH=OFF >/dev/null || exit 1
suites=(berth_unit_tests berth_integration_tests berth_shim_api_tests berth_shim_parts_tests)
cmake --build "$build_dir" -j "${BERTH_JOBS:-2}" --target "${suites[@]}" || exit 1

logs=$build_dir/sanitizer-logs
rm -rf "$logs" && mkdir -p "$logs"
# detect_leaks: LeakSanitizer runs when a process exits (berth's commands, the shim's
# `start` and `delete`, the tests); a child that execs the container never reaches it.
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:log_path=$logs/asan"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$logs/ubsan"

failed=0
for suite in "${suites[@]}"; do
  start=$(date +%s)
  "$build_dir/bin/$suite" --gtest_filter="$filter" >"$logs/../$suite.log" 2>&1 || failed=1
  summary=$(grep -E '^\[  (PASSED|FAILED) |^\[  SKIPPED \] [0-9]' "$logs/../$suite.log" | tr '\n' ' ')
  echo "$suite: $summary($(( $(date +%s) - start )) s)"
done
reports=$(find "$logs" -type f | wc -l)
echo "sanitizer reports: $reports"
[ "$reports" = 0 ] || { head -30 "$logs"/* >&2; failed=1; }
exit $failed
