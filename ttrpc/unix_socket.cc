#include "ttrpc/unix_socket.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstddef>
#include <cstring>

namespace berth::ttrpc {

namespace {

Result<socklen_t> FillAddress(const std::string& path, sockaddr_un& addr) {
  std::memset(&addr, 0, sizeof(addr));
  addr.sun_family = AF_UNIX;
  if (path.empty()) return Fail("unix socket: empty path", EINVAL);
  if (path.size() >= sizeof(addr.sun_path)) {
    return Fail("unix socket " + path + ": path longer than " +
                    std::to_string(sizeof(addr.sun_path) - 1) + " bytes",
                ENAMETOOLONG);
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  if (path[0] == '@') {
    addr.sun_path[0] = '\0';  // abstract: the name is exactly the bytes after '@'
    return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size());
  }
  return static_cast<socklen_t>(sizeof(addr));
}

}  // namespace

Result<linux::UniqueFd> ListenUnix(const std::string& path, int backlog) {
  sockaddr_un addr;
  socklen_t len = BERTH_TRY(FillAddress(path, addr));
  linux::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return ErrnoError("socket");
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0) {
    return ErrnoError("bind " + path);
  }
  if (::listen(fd.get(), backlog) != 0) return ErrnoError("listen " + path);
  return fd;
}

Result<linux::UniqueFd> ConnectUnix(const std::string& path) {
  sockaddr_un addr;
  socklen_t len = BERTH_TRY(FillAddress(path, addr));
  // Blocking connect: a unix connect completes at once unless the backlog is full, in
  // which case waiting is what we want; the fd is made non-blocking afterwards.
  linux::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return ErrnoError("socket");
  int rc;
  do {
    rc = ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), len);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) return ErrnoError("connect " + path);
  int flags = ::fcntl(fd.get(), F_GETFL);
  if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags | O_NONBLOCK) != 0) {
    return ErrnoError("fcntl O_NONBLOCK " + path);
  }
  return fd;
}

Result<void> PrepareInheritedFd(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) {
    return ErrnoError("fcntl O_NONBLOCK fd " + std::to_string(fd));
  }
  int fd_flags = ::fcntl(fd, F_GETFD);
  if (fd_flags < 0 || ::fcntl(fd, F_SETFD, fd_flags | FD_CLOEXEC) != 0) {
    return ErrnoError("fcntl FD_CLOEXEC fd " + std::to_string(fd));
  }
  return {};
}

Result<PeerCredentials> GetPeerCredentials(int fd) {
  ucred cred{};
  socklen_t len = sizeof(cred);
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    return ErrnoError("getsockopt SO_PEERCRED");
  }
  return PeerCredentials{.pid = cred.pid, .uid = cred.uid, .gid = cred.gid};
}

}  // namespace berth::ttrpc
