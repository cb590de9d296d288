// The cgroups of one container, over the host's hierarchy: cgroup v1 (one
// hierarchy per controller), v2 (unified), hybrid (v1 controllers plus the v2
// hierarchy for process tracking), or a systemd transient scope.
//
// Every CLI command is a new process, so a Manager is rebuilt from Paths saved
// in the container's state. Nothing here forks.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"
#include "linux/unique_fd.h"
#include "oci/spec.h"

namespace berth::cgroup {

enum class Mode { kLegacy, kHybrid, kUnified };

// Reads the host's mode from the filesystem type at `root` and below it.
Result<Mode> DetectMode(const std::string& root = "/sys/fs/cgroup");

struct Request {
  std::string container_id;
  std::string cgroups_path;  // linux.cgroupsPath; "" means the default "/<id>"
  bool systemd = false;      // --systemd-cgroup: cgroupsPath is "slice:prefix:name"
  const oci::Resources* resources = nullptr;
  std::string root = "/sys/fs/cgroup";  // tests point this at a temporary tree
};

// Where a container's cgroups are; saved in state.json, so plain data.
struct Paths {
  Mode mode = Mode::kUnified;
  std::string root = "/sys/fs/cgroup";
  std::map<std::string, std::string> v1;  // controller -> absolute directory
  std::string unified;                    // absolute directory in the v2 hierarchy, or ""
  std::vector<std::string> created;       // directories made by Create, parents first
  std::string systemd_unit;               // "berth-c1.scope" with the systemd driver
  // (directory, controller) pairs Create switched on in an ancestor's
  // cgroup.subtree_control (only beside v1 hierarchies, as on hybrid hosts); Destroy
  // switches each off again unless a cgroup left below still sets a limit with it.
  std::vector<std::pair<std::string, std::string>> subtree_enabled;
};

std::string PathsToJson(const Paths& p);
Result<Paths> PathsFromJson(const std::string& json);

struct Stats;  // defined in stats.h

// What a container's first process needs to join its cgroups by itself. A move by
// pid (a write to cgroup.procs) takes the kernel's cgroup_threadgroup_rwsem for
// writing, and the first writer after a quiet spell waits for an RCU grace period
// (4-20 ms here) holding cgroup_mutex. A single-threaded process that writes "0" to a
// v1 "tasks" file moves only itself and takes no such lock, and one born into its v2
// cgroup by clone3(CLONE_INTO_CGROUP) only takes it for reading (docs/cgroups.md).
struct SelfJoin {
  linux::UniqueFd unified_dir;            // the v2 directory, for CLONE_INTO_CGROUP
  std::vector<linux::UniqueFd> v1_tasks;  // "<dir>/tasks" of each v1 hierarchy, write-only
  std::vector<std::string> v1_dirs;       // the same directories, for error messages
};

// Which part of SelfJoin the process did: the rest is done by pid.
struct SelfJoined {
  bool unified = false;
  bool v1 = false;
};

class Manager {
 public:
  virtual ~Manager() = default;

  // Creates the container's cgroups and applies `request.resources`. On failure
  // nothing it made is left behind.
  static Result<std::unique_ptr<Manager>> Create(const Request& request);
  // Rebuilds the manager of an existing container from its saved paths.
  static Result<std::unique_ptr<Manager>> Load(const Paths& paths);

  virtual const Paths& paths() const = 0;

  // Moves `pid` into every hierarchy of the container. With the systemd driver the
  // first call starts the transient scope with `pid` in it (systemd refuses an empty
  // scope) and applies the resources given to Create.
  virtual Result<void> AddProcess(pid_t pid) = 0;
  // The files for the container's first process to join by itself (opened by the
  // caller, so the kernel checks the caller's credentials); empty where the driver
  // places processes itself (systemd starting its scope) or the tree is not cgroupfs.
  virtual Result<SelfJoin> PrepareSelfJoin() { return SelfJoin{}; }
  // After PrepareSelfJoin: moves `pid` by pid into the hierarchies it did not join.
  virtual Result<void> CompleteJoin(pid_t pid, SelfJoined joined) {
    (void)joined;
    return AddProcess(pid);
  }
  // `update`: applies the resources given (only the fields that are set).
  virtual Result<void> Update(const oci::Resources& resources) = 0;
  // Freezes or thaws every process and waits until the kernel reports it done.
  virtual Result<void> Freeze() = 0;
  virtual Result<void> Thaw() = 0;
  virtual Result<bool> IsFrozen() = 0;
  // Every pid in the container's cgroup (recursively), as the host sees them.
  virtual Result<std::vector<pid_t>> Pids() = 0;
  // Signals every process; SIGKILL uses cgroup.kill where the kernel has it.
  virtual Result<void> Kill(int signal) = 0;
  // Kills what is left and removes the directories this container created.
  virtual Result<void> Destroy() = 0;
  // An fd that becomes readable on each OOM kill (v1 eventfd, v2 inotify on memory.events).
  // See oom.h for reading it and for the oom_kill counter.
  virtual Result<linux::UniqueFd> OpenOomNotifier() = 0;
  virtual Result<Stats> GetStats() = 0;
};

}  // namespace berth::cgroup
