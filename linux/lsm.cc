#include "linux/lsm.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <selinux/selinux.h>
#include <sys/apparmor.h>
#include <unistd.h>

#include <cstring>

#include "linux/async_safe.h"
#include "linux/files.h"
#include "linux/procfs.h"

namespace berth::linux {
namespace {

// RTLD_NODELETE: never unloaded under another thread of the shim.
void* Load(const char* soname) {
  return ::dlopen(soname, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
}

template <class F>
F Symbol(void* lib, const char* name) {
  return lib ? reinterpret_cast<F>(::dlsym(lib, name)) : nullptr;
}

void* AppArmorLibrary() {
  return Load("libapparmor.so.1");
}
void* SelinuxLibrary() {
  return Load("libselinux.so.1");
}

int WriteAttr(int proc_root, const char* attr, const char* data, size_t size) noexcept {
  int fd = OpenThreadAttr(proc_root, attr, O_WRONLY);
  if (fd < 0) return fd;
  // One write: the kernel parses each write as a whole label.
  ssize_t n = ::write(fd, data, size);
  int r = n < 0 ? -errno : (static_cast<size_t>(n) == size ? 0 : -EIO);
  ::close(fd);
  return r;
}

}  // namespace

// Without the library, the kernel's own switches answer.
bool AppArmorEnabled() {
  auto enabled = Symbol<decltype(&aa_is_enabled)>(AppArmorLibrary(), "aa_is_enabled");
  if (enabled) return enabled() == 1;
  auto v = ReadFile("/sys/module/apparmor/parameters/enabled");
  return v && !v->empty() && (*v)[0] == 'Y';
}

bool SelinuxEnabled() {
  auto enabled = Symbol<decltype(&is_selinux_enabled)>(SelinuxLibrary(), "is_selinux_enabled");
  if (enabled) return enabled() == 1;
  return PathExists("/sys/fs/selinux/enforce");
}

Result<void> CheckAppArmorProfile(const std::string& profile, const std::string& what) {
  if (!AppArmorEnabled())
    return Fail(what + " \"" + profile + "\": AppArmor is not enabled on this host", ENOTSUP);
  if (profile.find_first_of("\n") != std::string::npos)
    return Fail(what + " \"" + profile + "\": not a valid profile name", EINVAL);
  return {};
}

Result<void> CheckSelinuxLabel(const std::string& label, const std::string& what) {
  if (!SelinuxEnabled())
    return Fail(what + " \"" + label + "\": SELinux is not enabled on this host", ENOTSUP);
  auto check =
      Symbol<decltype(&security_check_context)>(SelinuxLibrary(), "security_check_context");
  if (check && check(label.c_str()) < 0)
    return Fail(what + " \"" + label + "\": not a valid SELinux context on this host", EINVAL);
  return {};
}

int SetAppArmorExecProfile(int proc_root, const char* profile) noexcept {
  char buf[4096];
  FixedText text(buf, sizeof buf);
  text.Add("exec ").Add(profile);
  if (text.full()) return -ENAMETOOLONG;
  // Linux 5.8 moved each LSM's attributes to attr/<lsm>/; attr/exec is the old place.
  int r = WriteAttr(proc_root, "apparmor/exec", buf, text.size());
  if (r == -ENOENT) r = WriteAttr(proc_root, "exec", buf, text.size());
  return r;
}

int SetSelinuxExecLabel(int proc_root, const char* label) noexcept {
  return WriteAttr(proc_root, "exec", label, std::strlen(label));
}

}  // namespace berth::linux
