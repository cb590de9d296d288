// `run`: create + start; in the foreground it forwards signals, proxies the
// terminal, waits, deletes the container (unless --keep) and exits with the
// container's status.
#include <signal.h>

#include "cli/cli.h"
#include "cli/supervise.h"

namespace berth::cli {
namespace {

struct RunFlags {
  CreateFlags create;
  bool detach = false;
  bool keep = false;
};

Result<int> RunContainer(const container::Runtime& rt, const RunFlags& f) {
  container::CreateOptions o = ToCreateOptions(f.create);
  o.keep_pty_master = !f.detach;
  // Signals for the container are queued from now on, not lost before we listen.
  sigset_t forwarded = ForwardedSignals();
  if (!f.detach) ::sigprocmask(SIG_BLOCK, &forwarded, nullptr);
  container::CreateResult c = BERTH_TRY(container::Create(rt, o));
  auto started = container::Start(rt, o.id);
  if (!started) {
    (void)container::Delete(rt, o.id, /*force=*/true);
    return Fail(std::move(started.error()));
  }
  if (f.detach) return 0;
  auto status = Supervise({c.pid, c.pidfd.get(), c.pty_master.get()}, forwarded);
  if (status)
    rt.Log(container::LogLevel::kDebug, "process exited: pid " + std::to_string(c.pid) +
                                            ", status " + std::to_string(*status));
  if (!f.keep) {
    auto d = container::Delete(rt, o.id, /*force=*/true);
    if (!d) rt.Log(container::LogLevel::kWarning, d.error().message);
  }
  return status;
}

}  // namespace

void AddRun(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("run", "create and start a container");
  auto f = std::make_shared<RunFlags>();
  AddCreateFlags(cmd, f->create);
  cmd->add_flag("-d,--detach", f->detach, "return once the container runs");
  cmd->add_flag("--keep", f->keep, "do not delete the container after it exits");
  cmd->callback([&action, f] {
    action = [f](const container::Runtime& rt) -> Result<int> { return RunContainer(rt, *f); };
  });
}

}  // namespace berth::cli
