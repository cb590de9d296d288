// linux.cgroupsPath as runc reads it: an absolute path is taken from each hierarchy's
// mount point; a relative one from the caller's own cgroup in that hierarchy (per
// /proc/self/cgroup); an empty one means "/<container id>".
#pragma once

#include <map>
#include <string>

#include "base/result.h"
#include "cgroup/cgroup.h"
#include "cgroup/hierarchy.h"

namespace berth::cgroup {

struct CgroupsPath {
  bool absolute = true;
  std::string path;  // cleaned: no "." or empty components, no leading or trailing '/'
};

// Checks and cleans cgroupsPath. A ".." component is an error, and so is a path that
// names the root (or, relative, the caller's own) cgroup: the container would own it.
Result<CgroupsPath> ParseCgroupsPath(const std::string& cgroups_path,
                                     const std::string& container_id);

// The container's directory in hierarchy `h`. `own` is the caller's cgroup there
// (a /proc/self/cgroup path); it only matters for a relative path.
std::string HierarchyDir(const Hierarchy& h, const CgroupsPath& p, const std::string& own);

// The caller's cgroup in `h` from a parsed /proc/self/cgroup ("/" when not listed).
std::string OwnPath(const Hierarchy& h, const std::map<std::string, std::string>& proc_cgroup);

// `exec --cgroup` (runc's sub-cgroup paths): `sub` maps a v1 controller, or "" for
// every hierarchy, to a cgroup below the container's. The container's `paths` with
// those joined on. A path that leads out of the container's cgroup ("..") and a
// controller the container has no directory for are errors (EINVAL).
Result<Paths> SubCgroupPaths(const Paths& paths, const std::map<std::string, std::string>& sub);

}  // namespace berth::cgroup
