// `kill`: a signal to the init, or with --all to every process of the container.
#include <signal.h>

#include "container/container.h"
#include "container/status.h"
#include "linux/process.h"

namespace berth::container {

Result<void> KillCgroup(const cgroup::Paths& paths, int signal) {
  auto cg = BERTH_TRY(cgroup::Manager::Load(paths));
  return cg->Kill(signal);
}

Result<void> Kill(const Runtime& rt, const std::string& id, int signal, bool all) {
  StateDir dir = BERTH_TRY(StateDir::Open(rt.root, id));
  ContainerRecord record = BERTH_TRY(dir.Load());
  oci::Status status = CurrentStatus(dir.fd(), record);
  if (status == oci::Status::kStopped)
    return Fail("container \"" + id + "\" is not running", ESRCH);
  // Without a cgroup (rootless) the init alone: its pid namespace's end takes the rest.
  if (all && !record.cgroup.empty()) {
    auto paths = BERTH_TRY(cgroup::PathsFromJson(record.cgroup));
    return WithContext(KillCgroup(paths, signal), "kill container \"" + id + "\"");
  }
  return WithContext(linux::SignalProcess(record.pid, record.start_time, signal),
                     "kill container \"" + id + "\"");
}

}  // namespace berth::container
