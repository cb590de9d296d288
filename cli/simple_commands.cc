// The commands that take an id and call one library function.
#include <cstdio>
#include <iostream>

#include "cli/cli.h"
#include "linux/process.h"

namespace berth::cli {

void AddStart(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("start", "run the process of a created container");
  auto id = std::make_shared<std::string>();
  cmd->add_option("container-id", *id, "the container's id")->required();
  cmd->callback([&action, id] {
    action = [id](const container::Runtime& rt) -> Result<int> {
      BERTH_TRY(container::Start(rt, *id));
      return 0;
    };
  });
}

void AddState(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("state", "print the state of a container as JSON");
  auto id = std::make_shared<std::string>();
  cmd->add_option("container-id", *id, "the container's id")->required();
  cmd->callback([&action, id] {
    action = [id](const container::Runtime& rt) -> Result<int> {
      oci::State s = BERTH_TRY(container::State(rt, *id));
      std::printf("%s\n", oci::StateCommandJson(s).c_str());
      return 0;
    };
  });
}

void AddKill(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("kill", "send a signal (default SIGTERM) to a container");
  struct Flags {
    std::string id, signal = "SIGTERM";
    bool all = false;
  };
  auto f = std::make_shared<Flags>();
  cmd->add_option("container-id", f->id, "the container's id")->required();
  cmd->add_option("signal", f->signal, "signal name or number (default SIGTERM)");
  cmd->add_flag("-a,--all", f->all, "signal every process of the container");
  cmd->callback([&action, f] {
    action = [f](const container::Runtime& rt) -> Result<int> {
      int sig = BERTH_TRY(linux::ParseSignal(f->signal));
      BERTH_TRY(container::Kill(rt, f->id, sig, f->all));
      return 0;
    };
  });
}

void AddDelete(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("delete", "delete a created or stopped container");
  struct Flags {
    std::string id;
    bool force = false;
  };
  auto f = std::make_shared<Flags>();
  cmd->add_option("container-id", f->id, "the container's id")->required();
  cmd->add_flag("-f,--force", f->force, "kill the container first if it is running");
  cmd->callback([&action, f] {
    action = [f](const container::Runtime& rt) -> Result<int> {
      BERTH_TRY(container::Delete(rt, f->id, f->force));
      return 0;
    };
  });
}

void AddStop(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand(
      "stop", "stop a container's processes (SIGTERM, then SIGKILL); it stays for delete");
  struct Flags {
    std::string id;
    int timeout = 10;
  };
  auto f = std::make_shared<Flags>();
  cmd->add_option("container-id", f->id, "the container's id")->required();
  cmd->add_option("-t,--timeout", f->timeout, "seconds to wait after SIGTERM (default 10)")
      ->check(CLI::NonNegativeNumber);
  cmd->callback([&action, f] {
    action = [f](const container::Runtime& rt) -> Result<int> {
      BERTH_TRY(container::Stop(rt, f->id, f->timeout));
      return 0;
    };
  });
}

}  // namespace berth::cli
