// What a container is doing now, derived from its init process, exec.fifo and
// freezer (never stored, so it cannot go stale).
#pragma once

#include <memory>

#include "base/result.h"
#include "cgroup/cgroup.h"
#include "container/state_store.h"
#include "oci/state.h"

namespace berth::container {

// The container's cgroup manager, rebuilt from its record.
Result<std::unique_ptr<cgroup::Manager>> LoadCgroup(const ContainerRecord& record);

oci::Status CurrentStatus(int state_dir_fd, const ContainerRecord& record);

oci::State ToOciState(const ContainerRecord& record, oci::Status status);

// Reads a container's record without taking its lock (state, list): state.json
// is replaced atomically, so a reader sees the old or the new one.
Result<ContainerRecord> ReadRecord(const std::string& root, const std::string& id,
                                   linux::UniqueFd* dir_fd);

}  // namespace berth::container
