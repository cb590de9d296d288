#include "container/status.h"

#include <fcntl.h>
#include <unistd.h>

#include "linux/files.h"
#include "linux/process.h"
#include "oci/spec.h"

namespace berth::container {

Result<std::unique_ptr<cgroup::Manager>> LoadCgroup(const ContainerRecord& record) {
  if (record.cgroup.empty())
    return Fail("the container has no cgroup (rootless, and none delegated)", ENOENT);
  cgroup::Paths paths = BERTH_TRY(cgroup::PathsFromJson(record.cgroup));
  return cgroup::Manager::Load(paths);
}

oci::Status CurrentStatus(int state_dir_fd, const ContainerRecord& record) {
  if (!linux::ProcessIsAlive(record.pid, record.start_time)) return oci::Status::kStopped;
  if (::faccessat(state_dir_fd, "exec.fifo", F_OK, AT_SYMLINK_NOFOLLOW) == 0)
    return oci::Status::kCreated;
  if (!record.cgroup.empty()) {
    auto cg = LoadCgroup(record);
    if (cg) {
      auto frozen = (*cg)->IsFrozen();
      if (frozen && *frozen) return oci::Status::kPaused;
    }
  }
  return oci::Status::kRunning;
}

oci::State ToOciState(const ContainerRecord& r, oci::Status status) {
  oci::State s;
  s.oci_version = std::string(oci::kSpecVersion);
  s.id = r.id;
  s.status = status;
  s.pid = status == oci::Status::kStopped ? 0 : r.pid;
  s.bundle = r.bundle;
  s.annotations = r.annotations;
  s.rootfs = r.rootfs;
  s.created = r.created;
  s.owner = r.owner;
  return s;
}

Result<ContainerRecord> ReadRecord(const std::string& root, const std::string& id,
                                   linux::UniqueFd* dir_fd) {
  BERTH_TRY(ValidateContainerId(id));
  auto fd = linux::Open(root + "/" + id, O_RDONLY | O_DIRECTORY);
  if (!fd) {
    if (fd.error().code == ENOENT) return Fail("container \"" + id + "\" does not exist", ENOENT);
    return Fail(std::move(fd.error()));
  }
  auto text = linux::ReadFileAt(fd->get(), "state.json");
  if (!text) {
    if (text.error().code == ENOENT) return Fail("container \"" + id + "\" does not exist", ENOENT);
    return Fail(std::move(text.error()));
  }
  ContainerRecord record = BERTH_TRY(RecordFromJson(*text));
  if (dir_fd) *dir_fd = std::move(*fd);
  return record;
}

}  // namespace berth::container
