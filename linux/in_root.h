// Path resolution confined to a root directory: openat2(2) with RESOLVE_IN_ROOT,
// so a symlink in a mount target can never lead outside the container's rootfs
// (CVE-2021-30465 and friends). Everything here is async-signal-safe.
#pragma once

namespace berth::linux {

enum class CreateAs { kNothing, kDirectory, kFile };

// Opens `path` (interpreted relative to `root_fd`, symlinks clamped to it) with
// O_PATH | `extra_flags`. Missing parent directories are created (mode 0755) and,
// per `create`, the final component too. `extra_resolve` adds RESOLVE_* flags
// (RESOLVE_NO_SYMLINKS for procfs targets). Returns an fd or -errno.
int OpenInRoot(int root_fd, const char* path, CreateAs create, int extra_flags = 0,
               unsigned long long extra_resolve = 0) noexcept;

// Writes "/proc/self/fd/<fd>" into `out` (at least 32 bytes): a mount target that
// names exactly the inode behind `fd`.
void FdPath(int fd, char* out, unsigned long size) noexcept;

}  // namespace berth::linux
