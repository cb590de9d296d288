#include "linux/mount_api.h"

#include <fcntl.h>
#include <linux/mount.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <utility>

#include "linux/files.h"
#include "linux/process.h"

#ifndef MOVE_MOUNT_T_EMPTY_PATH
#define MOVE_MOUNT_T_EMPTY_PATH 0x00000040
#endif

namespace berth::linux {

Result<UniqueFd> CloneMountTree(const std::string& path, bool recursive) {
  unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0);
  int fd = static_cast<int>(::syscall(SYS_open_tree, AT_FDCWD, path.c_str(), flags));
  if (fd < 0) return ErrnoError("open_tree " + path);
  return UniqueFd(fd);
}

Result<void> SetMountAttributes(int mount_fd, bool recursive, uint64_t attr_set,
                                uint64_t attr_clr, int userns_fd) {
  mount_attr attr{};
  attr.attr_set = attr_set;
  attr.attr_clr = attr_clr;
  // An atime mode replaces the current one: the kernel wants the whole field cleared.
  if (attr_set & MOUNT_ATTR__ATIME) attr.attr_clr |= MOUNT_ATTR__ATIME;
  if (userns_fd >= 0) {
    attr.attr_set |= MOUNT_ATTR_IDMAP;
    attr.userns_fd = static_cast<uint64_t>(userns_fd);
  }
  unsigned flags = AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0);
  if (::syscall(SYS_mount_setattr, mount_fd, "", flags, &attr, sizeof attr) < 0)
    return ErrnoError(userns_fd >= 0 ? "mount_setattr MOUNT_ATTR_IDMAP" : "mount_setattr");
  return {};
}

int AttachMount(int mount_fd, int target_fd) noexcept {
  if (::syscall(SYS_move_mount, mount_fd, "", target_fd, "",
                MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
    return -errno;
  return 0;
}

namespace {

// Owns the helper: killed and reaped by its pidfd whatever happens.
struct NamespaceHolder {
  pid_t pid = -1;
  int pidfd = -1;
  ~NamespaceHolder() {
    if (pid <= 0) return;
    ::syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0);
    siginfo_t info;
    // ECHILD: a reaper of the embedding process (the shim's) took it first.
    while (::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd), &info, WEXITED) < 0 &&
           errno == EINTR) {
    }
    ::close(pidfd);
  }
};

}  // namespace

Result<UniqueFd> MakeUserNamespace(const std::string& uid_map, const std::string& gid_map) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) < 0) return ErrnoError("pipe for the user namespace helper");
  UniqueFd read_end(pipe_fds[0]), write_end(pipe_fds[1]);
  NamespaceHolder holder;
  pid_t pid = Clone3(CLONE_NEWUSER | CLONE_PIDFD, &holder.pidfd);
  if (pid < 0) return ErrnoError("clone a user namespace for an id-mapped mount", -pid);
  if (pid == 0) {
    // The helper only waits: end of file (the runtime is done, or died) ends it.
    ::close(pipe_fds[1]);
    char c;
    while (::read(pipe_fds[0], &c, 1) < 0 && errno == EINTR) {
    }
    ::_exit(0);
  }
  holder.pid = pid;
  read_end.reset();
  std::string proc = "/proc/" + std::to_string(pid);
  // One write each, as the kernel wants; the error names the file, not the (multi-line) map.
  for (const auto& [file, map] : {std::pair{"/uid_map", &uid_map}, std::pair{"/gid_map", &gid_map}}) {
    UniqueFd fd = BERTH_TRY(Open(proc + file, O_WRONLY));
    if (::write(fd.get(), map->data(), map->size()) != static_cast<ssize_t>(map->size()))
      return ErrnoError(std::string("write the mount's ") + (file + 1));
  }
  return BERTH_TRY_CTX(Open(proc + "/ns/user", O_RDONLY), "user namespace of an id-mapped mount");
}

bool IdMappedMountsSupported() {
  auto userns = MakeUserNamespace("0 100000 1\n", "0 100000 1\n");
  if (!userns) return false;
  int fs = static_cast<int>(::syscall(SYS_fsopen, "tmpfs", FSOPEN_CLOEXEC));
  if (fs < 0) return false;
  UniqueFd fs_fd(fs);
  if (::syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) < 0) return false;
  int mnt = static_cast<int>(::syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, 0));
  if (mnt < 0) return false;
  UniqueFd mount_fd(mnt);
  return SetMountAttributes(mnt, false, 0, 0, userns->get()).has_value();
}

}  // namespace berth::linux
