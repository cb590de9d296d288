#!/usr/bin/env bash
# containerd.sh setup|stop|start|cleanup DIR [BIN_DIR [FLAVOR]]
# containerd.sh config DIR VERSION DISABLED_PLUGINS: only DIR/config.toml's common part
# (root, state, socket, opt), for another fixture to add its plugins to (tests/cri).
#
# A private containerd for the shim's end-to-end tests: its own root, state, sockets and
# config (CRI disabled), the shim under test first on its PATH, and a busybox image built
# at test time. FLAVOR is `2.3` (default: containerd 2.3 from scripts/install-deps.sh,
# config version 3, with containerd-shim-runc-v2 2.3 and runc 1.4 beside berth's shim)
# or `1.6` (Debian's containerd 1.6.20, config version 2, with the legacy v1 runtime set
# to containerd-shim-berth-v1). `setup` leaves DIR/env for the tests to source;
# `cleanup` stops everything it started (by pid, never by name) and removes DIR, even
# when the tests failed. `stop`/`start` restart only containerd (the shims live on);
# `start` takes CTD_CONFIG and CTD_READY_SOCK from the environment for another config.
set -euo pipefail
cmd=${1:?usage: containerd.sh setup|stop|start|cleanup DIR [BIN_DIR [FLAVOR]]}
dir=${2:?DIR}
bin=${3:-}
flavor=${4:-2.3}
here=$(cd "$(dirname "$0")" && pwd)
IMAGE=docker.io/berth/busybox:test
# Where scripts/install-deps.sh puts containerd 2.3, its runc-v2 shim and runc 1.4.
DEPS_BIN=${BERTH_DEPS_BIN:-/opt/berth-deps/bin}

# containerd's v1 runtime loads each task's cgroups by /proc/<pid>/cgroup (containerd/
# cgroups PidPath) and fails with "cgroups: cannot find cgroup mount destination" when a
# v1 hierarchy listed there is not mounted in its mount namespace (a named hierarchy
# such as name=systemd that exists, but is mounted nowhere we can see). Prints a mount
# command for each such hierarchy.
missing_hierarchy_mounts() {
  local line names
  while IFS=: read -r _ names _; do
    [ -n "$names" ] || continue
    awk -v n="${names%%,*}" '$(NF-2)=="cgroup" {split($NF, o, ","); for (i in o) if (o[i]==n) f=1} END {exit !f}' \
      /proc/self/mountinfo && continue
    line=${names#name=}
    line=${line//,/_}
    echo "mkdir -p /sys/fs/cgroup/$line && mount -t cgroup -o none,$names cgroup /sys/fs/cgroup/$line"
  done </proc/self/cgroup
}

start_containerd() {
  # shellcheck disable=SC1091
  . "$dir/env"
  # CTD_CONFIG/CTD_READY_SOCK: another config for this start (e2e.sh restart).
  local config=${CTD_CONFIG:-$dir/config.toml} ready=${CTD_READY_SOCK:-$CTD_SOCK}
  local fix=
  # Only the 1.x v1 runtime needs every hierarchy mounted (see above).
  [ "$CTD_FLAVOR" = 1.6 ] && fix=$(missing_hierarchy_mounts)
  if [ -n "$fix" ]; then
    # Only then: containerd (and the shims it starts) in a private mount namespace
    # where those hierarchies are mounted; the host's mounts stay as they are.
    echo "mounting for containerd's v1 runtime, privately: $fix" >>"$dir/containerd.log"
    PATH="$CTD_PATH" setsid unshare -m --propagation private sh -c \
      "$fix && exec '$CTD_BIN' --config '$config'" >>"$dir/containerd.log" 2>&1 </dev/null &
  else
    PATH="$CTD_PATH" setsid "$CTD_BIN" --config "$config" \
      >>"$dir/containerd.log" 2>&1 </dev/null &
  fi
  echo $! >"$dir/containerd.pid"
  for _ in $(seq 200); do
    if "$CTR" --address "$ready" version >/dev/null 2>&1; then return 0; fi
    sleep 0.05
  done
  echo "containerd did not come up; log:" >&2
  tail -30 "$dir/containerd.log" >&2
  return 1
}

stop_containerd() {
  [ -f "$dir/containerd.pid" ] || return 0
  local pid
  pid=$(cat "$dir/containerd.pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$dir/containerd.pid"
}

# write_config VERSION DISABLED_PLUGINS: the private daemon's config.toml, its own root,
# state, socket and opt directory.
write_config() {
  cat >"$dir/config.toml" <<TOML
version = $1
root = "$dir/root"
state = "$dir/state"
disabled_plugins = [$2]
[grpc]
  address = "$dir/containerd.sock"
[debug]
  level = "info"
[plugins."io.containerd.internal.v1.opt"]
  path = "$dir/opt"
TOML
}

case $cmd in
config) write_config "${3:?VERSION}" "${4?DISABLED_PLUGINS}" ;;
setup)
  [ -n "$bin" ] || { echo "setup needs BIN_DIR" >&2; exit 2; }
  rm -rf "$dir"
  mkdir -p "$dir"
  ns="berth-shim-$$"
  case $flavor in
  2.3)
    ctd_bin=$DEPS_BIN/containerd ctr_bin=$DEPS_BIN/ctr
    # containerd-shim-runc-v2 2.3 and runc 1.4 come after berth's shim on the PATH.
    ctd_path="$bin:$DEPS_BIN:$PATH"
    # CRI and NRI off: nothing but the shims under test.
    write_config 3 '"io.containerd.grpc.v1.cri", "io.containerd.cri.v1.runtime",
  "io.containerd.cri.v1.images", "io.containerd.nri.v1.nri"'
    ;;
  1.6)
    ctd_bin=/usr/bin/containerd ctr_bin=/usr/bin/ctr
    ctd_path="$bin:$PATH"
    write_config 2 '"io.containerd.grpc.v1.cri"'
    cat >>"$dir/config.toml" <<TOML
