#!/usr/bin/env bash
# e2e.sh SCENARIO DIR [HANDLER]: one Kubernetes-path scenario through crictl against the
# private CRI containerd that cri.sh set up in DIR, on runtime handler HANDLER (`berth`,
# default, or `runc`: containerd-shim-runc-v2 2.3 with runc 1.4, the reference, in the
# same test run). Each pod has a cgroup parent of its own, as a kubelet gives it, so
# that what the runtime leaves behind is visible. Exit status 0 means it passed.
#   pod   two containers in one pod: exec -s, logs, stats, inspect (pid, state, exit
#         code), one shim for the pod, then stop/rm/stopp/rmp leave no shim, mount,
#         cgroup or network namespace
#   oom   a container over its memory limit: OOMKilled, exit code 137
#   sharedpid  a pod with one pid namespace (shareProcessNamespace): a container whose
#         init leaves a child behind stops, the child is killed with it (as runc's shim
#         and containerd do), and its exit is reported
set -euo pipefail
scenario=${1:?usage: e2e.sh SCENARIO DIR [HANDLER]}
dir=${2:?DIR}
handler=${3:-berth}
# shellcheck disable=SC1091
. "$dir/env"
BUSYBOX=registry.k8s.io/e2e-test-images/busybox:1.29-2
run_id=$scenario-$handler-$(date +%s%N | tail -c 7)
work=$dir/e2e-$run_id
parent=/berth-cri-$run_id
mkdir -p "$work/logs"
crictl() { $CRICTL "$@"; }

fail() {
  echo "FAIL ($scenario on $handler): $*" >&2
  tail -15 "$dir/containerd.log" >&2
  exit 1
}
expect_eq() {  # expect_eq WHAT GOT WANT
  [ "$2" == "$3" ] || fail "$1: got [$2], want [$3]"
}
eventually() {  # eventually WHAT COMMAND...: COMMAND succeeds within 20 s
  local what=$1; shift
  for _ in $(seq 200); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  fail "$what: still not true after 20 s"
}

cleanup() {
  local p
  # The pods this scenario made and did not remove (run_pod runs in a subshell: a file).
  for p in $(cat "$work/pods" 2>/dev/null); do
    crictl stopp "$p" >/dev/null 2>&1 || true
    crictl rmp -f "$p" >/dev/null 2>&1 || true
  done
  local hier
  for hier in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do
    [ -d "$hier$parent" ] && find "$hier$parent" -depth -type d -exec rmdir {} + 2>/dev/null
  done
  rm -rf "$work"
}
trap cleanup EXIT

pod_config() {  # pod_config NAME [PID_MODE]: a pod sandbox config in $work/NAME-pod.json
  # PID_MODE: 0 a pid namespace per container (the default), 1 one for the pod.
  jq -n --arg name "$1" --arg uid "$run_id-$1" --arg logs "$work/logs/$1" --arg parent "$parent" \
    --argjson pid "${2:-0}" \
    '{metadata: {name: $name, namespace: "berth-e2e", uid: $uid}, log_directory: $logs,
      linux: {cgroup_parent: $parent, security_context: {namespace_options: {pid: $pid}}}}' \
    >"$work/$1-pod.json"
  mkdir -p "$work/logs/$1"
}
container_config() {  # container_config FILE NAME [MEMORY_LIMIT] -- COMMAND...
  local file=$1 name=$2 mem=0; shift 2
  [ "$1" = -- ] || { mem=$1; shift; }
  shift
  # (The command goes in as JSON: jq would take a `-c` among --args as its own option.)
  local argv; argv=$(printf '%s\n' "$@" | jq -R . | jq -s -c .)
  jq -n --arg name "$name" --arg image "$BUSYBOX" --argjson mem "$mem" --argjson argv "$argv" \
    '{metadata: {name: $name}, image: {image: $image}, command: $argv, log_path: ($name + ".log"),
      linux: {resources: (if $mem > 0 then {memory_limit_in_bytes: $mem} else {} end)}}' >"$file"
}
run_pod() {  # run_pod NAME [PID_MODE]: prints the pod id
  pod_config "$@"
  local p
  p=$(crictl runp --runtime "$handler" "$work/$1-pod.json") || fail "runp $1"
  echo "$p" >>"$work/pods"
  echo "$p"
}
start_container() {  # start_container POD POD_NAME NAME [MEMORY_LIMIT] -- COMMAND...
  local pod=$1 podname=$2 name=$3; shift 3
  container_config "$work/$name.json" "$name" "$@"
  local c
  c=$(crictl create "$pod" "$work/$name.json" "$work/$podname-pod.json") || fail "create $name"
  crictl start "$c" >/dev/null || fail "start $name"
  echo "$c"
}
inspect() { crictl inspect -o json "$1"; }
state_is() { [ "$(inspect "$1" | jq -r .status.state)" = "$2" ]; }
shim_of() {  # the shim process of container $1 (the parent of its init)
  ps -o ppid= -p "$(inspect "$1" | jq -r .info.pid)" | tr -d ' '
}

