// containerd-shim-berth-v2: the containerd runtime v2 shim for io.containerd.berth.v2.
//   start   print the socket address of a (new or the group's) shim daemon
//   delete  clean up after a shim that is gone, print a DeleteResponse
//   -info   the runtime info containerd's introspection asks for
//   (none)  the daemon itself, serving the Task API
#include <cstdio>

#include "shim/actions.h"
#include "shim/daemon.h"
#include "shim/flags.h"

#ifndef BERTH_VERSION
#define BERTH_VERSION "unknown"
#endif

int main(int argc, char** argv) {
  using namespace berth::shim;
  auto flags = ParseCommandLine(argc, argv, BERTH_VERSION);
  if (!flags) return flags.error();
  // Asked without a namespace (containerd's introspection), as containerd's shims answer.
  if (flags->info) return RunInfo("io.containerd.berth.v2", BERTH_VERSION);
  if (flags->ns.empty()) {
    std::fprintf(stderr, "containerd-shim-berth-v2: shim namespace cannot be empty");
    return 1;
  }
  if (flags->action == "start") {
    // The daemon forked by `start` clones every container process.
    if (!ReexecSealedOrReport(argv, "containerd-shim-berth-v2")) return 1;
    return RunStart(*flags);
  }
  if (flags->action == "delete") return RunDelete(*flags);
  if (!flags->action.empty()) {
    std::fprintf(stderr, "containerd-shim-berth-v2: unknown action %s", flags->action.c_str());
    return 1;
  }
  return RunDaemon(*flags);
}
