// The host's cgroup filesystems: which hierarchies are mounted where (from
// /proc/self/mountinfo), which cgroup a process is in (from /proc/<pid>/cgroup),
// and the resulting mode (DetectMode, declared in cgroup.h).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "cgroup/cgroup.h"

namespace berth::cgroup {

// One mounted cgroup hierarchy.
struct Hierarchy {
  std::string mountpoint;  // "/sys/fs/cgroup/cpu,cpuacct"
  std::string root;        // the mount's root inside the hierarchy: "/" on the host
  // v1: {"cpu", "cpuacct"} or {"name=systemd"}; empty for the v2 hierarchy.
  std::vector<std::string> controllers;
  bool unified = false;
};

// Parses /proc/self/mountinfo text: every "cgroup" and "cgroup2" mount. When a hierarchy
// is mounted twice, the first mount wins.
std::vector<Hierarchy> ParseMountinfo(std::string_view text);
Result<std::vector<Hierarchy>> ReadHierarchies();

// The hierarchies below `root` ("/sys/fs/cgroup"), as a Create at that root uses them.
// v1 hierarchies are those mounted directly in `root`; the v2 one is `root` itself
// (unified mode) or `root`/unified (hybrid).
struct Layout {
  Mode mode = Mode::kUnified;
  std::vector<Hierarchy> v1;
  std::optional<Hierarchy> v2;
  // v1 hierarchies are mounted beside the v2 one (a hybrid host, even when `root` names
  // its v2 hierarchy): a controller switched on in v2 can no longer be mounted as v1,
  // so v2 controllers are enabled only when needed.
  bool v2_shared = false;
};
Result<Layout> ReadLayout(const std::string& root);

// /proc/<pid>/cgroup: controller -> path ("cpu" -> "/a/b", "name=systemd" -> "/"); the
// v2 entry ("0::/x") is under the key "".
std::map<std::string, std::string> ParseProcCgroup(std::string_view text);
Result<std::map<std::string, std::string>> ReadProcCgroup(pid_t pid = 0);  // 0 = self

// The controller names a v1 mount option list names ("rw,nosuid,cpu,cpuacct" ->
// {"cpu","cpuacct"}); "name=X" is kept as is.
std::vector<std::string> ControllersFromOptions(std::string_view super_options);

// "cpu,cpuacct": the name a v1 hierarchy is known by (and mounted as in a container).
std::string HierarchyName(const Hierarchy& h);

}  // namespace berth::cgroup
