// berth: an OCI runtime with runc's command line.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>

#include "cli/cli.h"
#include "cli/log.h"
#include "linux/exe_seal.h"
#include "linux/seccomp.h"

#ifndef BERTH_VERSION
#define BERTH_VERSION "0.0.0"
#endif
#ifndef BERTH_COMMIT
#define BERTH_COMMIT "unknown"
#endif

namespace berth::cli {
namespace {

constexpr int kExecFailedExit = 255;

bool StartsContainerProcesses(std::string_view command) {
  return command == "create" || command == "run" || command == "exec";
}

// What the command line names before CLI11 sees it (runc's syntax: global flags, then
// the command), so that a command which must run sealed re-executes before paying
// for the full parse twice. Unsure cases give "": the check after parsing decides.
struct EarlyCommand {
  std::string_view command;
  std::string root = GlobalFlags{}.root;
};
EarlyCommand ScanCommandLine(int argc, char** argv) {
  EarlyCommand out;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (!a.starts_with("-")) {
      out.command = a;
      return out;
    }
    if (a.starts_with("--root=")) {
      out.root = a.substr(7);
    } else if (a == "--root") {
      if (++i == argc) break;
      out.root = argv[i];
    } else if (a == "--log" || a == "--log-format" || a == "--criu") {
      ++i;  // its value
    } else if (a.find('=') == std::string_view::npos && a != "--debug" &&
               a != "--systemd-cgroup") {
      break;  // a flag this scan does not know
    }
  }
  return {};
}

// CVE-2019-5736: commands that start container processes run from a sealed copy of
// this binary, so the container can never write to it.
Result<void> SealIfStarting(std::string_view command, const std::string& root, char** argv) {
  if (!StartsContainerProcesses(command)) return {};
  return linux::ReexecSealed(argv, root + "/.exe-seal");
}

}  // namespace

std::string DefaultStateRoot() {
  const char* xdg = ::getenv("XDG_RUNTIME_DIR");
  if (::geteuid() != 0 && xdg && *xdg) return std::string(xdg) + "/berth";
  return "/run/berth";
}

int Main(int argc, char** argv, Sealing sealing) {
  EarlyCommand early = ScanCommandLine(argc, argv);
  if (sealing == Sealing::kSeal) {
    if (auto sealed = SealIfStarting(early.command, early.root, argv); !sealed) {
      std::fprintf(stderr, "berth: %s\n", sealed.error().message.c_str());
      return 1;
    }
  }

  CLI::App app{"berth: an OCI container runtime"};
  // runc's lines: version, commit, spec, libseccomp.
  app.set_version_flag("-v,--version", std::string("berth version ") + BERTH_VERSION +
                                           "\ncommit: " + BERTH_COMMIT + "\nspec: " +
                                           std::string(oci::kSpecVersion) +
                                           "\nlibseccomp: " + linux::LibseccompVersion());
  app.require_subcommand(1);
  app.fallthrough(false);
  GlobalFlags g;
  app.add_option("--root", g.root, "root directory for the state of containers");
  app.add_option("--log", g.log_path, "log file (default: stderr)");
  app.add_option("--log-format", g.log_format, "log format: text or json")
      ->check(CLI::IsMember({"text", "json"}));
  app.add_flag("--debug", g.debug, "log debug messages");
  app.add_flag("--systemd-cgroup", g.systemd_cgroup,
               "manage cgroups with systemd (cgroupsPath is slice:prefix:name)");
  app.add_option("--criu", g.criu, "criu binary for checkpoint and restore (default: criu in PATH)");

  Action action;
  AddCreate(app, action);
  AddStart(app, action);
  AddRun(app, action);
  AddState(app, action);
  AddKill(app, action);
  AddDelete(app, action);
  AddList(app, action);
  AddSpec(app, action);
  AddFeatures(app, action);
  AddStop(app, action);
  AddPause(app, action);
  AddResume(app, action);
  AddUpdate(app, action);
  AddPs(app, action);
  AddEvents(app, action);
  AddExec(app, action);
  AddCheckpoint(app, action);
  AddRestore(app, action);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "berth: %s\n", e.what());
    return 1;
  }

  // Again with what CLI11 understood, for the forms the early scan leaves alone
  // (once only: the re-executed copy knows itself by a marker the first call takes).
  for (const char* starts : {"create", "run", "exec"}) {
    if (StartsContainerProcesses(early.command) || !app.got_subcommand(starts)) continue;
    if (auto sealed = SealIfStarting(starts, g.root, argv); !sealed) {
      std::fprintf(stderr, "berth: %s\n", sealed.error().message.c_str());
      return 1;
    }
  }

  Logger logger(g.log_path, g.log_format == "json", g.debug);
  container::Runtime rt;
  rt.root = g.root;
  rt.systemd_cgroup = g.systemd_cgroup;
  rt.criu_path = g.criu;
  rt.log = [&logger](container::LogLevel level, const std::string& msg) { logger.Log(level, msg); };
  Result<int> r = action(rt);
  if (!r) {
    logger.Log(container::LogLevel::kError, r.error().message);
    // The log file is for containerd; a person at a terminal gets one line too.
    std::fprintf(stderr, "berth: %s\n", r.error().message.c_str());
    // runc's exec exits 255 when the process never ran: 1..254 stay the process's own.
    return app.got_subcommand("exec") ? kExecFailedExit : 1;
  }
  return *r;
}

}  // namespace berth::cli
