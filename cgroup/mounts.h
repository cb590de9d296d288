// What the container layer needs to give a container its own /sys/fs/cgroup on a v1
// or hybrid host without a cgroup namespace (runc's approach): a tmpfs with, for each
// hierarchy, a bind mount of the container's directory in it, plus the symlinks of
// co-mounted controllers. On a v2 host (or with a cgroup namespace) mount cgroup2
// instead.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "cgroup/cgroup.h"

namespace berth::cgroup {

struct ContainerMount {
  std::string name;      // where it goes under /sys/fs/cgroup: "cpu,cpuacct", "systemd", "unified"
  std::string host_dir;  // the container's cgroup directory in that hierarchy (bind source)
  std::string subpath;   // host_dir below the hierarchy's mount point: "/c1"
  std::vector<std::string> controllers;  // {"cpu","cpuacct"}; empty for the v2 hierarchy
  std::vector<std::string> symlinks;     // {"cpu","cpuacct"} -> name, for co-mounted ones
  bool unified = false;
};

// One entry per hierarchy the container is in, from the host's current mounts.
Result<std::vector<ContainerMount>> ContainerMounts(const Paths& paths);

}  // namespace berth::cgroup
