#!/usr/bin/env bash
# bench/runtime/run.sh [ITERATIONS]: berth, runc and crun (Debian's) side by side
# on the same busybox bundle, interleaved (the order rotates every iteration), as
# root. Prints medians and ratios for
#   run     `run` of /bin/true: wall time, CPU time and peak RSS (the runtime and its
#           helpers, and the container's process)
#   cycle   create + start + delete --force of /bin/true: wall time
# State directories are on tmpfs (/run), as the runtimes' defaults are.
# PAUSE_MS (default 100) is slept before each measured command (common.sh, `settle`).
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-50}
. bench/runtime/common.sh

results=$work/results
: >"$results"
runtimes=(berth runc crun)
for i in $(seq 1 "$N"); do
  for k in 0 1 2; do
    rt=${runtimes[$(( (i + k) % 3 ))]}
    bin=$(bin_of $rt)
    settle
    read -r ms rss st cpu < <("$MEASURE" "$bin" --root "$work/state-$rt" run --bundle "$bundle" "r$i")
    [ "$st" = 0 ] || { echo "$rt run failed (status $st)" >&2; exit 1; }
    echo "$rt run $ms $rss $cpu" >>"$results"
    settle
    t0=$(date +%s%N)
    "$bin" --root "$work/state-$rt" create --bundle "$bundle" "c$i" >/dev/null
    "$bin" --root "$work/state-$rt" start "c$i"
    "$bin" --root "$work/state-$rt" delete --force "c$i"
    t1=$(date +%s%N)
    echo "$rt cycle $(( (t1 - t0) / 1000 )) 0" >>"$results"
  done
done

declare -A M
for rt in "${runtimes[@]}"; do
  M[$rt.run]=$(awk -v r=$rt '$1 == r && $2 == "run" {print $3}' "$results" | median)
  M[$rt.rss]=$(awk -v r=$rt '$1 == r && $2 == "run" {print $4}' "$results" | median)
  M[$rt.cpu]=$(awk -v r=$rt '$1 == r && $2 == "run" {print $5}' "$results" | median)
  M[$rt.cycle]=$(awk -v r=$rt '$1 == r && $2 == "cycle" {print $3 / 1000}' "$results" | median)
done
echo "iterations: $N, pause ${PAUSE_MS} ms (medians; $(versions))"
printf '%-28s %10s %10s %10s %12s %12s\n' metric berth runc crun berth/crun berth/runc
for m in run cpu rss cycle; do
  case $m in run) label="run /bin/true (ms)";; cpu) label="run CPU user+sys (ms)";; rss) label="run peak RSS (KiB)";; cycle) label="create+start+delete (ms)";; esac
  printf '%-28s %10s %10s %10s %12s %12s\n' "$label" "${M[berth.$m]}" "${M[runc.$m]}" "${M[crun.$m]}" \
    "$(ratio "${M[berth.$m]}" "${M[crun.$m]}")" "$(ratio "${M[berth.$m]}" "${M[runc.$m]}")"
done
