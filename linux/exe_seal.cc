#include "linux/exe_seal.h"

#include <fcntl.h>
#include <linux/memfd.h>
#include <linux/mount.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cstdlib>

#include "linux/files.h"
#include "linux/unique_fd.h"

extern char** environ;

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif
#ifndef OVERLAYFS_SUPER_MAGIC
#define OVERLAYFS_SUPER_MAGIC 0x794c7630
#endif

namespace berth::linux {
namespace {

// Set across the re-exec, so that a copy that still looks unsealed stops with an
// error instead of re-executing forever.
constexpr const char* kReexecMarker = "_BERTH_SEALED_EXE";

// overlayfs splits lowerdir on ':' and treats '\' as an escape.
std::string EscapeLowerDir(const std::string& path) {
  std::string out;
  for (char c : path) {
    if (c == ':' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

Result<void> FsConfigString(int ctx, const char* key, const std::string& value) {
  if (::syscall(SYS_fsconfig, ctx, FSCONFIG_SET_STRING, key, value.c_str(), 0) < 0)
    return ErrnoError(std::string("fsconfig overlay ") + key + "=" + value);
  return {};
}

Result<std::string> ReadLink(const char* path) {
  char buf[4096];
  ssize_t n = ::readlink(path, buf, sizeof buf - 1);
  if (n < 0) return ErrnoError(std::string("readlink ") + path);
  return std::string(buf, static_cast<size_t>(n));
}

// A read-only overlayfs over the binary's directory, mounted nowhere: it has no
// upper layer, so nothing can make the file writable again (unlike a read-only
// bind mount, which CAP_SYS_ADMIN could remount).
Result<UniqueFd> SealedOverlay(const std::string& scratch_dir) {
  std::string exe = BERTH_TRY(ReadLink("/proc/self/exe"));
  if (exe.ends_with(" (deleted)")) return Fail("the running binary was deleted", ENOENT);
  size_t slash = exe.rfind('/');
  std::string dir = slash == 0 ? "/" : exe.substr(0, slash);
  std::string name = exe.substr(slash + 1);
  UniqueFd ctx(static_cast<int>(::syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC)));
  if (!ctx) return ErrnoError("fsopen overlay");
  // Two lower layers make a lower-only (read-only) overlay; ours first so that a
  // file of the same name in the scratch directory cannot hide the binary.
  BERTH_TRY(FsConfigString(ctx.get(), "lowerdir",
                           EscapeLowerDir(dir) + ":" + EscapeLowerDir(scratch_dir)));
  (void)FsConfigString(ctx.get(), "xino", "off");  // only quiets dmesg where supported
  if (::syscall(SYS_fsconfig, ctx.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) < 0)
    return ErrnoError("create the overlay over " + dir);
  UniqueFd mnt(
      static_cast<int>(::syscall(SYS_fsmount, ctx.get(), FSMOUNT_CLOEXEC,
                                 MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID)));
  if (!mnt) return ErrnoError("fsmount the overlay over " + dir);
  return OpenAt(mnt.get(), name, O_PATH | O_NOFOLLOW);
}

// A copy in a memfd with every seal that prevents writing (rootless, no overlayfs).
Result<UniqueFd> SealedMemfd() {
  UniqueFd src = BERTH_TRY(Open("/proc/self/exe", O_RDONLY));
  unsigned flags = MFD_CLOEXEC | MFD_ALLOW_SEALING;
  int fd = ::memfd_create("berth-sealed", flags | MFD_EXEC);  // vm.memfd_noexec
  if (fd < 0 && errno == EINVAL) fd = ::memfd_create("berth-sealed", flags);
  if (fd < 0) return ErrnoError("memfd_create");
  UniqueFd copy(fd);
  struct stat st;
  if (::fstat(src.get(), &st) < 0) return ErrnoError("stat /proc/self/exe");
  off_t offset = 0;
  while (offset < st.st_size) {
    ssize_t n =
        ::sendfile(copy.get(), src.get(), &offset, static_cast<size_t>(st.st_size - offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return ErrnoError("copy the running binary to a memfd", n < 0 ? errno : EIO);
  }
  if (::fcntl(copy.get(), F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) <
      0)
    return ErrnoError("seal the memfd copy");
  return copy;
}

}  // namespace

bool ExecutableIsSealed() {
  auto fd = Open("/proc/self/exe", O_RDONLY);
  if (!fd) return false;
  int seals = ::fcntl(fd->get(), F_GET_SEALS);
  if (seals >= 0 && (seals & F_SEAL_WRITE)) return true;
  struct statfs fs;
  struct statvfs vfs;
  return ::fstatfs(fd->get(), &fs) == 0 && fs.f_type == OVERLAYFS_SUPER_MAGIC &&
         ::fstatvfs(fd->get(), &vfs) == 0 && (vfs.f_flag & ST_RDONLY);
}

Result<void> ReexecSealed(char** argv, const std::string& scratch_dir) {
  // The marker is only a guard against re-executing forever, never proof of a seal:
  // a copy of ours that still looks unsealed is refused, and so is a marker that
  // someone else put in the environment.
  bool reexecuted = ::getenv(kReexecMarker) != nullptr;
  ::unsetenv(kReexecMarker);
  if (ExecutableIsSealed()) return {};
  if (reexecuted)
    return Fail("the re-executed berth binary is not sealed (is " + std::string(kReexecMarker) +
                " set in the environment?) (CVE-2019-5736)", EPERM);
  Result<UniqueFd> sealed = Fail("no scratch directory");
  std::string parent = scratch_dir.substr(0, scratch_dir.rfind('/'));
  // The parent is berth's state root: 0711 as StateDir makes it.
  bool have_scratch = (parent.empty() || MakeDirs(parent, 0711)) &&
                      (::mkdir(scratch_dir.c_str(), 0700) == 0 || errno == EEXIST);
  if (have_scratch) sealed = SealedOverlay(scratch_dir);
  if (!sealed) sealed = SealedMemfd();
  if (!sealed)
    return Fail(std::move(sealed.error()).Context("seal the berth binary (CVE-2019-5736)"));
  ::setenv(kReexecMarker, "1", 1);
  ::syscall(SYS_execveat, sealed->get(), "", argv, environ, AT_EMPTY_PATH);
  int err = errno;
  ::unsetenv(kReexecMarker);
  return ErrnoError("re-execute berth from its sealed copy (CVE-2019-5736)", err);
}

}  // namespace berth::linux
