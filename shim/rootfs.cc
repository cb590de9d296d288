#include "shim/rootfs.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fcntl.h>

#include <sstream>

#include "linux/files.h"
#include "linux/mount_api.h"
#include "linux/mount_options.h"

namespace berth::shim {
namespace {

constexpr unsigned long kPropagationFlags = MS_SHARED | MS_SLAVE | MS_PRIVATE | MS_UNBINDABLE;

// "0:100000:65536,..." (containerd's uidmap=/gidmap= mount options) as a uid_map text.
Result<std::string> IdMapText(const std::string& list, const char* what) {
  std::string out, item;
  std::istringstream in(list);
  while (std::getline(in, item, ',')) {
    unsigned long c, h, n;
    char end;
    if (std::sscanf(item.c_str(), "%lu:%lu:%lu%c", &c, &h, &n, &end) != 3)
      return Fail(std::string(what) + ": \"" + item + "\" is not container-id:host-id:size", EINVAL);
    out += std::to_string(c) + " " + std::to_string(h) + " " + std::to_string(n) + "\n";
  }
  return out;
}

// An overlay with uidmap=/gidmap= (containerd 2.x, user-namespaced pods): as
// containerd's mount package does, each lowerdir is id-mapped (a detached clone with
// MOUNT_ATTR_IDMAP, attached at <target>.idmap-N) and overlay is mounted over those,
// which are detached again once overlay holds them.
class IdMappedLowerdirs {
 public:
  ~IdMappedLowerdirs() {
    for (const auto& dir : dirs_) {
      ::umount2(dir.c_str(), MNT_DETACH);
      ::rmdir(dir.c_str());
    }
  }
  Result<std::vector<std::string>> Prepare(std::vector<std::string> options,
                                           const std::string& target) {
    std::string uidmap, gidmap;
    size_t lower = options.size();
    std::vector<std::string> kept;
    for (const auto& o : options) {
      if (o.starts_with("uidmap=")) uidmap = o.substr(7);
      else if (o.starts_with("gidmap=")) gidmap = o.substr(7);
      else {
        if (o.starts_with("lowerdir=")) lower = kept.size();
        kept.push_back(o);
      }
    }
    if (uidmap.empty() && gidmap.empty()) return options;
    if (uidmap.empty() || gidmap.empty())
      return Fail("overlay on " + target + ": uidmap= and gidmap= go together", EINVAL);
    if (lower == kept.size()) return Fail("overlay on " + target + ": no lowerdir= to map", EINVAL);
    linux::UniqueFd userns = BERTH_TRY(linux::MakeUserNamespace(
        BERTH_TRY(IdMapText(uidmap, "uidmap")), BERTH_TRY(IdMapText(gidmap, "gidmap"))));
    std::string mapped, dir;
    std::istringstream in(kept[lower].substr(9));
    while (std::getline(in, dir, ':')) {
      std::string at = target + ".idmap-" + std::to_string(dirs_.size());
      if (::mkdir(at.c_str(), 0700) < 0 && errno != EEXIST) return ErrnoError("mkdir " + at);
      linux::UniqueFd tree = BERTH_TRY(linux::CloneMountTree(dir, /*recursive=*/false));
      BERTH_TRY_CTX(linux::SetMountAttributes(tree.get(), false, 0, 0, userns.get()),
                    "id-map lowerdir " + dir);
      linux::UniqueFd at_fd = BERTH_TRY(linux::Open(at, O_PATH | O_DIRECTORY | O_CLOEXEC));
      if (int err = linux::AttachMount(tree.get(), at_fd.get()); err < 0)
        return ErrnoError("attach the id-mapped " + dir + " at " + at, -err);
      dirs_.push_back(at);
      mapped += (mapped.empty() ? "" : ":") + at;
    }
    kept[lower] = "lowerdir=" + mapped;
    return kept;
  }

 private:
  std::vector<std::string> dirs_;
};


Result<void> MountOne(const RootfsMount& given, const std::string& target) {
  IdMappedLowerdirs idmapped;
  RootfsMount m = given;
  if (m.type == "overlay") m.options = BERTH_TRY(idmapped.Prepare(m.options, target));
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
