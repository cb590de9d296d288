#include "cli/cli.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>

namespace berth::cli {
namespace {

// systemd's socket activation (sd_listen_fds(3)): the fds from 3 on are passed on when
// $LISTEN_PID names this process, as runc does.
int ListenFdsFromEnvironment() {
  const char* pid = ::getenv("LISTEN_PID");
  const char* fds = ::getenv("LISTEN_FDS");
  if (!pid || !fds || std::atoi(pid) != ::getpid()) return 0;
  return std::max(std::atoi(fds), 0);
}

}  // namespace

void AddCreateFlags(CLI::App* cmd, CreateFlags& f) {
  cmd->add_option("container-id", f.id, "the container's id")->required();
  cmd->add_option("-b,--bundle", f.bundle, "path to the bundle (default: the current directory)");
  cmd->add_option("--pid-file", f.pid_file, "write the init's pid to this file");
  cmd->add_option("--console-socket", f.console_socket,
                  "unix socket that receives the pty master (process.terminal)");
  cmd->add_option("--pidfd-socket", f.pidfd_socket,
                  "unix socket that receives a pidfd of the container's init");
  cmd->add_flag("--no-pivot", f.no_pivot, "do not use pivot_root (for a ramdisk root)");
  cmd->add_flag("--no-new-keyring", f.no_new_keyring, "keep the caller's session keyring");
  cmd->add_option("--preserve-fds", f.preserve_fds,
                  "pass this many fds after stdio (3, 4, ...) to the process")
      ->check(CLI::NonNegativeNumber);
}

container::CreateOptions ToCreateOptions(const CreateFlags& f) {
  container::CreateOptions o;
  o.id = f.id;
  o.bundle = f.bundle;
  o.pid_file = f.pid_file;
  o.console_socket = f.console_socket;
  o.pidfd_socket = f.pidfd_socket;
  o.no_pivot = f.no_pivot;
  o.no_new_keyring = f.no_new_keyring;
  o.preserve_fds = f.preserve_fds;
  o.listen_fds = ListenFdsFromEnvironment();
  return o;
}

void AddCreate(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("create", "create a container (its process waits for start)");
  auto flags = std::make_shared<CreateFlags>();
  AddCreateFlags(cmd, *flags);
  cmd->callback([&action, flags] {
    action = [flags](const container::Runtime& rt) -> Result<int> {
      BERTH_TRY(container::Create(rt, ToCreateOptions(*flags)));
      return 0;
    };
  });
}

}  // namespace berth::cli
