#!/usr/bin/env bash
# churn.sh DIR [RUNS] [EXECS] [SHIM_KILLS] [RESTART_TASKS] [RUNTIME]
#   (defaults 1000 1000 10 20, RUNTIME from DIR/env: io.containerd.berth.v2)
#
# Churn and faults through a shim, against the private containerd 2.3 that
# tests/shim/containerd.sh set up in DIR (issue 17):
#   1. baseline: this containerd's shims (by `-address <its socket>` in /proc/*/cmdline),
#      mountinfo lines naming its dirs, the shims' state dirs or this run's ids,
#      cgroup dirs of its namespace in every hierarchy, network namespaces (`ip netns`,
#      /run/netns, nsfs mounts), containerd's fd count, the runtime v2 task dir and the
#      shim's state root of the namespace, the shim socket dir;
#   2. RUNS `ctr run --rm` (`echo`, output and status checked) and EXECS `ctr task exec`
#      into EXEC_TASKS long-running tasks (output and exit status checked), CHURN_PARALLEL
#      at a time, while SHIM_KILLS shims of other running tasks are SIGKILLed one by one
#      mid-run (each found by its `-id` among this containerd's shims); each killed task
#      must leave containerd's list (or show STOPPED), its init must die, its rootfs,
#      runtime state, shim socket and cgroup must go, `ctr task delete` + `ctr container
#      delete` must clean it;
#   3. RESTART_TASKS long-running tasks, containerd restarted (containerd.sh stop +
#      start, the shims live on): each still RUNNING, `ctr task ps` lists its init,
#      `ctr task exec` works; then killed and deleted;
#   4. no leaks against the baseline (see check_leaks), one summary line, exit 1 naming
#      every failure.
# Every container id of a run starts with a prefix of its own, so that anything left
# (a process, a mount, a cgroup, a state dir) can be told from other tests'.
set -euo pipefail
dir=${1:?usage: churn.sh DIR [RUNS] [EXECS] [SHIM_KILLS] [RESTART_TASKS] [RUNTIME]}
RUNS=${2:-1000}
EXECS=${3:-1000}
SHIM_KILLS=${4:-10}
RESTART_TASKS=${5:-20}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck disable=SC1091
. "$dir/env"
RUNTIME=${6:-$RUNTIME}
PAR=${CHURN_PARALLEL:-4}
EXEC_TASKS=${CHURN_EXEC_TASKS:-4}
C=("$CTR" --address "$CTD_SOCK" -n "$CTD_NS")
prefix=churn$(date +%s%N | tail -c 7)
work=$(mktemp -d "$dir/churn.XXXXXX")
runtime_name=${RUNTIME#io.containerd.}
runtime_name=${runtime_name%.v2}
state_root=/run/containerd/$runtime_name/$CTD_NS
task_dir=$CTD_DIR/state/io.containerd.runtime.v2.task/$CTD_NS
start_s=$(date +%s.%N)
failures=()
notes=()
fail() { failures+=("$*"); echo "FAIL (churn): $*" >&2; }
note() { notes+=("$*"); echo "NOTE (churn): $*" >&2; }
die() { fail "$*"; summary; exit 1; }
summary() {
  local el; el=$(awk -v a="$start_s" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
  echo "churn: runtime=$RUNTIME runs=${runs_ok:-0}/$RUNS execs=${execs_ok:-0}/$EXECS" \
    "shim_kills=${killed:-0}/$SHIM_KILLS restart_tasks=${restarted:-0}/$RESTART_TASKS" \
    "containerd_fds=$base_fds/${churn_fds:--}/${end_fds:--} leaks=${leaks:-?} lost_output=${lost_output:-0} failures=${#failures[@]}" \
    "notes=${#notes[@]} elapsed=${el}s"
}

bg_pids=()
on_exit() {
  for p in "${bg_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  # Anything of this run still there after a failure: through containerd, by id.
  for id in $("${C[@]}" container ls -q 2>/dev/null | grep "^$prefix" || true); do
    "${C[@]}" task delete -f "$id" >/dev/null 2>&1 || true
    "${C[@]}" container delete "$id" >/dev/null 2>&1 || true
  done
  rm -rf "$work"
}
trap on_exit EXIT

ctd_pid() { cat "$CTD_DIR/containerd.pid"; }
task_status() { "${C[@]}" task ls 2>/dev/null | awk -v i="$1" '$1==i {print $3}'; }
task_pid() { "${C[@]}" task ls 2>/dev/null | awk -v i="$1" '$1==i {print $2}'; }
fd_count() { find "/proc/$(ctd_pid)/fd" -mindepth 1 2>/dev/null | wc -l; }
eventually() {  # eventually SECONDS COMMAND...: COMMAND succeeds within SECONDS
  local n=$(($1 * 20)); shift
  for _ in $(seq "$n"); do "$@" && return 0; sleep 0.05; done
  return 1
}

# Conditions for eventually.
not_running() { [ "$(task_status "$1")" != RUNNING ]; }
gone_or_stopped() { local st; st=$(task_status "$1"); [ -z "$st" ] || [ "$st" = STOPPED ]; }
dead() { ! ps -o stat= -p "$1" 2>/dev/null | grep -qv Z; }  # gone or a zombie
not_mounted() { ! grep -qF " $1 " /proc/self/mounts; }
no_cgroup() { [ -z "$(find /sys/fs/cgroup -maxdepth 4 -type d -name "$1" 2>/dev/null)" ]; }
fds_within() { [ "$(fd_count)" -le $((base_fds + $1)) ]; }
no_shims() { [ "$(shim_pids | wc -l)" -le "$base_shims" ]; }

# This containerd's shims: `-address <its socket>` in their command line (never by name).
shim_pids() {
  local p
  for p in /proc/[0-9]*; do
    tr '\0' ' ' 2>/dev/null <"$p/cmdline" | grep -qF -- "-address $CTD_SOCK " || continue
    echo "${p#/proc/}"
  done
  return 0
}
shim_of() {  # shim_of ID: the pid of the shim started with `-id ID`
  local p
  for p in $(shim_pids); do
    tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline" | grep -qF -- " -id $1 " && echo "$p"
  done
  return 0
}
# Processes of this run: anything with the prefix in its command line (shims' -id,
# the long-running tasks' `sh -c ... $prefix-...`, ctr clients), but this script.
run_pids() {
  local p
  for p in /proc/[0-9]*; do
    [ "${p#/proc/}" = $$ ] && continue
    tr '\0' ' ' 2>/dev/null <"$p/cmdline" | grep -qF -- "$prefix" && echo "${p#/proc/}"
  done
  return 0
}
# mountinfo lines naming containerd's dirs, the shims' state dirs or this run's ids.
our_mounts() {
  grep -F -e "$CTD_DIR" -e "/run/containerd/berth/$CTD_NS" -e "/run/containerd/runc/$CTD_NS" \
    -e "$prefix" /proc/self/mountinfo | awk '{print $5, $9}' | sort || true
}
nsfs_mounts() { awk '$9=="nsfs" {print $5}' /proc/self/mountinfo | sort; }
netns_list() { { ip netns list 2>/dev/null | awk '{print $1}'; ls /run/netns 2>/dev/null; } | sort -u; }
# Cgroup dirs of the namespace in every v1 hierarchy and the unified one; and any dir
# named after this run's containers (a cgroup under another parent).
ns_cgroups() {
  local h
  for h in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do
    [ -d "$h$CTD_NS" ] && find "$h$CTD_NS" -mindepth 1 -type d 2>/dev/null
  done | sort
  return 0
}
run_cgroups() { find /sys/fs/cgroup -maxdepth 5 -type d -name "$prefix*" 2>/dev/null | sort; }
list_dir() { ls -A "$1" 2>/dev/null | sort || true; }
# containerd 2.3 hands the shims a socket dir of its own (bootstrap params); the
# default one otherwise.
sock_dir=$CTD_DIR/state/s
[ -d "$sock_dir" ] || sock_dir=/run/containerd/s
sockets() { find "$sock_dir" -maxdepth 1 -type s 2>/dev/null | sort; }

# --- 1. baseline ------------------------------------------------------------------------
"${C[@]}" version >/dev/null || die "containerd at $CTD_SOCK does not answer"
base_shims=$(shim_pids | wc -l)
[ "$base_shims" -eq 0 ] || note "$base_shims shims of this containerd before the run (not counted)"
base_mounts=$(our_mounts)
base_nsfs=$(nsfs_mounts)
base_netns=$(netns_list)
base_cgroups=$(ns_cgroups)
base_taskdir=$(list_dir "$task_dir")
base_stateroot=$(list_dir "$state_root")
base_sockets=$(sockets)
base_fds=$(fd_count)
[ -z "$base_taskdir" ] || note "$task_dir not empty before the run: $base_taskdir"
echo "churn: baseline: containerd pid $(ctd_pid) fds=$base_fds shims=$base_shims" \
  "mounts=$(grep -c . <<<"$base_mounts" || true) cgroups=$(grep -c . <<<"$base_cgroups" || true)" \
  "netns=$(grep -c . <<<"$base_netns" || true) runtime=$RUNTIME prefix=$prefix" >&2

run_rm() { "${C[@]}" run --runtime "$RUNTIME" "$@"; }
# A long-running task: `sh` with the run's prefix as its $0, so that a container process
# left behind shows in run_pids (`; :` keeps busybox sh from exec'ing sleep).
start_long() { run_rm -d "$IMAGE" "$1" sh -c 'sleep 100000; :' "$1-init"; }

remove() {  # remove ID: kill, delete the task and the container; failures named
  "${C[@]}" task kill -s KILL "$1" >/dev/null 2>&1 || true
  eventually 10 not_running "$1" ||
    fail "$1 still RUNNING 10 s after SIGKILL"
  "${C[@]}" task delete "$1" >/dev/null 2>"$work/err" || fail "task delete $1: $(cat "$work/err")"
  "${C[@]}" container delete "$1" 2>"$work/err" || fail "container delete $1: $(cat "$work/err")"
}

# --- 2. churn: runs, execs, shim kills ---------------------------------------------------
# One run and one exec, as xargs calls them (a child bash: exported functions and
# variables); each writes one line to ok or bad.
one_run() {
  local id=$prefix-r$1 out rc
  out=$("$CTR" --address "$CTD_SOCK" -n "$CTD_NS" run --runtime "$RUNTIME" --rm "$IMAGE" "$id" echo "run-$1" 2>"$work/err.r$1") && rc=0 || rc=$?
  # (ctr's stderr has its cgroup v1 deprecation warning: only stdout is checked.)
  if [ "$rc" = 0 ] && [ "$out" = "run-$1" ]; then echo "$1" >>"$work/runs.ok"
  else echo "run $id: exit $rc, output [$out], stderr [$(grep -v DEPRECATION "$work/err.r$1")]" >>"$work/runs.bad"; fi
  rm -f "$work/err.r$1"
}
one_exec() {
  local t=$prefix-x$(($1 % EXEC_TASKS)) want=$(($1 % 5)) out rc
  out=$("$CTR" --address "$CTD_SOCK" -n "$CTD_NS" task exec --exec-id "e$1" "$t" sh -c "echo exec-$1; exit $want" 2>"$work/err.e$1") && rc=0 || rc=$?
  if [ "$rc" = "$want" ] && [ "$out" = "exec-$1" ]; then echo "$1" >>"$work/execs.ok"
  else echo "exec e$1 in $t: exit $rc (want $want), output [$out], stderr [$(grep -v DEPRECATION "$work/err.e$1")]" >>"$work/execs.bad"; fi
  rm -f "$work/err.e$1"
}
export -f one_run one_exec
export CTR CTD_SOCK CTD_NS RUNTIME IMAGE prefix work EXEC_TASKS
touch "$work/runs.ok" "$work/runs.bad" "$work/execs.ok" "$work/execs.bad"

task_procs() { "${C[@]}" task ps "$1" 2>/dev/null | tail -n +2 | grep -c . || true; }
declare -A procs_before
for i in $(seq 0 $((EXEC_TASKS - 1))); do
  start_long "$prefix-x$i" || die "starting exec task $prefix-x$i"
  # sh and its sleep
  procs_before[$i]=$(task_procs "$prefix-x$i")
done
victims=()
for i in $(seq "$SHIM_KILLS"); do
  start_long "$prefix-k$i" || die "starting shim-kill task $prefix-k$i"
  victims+=("$prefix-k$i")
done
seq "$RUNS" | xargs -r -P "$PAR" -I{} bash -c 'one_run "$@"' _ {} &
bg_pids+=($!); runs_pid=$!
seq "$EXECS" | xargs -r -P "$PAR" -I{} bash -c 'one_exec "$@"' _ {} &
bg_pids+=($!); execs_pid=$!

# The shim kills, spread over the runs: victim k once k/(SHIM_KILLS+1) of them are done.
killed=0
check_killed() {  # check_killed ID INIT SHIM SOCKET
  local v=$1 init=$2 shim=$3 sock=$4 st
  eventually 10 dead "$shim" || fail "shim $shim of $v survived SIGKILL"
  # containerd sees the connection close and runs `shim delete`: the task leaves its list
  # (a list that still shows it must show it stopped).
  eventually 10 gone_or_stopped "$v" ||
    fail "$v after its shim was killed: $(task_status "$v") (want gone or STOPPED)"
  eventually 10 dead "$init" || fail "init $init of $v survived its shim"
  eventually 10 not_mounted "$task_dir/$v/rootfs" || fail "rootfs of $v left mounted"
  eventually 10 test ! -e "$task_dir/$v" || fail "runtime v2 task dir of $v left: $task_dir/$v"
  eventually 10 test ! -e "$state_root/$v" || fail "shim state of $v left: $state_root/$v"
  if [ -n "$sock" ] && ! eventually 5 test ! -S "$sock"; then
    if [ "$runtime_name" = runc ]; then
      # Known (e2e.sh shim_kill): runc-v2's `delete` removes the socket named by the
      # bundle's `address` file, which its 2.3 `start` no longer writes.
      note "runc-v2 left the dead shim's socket of $v (known, not berth's)"; rm -f "$sock"
    else fail "the dead shim's socket of $v is left: $sock"; fi
  fi
  st=$(task_status "$v")
  if [ -n "$st" ]; then
    "${C[@]}" task delete "$v" >/dev/null 2>"$work/err" || fail "task delete $v (was $st): $(cat "$work/err")"
  else
    # Gone: a delete is NotFound, nothing else.
    "${C[@]}" task delete "$v" >/dev/null 2>"$work/err" ||
      grep -qi "not found" "$work/err" || fail "task delete $v: $(cat "$work/err")"
  fi
  "${C[@]}" container delete "$v" 2>"$work/err" || fail "container delete $v: $(cat "$work/err")"
  eventually 10 no_cgroup "$v" ||
    fail "cgroup of $v left: $(find /sys/fs/cgroup -maxdepth 4 -type d -name "$v" | head -3 | tr '\n' ' ')"
}
for k in $(seq "$SHIM_KILLS"); do
  v=${victims[$((k - 1))]}
  at=$((RUNS * k / (SHIM_KILLS + 1)))
  while [ "$(wc -l <"$work/runs.ok")" -lt "$at" ] && kill -0 "$runs_pid" 2>/dev/null; do sleep 0.1; done
  init=$(task_pid "$v")
  shim=$(shim_of "$v")
  [ -n "$init" ] && [ "$(task_status "$v")" = RUNNING ] || { fail "$v not RUNNING before its shim kill"; continue; }
  [ -n "$shim" ] || { fail "no shim with -id $v among this containerd's"; continue; }
  [ "$(ps -o ppid= -p "$init" | tr -d ' ')" = "$shim" ] || fail "the shim of $v ($shim) is not its init's parent"
  sock=
  [ -f "$task_dir/$v/bootstrap.json" ] && sock=$(jq -r .address "$task_dir/$v/bootstrap.json" | sed 's|^unix://||')
  kill -KILL "$shim"
  killed=$((killed + 1))
  check_killed "$v" "$init" "$shim" "$sock"
done
wait "$runs_pid" || fail "the runs' xargs failed"
wait "$execs_pid" || fail "the execs' xargs failed"
bg_pids=()
# A run or exec whose exit status is right and whose stdout is empty: the output was
# lost between the shim and ctr. containerd 2.3's client opens its fifo readers late (in
# a goroutine; measured up to 14 ms after the process exited) and closes them right after
# the exit (task) or DeleteProcess (exec); a shim that closes its end before the reader
# came, as runc-v2 does, loses the bytes. berth's shim waits for the reader
# (shim/process_io.cc, BeginHandover), so for it a lost output is a failure; for
# runc-v2, the reference, it is counted apart (lost_output=N) and noted, unless
# CHURN_STRICT_OUTPUT=1.
lost_re='^run .*: exit 0, output \[\], stderr \[\]$|^exec .*: exit ([0-9]+) \(want \1\), output \[\], stderr \[\]$'
lost_output=0
strict_output=${CHURN_STRICT_OUTPUT:-$([ "$runtime_name" = runc ] && echo 0 || echo 1)}
if [ "$strict_output" != 1 ]; then
  for f in runs execs; do
    lost=$(grep -cE "$lost_re" "$work/$f.bad" || true)
    [ "$lost" = 0 ] && continue
    lost_output=$((lost_output + lost))
    note "the stdout of $lost of the $f was lost, exit status right: $(grep -E "$lost_re" "$work/$f.bad" | head -2 | cut -d: -f1 | tr '\n' ' ')"
    grep -vE "$lost_re" "$work/$f.bad" >"$work/$f.keep" || true
    mv "$work/$f.keep" "$work/$f.bad"
    for _ in $(seq "$lost"); do echo lost >>"$work/$f.ok"; done
  done
fi
runs_ok=$(wc -l <"$work/runs.ok"); execs_ok=$(wc -l <"$work/execs.ok")
[ "$runs_ok" = "$RUNS" ] || fail "$((RUNS - runs_ok)) of $RUNS runs failed, first: $(head -3 "$work/runs.bad" | tr '\n' ' ')"
[ "$execs_ok" = "$EXECS" ] || fail "$((EXECS - execs_ok)) of $EXECS execs failed, first: $(head -3 "$work/execs.bad" | tr '\n' ' ')"
for i in $(seq 0 $((EXEC_TASKS - 1))); do
  st=$(task_status "$prefix-x$i")
  [ "$st" = RUNNING ] || fail "exec task $prefix-x$i is $st after the churn"
  # Every exec's process is gone from the task (only its init left).
  n=$(task_procs "$prefix-x$i")
  [ "$n" = "${procs_before[$i]}" ] ||
    fail "$prefix-x$i lists $n processes after the execs (${procs_before[$i]} before: an exec's process left)"
  remove "$prefix-x$i"
done
# containerd's fds after the churn, same process: settle, then compare.
eventually 10 fds_within 5 || true
churn_fds=$(fd_count)
[ "$churn_fds" -le $((base_fds + 5)) ] || fail "containerd's fds after the churn: $churn_fds (baseline $base_fds)"

# --- 3. containerd restart with RESTART_TASKS running tasks ------------------------------
restart_ids=()
for i in $(seq "$RESTART_TASKS"); do restart_ids+=("$prefix-s$i"); done
printf '%s\n' "${restart_ids[@]}" |
  xargs -r -P "$PAR" -I{} "$CTR" --address "$CTD_SOCK" -n "$CTD_NS" run --runtime "$RUNTIME" -d "$IMAGE" {} \
    sh -c 'sleep 100000; :' "{}-init" || fail "starting the restart tasks"
declare -A restart_init
for id in "${restart_ids[@]}"; do restart_init[$id]=$(task_pid "$id"); done
restarted=0
old_ctd=$(ctd_pid)
"$here/containerd.sh" stop "$dir"
kill -0 "$old_ctd" 2>/dev/null && die "containerd $old_ctd did not stop"
"$here/containerd.sh" start "$dir" || die "containerd did not come back"
for id in "${restart_ids[@]}"; do
  st=$(task_status "$id")
  [ "$st" = RUNNING ] || { fail "$id is [$st] after the restart (want RUNNING)"; continue; }
  [ "$(task_pid "$id")" = "${restart_init[$id]}" ] || fail "$id's init changed over the restart"
  "${C[@]}" task ps "$id" | awk 'NR>1 {print $1}' | grep -qx "${restart_init[$id]}" ||
    fail "task ps $id does not list its init ${restart_init[$id]} after the restart"
  out=$("${C[@]}" task exec --exec-id after "$id" echo "reach-$id" 2>"$work/err") || fail "exec in $id after the restart: $(cat "$work/err")"
  [ "$out" = "reach-$id" ] || fail "exec in $id after the restart: [$out]"
  restarted=$((restarted + 1))
done
for id in "${restart_ids[@]}"; do remove "$id"; done

# --- 4. leaks ------------------------------------------------------------------------------
# The last shims exit after their Shutdown, and containerd closes what it held for them:
# give that a few seconds before calling anything a leak.
eventually 10 no_shims || true
diff_new() { comm -13 <(printf '%s\n' "$1" | sed '/^$/d') <(printf '%s\n' "$2" | sed '/^$/d'); }
leaks=0
leak() { leaks=$((leaks + 1)); fail "leak: $*"; }
n=$(shim_pids | wc -l)
[ "$n" -le "$base_shims" ] || leak "$((n - base_shims)) shim processes left: $(shim_pids | tr '\n' ' ')"
p=$(run_pids | tr '\n' ' ')
[ -z "$p" ] || leak "processes of this run left: $p ($(for q in $p; do tr '\0' ' ' <"/proc/$q/cmdline" 2>/dev/null; echo ';'; done | head -c 300))"
d=$(diff_new "$base_mounts" "$(our_mounts)"); [ -z "$d" ] || leak "mounts: $(head -5 <<<"$d" | tr '\n' ' ')"
d=$(diff_new "$base_nsfs" "$(nsfs_mounts)"); [ -z "$d" ] || leak "nsfs mounts: $(head -5 <<<"$d" | tr '\n' ' ')"
d=$(diff_new "$base_netns" "$(netns_list)"); [ -z "$d" ] || leak "network namespaces: $(head -5 <<<"$d" | tr '\n' ' ')"
d=$(diff_new "$base_cgroups" "$(ns_cgroups)"); [ -z "$d" ] || leak "cgroups: $(head -5 <<<"$d" | tr '\n' ' ')"
d=$(run_cgroups); [ -z "$d" ] || leak "cgroups of this run: $(head -5 <<<"$d" | tr '\n' ' ')"
d=$(diff_new "$base_taskdir" "$(list_dir "$task_dir")"); [ -z "$d" ] || leak "runtime v2 task dirs in $task_dir: $(head -5 <<<"$d" | tr '\n' ' ')"
d=$(diff_new "$base_stateroot" "$(list_dir "$state_root")"); [ -z "$d" ] || leak "shim state in $state_root: $(head -5 <<<"$d" | tr '\n' ' ')"
# The socket dir is containerd's default, shared with every containerd of the machine:
# a new socket there is this run's leak when nothing listens on it.
d=$(comm -23 <(diff_new "$base_sockets" "$(sockets)") <(ss -xlnH | awk '{print $5}' | sort -u) || true)
[ -z "$d" ] || leak "shim sockets nobody listens on in $sock_dir: $(head -5 <<<"$d" | tr '\n' ' ')"
d=$("${C[@]}" task ls -q | grep "^$prefix" || true); [ -z "$d" ] || leak "tasks left: $(tr '\n' ' ' <<<"$d")"
d=$("${C[@]}" container ls -q | grep "^$prefix" || true); [ -z "$d" ] || leak "containers left: $(tr '\n' ' ' <<<"$d")"
# containerd's fds: this is the restarted daemon; an idle one's count is the baseline's.
# +5: what an idle containerd holds comes and goes by a few (a ctr connection just
# closed and not yet reaped, the Go runtime's netpoll and timers, bolt's and the content
# store's files opened on demand); anything per task or per shim grows with RUNS.
eventually 10 fds_within 5 || true
end_fds=$(fd_count)
[ "$end_fds" -le $((base_fds + 5)) ] || leak "containerd's fds: $end_fds, baseline $base_fds (+5 allowed)"

summary
if [ "${#failures[@]}" -ne 0 ]; then
  printf 'FAIL (churn): %s\n' "${failures[@]}" >&2
  exit 1
fi
echo "PASS (churn)"
