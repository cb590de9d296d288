#include "oci/state.h"

#include <nlohmann/json.hpp>

namespace berth::oci {
namespace {

using OJson = nlohmann::ordered_json;

OJson BaseState(const State& s) {
  OJson j = OJson::object();
  j["ociVersion"] = s.oci_version;
  j["id"] = s.id;
  j["pid"] = s.pid;
  j["status"] = std::string(StatusName(s.status));
  j["bundle"] = s.bundle;
  return j;
}

}  // namespace

std::string_view StatusName(Status s) {
  switch (s) {
    case Status::kCreating: return "creating";
    case Status::kCreated: return "created";
    case Status::kRunning: return "running";
    case Status::kPaused: return "paused";
    case Status::kStopped: return "stopped";
  }
  return "unknown";
}

Result<Status> ParseStatus(std::string_view name) {
  for (Status s : {Status::kCreating, Status::kCreated, Status::kRunning, Status::kPaused,
                   Status::kStopped})
    if (StatusName(s) == name) return s;
  return Fail("unknown container status \"" + std::string(name) + "\"");
}

std::string HookStateJson(const State& s) {
  OJson j = BaseState(s);
  if (s.pid == 0) j.erase("pid");
  if (!s.annotations.empty()) j["annotations"] = s.annotations;
  return j.dump();
}

std::string StateCommandJson(const State& s) {
  OJson j = BaseState(s);
  j["rootfs"] = s.rootfs;
  j["created"] = s.created;
  j["owner"] = s.owner;
  if (!s.annotations.empty()) j["annotations"] = s.annotations;
  return j.dump(2);
}

}  // namespace berth::oci
