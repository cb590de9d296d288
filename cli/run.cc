// `run`: create + start; in the foreground it forwards signals, proxies the
// terminal, waits, deletes the container (unless --keep) and exits with the
// container's status.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <optional>

#include "cli/cli.h"
#include "linux/process.h"
#include "linux/terminal.h"

namespace berth::cli {
namespace {

struct RunFlags {
  CreateFlags create;
  bool detach = false;
  bool keep = false;
};

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

// Waits for the init, forwarding signals and the terminal. Returns its exit status.
Result<int> Supervise(container::CreateResult& c, const sigset_t& forwarded) {
  linux::UniqueFd sigfd(::signalfd(-1, &forwarded, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!sigfd) return ErrnoError("signalfd");
  int master = c.pty_master.get();
  std::optional<linux::RawTerminal> raw;
  bool stdin_open = master >= 0;
  if (master >= 0) {
    if (::isatty(0)) {
      auto r = linux::RawTerminal::Enter(0);
      if (r) raw.emplace(std::move(*r));
      CopyWindowSize(0, master);
    }
  }
  bool master_open = master >= 0;
  for (;;) {
    pollfd fds[4] = {{c.pidfd.get(), POLLIN, 0},
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
        (void)linux::PidfdSendSignal(c.pidfd.get(), static_cast<int>(si.ssi_signo));
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

namespace {

Result<int> RunContainer(const container::Runtime& rt, const RunFlags& f) {
  container::CreateOptions o = ToCreateOptions(f.create);
  o.keep_pty_master = !f.detach;
  // Signals for the container are queued from now on, not lost before we listen.
  sigset_t forwarded, previous;
  sigfillset(&forwarded);
  for (int s : {SIGCHLD, SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGKILL, SIGSTOP, SIGURG})
    sigdelset(&forwarded, s);
  if (!f.detach) ::sigprocmask(SIG_BLOCK, &forwarded, &previous);
  container::CreateResult c = BERTH_TRY(container::Create(rt, o));
  auto started = container::Start(rt, o.id);
  if (!started) {
    (void)container::Delete(rt, o.id, /*force=*/true);
    return Fail(std::move(started.error()));
  }
  if (f.detach) return 0;
  auto status = Supervise(c, forwarded);
  if (!f.keep) {
    auto d = container::Delete(rt, o.id, /*force=*/true);
    if (!d) rt.Log(container::LogLevel::kWarning, d.error().message);
  }
  return status;
}

}  // namespace

void AddRun(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("run", "create and start a container");
  auto f = std::make_shared<RunFlags>();
  AddCreateFlags(cmd, f->create);
  cmd->add_flag("-d,--detach", f->detach, "return once the container runs");
  cmd->add_flag("--keep", f->keep, "do not delete the container after it exits");
  cmd->callback([&action, f] {
    action = [f](const container::Runtime& rt) -> Result<int> { return RunContainer(rt, *f); };
  });
}

}  // namespace berth::cli
