// The new mount API (open_tree, mount_setattr, move_mount) as raw syscalls: the
// detached, id-mapped mounts the runtime makes before clone and the init attaches.
#pragma once

#include <cstdint>
#include <string>

#include "base/result.h"
#include "linux/unique_fd.h"

namespace berth::linux {

// open_tree(OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC): a detached copy of the mount at
// `path` (and of the mounts below it when `recursive`). Freed when the fd closes.
Result<UniqueFd> CloneMountTree(const std::string& path, bool recursive);

// mount_setattr(fd, "", AT_EMPTY_PATH [| AT_RECURSIVE]). `userns_fd` >= 0 adds
// MOUNT_ATTR_IDMAP with that user namespace's mapping.
Result<void> SetMountAttributes(int mount_fd, bool recursive, uint64_t attr_set,
                                uint64_t attr_clr, int userns_fd = -1);

// move_mount of the detached mount `mount_fd` onto the directory or file `target_fd`
// (an O_PATH fd is enough). Async-signal-safe: returns 0 or -errno.
int AttachMount(int mount_fd, int target_fd) noexcept;

// A user namespace with these maps ("0 100000 65536\n"), made by a short-lived
// child that is killed and reaped before this returns: an fd of /proc/PID/ns/user.
Result<UniqueFd> MakeUserNamespace(const std::string& uid_map, const std::string& gid_map);

// Whether this kernel can id-map a mount: a tmpfs mapped with a throwaway user
// namespace (needs CAP_SYS_ADMIN; false without it).
bool IdMappedMountsSupported();

}  // namespace berth::linux
