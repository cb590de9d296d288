#!/usr/bin/env bash
# critest.sh BUILD_DIR [FOCUS]: cri-tools' critest 1.37 against a private containerd 2.3
# (cri.sh), once with runtime handler `berth` and once with `runc` (containerd-shim-runc-v2
# 2.3 with runc 1.4), in one run. Prints a table of every test with both results, the
# counts, and the tests whose results differ. FOCUS (a ginkgo regex) runs a subset: what
# CTest runs (tests/cri/CMakeLists.txt). Reports and logs: BUILD_DIR/critest. Fails when a test that passes for runc does not
# pass for berth, or when berth passes fewer tests than runc.
#
# Skipped for both, with the reason:
#   - the image pulled by digest (test-image-digest@sha256:9700f9...): the digest pins
#     upstream's bytes, which an image built offline cannot reproduce (images.sh).
set -euo pipefail
build=$(cd "${1:?usage: critest.sh BUILD_DIR [FOCUS]}" && pwd)
focus=${2:-}
here=$(cd "$(dirname "$0")" && pwd)
SKIP='image with digest|by digest'

# The reports and logs stay in BUILD_DIR/critest (one run at a time).
dir=${CRITEST_DIR:-$build/critest}
rm -rf "$dir"
mkdir -p "$dir"
cleanup() { "$here/cri.sh" cleanup "$dir/cri" >/dev/null 2>&1 || true; }
trap cleanup EXIT
"$here/cri.sh" setup "$dir/cri" "$build/bin"
# shellcheck disable=SC1091
. "$dir/cri/env"

for handler in ${CRITEST_HANDLERS:-berth runc}; do
  args=(--runtime-endpoint "$CRI_ENDPOINT" --image-endpoint "$CRI_ENDPOINT"
        --runtime-handler "$handler" -ginkgo.no-color -ginkgo.skip "$SKIP"
        -ginkgo.flake-attempts 2
        -ginkgo.json-report "$dir/$handler.json")
  [ -z "$focus" ] || args+=(-ginkgo.focus "$focus")
  echo "critest: handler $handler" >&2
  t0=$(date +%s)
  # critest's own exit status says only "something failed": the report says what.
  (cd "$dir" && $IN_NS "$CRITEST" "${args[@]}" >"$dir/$handler.log" 2>&1) || true
  echo "critest: handler $handler took $(( $(date +%s) - t0 )) s (log: $dir/$handler.log)" >&2
  [ -s "$dir/$handler.json" ] || { tail -30 "$dir/$handler.log" >&2; echo "critest: no report for $handler" >&2; exit 1; }
  # An interrupted run reports the specs it did not reach as skipped: not a result.
  special=$(jq -r '[.[].SpecialSuiteFailureReasons // [] | .[]] | join("; ")' "$dir/$handler.json")
  [ -z "$special" ] || { echo "critest: the $handler run did not complete: $special" >&2; exit 1; }
  # A test that passed on its second attempt is "flaky" in the table (and counts as
  # passed): some of critest's tests race the container they start (image ID
  # consistency removes a container that may still be running).
  jq -r '.[].SpecReports[] | select(.LeafNodeType == "It") |
    [((.ContainerHierarchyTexts // []) + [.LeafNodeText] | join(" ")),
     (if .State == "passed" and (.NumAttempts // 1) > 1 then "flaky" else .State end)] | @tsv' \
    "$dir/$handler.json" | sort >"$dir/$handler.tsv"
done

join -t $'\t' -a 1 -a 2 -e missing -o 0,1.2,2.2 "$dir/berth.tsv" "$dir/runc.tsv" >"$dir/both.tsv"
printf '%-7s %-7s %s\n' berth runc test
awk -F'\t' '{printf "%-7s %-7s %s\n", $2, $3, $1}' "$dir/both.tsv"
count() { awk -F'\t' -v c="$1" -v s="$2" '$c == s || (s == "passed" && $c == "flaky")' "$dir/both.tsv" | wc -l; }
echo
for h in 2:berth 3:runc; do
  c=${h%%:*}
  printf '%-6s %3d passed (%d on a second attempt), %3d failed, %3d skipped\n' "${h#*:}" \
    "$(count "$c" passed)" "$(count "$c" flaky)" "$(count "$c" failed)" "$(count "$c" skipped)"
done
ok() { echo "(\$$1 == \"passed\" || \$$1 == \"flaky\")"; }
worse=$(awk -F'\t' "$(ok 3) && !$(ok 2) {print \"  \" \$1 \" (berth: \" \$2 \")\"}" "$dir/both.tsv")
better=$(awk -F'\t' "$(ok 2) && !$(ok 3) {print \"  \" \$1 \" (runc: \" \$3 \")\"}" "$dir/both.tsv")
both=$(awk -F'\t' '$2 == "failed" && $3 == "failed" {print "  " $1}' "$dir/both.tsv")
[ -z "$better" ] || printf 'passes for berth only:\n%s\n' "$better"
[ -z "$both" ] || printf 'fails for both:\n%s\n' "$both"
if [ -n "$worse" ]; then
  printf 'passes for runc, not for berth:\n%s\n' "$worse"
  grep -A15 '\[FAIL\]\|\[FAILED\]' "$dir/berth.log" | head -60 >&2 || true
  exit 1
fi
[ "$(count 2 passed)" -ge "$(count 3 passed)" ] || { echo "berth passes fewer tests than runc" >&2; exit 1; }
echo "critest: every test that passes for runc passes for berth"
