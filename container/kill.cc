// `kill`: a signal to the init, or with --all to every process of the container.
#include <signal.h>

#include "container/container.h"
#include "container/status.h"
#include "linux/process.h"

namespace berth::container {

Result<void> Kill(const Runtime& rt, const std::string& id, int signal, bool all) {
  StateDir dir = BERTH_TRY(StateDir::Open(rt.root, id));
  ContainerRecord record = BERTH_TRY(dir.Load());
  oci::Status status = CurrentStatus(dir.fd(), record);
  if (status == oci::Status::kStopped)
    return Fail("container \"" + id + "\" is not running", ESRCH);
  if (all) {
    auto cg = BERTH_TRY(LoadCgroup(record));
    return WithContext(cg->Kill(signal), "kill container \"" + id + "\"");
  }
  return WithContext(linux::SignalProcess(record.pid, record.start_time, signal),
                     "kill container \"" + id + "\"");
}

}  // namespace berth::container
