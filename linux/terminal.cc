#include "linux/terminal.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <unistd.h>

#ifndef DEVPTS_SUPER_MAGIC
#define DEVPTS_SUPER_MAGIC 0x1cd1
#endif
#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

namespace berth::linux {

namespace {

// Unlocks the master `m` and opens its peer; closes `m` on failure.
int FinishPty(int m, int* master, int* slave) noexcept {
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

}  // namespace

int OpenPty(const char* ptmx_path, int* master, int* slave) noexcept {
  int m = ::open(ptmx_path, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (m < 0) return -errno;
  return FinishPty(m, master, slave);
}

int OpenPtyInRoot(int root_fd, int* master, int* slave) noexcept {
  open_how how{};
  // O_NONBLOCK: whatever the node turns out to be, opening it must not hang us.
  how.flags = O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK;
  // The devpts multiplexer itself (/dev/ptmx is a symlink to it): no symlink is
  // followed, so nothing the container planted can be opened in its place.
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS;
  long m;
  do {
    m = ::syscall(SYS_openat2, root_fd, "dev/pts/ptmx", &how, sizeof how);
  } while (m < 0 && (errno == EAGAIN || errno == EINTR));
  if (m < 0) return -errno;
  int fd = static_cast<int>(m);
  struct stat st;
  struct statfs fs;
  if (::fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(5, 2) ||
      ::fstatfs(fd, &fs) < 0 || fs.f_type != DEVPTS_SUPER_MAGIC) {
    ::close(fd);
    return -ENOTTY;
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return FinishPty(fd, master, slave);
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
