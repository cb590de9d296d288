#!/usr/bin/env bash
# bench/shim/run.sh BUILD_DIR [quick]
#
# containerd's runc v2 shim (containerd 2.3's, once with runc 1.4 and once with crun) and
# berth's shim side by side, in one run, on one private containerd 2.3 (tests/shim/containerd.sh, installed by
# scripts/install-deps.sh) with the busybox test image:
#   1. `ctr run --rm IMAGE ID true`: median wall time of RUNS runs, the three
#      configurations alternating
#   2. memory: RSS and PSS per shim process with 20 idle containers (`sleep`), read
#      from /proc/<shim>/smaps_rollup after the shims have been idle IDLE seconds
#   3. throughput: SEQ tasks one after another through containerd's Go client
#      (create, start, wait, delete): tasks per second
#   4. memory per extra container in a grouped shim: RSS of the one shim of a group
#      (io.containerd.runc.v2.group) with 1 and with 21 idle containers, / 20
#   5. order stress (berth): STRESS instant-exit runs and as many instant-exit execs,
#      8 at a time, with every task event checked for order: 0 violations wanted
# `quick` uses smaller numbers (what CTest runs is smaller still: tests/shim).
set -euo pipefail
build=$(cd "${1:?usage: run.sh BUILD_DIR [quick]}" && pwd)
mode=${2:-full}
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
if [ "$mode" = quick ]; then RUNS=10 SEQ=100 STRESS=300 IDLE=4; else RUNS=30 SEQ=1000 STRESS=10000 IDLE=5; fi
# The configurations: a name, the shim (containerd runtime), and the OCI runtime the
# runc-v2 shim runs (its BinaryName option, `ctr run --runc-binary`; runc 1.4 from the
# PATH when empty).
CONFIGS=(runc crun berth)
declare -A SHIM=([runc]=io.containerd.runc.v2 [crun]=io.containerd.runc.v2 [berth]=io.containerd.berth.v2)
declare -A OCI=([runc]="" [crun]=$(command -v crun) [berth]="")
# Debian's crun 1.8.1 refuses every ociVersion but 1.0.x ("unknown version specified"),
# and containerd 2.3 writes 1.3.0: crun's specs say 1.0.2, otherwise identical.
declare -A SPECVER=([runc]="" [crun]=1.0.2 [berth]="")

dir=$(mktemp -d /tmp/berth-shimbench-XXXXXX)
cleanup() { "$src/tests/shim/containerd.sh" cleanup "$dir" >/dev/null 2>&1 || true; }
trap cleanup EXIT
"$src/tests/shim/containerd.sh" setup "$dir" "$build/bin" 2.3
# shellcheck disable=SC1091
. "$dir/env"
C=("$CTR" --address "$CTD_SOCK" -n "$CTD_NS")

echo "building shimbench (Go, offline, GOPATH mode)" >&2
gobin="$build/bench/shim/shimbench"
mkdir -p "$build/bench/shim/gopath"
(cd "$here/go/shimbench" && GOPATH="$build/bench/shim/gopath:/usr/share/gocode" GO111MODULE=off \
  GOPROXY=off GOFLAGS= GOCACHE="$build/bench/shim/gocache" /usr/lib/go-1.19/bin/go build -o "$gobin" .)
