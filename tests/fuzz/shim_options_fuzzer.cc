// libFuzzer target: the options containerd hands the shim, as protobuf bytes:
//  - `start`'s stdin: containerd 2.3's BootstrapParams or a bare google.protobuf.Any
//    (shim::ParseStartInput, as shim/start.cc does);
//  - CreateTaskRequest.options (containerd.runc.v1.Options, or
//    containerd.linux.runc.CreateOptions) applied as TaskCore::Create does;
// then options.json, which `create` writes into the bundle and `delete` reads back
// (shim::OptionsToJson, OptionsFromJson).
//
// Besides "no crash, no UB" (and no exception: the shim has no handler for one):
// options that apply are saved to options.json and read back the same.
#include <cstddef>
#include <cstdint>
#include <string>

#include "github.com/containerd/containerd/runtime/v2/task/shim.pb.h"
#include "shim/bootstrap.h"
#include "shim/options.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using berth::fuzz::Check;
using berth::shim::ShimOptions;

void CheckSavedOptions(const ShimOptions& o) {
  auto back = berth::shim::OptionsFromJson(berth::shim::OptionsToJson(o));
  Check(back.has_value());
  Check(back->root == o.root && back->systemd_cgroup == o.systemd_cgroup &&
        back->no_pivot_root == o.no_pivot_root && back->no_new_keyring == o.no_new_keyring &&
        back->io_uid == o.io_uid && back->io_gid == o.io_gid && back->shim_cgroup == o.shim_cgroup &&
        back->criu_path == o.criu_path && back->criu_image_path == o.criu_image_path &&
        back->criu_work_path == o.criu_work_path);
}

void StartStdin(const std::string& input) {
  berth::shim::Flags flags;
  flags.id = "fuzz";
  flags.ns = "default";
  auto in = berth::shim::ParseStartInput(input, flags, nullptr, nullptr);
  if (in) CheckSavedOptions(in->options);
}

void CreateRequest(const std::string& input) {
  containerd::task::v2::CreateTaskRequest request;
  if (!request.ParseFromString(input)) return;
  ShimOptions options;
  if (berth::shim::ApplyOptions(request.options(), options)) CheckSavedOptions(options);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  StartStdin(input);
  CreateRequest(input);
  (void)berth::shim::OptionsFromJson(input);
  return 0;
}