# The legacy v1 runtime with berth's v1 shim (docs/shim-v1.md). \`runtime\` is what
# containerd itself runs (\`<runtime> --root <runtime_root>/<ns> delete --force\`) to
# clean up after a dead shim; the shim keeps its state in the same root.
[plugins."io.containerd.runtime.v1.linux"]
  shim = "$bin/containerd-shim-berth-v1"
  runtime = "$bin/berth"
  runtime_root = "$dir/v1-root"
TOML
    ;;
  *) echo "unknown containerd flavor $flavor (2.3 or 1.6)" >&2; exit 2 ;;
  esac
  for b in "$ctd_bin" "$ctr_bin"; do
    [ -x "$b" ] || { echo "$b is missing: run scripts/install-deps.sh" >&2; exit 1; }
  done
  cat >"$dir/env" <<ENV
CTD_DIR=$dir
CTD_SOCK=$dir/containerd.sock
CTD_NS=$ns
CTD_FLAVOR=$flavor
CTD_BIN=$ctd_bin
CTR=$ctr_bin
CTD_PATH=$ctd_path
BIN_DIR=$bin
IMAGE=$IMAGE
RUNTIME=io.containerd.berth.v2
ENV
  start_containerd
  "$here/make-image.sh" "$dir/busybox.tar" "$IMAGE"
  "$ctr_bin" --address "$dir/containerd.sock" -n "$ns" image import "$dir/busybox.tar" >/dev/null
  ;;
start) start_containerd ;;
stop) stop_containerd ;;
cleanup)
  [ -f "$dir/env" ] || exit 0
  # shellcheck disable=SC1091
  . "$dir/env"
  # Tasks left by failed tests: kill and delete through containerd, so that their
  # shims (our children only through containerd) go the normal way.
  if [ -f "$dir/containerd.pid" ]; then
    c=("$CTR" --address "$CTD_SOCK" -n "$CTD_NS")
    for id in $("${c[@]}" task ls -q 2>/dev/null); do
      "${c[@]}" task kill -s KILL "$id" >/dev/null 2>&1 || true
    done
    sleep 0.3
    for id in $("${c[@]}" task ls -q 2>/dev/null); do
      "${c[@]}" task delete -f "$id" >/dev/null 2>&1 || true
    done
    for id in $("${c[@]}" container ls -q 2>/dev/null); do
      "${c[@]}" container delete "$id" >/dev/null 2>&1 || true
    done
    "${c[@]}" image rm "$IMAGE" >/dev/null 2>&1 || true
  fi
  stop_containerd
  # Shims whose containerd is gone: their pids are in the bundles' address sockets'
  # peers; find them by the sockets' owners, never by name.
  # v1 shims are containerd's children, started in process groups of their own: by
  # the pid containerd wrote into each bundle.
  for pidfile in "$dir"/state/io.containerd.runtime.v1.linux/*/*/shim.pid; do
    [ -f "$pidfile" ] && kill -KILL "$(cat "$pidfile")" 2>/dev/null || true
  done
  # containerd 2.x keeps a shim's address in bootstrap.json (runc-v2 2.3 writes no
  # `address` file).
  for addr in "$dir"/state/io.containerd.runtime.v2.task/*/*/address \
      "$dir"/state/io.containerd.runtime.v2.task/*/*/bootstrap.json \
      "$dir"/state/io.containerd.runtime.v1.linux/*/*/address; do
    [ -f "$addr" ] || continue
    case $addr in
    *.json) sock=$(jq -r .address "$addr" | sed 's|^unix://||') ;;
    *) sock=$(sed 's|^unix://||' "$addr") ;;
    esac
    for pid in $(ss -xlpn 2>/dev/null | awk -v s="$sock" '$5==s' | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u); do
      kill -KILL "$pid" 2>/dev/null || true
    done
    rm -f "$sock"
  done
  for m in $(awk -v d="$dir" '$2 ~ "^"d {print $2}' /proc/self/mounts | sort -r); do
    umount -l "$m" 2>/dev/null || true
  done
  rm -rf "/run/containerd/berth/$CTD_NS" "/run/containerd/runc/$CTD_NS" "$dir/v1-root"
  # containerd's default cgroupsPath is /<namespace>/<id>: the runtime removes the
  # container's cgroup, nobody the namespace's. Ours is private to this run.
  for hier in /sys/fs/cgroup /sys/fs/cgroup/*; do
    [ -d "$hier/$CTD_NS" ] || continue
    find "$hier/$CTD_NS" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
  rm -rf "$dir"
  # Nothing of this run may remain: a cgroup still there is a failure of cleanup.
  left=$(find /sys/fs/cgroup -maxdepth 3 -name "$CTD_NS" 2>/dev/null || true)
  if [ -n "$left" ]; then echo "cgroups left behind: $left" >&2; exit 1; fi
  ;;
*) echo "unknown command $cmd" >&2; exit 2 ;;
esac
