// The shim's command line, as containerd runs it and as Go's flag package parses it:
//   <shim> -namespace NS -address SOCK -publish-binary BIN -id ID [-bundle B] [-debug] start|delete
// and with no action for the daemon that `start` leaves behind.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"

namespace berth::shim {

struct Flags {
  bool debug = false;
  bool version = false;
  std::string ns;
  std::string id;
  std::string socket;   // -socket: serve this path instead of the inherited fd 3
  std::string bundle;   // -bundle: for delete, when not the working directory
  std::string address;  // containerd's grpc address
  std::string publish_binary = "containerd";
  std::string action;   // "start", "delete", or "" for the daemon
};

Result<Flags> ParseFlags(const std::vector<std::string>& args);

}  // namespace berth::shim
