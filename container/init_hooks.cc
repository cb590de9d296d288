// createContainer and startContainer hooks, run by init inside the container's
// namespaces. Async-signal-safe: raw clone3 + execve, poll on a pidfd.
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "container/init_context.h"
#include "linux/async_safe.h"
#include "linux/process.h"

extern char** environ;

namespace berth::container {
namespace {

using linux::FixedText;

// Writes the state JSON (prefix + pid + suffix) to the hook's stdin.
void WriteState(int fd, const InitContext& ctx) noexcept {
  char pid[24];
  FixedText(pid, sizeof pid).Add(static_cast<long>(ctx.host_pid));
  // A hook that does not read its stdin is fine (SIGPIPE is ignored here).
  linux::WriteFully(fd, ctx.plan.hook_state_prefix.data(), ctx.plan.hook_state_prefix.size());
  linux::WriteFully(fd, pid, std::strlen(pid));
  linux::WriteFully(fd, ctx.plan.hook_state_suffix.data(), ctx.plan.hook_state_suffix.size());
}

// Returns the hook's wait status, or -ETIMEDOUT.
int WaitHook(int pidfd, pid_t pid, int timeout_seconds) noexcept {
  pollfd p{pidfd, POLLIN, 0};
  int timeout_ms = timeout_seconds > 0 ? timeout_seconds * 1000 : -1;
  int r;
  do {
    r = ::poll(&p, 1, timeout_ms);
  } while (r < 0 && errno == EINTR);
  if (r == 0) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    return -ETIMEDOUT;
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

void RunHook(InitContext& ctx, const HookCommand& hook) noexcept {
  int pipe_fds[2];
  ctx.CheckErrno(::pipe2(pipe_fds, O_CLOEXEC), "pipe for ", hook.description.c_str());
  int pidfd = -1;
  pid_t pid = linux::Clone3(CLONE_PIDFD, &pidfd);
  if (pid == 0) {
    ::dup2(pipe_fds[0], 0);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    ::sigaction(SIGPIPE, &dfl, nullptr);
    char* const* envp = hook.envp.empty() ? environ : hook.envp.get();
    ::execve(hook.path.c_str(), hook.argv.get(), envp);
    ::_exit(127);
  }
  if (pid < 0) ctx.Fail(-pid, "fork ", hook.description.c_str());
  ::close(pipe_fds[0]);
  WriteState(pipe_fds[1], ctx);
  ::close(pipe_fds[1]);
  int status = WaitHook(pidfd, pid, hook.timeout_seconds);
  ::close(pidfd);
  if (status == -ETIMEDOUT) ctx.Fail(ETIMEDOUT, hook.description.c_str(), " timed out");
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return;
  char why[64];
  FixedText w(why, sizeof why);
  if (WIFEXITED(status)) w.Add(" exited with status ").Add(WEXITSTATUS(status));
  else w.Add(" was killed by signal ").Add(WTERMSIG(status));
  ctx.Fail(0, hook.description.c_str(), why);
}

}  // namespace

void RunContainerHooks(InitContext& ctx, const std::vector<HookCommand>& hooks) noexcept {
  for (const auto& hook : hooks) RunHook(ctx, hook);
}

}  // namespace berth::container
