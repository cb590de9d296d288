#!/usr/bin/env bash
# The main job, end to end on a fresh Debian 12 machine (as root): install the
# dependencies, build, and run a busybox container through `berth run`, then
# through a private containerd and `ctr run --runtime io.containerd.berth.v2`.
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

# The same through containerd: a private containerd 2.3 (scripts/install-deps.sh; own
# root, state and socket, stopped and removed at exit) finds containerd-shim-berth-v2
# on its PATH by the runtime name, and its ctr runs a busybox image (built here) with it.
ctd=$work/containerd
trap 'tests/shim/containerd.sh cleanup "$ctd" >/dev/null 2>&1 || true; rm -rf --one-file-system "$work"' EXIT
tests/shim/containerd.sh setup "$ctd" "$PWD/build/bin" 2.3
# shellcheck disable=SC1091
. "$ctd/env"
echo "== $("$CTD_BIN" --version)"
echo "== ctr run --runtime io.containerd.berth.v2"
"$CTR" --address "$CTD_SOCK" -n "$CTD_NS" run --rm --runtime io.containerd.berth.v2 "$IMAGE" "demo-$$" \
  sh -c 'echo hello from a containerd task run by containerd-shim-berth-v2: pid=$$'
