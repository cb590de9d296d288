// containerd-shim-berth-v1: the shim of containerd's legacy v1 runtime
// (io.containerd.runtime.v1.linux with `shim = "containerd-shim-berth-v1"`). containerd
// starts it as the daemon itself (docs/shim-v1.md); there are no actions.
#include <cstdio>
#include <string>
#include <vector>

#include "linux/exe_seal.h"
#include "shim/daemon.h"
#include "shim/flags.h"
#include "shim/options.h"

#ifndef BERTH_VERSION
#define BERTH_VERSION "unknown"
#endif

int main(int argc, char** argv) {
  using namespace berth::shim;
  std::vector<std::string> args(argv + 1, argv + argc);
  auto flags = ParseFlags(args);
  if (!flags) {
    std::fprintf(stderr, "%s\n", flags.error().message.c_str());
    return 2;
  }
  if (flags->version) {
    std::printf("%s:\n  Version:  %s\n  Revision: berth\n\n", argv[0], BERTH_VERSION);
    return 0;
  }
  if (!flags->action.empty()) {
    std::fprintf(stderr, "containerd-shim-berth-v1: unexpected argument %s\n", flags->action.c_str());
    return 2;
  }
  // CVE-2019-5736: this process clones every container process, so it must run from
  // a sealed copy of its binary that no container can write. The pid, the fds (the
  // socket on fd 3, containerd's pipes) and the arguments stay the same.
  auto sealed = berth::linux::ReexecSealed(argv, std::string(kDefaultStateRoot) + "/.exe-seal");
  if (!sealed) {
    std::fprintf(stderr, "containerd-shim-berth-v1: %s\n", sealed.error().message.c_str());
    return 1;
  }
  return RunDaemonV1(*flags);
}
