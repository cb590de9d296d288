#!/bin/sh
# ttrpc benchmark: request round trips against the C++ server and the ttrpc-go 1.1.1
# server, in the same run, with the same Go load generator (ttrpc-go client), 1 and 16
# concurrent clients (one connection each, one call in flight per connection).
# Rounds alternate which server goes first; the summary prints medians and ratios.
#
#   bench/ttrpc/run.sh [BUILD_DIR]        (default: ./build, configured already)
#   ROUNDS=5 DURATION=5s PAYLOAD=64 bench/ttrpc/run.sh
# Not a test: numbers depend on the machine and its load.
set -eu
repo=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$repo/build}
rounds=${ROUNDS:-5}
duration=${DURATION:-5s}
payload=${PAYLOAD:-64}
out=$build/bench/ttrpc

cmake --build "$build" --target ttrpc_bench_server >/dev/null
mkdir -p "$out"
(cd "$repo/bench/ttrpc/go/ttrpc-bench" &&
  env GOPATH="$out/gopath:/usr/share/gocode" GO111MODULE=off GOFLAGS= GOPROXY=off GOCACHE="$out/gocache" \
    go build -o "$out/ttrpc-bench" .)

tmp=$(mktemp -d)
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

rss_kb() { awk -v f="$2" '$1 == f":" { print $2 }' "/proc/$1/status"; }

run_server() { # NAME
  name=$1
  sock=$tmp/$name.sock
  rm -f "$sock"
  if [ "$name" = cpp ]; then
    "$build/bin/ttrpc_bench_server" "$sock" >"$tmp/$name.out" 2>&1 &
  else
    GOMAXPROCS=${GOMAXPROCS:-$(nproc)} "$out/ttrpc-bench" serve -socket "$sock" >"$tmp/$name.out" 2>&1 &
  fi
  server_pid=$!
  i=0
  until grep -q ready "$tmp/$name.out" 2>/dev/null; do
    i=$((i + 1))
    [ $i -lt 200 ] || { echo "$name server did not start" >&2; cat "$tmp/$name.out" >&2; exit 1; }
    sleep 0.05
  done
  idle=$(rss_kb "$server_pid" VmRSS)
  for clients in 1 16; do
    "$out/ttrpc-bench" load -socket "$sock" -clients "$clients" -duration "$duration" -payload "$payload" |
      sed "s/^{/{\"server\":\"$name\",/" >>"$tmp/results.jsonl"
  done
  peak=$(rss_kb "$server_pid" VmHWM)
  echo "{\"server\":\"$name\",\"idle_rss_kb\":$idle,\"peak_rss_kb\":$peak}" >>"$tmp/results.jsonl"
  kill "$server_pid"
  wait "$server_pid" 2>/dev/null || true
  server_pid=
}

echo "ttrpc benchmark: $rounds rounds of $duration per configuration, payload $payload bytes, $(nproc) CPUs"
r=1
while [ $r -le "$rounds" ]; do
  if [ $((r % 2)) -eq 1 ]; then order="cpp go"; else order="go cpp"; fi
  for s in $order; do run_server "$s"; done
  echo "round $r done" >&2
  r=$((r + 1))
done
"$out/ttrpc-bench" summarize <"$tmp/results.jsonl"
cp "$tmp/results.jsonl" "$out/results.jsonl"
echo "raw results: $out/results.jsonl"
