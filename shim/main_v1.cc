// containerd-shim-berth-v1: the shim of containerd's legacy v1 runtime
// (io.containerd.runtime.v1.linux with `shim = "containerd-shim-berth-v1"`). containerd
// starts it as the daemon itself (docs/shim-v1.md); there are no actions.
#include <cstdio>

#include "shim/daemon.h"
#include "shim/flags.h"

#ifndef BERTH_VERSION
#define BERTH_VERSION "unknown"
#endif

int main(int argc, char** argv) {
  using namespace berth::shim;
  auto flags = ParseCommandLine(argc, argv, BERTH_VERSION);
  if (!flags) return flags.error();
  if (!flags->action.empty()) {
    std::fprintf(stderr, "containerd-shim-berth-v1: unexpected argument %s\n", flags->action.c_str());
    return 2;
  }
  // This process clones every container process (containerd runs it as the daemon).
  if (!ReexecSealedOrReport(argv, "containerd-shim-berth-v1")) return 1;
  return RunDaemonV1(*flags);
}
