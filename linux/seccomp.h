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

// Builds the filter for `profile`. Syscall names libseccomp does not know are
// skipped, as runc does; an unknown action, architecture, operator or flag is an Error.
Result<SeccompProgram> CompileSeccomp(const oci::Seccomp& profile,
                                      const SeccompCompileOptions& options = {});

// Async-signal-safe (no allocation): installs `program` on the calling thread.
// Returns the listener fd when program.wants_listener, 0 otherwise, or -errno.
int LoadSeccompProgram(const SeccompProgram& program) noexcept;

// Sends the notify listener fd and the container state to the agent at
// `listener_path` over a unix socket with SCM_RIGHTS, as runc does.
Result<void> SendSeccompListener(const std::string& listener_path,
                                 const std::string& listener_metadata, int listener_fd,
                                 const std::string& state_json);

}  // namespace berth::linux
