#include "cgroup/path.h"

#include <vector>

#include "cgroup/fs.h"

namespace berth::cgroup {
namespace {

// The path component of `path` that starts at `start`; moves `start` past it and its '/'.
std::string NextComponent(const std::string& path, size_t& start) {
  size_t slash = path.find('/', start);
  std::string part =
      path.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
  start = slash == std::string::npos ? path.size() : slash + 1;
  return part;
}

}  // namespace

Result<CgroupsPath> ParseCgroupsPath(const std::string& cgroups_path,
                                     const std::string& container_id) {
  CgroupsPath out;
  std::string raw = cgroups_path.empty() ? "/" + container_id : cgroups_path;
  out.absolute = raw.front() == '/';
  size_t start = 0;
  while (start < raw.size()) {
    std::string part = NextComponent(raw, start);
    if (part.empty() || part == ".") continue;
    if (part == "..") return Fail("cgroupsPath \"" + raw + "\": \"..\" is not allowed", EINVAL);
    if (!out.path.empty()) out.path += '/';
    out.path += part;
  }
  if (out.path.empty())
    return Fail("cgroupsPath \"" + raw + "\": names " +
                    (out.absolute ? "the root cgroup" : "the runtime's own cgroup"),
                EINVAL);
  return out;
}

namespace {

// path.Join(base, sub) lexically, refused when it is not `base` or below it.
Result<std::string> JoinBelow(const std::string& base, const std::string& sub) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start < sub.size()) {
    std::string part = NextComponent(sub, start);
    if (part.empty() || part == ".") continue;
    if (part != "..") {
      parts.push_back(part);
    } else if (parts.empty()) {
      return Fail("sub-cgroup \"" + sub + "\" leads out of the container's cgroup", EINVAL);
    } else {
      parts.pop_back();
    }
  }
  std::string out = base;
  for (const auto& part : parts) out += "/" + part;
  return out;
}

}  // namespace

Result<Paths> SubCgroupPaths(const Paths& paths, const std::map<std::string, std::string>& sub) {
  Paths out = paths;
  if (auto all = sub.find(""); all != sub.end()) {
    for (auto& [controller, dir] : out.v1) dir = BERTH_TRY(JoinBelow(dir, all->second));
    if (!out.unified.empty()) out.unified = BERTH_TRY(JoinBelow(out.unified, all->second));
  }
  for (const auto& [controller, path] : sub) {
    if (controller.empty()) continue;
    auto it = paths.v1.find(controller);
    if (it == paths.v1.end() || paths.mode == Mode::kUnified)
      return Fail("sub-cgroup for controller \"" + controller +
                      "\": the container has no cgroup of that controller",
                  EINVAL);
    std::string dir = BERTH_TRY(JoinBelow(it->second, path));
    // Co-mounted controllers ("cpu,cpuacct") share the directory: move them together.
    for (auto& [other, other_dir] : out.v1)
      if (paths.v1.at(other) == it->second) other_dir = dir;
  }
  return out;
}

std::string OwnPath(const Hierarchy& h, const std::map<std::string, std::string>& proc_cgroup) {
  if (h.unified) {
    auto it = proc_cgroup.find("");
    return it == proc_cgroup.end() ? "/" : it->second;
  }
  for (const auto& c : h.controllers) {
    auto it = proc_cgroup.find(c);
    if (it != proc_cgroup.end()) return it->second;
  }
  return "/";
}

std::string HierarchyDir(const Hierarchy& h, const CgroupsPath& p, const std::string& own) {
  if (p.absolute) return fs::Join(h.mountpoint, p.path);
  // /proc/self/cgroup paths are relative to the hierarchy's root; the mount may show
  // only a subtree of it (h.root), as inside a container.
  std::string rel = own;
  if (h.root != "/" && (rel == h.root || rel.starts_with(h.root + "/")))
    rel = rel.substr(h.root.size());
  return fs::Join(fs::Join(h.mountpoint, rel), p.path);
}

}  // namespace berth::cgroup
