#include "cli/supervise.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <optional>

#include "linux/process.h"
#include "linux/terminal.h"
#include "linux/unique_fd.h"

namespace berth::cli {
namespace {

// Copies what is readable on `from` to `to`; false on end of file or error.
bool Pump(int from, int to) {
  char buf[8192];
  ssize_t n = ::read(from, buf, sizeof buf);
  if (n <= 0) return n < 0 && (errno == EAGAIN || errno == EINTR);
  const char* p = buf;
  while (n > 0) {
    ssize_t w = ::write(to, p, static_cast<size_t>(n));
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += w;
    n -= w;
  }
  return true;
}

void CopyWindowSize(int from, int to) {
  winsize ws;
  if (::ioctl(from, TIOCGWINSZ, &ws) == 0) ::ioctl(to, TIOCSWINSZ, &ws);
}

}  // namespace

sigset_t ForwardedSignals() {
  sigset_t forwarded;
  sigfillset(&forwarded);
  for (int s : {SIGCHLD, SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGKILL, SIGSTOP, SIGURG})
    sigdelset(&forwarded, s);
  return forwarded;
}

Result<int> Supervise(const Supervised& c, const sigset_t& forwarded) {
  linux::UniqueFd sigfd(::signalfd(-1, &forwarded, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!sigfd) return ErrnoError("signalfd");
  int master = c.pty_master;
  std::optional<linux::RawTerminal> raw;
  bool stdin_open = master >= 0;
  if (master >= 0 && ::isatty(0)) {
    auto r = linux::RawTerminal::Enter(0);
    if (r) raw.emplace(std::move(*r));
    CopyWindowSize(0, master);
  }
  bool master_open = master >= 0;
  for (;;) {
    pollfd fds[4] = {{c.pidfd, POLLIN, 0},
                     {sigfd.get(), POLLIN, 0},
                     {master_open ? master : -1, POLLIN, 0},
                     {stdin_open ? 0 : -1, POLLIN, 0}};
    if (::poll(fds, 4, -1) < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("poll");
    }
    if (fds[1].revents & POLLIN) {
      signalfd_siginfo si;
      while (::read(sigfd.get(), &si, sizeof si) == sizeof si) {
        if (si.ssi_signo == SIGWINCH) {
          if (master >= 0) CopyWindowSize(0, master);
          continue;
        }
        (void)linux::PidfdSendSignal(c.pidfd, static_cast<int>(si.ssi_signo));
      }
    }
    if (fds[2].revents & (POLLIN | POLLHUP)) master_open = Pump(master, 1);
    if (fds[3].revents & (POLLIN | POLLHUP)) stdin_open = Pump(0, master);
    if (fds[0].revents & POLLIN) break;
  }
  // Output the process wrote just before exiting.
  if (master_open) {
    ::fcntl(master, F_SETFL, O_NONBLOCK);
    while (Pump(master, 1)) {
      pollfd p{master, POLLIN, 0};
      if (::poll(&p, 1, 0) <= 0) break;
    }
  }
  return linux::WaitForExit(c.pid);
}

}  // namespace berth::cli
