#include "shim/bootstrap.h"

#include <nlohmann/json.hpp>

#include "container/features.h"
#include "github.com/containerd/containerd/api/runtime/bootstrap/v1/bootstrap.pb.h"
#include "github.com/containerd/containerd/api/types/introspection.pb.h"
#include "shim/options.h"

namespace berth::shim {
namespace {

namespace boot = containerd::runtime::bootstrap::v1;

// The shim API version: Task v3, streaming and sandbox grouping (containerd 2.x's
// CurrentShimVersion).
constexpr int kShimVersion = 3;
constexpr const char* kFeaturesTypeUrl =
    "types.containerd.io/opencontainers/runtime-spec/1/features/Features";

bool IsBootstrapFor(const boot::BootstrapParams& p, const Flags& flags) {
  return p.instance_id() == flags.id && p.namespace_() == flags.ns;
}

}  // namespace

Result<StartInput> ParseStartInput(const std::string& stdin_bytes, Flags& flags,
                           const char* grpc_address_env, const char* ttrpc_address_env) {
  StartInput in;
  in.ttrpc_address = ttrpc_address_env ? ttrpc_address_env : "";
  boot::BootstrapParams params;
  if (!stdin_bytes.empty() && params.ParseFromString(stdin_bytes) && IsBootstrapFor(params, flags)) {
    in.reply = StartReply::kBootstrapResult;
    in.socket_dir = params.socket_dir();
    if (!params.containerd_grpc_address().empty()) flags.address = params.containerd_grpc_address();
    if (!params.containerd_ttrpc_address().empty())
      in.ttrpc_address = params.containerd_ttrpc_address();
    if (!params.containerd_binary().empty()) flags.publish_binary = params.containerd_binary();
    flags.debug = flags.debug || params.log_level() <= boot::LOG_LEVEL_DEBUG;
    // The runtime options travel as an extension; the first one of a type we know.
    for (const auto& ext : params.extensions()) {
      ShimOptions parsed;
      if (ext.has_value() && ApplyOptions(ext.value(), parsed)) {
        in.options = std::move(parsed);
        break;
      }
    }
    return in;
  }
  in.reply = grpc_address_env && *grpc_address_env ? StartReply::kJson : StartReply::kPlainAddress;
  BERTH_TRY(ApplyOptionsBytes(stdin_bytes, in.options));
  return in;
}

std::string FormatStartReply(StartReply reply, const std::string& address) {
  switch (reply) {
    case StartReply::kBootstrapResult: {
      boot::BootstrapResult result;
      result.set_version(kShimVersion);
      result.set_address(address);
      result.set_protocol("ttrpc");
      return result.SerializeAsString();
    }
    case StartReply::kJson:
      return nlohmann::json{{"version", kShimVersion}, {"address", address}, {"protocol", "ttrpc"}}
          .dump();
    case StartReply::kPlainAddress:
      break;
  }
  return address;
}

Result<std::string> RuntimeInfo(const std::string& runtime_name, const std::string& version,
                                const std::string& options_any) {
  containerd::types::RuntimeInfo info;
  info.set_name(runtime_name);
  info.mutable_version()->set_version(version);
  info.mutable_version()->set_revision("berth");
  if (!options_any.empty()) {
    google::protobuf::Any options;
    if (!options.ParseFromString(options_any)) return Fail("runtime options: invalid protobuf");
    ShimOptions parsed;
    BERTH_TRY(ApplyOptions(options, parsed));
    if (!options.type_url().empty()) *info.mutable_options() = options;
  }
  info.mutable_features()->set_type_url(kFeaturesTypeUrl);
  info.mutable_features()->set_value(container::Features().dump());
  return info.SerializeAsString();
}

}  // namespace berth::shim
