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

namespace {

constexpr int kMaxSymlinks = 40;  // as the kernel's own limit

// Replaces, in `path` (buffer of `size`), the component [start, end) with the
// target of the symlink it names, read from `dir_fd`. Absolute targets restart
// from the root. Returns 0 or -errno.
int SubstituteSymlink(char* path, size_t size, size_t start, size_t end, int dir_fd,
                      const char* name) noexcept {
  char target[4096];
  ssize_t n = ::readlinkat(dir_fd, name, target, sizeof target - 1);
  if (n < 0) return -errno;
  target[n] = '\0';
  char rest[4096];
  size_t rest_len = std::strlen(path + end);
  if (rest_len >= sizeof rest) return -ENAMETOOLONG;
  std::memcpy(rest, path + end, rest_len + 1);
  size_t keep = target[0] == '/' ? 0 : start;  // relative: beside the link
  FixedText out(path + keep, size - keep);
  out.Add(target).Add(rest);
  if (out.full()) return -ENAMETOOLONG;
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
  // again from the root, so a symlink planted meanwhile is still clamped; a
  // dangling symlink is replaced by its target (inside the root) and the walk
  // starts over.
  PathBuffer prefix;
  size_t len = std::strlen(path);
  if (len >= sizeof prefix.data) return -ENAMETOOLONG;
  std::memcpy(prefix.data, path, len + 1);
  for (int restarts = 0; restarts <= kMaxSymlinks; ++restarts) {
    int parent = ::fcntl(root_fd, F_DUPFD_CLOEXEC, 0);
    if (parent < 0) return -errno;
    len = std::strlen(prefix.data);
    size_t start = 0;
    bool restart = false;
    while (start < len && !restart) {
      size_t end = start;
      while (end < len && prefix.data[end] != '/') ++end;
      bool last = end >= len;
      if (end == start) {  // "//"
        start = end + 1;
        continue;
      }
      char saved = prefix.data[end];
      prefix.data[end] = '\0';
      int next = OpenAt2InRoot(root_fd, prefix.data, last ? extra_flags : O_DIRECTORY,
                               extra_resolve);
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
        next = OpenAt2InRoot(root_fd, prefix.data, last ? extra_flags : O_DIRECTORY,
                               extra_resolve);
        if (next == -ENOENT) {  // the name exists but leads nowhere: a dangling symlink
          if (extra_resolve & RESOLVE_NO_SYMLINKS) {
            ::close(parent);
            return -ELOOP;
          }
          prefix.data[end] = saved;
          r = SubstituteSymlink(prefix.data, sizeof prefix.data, start, end, parent, name);
          ::close(parent);
          if (r < 0) return r;
          restart = true;
          break;
        }
      }
      prefix.data[end] = saved;
      ::close(parent);
      if (next < 0) return next;
      parent = next;
      start = end + 1;
    }
    if (!restart) return parent;
  }
  return -ELOOP;
}

void FdPath(int fd, char* out, unsigned long size) noexcept {
  FixedText(out, size).Add("/proc/self/fd/").Add(fd);
}

}  // namespace berth::linux
