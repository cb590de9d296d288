#!/usr/bin/env bash
# cri.sh setup|cleanup DIR [BIN_DIR]
#
# A private containerd 2.3 with its CRI plugin, for the Kubernetes tests: its own root,
# state, socket and config (version 3), runtime handlers `berth`
# (io.containerd.berth.v2, BIN_DIR first on containerd's PATH) and `runc`
# (containerd-shim-runc-v2 2.3 with runc 1.4), CNI from Debian's
# containernetworking-plugins, and critest's images built offline (images.sh) and served
# by a registry on 127.0.0.1 that containerd mirrors registry.k8s.io, gcr.io and
# k8s.gcr.io to.
#
# Everything that touches a network runs in a network namespace made here: containerd
# itself (so the CNI bridge, the pod addresses and every packet stay inside it), the
# registry, and crictl/critest (whose streaming connections go to 127.0.0.1 there).
# Only the network namespace is switched (nsenter --net), not the mount namespace:
# containerd, the shims and the host share mounts and cgroups as under a kubelet.
#
# `setup` leaves DIR/env for the tests to source: CRI_ENDPOINT, CRICTL (crictl in the
# namespace, pointed at this containerd), IN_NS (a command prefix that runs in the
# namespace), CRITEST, CRI_NETNS. `cleanup` removes every pod and container, stops what
# it started (by pid, never by name), deletes the namespace and DIR, and fails if a
# mount, cgroup or shim is left.
set -euo pipefail
cmd=${1:?usage: cri.sh setup|cleanup DIR [BIN_DIR]}
dir=${2:?DIR}
bin=${3:-}
here=$(cd "$(dirname "$0")" && pwd)
DEPS_BIN=${BERTH_DEPS_BIN:-/opt/berth-deps/bin}
REGISTRY=127.0.0.1:5000
# Not 3.9: a critest image test removes pause:3.9 mid-run.
SANDBOX_IMAGE=registry.k8s.io/pause:3.10
# The images are built once per build tree (or per machine), then pushed per run.
IMAGE_CACHE=${BERTH_CRI_IMAGE_CACHE:-${bin:+$bin/../cri-images}}

