// The v1 daemon: containerd 1.6's v1 runtime runs it directly (runtime/v1/shim/client
// WithStart): in the bundle, in a process group of its own, the listening socket as
// fd 3, stdout and stderr pipes that containerd reads (and copies to its own only with
// `shim_debug`). There is no `start` or `delete` action: containerd binds the socket,
// writes `address` and `shim.pid` into the bundle itself, kills the shim after Delete,
// and cleans up after a dead shim with `<runtime> delete --force`.
#include <fcntl.h>
#include <unistd.h>

#include "shim/daemon.h"
#include "shim/exec_publisher.h"
#include "shim/shim_v1_service.h"

namespace berth::shim {
namespace {

// containerd's pipes die with containerd; <workdir>/shim.stdout.log and shim.stderr.log,
// fifos containerd made and reads again after a restart, do not. So stdout and stderr
// (the log) go there, as containerd-shim's do (openStdioKeepAlivePipes). Opened read-write
// (never blocks, never EPIPE with no reader) and non-blocking: a full fifo drops a line.
void OpenLogFifos(const std::string& workdir) {
  if (workdir.empty()) return;
  const char* names[] = {"/shim.stdout.log", "/shim.stderr.log"};
  for (int target : {1, 2}) {
    int fd = ::open((workdir + names[target - 1]).c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) continue;  // not made by containerd (tests): keep what we were given
    ::dup2(fd, target);
    ::close(fd);
  }
}

}  // namespace

int RunDaemonV1(const Flags& flags) {
  OpenLogFifos(flags.workdir);
  DaemonApi api;
  api.log_fields = " runtime=io.containerd.runtime.v1.linux";
  // The state root: -runtime-root (containerd's `runtime_root`) or berth's, then the
  // namespace, as containerd-shim gives runc `--root <runtime-root>/<namespace>`; so
  // containerd's own cleanup after a dead shim finds the container there.
  api.defaults.root = flags.runtime_root;
  api.defaults.systemd_cgroup = flags.systemd_cgroup;
  api.defaults.criu_path = flags.criu;
  api.defaults.criu_work_path = flags.workdir;
  api.make_events = [&](ttrpc::EventLoop& loop) -> std::unique_ptr<EventSink> {
    return std::make_unique<ExecPublisher>(
        loop, ExecPublisherConfig{flags.containerd_binary, flags.address, flags.ns, kShimV1Topics});
  };
  api.serve = [](ttrpc::Server& server, TaskCore& core, EventSink& events,
                 std::function<void()>) -> Result<std::shared_ptr<void>> {
    auto service = std::make_shared<ShimV1Service>(core, events);
    BERTH_TRY(server.Register("containerd.runtime.linux.shim.v1.Shim", service->Methods()));
    return std::shared_ptr<void>(service);
  };
  return RunShimDaemon(flags, api);
}

}  // namespace berth::shim
