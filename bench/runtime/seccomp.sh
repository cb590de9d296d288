#!/usr/bin/env bash
# bench/runtime/seccomp.sh [ITERATIONS]: `run` of /bin/true with Docker's default
# seccomp profile (tests/fixtures/docker-default-seccomp.json) in linux.seccomp, for
#   berth-cold  berth with its compiled-filter cache emptied before every run
#   berth-warm  berth with the cache filled by an earlier run (the second container
#               with the same profile)
#   runc, crun  Debian's, as they are (they compile the profile every time)
# interleaved, the order rotating every iteration; medians and ratios. As root.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-40}
. bench/runtime/common.sh

jq --slurpfile p tests/fixtures/docker-default-seccomp.json '.linux.seccomp = $p[0]' \
  "$bundle/config.json" >"$work/config.json"
mv "$work/config.json" "$bundle/config.json"

results=$work/results
: >"$results"
variants=(berth-cold berth-warm runc crun)
# Fill berth-warm's cache once.
"$BERTH" --root "$work/state-berth-warm" run --bundle "$bundle" warmup
for i in $(seq 1 "$N"); do
  for k in 0 1 2 3; do
    v=${variants[$(( (i + k) % 4 ))]}
    root=$work/state-$v
    [ "$v" = berth-cold ] && rm -rf "$root/.seccomp-cache"
    settle
    read -r ms rss st cpu < <("$MEASURE" "$(bin_of "${v%%-*}")" --root "$root" run --bundle "$bundle" "r$i")
    [ "$st" = 0 ] || { echo "$v run failed (status $st)" >&2; exit 1; }
    echo "$v $ms" >>"$results"
  done
done
[ -n "$(ls "$work/state-berth-warm/.seccomp-cache")" ] || { echo "berth-warm: the cache is empty" >&2; exit 1; }

declare -A M
for v in "${variants[@]}"; do M[$v]=$(awk -v v=$v '$1 == v {print $2}' "$results" | median); done
echo "iterations: $N, pause ${PAUSE_MS} ms (medians of run /bin/true with Docker's default seccomp profile; $(versions))"
printf '%-12s %10s %12s %12s\n' variant ms "x crun" "x runc"
for v in "${variants[@]}"; do
  printf '%-12s %10s %12s %12s\n' "$v" "${M[$v]}" "$(ratio "${M[$v]}" "${M[crun]}")" "$(ratio "${M[$v]}" "${M[runc]}")"
done
