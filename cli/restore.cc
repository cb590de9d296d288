// `restore`: runc's flags, then container::Restore; in the foreground it then
// waits like `run` (signals, terminal), deletes the container and exits with
// its status.
#include <signal.h>
#include <sys/prctl.h>

#include "cli/cli.h"
#include "cli/criu_flags.h"

namespace berth::cli {
namespace {

struct RestoreFlags {
  std::string id, bundle = ".", pid_file, console_socket, lsm_profile, lsm_mount_context;
  CriuFlags criu;
  bool detach = false, no_subreaper = false, no_pivot = false;
};

Result<int> RunRestore(const container::Runtime& rt, const RestoreFlags& f) {
  container::RestoreOptions o;
  o.id = f.id;
  o.bundle = f.bundle;
  o.criu = BERTH_TRY(ToCriuOptions(f.criu));
  o.pid_file = f.pid_file;
  o.console_socket = f.console_socket;
  o.no_pivot = f.no_pivot;
  o.lsm_profile = f.lsm_profile;
  o.lsm_mount_context = f.lsm_mount_context;
  o.keep_pty_master = !f.detach;
  // Processes of the container that outlive the init are reparented to us, and
  // reaped, rather than to the system's init (runc's default too).
  if (!f.detach && !f.no_subreaper && ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
    return ErrnoError("prctl(PR_SET_CHILD_SUBREAPER)");
  sigset_t forwarded, previous;
  sigfillset(&forwarded);
  for (int s : {SIGCHLD, SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGKILL, SIGSTOP, SIGURG})
    sigdelset(&forwarded, s);
  if (!f.detach) ::sigprocmask(SIG_BLOCK, &forwarded, &previous);
  container::CreateResult c = BERTH_TRY(container::Restore(rt, o));
  if (f.detach) return 0;
  auto status = Supervise(c, forwarded);
  auto d = container::Delete(rt, o.id, /*force=*/true);
  if (!d) rt.Log(container::LogLevel::kWarning, d.error().message);
  return status;
}

}  // namespace

void AddRestore(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("restore", "restore a container from a checkpoint (criu)");
  auto f = std::make_shared<RestoreFlags>();
  cmd->add_option("container-id", f->id, "the container's id")->required();
  AddCriuFlags(cmd, f->criu);
  cmd->add_option("-b,--bundle", f->bundle, "path to the bundle (default: the current directory)");
  cmd->add_flag("-d,--detach", f->detach, "return once the container runs");
  cmd->add_option("--pid-file", f->pid_file, "write the restored init's pid to this file");
  cmd->add_option("--console-socket", f->console_socket,
                  "unix socket that receives the new pty master (process.terminal)");
  cmd->add_flag("--no-subreaper", f->no_subreaper,
                "do not reap the container's reparented processes (foreground)");
  cmd->add_flag("--no-pivot", f->no_pivot,
                "accepted for runc compatibility: criu sets up the root itself");
  cmd->add_option("--lsm-profile", f->lsm_profile,
                  "LSM profile for the restored processes (apparmor:NAME or selinux:LABEL)");
  cmd->add_option("--lsm-mount-context", f->lsm_mount_context, "SELinux mount context");
  cmd->callback([&action, f] {
    action = [f](const container::Runtime& rt) { return RunRestore(rt, *f); };
  });
}

}  // namespace berth::cli
