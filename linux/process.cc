#include "linux/process.h"

#include <linux/sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <charconv>
#include <cstring>

#include "linux/files.h"

namespace berth::linux {

pid_t Clone3(uint64_t flags, int* pidfd, int exit_signal, int cgroup_fd) noexcept {
  clone_args args;
  std::memset(&args, 0, sizeof args);
  args.flags = flags;
  if (flags & CLONE_INTO_CGROUP) args.cgroup = static_cast<uint64_t>(cgroup_fd);
  // clone3 refuses an exit signal with CLONE_PARENT: the child inherits ours.
  args.exit_signal = (flags & CLONE_PARENT) ? 0 : static_cast<uint64_t>(exit_signal);
  if (flags & CLONE_PIDFD) args.pidfd = reinterpret_cast<uint64_t>(pidfd);
  long r = ::syscall(SYS_clone3, &args, sizeof args);
  return r < 0 ? -errno : static_cast<pid_t>(r);
}

Result<UniqueFd> PidfdOpen(pid_t pid) {
  int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) return ErrnoError("pidfd_open " + std::to_string(pid));
  return UniqueFd(fd);
}

Result<void> PidfdSendSignal(int pidfd, int signal) {
  if (::syscall(SYS_pidfd_send_signal, pidfd, signal, nullptr, 0) < 0)
    return ErrnoError("pidfd_send_signal");
  return {};
}

Result<UniqueFd> PidfdGetFd(int pidfd, int target_fd) {
  long fd = ::syscall(SYS_pidfd_getfd, pidfd, target_fd, 0);
  if (fd < 0) return ErrnoError("pidfd_getfd");
  return UniqueFd(static_cast<int>(fd));
}

Result<ProcStat> ReadProcStat(pid_t pid) {
  std::string text = BERTH_TRY(ReadFile("/proc/" + std::to_string(pid) + "/stat"));
  // The command name (field 2) may hold spaces and parentheses: parse after the last ')'.
  auto close = text.rfind(')');
  if (close == std::string::npos || close + 2 >= text.size())
    return Fail("malformed /proc/" + std::to_string(pid) + "/stat");
  ProcStat st;
  st.state = text[close + 2];
  // Fields from 3 on are space separated; start_time is field 22.
  size_t pos = close + 2;
  for (int field = 3; field < 22; ++field) {
    pos = text.find(' ', pos);
    if (pos == std::string::npos) return Fail("malformed /proc/" + std::to_string(pid) + "/stat");
    ++pos;
  }
  std::from_chars(text.data() + pos, text.data() + text.size(), st.start_time);
  return st;
}

bool ProcessIsAlive(pid_t pid, uint64_t start_time) {
  if (pid <= 0) return false;
  auto st = ReadProcStat(pid);
  return st && st->state != 'Z' && st->state != 'X' && st->start_time == start_time;
}

Result<void> SignalProcess(pid_t pid, uint64_t start_time, int signal) {
  auto fd = PidfdOpen(pid);
  if (!fd) return ErrnoError("signal pid " + std::to_string(pid), fd.error().code);
  // The pidfd pins the process: once the start time matches, the pid cannot be recycled.
  if (!ProcessIsAlive(pid, start_time))
    return ErrnoError("signal pid " + std::to_string(pid), ESRCH);
  return WithContext(PidfdSendSignal(fd->get(), signal), "signal pid " + std::to_string(pid));
}

namespace {

struct SignalName {
  std::string_view name;
  int number;
};

constexpr SignalName kSignals[] = {
    {"HUP", SIGHUP},     {"INT", SIGINT},       {"QUIT", SIGQUIT},   {"ILL", SIGILL},
    {"TRAP", SIGTRAP},   {"ABRT", SIGABRT},     {"IOT", SIGIOT},     {"BUS", SIGBUS},
    {"FPE", SIGFPE},     {"KILL", SIGKILL},     {"USR1", SIGUSR1},   {"SEGV", SIGSEGV},
    {"USR2", SIGUSR2},   {"PIPE", SIGPIPE},     {"ALRM", SIGALRM},   {"TERM", SIGTERM},
    {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD},   {"CONT", SIGCONT},   {"STOP", SIGSTOP},
    {"TSTP", SIGTSTP},   {"TTIN", SIGTTIN},     {"TTOU", SIGTTOU},   {"URG", SIGURG},
    {"XCPU", SIGXCPU},   {"XFSZ", SIGXFSZ},     {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF},
    {"WINCH", SIGWINCH}, {"IO", SIGIO},         {"POLL", SIGPOLL},   {"PWR", SIGPWR},
    {"SYS", SIGSYS},
};

bool ParseInt(std::string_view s, int& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

Result<int> ParseSignal(std::string_view text) {
  int n;
  if (ParseInt(text, n)) {
    // 0 sends nothing: kill(2)'s check that the process exists (runc accepts it).
    if (n < 0 || n > SIGRTMAX) return Fail("invalid signal " + std::string(text));
    return n;
  }
  std::string_view name = text;
  if (name.starts_with("SIG")) name.remove_prefix(3);
  for (const auto& s : kSignals)
    if (s.name == name) return s.number;
  if (name.starts_with("RTMIN")) {
    std::string_view rest = name.substr(5);
    int offset = 0;
    if (rest.empty() || (rest[0] == '+' && ParseInt(rest.substr(1), offset))) {
      if (SIGRTMIN + offset <= SIGRTMAX) return SIGRTMIN + offset;
    }
  }
  if (name.starts_with("RTMAX")) {
    std::string_view rest = name.substr(5);
    int offset = 0;
    if (rest.empty() || (rest[0] == '-' && ParseInt(rest.substr(1), offset))) {
      if (SIGRTMAX - offset >= SIGRTMIN) return SIGRTMAX - offset;
    }
  }
  return Fail("unknown signal \"" + std::string(text) + "\"");
}

std::vector<std::string> SignalNames() {
  std::vector<std::string> out;
  for (const auto& s : kSignals) out.push_back("SIG" + std::string(s.name));
  return out;
}

int ExitCodeFromWaitStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 255;
}

Result<int> WaitForExit(pid_t pid) {
  int status;
  for (;;) {
    pid_t r = ::waitpid(pid, &status, 0);
    if (r == pid) return ExitCodeFromWaitStatus(status);
    if (r < 0 && errno == EINTR) continue;
    return ErrnoError("waitpid " + std::to_string(pid));
  }
}

}  // namespace berth::linux
