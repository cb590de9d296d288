// `kill`: a signal to the init, or with --all to every process of the container.
#include <signal.h>

#include <algorithm>

#include "container/container.h"
#include "container/status.h"
#include "linux/process.h"

namespace berth::container {

KillTargets KillTargetsFor(int signal, bool all, bool own_pid_namespace, bool paused) {
  return {.cgroup = all || (signal == SIGKILL && !own_pid_namespace),
          .thaw_after = signal == SIGKILL && paused};
}

Result<void> KillCgroup(const cgroup::Paths& paths, int signal) {
  auto cg = BERTH_TRY(cgroup::Manager::Load(paths));
  return cg->Kill(signal);
}

// KillTargetsFor, and as runc 1.4: a stopped container without a pid namespace of its
// own may have processes left for a SIGKILL; --all makes a stopped container no error
// (it sends the signal to every process, as crun does; runc 1.4 ignores it). Without a
// cgroup (rootless) the init alone: its pid namespace's end takes the rest.
Result<void> Kill(const Runtime& rt, const std::string& id, int signal, bool all) {
  StateDir dir = BERTH_TRY(StateDir::Open(rt.root, id));
  ContainerRecord record = BERTH_TRY(dir.Load());
  oci::Status status = CurrentStatus(dir.fd(), record);
  bool own_pid_ns = std::find(record.new_namespaces.begin(), record.new_namespaces.end(), "pid") !=
                    record.new_namespaces.end();
  KillTargets to = KillTargetsFor(signal, all, own_pid_ns, status == oci::Status::kPaused);
  bool to_cgroup = to.cgroup && !record.cgroup.empty();
  std::string context = "kill container \"" + id + "\"";
  if (status == oci::Status::kStopped && !(to_cgroup && !own_pid_ns)) {
    if (all) return {};
    return Fail("container \"" + id + "\" is not running", ESRCH);
  }
  if (to_cgroup) {
    auto paths = BERTH_TRY(cgroup::PathsFromJson(record.cgroup));
    BERTH_TRY_CTX(KillCgroup(paths, signal), context);
  } else {
    BERTH_TRY_CTX(linux::SignalProcess(record.pid, record.start_time, signal), context);
  }
  if (to.thaw_after) {
    auto paths = BERTH_TRY(cgroup::PathsFromJson(record.cgroup));
    BERTH_TRY_CTX(FreezeCgroup(paths, false), context + ": thaw");
  }
  return {};
}

}  // namespace berth::container
