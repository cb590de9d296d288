#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz (clang 19, ASan, UBSan) in a build directory
# of their own and runs each in turn, from the seed corpus in the repository.
#   scripts/fuzz.sh [--build-dir DIR] [--build-only | --no-build] [SECONDS | -runs=N] [TARGET...]
# SECONDS (default 60) bounds each target's run by time, -runs=N by executions. Prints,
# per target, the executions, exec/s and crashes; exits 1 if any target crashed (or
# hit a sanitizer report, a timeout or the memory limit). Inputs that found new
# coverage go to DIR/corpus/<target>/, crashes to DIR/crashes/<target>/; a crash worth
# keeping goes into tests/fuzz/corpus/<target>/ with its fix, so that the CTest
# fuzz.<target> replays it.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=$root/build-fuzz
mode=run
bound=-max_total_time=60
targets=()
while [ $# -gt 0 ]; do
  case $1 in
    --build-dir) build_dir=$2; shift ;;
    --build-only) mode=build ;;
    --no-build) mode=no-build ;;
    -runs=*) bound=$1 ;;
    [0-9]*) bound=-max_total_time=$1 ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1") ;;
  esac
  shift
done
[ ${#targets[@]} -gt 0 ] ||
  targets=(config_plan state_record seccomp_profile shim_options ttrpc_request)

# Debian 12's clang 14 cannot compile libstdc++ 12's <expected> (it wants
# __cpp_concepts >= 202002L); clang 19 (bookworm-updates) can.
clangxx=${BERTH_FUZZ_CXX:-clang++-19}
if [ "$mode" != no-build ]; then
  command -v "$clangxx" >/dev/null || { echo "fuzz.sh: $clangxx not found (scripts/install-deps.sh)" >&2; exit 1; }
  mkdir -p "$build_dir"
  cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_CXX_COMPILER="$clangxx" \
    -DCMAKE_C_COMPILER="${clangxx/clang++/clang}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DBERTH_FUZZ=ON -DBERTH_BUILD_BENCH=OFF >"$build_dir/configure.log" 2>&1 ||
    { tail -20 "$build_dir/configure.log" >&2; exit 1; }
  cmake --build "$build_dir" -j "${BERTH_FUZZ_JOBS:-2}" --target "${targets[@]/%/_fuzzer}" || exit 1
fi
[ "$mode" = build ] && exit 0

# Reports name their frames (llvm-19's symbolizer, scripts/install-deps.sh).
[ -x /usr/lib/llvm-19/bin/llvm-symbolizer ] &&
  export ASAN_SYMBOLIZER_PATH=${ASAN_SYMBOLIZER_PATH:-/usr/lib/llvm-19/bin/llvm-symbolizer}
failed=0
printf '%-16s %12s %9s %8s\n' target executions exec/s crashes
for t in "${targets[@]}"; do
  fuzzer=$build_dir/bin/${t}_fuzzer
  [ -x "$fuzzer" ] || { echo "fuzz.sh: $fuzzer not built" >&2; failed=1; continue; }
  seeds=$root/tests/fuzz/corpus/$t
  [ -d "$seeds" ] || { echo "fuzz.sh: no seed corpus $seeds" >&2; failed=1; continue; }
  corpus=$build_dir/corpus/$t crashes=$build_dir/crashes/$t log=$build_dir/logs/$t.log
  rm -rf "$crashes"
  mkdir -p "$corpus" "$crashes" "$(dirname "$log")"
  # The first corpus directory takes new inputs: the repository's seeds stay as they are.
  nice -n "${BERTH_FUZZ_NICE:-10}" "$fuzzer" -seed=1 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$crashes/" "$bound" "$corpus" "$seeds" >"$log" 2>&1
  rc=$?
  execs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$log" | tail -1)
  rate=$(sed -nE 's/^stat::average_exec_per_sec: *([0-9]+).*/\1/p' "$log" | tail -1)
  found=$(find "$crashes" -type f | wc -l)
  [ "$rc" = 0 ] || [ "$found" -gt 0 ] || found=1  # died without an artifact
  printf '%-16s %12s %9s %8s\n' "$t" "${execs:-?}" "${rate:-?}" "$found"
  if [ "$found" -gt 0 ]; then
    failed=1
    grep -m1 -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error)' "$log" >&2
    echo "fuzz.sh: $t: exit $rc; log $log, inputs in $crashes" >&2
  fi
done
exit $failed
