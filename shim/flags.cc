#include "shim/flags.h"

#include <cstdio>

#include "linux/exe_seal.h"
#include "shim/options.h"

namespace berth::shim {

Result<Flags> ParseFlags(const std::vector<std::string>& args) {
  Flags f;
  size_t i = 0;
  for (; i < args.size(); ++i) {
    std::string arg = args[i];
    if (arg == "--" ) {
      ++i;
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') break;  // the first non-flag is the action
    arg.erase(0, arg[1] == '-' ? 2 : 1);
    std::string value;
    bool has_value = false;
    if (size_t eq = arg.find('='); eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg.resize(eq);
      has_value = true;
    }
    if (arg == "debug" || arg == "v" || arg == "info" || arg == "systemd-cgroup") {
      bool on = !has_value || value == "true" || value == "1" || value == "t" || value == "T" ||
                value == "TRUE" || value == "True";
      (arg == "debug"  ? f.debug
       : arg == "v"    ? f.version
       : arg == "info" ? f.info
                       : f.systemd_cgroup) = on;
      continue;
    }
    std::string* target = arg == "namespace"        ? &f.ns
                           : arg == "id"             ? &f.id
                           : arg == "socket"         ? &f.socket
                           : arg == "bundle"         ? &f.bundle
                           : arg == "address"        ? &f.address
                           : arg == "publish-binary" ? &f.publish_binary
                           : arg == "workdir"        ? &f.workdir
                           : arg == "containerd-binary" ? &f.containerd_binary
                           : arg == "runtime-root"   ? &f.runtime_root
                           // containerd 1.6 passes -criu-path, which its own
                           // containerd-shim (-criu) refuses: take both.
                           : arg == "criu" || arg == "criu-path" ? &f.criu
                                                     : nullptr;
    if (!target) return Fail("flag provided but not defined: -" + arg);
    if (!has_value) {
      if (++i >= args.size()) return Fail("flag needs an argument: -" + arg);
      value = args[i];
    }
    *target = value;
  }
  if (i < args.size()) f.action = args[i];
  return f;
}

std::expected<Flags, int> ParseCommandLine(int argc, char** argv, const char* version) {
  auto flags = ParseFlags(std::vector<std::string>(argv + 1, argv + argc));
  if (!flags) {
    std::fprintf(stderr, "%s\n", flags.error().message.c_str());
    return std::unexpected(2);
  }
  if (flags->version) {
    std::printf("%s:\n  Version:  %s\n  Revision: berth\n\n", argv[0], version);
    return std::unexpected(0);
  }
  return *std::move(flags);
}

bool ReexecSealedOrReport(char** argv, const char* program) {
  auto sealed = linux::ReexecSealed(argv, std::string(kDefaultStateRoot) + "/.exe-seal");
  if (!sealed) std::fprintf(stderr, "%s: %s\n", program, sealed.error().message.c_str());
  return static_cast<bool>(sealed);
}

}  // namespace berth::shim
