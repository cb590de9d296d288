#include "linux/capabilities.h"

#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <charconv>

#include "linux/files.h"

namespace berth::linux {
namespace {

// Index = capability number (include/uapi/linux/capability.h).
constexpr std::string_view kNames[] = {
    "CAP_CHOWN",          "CAP_DAC_OVERRIDE",   "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
    "CAP_FSETID",         "CAP_KILL",           "CAP_SETGID",          "CAP_SETUID",
    "CAP_SETPCAP",        "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",      "CAP_NET_RAW",        "CAP_IPC_LOCK",        "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",     "CAP_SYS_RAWIO",      "CAP_SYS_CHROOT",      "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",      "CAP_SYS_ADMIN",      "CAP_SYS_BOOT",        "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",   "CAP_SYS_TIME",       "CAP_SYS_TTY_CONFIG",  "CAP_MKNOD",
    "CAP_LEASE",          "CAP_AUDIT_WRITE",    "CAP_AUDIT_CONTROL",   "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",   "CAP_MAC_ADMIN",      "CAP_SYSLOG",          "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",  "CAP_AUDIT_READ",     "CAP_PERFMON",         "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};
constexpr int kKnown = sizeof kNames / sizeof kNames[0];

}  // namespace

int CapabilityNumber(std::string_view name) {
  for (int i = 0; i < kKnown; ++i)
    if (kNames[i] == name) return i;
  return -1;
}

std::string_view CapabilityName(int number) {
  return number >= 0 && number < kKnown ? kNames[number] : std::string_view();
}

int LastCapability() {
  auto text = ReadFile("/proc/sys/kernel/cap_last_cap");
  int value = kKnown - 1;
  if (text) std::from_chars(text->data(), text->data() + text->size(), value);
  return value;
}

std::vector<std::string> KnownCapabilityNames() {
  return std::vector<std::string>(std::begin(kNames), std::end(kNames));
}

Result<uint64_t> CapabilityMask(const std::vector<std::string>& names, std::string_view what,
                                int last_cap, std::vector<std::string>* skipped) {
  uint64_t mask = 0;
  for (const auto& name : names) {
    int n = CapabilityNumber(name);
    if (n < 0) return Fail(std::string(what) + ": unknown capability \"" + name + "\"");
    if (n > last_cap) {
      if (skipped) skipped->push_back(name);
      continue;
    }
    mask |= uint64_t{1} << n;
  }
  return mask;
}

int DropBoundingSet(uint64_t keep, int last_cap) noexcept {
  for (int cap = 0; cap <= last_cap && cap < 64; ++cap) {
    if (keep & (uint64_t{1} << cap)) continue;
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL) return -errno;
  }
  return 0;
}

int ApplyCapabilitySets(const CapabilitySets& sets, int last_cap) noexcept {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  data[0].effective = static_cast<uint32_t>(sets.effective);
  data[1].effective = static_cast<uint32_t>(sets.effective >> 32);
  data[0].permitted = static_cast<uint32_t>(sets.permitted);
  data[1].permitted = static_cast<uint32_t>(sets.permitted >> 32);
  data[0].inheritable = static_cast<uint32_t>(sets.inheritable);
  data[1].inheritable = static_cast<uint32_t>(sets.inheritable >> 32);
  if (::syscall(SYS_capset, &header, data) < 0) return -errno;
  // Clear first: an ambient capability survives only while also permitted and inheritable.
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0) return -errno;
  for (int cap = 0; cap <= last_cap && cap < 64; ++cap) {
    if (!(sets.ambient & (uint64_t{1} << cap))) continue;
    // runc ignores ambient capabilities the kernel refuses (not in permitted/inheritable).
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0 && errno != EPERM)
      return -errno;
  }
  return 0;
}

int KeepCapabilitiesAcrossSetuid(bool keep) noexcept {
  return ::prctl(PR_SET_KEEPCAPS, keep ? 1 : 0, 0, 0, 0) < 0 ? -errno : 0;
}

}  // namespace berth::linux
