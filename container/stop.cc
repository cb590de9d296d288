// The draft runtime-spec `stop`: SIGTERM, a grace period, SIGKILL. The
// container stays (stopped) until `delete`.
#include <signal.h>

#include "container/container.h"
#include "container/status.h"
#include "container/teardown.h"
#include "linux/process.h"

namespace berth::container {

Result<void> Stop(const Runtime& rt, const std::string& id, int timeout_seconds) {
  StateDir dir = BERTH_TRY(StateDir::Open(rt.root, id));
  ContainerRecord record = BERTH_TRY(dir.Load());
  oci::Status status = CurrentStatus(dir.fd(), record);
  if (status != oci::Status::kRunning && status != oci::Status::kPaused)
    return Fail("cannot stop container \"" + id + "\": it is " +
                std::string(oci::StatusName(status)) + ", not running");
  if (status == oci::Status::kRunning) {
    std::unique_ptr<cgroup::Manager> cg;
    if (!record.cgroup.empty()) {
      auto loaded = LoadCgroup(record);
      if (loaded) cg = std::move(*loaded);
    }
    // Every process gets SIGTERM (the spec: stop all processes of the container).
    if (cg) (void)cg->Kill(SIGTERM);
    auto r = linux::SignalProcess(record.pid, record.start_time, SIGTERM);
    if (!r && r.error().code != ESRCH) return WithContext(std::move(r), "stop container \"" + id + "\"");
    bool gone = BERTH_TRY(WaitForInitExit(record, timeout_seconds * 1000));
    if (gone && !cg) return {};
    if (gone) {
      auto left = cg->Pids();
      if (left && left->empty()) return {};
    }
  }
  return WithContext(KillAndWait(record, status), "stop container \"" + id + "\"");
}

}  // namespace berth::container
