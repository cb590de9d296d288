#!/usr/bin/env bash
# bench/cri/shim-memory.sh BUILD_DIR
#
# Where a pod's shim memory goes: one pod of 2 `sleep` containers per handler (berth,
# and runc = containerd 2.3's runc-v2 shim with runc 1.4), on a private containerd 2.3
# with CRI (tests/cri/cri.sh), and the RSS of each pod's shim from /proc/<shim>/smaps,
# summed by kind of mapping: the shim's own binary, shared libraries, heap, thread
# stacks and other anonymous memory, the rest. Side by side, with the ratio berth/runc.
set -euo pipefail
build=$(cd "${1:?usage: shim-memory.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
BUSYBOX=registry.k8s.io/e2e-test-images/busybox:1.29-2
work=$(mktemp -d /tmp/berth-shimmem-XXXXXX)
parent=/berth-shimmem-$$
cleanup() {
  "$src/tests/cri/cri.sh" cleanup "$work/cri" >/dev/null || echo "shim-memory.sh: cri.sh cleanup found leftovers (above)" >&2
  for hier in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do
    [ -d "$hier$parent" ] && find "$hier$parent" -depth -type d -exec rmdir {} + 2>/dev/null
  done
  rm -rf "$work"
}
trap cleanup EXIT
"$src/tests/cri/cri.sh" setup "$work/cri" "$build/bin" >/dev/null
# shellcheck disable=SC1091
. "$work/cri/env"
crictl() { $CRICTL "$@"; }
crictl inspecti "$BUSYBOX" >/dev/null 2>&1 || crictl pull "$BUSYBOX" >/dev/null

# RSS in KiB of one process by kind: binary libs heap anon other.
by_kind() {
  awk -v exe="$(readlink "/proc/$1/exe")" '
    /^[0-9a-f]+-[0-9a-f]+ / { name = $6; next }
    /^Rss:/ {
      if (name == exe) k = "binary"; else if (name ~ /\.so/) k = "libs";
      else if (name == "[heap]") k = "heap"; else if (name == "") k = "anon";
      else k = "other";
      kb[k] += $2 }
    END { printf "%d %d %d %d %d\n", kb["binary"], kb["libs"], kb["heap"], kb["anon"], kb["other"] }
  ' "/proc/$1/smaps"
}

declare -A seen
for handler in berth runc; do
  jq -n --arg h "$handler" --arg parent "$parent" \
    '{metadata: {name: ("mem-" + $h), namespace: "berth-shimmem", uid: ("mem-" + $h)},
      linux: {cgroup_parent: $parent}}' >"$work/pod-$handler.json"
  pod=$(crictl runp --runtime "$handler" "$work/pod-$handler.json")
  for i in 1 2; do
    jq -n --arg name "c$i" --arg image "$BUSYBOX" \
      '{metadata: {name: $name}, image: {image: $image}, command: ["sleep", "100000"]}' \
      >"$work/c$i-$handler.json"
    c=$(crictl create "$pod" "$work/c$i-$handler.json" "$work/pod-$handler.json")
    crictl start "$c" >/dev/null
  done
  sleep 5
  init=$(crictl inspect -o json "$c" | jq -r .info.pid)
  shim=$(ps -o ppid= -p "$init" | tr -d ' ')
  threads=$(ls "/proc/$shim/task" | wc -l)
  seen[$handler]="$(by_kind "$shim") $threads"
done

printf '%-20s %10s %10s %8s\n' "RSS of the pod's shim" berth runc-v2 ratio
read -r -a b <<<"${seen[berth]}"
read -r -a r <<<"${seen[runc]}"
names=("binary, KiB" "shared libs, KiB" "heap, KiB" "other anon, KiB" "other, KiB" "threads")
tb=0 tr=0
for i in 0 1 2 3 4 5; do
  ratio=$(awk -v x="${b[$i]}" -v y="${r[$i]}" 'BEGIN { if (y > 0) printf "%.2f", x / y; else print "-" }')
  printf '%-20s %10s %10s %8s\n' "${names[$i]}" "${b[$i]}" "${r[$i]}" "$ratio"
  [ "$i" -lt 5 ] && tb=$((tb + b[i])) && tr=$((tr + r[i]))
done
printf '%-20s %10s %10s %8s\n' "total, KiB" "$tb" "$tr" "$(awk -v x=$tb -v y=$tr 'BEGIN { printf "%.2f", x / y }')"
