#include "cgroup/mounts.h"

#include "cgroup/hierarchy.h"

namespace berth::cgroup {

Result<std::vector<ContainerMount>> ContainerMounts(const Paths& paths) {
  Layout layout = BERTH_TRY(ReadLayout(paths.root));
  std::vector<ContainerMount> out;
  auto base = [](const std::string& p) { return p.substr(p.find_last_of('/') + 1); };
  auto below = [](const std::string& dir, const std::string& mountpoint) {
    return dir.size() > mountpoint.size() ? dir.substr(mountpoint.size()) : std::string("/");
  };
  if (paths.mode != Mode::kUnified) {
    for (const auto& h : layout.v1) {
      auto it = paths.v1.find(h.controllers.front());
      if (it == paths.v1.end()) continue;
      ContainerMount m;
      m.name = base(h.mountpoint);
      m.host_dir = it->second;
      m.subpath = below(it->second, h.mountpoint);
      m.controllers = h.controllers;
      if (h.controllers.size() > 1)
        for (const auto& c : h.controllers)
          if (c != m.name) m.symlinks.push_back(c);
      out.push_back(std::move(m));
    }
  }
  if (paths.mode != Mode::kLegacy && !paths.unified.empty() && layout.v2) {
    ContainerMount m;
    m.name = paths.mode == Mode::kHybrid ? "unified" : "";
    m.host_dir = paths.unified;
    m.subpath = below(paths.unified, layout.v2->mountpoint);
    m.unified = true;
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace berth::cgroup
