// The runtime's side of starting an init: clone it (once, or twice for joined
// pid/user namespaces), write its id maps, let the caller place it in its
// cgroup and run hooks, and collect what it hands back (pty, seccomp fd).
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "base/result.h"
#include "cgroup/cgroup.h"
#include "container/init_plan.h"
#include "linux/unique_fd.h"
#include "oci/spec.h"

namespace berth::container {

struct LaunchHooks {
  // Once the init exists, before it goes on: cgroup placement of what it did not
  // join by itself (PlanSelfJoin), oom_score_adj.
  std::function<Result<void>(pid_t, cgroup::SelfJoined)> place;
  // When the init asks for the prestart/createRuntime hooks.
  std::function<Result<void>(pid_t)> run_hooks;
  // With a NOTIFY rule: hands the init's seccomp listener to the agent, while the
  // init waits (any of its syscalls may be trapped from then on).
  std::function<Result<void>(pid_t, int listener)> seccomp_listener;
  // What each stage did, for --debug (as runc's nsexec and sync lines); may be empty.
  std::function<void(const std::string&)> debug;
};

struct LaunchedInit {
  pid_t pid = 0;
  linux::UniqueFd pidfd;
  linux::UniqueFd pty_master;
  // With plan.join_container: the runtime's end of the sync socket, which reads end of
  // file once the process exec'd, or a kError if it failed first.
  linux::UniqueFd sync;
  // The first clone into the v2 cgroup was killed at once (a cgroup that had
  // cgroup.kill written): the init was cloned again and moved by pid.
  bool cloned_into_cgroup_refused = false;
};

struct IdMaps {
  std::vector<oci::IdMapping> uid, gid;
};

// Lets the first process LaunchInit clones join the cgroups in `join` by itself;
// `join` owns the fds and must outlive LaunchInit.
Result<void> PlanSelfJoin(InitPlan& plan, cgroup::SelfJoin& join);

// "v2 at clone: yes, v1 by itself: no", for the debug log.
std::string SelfJoinedText(cgroup::SelfJoined joined);

// On failure the init is killed and reaped before returning.
Result<LaunchedInit> LaunchInit(InitPlan& plan, const IdMaps& maps, const LaunchHooks& hooks);

// After LaunchInit of a plan with join_container: waits until the process exec'd, or
// reports why it could not.
Result<void> WaitForExec(int sync);

// Writes /proc/<pid>/{uid,gid}_map (and setgroups "deny" when unprivileged), through
// newuidmap/newgidmap where an unprivileged caller may not write them (id_maps.cc).
Result<void> WriteIdMaps(pid_t pid, const IdMaps& maps);

}  // namespace berth::container
