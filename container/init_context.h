// The state of the container's init process while it executes an InitPlan.
// Everything here is async-signal-safe.
#pragma once

#include "container/init_plan.h"

namespace berth::container {

class InitContext {
 public:
  explicit InitContext(InitPlan& plan) : plan(plan), sync_fd(plan.sync_fd) {}

  // Reports a failure to whoever waits (the runtime over the sync socket before
  // `start`, `start` over exec.fifo after it) and exits. Never returns.
  [[noreturn]] void Fail(int err, const char* what, const char* detail = nullptr,
                         const char* more = nullptr) noexcept;
  // Fails when `r` is a -errno.
  void Check(int r, const char* what, const char* detail = nullptr,
             const char* more = nullptr) noexcept {
    if (r < 0) Fail(-r, what, detail, more);
  }
  void CheckErrno(int r, const char* what, const char* detail = nullptr,
                  const char* more = nullptr) noexcept {
    if (r < 0) Fail(errno, what, detail, more);
  }

  void Send(SyncType type, int32_t value = 0, int fd = -1) noexcept;
  // Waits for `type` from the runtime; exits quietly if the runtime went away.
  int32_t Expect(SyncType type) noexcept;
  // Before anything that must happen inside the container's cgroup (forks,
  // the cgroup namespace, exec): the runtime joins it while we set up.
  void WaitForCgroup() noexcept;

  InitPlan& plan;
  int sync_fd = -1;
  int fifo_fd = -1;     // exec.fifo once `start` opened it
  pid_t host_pid = 0;   // init's pid as the runtime sees it
  bool in_cgroup = false;
  char resolved_exe[4096] = {};  // argv[0] found in $PATH
};

// Stage 1 of the two-stage start (joined pid/user namespaces, time offsets).
[[noreturn]] void RunStage1(InitPlan& plan) noexcept;
// The container's init: sets everything up, waits for start, execs.
[[noreturn]] void RunInit(InitPlan& plan) noexcept;
// An `exec` process, cloned by stage 1 inside the container's namespaces.
[[noreturn]] void RunExec(InitPlan& plan) noexcept;

// init_rootfs.cc
void PrepareRootfs(InitContext& ctx) noexcept;     // mounts, devices, up to the hooks
void EnterRootfs(InitContext& ctx) noexcept;       // pivot_root / chroot
void FinishRootfs(InitContext& ctx) noexcept;      // masked and readonly paths, sysctl, ro root

// init_hooks.cc
void RunContainerHooks(InitContext& ctx, const std::vector<HookCommand>& hooks) noexcept;

}  // namespace berth::container
