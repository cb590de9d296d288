#!/usr/bin/env bash
# Installs every Debian 12 package berth needs to build, test and benchmark.
# Idempotent: apt-get runs only when something is missing.
set -euo pipefail

PACKAGES=(
  # build
  cmake ninja-build g++ pkg-config git
  libseccomp-dev libcap-dev libprotobuf-dev protobuf-compiler nlohmann-json3-dev
  libcli11-dev libsystemd-dev libgtest-dev libgmock-dev libapparmor-dev libselinux1-dev
  # the real clients and peers the tests drive
  runc crun containerd busybox-static criu iproute2 util-linux procps
  # Go sources the protos and interop tests are built from
  golang-go golang-github-containerd-containerd-dev golang-github-containerd-cgroups-dev
  golang-github-gogo-protobuf-dev golang-github-gogo-googleapis-dev
  golang-github-containerd-ttrpc-dev
  golang-github-opencontainers-runtime-tools-dev golang-github-google-uuid-dev
  # fuzzing and benchmarks
  clang libclang-rt-14-dev hyperfine patch tar gzip jq
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/berth-apt.log 2>&1; then
  apt-get update -q >>/tmp/berth-apt.log 2>&1
  apt-get install -y -q --no-install-recommends "${missing[@]}" >>/tmp/berth-apt.log 2>&1 || {
    tail -20 /tmp/berth-apt.log >&2
    echo "install-deps: apt-get failed (log: /tmp/berth-apt.log)" >&2
    exit 1
  }
fi
