// The OCI state of a container (runtime-spec runtime.md), as `state` prints it
// and as hooks receive it on stdin.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace berth::oci {

enum class Status { kCreating, kCreated, kRunning, kPaused, kStopped };

std::string_view StatusName(Status s);
Result<Status> ParseStatus(std::string_view name);

struct State {
  std::string oci_version;
  std::string id;
  Status status = Status::kCreating;
  int pid = 0;  // 0 when stopped
  std::string bundle;
  std::map<std::string, std::string> annotations;
  // runc's extra fields, printed by `state` but not given to hooks.
  std::string rootfs;
  std::string created;  // RFC 3339 with nanoseconds, UTC
  std::string owner;
};

// The hook payload: ociVersion, id, status, pid (omitted when 0), bundle, annotations.
std::string HookStateJson(const State& s);
// `berth state`: runc's layout, pretty printed.
std::string StateCommandJson(const State& s);

}  // namespace berth::oci
