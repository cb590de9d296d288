// Helpers for the seccomp tests: profile builders, a temporary directory, and a child
// process that loads a program and reports what its syscalls returned.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "linux/files.h"
#include "linux/seccomp.h"
#include "oci/spec.h"

namespace berth::linux::testing {

inline oci::SeccompArg Arg(uint32_t index, std::string op, uint64_t value, uint64_t value_two = 0) {
  return oci::SeccompArg{index, value, value_two, std::move(op)};
}

inline oci::SeccompSyscall Rule(std::vector<std::string> names, std::string action,
                                std::optional<uint32_t> errno_ret = std::nullopt,
                                std::vector<oci::SeccompArg> args = {}) {
  oci::SeccompSyscall s;
  s.names = std::move(names);
  s.action = std::move(action);
  s.errno_ret = errno_ret;
  s.args = std::move(args);
  return s;
}

inline oci::Seccomp Profile(std::string default_action,
                            std::vector<oci::SeccompSyscall> calls = {}) {
  oci::Seccomp p;
  p.default_action = std::move(default_action);
  p.syscalls = std::move(calls);
  return p;
}

// A fresh directory under $TMPDIR (or /tmp), removed with its contents on destruction.
class TempDir {
 public:
  TempDir() {
    const char* base = getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/berth-seccomp-test.XXXXXX";
    if (mkdtemp(tmpl.data())) path_ = tmpl;
  }
  ~TempDir() {
    if (!path_.empty()) (void)RemoveTree(path_);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  bool ok() const { return !path_.empty(); }

 private:
  std::string path_;
};

// What a child reports: a handful of numbers, written to a pipe once its body is done.
struct ChildReport {
  long values[16] = {};
  int count = 0;
  int listener = -1;  // LoadSeccompProgram's result
  void Put(long v) {
    if (count < 16) values[count++] = v;
  }
};

// errno of a failed raw syscall, 0 when it succeeded.
inline long ErrnoOf(long rc) {
  return rc < 0 ? errno : 0;
}

struct ChildOutcome {
  int status = 0;  // waitpid status
  std::vector<long> values;
  bool Exited() const { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }
  bool KilledBy(int sig) const { return WIFSIGNALED(status) && WTERMSIG(status) == sig; }
};

inline constexpr int kLoadFailedExit = 250;

// A forked child running under a filter; killed and reaped if the test leaves early.
class FilteredChild {
 public:
  FilteredChild(pid_t pid, int report_fd) : pid_(pid), report_fd_(report_fd) {}
  FilteredChild(FilteredChild&& o) noexcept
      : pid_(std::exchange(o.pid_, -1)), report_fd_(std::exchange(o.report_fd_, -1)) {}
  FilteredChild(const FilteredChild&) = delete;
  FilteredChild& operator=(const FilteredChild&) = delete;
  ~FilteredChild() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      (void)Wait();
    }
    if (report_fd_ >= 0) close(report_fd_);
  }
  pid_t pid() const { return pid_; }

  // Reads the report until the child closes the pipe, then reaps the child.
  ChildOutcome Wait() {
    ChildOutcome out;
    if (pid_ <= 0) {
      out.status = -1;
      return out;
    }
    long v;
    ssize_t n;
    while ((n = read(report_fd_, &v, sizeof v)) == sizeof v || (n < 0 && errno == EINTR))
      if (n > 0) out.values.push_back(v);
    close(std::exchange(report_fd_, -1));
    while (waitpid(pid_, &out.status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    return out;
  }

 private:
  pid_t pid_;
  int report_fd_;
};

// Forks; the child disables core dumps (SIGSYS kills would dump), arms a 20 s alarm
// against hangs, loads `program` and runs body(report). The report is written to a
// pipe, so a filter under test must allow write and exit_group.
template <class Body>
FilteredChild StartUnderFilter(const SeccompProgram& program, Body body) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) < 0) return FilteredChild(-1, -1);
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    rlimit no_core{0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    alarm(20);
    if (geteuid() != 0) prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    ChildReport report;
    report.listener = LoadSeccompProgram(program);
    if (report.listener < 0) _exit(kLoadFailedExit);
    body(report);
    (void)!write(fds[1], report.values, sizeof(long) * report.count);
    _exit(0);
  }
  close(fds[1]);
  if (pid < 0) {
    close(fds[0]);
    return FilteredChild(-1, -1);
  }
  return FilteredChild(pid, fds[0]);
}

template <class Body>
ChildOutcome RunUnderFilter(const SeccompProgram& program, Body body) {
  return StartUnderFilter(program, body).Wait();
}

inline std::string DescribeStatus(int status) {
  if (WIFEXITED(status)) return "exited " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("killed by ") + strsignal(WTERMSIG(status));
  return "status " + std::to_string(status);
}

}  // namespace berth::linux::testing
