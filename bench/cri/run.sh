#!/usr/bin/env bash
# bench/cri/run.sh BUILD_DIR [quick]
#
# Pods through the Kubernetes CRI API, as a kubelet starts them: berth's shim (runtime
# handler `berth`) and containerd 2.3's runc-v2 shim with runc 1.4 (handler `runc`)
# side by side, in one run, on one private containerd 2.3 with its CRI plugin in a
# network namespace of its own (tests/cri/cri.sh), with the e2e busybox image. A Go
# client of k8s.io/cri-api (go/podbench) drives it; each pod has a cgroup parent of its
# own, as a kubelet gives it.
#   1. pod startup: RunPodSandbox + CreateContainer + StartContainer of a container
#      running `sh -c 'echo ready; exec sleep 100000'`, timed until ContainerStatus says
#      RUNNING and until "ready" is in its CRI log file; median and p99 (nearest rank:
#      under 100 samples, the largest) of
#      (a) SEQ pods one after another, the handlers alternating pod by pod, each pod
#          removed (StopPodSandbox, RemovePodSandbox) before the next, after one warm-up
#          pod each;
#      (b) ROUNDS rounds of 10 pods started at once, handler by handler, each pod timed
#          from its own RunPodSandbox.
#   2. memory of the runtime per pod: the RSS and PSS of the pods' shim processes (the
#      parent of each container's init), from /proc/<shim>/smaps_rollup after IDLE
#      seconds idle, summed and divided by the pods: at 1 pod and at 20 pods, each of 2
#      `sleep` containers; handler by handler.
# `quick` uses smaller numbers (8 sequential pods, 1 round of 10); memory is at 20 pods
# in both.
set -euo pipefail
build=$(cd "${1:?usage: run.sh BUILD_DIR [quick]}" && pwd)
mode=${2:-full}
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
if [ "$mode" = quick ]; then SEQ=8 ROUNDS=1 IDLE=4; else SEQ=30 ROUNDS=3 IDLE=5; fi
PAR=10 MEM_PODS=20 MEM_CONTAINERS=2
HANDLERS=(runc berth)
BUSYBOX=registry.k8s.io/e2e-test-images/busybox:1.29-2
start=$(date +%s)

work=$(mktemp -d /tmp/berth-podbench-XXXXXX)
# The pods' names and the root of their cgroup parents (/<prefix>/pod<name>).
prefix=berth-podbench-$$
cleanup() {
  "$src/tests/cri/cri.sh" cleanup "$work/cri" >/dev/null 2>&1 || true
  local hier
  for hier in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do
    if [ -d "$hier$prefix" ]; then
      find "$hier$prefix" -depth -type d -exec rmdir {} + 2>/dev/null || true
    fi
  done
  rm -rf "$work"
}
trap cleanup EXIT

echo "building podbench (Go, module mode)" >&2
gobin="$build/bench/cri/podbench"
mkdir -p "$build/bench/cri"
(cd "$here/go/podbench" && GOTOOLCHAIN=local GOFLAGS="-mod=readonly -modcacherw -buildvcs=false" \
  GOPATH="$build/bench/cri/gopath" GOMODCACHE="$build/bench/cri/gopath/pkg/mod" \
  GOCACHE="$build/bench/cri/gocache" /usr/local/go/bin/go build -o "$gobin" .)

"$src/tests/cri/cri.sh" setup "$work/cri" "$build/bin"
# shellcheck disable=SC1091
. "$work/cri/env"

# In the namespace: the pods' network is there (the client itself only needs the socket).
$IN_NS "$gobin" -endpoint "$CRI_ENDPOINT" -image "$BUSYBOX" -logs "$work/logs" -prefix "$prefix" \
  -handlers "$(IFS=,; echo "${HANDLERS[*]}")" -seq "$SEQ" -parallel "$PAR" -rounds "$ROUNDS" \
  -mem-pods "$MEM_PODS" -mem-containers "$MEM_CONTAINERS" -idle "${IDLE}s" >"$work/results" ||
  { echo "podbench failed; containerd's log:" >&2; tail -20 "$work/cri/containerd.log" >&2; exit 1; }
cat "$work/results" >&2

get() {  # get "WORD=VALUE..." KEY: KEY's value on the result line that has every WORD=VALUE
  awk -v want="$1" -v key="$2" '{
      n = split(want, w, " "); ok = 1
      for (i = 1; i <= n; i++) if (index(" " $0 " ", " " w[i] " ") == 0) ok = 0
      if (ok) for (i = 1; i <= NF; i++) if (index($i, key "=") == 1) print substr($i, length(key) + 2)
    }' "$work/results"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b + 0 > 0) printf "%.2f", a/b; else print "—"}'; }
row() {  # row LABEL SELECTOR KEY GOAL: runc's and berth's figure, berth/runc, the goal and whether it is met
  local r b q met
  r=$(get "$2 handler=runc" "$3") b=$(get "$2 handler=berth" "$3")
  q=$(ratio "$b" "$r")
  met=$(awk -v q="$q" -v g="$4" 'BEGIN {print (q != "—" && q + 0 <= g + 0) ? "met" : "not met"}')
  printf '%-*s %10s %10s %8s  %s\n' $w "$1" "$r" "$b" "$q" "<= $4 ($met)"
}
npar=$((PAR * ROUNDS))
w=52
printf '\n%-*s %10s %10s %8s  %s\n' $w "measure" "runc-v2" "berth" "berth/" "goal"
printf '%-*s %10s %10s %8s\n' $w "" "+runc 1.4" "" "runc"
for m in seq parallel; do
  if [ $m = seq ]; then what="sequential" n=$SEQ; else what="$PAR at once" n=$npar; fi
  row "pod to RUNNING, $what (ms, median of $n)" "startup mode=$m" running_median_ms 0.7
  row "pod to RUNNING, $what (ms, p99 of $n)" "startup mode=$m" running_p99_ms 0.7
  row "pod to first log line, $what (ms, median of $n)" "startup mode=$m" log_median_ms 0.7
  row "pod to first log line, $what (ms, p99 of $n)" "startup mode=$m" log_p99_ms 0.7
done
for n in 1 "$MEM_PODS"; do
  pods="$n pods"; [ "$n" != 1 ] || pods="1 pod"
  row "shim RSS per pod (KiB, $pods, $MEM_CONTAINERS sleep each)" "memory pods=$n" rss_kib_per_pod 0.25
  row "shim PSS per pod (KiB, $pods, $MEM_CONTAINERS sleep each)" "memory pods=$n" pss_kib_per_pod 0.25
done
echo "($(($(date +%s) - start)) s)" >&2
