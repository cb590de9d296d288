// Unix sockets and fd passing (SCM_RIGHTS).
#pragma once

#include <string>

#include "base/result.h"
#include "linux/unique_fd.h"

namespace berth::linux {

// Async-signal-safe: sends `len` bytes of `data` with `fd` attached. 0 or -errno.
int SendFdRaw(int sock, int fd, const void* data, size_t len) noexcept;

// Receives one message with up to one fd; `data` gets the payload.
Result<UniqueFd> ReceiveFd(int sock, std::string* data = nullptr);

Result<UniqueFd> ConnectUnix(const std::string& path, int type = 1 /*SOCK_STREAM*/);

// Sends `fd` to the unix socket at `path`, with `name` as payload (runc's console socket).
Result<void> SendFdToPath(const std::string& path, int fd, const std::string& name);

}  // namespace berth::linux