SB=("$gobin" -address "$CTD_SOCK" -namespace "$CTD_NS" -image "$IMAGE")
ctr_run() {  # ctr_run CONFIG ARGS...: `ctr run` on CONFIG's shim and OCI runtime
  local cf=$1; shift
  local extra=(--runtime "${SHIM[$cf]}")
  [ -z "${OCI[$cf]}" ] || extra+=(--runc-binary "${OCI[$cf]}")
  "${C[@]}" run "${extra[@]}" "$@"
}
sb() {  # sb CONFIG ARGS...: shimbench on CONFIG
  local cf=$1; shift
  local extra=(-runtime "${SHIM[$cf]}")
  [ -z "${OCI[$cf]}" ] || extra+=(-binary "${OCI[$cf]}")
  [ -z "${SPECVER[$cf]}" ] || extra+=(-oci-version "${SPECVER[$cf]}")
  "${SB[@]}" "${extra[@]}" "$@"
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
declare -A run_ms rss pss tps extra

# 1. ctr run --rm ... true: one warm-up run each, then the configurations alternate run
#    by run, so that all see the same machine. (a) from the image, as users run it:
#    not crun, which refuses the image's spec (1.3.0); (b) from a bundle of our own
#    (`ctr run --config`: no image, no snapshot), the same spec with ociVersion 1.0.2
#    for all three.
"$src/scripts/make-rootfs.sh" "$dir/rootfs" >/dev/null
"${C[@]}" oci spec | jq --arg root "$dir/rootfs" \
  '.ociVersion = "1.0.2" | .root.path = $root | .process.args = ["/bin/true"] | .process.env = ["PATH=/bin"] | .process.terminal = false' \
  >"$dir/spec.json"
IMAGE_CONFIGS=(runc berth)
run_image() { ctr_run "$1" --rm "$IMAGE" "$2" true; }
run_bundle() { ctr_run "$1" --rm --config "$dir/spec.json" "$2"; }
declare -A times btimes
for cf in "${IMAGE_CONFIGS[@]}"; do run_image "$cf" "w-$cf"; done
for cf in "${CONFIGS[@]}"; do run_bundle "$cf" "wb-$cf"; done
for i in $(seq "$RUNS"); do
  for cf in "${IMAGE_CONFIGS[@]}"; do
    t0=$(date +%s%N); run_image "$cf" "r-$cf-$i"
    times[$cf]+="$(( ($(date +%s%N) - t0) / 1000 )) "
  done
  for cf in "${CONFIGS[@]}"; do
    t0=$(date +%s%N); run_bundle "$cf" "rb-$cf-$i"
    btimes[$cf]+="$(( ($(date +%s%N) - t0) / 1000 )) "
  done
done
ms() { printf '%s\n' $1 | median | awk '{printf "%.1f", $1/1000}'; }
declare -A brun_ms
run_ms[crun]=—
for cf in "${IMAGE_CONFIGS[@]}"; do run_ms[$cf]=$(ms "${times[$cf]}"); done
for cf in "${CONFIGS[@]}"; do brun_ms[$cf]=$(ms "${btimes[$cf]}"); done

shim_of() {  # the shim process of container $1
  local pid; pid=$("${C[@]}" task ls | awk -v i="$1" '$1==i {print $2}')
  ps -o ppid= -p "$pid" | tr -d ' '
}
remove() {  # remove IDS...: kill and delete the tasks and containers
  local id
  for id in "$@"; do "${C[@]}" task kill -s KILL "$id" >/dev/null 2>&1 || true; done
  sleep 1
  for id in "$@"; do
    "${C[@]}" task delete "$id" >/dev/null 2>&1 || true
    "${C[@]}" container delete "$id" >/dev/null 2>&1 || true
  done
}

# 2. and 4. memory: from the image, runc-v2 and berth. The shim of the crun
#    configuration is the same binary as with runc, and the OCI runtime is not
#    resident, so that column would repeat the runc-v2 one.
rss[crun]=— pss[crun]=— extra[crun]=—
for cf in "${IMAGE_CONFIGS[@]}"; do
  # 2. memory of 20 idle shims
  ids=()
  for i in $(seq 20); do ctr_run "$cf" -d "$IMAGE" "m-$cf-$i" sleep 100000; ids+=("m-$cf-$i"); done
  shims=()
  for id in "${ids[@]}"; do shims+=("$(shim_of "$id")"); done
  sleep "$IDLE"
  read -r r p < <(for s in $(printf '%s\n' "${shims[@]}" | sort -u); do
      awk '/^Rss:/ {r=$2} /^Pss:/ {p=$2} END {print r, p}' "/proc/$s/smaps_rollup"
    done | awk '{r+=$1; p+=$2; n++} END {printf "%.0f %.0f\n", r/n, p/n}')
  rss[$cf]=$r pss[$cf]=$p
  echo "$cf: $(printf '%s\n' "${shims[@]}" | sort -u | wc -l) shim processes for 20 containers" >&2
  remove "${ids[@]}"

  # 4. memory per extra container in one grouped shim: the shim's RSS after IDLE
  #    seconds with 1 container and with 21
  group=(--annotation "io.containerd.runc.v2.group=g-$cf-$$")
  ctr_run "$cf" -d "${group[@]}" "$IMAGE" "g-$cf-0" sleep 100000
  shim=$(shim_of "g-$cf-0")
  sleep "$IDLE"
  one=$(awk '/^Rss:/ {print $2}' "/proc/$shim/smaps_rollup")
  ids=("g-$cf-0")
  for i in $(seq 20); do ctr_run "$cf" -d "${group[@]}" "$IMAGE" "g-$cf-$i" sleep 100000; ids+=("g-$cf-$i"); done
  sleep "$IDLE"
  many=$(awk '/^Rss:/ {print $2}' "/proc/$shim/smaps_rollup")
  extra[$cf]=$(( (many - one) / 20 ))
  echo "$cf: grouped shim RSS $one KiB with 1 container, $many KiB with 21" >&2
  remove "${ids[@]}"
done

for cf in "${CONFIGS[@]}"; do
  # 3. sequential tasks per second
  out=$(sb "$cf" -prefix "s-$cf" seq -n "$SEQ")
  echo "$out" >&2
  tps[$cf]=$(sed -n 's/.*tasks_per_second=\([0-9.]*\).*/\1/p' <<<"$out")
done

# 5. order stress on berth's shim
stress=$(sb berth -prefix st stress -runs "$STRESS" -execs "$STRESS" -parallel 8) || true
echo "$stress" >&2

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b + 0 > 0) printf "%.2f", a/b; else print "—"}'; }
row() {  # row LABEL ARRAY GOAL: the figure of each configuration, berth/runc, berth/crun
  local -n a=$2
  printf '%-40s %10s %10s %10s %11s %11s  %s\n' "$1" "${a[runc]}" "${a[crun]}" "${a[berth]}" \
    "$(ratio "${a[berth]}" "${a[runc]}")" "$(ratio "${a[berth]}" "${a[crun]}")" "$3"
}
printf '\n%-40s %10s %10s %10s %11s %11s  %s\n' "measure" "runc-v2" "runc-v2" "berth" "berth/" "berth/" "goal"
printf '%-40s %10s %10s %10s %11s %11s\n' "" "+runc 1.4" "+crun" "" "runc-v2+runc" "runc-v2+crun"
row "ctr run --rm IMAGE true (ms, median of $RUNS)" run_ms "<= 0.6"
row "ctr run --rm --config (ms, median of $RUNS)" brun_ms "<= 0.6"
row "RSS per shim (KiB, 20 idle)" rss "berth <= 2048"
row "PSS per shim (KiB, 20 idle)" pss "berth <= 512"
row "RSS per extra grouped container (KiB)" extra "berth <= 64"
row "sequential tasks/s ($SEQ)" tps ">= 2"
printf '%-40s %s\n' "order stress (berth)" "$(tail -1 <<<"$stress")"
grep -q "violations=0" <<<"$stress"
