#!/usr/bin/env bash
# stress-go.sh DIR SHIMBENCH [RUNS]: the order stress of bench/shim at a CTest size, on
# the private containerd of containerd.sh: instant-exit tasks and execs, 8 at a time,
# every task event checked for order (exit never before start, ...): 0 violations.
set -euo pipefail
dir=${1:?DIR}
shimbench=${2:?SHIMBENCH}
runs=${3:-200}
# shellcheck disable=SC1091
. "$dir/env"
out=$("$shimbench" -address "$CTD_SOCK" -namespace "$CTD_NS" -image "$IMAGE" -runtime "$RUNTIME" \
  -prefix "sg$(date +%s%N | tail -c 6)" stress -runs "$runs" -execs "$runs" -parallel 8)
echo "$out"
grep -q "violations=0" <<<"$out"
grep -q "errors=0" <<<"$out"
