// The container's root filesystem, built by init: mounts, devices, pivot_root,
// masked and readonly paths. Async-signal-safe. Every mount target is resolved
// inside the rootfs with openat2(RESOLVE_IN_ROOT) and mounted through its
// /proc/self/fd path, so a symlink swapped in cannot redirect a mount.
#include <fcntl.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cstring>

#include "container/init_context.h"
#include "linux/async_safe.h"
#include "linux/in_root.h"
#include "linux/mount_api.h"
#include "linux/procfs.h"

#ifndef PROC_SUPER_MAGIC
#define PROC_SUPER_MAGIC 0x9fa0
#endif

namespace berth::container {
namespace {

using linux::CreateAs;
using linux::FdPath;
using linux::FixedText;
using linux::OpenInRoot;

struct FdPathText {
  char text[40];
  explicit FdPathText(int fd) { FdPath(fd, text, sizeof text); }
};

// Flags the kernel locks on a mount we did not create in this user namespace;
// a bind remount must repeat them or it fails with EPERM.
unsigned long LockedFlags(int fd) noexcept {
  struct statvfs st;
  if (::fstatvfs(fd, &st) < 0) return 0;
  unsigned long flags = 0;
  if (st.f_flag & ST_NOSUID) flags |= MS_NOSUID;
  if (st.f_flag & ST_NODEV) flags |= MS_NODEV;
  if (st.f_flag & ST_NOEXEC) flags |= MS_NOEXEC;
  if (st.f_flag & ST_NOATIME) flags |= MS_NOATIME;
  if (st.f_flag & ST_NODIRATIME) flags |= MS_NODIRATIME;
  if (st.f_flag & ST_RELATIME) flags |= MS_RELATIME;
  if (st.f_flag & ST_RDONLY) flags |= MS_RDONLY;
  return flags;
}

int BindRemount(int fd, unsigned long flags) noexcept {
  FdPathText path(fd);
  unsigned long base = MS_BIND | MS_REMOUNT;
  if (::mount(nullptr, path.text, nullptr, base | flags, nullptr) == 0) return 0;
  if (errno != EPERM) return -errno;
  unsigned long locked = LockedFlags(fd) & ~MS_RDONLY;
  if (::mount(nullptr, path.text, nullptr, base | flags | locked, nullptr) == 0) return 0;
  return -errno;
}

// Splits "/a/b/c" into "/a/b" and "c" (into caller buffers).
void SplitPath(const char* path, char* parent, size_t parent_size, char* name, size_t name_size) {
  const char* slash = std::strrchr(path, '/');
  FixedText p(parent, parent_size);
  FixedText n(name, name_size);
  if (!slash) {
    p.Add("/");
    n.Add(path);
    return;
  }
  size_t len = static_cast<size_t>(slash - path);
  if (len == 0) {
    p.Add("/");
  } else {
    if (len >= parent_size) len = parent_size - 1;
    std::memcpy(parent, path, len);
    parent[len] = '\0';
  }
  n.Add(slash + 1);
}

void ApplyAttributes(InitContext& ctx, int fd, const MountStep& step) noexcept {
  if (step.remount) ctx.Check(BindRemount(fd, step.remount_flags), "remount ", step.description.c_str());
  if (step.propagation) {
    FdPathText path(fd);
    ctx.CheckErrno(::mount(nullptr, path.text, nullptr, step.propagation, nullptr),
                   "set propagation of ", step.description.c_str());
  }
  if (step.attr_set || step.attr_clr) {
    mount_attr attr{};
    attr.attr_set = step.attr_set;
    attr.attr_clr = step.attr_clr;
    if (step.attr_set & MOUNT_ATTR__ATIME) attr.attr_clr |= MOUNT_ATTR__ATIME;
    if (::syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0)
      ctx.Fail(errno, "mount_setattr ", step.description.c_str());
  }
}

void DoSymlink(InitContext& ctx, int root_fd, const MountStep& step) noexcept {
  char parent[4096], name[256];
  SplitPath(step.target.c_str(), parent, sizeof parent, name, sizeof name);
  int dir = OpenInRoot(root_fd, parent, CreateAs::kDirectory, O_DIRECTORY);
  ctx.Check(dir, "create directory for ", step.description.c_str());
  if (::symlinkat(step.source.c_str(), dir, name) < 0 && errno != EEXIST)
    ctx.Fail(errno, step.description.c_str());
  ::close(dir);
}

bool OnProcfs(int fd) noexcept {
  struct statfs fs;
  return ::fstatfs(fd, &fs) == 0 && fs.f_type == PROC_SUPER_MAGIC;
}

// CVE-2019-16884 / CVE-2023-27561 / CVE-2023-28642: procfs and sysfs only ever go
// on a real directory reached without symlinks (runc: "must be mounted on ordinary
// directory"), and nothing but lxcfs's files goes on procfs, so no later write of
// ours can land in a file the config planted.
int OpenMountTarget(InitContext& ctx, int root_fd, const MountStep& step) noexcept {
  bool pseudo = step.fstype == "proc" || step.fstype == "sysfs";
  int target = OpenInRoot(root_fd, step.target.c_str(),
                          step.target_is_file ? CreateAs::kFile : CreateAs::kDirectory, 0,
                          pseudo ? RESOLVE_NO_SYMLINKS : 0);
  if (pseudo && target == -ELOOP)
    ctx.Fail(ENOTDIR, step.description.c_str(),
             ": the target is a symlink (or under one), not an ordinary directory");
  ctx.Check(target, "create mount point for ", step.description.c_str());
  if (pseudo) {
    struct stat st;
    if (::fstat(target, &st) < 0 || !S_ISDIR(st.st_mode))
      ctx.Fail(ENOTDIR, step.description.c_str(), ": target is not a directory");
  } else if (!step.may_cover_procfs && OnProcfs(target)) {
    ctx.Fail(EPERM, step.description.c_str(), ": the target is on procfs");
  }
  return target;
}

void DoMount(InitContext& ctx, int root_fd, const MountStep& step) noexcept {
  int target = OpenMountTarget(ctx, root_fd, step);
  FdPathText path(target);
  const char* fstype = step.fstype.empty() ? nullptr : step.fstype.c_str();
  const char* data = step.data.empty() ? nullptr : step.data.c_str();
  if (::mount(step.source.c_str(), path.text, fstype, step.flags, data) < 0)
    ctx.Fail(errno, step.description.c_str());
  ::close(target);
  if (!step.remount && !step.propagation && !step.attr_set && !step.attr_clr) return;
  // The path now leads to the new mount's root: reopen it to change that mount.
  int mounted = OpenInRoot(root_fd, step.target.c_str(), CreateAs::kNothing);
  ctx.Check(mounted, "reopen ", step.description.c_str());
  ApplyAttributes(ctx, mounted, step);
  ::close(mounted);
}

// The id-mapped bind the runtime made before clone: attached onto the target by fd,
// so the path is never looked up again; only propagation is left to set.
void DoAttach(InitContext& ctx, int root_fd, const MountStep& step) noexcept {
  int target = OpenMountTarget(ctx, root_fd, step);
  ctx.Check(linux::AttachMount(step.detached_fd, target), "move_mount ", step.description.c_str());
  ::close(target);
  ::close(step.detached_fd);
  if (!step.propagation) return;
  int mounted = OpenInRoot(root_fd, step.target.c_str(), CreateAs::kNothing);
  ctx.Check(mounted, "reopen ", step.description.c_str());
  FdPathText path(mounted);
  ctx.CheckErrno(::mount(nullptr, path.text, nullptr, step.propagation, nullptr),
                 "set propagation of ", step.description.c_str());
  ::close(mounted);
}

void DoRemount(InitContext& ctx, int root_fd, const MountStep& step) noexcept {
  int mounted = OpenInRoot(root_fd, step.target.c_str(), CreateAs::kNothing);
  ctx.Check(mounted, "open ", step.description.c_str());
  ApplyAttributes(ctx, mounted, step);
  ::close(mounted);
}

void CreateDevice(InitContext& ctx, int root_fd, const DeviceNode& d) noexcept {
  if (d.bind_from_host) {
    int target = OpenInRoot(root_fd, d.path.c_str(), CreateAs::kFile);
    ctx.Check(target, "create device bind target ", d.path.c_str());
    FdPathText path(target);
    if (::mount(d.path.c_str(), path.text, nullptr, MS_BIND, nullptr) < 0)
      ctx.Fail(errno, "bind mount device ", d.path.c_str());
    ::close(target);
    return;
  }
  char parent[4096], name[256];
  SplitPath(d.path.c_str(), parent, sizeof parent, name, sizeof name);
  int dir = OpenInRoot(root_fd, parent, CreateAs::kDirectory, O_DIRECTORY);
  ctx.Check(dir, "create directory for device ", d.path.c_str());
  if (::unlinkat(dir, name, 0) < 0 && errno != ENOENT) ctx.Fail(errno, "replace device ", d.path.c_str());
  if (::mknodat(dir, name, d.mode, d.dev) < 0) ctx.Fail(errno, "mknod ", d.path.c_str());
  if (::fchownat(dir, name, d.uid, d.gid, AT_SYMLINK_NOFOLLOW) < 0)
    ctx.Fail(errno, "chown device ", d.path.c_str());
  ::close(dir);
}

void MakeWorkingDirectory(int root_fd, const char* cwd) noexcept {
  // As runc: a missing cwd is created; failing that, chdir reports the error later.
  int fd = OpenInRoot(root_fd, cwd, CreateAs::kDirectory, O_DIRECTORY);
  if (fd >= 0) ::close(fd);
}

void PivotRoot(InitContext& ctx) noexcept {
  int old_root = ::open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (old_root < 0) ctx.Fail(errno, "open /");
  int new_root = ::open(ctx.plan.rootfs.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (new_root < 0) ctx.Fail(errno, "open rootfs ", ctx.plan.rootfs.c_str());
  ctx.CheckErrno(::fchdir(new_root), "chdir to the rootfs");
  // pivot_root(".", "."): the old root is stacked on top of the new one and
  // detached next, with no directory needed for it (as runc and crun do).
  if (::syscall(SYS_pivot_root, ".", ".") < 0) ctx.Fail(errno, "pivot_root");
  ctx.CheckErrno(::fchdir(old_root), "chdir to the old root");
  // Slave first, so that unmounting it does not propagate to the host.
  ctx.CheckErrno(::mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr), "make old root rslave");
  ctx.CheckErrno(::umount2(".", MNT_DETACH), "unmount the old root");
  ctx.CheckErrno(::chdir("/"), "chdir /");
  ::close(old_root);
  ::close(new_root);
}

// Without pivot_root the host's mounts stay in the mount namespace, under the
// rootfs: a fully visible proc or sysfs among them would let a nested user
// namespace mount a fresh, unmasked one (the kernel's mnt_already_visible needs
// only one). Each is detached, or covered by a tmpfs where it is locked (in a user
// namespace), as runc's msMoveRoot does.
void HideHostPseudoFs(InitContext& ctx) noexcept {
  for (const auto& m : ctx.plan.host_pseudo_fs) {
    const char* path = m.c_str();
    // Slave first, so that unmounting it does not propagate to the host.
    if (::mount(nullptr, path, nullptr, MS_SLAVE | MS_REC, nullptr) < 0) {
      if (errno == ENOENT) continue;  // under one detached already
      ctx.Fail(errno, "make host mount ", path, " rslave");
    }
    if (::umount2(path, MNT_DETACH) == 0) continue;
    if (errno != EINVAL && errno != EPERM) ctx.Fail(errno, "unmount host mount ", path);
    ctx.CheckErrno(::mount("tmpfs", path, "tmpfs", 0, nullptr), "cover host mount ", path);
  }
}

void MoveRoot(InitContext& ctx) noexcept {
  HideHostPseudoFs(ctx);
  ctx.CheckErrno(::chdir(ctx.plan.rootfs.c_str()), "chdir to the rootfs");
  ctx.CheckErrno(::mount(ctx.plan.rootfs.c_str(), "/", nullptr, MS_MOVE, nullptr),
                 "move the rootfs to /");
  ctx.CheckErrno(::chroot("."), "chroot");
  ctx.CheckErrno(::chdir("/"), "chdir /");
}

void ChrootOnly(InitContext& ctx) noexcept {
  ctx.CheckErrno(::chdir(ctx.plan.rootfs.c_str()), "chdir to the rootfs");
  ctx.CheckErrno(::chroot("."), "chroot");
  ctx.CheckErrno(::chdir("/"), "chdir /");
}

// CVE-2019-16884 / CVE-2025-52881: through the verified procfs root, with mounts
// and symlinks refused on the way, so a sysctl cannot be written anywhere else.
void WriteSysctls(InitContext& ctx) noexcept {
  if (ctx.plan.sysctls.empty()) return;
  int proc = linux::OpenProcRoot();
  ctx.Check(proc, "open /proc for linux.sysctl (is procfs mounted on /proc?)");
  for (const auto& s : ctx.plan.sysctls) {
    const char* relative = s.path.c_str() + sizeof("/proc/") - 1;
    int fd = linux::OpenProcFile(proc, relative, O_WRONLY);
    if (fd == -EXDEV || fd == -ELOOP) ctx.Fail(-fd, "sysctl ", s.path.c_str(), " is covered by a mount or symlink");
    ctx.Check(fd, "open ", s.path.c_str());
    if (::write(fd, s.value.data(), s.value.size()) < 0)
      ctx.Fail(errno, "write sysctl ", s.path.c_str());
    ::close(fd);
  }
  ::close(proc);
}

void MakeReadonly(InitContext& ctx, int root_fd, const char* path) noexcept {
  int fd = OpenInRoot(root_fd, path, CreateAs::kNothing);
  if (fd == -ENOENT) return;
  ctx.Check(fd, "open readonly path ", path);
  FdPathText where(fd);
  ctx.CheckErrno(::mount(where.text, where.text, nullptr, MS_BIND | MS_REC, nullptr),
                 "bind readonly path ", path);
  ::close(fd);
  int mounted = OpenInRoot(root_fd, path, CreateAs::kNothing);
  ctx.Check(mounted, "reopen readonly path ", path);
  ctx.Check(BindRemount(mounted, MS_RDONLY | MS_REC), "remount readonly path ", path);
  ::close(mounted);
}

// CVE-2025-31133: what we bind over a masked file must really be /dev/null.
int OpenDevNull(InitContext& ctx, int root_fd) noexcept {
  int fd = OpenInRoot(root_fd, "/dev/null", CreateAs::kNothing);
  ctx.Check(fd, "open /dev/null to mask paths");
  struct stat st;
  if (::fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
    ctx.Fail(EPERM, "/dev/null in the container is not the null device");
  return fd;
}

void MaskPath(InitContext& ctx, int root_fd, int& dev_null, const char* path) noexcept {
  int fd = OpenInRoot(root_fd, path, CreateAs::kNothing);
  if (fd == -ENOENT) return;
  ctx.Check(fd, "open masked path ", path);
  struct stat st;
  ctx.CheckErrno(::fstat(fd, &st), "stat masked path ", path);
  FdPathText where(fd);
  if (S_ISDIR(st.st_mode)) {
    ctx.CheckErrno(::mount("tmpfs", where.text, "tmpfs", MS_RDONLY, nullptr), "mask ", path);
  } else {
    if (dev_null < 0) dev_null = OpenDevNull(ctx, root_fd);
    FdPathText null_path(dev_null);
    ctx.CheckErrno(::mount(null_path.text, where.text, nullptr, MS_BIND, nullptr), "mask ", path);
  }
  ::close(fd);
}

}  // namespace

void PrepareRootfs(InitContext& ctx) noexcept {
  const InitPlan& p = ctx.plan;
  ::umask(0);  // device and directory modes exactly as configured
  if (p.mount_namespace) {
    ctx.CheckErrno(::mount(nullptr, "/", nullptr, p.root_propagation_before, nullptr),
                   "set propagation of /");
    if (!p.rootfs_parent_private.empty())
      ctx.CheckErrno(::mount(nullptr, p.rootfs_parent_private.c_str(), nullptr, MS_PRIVATE, nullptr),
                     "make the mount of the rootfs private: ", p.rootfs_parent_private.c_str());
    // pivot_root needs the rootfs to be a mount point.
    ctx.CheckErrno(::mount(p.rootfs.c_str(), p.rootfs.c_str(), nullptr, MS_BIND | MS_REC, nullptr),
                   "bind mount the rootfs ", p.rootfs.c_str());
  }
  int root_fd = ::open(p.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0) ctx.Fail(errno, "open rootfs ", p.rootfs.c_str());
  for (const auto& step : p.mounts) {
    switch (step.kind) {
      case MountStep::Kind::kSymlink: DoSymlink(ctx, root_fd, step); break;
      case MountStep::Kind::kRemount: DoRemount(ctx, root_fd, step); break;
      case MountStep::Kind::kAttach: DoAttach(ctx, root_fd, step); break;
      default: DoMount(ctx, root_fd, step);
    }
  }
  if (p.setup_dev) {
    for (const auto& d : p.devices) CreateDevice(ctx, root_fd, d);
    for (const auto& link : p.dev_links) DoSymlink(ctx, root_fd, link);
  }
  if (!p.cwd.empty()) MakeWorkingDirectory(root_fd, p.cwd.c_str());
  ::close(root_fd);
  // Hooks are processes of the container: they start inside its cgroup.
  if (p.parent_hooks || !p.create_container_hooks.empty()) ctx.WaitForCgroup();
  if (p.parent_hooks) {
    ctx.Send(SyncType::kRunHooks);
    ctx.Expect(SyncType::kHooksDone);
  }
  RunContainerHooks(ctx, p.create_container_hooks);
}

void EnterRootfs(InitContext& ctx) noexcept {
  const InitPlan& p = ctx.plan;
  if (p.no_pivot) MoveRoot(ctx);
  else if (p.mount_namespace) PivotRoot(ctx);
  else ChrootOnly(ctx);
  if (p.mount_namespace && p.root_propagation_after)
    ctx.CheckErrno(::mount(nullptr, "/", nullptr, p.root_propagation_after, nullptr),
                   "set linux.rootfsPropagation on /");
}

void FinishRootfs(InitContext& ctx) noexcept {
  const InitPlan& p = ctx.plan;
  WriteSysctls(ctx);
  int root_fd = ::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0) ctx.Fail(errno, "open /");
  for (const auto& path : p.readonly_paths) MakeReadonly(ctx, root_fd, path.c_str());
  int dev_null = -1;
  for (const auto& path : p.masked_paths) MaskPath(ctx, root_fd, dev_null, path.c_str());
  if (dev_null >= 0) ::close(dev_null);
  for (const auto& step : p.late_readonly) DoRemount(ctx, root_fd, step);
  if (p.readonly_root) ctx.Check(BindRemount(root_fd, MS_RDONLY), "remount / readonly");
  ::close(root_fd);
}

}  // namespace berth::container
