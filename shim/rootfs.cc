#include "shim/rootfs.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "linux/mount_options.h"

namespace berth::shim {
namespace {

constexpr unsigned long kPropagationFlags = MS_SHARED | MS_SLAVE | MS_PRIVATE | MS_UNBINDABLE;

Result<void> MountOne(const RootfsMount& m, const std::string& target) {
  linux::MountOptions o = linux::ParseMountOptions(m.options);
  unsigned long flags = o.flags & ~MS_REMOUNT;
  // mount(2) takes one page of data; containerd shortens long overlay lowerdir lists by
  // changing directory, which a multi-threaded shim cannot do safely.
  if (o.data.size() >= static_cast<size_t>(::sysconf(_SC_PAGESIZE)))
    return Fail("mount " + m.type + " on " + target + ": options exceed a page (" +
                    std::to_string(o.data.size()) + " bytes)",
                EINVAL);
  std::string type = m.type;
  if (type == "bind" || type == "rbind") {
    flags |= MS_BIND | (type == "rbind" ? MS_REC : 0);
    type.clear();
  }
  const char* data = o.data.empty() ? nullptr : o.data.c_str();
  bool bind = (flags & MS_BIND) != 0;
  // A bind ignores most flags: read-only and friends need a remount after it.
  unsigned long rest = flags & ~(MS_BIND | MS_REC);
  unsigned long first = bind ? flags & (MS_BIND | MS_REC) : flags;
  if (::mount(m.source.c_str(), target.c_str(), type.empty() ? nullptr : type.c_str(), first,
              data) < 0)
    return ErrnoError("mount " + m.source + " (" + m.type + ") on " + target);
  if (bind && rest) {
    if (::mount(nullptr, target.c_str(), nullptr, MS_REMOUNT | MS_BIND | rest, nullptr) < 0) {
      int err = errno;
      ::umount2(target.c_str(), MNT_DETACH);
      return ErrnoError("remount " + target, err);
    }
  }
  if (o.propagation & kPropagationFlags) {
    if (::mount(nullptr, target.c_str(), nullptr, o.propagation, nullptr) < 0) {
      int err = errno;
      ::umount2(target.c_str(), MNT_DETACH);
      return ErrnoError("set propagation of " + target, err);
    }
  }
  return {};
}

}  // namespace

Result<void> MountRootfs(const std::vector<RootfsMount>& mounts, const std::string& target) {
  if (mounts.empty()) return {};
  if (::mkdir(target.c_str(), 0711) < 0 && errno != EEXIST) return ErrnoError("mkdir " + target);
  for (size_t i = 0; i < mounts.size(); ++i) {
    auto r = MountOne(mounts[i], target);
    if (!r) {
      (void)UnmountAll(target);
      return r;
    }
  }
  return {};
}

Result<void> UnmountAll(const std::string& target) {
  for (int i = 0; i < 1000; ++i) {
    if (::umount2(target.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) == 0) continue;
    if (errno == EINVAL || errno == ENOENT) return {};  // nothing (more) mounted there
    return ErrnoError("unmount " + target);
  }
  return Fail("unmount " + target + ": too many mounts", EBUSY);
}

}  // namespace berth::shim
