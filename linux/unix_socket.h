// Connecting to unix sockets; fd passing itself is in fd_passing.h.
#pragma once

#include <string>

#include "base/result.h"
#include "linux/unique_fd.h"

namespace berth::linux {

Result<UniqueFd> ConnectUnix(const std::string& path, int type = 1 /*SOCK_STREAM*/);

// Sends `fd` to the unix socket at `path`, with `name` as payload (runc's console socket).
Result<void> SendFdToPath(const std::string& path, int fd, const std::string& name);

}  // namespace berth::linux
