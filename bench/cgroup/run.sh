#!/usr/bin/env bash
# bench/cgroup/run.sh [ITERATIONS]: times `pause`, `resume` and `update --memory` of
# berth, runc and crun in one interleaved run (berth_cgroup_bench), on one container per
# runtime made from the same busybox bundle, each runtime with its own private --root.
# Run as root after `cmake --build build`. Prints a markdown table (see docs/cgroups.md).
#
# crun 1.8 refuses a hybrid host whose hugetlb controller is not mounted as cgroup v1;
# if it is not, this mounts it at /sys/fs/cgroup/hugetlb for the run and unmounts it after.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
berth=${BERTH:-$src/build/bin/berth}
bench=${BERTH_CGROUP_BENCH:-$src/build/bin/berth_cgroup_bench}
iterations=${1:-300}

for tool in runc crun jq "$berth" "$bench"; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool not found (scripts/install-deps.sh, cmake --build build)" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "run.sh: run as root" >&2; exit 1; }

work=$(mktemp -d /tmp/berth-cgroup-bench-XXXXXX)
chmod 755 "$work"
mounted_hugetlb=
declare -A binary=([berth]="$berth" [runc]="$(command -v runc)" [crun]="$(command -v crun)")
id_of() { echo "bench-cg-$1-$$"; }

cleanup() {
  for rt in berth runc crun; do
    "${binary[$rt]}" --root "$work/root-$rt" delete -f "$(id_of "$rt")" >/dev/null 2>&1 || true
  done
  if [ -n "$mounted_hugetlb" ]; then
    umount /sys/fs/cgroup/hugetlb && rmdir /sys/fs/cgroup/hugetlb || true
  fi
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT

if [ -d /sys/fs/cgroup/unified ] && ! mountpoint -q /sys/fs/cgroup/hugetlb; then
  mkdir -p /sys/fs/cgroup/hugetlb
  mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb
  mounted_hugetlb=1
fi

mkdir -p "$work/bundle"
"$src/scripts/make-rootfs.sh" "$work/bundle/rootfs"
(cd "$work/bundle" && "$berth" spec)
jq '.process.terminal = false | .process.args = ["sleep", "1000000"] | .root.readonly = true
    | .linux.resources.memory = {"limit": 314572800}' \
  "$work/bundle/config.json" >"$work/config.json"
mv "$work/config.json" "$work/bundle/config.json"

specs=()
for rt in berth runc crun; do
  id=$(id_of "$rt")
  "${binary[$rt]}" --root "$work/root-$rt" create --bundle "$work/bundle" "$id" </dev/null >/dev/null
  "${binary[$rt]}" --root "$work/root-$rt" start "$id"
  specs+=("$rt=${binary[$rt]}:$work/root-$rt:$id")
done

echo "# $(uname -r); berth $("$berth" --version | head -1 | awk '{print $3}'), $(runc --version | head -1), $(crun --version | head -1)"
"$bench" --iterations "$iterations" "${specs[@]}"
