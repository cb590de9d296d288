// posix_spawn for the helpers berth starts on the host (hooks, logging binaries,
// `containerd publish`): the child gets exactly the fds asked for, an empty signal
// mask and default dispositions, since a caller that blocks signals for a signalfd
// must not pass that on.
#pragma once

#include <fcntl.h>
#include <sys/types.h>

#include <string>
#include <vector>

#include "base/result.h"
#include "linux/unique_fd.h"

namespace berth::linux {

// The child's fd `target`: a dup of `source`, or /dev/null opened with `null_flags`
// when `source` is -1.
struct SpawnFd {
  int target;
  int source = -1;
  int null_flags = O_RDWR;
};

struct SpawnOptions {
  std::string path;                // the program; looked up in PATH with search_path
  std::vector<std::string> args;   // argv, argv[0] included
  std::vector<std::string> env;    // the environment; empty means ours
  bool search_path = false;
  std::vector<SpawnFd> fds;        // the others are O_CLOEXEC (berth opens no other kind)
};

// The started child, unreaped (its pid cannot be reused until the caller waits), with
// a pidfd for it. If the pidfd cannot be had, the child is killed and reaped and the
// error returned: no caller is ever left with a child it cannot watch.
struct Spawned {
  pid_t pid = 0;
  UniqueFd pidfd;
};

Result<Spawned> Spawn(const SpawnOptions& options);

}  // namespace berth::linux
