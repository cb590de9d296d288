#include "linux/spawn.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cerrno>

#include "linux/process.h"

extern char** environ;

namespace berth::linux {
namespace {

std::vector<char*> Pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// posix_spawn's two attribute objects, destroyed on every path.
struct SpawnAttributes {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  SpawnAttributes() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
  }
  ~SpawnAttributes() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
};

}  // namespace

Result<Spawned> Spawn(const SpawnOptions& o) {
  SpawnAttributes s;
  for (const SpawnFd& fd : o.fds) {
    int rc = fd.source < 0
                 ? posix_spawn_file_actions_addopen(&s.actions, fd.target, "/dev/null", fd.null_flags, 0)
                 : posix_spawn_file_actions_adddup2(&s.actions, fd.source, fd.target);
    if (rc != 0) return ErrnoError("prepare the fds of " + o.path, rc);
  }
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&s.attr, &none);
  posix_spawnattr_setsigdefault(&s.attr, &all);
  posix_spawnattr_setflags(&s.attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<std::string> args = o.args.empty() ? std::vector<std::string>{o.path} : o.args;
  std::vector<std::string> env = o.env;
  std::vector<char*> argv = Pointers(args);
  std::vector<char*> envp = Pointers(env);
  char** environment = o.env.empty() ? environ : envp.data();
  pid_t pid = 0;
  int rc = o.search_path
               ? posix_spawnp(&pid, o.path.c_str(), &s.actions, &s.attr, argv.data(), environment)
               : posix_spawn(&pid, o.path.c_str(), &s.actions, &s.attr, argv.data(), environment);
  if (rc != 0) return ErrnoError("exec " + o.path, rc);
  auto pidfd = PidfdOpen(pid);
  if (!pidfd) {
    ::kill(pid, SIGKILL);
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    return Fail(std::move(pidfd.error()).Context("watch " + o.path));
  }
  return Spawned{pid, std::move(*pidfd)};
}

}  // namespace berth::linux
