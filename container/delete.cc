// `delete`: kills what is left (with --force, or a created container as runc
// does), removes the cgroups, runs poststop hooks and forgets the container.
#include <poll.h>
#include <signal.h>

#include "container/container.h"
#include "container/status.h"
#include "container/teardown.h"
#include "linux/process.h"

namespace berth::container {

Result<void> Delete(const Runtime& rt, const std::string& id, bool force) {
  auto opened = StateDir::Open(rt.root, id);
  if (!opened && opened.error().code == ENOENT) {
    // As runc: a state dir a create left without its record goes, and with --force a
    // container that does not exist is already deleted.
    BERTH_TRY_CTX(StateDir::RemoveUnsaved(rt.root, id), "delete container \"" + id + "\"");
    if (force) return {};
  }
  StateDir dir = BERTH_TRY(std::move(opened));
  ContainerRecord record = BERTH_TRY(dir.Load());
  oci::Status status = CurrentStatus(dir.fd(), record);
  if ((status == oci::Status::kRunning || status == oci::Status::kPaused) && !force)
    return Fail("cannot delete container \"" + id + "\": it is " +
                std::string(oci::StatusName(status)) + " (stop it first, or use --force)");
  return WithContext(DestroyContainer(rt, dir, record, status), "delete container \"" + id + "\"");
}

}  // namespace berth::container
