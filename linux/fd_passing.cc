#include "linux/fd_passing.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace berth::linux {

long SendFdNoAlloc(int socket_fd, int fd, const void* data, size_t size) noexcept {
  if (size == 0) return -EINVAL;
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    cmsghdr align;
  } control;
  std::memset(&control, 0, sizeof control);
  iovec iov{const_cast<void*>(data), size};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buf;
  msg.msg_controllen = sizeof control.buf;
  cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
  ssize_t n;
  do {
    n = ::sendmsg(socket_fd, &msg, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return n < 0 ? -errno : n;
}

Result<void> SendFd(int socket_fd, int fd, std::string_view data) {
  if (data.empty()) return Fail("send fd: no data to carry it", EINVAL);
  long n = SendFdNoAlloc(socket_fd, fd, data.data(), data.size());
  if (n < 0) return ErrnoError("send fd", static_cast<int>(-n));
  data.remove_prefix(static_cast<size_t>(n));
  while (!data.empty()) {
    ssize_t m = ::send(socket_fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (m < 0 && errno == EINTR) continue;
    if (m < 0) return ErrnoError("send fd: send the rest of the message");
    data.remove_prefix(static_cast<size_t>(m));
  }
  return {};
}

Result<UniqueFd> ReceiveFd(int socket_fd, std::string* data, size_t max_data) {
  std::vector<char> buf(max_data == 0 ? 1 : max_data);
  // Room for a few fds so that a sender passing too many is detected, not truncated.
  union {
    char buf[CMSG_SPACE(8 * sizeof(int))];
    cmsghdr align;
  } control;
  std::memset(&control, 0, sizeof control);
  iovec iov{buf.data(), buf.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buf;
  msg.msg_controllen = sizeof control.buf;
  ssize_t n;
  do {
    n = ::recvmsg(socket_fd, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return ErrnoError("receive fd");

  std::vector<UniqueFd> fds;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      fds.emplace_back(fd);
    }
  }
  if (msg.msg_flags & MSG_CTRUNC) return Fail("receive fd: control data truncated", EMSGSIZE);
  if (n == 0 && fds.empty()) return Fail("receive fd: peer closed the socket", ECONNRESET);
  if (fds.size() != 1)
    return Fail("receive fd: expected one fd, got " + std::to_string(fds.size()), EBADMSG);
  if (data) data->assign(buf.data(), static_cast<size_t>(n));
  return std::move(fds.front());
}

}  // namespace berth::linux