sys_resource_missing() {  # CAP_SYS_RESOURCE (bit 24) is not in our effective set
  local eff; eff=$(awk '/^CapEff:/ {print $2}' /proc/self/status)
  (( (16#$eff >> 24 & 1) == 0 ))
}

write_config() {
  mkdir -p "$dir/net.d" "$dir/certs.d"
  "$here/../shim/containerd.sh" config "$dir" 3 '"io.containerd.nri.v1.nri"'
  cat >>"$dir/config.toml" <<TOML
[plugins."io.containerd.cri.v1.images"]
  snapshotter = "overlayfs"
  [plugins."io.containerd.cri.v1.images".pinned_images]
    sandbox = "$SANDBOX_IMAGE"
  [plugins."io.containerd.cri.v1.images".registry]
    config_path = "$dir/certs.d"
[plugins."io.containerd.cri.v1.runtime"]
  enable_selinux = false
  # A sandbox asks for oom_score_adj -998, and lowering it needs CAP_SYS_RESOURCE,
  # which root lacks on some hosts (this project's VMs): runc, crun and berth all
  # refuse with EACCES there. containerd then raises the value to its own.
  restrict_oom_score_adj = $(sys_resource_missing && echo true || echo false)
  [plugins."io.containerd.cri.v1.runtime".containerd]
    default_runtime_name = "berth"
    [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.berth]
      runtime_type = "io.containerd.berth.v2"
    [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
        BinaryName = "$DEPS_BIN/runc"
  [plugins."io.containerd.cri.v1.runtime".cni]
    bin_dirs = ["/usr/lib/cni"]
    conf_dir = "$dir/net.d"
[plugins."io.containerd.grpc.v1.cri"]
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
TOML
  # The pod network: a bridge inside the namespace, addresses from a private range.
  cat >"$dir/net.d/10-berth.conflist" <<JSON
{"cniVersion": "1.0.0", "name": "berth-cri",
 "plugins": [
  {"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": true, "hairpinMode": true,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.88.0.0/16"}]],
            "routes": [{"dst": "0.0.0.0/0"}], "dataDir": "$dir/cni-ipam"}},
  {"type": "portmap", "capabilities": {"portMappings": true}},
  {"type": "loopback"}]}
JSON
  local host
  for host in registry.k8s.io gcr.io k8s.gcr.io; do
    mkdir -p "$dir/certs.d/$host"
    cat >"$dir/certs.d/$host/hosts.toml" <<TOML
server = "https://$host"
[host."http://$REGISTRY"]
  capabilities = ["pull", "resolve"]
TOML
  done
}

start_containerd() {
  # shellcheck disable=SC1091
  . "$dir/env"
  PATH="$CTD_PATH" setsid nsenter --net="$CRI_NETNS_PATH" "$DEPS_BIN/containerd" \
    --config "$dir/config.toml" >>"$dir/containerd.log" 2>&1 </dev/null &
  echo $! >"$dir/containerd.pid"
  for _ in $(seq 300); do
    if $CRICTL version >/dev/null 2>&1 && $CRICTL info >/dev/null 2>&1; then return 0; fi
    sleep 0.05
  done
  echo "containerd (CRI) did not come up; log:" >&2
  tail -30 "$dir/containerd.log" >&2
  return 1
}

case $cmd in
setup)
  [ -n "$bin" ] || { echo "setup needs BIN_DIR" >&2; exit 2; }
  for b in containerd crictl critest runc containerd-shim-runc-v2; do
    [ -x "$DEPS_BIN/$b" ] || { echo "$DEPS_BIN/$b is missing: run scripts/install-deps.sh" >&2; exit 1; }
  done
  [ -x /usr/lib/cni/bridge ] || { echo "/usr/lib/cni/bridge is missing: run scripts/install-deps.sh" >&2; exit 1; }
  rm -rf "$dir"
  mkdir -p "$dir"
  netns="berth-cri-$$"
  ip netns add "$netns"
  ip netns exec "$netns" ip link set lo up
  in_ns="nsenter --net=/run/netns/$netns"
  cat >"$dir/env" <<ENV
CRI_DIR=$dir
CRI_NETNS=$netns
CRI_NETNS_PATH=/run/netns/$netns
CRI_ENDPOINT=unix://$dir/containerd.sock
IN_NS="$in_ns"
CRICTL="$in_ns $DEPS_BIN/crictl --config $dir/crictl.yaml"
CRITEST=$DEPS_BIN/critest
CTD_PATH=$bin:$DEPS_BIN:$PATH
BIN_DIR=$bin
SANDBOX_IMAGE=$SANDBOX_IMAGE
ENV
  write_config
  cat >"$dir/crictl.yaml" <<YAML
runtime-endpoint: unix://$dir/containerd.sock
image-endpoint: unix://$dir/containerd.sock
timeout: 60
YAML
  "$here/images.sh" build "$IMAGE_CACHE"
  $in_ns "$here/images.sh" registry-start "$dir/registry" "$REGISTRY"
  $in_ns "$here/images.sh" push "$IMAGE_CACHE" "$REGISTRY"
  start_containerd
  ;;
cleanup)
  [ -f "$dir/env" ] || exit 0
  # shellcheck disable=SC1091
  . "$dir/env"
  if [ -f "$dir/containerd.pid" ]; then
    $CRICTL rmp -fa >/dev/null 2>&1 || true
    $CRICTL rm -fa >/dev/null 2>&1 || true
  fi
  # (TERM, then KILL, by the pid in DIR/containerd.pid: the shim fixture's stop.)
  "$here/../shim/containerd.sh" stop "$dir"
  # What a failed or hung run left: the shims of this containerd (their arguments name
  # its socket), the pods' processes under them, and those pods' network namespaces.
  shims=$(for p in /proc/[0-9]*; do
    tr '\0' ' ' 2>/dev/null <"$p/cmdline" | grep -q -- "-address $dir/containerd.sock " && echo "${p#/proc/}"
  done || true)
  descendants() { local c; for c in $(pgrep -P "$1"); do descendants "$c"; echo "$c"; done; }
  netns_left=()
  for shim in $shims; do
    echo "cri.sh: a shim was left (pid $shim), killing it and its processes" >&2
    for pid in $(descendants "$shim"); do
      netns_left+=("$(readlink "/proc/$pid/ns/net" 2>/dev/null | tr -dc 0-9)")
      kill -KILL "$pid" 2>/dev/null || true
    done
    kill -KILL "$shim" 2>/dev/null || true
  done
  for ns in /run/netns/cni-*; do
    [ -e "$ns" ] || continue
    inode=$(stat -L -c %i "$ns" 2>/dev/null) || continue
    for left in "${netns_left[@]}"; do
      [ "$left" = "$inode" ] && ip netns delete "${ns#/run/netns/}" 2>/dev/null
    done
  done
  [ -d "$dir/registry" ] && "$here/images.sh" registry-stop "$dir/registry" || true
  for m in $(awk -v d="$dir" '$2 ~ "^"d {print $2}' /proc/self/mounts | sort -r); do
    umount -l "$m" 2>/dev/null || true
  done
  ip netns delete "$CRI_NETNS" 2>/dev/null || true
  rm -rf "$dir"
  ;;
*) echo "unknown command $cmd" >&2; exit 2 ;;
esac
