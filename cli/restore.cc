// `restore`: runc's flags; RunRestore (criu_run.cc, or criu_exec.cc in
// `berth`) does the rest.
#include "cli/cli.h"
#include "cli/criu_flags.h"

namespace berth::cli {

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
  cmd->callback(
      [&action, f] { action = [f](const container::Runtime& rt) { return RunRestore(rt, *f); }; });
}

}  // namespace berth::cli
