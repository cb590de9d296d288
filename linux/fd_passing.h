// Passing a file descriptor over a unix socket with SCM_RIGHTS.
//
// The seccomp notify listener is created by the container's init (LoadSeccompProgram
// returns it in the cloned child), but the agent must get it from the runtime: the
// child sends it over its sync socket with SendFdNoAlloc, the runtime takes it with
// ReceiveFd and passes it on with SendSeccompListener.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "base/result.h"
#include "linux/unique_fd.h"

namespace berth::linux {

// Async-signal-safe, no allocation (for the child between clone and execve): one
// sendmsg(2) carrying `size` bytes of `data` (at least one; a stream socket needs a
// byte to carry ancillary data) with `fd` in SCM_RIGHTS. MSG_NOSIGNAL. Returns the
// number of data bytes sent (the fd travels with the first) or -errno.
long SendFdNoAlloc(int socket_fd, int fd, const void* data, size_t size) noexcept;

// Sends all of `data` (non-empty) with `fd` attached to the first byte.
Result<void> SendFd(int socket_fd, int fd, std::string_view data);

// Receives one message of at most `max_data` bytes and the one fd it carries, opened
// O_CLOEXEC. A message without an fd, with several fds or with truncated control data
// is an error (any fds that did arrive are closed). `data`, when given, gets the bytes.
Result<UniqueFd> ReceiveFd(int socket_fd, std::string* data = nullptr, size_t max_data = 4096);

}  // namespace berth::linux
