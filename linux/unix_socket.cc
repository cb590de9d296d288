#include "linux/unix_socket.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>

namespace berth::linux {

int SendFdRaw(int sock, int fd, const void* data, size_t len) noexcept {
  char dummy = 0;
  iovec iov{const_cast<void*>(len ? data : &dummy), len ? len : 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  std::memset(control, 0, sizeof control);
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
  for (;;) {
    if (::sendmsg(sock, &msg, MSG_NOSIGNAL) >= 0) return 0;
    if (errno != EINTR) return -errno;
  }
}

Result<UniqueFd> ReceiveFd(int sock, std::string* data) {
  char buf[4096];
  iovec iov{buf, sizeof buf};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 4)];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do {
    n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return ErrnoError("recvmsg");
  if (n == 0) return Fail("recvmsg: connection closed before an fd was received", EPIPE);
  if (data) data->assign(buf, static_cast<size_t>(n));
  UniqueFd received;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      if (!received) received.reset(fd);
      else ::close(fd);  // only one is expected; never leak extras
    }
  }
  if (!received) return Fail("recvmsg: no fd in the message", EBADMSG);
  return received;
}

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
  int r = SendFdRaw(sock.get(), fd, name.data(), name.size());
  if (r < 0) return ErrnoError("send fd to " + path, -r);
  return {};
}

}  // namespace berth::linux
