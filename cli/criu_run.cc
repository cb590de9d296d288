// checkpoint and restore themselves (berth-criu only): flags to options, then
// the container library.
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "cli/criu_flags.h"
#include "cli/supervise.h"

namespace berth::cli {
namespace {

Result<container::CriuOptions> ToCriuOptions(const CriuFlags& f) {
  container::CriuOptions o;
  o.image_path = f.image_path;
  if (o.image_path.empty()) {  // runc's default: ./checkpoint
    char cwd[4096];
    if (!::getcwd(cwd, sizeof cwd)) return ErrnoError("getcwd");
    o.image_path = std::string(cwd) + "/checkpoint";
  }
  o.work_path = f.work_path;
  o.tcp_established = f.tcp_established;
  o.ext_unix_sk = f.ext_unix_sk;
  o.shell_job = f.shell_job;
  o.file_locks = f.file_locks;
  o.auto_dedup = f.auto_dedup;
  o.lazy_pages = f.lazy_pages;
  o.manage_cgroups_mode = BERTH_TRY(container::ParseCriuCgroupMode(f.manage_cgroups_mode));
  o.empty_ns = f.empty_ns;
  return o;
}

}  // namespace

Result<int> RunCheckpoint(const container::Runtime& rt, const CheckpointFlags& f) {
  container::CheckpointOptions o;
  o.id = f.id;
  o.criu = BERTH_TRY(ToCriuOptions(f.criu));
  o.parent_path = f.parent_path;
  o.leave_running = f.leave_running;
  o.pre_dump = f.pre_dump;
  o.page_server = f.page_server;
  o.status_fd = f.status_fd;
  if (o.status_fd >= 0) {
    int flags = ::fcntl(o.status_fd, F_GETFL);
    if (flags < 0) return ErrnoError("invalid --status-fd " + std::to_string(o.status_fd));
    if ((flags & O_ACCMODE) == O_RDONLY)
      return Fail("invalid --status-fd " + std::to_string(o.status_fd) + ": not writable");
  }
  BERTH_TRY(container::Checkpoint(rt, o));
  return 0;
}

Result<int> RunRestore(const container::Runtime& rt, const RestoreFlags& f) {
  container::RestoreOptions o;
  o.id = f.id;
  o.bundle = f.bundle;
  o.criu = BERTH_TRY(ToCriuOptions(f.criu));
  o.pid_file = f.pid_file;
  o.console_socket = f.console_socket;
  o.no_pivot = f.no_pivot;
  o.lsm_profile = f.lsm_profile;
  o.lsm_mount_context = f.lsm_mount_context;
  o.keep_pty_master = !f.detach;
  // Processes of the container that outlive the init are reparented to us, and
  // reaped, rather than to the system's init (runc's default too).
  if (!f.detach && !f.no_subreaper && ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
    return ErrnoError("prctl(PR_SET_CHILD_SUBREAPER)");
  // As `run`: signals for the container are queued from now on, not lost.
  sigset_t forwarded = ForwardedSignals();
  if (!f.detach) ::sigprocmask(SIG_BLOCK, &forwarded, nullptr);
  container::CreateResult c = BERTH_TRY(container::Restore(rt, o));
  if (f.detach) return 0;
  auto status = Supervise({c.pid, c.pidfd.get(), c.pty_master.get()}, forwarded);
  auto d = container::Delete(rt, o.id, /*force=*/true);
  if (!d) rt.Log(container::LogLevel::kWarning, d.error().message);
  return status;
}

}  // namespace berth::cli
