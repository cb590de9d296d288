#include "container/teardown.h"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>

#include "container/hooks.h"
#include "container/status.h"
#include "linux/process.h"

namespace berth::container {

Result<bool> WaitForInitExit(const ContainerRecord& record, int timeout_ms) {
  auto pidfd = linux::PidfdOpen(record.pid);
  if (!pidfd || !linux::ProcessIsAlive(record.pid, record.start_time)) return true;
  pollfd p{pidfd->get(), POLLIN, 0};
  int r;
  do {
    r = ::poll(&p, 1, timeout_ms);
  } while (r < 0 && errno == EINTR);
  if (r < 0) return ErrnoError("poll pidfd");
  if (r == 0) return false;
  // Reap it if it is our child (run, the shim); harmless otherwise.
  ::waitpid(record.pid, nullptr, WNOHANG);
  return true;
}

Result<void> KillAndWait(const ContainerRecord& record, oci::Status status) {
  if (status == oci::Status::kStopped) return {};
  std::unique_ptr<cgroup::Manager> cg;
  if (!record.cgroup.empty()) {
    auto loaded = LoadCgroup(record);
    if (loaded) cg = std::move(*loaded);
  }
  // With a new pid namespace, the init's death takes every other process with it;
  // without one, only the cgroup knows them all.
  if (cg) {
    auto r = cg->Kill(SIGKILL);
    if (!r && r.error().code != ESRCH) return r;
  }
  auto r = linux::SignalProcess(record.pid, record.start_time, SIGKILL);
  if (!r && r.error().code != ESRCH) return r;
  if (status == oci::Status::kPaused && cg) (void)cg->Thaw();
  bool gone = BERTH_TRY(WaitForInitExit(record, 10000));
  if (!gone) return Fail("the container's init did not exit after SIGKILL", ETIMEDOUT);
  return {};
}

Result<void> DestroyContainer(const Runtime& rt, StateDir& dir, const ContainerRecord& record,
                              oci::Status status) {
  BERTH_TRY(KillAndWait(record, status));
  if (!record.cgroup.empty()) {
    auto cg = LoadCgroup(record);
    if (cg) BERTH_TRY_CTX((*cg)->Destroy(), "remove its cgroups");
  }
  auto config = oci::LoadSpec(dir.path());
  if (config && !config->hooks.poststop.empty()) {
    for (const auto& failure : RunHooksReportingFailures(
             config->hooks.poststop, "poststop",
             oci::HookStateJson(ToOciState(record, oci::Status::kStopped))))
      rt.Log(LogLevel::kWarning, failure);
  }
  return dir.Remove();
}

}  // namespace berth::container
