// Writes to procfs that cannot be redirected. Every file berth writes inside a
// container (sysctls, the AppArmor and SELinux exec labels) is opened relative to
// a verified procfs root with openat2(RESOLVE_BENEATH | RESOLVE_NO_XDEV |
// RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS): a fake /proc (CVE-2019-16884,
// CVE-2023-27561), a symlink, or a bind mount of another procfs file over the
// target (CVE-2025-52881) makes the open fail instead of sending the write
// elsewhere. Everything here is async-signal-safe and returns -errno on failure.
#pragma once

#include <cstddef>

namespace berth::linux {

// Opens `path` (normally "/proc") as O_PATH and checks that it is the root
// directory of a procfs instance (f_type PROC_SUPER_MAGIC, inode 1). Returns the
// fd, -EXDEV when it is not procfs or not its root.
int OpenProcRoot(const char* path = "/proc") noexcept;

// Opens `relative` ("sys/net/ipv4/ip_forward") beneath `proc_root` with `flags`;
// no component may be a symlink or a mount point. -EXDEV names an overmount,
// -ELOOP a symlink.
int OpenProcFile(int proc_root, const char* relative, int flags) noexcept;

// Opens "<pid>/task/<tid>/attr/<attr>" of the calling thread ("exec",
// "apparmor/exec"), the pid and tid as the procfs instance sees them.
int OpenThreadAttr(int proc_root, const char* attr, int flags) noexcept;

// Opens with OpenProcFile and writes all of `data`.
int WriteProcFile(int proc_root, const char* relative, const char* data, size_t size) noexcept;

}  // namespace berth::linux
