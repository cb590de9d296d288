#include "linux/namespaces.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include "linux/files.h"

namespace berth::linux {
namespace {

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

constexpr NamespaceKind kKinds[] = {
    {"user", "user", CLONE_NEWUSER},   {"pid", "pid", CLONE_NEWPID},
    {"network", "net", CLONE_NEWNET},  {"ipc", "ipc", CLONE_NEWIPC},
    {"uts", "uts", CLONE_NEWUTS},      {"mount", "mnt", CLONE_NEWNS},
    {"cgroup", "cgroup", CLONE_NEWCGROUP}, {"time", "time", CLONE_NEWTIME},
};

}  // namespace

const NamespaceKind* NamespaceKinds(size_t* count) {
  *count = sizeof kKinds / sizeof kKinds[0];
  return kKinds;
}

std::optional<NamespaceKind> FindNamespaceKind(std::string_view spec_name) {
  for (const auto& k : kKinds)
    if (k.spec_name == spec_name) return k;
  return std::nullopt;
}

Result<void> JoinNamespace(const std::string& path, int clone_flag) {
  UniqueFd fd = BERTH_TRY(Open(path, O_RDONLY));
  if (::setns(fd.get(), clone_flag) < 0) return ErrnoError("setns " + path);
  return {};
}

}  // namespace berth::linux
