#!/bin/sh
# Builds the ttrpc decoder fuzzer with clang in its own build directory and runs it.
#   run_fuzzer.sh BUILD_DIR CLANGXX [libFuzzer flags, e.g. -runs=200000 or -max_total_time=3600]
# The seed corpus is generated here (valid frames and requests); new inputs found go to
# BUILD_DIR/corpus, so later runs start from them.
set -eu
build_dir=$1
clangxx=$2
shift 2
src_dir=$(cd "$(dirname "$0")" && pwd)

cmake -S "$src_dir" -B "$build_dir" -G Ninja -DCMAKE_CXX_COMPILER="$clangxx" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build_dir" >/dev/null

corpus=$build_dir/corpus
mkdir -p "$corpus"
# Seeds: a request frame (service "s", method "M", payload "p", timeout 5,
# metadata k=v), an empty OK response frame, an error response body, an oversized header.
printf '\000\000\000\023\000\000\000\001\001\000\012\001s\022\001M\032\001p\040\005\052\006\012\001k\022\001v' >"$corpus/seed-request"
printf '\000\000\000\000\000\000\000\001\002\000' >"$corpus/seed-empty-response"
printf '\012\005\010\014\022\001x\022\001p' >"$corpus/seed-response-body"
printf '\000\001\000\000\000\000\000\003\001\000xyz' >"$corpus/seed-oversized"

exec "$build_dir/ttrpc_request_fuzzer" -seed=1 -max_len=4096 -artifact_prefix="$build_dir/" "$@" "$corpus"
