// What the shim knows about its containers and their processes. Owned and changed
// by the event loop thread only; worker threads get copies of what they need and
// post their results back.
#pragma once

#include <sys/types.h>
#include <time.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cgroup/cgroup.h"
#include "container/container.h"
#include "linux/unique_fd.h"
#include "oci/spec.h"
#include "shim/options.h"
#include "shim/process_io.h"
#include "shim/reply.h"
#include "shim/stdio.h"
#include "ttrpc/event_loop.h"
#include "ttrpc/server.h"

namespace berth::shim {

enum class Phase {
  kCreated,   // the init waits for start / the exec is only recorded
  kStarting,  // a Start is in flight on a worker
  kRunning,
  kStopped,   // reaped (the exit may still be draining, see exit_published)
};

struct ExitInfo {
  uint32_t status = 0;  // exit code, or 128 + signal, as runc's shim reports it
  timespec at{};
};

struct Process {
  std::string exec_id;  // "" for the init
  Phase phase = Phase::kCreated;
  pid_t pid = 0;
  linux::UniqueFd pidfd;
  ttrpc::EventLoop::WatchId pid_watch = 0;
  StdioPaths stdio;
  std::unique_ptr<ProcessIo> io;
  std::optional<oci::Process> spec;  // exec: what Start runs

  std::optional<ExitInfo> exit;  // set once reaped
  // Reaped while its Start was in flight: the exit waits for the start event (the
  // race of containerd issue 9719).
  bool exit_held = false;
  // TaskExit queued and waiters answered: after the output was drained.
  bool exit_published = false;
  std::vector<Reply> waiters;                       // Wait calls
  std::vector<std::move_only_function<void()>> after_exit;  // needs the exit published
};

struct Container {
  std::string id;
  std::string bundle;
  std::string rootfs;  // <bundle>/rootfs when the shim mounted CreateTaskRequest.rootfs
  // CreateTaskRequest.checkpoint: the init is restored from it at Start; until then
  // there is no process (pid 0), as with runc's shim.
  std::string restore_from;
  bool creating = true;  // Create in flight: a placeholder only
  bool deleting = false;
  bool removed = false;  // gone from the table; late completions do nothing
  ShimOptions options;
  container::Runtime runtime;

  Process init;
  std::map<std::string, std::unique_ptr<Process>> execs;
  bool paused = false;
  // A Checkpoint in flight: exits are held until TaskCheckpointed is queued, since
  // criu's dump is what ends the processes when it is asked to.
  bool checkpointing = false;
  // Delete of a never-started init: it was killed; finish once it is reaped, and
  // publish no exit (TaskDelete follows TaskCreate directly).
  bool delete_requested = false;

  std::optional<cgroup::Paths> cgroup;
  bool own_pid_namespace = true;
  // The init exited in a pid namespace that is not its own: its exit is published
  // once the last exec's is.
  bool init_exit_waits = false;
  linux::UniqueFd oom_fd;
  ttrpc::EventLoop::WatchId oom_watch = 0;
  uint64_t oom_kill_count = 0;
};

}  // namespace berth::shim
