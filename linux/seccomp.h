// seccomp: linux.seccomp compiled to a BPF program with libseccomp before the
// container process is cloned, then loaded with one raw seccomp(2) call right
// before execve. Compilation is cached on disk, keyed by the profile.
#pragma once

#include <linux/filter.h>

#include <string>
#include <vector>

#include "base/result.h"
#include "linux/unique_fd.h"
#include "oci/spec.h"

namespace berth::linux {

struct SeccompProgram {
  std::vector<sock_filter> filter;
  unsigned flags = 0;          // SECCOMP_FILTER_FLAG_* for seccomp(2)
  bool wants_listener = false;  // an SCMP_ACT_NOTIFY rule: load with FLAG_NEW_LISTENER
};

struct SeccompCompileOptions {
  // Directory of cached compiled programs; "" disables the cache.
  std::string cache_dir;
};

// The libseccomp berth runs with ("2.5.4"), as `--version` and errors name it.
std::string LibseccompVersion();

// Builds the filter for `profile`. Syscall names libseccomp does not know are
// skipped, as runc does; an unknown action, architecture, operator or flag is an Error.
Result<SeccompProgram> CompileSeccomp(const oci::Seccomp& profile,
                                      const SeccompCompileOptions& options = {});

// Async-signal-safe (no allocation): installs `program` on the calling thread.
// Returns the listener fd when program.wants_listener, 0 otherwise, or -errno.
// The caller must hold CAP_SYS_ADMIN or have set no_new_privs (seccomp(2)).
//
// The listener (O_CLOEXEC) lives in the child; tell the runtime its number with
// write(2), take it there with pidfd_getfd, pass it on with SendSeccompListener and
// only then let the child close its copy and go on. NOTIFY rules on write are refused
// at compile time so that this hand-off cannot block.
int LoadSeccompProgram(const SeccompProgram& program) noexcept;

// Sends the notify listener fd and the container state to the agent at
// `listener_path` over a unix socket with SCM_RIGHTS, as runc does: one message whose
// bytes are the runtime-spec ContainerProcessState JSON ({"ociVersion", "fds":
// ["seccompFd"], "pid", "metadata" (omitted when empty), "state"}). `state_json` is the
// container state (oci::HookStateJson); `process_pid` is the process the listener
// belongs to, 0 meaning state.pid (exec passes its own process's pid).
Result<void> SendSeccompListener(const std::string& listener_path,
                                 const std::string& listener_metadata, int listener_fd,
                                 const std::string& state_json, int process_pid = 0);

// What this build and kernel support, for `berth features`: every action and
// operator the compiler accepts, the architectures this libseccomp knows, every
// flag name accepted and those the running kernel supports.
struct SeccompSupport {
  std::vector<std::string> actions, operators, architectures, known_flags, supported_flags;
};
SeccompSupport SeccompSupported();

}  // namespace berth::linux
