# Sourced by bench/runtime/*.sh: the runtimes, a busybox bundle running /bin/true on
# tmpfs, crun's hugetlb requirement on v1 hosts, and the statistics helpers.
# Expects the caller to be in the repository root with `set -euo pipefail`.
BERTH=${BERTH:-$PWD/build/bin/berth}
MEASURE=${MEASURE:-$PWD/build/bin/berth-bench-measure}
[ -x "$BERTH" ] && [ -x "$MEASURE" ] || { echo "build first (cmake --build build)" >&2; exit 2; }
command -v runc >/dev/null && command -v crun >/dev/null || { echo "needs runc and crun (scripts/install-deps.sh)" >&2; exit 2; }

work=$(mktemp -d /run/berth-bench.XXXXXX)
mounted_hugetlb=
bench_cleanup() {
  for dir in "$work"/state-*; do
    [ -d "$dir" ] || continue
    rt=${dir##*/state-}; rt=${rt%%-*}
    bin=$(bin_of "$rt")
    for id in $("$bin" --root "$dir" list -q 2>/dev/null); do "$bin" --root "$dir" delete --force "$id" >/dev/null 2>&1 || true; done
  done
  rm -rf --one-file-system "$work"
  [ -n "$mounted_hugetlb" ] && umount /sys/fs/cgroup/hugetlb && rmdir /sys/fs/cgroup/hugetlb 2>/dev/null
  true
}
trap bench_cleanup EXIT

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

# Slept before each measured command, PAUSE_MS (default 100): a v1 cgroup move by
# pid leaves the kernel's cgroup_threadgroup_rwsem in its fast mode for a grace period
# or two, and a runtime that moves a pid next finds it there; without the pause a
# runtime gains or loses by whichever ran just before it (docs/benchmarks.md).
PAUSE_MS=${PAUSE_MS:-100}
settle() { sleep "$(awk -v ms="$PAUSE_MS" 'BEGIN { print ms / 1000 }')"; }

# bin_of berth|runc|crun: the binary.
bin_of() { [ "$1" = berth ] && echo "$BERTH" || echo "$1"; }
median() { sort -n | awk '{a[NR] = $1} END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
versions() { echo "berth $("$BERTH" --version | head -1 | awk '{print $3}'), $(runc --version | head -1), $(crun --version | head -1)"; }
