// The Manager that works on cgroupfs directly (v1, hybrid and unified hosts). The
// systemd driver reuses it for everything but the unit's lifetime.
#pragma once

#include <functional>
#include <memory>

#include "cgroup/cgroup.h"
#include "cgroup/hierarchy.h"

namespace berth::cgroup {

class FsManager : public Manager {
 public:
  explicit FsManager(Paths paths) : paths_(std::move(paths)) {}

  static Result<std::unique_ptr<FsManager>> Create(const Request& request);

  const Paths& paths() const override { return paths_; }
  Result<void> AddProcess(pid_t pid) override;
  Result<SelfJoin> PrepareSelfJoin() override;
  Result<void> CompleteJoin(pid_t pid, SelfJoined joined) override;
  Result<void> Update(const oci::Resources& resources) override;
  Result<void> Freeze() override;
  Result<void> Thaw() override;
  Result<bool> IsFrozen() override;
  Result<std::vector<pid_t>> Pids() override;
  Result<void> Kill(int signal) override;
  Result<void> Destroy() override;
  Result<linux::UniqueFd> OpenOomNotifier() override;
  Result<Stats> GetStats() override;

  // Every pid in any of the container's directories, in every hierarchy.
  Result<std::vector<pid_t>> AllPids();
  // Kills every process left (cgroup.kill, or freeze / SIGKILL each / thaw) and waits
  // up to `timeout_ms` for the cgroups to empty.
  Result<void> KillAll(int timeout_ms);
  // Removes the directories in paths().created, deepest first, and the cgroups the
  // container made below its own; then switches off what Create enabled.
  Result<void> RemoveDirs();

 protected:
  Paths paths_;
};

// The directories of the container: one per v1 hierarchy (co-mounted controllers share
// one), then the unified one. No duplicates.
std::vector<std::string> ContainerDirs(const Paths& paths);

// Fills `paths` for a container at cgroups path `dir_of(h)` in each hierarchy of
// `layout`, without touching the filesystem.
void FillPaths(const Layout& layout, const std::function<std::string(const Hierarchy&)>& dir_of,
               Paths& paths);

// Makes the directories of `paths`, prepares them (cpuset, and v2 controllers when
// `enable_v2`: not under systemd, which delegates them itself) and applies `resources`;
// records what it made in paths.created / paths.subtree_enabled. On failure removes what
// it made.
Result<void> CreateDirs(const Layout& layout, const oci::Resources* resources, bool enable_v2,
                        Paths& paths);

}  // namespace berth::cgroup
