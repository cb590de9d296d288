#!/usr/bin/env bash
# Every test, on a fresh Debian 12 machine (as root): install the dependencies,
# build, run the CTest suites, then the OCI conformance suite. Exit status 0
# only if everything passed. The last line is "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh || exit 1
scripts/build.sh || exit 1

failed=0
ctest --test-dir build --output-on-failure --timeout 600 2>&1 | tee /tmp/berth-ctest.log
[ "${PIPESTATUS[0]}" = 0 ] || failed=1
ctest_line=$(grep -E 'tests passed, [0-9]+ tests failed out of' /tmp/berth-ctest.log | tail -1)

conformance=../shared/conformance
if [ ! -x "$conformance/run-runtime-tools.sh" ]; then
  echo "test.sh: $conformance/run-runtime-tools.sh not found: the conformance suite cannot run" >&2
  failed=1
  conf_line="conformance: not run"
else
  "$conformance/run-runtime-tools.sh" "$PWD/build/bin/berth" "$conformance/allowlist-debian12-vm.txt" \
    2>&1 | tee /tmp/berth-conformance.log
  [ "${PIPESTATUS[0]}" = 0 ] || failed=1
  conf_line="conformance: $(tail -1 /tmp/berth-conformance.log)"
fi

# Last line: tests passed and failed, CTest's and the conformance suite's together.
ctest_total=$(sed -nE 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\2/p' <<<"$ctest_line")
ctest_failed=$(sed -nE 's/.* ([0-9]+) tests failed out of.*/\1/p' <<<"$ctest_line")
conf_tests=$(grep -E '^tests: [0-9]+ run, [0-9]+ failed' /tmp/berth-conformance.log 2>/dev/null | tail -1)
conf_total=$(sed -nE 's/^tests: ([0-9]+) run.*/\1/p' <<<"$conf_tests")
conf_failed=$(sed -nE 's/^tests: [0-9]+ run, ([0-9]+) failed.*/\1/p' <<<"$conf_tests")
echo "ctest: ${ctest_line:-did not run}"
echo "$conf_line"
total=$(( ${ctest_total:-0} + ${conf_total:-0} ))
bad=$(( ${ctest_failed:-1} + ${conf_failed:-1} ))
[ "$bad" = 0 ] || failed=1
# A skipped test (GTEST_SKIP, listed by CTest as "(Skipped)") is counted as skipped.
skipped=$(grep -cE '^[[:space:]]*[0-9]+ - .*\(Skipped\)$' /tmp/berth-ctest.log || true)
echo "$(( total - bad - skipped )) passed, $bad failed, $skipped skipped"
exit $failed
