// Unix stream sockets for ttrpc: listen, connect, peer credentials. A path that starts
// with '@' names an abstract socket. Every fd is O_CLOEXEC.
#pragma once

#include <sys/types.h>

#include <string>

#include "base/result.h"
#include "linux/unique_fd.h"

namespace berth::ttrpc {

// A non-blocking listening socket bound to `path`. An existing file at `path` is an
// error (EADDRINUSE): removing a stale socket is the caller's decision.
Result<linux::UniqueFd> ListenUnix(const std::string& path, int backlog = 128);

// A connected, non-blocking socket.
Result<linux::UniqueFd> ConnectUnix(const std::string& path);

// Makes an inherited fd (say, fd 3 from the shim's parent) non-blocking and close-on-exec.
Result<void> PrepareInheritedFd(int fd);

struct PeerCredentials {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
};
// SO_PEERCRED: the credentials the peer had when it called connect(2).
Result<PeerCredentials> GetPeerCredentials(int fd);

}  // namespace berth::ttrpc
