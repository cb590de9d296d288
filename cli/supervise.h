// A foreground process of `run` and `exec`: signals forwarded to it, its terminal
// proxied to ours, its exit status returned as a shell reports it.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include "base/result.h"

namespace berth::cli {

struct Supervised {
  pid_t pid = 0;  // a child of ours
  int pidfd = -1;
  int pty_master = -1;  // -1 without a terminal
};

// The signals to forward: block them before starting the process (so that none
// is lost before we listen), then hand the set to Supervise.
sigset_t ForwardedSignals();

// Waits for the process, forwarding signals and the terminal. Returns its exit
// status (128 + signal when killed).
Result<int> Supervise(const Supervised& process, const sigset_t& forwarded);

}  // namespace berth::cli
