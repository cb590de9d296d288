// `features`: what this build of berth supports (runtime-spec features.md).
#include <cstdio>

#include "cli/cli.h"
#include "container/features.h"

namespace berth::cli {

void AddFeatures(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("features", "print what berth supports, as JSON");
  cmd->callback([&action] {
    action = [](const container::Runtime&) -> Result<int> {
      std::printf("%s\n", container::Features().dump(4).c_str());
      return 0;
    };
  });
}

}  // namespace berth::cli
