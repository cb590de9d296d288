// `delete`: containerd runs it whenever a shim connection closes (after Shutdown too)
// and after a shim died. Whatever is left of the container goes: the library kills and
// deletes it, the rootfs is unmounted, and a dead shim's socket is removed. stdout is
// a binary DeleteResponse: the init's pid, status 137 (SIGKILL) and the time now, as
// runc's shim reports it; stderr is logged by containerd as "cleanup warnings".
#include <unistd.h>

#include <cstdio>

#include "container/container.h"
#include "github.com/containerd/containerd/runtime/v2/task/shim.pb.h"
#include "linux/files.h"
#include "shim/actions.h"
#include "shim/options.h"
#include "shim/proto_time.h"
#include "shim/rootfs.h"
#include "shim/socket.h"

namespace berth::shim {

int RunDelete(const Flags& flags) {
  char cwd[4096];
  std::string bundle = !flags.bundle.empty() ? flags.bundle : (::getcwd(cwd, sizeof cwd) ? cwd : ".");
  ShimOptions options;
  if (auto text = linux::ReadFile(bundle + "/options.json")) {
    if (auto parsed = OptionsFromJson(*text)) options = std::move(*parsed);
  }
  container::Runtime rt;
  rt.root = options.StateRoot(flags.ns);
  rt.systemd_cgroup = options.systemd_cgroup;
  rt.log = [](container::LogLevel, const std::string& m) { std::fprintf(stderr, "%s\n", m.c_str()); };
  if (auto deleted = container::Delete(rt, flags.id, /*force=*/true); !deleted) {
    // Deleted already by the shim (the normal path after Shutdown): nothing to say.
    if (deleted.error().code != ENOENT)
      std::fprintf(stderr, "failed to remove berth container: %s\n", deleted.error().message.c_str());
  }
  if (auto unmounted = UnmountAll(bundle + "/rootfs"); !unmounted)
    std::fprintf(stderr, "failed to cleanup rootfs mount: %s\n", unmounted.error().message.c_str());
  // A shim killed outright leaves its socket; a live one (of a group) keeps it.
  if (auto address = linux::ReadFile(bundle + "/address"); address && !CanConnect(*address))
    RemoveSocket(*address);

  containerd::task::v2::DeleteResponse resp;
  if (auto pid = linux::ReadFile(bundle + "/init.pid")) resp.set_pid(std::atoi(pid->c_str()));
  else std::fprintf(stderr, "failed to read init pid file: %s\n", pid.error().message.c_str());
  resp.set_exit_status(128 + 9);
  SetTime(resp.mutable_exited_at(), RealtimeNow());
  std::string out = resp.SerializeAsString();
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

}  // namespace berth::shim
