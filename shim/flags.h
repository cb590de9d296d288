// The shims' command lines, as containerd runs them and as Go's flag package parses them.
// v2: <shim> -namespace NS -address SOCK -publish-binary BIN -id ID [-bundle B] [-debug] start|delete
//     and with no action for the daemon that `start` leaves behind.
// v1: <shim> -namespace NS -workdir DIR -address SOCK -containerd-binary BIN
//     [-criu-path P] [-runtime-root R] [-systemd-cgroup] [-debug]   (containerd 1.6's
//     runtime/v1/shim/client newCommand), in the bundle, the socket as fd 3.
#pragma once

#include <expected>
#include <string>
#include <vector>

#include "base/result.h"

namespace berth::shim {

struct Flags {
  bool debug = false;
  bool version = false;
  bool info = false;  // -info: print the RuntimeInfo protobuf (containerd 2.x introspection)
  std::string ns;
  std::string id;
  std::string socket;   // -socket: serve this path instead of the inherited fd 3
  std::string bundle;   // -bundle: for delete, when not the working directory
  std::string address;  // containerd's grpc address
  std::string publish_binary = "containerd";
  std::string action;   // "start", "delete", or "" for the daemon
  // v1 only.
  std::string workdir;                        // containerd's per-task root (criu work)
  std::string containerd_binary = "containerd";  // runs `publish` for events
  std::string runtime_root;                   // -runtime-root: the state root
  std::string criu;  // -criu (containerd-shim's name) or -criu-path (what containerd passes)
  bool systemd_cgroup = false;
};

Result<Flags> ParseFlags(const std::vector<std::string>& args);

// The head of both shims' main: the flags, or the status main returns with (a bad
// flag, reported on stderr; -v, answered with `version` on stdout).
std::expected<Flags, int> ParseCommandLine(int argc, char** argv, const char* version);

// CVE-2019-5736: a shim process that clones container processes runs from a sealed
// copy of its binary that no container can write (linux::ReexecSealed; the pid, fds and
// arguments stay). False, with the reason on stderr, if no sealed copy could be run.
bool ReexecSealedOrReport(char** argv, const char* program);

}  // namespace berth::shim
