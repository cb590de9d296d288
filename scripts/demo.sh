#!/usr/bin/env bash
# The main job, end to end on a fresh Debian 12 machine (as root): install the
# dependencies, build, and run a busybox container through `berth run`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh

work=$(mktemp -d /tmp/berth-demo.XXXXXX)
trap 'rm -rf --one-file-system "$work"' EXIT
bundle=$work/bundle
mkdir -p "$bundle"
scripts/make-rootfs.sh "$bundle/rootfs"
build/bin/berth spec --bundle "$bundle"
# A non-interactive process that says where it runs.
sed -i -e 's/"terminal": true/"terminal": false/' \
  -e 's|^\(\s*\)"sh"$|\1"sh", "-c", "echo hello from a berth container: hostname=$(hostname) pid=$$ user=$(id -un)"|' \
  "$bundle/config.json"

echo "== berth run"
build/bin/berth --root "$work/state" run --bundle "$bundle" "demo-$$"
