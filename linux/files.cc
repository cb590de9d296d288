#include "linux/files.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <random>

namespace berth::linux {

Result<UniqueFd> Open(const std::string& path, int flags, mode_t mode) {
  return OpenAt(AT_FDCWD, path, flags, mode);
}

Result<UniqueFd> OpenAt(int dirfd, const std::string& path, int flags, mode_t mode) {
  int fd;
  do {
    fd = ::openat(dirfd, path.c_str(), flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return ErrnoError("open " + path);
  return UniqueFd(fd);
}

Result<std::string> ReadFd(int fd) {
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("read");
    }
    if (n == 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

Result<std::string> ReadFileAt(int dirfd, const std::string& path) {
  UniqueFd fd = BERTH_TRY(OpenAt(dirfd, path, O_RDONLY));
  return WithContext(ReadFd(fd.get()), path);
}

Result<std::string> ReadFile(const std::string& path) { return ReadFileAt(AT_FDCWD, path); }

Result<void> WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("write");
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

Result<void> WriteExistingAt(int dirfd, const std::string& path, std::string_view data) {
  UniqueFd fd = BERTH_TRY(OpenAt(dirfd, path, O_WRONLY));
  // /proc and cgroup files take one value per write(2); report the kernel's verdict.
  ssize_t n;
  do {
    n = ::write(fd.get(), data.data(), data.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0) return ErrnoError("write " + std::string(data) + " to " + path);
  return {};
}

Result<void> WriteExisting(const std::string& path, std::string_view data) {
  return WriteExistingAt(AT_FDCWD, path, data);
}

Result<void> WriteFileAtomic(const std::string& path, std::string_view data, mode_t mode) {
  std::string tmp = path + ".tmp" + std::to_string(::getpid());
  {
    UniqueFd fd = BERTH_TRY(Open(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode));
    auto r = WriteAll(fd.get(), data);
    if (!r) {
      ::unlink(tmp.c_str());
      return Fail(std::move(r.error()).Context("write " + tmp));
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) < 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return ErrnoError("rename " + tmp + " to " + path, e);
  }
  return {};
}

Result<void> MakeDirs(const std::string& path, mode_t mode) {
  if (path.empty()) return {};
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return {};
    return ErrnoError("mkdir " + path, ENOTDIR);
  }
  auto slash = path.find_last_of('/');
  if (slash != std::string::npos && slash > 0) BERTH_TRY(MakeDirs(path.substr(0, slash), mode));
  if (::mkdir(path.c_str(), mode) < 0 && errno != EEXIST) return ErrnoError("mkdir " + path);
  return {};
}

Result<void> RemoveTree(const std::string& path) {
  DIR* dir = ::opendir(path.c_str());
  if (!dir) {
    if (errno == ENOENT) return {};
    if (errno == ENOTDIR) {
      if (::unlink(path.c_str()) < 0 && errno != ENOENT) return ErrnoError("unlink " + path);
      return {};
    }
    return ErrnoError("opendir " + path);
  }
  Result<void> result;
  while (struct dirent* e = ::readdir(dir)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    std::string child = path + "/" + name;
    if (e->d_type == DT_DIR) {
      auto r = RemoveTree(child);
      if (!r && result) result = std::move(r);
    } else if (::unlink(child.c_str()) < 0 && errno != ENOENT && result) {
      result = ErrnoError("unlink " + child);
    }
  }
  ::closedir(dir);
  if (::rmdir(path.c_str()) < 0 && errno != ENOENT && result) result = ErrnoError("rmdir " + path);
  return result;
}

bool PathExists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

}  // namespace berth::linux
