// Processes: clone3(2), pidfds, /proc/<pid>/stat, signals by name. A pid is only
// signalled after its start time is checked, so a recycled pid is never hit.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "linux/unique_fd.h"

namespace berth::linux {

// clone3(2) without a new stack (fork semantics). Returns 0 in the child, the
// child's pid in the parent, -errno on failure. With CLONE_PIDFD, *pidfd is set;
// with CLONE_INTO_CGROUP the child starts in the v2 cgroup directory `cgroup_fd`.
pid_t Clone3(uint64_t flags, int* pidfd = nullptr, int exit_signal = 17 /*SIGCHLD*/,
             int cgroup_fd = -1) noexcept;

Result<UniqueFd> PidfdOpen(pid_t pid);
Result<void> PidfdSendSignal(int pidfd, int signal);
// A copy (O_CLOEXEC) of the process's fd `target_fd` (pidfd_getfd(2)).
Result<UniqueFd> PidfdGetFd(int pidfd, int target_fd);

struct ProcStat {
  char state = '?';          // R S D Z T ...
  uint64_t start_time = 0;  // clock ticks since boot (field 22)
};
// Fails with ENOENT when the process does not exist.
Result<ProcStat> ReadProcStat(pid_t pid);

// True when `pid` is alive (not a zombie) and started at `start_time`.
bool ProcessIsAlive(pid_t pid, uint64_t start_time);

// Signals `pid` through a pidfd after checking its start time; ESRCH if it is gone or recycled.
Result<void> SignalProcess(pid_t pid, uint64_t start_time, int signal);

// "KILL", "SIGKILL", "9", "SIGRTMIN+3" -> number.
Result<int> ParseSignal(std::string_view name);
std::vector<std::string> SignalNames();

// Waits for a child of ours to exit; returns the status as a shell reports it
// (exit code, or 128 + signal number).
Result<int> WaitForExit(pid_t pid);
int ExitCodeFromWaitStatus(int wait_status);

}  // namespace berth::linux
