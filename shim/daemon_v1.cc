// The v1 daemon: containerd 1.6's v1 runtime runs it directly (runtime/v1/shim/client
// WithStart): in the bundle, in a process group of its own, the listening socket as
// fd 3, stdout and stderr pipes that containerd copies to its own only with
// `shim_debug`. There is no `start` or `delete` action: containerd binds the socket,
// writes `address` and `shim.pid` into the bundle itself, kills the shim after Delete,
// and cleans up after a dead shim with `<runtime> delete --force`.
#include "shim/daemon.h"
#include "shim/exec_publisher.h"
#include "shim/shim_v1_service.h"

namespace berth::shim {

int RunDaemonV1(const Flags& flags) {
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
