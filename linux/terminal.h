// Pseudo-terminals for process.terminal.
#pragma once

#include <termios.h>

#include "base/result.h"
#include "linux/unique_fd.h"

namespace berth::linux {

// Async-signal-safe. Opens a pty master at `ptmx_path` and its peer with
// TIOCGPTPEER (no path lookup of the slave, so no symlink games). 0 or -errno.
int OpenPty(const char* ptmx_path, int* master, int* slave) noexcept;
// As OpenPty for the devpts multiplexer "/dev/pts/ptmx" of the root at `root_fd`
// (what /dev/ptmx links to), reached inside it without following any symlink and
// used only if it is c 5:2 on devpts: a container that replaced /dev/ptmx or
// planted /dev/pts/N links cannot make us use anything else (CVE-2025-52565).
int OpenPtyInRoot(int root_fd, int* master, int* slave) noexcept;
int SetWindowSize(int fd, unsigned short rows, unsigned short cols) noexcept;
// New session with `slave` as controlling terminal and as fds 0, 1 and 2.
int AttachTerminal(int slave) noexcept;

// Puts the terminal on `fd` into raw mode; restores it on destruction.
class RawTerminal {
 public:
  static Result<RawTerminal> Enter(int fd);
  RawTerminal(RawTerminal&& other) noexcept;
  RawTerminal& operator=(RawTerminal&&) = delete;
  ~RawTerminal();

 private:
  RawTerminal(int fd, const termios& saved) : fd_(fd), saved_(saved) {}
  int fd_ = -1;
  termios saved_{};
};

}  // namespace berth::linux
