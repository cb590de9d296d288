#!/usr/bin/env bash
# Installs everything berth needs to build, test and benchmark: Debian 12's packages
# (every C/C++ library, and the 1.x peers: containerd 1.6 for the legacy v1 shim,
# runc 1.1.5, crun 1.8.1), then, pinned, from the Go module proxy with `go install`:
# containerd, ctr and containerd-shim-runc-v2 2.3 and runc 1.4 (the reference runtime)
# into $BERTH_DEPS_BIN, containerd's api module (its bootstrap and introspection
# protos, compiled at build time), and crictl and critest 1.37 (cri-tools) for the
# Kubernetes tests. Idempotent: each step runs only when its result is
# missing or of another version.
set -euo pipefail

PACKAGES=(
  # build
  cmake ninja-build g++ pkg-config git
  libseccomp-dev libcap-dev libprotobuf-dev protobuf-compiler nlohmann-json3-dev
  libcli11-dev libsystemd-dev libgtest-dev libgmock-dev libapparmor-dev libselinux1-dev
  # the real clients and peers the tests drive
  runc crun containerd busybox-static criu iproute2 util-linux procps
  # rootless with more than the user's own id: newuidmap/newgidmap
  uidmap
  # Go sources the protos and interop tests are built from
  golang-go golang-github-containerd-containerd-dev golang-github-containerd-cgroups-dev
  golang-github-gogo-protobuf-dev golang-github-gogo-googleapis-dev
  golang-github-containerd-ttrpc-dev
  golang-github-opencontainers-runtime-tools-dev golang-github-google-uuid-dev
  # Kubernetes (CRI) tests: CNI plugins, and the offline images critest pulls, built
  # from Debian's packages and served by a registry on 127.0.0.1
  containernetworking-plugins iptables docker-registry skopeo umoci nginx-light libc6-dev
  # fuzzing and benchmarks
  clang libclang-rt-14-dev hyperfine patch tar gzip jq
  # the fuzz build (scripts/fuzz.sh): clang 14 cannot compile libstdc++ 12's <expected>
  # (it needs __cpp_concepts >= 202002L), clang 19 can;
  # its runtime has libFuzzer; llvm-19 has the symbolizer that names frames in reports
  clang-19 libclang-rt-19-dev llvm-19
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
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
fi

# --- Go modules, pinned --------------------------------------------------------------
CONTAINERD_VERSION=v2.3.7
CONTAINERD_API_VERSION=v1.11.1  # what containerd $CONTAINERD_VERSION requires
RUNC_VERSION=v1.4.4
CRI_TOOLS_VERSION=v1.37.0
DEPS_BIN=${BERTH_DEPS_BIN:-/opt/berth-deps/bin}

# The machine's Go (1.26); Debian's 1.19 (/usr/bin/go) cannot build these modules.
go=
for candidate in /usr/local/go/bin/go "$(command -v go || true)"; do
  [ -x "$candidate" ] || continue
  minor=$("$candidate" env GOVERSION 2>/dev/null | sed -nE 's/^go1\.([0-9]+).*/\1/p')
  if [ -n "$minor" ] && [ "$minor" -ge 24 ]; then go=$candidate; break; fi
done
if [ -z "$go" ]; then
  echo "install-deps: no Go >= 1.24 found (the machine's Go is /usr/local/go/bin/go)" >&2
  exit 1
fi
export GOTOOLCHAIN=local GOFLAGS=-buildvcs=false

go_install() {  # go_install LOG-NAME [env...] -- go install arguments...
  local name=$1; shift
  local envs=()
  while [ "$1" != -- ]; do envs+=("$1"); shift; done
  shift
  echo "install-deps: go install $name" >&2
  if ! env GOBIN="$DEPS_BIN" "${envs[@]}" "$go" install "$@" >"/tmp/berth-go-$name.log" 2>&1; then
    tail -20 "/tmp/berth-go-$name.log" >&2
    echo "install-deps: go install $name failed (log: /tmp/berth-go-$name.log)" >&2
    exit 1
  fi
}

mkdir -p "$DEPS_BIN"
# (Captured first: `grep -q` on a pipe would end the writer early, and pipefail fail it.)
version_of() { "$@" 2>/dev/null || true; }
ctd=github.com/containerd/containerd/v2
if ! grep -q " $CONTAINERD_VERSION\b" <<<"$(version_of "$DEPS_BIN/containerd" --version)" ||
   ! grep -q " $CONTAINERD_VERSION\b" <<<"$(version_of "$DEPS_BIN/ctr" --version)" ||
   ! grep -q "$CONTAINERD_VERSION\b" <<<"$(version_of "$DEPS_BIN/containerd-shim-runc-v2" -v)"; then
  go_install containerd CGO_ENABLED=0 -- -tags urfave_cli_no_docs \
    -ldflags "-X $ctd/version.Version=$CONTAINERD_VERSION" \
    "$ctd/cmd/containerd@$CONTAINERD_VERSION" "$ctd/cmd/ctr@$CONTAINERD_VERSION" \
    "$ctd/cmd/containerd-shim-runc-v2@$CONTAINERD_VERSION"
fi
if ! grep -q "^runc version ${RUNC_VERSION#v}$" <<<"$(version_of "$DEPS_BIN/runc" --version)"; then
  go_install runc CGO_ENABLED=1 -- -tags seccomp -ldflags "-X main.version=${RUNC_VERSION#v}" \
    "github.com/opencontainers/runc@$RUNC_VERSION"
fi
# The protos of containerd's api module, for proto/CMakeLists.txt.
if ! "$go" mod download "github.com/containerd/containerd/api@$CONTAINERD_API_VERSION" \
    >/tmp/berth-go-api.log 2>&1; then
  cat /tmp/berth-go-api.log >&2
  echo "install-deps: go mod download of containerd's api module failed" >&2
  exit 1
fi
# crictl, and critest: a Go test binary, built in a scratch module as cri-tools' docs say
# (`go get`, then `go test -c`; no `go mod tidy`, which would pull other versions).
crit=sigs.k8s.io/cri-tools
if ! grep -q "${CRI_TOOLS_VERSION#v}" <<<"$(version_of "$DEPS_BIN/crictl" --version)"; then
  go_install crictl CGO_ENABLED=0 -- -ldflags "-X $crit/pkg/version.Version=$CRI_TOOLS_VERSION" \
    "$crit/cmd/crictl@$CRI_TOOLS_VERSION"
fi
if ! grep -q "${CRI_TOOLS_VERSION#v}" <<<"$(version_of "$DEPS_BIN/critest" --version)"; then
  echo "install-deps: go test -c critest" >&2
  scratch=$(mktemp -d)
  if ! (cd "$scratch" && "$go" mod init critest-build && "$go" get "$crit@$CRI_TOOLS_VERSION" &&
        CGO_ENABLED=0 "$go" test -mod=mod -c -o "$DEPS_BIN/critest" \
          -ldflags "-X $crit/pkg/version.Version=$CRI_TOOLS_VERSION" "$crit/cmd/critest") \
      >/tmp/berth-go-critest.log 2>&1; then
    tail -20 /tmp/berth-go-critest.log >&2
    echo "install-deps: building critest failed (log: /tmp/berth-go-critest.log)" >&2
    rm -rf "$scratch"
    exit 1
  fi
  rm -rf "$scratch"
fi
