#include "container/hooks.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>

#include "linux/process.h"
#include "linux/spawn.h"
#include "linux/unique_fd.h"


namespace berth::container {
namespace {

using linux::UniqueFd;

constexpr size_t kMaxCapturedOutput = 4096;

int64_t NowMs() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct Pipe {
  UniqueFd read, write;
};

Result<Pipe> MakePipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) < 0) return ErrnoError("pipe");
  return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

// The hook's stdin is a socket, not a pipe: send(MSG_NOSIGNAL) to a hook that
// never reads gets EPIPE instead of killing the runtime (or the shim) by SIGPIPE.
Result<Pipe> MakeStdinSocket() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0) return ErrnoError("socketpair");
  ::shutdown(fds[0], SHUT_WR);
  ::shutdown(fds[1], SHUT_RD);
  return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

Result<linux::Spawned> Spawn(const oci::Hook& hook, int stdin_fd, int output_fd) {
  return linux::Spawn({.path = hook.path,
                       .args = hook.args,
                       .env = hook.env,
                       .fds = {{0, stdin_fd}, {1, output_fd}, {2, output_fd}}});
}

// Feeds stdin, collects output, and waits for the exit, all under one deadline.
Result<int> Supervise(linux::Spawned child, UniqueFd stdin_w, UniqueFd output_r,
                      const std::string& input, int timeout_s, std::string& output) {
  const pid_t pid = child.pid;
  const UniqueFd& pidfd = child.pidfd;
  ::fcntl(stdin_w.get(), F_SETFL, O_NONBLOCK);
  size_t written = 0;
  int64_t deadline = timeout_s > 0 ? NowMs() + timeout_s * 1000LL : -1;
  bool exited = false;
  while (!exited) {
    // A negative fd is skipped by poll(2): closed pipes drop out.
    pollfd fds[3] = {{pidfd.get(), POLLIN, 0}, {output_r.get(), POLLIN, 0},
                     {stdin_w.get(), POLLOUT, 0}};
    int wait_ms = deadline < 0 ? -1 : static_cast<int>(std::max<int64_t>(0, deadline - NowMs()));
    int r = ::poll(fds, 3, wait_ms);
    if (r < 0 && errno != EINTR) return ErrnoError("poll");
    if (r == 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      return Fail("timed out after " + std::to_string(timeout_s) + "s", ETIMEDOUT);
    }
    if (r < 0) continue;
    if (fds[2].revents & (POLLOUT | POLLERR | POLLHUP)) {
      ssize_t w = ::send(stdin_w.get(), input.data() + written, input.size() - written,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
      // EPIPE: the hook does not read its stdin, which is fine.
      if (w < 0 && errno != EAGAIN && errno != EINTR) stdin_w.reset();
      if (w > 0) written += static_cast<size_t>(w);
      if (written == input.size()) stdin_w.reset();
    }
    if (fds[1].revents & (POLLIN | POLLHUP)) {
      char buf[1024];
      ssize_t got = ::read(output_r.get(), buf, sizeof buf);
      if (got > 0 && output.size() < kMaxCapturedOutput) output.append(buf, static_cast<size_t>(got));
      if (got == 0) output_r.reset();
    }
    if (fds[0].revents & POLLIN) exited = true;
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  // Whatever the hook wrote before exiting (its children may keep the pipe open).
  if (output_r) {
    ::fcntl(output_r.get(), F_SETFL, O_NONBLOCK);
    char buf[1024];
    ssize_t got;
    while (output.size() < kMaxCapturedOutput &&
           (got = ::read(output_r.get(), buf, sizeof buf)) > 0)
      output.append(buf, static_cast<size_t>(got));
  }
  return status;
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  for (char& c : s)
    if (c == '\n') c = ' ';
  return s;
}

Result<void> RunHook(const oci::Hook& hook, const std::string& what, const std::string& state) {
  Pipe in = BERTH_TRY(MakeStdinSocket());
  Pipe out = BERTH_TRY(MakePipe());
  linux::Spawned child = BERTH_TRY_CTX(Spawn(hook, in.read.get(), out.write.get()), what);
  in.read.reset();
  out.write.reset();
  std::string output;
  int status = BERTH_TRY_CTX(
      Supervise(std::move(child), std::move(in.write), std::move(out.read), state,
                hook.timeout.value_or(0), output),
      what);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
  std::string why = WIFEXITED(status) ? "exited with status " + std::to_string(WEXITSTATUS(status))
                                      : "was killed by signal " + std::to_string(WTERMSIG(status));
  output = Trim(output);
  return Fail(what + " " + why + (output.empty() ? "" : ": " + output));
}

}  // namespace

Result<void> RunHooks(const std::vector<oci::Hook>& hooks, const char* kind,
                      const std::string& state_json) {
  for (size_t i = 0; i < hooks.size(); ++i) {
    std::string what = std::string(kind) + " hook " + std::to_string(i) + " (" + hooks[i].path + ")";
    BERTH_TRY(RunHook(hooks[i], what, state_json));
  }
  return {};
}

std::vector<std::string> RunHooksReportingFailures(const std::vector<oci::Hook>& hooks,
                                                   const char* kind, const std::string& state_json) {
  std::vector<std::string> failures;
  for (size_t i = 0; i < hooks.size(); ++i) {
    std::string what = std::string(kind) + " hook " + std::to_string(i) + " (" + hooks[i].path + ")";
    auto r = RunHook(hooks[i], what, state_json);
    if (!r) failures.push_back(r.error().message);
  }
  return failures;
}

}  // namespace berth::container
