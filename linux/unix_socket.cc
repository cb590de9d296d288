#include "linux/unix_socket.h"

#include "linux/fd_passing.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>

namespace berth::linux {

Result<UniqueFd> ConnectUnix(const std::string& path, int type) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return Fail("socket path too long: " + path, ENAMETOOLONG);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, type | SOCK_CLOEXEC, 0));
  if (!fd) return ErrnoError("socket");
  int r;
  do {
    r = ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  } while (r < 0 && errno == EINTR);
  if (r < 0) return ErrnoError("connect " + path);
  return fd;
}

Result<void> SendFdToPath(const std::string& path, int fd, const std::string& name) {
  UniqueFd sock = BERTH_TRY(ConnectUnix(path));
  return WithContext(SendFd(sock.get(), fd, name), "send fd to " + path);
}

}  // namespace berth::linux
