// The options containerd hands a shim: the runtime options on `start`'s stdin and
// CreateTaskRequest.options. containerd's client sends `containerd.runc.v1.Options`
// to runtimes named io.containerd.runc.*, and `containerd.linux.runc.CreateOptions`
// to every other runtime (ours) when a task option is used; both are understood
// here, as is an empty Any.
#pragma once

#include <cstdint>
#include <string>

#include <google/protobuf/any.pb.h>

#include "base/result.h"

namespace berth::shim {

// Where berth keeps container state under containerd unless Options.root says.
inline constexpr const char* kDefaultStateRoot = "/run/containerd/berth";

struct ShimOptions {
  std::string root;  // state root; per namespace below it, as runc's shim does
  bool systemd_cgroup = false;
  bool no_pivot_root = false;
  bool no_new_keyring = false;
  uint32_t io_uid = 0, io_gid = 0;
  std::string shim_cgroup;
  std::string criu_path, criu_image_path, criu_work_path;  // kept for checkpoint

  // <root or the default>/<namespace>
  std::string StateRoot(const std::string& ns) const;
};

// Applies the fields of `any` (any of the accepted types) over `options`. An unknown
// type fails as runc's shim fails it: "type with url X: not found".
Result<void> ApplyOptions(const google::protobuf::Any& any, ShimOptions& options);
// The same from a serialized Any (`start`'s stdin); empty input is no options.
Result<void> ApplyOptionsBytes(const std::string& bytes, ShimOptions& options);

// options.json in the bundle: how the `delete` action finds the state root after the
// shim died.
std::string OptionsToJson(const ShimOptions& options);
Result<ShimOptions> OptionsFromJson(const std::string& json);

}  // namespace berth::shim
