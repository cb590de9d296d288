#!/usr/bin/env bash
# bench/shim/run.sh BUILD_DIR [quick]
#
# containerd's runc v2 shim (containerd 2.3's, with runc 1.4) and berth's shim side by
# side, in one run, on one private containerd 2.3 (tests/shim/containerd.sh, installed by
# scripts/install-deps.sh) with the busybox test image:
#   1. `ctr run --rm IMAGE ID true`: median wall time of RUNS runs, the two runtimes
#      alternating
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
RUNTIMES=(io.containerd.runc.v2 io.containerd.berth.v2)

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

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
declare -A run_ms rss pss tps extra

# 1. ctr run --rm ... true: one warm-up run each, then the runtimes alternate run by
#    run, so that both see the same machine
for rt in "${RUNTIMES[@]}"; do "${C[@]}" run --runtime "$rt" --rm "$IMAGE" "w-${rt#io.containerd.}" true; done
declare -A times
for i in $(seq "$RUNS"); do
  for rt in "${RUNTIMES[@]}"; do
    t0=$(date +%s%N)
    "${C[@]}" run --runtime "$rt" --rm "$IMAGE" "r-${rt#io.containerd.}-$i" true
    times[$rt]+="$(( ($(date +%s%N) - t0) / 1000 )) "
  done
done
for rt in "${RUNTIMES[@]}"; do
  run_ms[$rt]=$(printf '%s\n' ${times[$rt]} | median | awk '{printf "%.1f", $1/1000}')
done

for rt in "${RUNTIMES[@]}"; do
  short=${rt#io.containerd.}
  # 2. memory of 20 idle shims
  for i in $(seq 20); do "${C[@]}" run --runtime "$rt" -d "$IMAGE" "m-$short-$i" sleep 100000; done
  shims=()
  for i in $(seq 20); do
    pid=$("${C[@]}" task ls | awk -v i="m-$short-$i" '$1==i {print $2}')
    shims+=("$(ps -o ppid= -p "$pid" | tr -d ' ')")
  done
  sleep "$IDLE"
  read -r r p < <(for s in $(printf '%s\n' "${shims[@]}" | sort -u); do
      awk '/^Rss:/ {r=$2} /^Pss:/ {p=$2} END {print r, p}' "/proc/$s/smaps_rollup"
    done | awk '{r+=$1; p+=$2; n++} END {printf "%.0f %.0f\n", r/n, p/n}')
  rss[$rt]=$r pss[$rt]=$p
  echo "$rt: $(printf '%s\n' "${shims[@]}" | sort -u | wc -l) shim processes for 20 containers" >&2
  for i in $(seq 20); do "${C[@]}" task kill -s KILL "m-$short-$i" >/dev/null 2>&1 || true; done
  sleep 1
  for i in $(seq 20); do
    "${C[@]}" task delete "m-$short-$i" >/dev/null 2>&1 || true
    "${C[@]}" container delete "m-$short-$i" >/dev/null 2>&1 || true
  done

  # 4. memory per extra container in one grouped shim
  group_rss() {  # the shim's RSS (KiB) after IDLE seconds; $1 is a container of the group
    local pid shim; pid=$("${C[@]}" task ls | awk -v i="$1" '$1==i {print $2}')
    shim=$(ps -o ppid= -p "$pid" | tr -d ' ')
    sleep "$IDLE"
    awk '/^Rss:/ {print $2}' "/proc/$shim/smaps_rollup"
  }
  group=(--annotation "io.containerd.runc.v2.group=g-$short-$$")
  "${C[@]}" run --runtime "$rt" -d "${group[@]}" "$IMAGE" "g-$short-0" sleep 100000
  one=$(group_rss "g-$short-0")
  for i in $(seq 20); do "${C[@]}" run --runtime "$rt" -d "${group[@]}" "$IMAGE" "g-$short-$i" sleep 100000; done
  many=$(group_rss "g-$short-0")
  extra[$rt]=$(( (many - one) / 20 ))
  echo "$rt: grouped shim RSS $one KiB with 1 container, $many KiB with 21" >&2
  for i in $(seq 0 20); do "${C[@]}" task kill -s KILL "g-$short-$i" >/dev/null 2>&1 || true; done
  sleep 1
  for i in $(seq 0 20); do
    "${C[@]}" task delete "g-$short-$i" >/dev/null 2>&1 || true
    "${C[@]}" container delete "g-$short-$i" >/dev/null 2>&1 || true
  done

  # 3. sequential tasks per second
  out=$("${SB[@]}" -runtime "$rt" -prefix "s-$short" seq -n "$SEQ")
  echo "$out" >&2
  tps[$rt]=$(sed -n 's/.*tasks_per_second=\([0-9.]*\).*/\1/p' <<<"$out")
done

# 5. order stress on berth's shim
stress=$("${SB[@]}" -runtime io.containerd.berth.v2 -prefix st stress -runs "$STRESS" -execs "$STRESS" -parallel 8) || true
echo "$stress" >&2

r=io.containerd.runc.v2 b=io.containerd.berth.v2
printf '\n%-28s %12s %12s %8s %s\n' "measure" "runc-v2" "berth" "ratio" "goal"
printf '%-28s %12s %12s %8s %s\n' "ctr run --rm true (ms, median of $RUNS)" "${run_ms[$r]}" "${run_ms[$b]}" \
  "$(awk -v a="${run_ms[$b]}" -v b="${run_ms[$r]}" 'BEGIN {printf "%.2f", a/b}')" "<= 0.6"
printf '%-28s %12s %12s %8s %s\n' "RSS per shim (KiB, 20 idle)" "${rss[$r]}" "${rss[$b]}" \
  "$(awk -v a="${rss[$b]}" -v b="${rss[$r]}" 'BEGIN {printf "%.2f", a/b}')" "berth <= 2048"
printf '%-28s %12s %12s %8s %s\n' "PSS per shim (KiB, 20 idle)" "${pss[$r]}" "${pss[$b]}" \
  "$(awk -v a="${pss[$b]}" -v b="${pss[$r]}" 'BEGIN {printf "%.2f", a/b}')" "berth <= 512"
printf '%-28s %12s %12s %8s %s\n' "RSS per extra grouped container (KiB)" "${extra[$r]}" "${extra[$b]}" \
  "$(awk -v a="${extra[$b]}" -v b="${extra[$r]}" 'BEGIN {printf "%.2f", (b > 0) ? a/b : 0}')" "berth <= 64"
printf '%-28s %12s %12s %8s %s\n' "sequential tasks/s ($SEQ)" "${tps[$r]}" "${tps[$b]}" \
  "$(awk -v a="${tps[$b]}" -v b="${tps[$r]}" 'BEGIN {printf "%.2f", a/b}')" ">= 2"
printf '%-28s %s\n' "order stress (berth)" "$(tail -1 <<<"$stress")"
grep -q "violations=0" <<<"$stress"
