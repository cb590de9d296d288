// `pause` and `resume`.
#include "cli/cli.h"

namespace berth::cli {
namespace {

void AddFreezerCommand(CLI::App& app, Action& action, const char* name, const char* help,
                       Result<void> (*op)(const container::Runtime&, const std::string&)) {
  auto* cmd = app.add_subcommand(name, help);
  auto id = std::make_shared<std::string>();
  cmd->add_option("container-id", *id, "the container's id")->required();
  cmd->callback([&action, id, op] {
    action = [id, op](const container::Runtime& rt) -> Result<int> {
      BERTH_TRY(op(rt, *id));
      return 0;
    };
  });
}

}  // namespace

void AddPause(CLI::App& app, Action& action) {
  AddFreezerCommand(app, action, "pause", "suspend every process of a running container",
                    &container::Pause);
}

void AddResume(CLI::App& app, Action& action) {
  AddFreezerCommand(app, action, "resume", "resume every process of a paused container",
                    &container::Resume);
}

}  // namespace berth::cli
