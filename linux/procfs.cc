#include "linux/procfs.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>

#include "linux/async_safe.h"

#ifndef PROC_SUPER_MAGIC
#define PROC_SUPER_MAGIC 0x9fa0
#endif

namespace berth::linux {
namespace {

constexpr ino_t kProcRootInode = 1;  // PROC_ROOT_INO

bool IsProcfs(int fd) noexcept {
  struct statfs fs;
  return ::fstatfs(fd, &fs) == 0 && fs.f_type == PROC_SUPER_MAGIC;
}

}  // namespace

int OpenProcRoot(const char* path) noexcept {
  int fd = ::open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return -errno;
  struct stat st;
  // A bind of a procfs subdirectory (or of a fake tree) is not a procfs root.
  if (!IsProcfs(fd) || ::fstat(fd, &st) < 0 || st.st_ino != kProcRootInode) {
    ::close(fd);
    return -EXDEV;
  }
  return fd;
}

int OpenProcFile(int proc_root, const char* relative, int flags) noexcept {
  open_how how{};
  how.flags = static_cast<unsigned long long>(flags | O_CLOEXEC | O_NOCTTY);
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_XDEV | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  long fd;
  do {
    fd = ::syscall(SYS_openat2, proc_root, relative, &how, sizeof how);
  } while (fd < 0 && (errno == EAGAIN || errno == EINTR));
  if (fd < 0) return -errno;
  if (!IsProcfs(static_cast<int>(fd))) {
    ::close(static_cast<int>(fd));
    return -EXDEV;
  }
  return static_cast<int>(fd);
}

int OpenThreadAttr(int proc_root, const char* attr, int flags) noexcept {
  // "thread-self" is a symlink ("<pid>/task/<tid>"): read it, then walk the
  // real directories with symlinks refused.
  char self[64];
  ssize_t n = ::readlinkat(proc_root, "thread-self", self, sizeof self - 1);
  if (n < 0) return -errno;
  self[n] = '\0';
  PathBuffer path;
  FixedText text = path.text();
  text.Add(self).Add("/attr/").Add(attr);
  if (text.full()) return -ENAMETOOLONG;
  return OpenProcFile(proc_root, path.data, flags);
}

int WriteProcFile(int proc_root, const char* relative, const char* data, size_t size) noexcept {
  int fd = OpenProcFile(proc_root, relative, O_WRONLY);
  if (fd < 0) return fd;
  int r = WriteFully(fd, data, size);
  ::close(fd);
  return r;
}

}  // namespace berth::linux
