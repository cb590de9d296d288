// What `start` reads on stdin and prints on stdout, for each containerd generation:
//  - containerd 2.3 sends a containerd.runtime.bootstrap.v1.BootstrapParams (instance
//    id, namespace, log level, its addresses and binary, the socket directory, the
//    runtime options as an extension) and reads back a BootstrapResult (protobuf);
//  - containerd 1.7 to 2.2 send the runtime options as a bare google.protobuf.Any, with
//    GRPC_ADDRESS in the environment, and read JSON {"version":3,"address","protocol"};
//  - containerd 1.6 sends the same Any, sets no GRPC_ADDRESS, and reads the address.
// (containerd 2.3: pkg/shim/util.go Command, pkg/shim/shim.go run, core/runtime/v2/
// shim.go parseStartResponse.)
#pragma once

#include <string>

#include "base/result.h"
#include "shim/flags.h"
#include "shim/options.h"

namespace berth::shim {

enum class StartReply { kBootstrapResult, kJson, kPlainAddress };

struct StartInput {
  StartReply reply = StartReply::kPlainAddress;
  ShimOptions options;     // the runtime options (containerd.runc.v1.Options), parsed
  std::string socket_dir;  // where containerd wants the shims' sockets; empty: the default
  std::string ttrpc_address;  // containerd's ttrpc address for events (TTRPC_ADDRESS)
};

// Reads `start`'s stdin. Bootstrap parameters are taken as such only when they name this
// instance and namespace (the flags), so that a legacy Any is never mistaken for them;
// what they carry (containerd's addresses, the log level) overrides the legacy flags.
// `grpc_address_env` is GRPC_ADDRESS (null when unset), `ttrpc_address_env` TTRPC_ADDRESS.
// Legacy stdin that is not a valid options Any is an error (before anything is made).
Result<StartInput> ParseStartInput(const std::string& stdin_bytes, Flags& flags,
                           const char* grpc_address_env, const char* ttrpc_address_env);

// What `start` prints for the shim at `address`: the shim speaks Task v3 over ttrpc.
std::string FormatStartReply(StartReply reply, const std::string& address);

// `-info`: a containerd.types.RuntimeInfo (name, version, the runtime options it was
// given, berth's OCI features as types.containerd.io/opencontainers/runtime-spec/1/
// features/Features JSON), serialized, for containerd's introspection PluginInfo.
Result<std::string> RuntimeInfo(const std::string& runtime_name, const std::string& version,
                                const std::string& options_any);

}  // namespace berth::shim
