// The `berth` command line: runc's commands, flags and exit codes. Each
// cli/<command>.cc only declares its flags and calls the container library.
#pragma once

#include <signal.h>

#include <CLI/CLI.hpp>

#include <functional>
#include <string>

#include "base/result.h"
#include "container/container.h"

namespace berth::cli {

// /run/berth; for a user other than root with $XDG_RUNTIME_DIR set, $XDG_RUNTIME_DIR/berth
// (runc's rule for its /run/runc).
std::string DefaultStateRoot();

struct GlobalFlags {
  std::string root = DefaultStateRoot();
  std::string log_path;
  std::string log_format = "text";
  bool debug = false;
  bool systemd_cgroup = false;
  std::string criu = "criu";
};

// What a subcommand does once parsed: its exit status, or an error that main
// prints on one line and turns into exit status 1.
using Action = std::function<Result<int>(const container::Runtime&)>;

// Each registers one subcommand on `app` and sets `action` when it is chosen.
void AddCreate(CLI::App& app, Action& action);
void AddStart(CLI::App& app, Action& action);
void AddRun(CLI::App& app, Action& action);

// berth's main. kSeal re-executes the commands that start container processes from a
// sealed copy of the binary (CVE-2019-5736); only a test binary passes kDoNotSeal, to
// show that the attack works without it.
enum class Sealing { kSeal, kDoNotSeal };
int Main(int argc, char** argv, Sealing sealing);
void AddState(CLI::App& app, Action& action);
void AddKill(CLI::App& app, Action& action);
void AddDelete(CLI::App& app, Action& action);
void AddList(CLI::App& app, Action& action);
void AddSpec(CLI::App& app, Action& action);
void AddFeatures(CLI::App& app, Action& action);
void AddStop(CLI::App& app, Action& action);
void AddPause(CLI::App& app, Action& action);
void AddResume(CLI::App& app, Action& action);
void AddUpdate(CLI::App& app, Action& action);
void AddPs(CLI::App& app, Action& action);
void AddEvents(CLI::App& app, Action& action);
void AddExec(CLI::App& app, Action& action);
void AddCheckpoint(CLI::App& app, Action& action);
void AddRestore(CLI::App& app, Action& action);

// Options shared by create and run.
struct CreateFlags {
  std::string id;
  std::string bundle = ".";
  std::string pid_file;
  std::string console_socket;
  std::string pidfd_socket;
  bool no_pivot = false;
  bool no_new_keyring = false;
  int preserve_fds = 0;
};
void AddCreateFlags(CLI::App* cmd, CreateFlags& flags);
container::CreateOptions ToCreateOptions(const CreateFlags& flags);

}  // namespace berth::cli
