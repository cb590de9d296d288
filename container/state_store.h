// The runtime's record of a container: <root>/<id>/state.json, plus the lock
// that serialises commands on one container (flock on the directory).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/result.h"
#include "linux/unique_fd.h"
#include "oci/state.h"

namespace berth::container {

struct ContainerRecord {
  std::string id;
  std::string bundle;
  std::string rootfs;
  std::string created;  // RFC 3339, UTC
  std::string owner;
  pid_t pid = 0;
  uint64_t start_time = 0;  // /proc/<pid>/stat field 22, guards against pid reuse
  std::map<std::string, std::string> annotations;
  std::string cgroup;       // cgroup::PathsToJson
  bool systemd_cgroup = false;
  // Namespaces the container made (types) and the ones it joined (type -> path),
  // for exec, and so that delete never touches a namespace it did not create.
  std::vector<std::string> new_namespaces;
  std::map<std::string, std::string> joined_namespaces;
  bool started = false;  // `start` ran (exec.fifo consumed)
};

std::string RecordToJson(const ContainerRecord& r);
Result<ContainerRecord> RecordFromJson(const std::string& json);

// Ids are one path component: no "/", no "..", not empty, printable.
Result<void> ValidateContainerId(const std::string& id);

class StateDir {
 public:
  // Makes <root>/<id> (mode 0711); "container X already exists" if it is there.
  static Result<StateDir> Create(const std::string& root, const std::string& id);
  // Opens and locks an existing one; "container X does not exist" otherwise.
  static Result<StateDir> Open(const std::string& root, const std::string& id);
  // Removes <root>/<id> if it is there without a state.json (a create killed before it
  // saved its record; a create that fails removes its own), under the dir's lock.
  static Result<void> RemoveUnsaved(const std::string& root, const std::string& id);

  const std::string& path() const { return path_; }
  int fd() const { return fd_.get(); }

  Result<void> Save(const ContainerRecord& record) const;
  Result<ContainerRecord> Load() const;
  // Removes the directory and everything in it.
  Result<void> Remove();

  static std::vector<std::string> ListIds(const std::string& root);

 private:
  StateDir(std::string path, linux::UniqueFd fd) : path_(std::move(path)), fd_(std::move(fd)) {}
  std::string path_;
  linux::UniqueFd fd_;  // O_RDONLY|O_DIRECTORY, flock(LOCK_EX) held while open
};

std::string NowRfc3339();

}  // namespace berth::container
