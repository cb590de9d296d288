// containerd-shim-berth-v2: the containerd runtime v2 shim for io.containerd.berth.v2.
//   start   print the socket address of a (new or the group's) shim daemon
//   delete  clean up after a shim that is gone, print a DeleteResponse
//   (none)  the daemon itself, serving the Task API
#include <cstdio>
#include <string>
#include <vector>

#include "shim/actions.h"
#include "shim/daemon.h"
#include "shim/flags.h"
#include "shim/options.h"
#include "linux/exe_seal.h"

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
  if (flags->ns.empty()) {
    std::fprintf(stderr, "containerd-shim-berth-v2: shim namespace cannot be empty");
    return 1;
  }
  if (flags->action == "start") {
    // CVE-2019-5736: the daemon forked by `start` clones every container process, so
    // it must run from a sealed copy of this binary that no container can write.
    auto sealed = berth::linux::ReexecSealed(argv, std::string(kDefaultStateRoot) + "/.exe-seal");
    if (!sealed) {
      std::fprintf(stderr, "containerd-shim-berth-v2: %s\n", sealed.error().message.c_str());
      return 1;
    }
    return RunStart(*flags);
  }
  if (flags->action == "delete") return RunDelete(*flags);
  if (!flags->action.empty()) {
    std::fprintf(stderr, "containerd-shim-berth-v2: unknown action %s", flags->action.c_str());
    return 1;
  }
  return RunDaemon(*flags);
}