# As a kubelet with imagePullPolicy IfNotPresent.
crictl inspecti "$BUSYBOX" >/dev/null 2>&1 || crictl pull "$BUSYBOX" >/dev/null || fail "pull $BUSYBOX"

case $scenario in
pod)
  pod=$(run_pod web)
  netns=$(crictl inspectp -o json "$pod" |
    jq -r '.info.runtimeSpec.linux.namespaces[] | select(.type == "network") | .path')
  [ -e "$netns" ] || fail "the pod's network namespace $netns does not exist"
  a=$(start_container "$pod" web a -- sh -c 'echo hello from a; exec sleep 100000')
  b=$(start_container "$pod" web b -- sh -c 'echo hello from b; exec sleep 100000')
  eventually "a is running" state_is "$a" CONTAINER_RUNNING
  eventually "b is running" state_is "$b" CONTAINER_RUNNING
  pid_a=$(inspect "$a" | jq -r .info.pid)
  [ "$pid_a" -gt 1 ] || fail "inspect: pid of a is $pid_a"
  kill -0 "$pid_a" || fail "inspect: pid $pid_a of a is not a process"
  # Both containers and the sandbox share one shim (grouped by the sandbox id).
  shim=$(shim_of "$a")
  expect_eq "shim of b" "$(shim_of "$b")" "$shim"
  expect_eq "shim processes of the pod" "$(pgrep -f -- "-id $pod( |$)" | xargs)" "$shim"
  expect_eq "exec -s" "$(crictl exec -s "$b" sh -c 'echo $((6 * 7))')" 42
  eventually "logs of a" grep -q "hello from a" <(crictl logs "$a")
  expect_eq "logs of b" "$(crictl logs "$b")" "hello from b"
  # The pod's containers share its network namespace.
  expect_eq "network namespace of a" "$(readlink "/proc/$pid_a/ns/net")" \
    "$(readlink "/proc/$(inspect "$b" | jq -r .info.pid)/ns/net")"
  stats=$(crictl stats -o json "$a")
  mem=$(jq -r '.stats[0].memory.workingSetBytes.value // 0' <<<"$stats")
  [ "$mem" -gt 0 ] || fail "stats: working set of a is $mem: $stats"
  # An exit code, as the kubelet reads it.
  c=$(start_container "$pod" web c -- sh -c 'exit 3')
  eventually "c exited" state_is "$c" CONTAINER_EXITED
  expect_eq "exit code of c" "$(inspect "$c" | jq -r .status.exitCode)" 3
  crictl stop -t 2 "$a" >/dev/null || fail "stop a"
  expect_eq "state of a after stop" "$(inspect "$a" | jq -r .status.state)" CONTAINER_EXITED
  crictl rm "$a" "$c" >/dev/null || fail "rm a c"
  crictl stopp "$pod" >/dev/null || fail "stopp"
  crictl rmp "$pod" >/dev/null || fail "rmp"
  rm "$work/pods"
  eventually "the pod's shim $shim exits" sh -c "! kill -0 $shim"
  [ -e "$netns" ] && fail "the pod's network namespace $netns is left"
  left=$(grep -c -e "$pod" -e "$a" -e "$b" /proc/self/mountinfo || true)
  expect_eq "mounts left of the pod" "$left" 0
  left=$(find /sys/fs/cgroup/ -path "*$parent/*" -type d 2>/dev/null || true)
  expect_eq "cgroups left under $parent" "$left" ""
  ;;
oom)
  pod=$(run_pod oom)
  # The shell doubles a string until the 24 MiB limit kills it.
  c=$(start_container "$pod" oom hog $((24 << 20)) -- sh -c 'x=0123456789; while :; do x=$x$x; done')
  eventually "hog exited" state_is "$c" CONTAINER_EXITED
  status=$(inspect "$c")
  expect_eq "reason" "$(jq -r .status.reason <<<"$status")" OOMKilled
  expect_eq "exit code" "$(jq -r .status.exitCode <<<"$status")" 137
  ;;
sharedpid)
  pod=$(run_pod shared 1)
  # The init (sh) is not pid 1 here: the pod's pause is. Its child outlives it.
  c=$(start_container "$pod" shared leaver -- sh -c 'sleep 100000 & echo child $!; wait')
  eventually "leaver is running" state_is "$c" CONTAINER_RUNNING
  eventually "the child is up" grep -q "child" <(crictl logs "$c")
  init=$(inspect "$c" | jq -r .info.pid)
  child=$(pgrep -P "$init" sleep) || fail "no child of the init $init"
  timeout 30 $CRICTL stop -t 1 "$c" >/dev/null || fail "stop did not return within 30 s"
  expect_eq "state after stop" "$(inspect "$c" | jq -r .status.state)" CONTAINER_EXITED
  eventually "the init's child $child is gone" sh -c "! kill -0 $child"
  ;;
*) fail "unknown scenario" ;;
esac
echo "PASS ($scenario on $handler)"
