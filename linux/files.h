// Small file helpers over raw syscalls, returning Result with the path in the error.
#pragma once

#include <fcntl.h>

#include <string>
#include <string_view>

#include "base/result.h"
#include "linux/unique_fd.h"

namespace berth::linux {

// open(2) with O_CLOEXEC always added.
Result<UniqueFd> Open(const std::string& path, int flags, mode_t mode = 0);
Result<UniqueFd> OpenAt(int dirfd, const std::string& path, int flags, mode_t mode = 0);

Result<std::string> ReadFd(int fd);
Result<std::string> ReadFile(const std::string& path);
Result<std::string> ReadFileAt(int dirfd, const std::string& path);

// Writes all of `data` (retrying on EINTR and short writes).
Result<void> WriteAll(int fd, std::string_view data);
// Opens `path` write-only (no O_CREAT, no O_TRUNC: for /proc and /sys files) and writes `data`.
Result<void> WriteExisting(const std::string& path, std::string_view data);
Result<void> WriteExistingAt(int dirfd, const std::string& path, std::string_view data);
// Writes `data` to `path` atomically: a temporary file in the same directory, fsync-free rename.
Result<void> WriteFileAtomic(const std::string& path, std::string_view data, mode_t mode = 0600);

// mkdir -p; existing directories are fine.
Result<void> MakeDirs(const std::string& path, mode_t mode = 0755);

// Removes a directory tree that holds only regular files, fifos, sockets and symlinks.
Result<void> RemoveTree(const std::string& path);

bool PathExists(const std::string& path);

}  // namespace berth::linux
