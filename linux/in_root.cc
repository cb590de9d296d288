#include "linux/in_root.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "linux/async_safe.h"

namespace berth::linux {
namespace {

int OpenAt2InRoot(int root_fd, const char* path, int flags, unsigned long long resolve) noexcept {
  open_how how{};
  how.flags = static_cast<unsigned long long>(flags | O_PATH | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | resolve;
  for (;;) {
    long fd = ::syscall(SYS_openat2, root_fd, path, &how, sizeof how);
    if (fd >= 0) return static_cast<int>(fd);
    // EAGAIN: a concurrent rename raced the lookup; the kernel asks us to retry.
    if (errno != EAGAIN && errno != EINTR) return -errno;
  }
}

// Makes `name` inside `dir_fd`, tolerating a concurrent creation.
int CreateChild(int dir_fd, const char* name, CreateAs as) noexcept {
  if (as == CreateAs::kDirectory) {
    if (::mkdirat(dir_fd, name, 0755) < 0 && errno != EEXIST) return -errno;
    return 0;
  }
  int fd = ::openat(dir_fd, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) return errno == EEXIST ? 0 : -errno;
  ::close(fd);
  return 0;
}

}  // namespace

int OpenInRoot(int root_fd, const char* path, CreateAs create, int extra_flags,
               unsigned long long extra_resolve) noexcept {
  while (*path == '/') ++path;
  if (*path == '\0') return OpenAt2InRoot(root_fd, ".", extra_flags, extra_resolve);
  int fd = OpenAt2InRoot(root_fd, path, extra_flags, extra_resolve);
  if (fd != -ENOENT || create == CreateAs::kNothing) return fd;

  // Walk the components, creating what is missing. Each prefix is resolved
  // again from the root, so a symlink planted meanwhile is still clamped.
  PathBuffer prefix;
  size_t len = std::strlen(path);
  if (len >= sizeof prefix.data) return -ENAMETOOLONG;
  std::memcpy(prefix.data, path, len + 1);
  int parent = ::dup(root_fd);
  if (parent < 0) return -errno;
  size_t start = 0;
  while (start < len) {
    size_t end = start;
    while (end < len && prefix.data[end] != '/') ++end;
    bool last = end >= len;
    if (end == start) {  // "//"
      start = end + 1;
      continue;
    }
    char saved = prefix.data[end];
    prefix.data[end] = '\0';
    int next = OpenAt2InRoot(root_fd, prefix.data, last ? extra_flags : O_DIRECTORY, extra_resolve);
    if (next == -ENOENT) {
      char name[256];
      size_t n = end - start;
      if (n >= sizeof name) {
        ::close(parent);
        return -ENAMETOOLONG;
      }
      std::memcpy(name, prefix.data + start, n);
      name[n] = '\0';
      int r = CreateChild(parent, name, last ? create : CreateAs::kDirectory);
      if (r < 0) {
        ::close(parent);
        return r;
      }
      next = OpenAt2InRoot(root_fd, prefix.data, last ? extra_flags : O_DIRECTORY, extra_resolve);
    }
    prefix.data[end] = saved;
    ::close(parent);
    if (next < 0) return next;
    parent = next;
    start = end + 1;
  }
  return parent;
}

void FdPath(int fd, char* out, unsigned long size) noexcept {
  FixedText(out, size).Add("/proc/self/fd/").Add(fd);
}

}  // namespace berth::linux
