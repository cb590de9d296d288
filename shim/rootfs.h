// CreateTaskRequest.rootfs: the snapshot mounts (overlay, bind, ...) containerd asks
// the shim to stack on <bundle>/rootfs, and their removal on delete.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"

namespace berth::shim {

struct RootfsMount {
  std::string type, source;
  std::vector<std::string> options;
};

// Mounts each in order on `target` (made 0711 if missing), as containerd's
// mount.Mount does. On failure what was mounted is unmounted again.
Result<void> MountRootfs(const std::vector<RootfsMount>& mounts, const std::string& target);

// Unmounts everything stacked on `target` (containerd's mount.UnmountAll); a target
// that is not a mount point is fine.
Result<void> UnmountAll(const std::string& target);

}  // namespace berth::shim
