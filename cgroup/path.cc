#include "cgroup/path.h"

#include "cgroup/fs.h"

namespace berth::cgroup {

Result<CgroupsPath> ParseCgroupsPath(const std::string& cgroups_path,
                                     const std::string& container_id) {
  CgroupsPath out;
  std::string raw = cgroups_path.empty() ? "/" + container_id : cgroups_path;
  out.absolute = raw.front() == '/';
  size_t start = 0;
  while (start < raw.size()) {
    size_t slash = raw.find('/', start);
    std::string part =
        raw.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    start = slash == std::string::npos ? raw.size() : slash + 1;
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
