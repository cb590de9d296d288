#include "linux/terminal.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

namespace berth::linux {

int OpenPty(const char* ptmx_path, int* master, int* slave) noexcept {
  int m = ::open(ptmx_path, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (m < 0) return -errno;
  int unlock = 0;
  if (::ioctl(m, TIOCSPTLCK, &unlock) < 0) {
    int e = errno;
    ::close(m);
    return -e;
  }
  int s = ::ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (s < 0) {
    int e = errno;
    ::close(m);
    return -e;
  }
  *master = m;
  *slave = s;
  return 0;
}

int SetWindowSize(int fd, unsigned short rows, unsigned short cols) noexcept {
  winsize ws{};
  ws.ws_row = rows;
  ws.ws_col = cols;
  return ::ioctl(fd, TIOCSWINSZ, &ws) < 0 ? -errno : 0;
}

int AttachTerminal(int slave) noexcept {
  if (::setsid() < 0 && errno != EPERM) return -errno;
  if (::ioctl(slave, TIOCSCTTY, 0) < 0) return -errno;
  for (int fd = 0; fd < 3; ++fd)
    if (::dup2(slave, fd) < 0) return -errno;
  return 0;
}

Result<RawTerminal> RawTerminal::Enter(int fd) {
  termios saved;
  if (::tcgetattr(fd, &saved) < 0) return ErrnoError("tcgetattr");
  termios raw = saved;
  ::cfmakeraw(&raw);
  if (::tcsetattr(fd, TCSANOW, &raw) < 0) return ErrnoError("tcsetattr");
  return RawTerminal(fd, saved);
}

RawTerminal::RawTerminal(RawTerminal&& other) noexcept : fd_(other.fd_), saved_(other.saved_) {
  other.fd_ = -1;
}

RawTerminal::~RawTerminal() {
  if (fd_ >= 0) ::tcsetattr(fd_, TCSANOW, &saved_);
}

}  // namespace berth::linux
