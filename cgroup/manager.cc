// Manager::Create / Load: picks the driver; Paths <-> state.json.
#include <nlohmann/json.hpp>

#include "cgroup/cgroup.h"
#include "cgroup/fs_manager.h"
#include "cgroup/systemd.h"

namespace berth::cgroup {

Result<std::unique_ptr<Manager>> Manager::Create(const Request& request) {
  if (request.systemd) return CreateSystemdManager(request);
  auto m = BERTH_TRY(FsManager::Create(request));
  return std::unique_ptr<Manager>(std::move(m));
}

Result<std::unique_ptr<Manager>> Manager::Load(const Paths& paths) {
  if (!paths.systemd_unit.empty()) return LoadSystemdManager(paths);
  if (paths.v1.empty() && paths.unified.empty())
    return Fail("cgroup paths: the container has no cgroup directory", EINVAL);
  return std::unique_ptr<Manager>(std::make_unique<FsManager>(paths));
}

namespace {

const char* ModeName(Mode m) {
  switch (m) {
    case Mode::kLegacy:
      return "legacy";
    case Mode::kHybrid:
      return "hybrid";
    case Mode::kUnified:
      return "unified";
  }
  return "unified";
}

}  // namespace

std::string PathsToJson(const Paths& p) {
  nlohmann::ordered_json j;
  j["mode"] = ModeName(p.mode);
  j["root"] = p.root;
  j["v1"] = p.v1;
  j["unified"] = p.unified;
  j["created"] = p.created;
  if (!p.systemd_unit.empty()) j["systemdUnit"] = p.systemd_unit;
  if (!p.subtree_enabled.empty()) {
    auto list = nlohmann::ordered_json::array();
    for (const auto& [dir, controller] : p.subtree_enabled)
      list.push_back({{"dir", dir}, {"controller", controller}});
    j["subtreeEnabled"] = std::move(list);
  }
  return j.dump();
}

Result<Paths> PathsFromJson(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Fail("cgroup paths: not a JSON object", EINVAL);
  Paths p;
  auto str = [&](const char* key, std::string& out) -> Result<void> {
    if (!j.contains(key)) return {};
    if (!j[key].is_string())
      return Fail(std::string("cgroup paths: ") + key + ": not a string", EINVAL);
    out = j[key].get<std::string>();
    return {};
  };
  std::string mode = "unified";
  BERTH_TRY(str("mode", mode));
  if (mode == "legacy")
    p.mode = Mode::kLegacy;
  else if (mode == "hybrid")
    p.mode = Mode::kHybrid;
  else if (mode == "unified")
    p.mode = Mode::kUnified;
  else
    return Fail("cgroup paths: mode: unknown \"" + mode + "\"", EINVAL);
  BERTH_TRY(str("root", p.root));
  BERTH_TRY(str("unified", p.unified));
  BERTH_TRY(str("systemdUnit", p.systemd_unit));
  if (j.contains("v1")) {
    if (!j["v1"].is_object()) return Fail("cgroup paths: v1: not an object", EINVAL);
    for (const auto& [k, v] : j["v1"].items()) {
      if (!v.is_string()) return Fail("cgroup paths: v1." + k + ": not a string", EINVAL);
      p.v1[k] = v.get<std::string>();
    }
  }
  if (j.contains("created")) {
    if (!j["created"].is_array()) return Fail("cgroup paths: created: not an array", EINVAL);
    for (const auto& v : j["created"]) {
      if (!v.is_string()) return Fail("cgroup paths: created: not a string", EINVAL);
      p.created.push_back(v.get<std::string>());
    }
  }
  if (j.contains("subtreeEnabled")) {
    if (!j["subtreeEnabled"].is_array())
      return Fail("cgroup paths: subtreeEnabled: not an array", EINVAL);
    for (const auto& v : j["subtreeEnabled"]) {
      if (!v.is_object() || !v.contains("dir") || !v["dir"].is_string() ||
          !v.contains("controller") || !v["controller"].is_string())
        return Fail("cgroup paths: subtreeEnabled: bad entry", EINVAL);
      p.subtree_enabled.emplace_back(v["dir"].get<std::string>(),
                                     v["controller"].get<std::string>());
    }
  }
  return p;
}

}  // namespace berth::cgroup
