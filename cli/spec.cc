#include <fcntl.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "linux/files.h"

namespace berth::cli {

void AddSpec(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("spec", "write a default config.json into the bundle");
  struct Flags {
    std::string bundle = ".";
    bool rootless = false;
  };
  auto f = std::make_shared<Flags>();
  cmd->add_option("-b,--bundle", f->bundle, "bundle directory (default: the current directory)");
  cmd->add_flag("--rootless", f->rootless, "a spec for a container run by an unprivileged user");
  cmd->callback([&action, f] {
    action = [f](const container::Runtime&) -> Result<int> {
      std::string path = f->bundle + "/config.json";
      if (linux::PathExists(path)) return Fail("file " + path + " exists: remove it first");
      linux::UniqueFd fd =
          BERTH_TRY(linux::Open(path, O_WRONLY | O_CREAT | O_EXCL, 0666));
      BERTH_TRY_CTX(linux::WriteAll(fd.get(), oci::DefaultSpecJson(f->rootless)), path);
      return 0;
    };
  });
}

}  // namespace berth::cli
