// `ps`: the container's pids as JSON, or the host's `ps` output cut down to them.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

#include "cli/cli.h"
#include "linux/files.h"
#include "linux/process.h"

extern char** environ;

namespace berth::cli {
namespace {

// Runs the host's ps with `args` and returns its stdout and stderr together (as runc).
Result<std::string> RunPs(const std::vector<std::string>& args) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) < 0) return ErrnoError("pipe");
  linux::UniqueFd read_end(pipe_fds[0]), write_end(pipe_fds[1]);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, write_end.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, write_end.get(), 2);
  std::vector<std::string> argv_strings = {"ps"};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_strings) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid;
  int err = ::posix_spawnp(&pid, "ps", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (err != 0) return ErrnoError("run ps", err);
  write_end = linux::UniqueFd();
  auto output = linux::ReadFd(read_end.get());
  int status = BERTH_TRY(linux::WaitForExit(pid));
  if (!output) return std::unexpected(output.error());
  if (status != 0) return Fail("ps exited with status " + std::to_string(status) + ": " + *output);
  return *output;
}

}  // namespace

void AddPs(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand(
      "ps", "list the processes of a container; arguments after the id go to ps (default -ef)");
  struct Flags {
    std::string id, format = "table";
  };
  auto f = std::make_shared<Flags>();
  cmd->add_option("-f,--format", f->format, "table (the host's ps) or json (an array of pids)")
      ->check(CLI::IsMember({"table", "json"}));
  cmd->add_option("container-id", f->id, "the container's id")->required();
  // Everything after the id is ps's, dashes included (`berth ps c1 -o pid,comm`).
  cmd->prefix_command();
  cmd->callback([&action, f, cmd] {
    auto ps_args = std::make_shared<std::vector<std::string>>(cmd->remaining());
    action = [f, ps_args](const container::Runtime& rt) -> Result<int> {
      auto pids = BERTH_TRY(container::Processes(rt, f->id));
      if (f->format == "json") {
        std::string out = "[";
        for (size_t i = 0; i < pids.size(); ++i) out += (i ? "," : "") + std::to_string(pids[i]);
        std::printf("%s]\n", out.c_str());
        return 0;
      }
      std::vector<std::string> args = ps_args->empty() ? std::vector<std::string>{"-ef"} : *ps_args;
      std::string table = BERTH_TRY(RunPs(args));
      std::string rows = BERTH_TRY(container::FilterPsTable(table, pids));
      std::fwrite(rows.data(), 1, rows.size(), stdout);
      return 0;
    };
  });
}

}  // namespace berth::cli
