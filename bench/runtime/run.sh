#!/usr/bin/env bash
# bench/runtime/run.sh [ITERATIONS]: berth, runc and crun (Debian's) side by side
# on the same busybox bundle, interleaved (the order rotates every iteration), as
# root. Prints medians and ratios for
#   run     `run` of /bin/true: wall time and peak RSS (the runtime and its helpers)
#   cycle   create + start + delete --force of /bin/true: wall time
# State directories are on tmpfs (/run), as the runtimes' defaults are.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-50}
BERTH=${BERTH:-$PWD/build/bin/berth}
MEASURE=${MEASURE:-$PWD/build/bin/berth-bench-measure}
[ -x "$BERTH" ] && [ -x "$MEASURE" ] || { echo "build first (cmake --build build)" >&2; exit 2; }
command -v runc >/dev/null && command -v crun >/dev/null || { echo "needs runc and crun (scripts/install-deps.sh)" >&2; exit 2; }

work=$(mktemp -d /run/berth-bench.XXXXXX)
mounted_hugetlb=
cleanup() {
  for rt in berth runc crun; do
    bin=$rt; [ $rt = berth ] && bin=$BERTH
    for id in $("$bin" --root "$work/$rt" list -q 2>/dev/null); do "$bin" --root "$work/$rt" delete --force "$id" >/dev/null 2>&1 || true; done
  done
  rm -rf --one-file-system "$work"
  [ -n "$mounted_hugetlb" ] && umount /sys/fs/cgroup/hugetlb && rmdir /sys/fs/cgroup/hugetlb 2>/dev/null
  true
}
trap cleanup EXIT

# crun refuses a cgroup v1/hybrid host without the hugetlb controller mounted.
if [ "$(stat -fc %T /sys/fs/cgroup)" = tmpfs ] && ! mountpoint -q /sys/fs/cgroup/hugetlb &&
   awk '$1 == "hugetlb" && $4 == 1 { f = 1 } END { exit !f }' /proc/cgroups; then
  mkdir -p /sys/fs/cgroup/hugetlb && mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb && mounted_hugetlb=1
fi

bundle=$work/bundle
mkdir -p "$bundle"
scripts/make-rootfs.sh "$bundle/rootfs"
"$BERTH" spec --bundle "$bundle"
sed -i -e 's/"terminal": true/"terminal": false/' -e 's|^\(\s*\)"sh"$|\1"true"|' "$bundle/config.json"

bin_of() { [ "$1" = berth ] && echo "$BERTH" || echo "$1"; }
results=$work/results
: >"$results"
runtimes=(berth runc crun)
for i in $(seq 1 "$N"); do
  for k in 0 1 2; do
    rt=${runtimes[$(( (i + k) % 3 ))]}
    bin=$(bin_of $rt)
    read -r ms rss st < <("$MEASURE" "$bin" --root "$work/$rt" run --bundle "$bundle" "r$i")
    [ "$st" = 0 ] || { echo "$rt run failed (status $st)" >&2; exit 1; }
    echo "$rt run $ms $rss" >>"$results"
    t0=$(date +%s%N)
    "$bin" --root "$work/$rt" create --bundle "$bundle" "c$i" >/dev/null
    "$bin" --root "$work/$rt" start "c$i"
    "$bin" --root "$work/$rt" delete --force "c$i"
    t1=$(date +%s%N)
    echo "$rt cycle $(( (t1 - t0) / 1000 )) 0" >>"$results"
  done
done

median() { sort -n | awk '{a[NR] = $1} END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
declare -A M
for rt in "${runtimes[@]}"; do
  M[$rt.run]=$(awk -v r=$rt '$1 == r && $2 == "run" {print $3}' "$results" | median)
  M[$rt.rss]=$(awk -v r=$rt '$1 == r && $2 == "run" {print $4}' "$results" | median)
  M[$rt.cycle]=$(awk -v r=$rt '$1 == r && $2 == "cycle" {print $3 / 1000}' "$results" | median)
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "iterations: $N (medians; berth $("$BERTH" --version | head -1 | awk '{print $3}'), $(runc --version | head -1), $(crun --version | head -1))"
printf '%-28s %10s %10s %10s %12s %12s\n' metric berth runc crun berth/crun berth/runc
for m in run rss cycle; do
  case $m in run) label="run /bin/true (ms)";; rss) label="run peak RSS (KiB)";; cycle) label="create+start+delete (ms)";; esac
  printf '%-28s %10s %10s %10s %12s %12s\n' "$label" "${M[berth.$m]}" "${M[runc.$m]}" "${M[crun.$m]}" \
    "$(ratio "${M[berth.$m]}" "${M[crun.$m]}")" "$(ratio "${M[berth.$m]}" "${M[runc.$m]}")"
done
